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
exec "$(dirname "$0")/fashion_step.sh" early_stopping "$@"
