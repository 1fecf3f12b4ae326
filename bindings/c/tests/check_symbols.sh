#!/usr/bin/env bash
# Checks what libsprawl.so exports against the ABI's contract:
# - the names equal bindings/c/exported_symbols.txt, so an added or removed
#   function fails until the list is updated on purpose;
# - every one carries, as its default version (name@@VERSION), the version
#   node of the linker script bindings/c/sprawl.map, so a symbol that lost
#   its version (or a script that stopped applying) fails too.
set -euo pipefail
library="$1"
expected="$2"
version_script="$3"

# The script's one version node: "SPRAWL_0.1 {".
version="$(sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_.]*\)[[:space:]]*{.*/\1/p' "$version_script")"
if [[ -z "$version" || "$(echo "$version" | wc -l)" -ne 1 ]]; then
  echo "expected exactly one version node in $version_script, found: '${version}'"
  exit 1
fi

# nm -D: "<address> <type> <name>@@<version>" per symbol; each version node
# shows as an absolute symbol (type A) named after it.
listing="$(nm -D --defined-only "$library")"
nodes="$(awk '$2 == "A" {print $3}' <<<"$listing" | sort)"
if [[ "$nodes" != "$version" ]]; then
  echo "libsprawl.so has the version nodes '$(echo $nodes)', not just $version of $version_script"
  exit 1
fi
symbols="$(awk '$2 != "A" && $3 != "" {print $3}' <<<"$listing" | sort)"

unversioned="$(grep -v "@@${version}\$" <<<"$symbols" || true)"
if [[ -n "$unversioned" ]]; then
  echo "libsprawl.so exports symbols without the default version $version of $version_script:"
  echo "$unversioned"
  exit 1
fi

actual="$(sed 's/@@.*//' <<<"$symbols" | sort)"
diff_file="$(mktemp)"
trap 'rm -f "$diff_file"' EXIT
if ! diff -u <(sort "$expected") <(echo "$actual") >"$diff_file"; then
  echo "libsprawl.so exports differ from $expected (- listed only, + exported only):"
  cat "$diff_file"
  echo "If the change is intended, update the list: it is the ABI's contract."
  exit 1
fi
echo "libsprawl.so exports exactly the $(echo "$actual" | wc -l) listed symbols, each @@$version"
