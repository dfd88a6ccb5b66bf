#!/usr/bin/env bash
# Dispatch benchmark: zero-work trials created, dispatched, completed and stored per second by one
# scheduler (Dispatcher + Study + SQLite), with 1, 8 and 64 workers.
#  * raw:   workers are DEALER sockets of the benchmark process answering each ASSIGN at once;
#  * agent: workers are real worker::Agent objects (I/O thread + trial thread) in the process.
# Both with WAL synchronous=NORMAL (survives any process crash); --full adds synchronous=FULL
# (survives power loss: one fsync per commit). One JSON line per run: OUT_DIR/dispatch.jsonl.
#
# --simulate: instead, a simulated 64-worker cluster: 64 agents in this process, each trial
# sleeping --trial-ms (default 20) ms, so 64 trials run at once; reports trials/s and utilisation
# (time inside trials / (64 x wall time)). One JSON line per run: OUT_DIR/workers64.jsonl.
#
#   scripts/bench/dispatch.sh OUT_DIR [--quick] [--runs N] [--trials N] [--full] [--simulate]
#                             [--trial-ms MS] [--build-dir DIR]
#
# Defaults: 3 runs of 10,000 trials (--simulate: 6,400 trials); --quick: 2 runs of 4,000 (3,200).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
trials=""
runs=""
quick=0
full=0
simulate=0
trial_ms=20
build=${HYPERTUNE_BUILD_DIR:-$root/build}

usage() {
  echo "usage: scripts/bench/dispatch.sh OUT_DIR [--quick] [--runs N] [--trials N] [--full]" \
    "[--simulate] [--trial-ms MS] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --trials) [[ $# -ge 2 ]] || usage; trials=$2; shift ;;
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift ;;
    --trial-ms) [[ $# -ge 2 ]] || usage; trial_ms=$2; shift ;;
    --quick) quick=1 ;;
    --full) full=1 ;;
    --simulate) simulate=1 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "dispatch.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
if [[ $quick == 1 ]]; then
  runs=${runs:-2}
  [[ $simulate == 1 ]] && trials=${trials:-3200} || trials=${trials:-4000}
else
  runs=${runs:-3}
  [[ $simulate == 1 ]] && trials=${trials:-6400} || trials=${trials:-10000}
fi
for n in "$trials" "$runs" "$trial_ms"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "dispatch.sh: --trials, --runs and --trial-ms need a positive integer, got '$n'" >&2; exit 2; }
done
mkdir -p "$out"

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYPERTUNE_WITH_TORCH=OFF >/dev/null
fi
cmake --build "$build" --target hypertune_dispatch_bench -j"${HYPERTUNE_JOBS:-$(nproc)}" >/dev/null
bench=$build/bench/hypertune_dispatch_bench

if [[ $simulate == 1 ]]; then
  file=$out/workers64.jsonl
  : >"$file"
  for ((r = 1; r <= runs; r++)); do
    echo "dispatch.sh: simulated 64 workers, run $r of $runs ($trials trials of $trial_ms ms)" >&2
    "$bench" --trials "$trials" --workers 64 --kind agent --trial-ms "$trial_ms" --json |
      sed "s/^{/{\"run\": $r, /" | tee -a "$file"
  done
  exit 0
fi

file=$out/dispatch.jsonl
: >"$file"
for ((r = 1; r <= runs; r++)); do
  echo "dispatch.sh: run $r of $runs ($trials zero-work trials per cell)" >&2
  "$bench" --trials "$trials" --workers 1,8,64 --durability normal --kind both --json |
    sed "s/^{/{\"run\": $r, /" | tee -a "$file"
  # One worker holding 4 trials queued beyond its slot (hypertune worker --prefetch 4).
  "$bench" --trials "$trials" --workers 1 --durability normal --kind both --prefetch 4 --json |
    sed "s/^{/{\"run\": $r, /" | tee -a "$file"
  if [[ $full -eq 1 ]]; then
    "$bench" --trials "$trials" --workers 1,8,64 --durability full --kind raw --json |
      sed "s/^{/{\"run\": $r, /" | tee -a "$file"
  fi
done
