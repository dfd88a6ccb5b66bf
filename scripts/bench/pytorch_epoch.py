#!/usr/bin/python3
"""Epoch time of a plain PyTorch training loop on Fashion-MNIST (the peer of bench/pipeline_bench.cpp).

usage: pytorch_epoch.py --model mlp|cnn [--limit N] [--epochs E] [--repeats R] [--batch-size B]
                        [--threads T] [--data DIR]

Same data as the C++ bench: the first N training images, a seeded 1/6 held out
for validation, pixels scaled to [0, 1] and standardised with the training mean and deviation.
Same model, Adam (lr 1e-3), same batch size and thread count. An epoch is a shuffled pass over the
training rows, one optimiser step per batch, plus an evaluation of the validation rows in batches
of 4096 under no_grad: the loop written the way PyTorch's tutorials write it. Prints one JSON line
with the wall and process CPU time of every epoch after the first of each run, and their medians.
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


def read_idx(path, limit):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dims[0] = min(dims[0], limit)
    count = 1
    for d in dims:
        count *= d
    start = 4 + 4 * ndim
    return torch.frombuffer(bytearray(data[start:start + count]), dtype=torch.uint8).reshape(dims)


def make_model(name):
    # Keep in sync with model_section() in bench/pipeline_bench.cpp.
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))
    sys.exit(f"unknown model {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--limit", type=int, default=12000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"), args.limit)
    labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"), args.limit).long()
    n = images.shape[0]
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(n, generator=g)
    n_val = round(n / 6)
    val_idx, train_idx = order[:n_val], order[n_val:]
    x = images.float().div_(255.0).unsqueeze(1)
    mean, std = x[train_idx].mean().item(), x[train_idx].std().item()
    x = (x - mean) / std
    x_train, y_train = x[train_idx].contiguous(), labels[train_idx].contiguous()
    x_val, y_val = x[val_idx].contiguous(), labels[val_idx].contiguous()

    wall, cpu = [], []
    accuracy = 0.0
    for r in range(args.repeats):
        torch.manual_seed(r)
        model = make_model(args.model)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for epoch in range(args.epochs):
            t0, c0 = time.perf_counter(), time.process_time()
            model.train()
            perm = torch.randperm(x_train.shape[0])
            running = 0.0
            for i in range(0, x_train.shape[0], args.batch_size):
                idx = perm[i:i + args.batch_size]
                xb, yb = x_train[idx], y_train[idx]
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                running += loss.item() * xb.shape[0]
            model.eval()
            correct = 0
            val_loss = 0.0
            with torch.no_grad():
                for i in range(0, x_val.shape[0], 4096):
                    out = model(x_val[i:i + 4096])
                    val_loss += F.cross_entropy(out, y_val[i:i + 4096], reduction="sum").item()
                    correct += (out.argmax(1) == y_val[i:i + 4096]).sum().item()
            accuracy = correct / x_val.shape[0]
            if epoch > 0:  # the first epoch of each run is warm-up, as in the C++ bench
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
    print(json.dumps({"impl": "pytorch", "model": args.model, "images": n,
                      "batch_size": args.batch_size, "threads": args.threads,
                      "epoch_wall_s": wall, "epoch_cpu_s": cpu,
                      "median_wall_s": statistics.median(wall), "median_cpu_s": statistics.median(cpu),
                      "final_accuracy": accuracy}))


if __name__ == "__main__":
    main()
