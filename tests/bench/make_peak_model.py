#!/usr/bin/python3
"""Writes the model bench_cpu.sh measures the CPU's peak with: one 1x1
convolution, 1024 -> 1024 channels over 28x28 (822 M multiply-adds per image,
the shape oneDNN runs nearest its peak), in the graph form, random weights.

Usage: make_peak_model.py OUT_DIR
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "weights-tools"))
import safetensors_io  # noqa: E402

CHANNELS, SIZE = 1024, 28


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    nodes = [{"name": "input", "op": "input", "shape": [CHANNELS, SIZE, SIZE]},
             {"name": "conv", "op": "conv2d", "inputs": ["input"], "out_channels": CHANNELS, "kernel": [1, 1],
              "stride": [1, 1], "dilation": [1, 1], "groups": 1, "pads": [0, 0, 0, 0], "bias": True},
             {"name": "relu", "op": "relu", "inputs": ["conv"]}]
    rng = np.random.default_rng(0)
    weights = {"conv.weight": (rng.standard_normal((CHANNELS, CHANNELS, 1, 1)) * 0.03).astype(np.float32),
               "conv.bias": np.zeros(CHANNELS, np.float32)}
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"name": "peak_conv1x1", "architecture": {"graph": {"nodes": nodes, "output": "relu"}}}, f)
    safetensors_io.save(weights, os.path.join(out, "weights.safetensors"), {})


if __name__ == "__main__":
    main()
