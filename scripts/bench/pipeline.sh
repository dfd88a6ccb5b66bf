#!/usr/bin/env bash
# Epoch time of HyperTune's LibTorch pipelines against a plain PyTorch loop on Fashion-MNIST:
# the same MLP and CNN, data, batch size and one thread each. Prints a markdown table.
#
#   scripts/bench/pipeline.sh [BUILD_DIR]     (default: build; needs target hypertune_pipeline_bench)
#
# Environment: LIMIT (training images read, default 12000), EPOCHS (per run, default 3),
# REPEATS (runs per model, default 3), BATCH (default 128), THREADS (default 1).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
bench=$build/bench/hypertune_pipeline_bench
python=/usr/bin/python3
limit=${LIMIT:-12000}
epochs=${EPOCHS:-3}
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

printf '%s\n' "${results[@]}" | $python -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
by = {(r["model"], r["impl"]): r for r in rows}
print("| model | train rows | batch | threads | HyperTune s/epoch | PyTorch s/epoch | speed-up | accuracy (HT / PT) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for model in ("mlp", "cnn"):
    h, p = by[(model, "hypertune")], by[(model, "pytorch")]
    print(f"| {model} | {p[\"train_rows\"]} | {p[\"batch_size\"]} | {p[\"threads\"]} | "
          f"{h[\"median_epoch_s\"]:.3f} | {p[\"median_epoch_s\"]:.3f} | "
          f"{p[\"median_epoch_s\"] / h[\"median_epoch_s\"]:.2f}x | "
          f"{h[\"final_accuracy\"]:.3f} / {p[\"final_accuracy\"]:.3f} |")
print()
print(f"Median of {len(h[\"epoch_s\"])} epochs per cell (an epoch: one shuffled training pass + validation).")
'
