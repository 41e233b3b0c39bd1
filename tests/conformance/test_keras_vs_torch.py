#!/usr/bin/python3
"""`cnnserve convert --keras` against an independent PyTorch forward pass.

Each case is a Keras model written with h5py in model.save's exact HDF5
layout (keras_layout.py; no TensorFlow needed) with random weights:
Sequential in both config forms, functional graphs with concatenate and
add, BatchNormalization with non-trivial moving statistics and epsilons,
ZeroPadding2D, 'same' pooling on odd sizes, Flatten → Dense (channels_last
order), activations inside layers and as layers (ReLU6 among them). The converted model's
outputs (`classify --json --logits`) must match the reference within
max|diff| / max|ref| <= 1e-4.

Usage: test_keras_vs_torch.py --cnnserve PATH [--case NAME]...
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_layout as kl  # noqa: E402

REL_TOL = 1e-4


def case_sequential_list():
    """Keras 2.2: the bare-list Sequential form, fixed-length string
    attributes, layer_names split in chunks, no InputLayer."""
    layers = [
        kl.conv2d("conv2d_1", 8, (3, 3), activation="relu"),
        kl.pool("MaxPooling2D", "max_pooling2d_1", (2, 2)),
        kl.conv2d("conv2d_2", 12, (2, 3), strides=(2, 2), padding="same", activation="sigmoid"),
        kl.simple("Flatten", "flatten_1"),
        kl.dense("dense_1", 16, activation="tanh"),
        kl.simple("Dropout", "dropout_1", rate=0.5),
        kl.dense("dense_2", 5),
        kl.simple("Activation", "activation_1", activation="softmax"),
    ]
    layers[0]["config"]["batch_input_shape"] = [None, 13, 11, 3]
    return kl.sequential(layers, list_form=True), (13, 11, 3), dict(fixed_strings=True, split_names=3,
                                                                    keras_version="2.2.4")


def case_sequential_bn_pad_pool():
    """{"layers": [...]} with an InputLayer; BN (epsilons, center/scale off,
    on a flattened vector), ZeroPadding2D, dilation, 'same' pools on odd sizes."""
    layers = [
        kl.input_layer("input_1", (15, 13, 3)),
        kl.simple("ZeroPadding2D", "zero_padding2d", padding=[[1, 2], [0, 3]]),
        kl.conv2d("conv2d", 6, (3, 3), padding="same", use_bias=False, activation="elu"),
        kl.batch_norm("batch_normalization", epsilon=0.01),
        kl.pool("MaxPooling2D", "max_pooling2d", (3, 3), strides=(2, 2), padding="same"),
        kl.conv2d("conv2d_1", 7, (3, 3), dilation=(2, 2), activation="relu"),
        kl.pool("AveragePooling2D", "average_pooling2d", (3, 2), strides=(2, 1), padding="same"),
        kl.batch_norm("batch_normalization_1", epsilon=1e-5, center=False),
        kl.simple("Flatten", "flatten"),
        kl.batch_norm("batch_normalization_2", scale=False),
        kl.dense("dense", 10),
    ]
    return kl.sequential(layers), (15, 13, 3), {}


def case_functional():
    """A functional graph ("Functional", tf.keras >= 2.4): an inception-like
    concatenate, a residual add, Flatten and GlobalAveragePooling2D vectors
    concatenated before a Dense, and an auxiliary output (dropped: the last
    output is served)."""
    layers = [
        kl.input_layer("input_1", (12, 10, 3), inbound=[]),
        kl.conv2d("branch_1x1", 4, (1, 1), activation="relu", inbound=["input_1"]),
        kl.conv2d("branch_3x3", 6, (3, 3), padding="same", activation="relu", inbound=["input_1"]),
        kl.pool("AveragePooling2D", "branch_pool", (3, 3), strides=(1, 1), padding="same", inbound=["input_1"]),
        kl.simple("Concatenate", "mixed", axis=-1, inbound=["branch_1x1", "branch_3x3", "branch_pool"]),
        kl.conv2d("residual", 13, (3, 3), padding="same", inbound=["mixed"]),
        kl.simple("Add", "add", inbound=["mixed", "residual"]),
        kl.simple("Activation", "add_relu", activation="relu", inbound=["add"]),
        kl.batch_norm("bn", epsilon=0.001, inbound=["add_relu"]),
        kl.pool("MaxPooling2D", "pool", (2, 2), inbound=["bn"]),
        kl.simple("GlobalAveragePooling2D", "gap", inbound=["pool"]),
        kl.dense("aux", 3, activation="softmax", inbound=["gap"]),
        kl.simple("Flatten", "flatten", inbound=["pool"]),
        kl.simple("Concatenate", "features", axis=-1, inbound=["flatten", "gap"]),
        kl.dense("fc1", 9, activation="relu", inbound=["features"]),
        kl.dense("fc2", 9, inbound=["gap"]),
        kl.simple("Add", "fc_sum", inbound=["fc1", "fc2"]),
        kl.dense("predictions", 4, inbound=["fc_sum"]),
    ]
    return kl.functional(layers, ["input_1"], ["aux", "predictions"], cls="Functional"), (12, 10, 3), {}


def case_activation_layers():
    """Activation layers: ReLU with max_value (ReLU6, a clip), ReLU with a
    negative slope, LeakyReLU, ELU, Softmax; GlobalMaxPooling2D; Conv2D
    without bias and with 'valid' strides."""
    layers = [
        kl.input_layer("input_1", (9, 11, 2)),
        kl.conv2d("conv2d", 5, (3, 3), strides=(2, 1), use_bias=False),
        kl.simple("ReLU", "relu6", max_value=6.0, negative_slope=0.0, threshold=0.0),
        kl.conv2d("conv2d_1", 6, (1, 1)),
        kl.simple("LeakyReLU", "leaky_re_lu", alpha=0.2),
        kl.conv2d("conv2d_2", 4, (2, 2), padding="same"),
        kl.simple("ReLU", "re_lu", max_value=None, negative_slope=0.1, threshold=0.0),
        kl.simple("GlobalMaxPooling2D", "global_max_pooling2d"),
        kl.dense("dense", 7),
        kl.simple("ELU", "elu", alpha=0.5),
        kl.dense("dense_1", 3),
        kl.simple("Softmax", "softmax", axis=-1),
    ]
    return kl.sequential(layers), (9, 11, 2), {}


def case_theano_backend():
    """A Keras 2 file saved with the Theano backend: kernels are flipped."""
    config, shape, _ = case_sequential_bn_pad_pool()
    return config, shape, dict(backend="theano", keras_version="2.1.6")


CASES = {
    "activation_layers": case_activation_layers,
    "theano_backend": case_theano_backend,
    "sequential_list": case_sequential_list,
    "sequential_bn_pad_pool": case_sequential_bn_pad_pool,
    "functional": case_functional,
}


def run_case(cnnserve, name, tmp):
    config, shape, save_opts = CASES[name]()
    weights = kl.random_weights(config, shape, seed=sum(map(ord, name)))
    h5 = os.path.join(tmp, name + ".h5")
    kl.save(h5, config, weights, **save_opts)
    out = os.path.join(tmp, name)
    p = subprocess.run([cnnserve, "convert", "--keras", h5, "--out", out], capture_output=True, text=True)
    if p.returncode != 0:
        print(f"FAIL {name}: convert exited {p.returncode}: {p.stderr.strip()}")
        return False
    x = np.random.default_rng(1).standard_normal((4, shape[2], shape[0], shape[1])).astype(np.float32)
    npy = os.path.join(tmp, name + ".npy")
    np.save(npy, x)
    p = subprocess.run([cnnserve, "classify", out, npy, "--json", "--logits", "--top-k", "1"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(f"FAIL {name}: classify exited {p.returncode}: {p.stderr.strip()}")
        return False
    got = np.array([r["logits"] for r in json.loads(p.stdout)["results"]], np.float64)
    ref = kl.forward(config, weights, x, theano=save_opts.get("backend") == "theano").astype(np.float64)
    if got.shape != ref.shape:
        print(f"FAIL {name}: output shape {got.shape}, reference {ref.shape}")
        return False
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    ok = rel <= REL_TOL
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max|diff|/max|ref| = {rel:.2e}")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnnserve", required=True)
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnnserve-keras-") as tmp:
        results = [run_case(args.cnnserve, name, tmp) for name in (args.case or CASES)]
    if not all(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
