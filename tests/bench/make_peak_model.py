#!/usr/bin/python3
"""Writes a model bench_cpu.sh measures the CPU's peak with: one convolution
(+ ReLU) of CHANNELS -> CHANNELS channels, KERNEL x KERNEL ("same" padding),
over SIZE x SIZE, in the graph form, random weights. 3x3 convolutions of 256
to 512 channels over 14-28 pixels are where oneDNN runs nearest the hardware's
limit (1x1 ones move more bytes per multiply-add).

Usage: make_peak_model.py OUT_DIR CHANNELS SIZE KERNEL
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "weights-tools"))
import safetensors_io  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().splitlines()[-1])
    out, channels, size, kernel = sys.argv[1], *map(int, sys.argv[2:])
    os.makedirs(out, exist_ok=True)
    nodes = [{"name": "input", "op": "input", "shape": [channels, size, size]},
             {"name": "conv", "op": "conv2d", "inputs": ["input"], "out_channels": channels,
              "kernel": [kernel, kernel], "padding": "same", "bias": True},
             {"name": "relu", "op": "relu", "inputs": ["conv"]}]
    rng = np.random.default_rng(0)
    scale = 1.0 / np.sqrt(channels * kernel * kernel)
    weights = {"conv.weight": (rng.standard_normal((channels, channels, kernel, kernel)) * scale).astype(np.float32),
               "conv.bias": np.zeros(channels, np.float32)}
    name = f"peak_conv{kernel}x{kernel}_{channels}c_{size}px"
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"name": name, "architecture": {"graph": {"nodes": nodes, "output": "relu"}}}, f)
    safetensors_io.save(weights, os.path.join(out, "weights.safetensors"), {})


if __name__ == "__main__":
    main()
