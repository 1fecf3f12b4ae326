#!/usr/bin/env bash
# clang-tidy, with the committed .clang-tidy, on the lines of C++ sources this
# checkout changed: committed since it left the main line (the merge base with
# origin/main, else main) plus what is modified or new in the work tree.
# Findings on those lines fail; findings elsewhere in the files are older and
# not this change's to fix. Called by `make lint`.
#
# Only changed code, because a full pass over the tree takes many minutes on
# two cores (each translation unit parses RocksDB, protobuf and Boost
# headers): each changed .cc file costs about 10-20 s of one core.
# LLVM's clang-tidy-diff does the line filtering.
#
# Needs build/dev/compile_commands.json (`cmake --preset dev`; the generated
# protobuf headers come from building sprawl_protocol).
#
# Environment:
#   TIDY_BASE   the commit to compare with (default: the merge base above)
#   TIDY_JOBS   files checked at once (default: nproc)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
db="build/dev/compile_commands.json"
jobs="${TIDY_JOBS:-$(nproc)}"
tidy_diff="$(command -v clang-tidy-diff-14.py || command -v clang-tidy-diff || true)"
if [[ -z "$tidy_diff" ]]; then
  echo "clang-tidy-diff is missing (Debian's clang-tidy package has it)"
  exit 1
fi

base="${TIDY_BASE:-}"
if [[ -z "$base" ]]; then
  for ref in origin/main main; do
    if git rev-parse --verify -q "$ref" >/dev/null; then
      base="$(git merge-base HEAD "$ref")"
      break
    fi
  done
fi
if [[ -z "$base" ]]; then
  echo "clang-tidy: no origin/main or main to compare with; set TIDY_BASE"
  exit 1
fi

# The diff of tracked .cc files against the base (work tree included), and
# new untracked ones as wholly added.
diff_file="$(mktemp)"
out_file="$(mktemp)"
trap 'rm -f "$diff_file" "$out_file"' EXIT
git diff -U0 "$base" -- '*.cc' >"$diff_file"
while read -r f; do
  git diff -U0 --no-index /dev/null "$f" >>"$diff_file" || true
done < <(git ls-files --others --exclude-standard -- '*.cc')
files=$(grep -c '^+++ b/' "$diff_file" || true)
if ((files == 0)); then
  echo "clang-tidy: no changed C++ sources to check"
  exit 0
fi
if [[ ! -f "$db" ]]; then
  echo "clang-tidy: $db is missing; run cmake --preset dev first"
  exit 1
fi

echo "clang-tidy on the changed lines of $files file(s), $jobs at a time"
start=$(date +%s)
python3 "$tidy_diff" -p1 -path build/dev -j "$jobs" -quiet -regex '.*\.cc' <"$diff_file" \
  >"$out_file" 2>&1 || true
echo "clang-tidy took $(($(date +%s) - start)) s"
# Every diagnostic on a changed line is a finding (.clang-tidy sets no
# WarningsAsErrors, so clang-tidy's own exit status does not say).
if grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$out_file"; then
  grep -v 'warnings generated\|^Suppressed\|^Use -header-filter\|^$' "$out_file" | head -200
  echo "clang-tidy: findings on changed lines (above); fix them or say why in a NOLINT comment"
  exit 1
fi
echo "clang-tidy: no findings on changed lines"
