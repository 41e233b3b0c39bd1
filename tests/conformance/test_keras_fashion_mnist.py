#!/usr/bin/python3
"""A real Keras file, trained by someone else (tests/data/keras/SOURCE.md):
`cnnserve convert --keras` it, classify the full 10,000-image Fashion-MNIST
test set from Debian's dataset-fashion-mnist (pixels / 255, N×1×28×28
.npy) and require the top-1 accuracy of the independent reference: 0.9122.

Usage: test_keras_fashion_mnist.py --cnnserve PATH
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "tests", "data", "keras", "fashion_mnist_cnn_tfkeras224.h5")
DATA = "/usr/share/datasets/fashion-mnist"
EXPECTED = 0.9122


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnnserve", required=True)
    args = ap.parse_args()
    images = idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28)
    labels = idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"), 8)
    with tempfile.TemporaryDirectory(prefix="cnnserve-keras-fm-") as tmp:
        out = os.path.join(tmp, "model")
        p = subprocess.run([args.cnnserve, "convert", "--keras", MODEL, "--out", out], capture_output=True,
                           text=True)
        if p.returncode != 0:
            sys.exit(f"convert failed ({p.returncode}): {p.stderr.strip()}")
        npy = os.path.join(tmp, "t10k.npy")
        np.save(npy, images.astype(np.float32) / 255.0)
        p = subprocess.run([args.cnnserve, "classify", out, npy, "--json", "--top-k", "1", "--batch", "250"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"classify failed ({p.returncode}): {p.stderr.strip()}")
    results = json.loads(p.stdout)["results"]
    predicted = np.array([r["top_k"][0]["class"] for r in results])
    if len(predicted) != len(labels):
        sys.exit(f"{len(predicted)} results for {len(labels)} images")
    accuracy = float((predicted == labels).mean())
    print(f"top-1 accuracy {accuracy:.4f} on {len(labels)} images (expected {EXPECTED})")
    if round(accuracy, 4) != EXPECTED:
        sys.exit(1)


if __name__ == "__main__":
    main()
