#!/usr/bin/env bash
# One command from a fresh Debian machine: install dependencies, build (Release), run the quickstart sweep.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" -DHYPERTUNE_BUILD_TESTS=OFF
build=${HYPERTUNE_BUILD_DIR:-$root/build}
storage=${HYPERTUNE_QUICKSTART_STORAGE:-$build/quickstart.db}
rm -f "$storage" "$storage-wal" "$storage-shm"
exec "$build/hypertune" run "$root/configs/quickstart.yaml" --storage "$storage" "$@"
