#!/usr/bin/env bash
# Early-stopping benchmark (issue #7 item 3): cost in steps/epochs and wall time for HyperTune's
# Hyperband, ASHA (stopping and promotion) and median pruning, and Optuna 3.1's HyperbandPruner, to
# reach the best value that random search with full training finds; on hartmann6 with steps as the
# fidelity and on Fashion-MNIST (MLP, epochs as the resource). Details: early_stopping.py.
# Full mode takes about 7 minutes on 2 cores, --quick about 2.
# Writes OUT_DIR/early_stopping.md (a markdown fragment) and the raw results OUT_DIR/early_stopping_runs.jsonl;
# scratch files (configs, study databases) go to OUT_DIR/early_stopping_work/.
#
#   scripts/bench/early_stopping.sh OUT_DIR [--quick] [--build-dir DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
quick=0
build=${HYPERTUNE_BUILD_DIR:-build}

usage() {
  echo "usage: scripts/bench/early_stopping.sh OUT_DIR [--quick] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "early_stopping.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
hypertune=$(cd "$build" 2>/dev/null && pwd)/hypertune || true
if [[ ! -x $hypertune ]]; then
  echo "early_stopping.sh: no hypertune binary at '$build/hypertune' (build it with LibTorch: cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build --target hypertune -j2, or pass --build-dir DIR)" >&2
  exit 2
fi
if ! /usr/bin/python3 -c 'import optuna, torch' 2>/dev/null; then
  echo "early_stopping.sh: /usr/bin/python3 cannot import optuna and torch (Debian packages python3-optuna and python3-torch)" >&2
  exit 2
fi
if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "early_stopping.sh: Fashion-MNIST is missing under /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)" >&2
  exit 2
fi
mkdir -p "$out"

cmd="scripts/bench/early_stopping.sh $out"
[[ $quick -eq 1 ]] && cmd+=" --quick"
[[ $build != build ]] && cmd+=" --build-dir $build"
args=(--out "$out" --hypertune "$hypertune" --command "$cmd")
[[ $quick -eq 1 ]] && args+=(--quick)
if ! /usr/bin/python3 "$root/scripts/bench/early_stopping.py" "${args[@]}"; then
  echo "early_stopping.sh: failed (see the messages above)" >&2
  exit 1
fi
echo "early_stopping.sh: wrote $out/early_stopping.md and $out/early_stopping_runs.jsonl" >&2
