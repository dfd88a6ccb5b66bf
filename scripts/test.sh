#!/usr/bin/env bash
# One command from a fresh Debian machine: install dependencies, build with tests, run the whole suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --browser
"$root/scripts/build.sh" -DHYPERTUNE_BUILD_TESTS=ON
build=${HYPERTUNE_BUILD_DIR:-$root/build}
cd "$build"
exec ctest -j"${HYPERTUNE_TEST_JOBS:-2}" --output-on-failure --timeout 600
