#!/usr/bin/env bash
# Compares the symbols libsprawl.so exports with bindings/c/exported_symbols.txt:
# an added or removed function fails until the list is updated on purpose.
set -euo pipefail
library="$1"
expected="$2"
actual="$(nm -D --defined-only "$library" | awk '{print $3}' | grep -v '^SPRAWL_' | sed 's/@.*//' | sort)"
if ! diff -u <(sort "$expected") <(echo "$actual") >/tmp/sprawl-symbols.$$.diff; then
  echo "libsprawl.so exports differ from $expected (- listed only, + exported only):"
  cat /tmp/sprawl-symbols.$$.diff
  rm -f /tmp/sprawl-symbols.$$.diff
  echo "If the change is intended, update the list: it is the ABI's contract."
  exit 1
fi
rm -f /tmp/sprawl-symbols.$$.diff
echo "libsprawl.so exports exactly the $(echo "$actual" | wc -l) listed symbols"
