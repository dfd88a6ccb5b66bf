#!/usr/bin/env bash
# Epoch time of HyperTune's LibTorch pipelines against a plain PyTorch loop on Fashion-MNIST:
# the same MLP and CNN, data, batch size and one thread each. Prints a markdown table.
#
#   scripts/bench/pipeline.sh [BUILD_DIR]     (default: build; needs target hypertune_pipeline_bench)
#
# Environment: LIMIT (training images read, default 12000), EPOCHS (per run, default 4),
# REPEATS (runs per model, default 3), BATCH (default 128), THREADS (default 1).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
bench=$build/bench/hypertune_pipeline_bench
python=/usr/bin/python3
limit=${LIMIT:-12000}
epochs=${EPOCHS:-4}
repeats=${REPEATS:-3}
batch=${BATCH:-128}
threads=${THREADS:-1}

if [[ ! -x $bench ]]; then
  echo "pipeline.sh: $bench not found; build it: cmake --build $build --target hypertune_pipeline_bench" >&2
  exit 1
fi
if ! $python -c 'import torch' 2>/dev/null; then
  echo "pipeline.sh: $python cannot import torch (scripts/install-deps.sh installs python3-torch)" >&2
  exit 1
fi

# Both sides run single-threaded BLAS and OpenMP, so the thread count is the one asked for.
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads

args=(--limit "$limit" --epochs "$epochs" --repeats "$repeats" --batch-size "$batch" --threads "$threads")
results=()
for model in mlp cnn; do
  results+=("$("$bench" --model $model "${args[@]}")")
  results+=("$($python "$root/scripts/bench/pytorch_epoch.py" --model $model "${args[@]}")")
done

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
