#!/usr/bin/env bash
# Dispatch benchmark: zero-work trials created, dispatched, completed and stored per second by one
# scheduler (Dispatcher + Study + SQLite), with 1, 8 and 64 workers.
#  * raw:   workers are DEALER sockets of the benchmark process answering each ASSIGN at once;
#  * agent: workers are real worker::Agent objects (I/O thread + trial thread) in the process.
# Both with WAL synchronous=NORMAL (survives any process crash); --full adds synchronous=FULL
# (survives power loss: one fsync per commit). The table goes to stdout and OUT_DIR/dispatch.txt.
#
#   scripts/bench/dispatch.sh OUT_DIR [--trials N] [--full] [--build-dir DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
trials=20000
full=0
build=${HYPERTUNE_BUILD_DIR:-$root/build}

usage() {
  echo "usage: scripts/bench/dispatch.sh OUT_DIR [--trials N] [--full] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --trials) [[ $# -ge 2 ]] || usage; trials=$2; shift ;;
    --full) full=1 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "dispatch.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
[[ $trials =~ ^[0-9]+$ && $trials -gt 0 ]] || { echo "dispatch.sh: --trials needs a positive integer" >&2; exit 2; }
mkdir -p "$out"

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYPERTUNE_WITH_TORCH=OFF >/dev/null
fi
cmake --build "$build" --target hypertune_dispatch_bench -j"$(nproc)" >/dev/null
bench=$build/bench/hypertune_dispatch_bench

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
  "$bench" --trials "$trials" --workers 1,8,64 --durability normal --kind both
  if [[ $full -eq 1 ]]; then
    "$bench" --trials "$trials" --workers 1,8,64 --durability full --kind raw
  fi
} | tee "$out/dispatch.txt"
