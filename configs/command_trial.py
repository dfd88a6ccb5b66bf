#!/usr/bin/env python3
"""An example command trial: fits y = 3x - 2 by mini-batch SGD with momentum, one epoch per step.

It speaks the command-trial protocol of docs/command-trials.md and needs only the standard library:
  * hyperparameters arrive on the command line (configs/command.yaml substitutes them into argv);
    the rest comes from HYPERTUNE_* environment variables;
  * after each epoch it saves its state as epoch-<n>.json in $HYPERTUNE_CHECKPOINT_DIR, then prints
    `@hypertune {"val_loss": ..., "step": n}`; the final line has no "step";
  * when $HYPERTUNE_RESUME_FROM is set it loads the state of epoch $HYPERTUNE_START_STEP and goes
    on with the next epoch, saving into its own new $HYPERTUNE_CHECKPOINT_DIR. One file per epoch
    makes that exact: the program may already have finished a later epoch when the stop arrives,
    but the paused epoch's state is still there.
"""
import argparse
import json
import math
import os
import random
import sys


def state_file(directory, epoch):
    return os.path.join(directory, f"epoch-{epoch}.json")


def make_data(n, rng):
    points = []
    for _ in range(n):
        x = rng.uniform(-1.0, 1.0)
        points.append((x, 3.0 * x - 2.0 + rng.gauss(0.0, 0.3)))
    return points


def mse(w, b, points):
    return sum((w * x + b - y) ** 2 for x, y in points) / len(points)


def save_state(directory, state):
    # Written under a temporary name and renamed, so a stop mid-write never leaves half a file.
    path = state_file(directory, state["epoch"])
    with open(path + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(path + ".tmp", path)


def load_state(directory, epoch):
    # Only read: the folder is an earlier run's (the worker removes it once no run needs it).
    with open(state_file(directory, epoch)) as f:
        return json.load(f)


def report(metrics):
    print("@hypertune " + json.dumps(metrics), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    metric = os.environ.get("HYPERTUNE_METRIC", "val_loss")
    epochs = int(os.environ.get("HYPERTUNE_MAX_STEPS", "27"))
    seed = int(os.environ.get("HYPERTUNE_SEED", "0"))
    checkpoint_dir = os.environ.get("HYPERTUNE_CHECKPOINT_DIR")
    resume_from = os.environ.get("HYPERTUNE_RESUME_FROM")

    # The data set is the same for every trial; only the order of the batches depends on the seed.
    data_rng = random.Random(12345)
    train = make_data(512, data_rng)
    val = make_data(128, data_rng)

    state = {"epoch": 0, "w": 0.0, "b": 0.0, "vw": 0.0, "vb": 0.0}
    if resume_from:
        state = load_state(resume_from, int(os.environ["HYPERTUNE_START_STEP"]))
        print(f"resuming after epoch {state['epoch']}", flush=True)

    val_loss = mse(state["w"], state["b"], val)
    for epoch in range(state["epoch"] + 1, epochs + 1):
        order = list(range(len(train)))
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
        for start in range(0, len(order), args.batch_size):
            batch = [train[i] for i in order[start:start + args.batch_size]]
            gw = sum(2.0 * (state["w"] * x + state["b"] - y) * x for x, y in batch) / len(batch)
            gb = sum(2.0 * (state["w"] * x + state["b"] - y) for x, y in batch) / len(batch)
            state["vw"] = args.momentum * state["vw"] - args.lr * gw
            state["vb"] = args.momentum * state["vb"] - args.lr * gb
            state["w"] += state["vw"]
            state["b"] += state["vb"]
        val_loss = mse(state["w"], state["b"], val)
        if not math.isfinite(val_loss):
            print(f"diverged at epoch {epoch} (lr={args.lr}, momentum={args.momentum})",
                  file=sys.stderr, flush=True)
            return 2
        state["epoch"] = epoch
        if checkpoint_dir:
            save_state(checkpoint_dir, state)
        report({metric: val_loss, "step": epoch})

    report({metric: val_loss, "w": state["w"], "b": state["b"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
