"""Loads a HyperTune model export with PyTorch and checks it computes what the C++ side computed.

usage: check_export.py (MODEL_DIR FEATURES.f32 OUTPUTS.f32 ROWS)...

Builds the torch.nn.Sequential that model.json's layer list names, loads weights.pt into it with
load_state_dict(strict=True), runs it on the raw float32 features and compares with the float32
outputs (class probabilities, or values in the target's units) written by the C++ test. Several models may be
checked in one run (importing torch is the slow part). Exit status 0 when every model agrees to
1e-5, 1 otherwise.
"""
import json
import os
import sys

import torch
from torch import nn


def build(layers):
    mods = []
    for l in layers:
        t = l["type"]
        if t == "Linear":
            mods.append(nn.Linear(l["in"], l["out"]))
        elif t == "Conv2d":
            mods.append(nn.Conv2d(l["in"], l["out"], l["kernel"], padding=l["padding"]))
        elif t == "BatchNorm1d":
            mods.append(nn.BatchNorm1d(l["features"]))
        elif t == "BatchNorm2d":
            mods.append(nn.BatchNorm2d(l["features"]))
        elif t == "Dropout":
            mods.append(nn.Dropout(l["p"]))
        elif t == "MaxPool2d":
            mods.append(nn.MaxPool2d(l["kernel"]))
        elif t == "AvgPool2d":
            mods.append(nn.AvgPool2d(l["kernel"]))
        elif t == "Flatten":
            mods.append(nn.Flatten())
        else:
            mods.append(getattr(nn, t)())  # ReLU, GELU, Tanh, SiLU
    return nn.Sequential(*mods)


def check(model_dir, features, outputs, rows):
    with open(os.path.join(model_dir, "model.json")) as f:
        desc = json.load(f)
    state = torch.load(os.path.join(model_dir, "weights.pt"))
    net = build(desc["layers"])
    net.load_state_dict(state, strict=True)
    net.eval()
    shape = [rows] + desc["input_shape"]
    n_in = 1
    for d in shape:
        n_in *= d
    x = torch.from_file(features, size=n_in, dtype=torch.float32).reshape(shape)
    with torch.no_grad():
        y = net(x)
        if desc["task"] == "classification":
            y = torch.softmax(y, dim=1)
        else:
            y = y * desc["target"]["scale"] + desc["target"]["mean"]
    expected = torch.from_file(outputs, size=y.numel(), dtype=torch.float32).reshape(y.shape)
    # Relative for regression outputs in the target's units, absolute for probabilities.
    diff = ((y - expected).abs() / expected.abs().clamp(min=1.0)).max().item()
    print(f"{model_dir}: max difference {diff:.3g} over {rows} rows")
    return diff < 1e-5


def main():
    args = sys.argv[1:]
    if not args or len(args) % 4:
        print(__doc__, file=sys.stderr)
        return 2
    ok = True
    for i in range(0, len(args), 4):
        ok &= check(args[i], args[i + 1], args[i + 2], int(args[i + 3]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
