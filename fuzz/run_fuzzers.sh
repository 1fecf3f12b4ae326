#!/usr/bin/env bash
# Builds the libFuzzer targets with the `fuzz` preset and runs each one for a
# bounded time on a scratch copy of its corpus: the checked-in seeds and
# regression inputs in fuzz/corpus/<target>/ plus seeds freshly written by
# make_fuzz_seeds, so they always match the current formats. Called by
# `make fuzz` and by CI.
#
# Exits non-zero when the build fails or when any target reports a crash, a
# sanitizer finding, a leak, a timeout or running out of memory. The input
# that failed is kept in build/fuzz/runs/<target>/artifacts/; reproduce with
#   build/fuzz/fuzz/<target> <that file>
# and, once fixed, copy it into fuzz/corpus/<target>/ as a regression seed.
#
# Environment:
#   FUZZ_SECONDS  seconds of fuzzing per target (default 20)
#   FUZZ_TARGETS  space-separated subset of targets (default: all)
#   FUZZ_JOBS     parallel build jobs for ninja (default 1)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

seconds="${FUZZ_SECONDS:-20}"
jobs="${FUZZ_JOBS:-1}"
all_targets=(record_batch_fuzz storage_codec_fuzz transport_fuzz group_cursor_fuzz overlay_codec_fuzz raft_codec_fuzz meta_fuzz)
read -r -a targets <<<"${FUZZ_TARGETS:-${all_targets[*]}}"

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "run_fuzzers: FUZZ_SECONDS must be a positive whole number, got '$seconds'" >&2
  exit 2
fi
for target in "${targets[@]}"; do
  if [[ " ${all_targets[*]} " != *" $target "* ]]; then
    echo "run_fuzzers: unknown target '$target' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

cmake --preset fuzz >/dev/null
# Only what fuzzing needs: the targets and the seed writer.
ninja -C build/fuzz -j "$jobs" make_fuzz_seeds "${targets[@]}"

bin="build/fuzz/fuzz"
runs="build/fuzz/runs"
rm -rf "$runs"
mkdir -p "$runs"
"$bin/make_fuzz_seeds" "$runs/seeds"

# Recoverable UBSan checks must stop the run so libFuzzer keeps the input.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

failed=()
for target in "${targets[@]}"; do
  dir="$runs/$target"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [[ -d "fuzz/corpus/$target" ]]; then
    cp -R "fuzz/corpus/$target/." "$dir/corpus/"
  fi
  cp -R "$runs/seeds/$target/." "$dir/corpus/"

  echo "== $target: ${seconds}s on $(ls "$dir/corpus" | wc -l) seed inputs"
  set +e
  "$bin/$target" \
    -max_total_time="$seconds" \
    -rss_limit_mb=2048 \
    -max_len=65536 \
    -timeout=10 \
    -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" >"$dir/log" 2>&1
  rc=$?
  set -e

  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
    "$dir/log" | sed 's/^/   /' || true
  echo "   corpus grew to $(ls "$dir/corpus" | wc -l) inputs; full log: $dir/log"
  if ((rc != 0)); then
    failed+=("$target")
    echo "!! $target failed (exit $rc); last lines of its log:"
    tail -n 60 "$dir/log"
    echo "!! failing input(s): $(ls "$dir/artifacts" | sed "s|^|$dir/artifacts/|" | tr '\n' ' ')"
  fi
done

if ((${#failed[@]} > 0)); then
  echo "run_fuzzers: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run_fuzzers: all ${#targets[@]} targets ran ${seconds}s each without a finding"
