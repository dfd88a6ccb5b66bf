"""Fashion-MNIST data and models for the PyTorch side of the early-stopping and race benchmarks.

The data is exactly what a HyperTune pipeline trial sees for `data: {format: idx, limit: N,
split: S, stratify: true, split_seed: K}`: the first N training images, the same stratified
validation rows (pipelines/dataset.cpp split_rows, whose generator, search/rng.h's xoshiro256**
seeded through splitmix64, is reproduced below), pixels scaled to [0, 1] and standardised with
the mean and population deviation of the training pixels. The models are the torch.nn.Sequential
that pipelines/model.cpp builds for `model: {type: mlp | cnn, ...}` (PyTorch default init),
trained with AdamW (weight decay 0.01, the pipeline default), batch 128, one optimiser step per
batch over a shuffled epoch, the last batch merged into the previous one when it would hold a
single row (as pipelines/trainer.cpp does).
"""
import os

import torch
from torch import nn
import torch.nn.functional as F

from pytorch_epoch import read_idx  # the same IDX reader as the epoch benchmark

M64 = (1 << 64) - 1
DATA_DIR = "/usr/share/datasets/fashion-mnist"


def _splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def _derive_seed(seed, salt):
    s = (seed ^ ((salt * 0xD1B54A32D192ED03) & M64)) & M64
    s, _ = _splitmix64(s)
    _, z = _splitmix64(s)
    return z


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class _Rng:
    def __init__(self, seed):
        self.s = []
        st = seed
        for _ in range(4):
            st, z = _splitmix64(st)
            self.s.append(z)

    def next(self):
        s = self.s
        result = (_rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def below(self, n):
        m = self.next() * n
        low = m & M64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next() * n
                low = m & M64
        return m >> 64


def _shuffle(v, rng):
    for i in range(len(v), 1, -1):
        j = rng.below(i)
        v[i - 1], v[j] = v[j], v[i - 1]


def split_rows(labels, fraction, seed):
    """Stratified split of row indices, as pipelines/dataset.cpp split_rows does it."""
    rng = _Rng(_derive_seed(seed, 0x5EED5917))
    by_class = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    train, valid = [], []
    for label in sorted(by_class):
        members = by_class[label]
        _shuffle(members, rng)
        # std::llround: halves away from zero (Python's round() would round them to even).
        take = int(len(members) * fraction + 0.5)
        valid += members[:take]
        train += members[take:]
    return sorted(train), sorted(valid)


def load(limit, split, split_seed=0, data_dir=DATA_DIR):
    """(x_train, y_train, x_val, y_val), images as float tensors of shape (n, 1, 28, 28)."""
    images = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz"), limit)
    labels = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"), limit).long()
    train_idx, val_idx = split_rows(labels.tolist(), split, split_seed)
    train_idx, val_idx = torch.tensor(train_idx), torch.tensor(val_idx)
    x = images.double().div_(255.0).unsqueeze(1)
    tr = x[train_idx]
    mean = tr.mean().item()
    sd = tr.var(unbiased=False).sqrt().item() or 1.0
    x = ((x - mean) / sd).float()
    return (x[train_idx].contiguous(), labels[train_idx].contiguous(),
            x[val_idx].contiguous(), labels[val_idx].contiguous())


def make_model(p):
    """p: the pipeline's model section with parameters filled in (type mlp or cnn)."""
    if p["type"] == "mlp":
        layers, width, dropout = int(p["layers"]), int(p["width"]), float(p.get("dropout", 0.0))
        mods, fan_in = [nn.Flatten()], 28 * 28
        for _ in range(layers):
            mods += [nn.Linear(fan_in, width)]
            if p.get("batch_norm", False):
                mods += [nn.BatchNorm1d(width)]
            mods += [nn.ReLU()]
            if dropout > 0:
                mods += [nn.Dropout(dropout)]
            fan_in = width
        mods += [nn.Linear(fan_in, 10)]
        return nn.Sequential(*mods)
    if p["type"] == "cnn":
        ch, dense, dropout = int(p["channels"]), int(p["dense"]), float(p.get("dropout", 0.0))
        bn = p.get("batch_norm") in (True, "true")
        blocks = int(p.get("blocks", 2))
        mods, c_in, side = [], 1, 28
        for b in range(blocks):
            c_out = ch * (2 ** b)
            mods += [nn.Conv2d(c_in, c_out, 3, padding=1)]
            if bn:
                mods += [nn.BatchNorm2d(c_out)]
            mods += [nn.ReLU(), nn.MaxPool2d(2)]
            c_in, side = c_out, side // 2
        mods += [nn.Flatten()]
        fan_in = c_in * side * side
        if dense > 0:
            mods += [nn.Linear(fan_in, dense), nn.ReLU()]
            if dropout > 0:
                mods += [nn.Dropout(dropout)]
            fan_in = dense
        mods += [nn.Linear(fan_in, 10)]
        return nn.Sequential(*mods)
    raise ValueError(f"unknown model type {p['type']}")


class Trainer:
    """One trial's model and optimiser; epoch() trains one epoch and returns validation accuracy."""

    def __init__(self, data, model_params, lr, seed, batch_size=128):
        self.x_train, self.y_train, self.x_val, self.y_val = data
        torch.manual_seed(seed)
        self.model = make_model(model_params)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=0.01)
        self.batch_size = batch_size

    def epoch(self):
        n, bs = self.x_train.shape[0], self.batch_size
        batches = (n + bs - 1) // bs
        if batches > 1 and n % bs == 1:
            batches -= 1
        self.model.train()
        perm = torch.randperm(n)
        xs, ys = self.x_train[perm], self.y_train[perm]
        for b in range(batches):
            start = b * bs
            end = n if b + 1 == batches else start + bs
            self.opt.zero_grad()
            loss = F.cross_entropy(self.model(xs[start:end]), ys[start:end])
            loss.backward()
            self.opt.step()
        self.model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, self.x_val.shape[0], 4096):
                out = self.model(self.x_val[i:i + 4096])
                correct += (out.argmax(1) == self.y_val[i:i + 4096]).sum().item()
        return correct / self.x_val.shape[0]
