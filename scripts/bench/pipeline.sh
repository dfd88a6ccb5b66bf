#!/usr/bin/env bash
# Epoch time of HyperTune's LibTorch pipelines against a plain PyTorch loop on Fashion-MNIST:
# the same MLP and CNN, data, batch size and one thread each. Prints a markdown table.
#
#   scripts/bench/pipeline.sh OUT_DIR [--quick] [--build-dir DIR]
#
# Raw JSON lines (every measured epoch) go to OUT_DIR/pipeline.jsonl. Build dir: build/ (or
# $HYPERTUNE_BUILD_DIR), configured with LibTorch; target hypertune_pipeline_bench is built.
# Environment: LIMIT (training images read, default 12000), EPOCHS (per run, default 4),
# REPEATS (runs per model, default 3), BATCH (default 128), THREADS (default 1).
# --quick: 6000 images, 2 runs of 3 epochs (unless the environment says otherwise).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${HYPERTUNE_BUILD_DIR:-$root/build}
out=""
quick=0
usage() {
  echo "usage: scripts/bench/pipeline.sh OUT_DIR [--quick] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "pipeline.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
bench=$build/bench/hypertune_pipeline_bench
python=/usr/bin/python3
if [[ $quick == 1 ]]; then
  limit=${LIMIT:-6000} epochs=${EPOCHS:-3} repeats=${REPEATS:-2}
else
  limit=${LIMIT:-12000} epochs=${EPOCHS:-4} repeats=${REPEATS:-3}
fi
batch=${BATCH:-128}
threads=${THREADS:-1}

if [[ ! -x $bench ]]; then
  cmake --build "$build" --target hypertune_pipeline_bench -j"${HYPERTUNE_JOBS:-$(nproc)}" >/dev/null ||
    true
fi
if [[ ! -x $bench ]]; then
  echo "pipeline.sh: $bench not found; configure $build with LibTorch (scripts/build.sh) and build" \
    "target hypertune_pipeline_bench" >&2
  exit 1
fi
if ! $python -c 'import torch' 2>/dev/null; then
  echo "pipeline.sh: $python cannot import torch (scripts/install-deps.sh installs python3-torch)" >&2
  exit 1
fi
mkdir -p "$out"

# Both sides run single-threaded BLAS and OpenMP, so the thread count is the one asked for.
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads

args=(--limit "$limit" --epochs "$epochs" --repeats "$repeats" --batch-size "$batch" --threads "$threads")
results=()
for model in mlp cnn; do
  results+=("$("$bench" --model $model "${args[@]}")")
  results+=("$($python "$root/scripts/bench/pytorch_epoch.py" --model $model "${args[@]}")")
done
printf '%s\n' "${results[@]}" >"$out/pipeline.jsonl"

RESULTS=$(printf '%s\n' "${results[@]}") EPOCHS=$epochs $python - <<'PY'
import json, os
rows = [json.loads(line) for line in os.environ["RESULTS"].splitlines() if line.strip()]
by = {(r["model"], r["impl"]): r for r in rows}
print("| model | images | batch | threads | HyperTune s/epoch (wall / cpu) | PyTorch s/epoch (wall / cpu) "
      "| speed-up (wall / cpu) | val accuracy (HT / PT) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for model in ("mlp", "cnn"):
    h, p = by[(model, "hypertune")], by[(model, "pytorch")]
    print(f"| {model} | {p['images']} | {p['batch_size']} | {p['threads']} "
          f"| {h['median_wall_s']:.3f} / {h['median_cpu_s']:.3f} "
          f"| {p['median_wall_s']:.3f} / {p['median_cpu_s']:.3f} "
          f"| {p['median_wall_s'] / h['median_wall_s']:.2f}x / {p['median_cpu_s'] / h['median_cpu_s']:.2f}x "
          f"| {h['final_accuracy']:.3f} / {p['final_accuracy']:.3f} |")
print()
print(f"Medians of {len(h['epoch_wall_s'])} epochs per cell (runs of {os.environ['EPOCHS']} epochs, "
      "the first of each left out as warm-up). An epoch: one shuffled training pass with an optimiser")
print("step per batch, then the validation rows (1/6 of the images). CPU time is the whole process's")
print("(all threads); on a shared machine it is the steadier number.")
PY
