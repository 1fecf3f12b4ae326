#!/usr/bin/env bash
# Compares the ABI of the built libsprawl.so with the checked-in baseline
# bindings/c/libsprawl.abi (libabigail's abidw XML), signature by signature:
# parameter and return types, the sizes and layouts of every public type,
# enum values, symbol versions. exported_symbols.txt only catches names.
#
# Only the sprawl_* functions and the types declared in sprawl.h count
# (abi.suppr beside this script): the handles are opaque to callers, so the
# library's own structs behind them may change freely.
#
# Any difference fails, an added function too (as with the symbol list), so
# the baseline always describes the current contract. After an intended
# change, update it from a dev build and commit it with the change:
#   bindings/c/tests/check_abi.sh --update build/dev/bindings/c/libsprawl.so \
#     bindings/c/libsprawl.abi
# (a change that is not backward compatible also needs a new symbol version
# in sprawl.map; see docs/c-api.md).
#
# Usage: check_abi.sh [--update] <libsprawl.so> <baseline.abi>
set -euo pipefail
update=0
if [[ "${1:-}" == "--update" ]]; then
  update=1
  shift
fi
library="$1"
baseline="$2"
suppressions="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/abi.suppr"

for tool in abidw abidiff; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is missing: it comes with Debian's abigail-tools (scripts/bootstrap installs it)"
    exit 1
  fi
done

if ((update)); then
  abidw --suppressions "$suppressions" --no-corpus-path --out-file "$baseline" "$library"
  echo "wrote $baseline from $library"
  exit 0
fi

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
abidiff --suppressions "$suppressions" --no-show-locs "$baseline" "$library" >"$report" 2>&1 ||
  status=$?
if ((status == 0)); then
  echo "libsprawl.so matches the ABI baseline $(basename "$baseline")"
  exit 0
fi
cat "$report"
# abidiff's exit status is a bit set: 1 error, 2 usage, 4 change, 8 incompatible change.
if ((status & 3)); then
  echo "abidiff could not compare (exit status $status)"
elif ((status & 8)); then
  echo "libsprawl.so breaks the ABI of the baseline: existing callers would misbehave."
else
  echo "libsprawl.so's ABI differs from the baseline (a compatible change)."
fi
echo "If the change is intended, update the baseline (see the top of $0) and commit it."
exit 1
