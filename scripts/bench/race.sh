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
exec "$(dirname "$0")/fashion_step.sh" race "$@"
