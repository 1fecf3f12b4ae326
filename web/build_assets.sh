#!/usr/bin/env bash
# Builds the console's assets into OUT_DIR: installs web/package-lock.json's
# packages when the lock changed since the last install (so a rebuild never
# reruns npm), then runs build.mjs. Called by web/CMakeLists.txt.
set -euo pipefail
out=${1:?usage: build_assets.sh OUT_DIR}
web=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "error: building the web console needs Node.js and npm; run scripts/bootstrap" >&2
  exit 1
fi
want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
stamp=$web/node_modules/.sprawl-lock-sha256
# Several build trees (dev, release) may build at once: one installs.
exec 9>"${TMPDIR:-/tmp}/sprawl-web-npm.lock"
flock 9
if [[ ! -f $stamp || $(<"$stamp") != "$want" ]]; then
  (cd "$web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
flock -u 9
node "$web/build.mjs" "$out"
