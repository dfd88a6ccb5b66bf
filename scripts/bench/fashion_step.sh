#!/usr/bin/env bash
# The driver shared by the benchmark steps that race HyperTune against Optuna 3.1 + PyTorch 1.13
# on Fashion-MNIST (early_stopping.sh, race.sh): checks the hypertune binary, the Python peers and
# the data, then runs scripts/bench/STEP.py, which writes OUT_DIR/STEP.md (a markdown fragment) and
# the raw results OUT_DIR/STEP_runs.jsonl.
#
#   scripts/bench/fashion_step.sh STEP OUT_DIR [--quick] [--build-dir DIR]
set -euo pipefail

step=${1:?usage: scripts/bench/fashion_step.sh STEP OUT_DIR [--quick] [--build-dir DIR]}
shift

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
quick=0
build=${HYPERTUNE_BUILD_DIR:-build}

usage() {
  echo "usage: scripts/bench/$step.sh OUT_DIR [--quick] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "$step.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
hypertune=$(cd "$build" 2>/dev/null && pwd)/hypertune || true
if [[ ! -x $hypertune ]]; then
  echo "$step.sh: no hypertune binary at '$build/hypertune' (build it with LibTorch: cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build --target hypertune -j2, or pass --build-dir DIR)" >&2
  exit 2
fi
if ! /usr/bin/python3 -c 'import optuna, torch' 2>/dev/null; then
  echo "$step.sh: /usr/bin/python3 cannot import optuna and torch (Debian packages python3-optuna and python3-torch)" >&2
  exit 2
fi
if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "$step.sh: Fashion-MNIST is missing under /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)" >&2
  exit 2
fi
mkdir -p "$out"

cmd="scripts/bench/$step.sh $out"
[[ $quick -eq 1 ]] && cmd+=" --quick"
[[ $build != build ]] && cmd+=" --build-dir $build"
args=(--out "$out" --hypertune "$hypertune" --command "$cmd")
[[ $quick -eq 1 ]] && args+=(--quick)
if ! /usr/bin/python3 "$root/scripts/bench/$step.py" "${args[@]}"; then
  echo "$step.sh: failed (see the messages above)" >&2
  exit 1
fi
echo "$step.sh: wrote $out/$step.md and $out/${step}_runs.jsonl" >&2
