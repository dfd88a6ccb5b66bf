#!/usr/bin/env bash
# End-to-end race (issue #7 item 4): a Fashion-MNIST CNN sweep with 2 workers and the same wall-clock
# budget, HyperTune (hypertune run CONFIG -w 2, TPE + Hyperband) against Optuna 3.1 + PyTorch 1.13
# (two processes sharing an Optuna SQLite study, TPE + HyperbandPruner). Best validation accuracy at
# several time marks. Details: race.py. Full mode: 150 s per side (about 6 minutes in all);
# --quick: 40 s per side (under 2 minutes).
# Writes OUT_DIR/race.md (a markdown fragment) and the raw results OUT_DIR/race_runs.jsonl;
# scratch files (configs, study databases) go to OUT_DIR/race_work/.
#
#   scripts/bench/race.sh OUT_DIR [--quick] [--build-dir DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
quick=0
build=${HYPERTUNE_BUILD_DIR:-build}

usage() {
  echo "usage: scripts/bench/race.sh OUT_DIR [--quick] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "race.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
hypertune=$(cd "$build" 2>/dev/null && pwd)/hypertune || true
if [[ ! -x $hypertune ]]; then
  echo "race.sh: no hypertune binary at '$build/hypertune' (build it with LibTorch: cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build --target hypertune -j2, or pass --build-dir DIR)" >&2
  exit 2
fi
if ! /usr/bin/python3 -c 'import optuna, torch' 2>/dev/null; then
  echo "race.sh: /usr/bin/python3 cannot import optuna and torch (Debian packages python3-optuna and python3-torch)" >&2
  exit 2
fi
if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "race.sh: Fashion-MNIST is missing under /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)" >&2
  exit 2
fi
mkdir -p "$out"

cmd="scripts/bench/race.sh $out"
[[ $quick -eq 1 ]] && cmd+=" --quick"
[[ $build != build ]] && cmd+=" --build-dir $build"
args=(--out "$out" --hypertune "$hypertune" --command "$cmd")
[[ $quick -eq 1 ]] && args+=(--quick)
if ! /usr/bin/python3 "$root/scripts/bench/race.py" "${args[@]}"; then
  echo "race.sh: failed (see the messages above)" >&2
  exit 1
fi
echo "race.sh: wrote $out/race.md and $out/race_runs.jsonl" >&2
