#!/usr/bin/env bash
# Configures and builds HyperTune (Release) into build/ (or $HYPERTUNE_BUILD_DIR).
#   scripts/build.sh [extra cmake -D options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HYPERTUNE_BUILD_DIR:-$root/build}
jobs=${HYPERTUNE_JOBS:-$(nproc)}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$jobs"
