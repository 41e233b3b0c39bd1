#!/usr/bin/python3
"""`cnnserve convert --onnx` against PyTorch on the same module.

For each case a PyTorch module gets random weights under a fixed seed
(batch-norm statistics randomized, so BN folding is exercised), is exported
with torch.onnx.export (opset 13, dynamic batch axis), converted with
`cnnserve convert --onnx`, and run with `cnnserve classify --json --logits`
on random inputs at batch 1 and 3. Passing means

    max|ours - torch| <= 1e-4 * max|torch|

Cases: every zoo architecture (narrowed with a width divisor so the suite
stays fast), a network flattening with x.view(x.size(0), -1) (the
Shape → Gather → Unsqueeze → Concat → Reshape chain is checked to be in the
exported file), one using ops outside the zoo (ZeroPad2d, PReLU, grouped
conv, Hardtanh → Clip, ceil-mode AvgPool, LeakyReLU, ELU, Tanh, x @ W + b →
MatMul + Add), and a model whose weights are ONNX external data.

Usage: test_onnx_zoo.py --cnnserve PATH [--case NAME ...] [--list] [--keep DIR]
"""
import os
import sys
import time
import warnings

import numpy as np
import onnx
import onnx.external_data_helper
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "weights-tools"))
import torch_zoo  # noqa: E402
from case_runner import classify_logits, main, run  # noqa: E402

REL_TOL = 1e-4
THREADS = {"OMP_NUM_THREADS": "2"}
BATCHES = (1, 3)


class ViewNet(nn.Module):
    """Flattens with x.view(x.size(0), -1): torch exports the batch size as
    Shape → Gather → Unsqueeze → Concat → Reshape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(x.view(x.size(0), -1))


class MiscNet(nn.Module):
    """Operators the zoo does not use."""

    def __init__(self):
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 2, 0, 1))
        self.conv = nn.Conv2d(3, 8, 3)
        self.prelu = nn.PReLU(8)
        self.grouped = nn.Conv2d(8, 8, 3, groups=4, padding=1, dilation=1)
        self.relu6 = nn.Hardtanh(0.0, 6.0)
        self.pool = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
        self.w = nn.Parameter(torch.randn(8 * 7 * 8, 12) * 0.05)
        self.b = nn.Parameter(torch.randn(12) * 0.1)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = self.pool(self.relu6(self.grouped(self.prelu(self.conv(self.pad(x))))))
        x = torch.tanh(nn.functional.elu(nn.functional.leaky_relu(x, 0.2), 0.7))
        x = torch.flatten(x, 1) @ self.w + self.b
        return torch.softmax(self.fc(x), 1)


# name -> (builder kind, arch or class, num_classes, width_divisor, input shape)
CASES = {
    "lenet5": ("zoo", "lenet5", 0, 1),
    "alexnet_d4": ("zoo", "alexnet", 10, 4),
    "vgg16_d8": ("zoo", "vgg16", 10, 8),
    "vgg19_d8": ("zoo", "vgg19", 10, 8),
    "resnet18_d4": ("zoo", "resnet18", 10, 4),
    "resnet34_d4": ("zoo", "resnet34", 10, 4),
    "resnet50_d4": ("zoo", "resnet50", 10, 4),
    "resnet101_d8": ("zoo", "resnet101", 10, 8),
    "resnet152_d8": ("zoo", "resnet152", 10, 8),
    "googlenet_d8": ("zoo", "googlenet", 10, 8),
    "inception_v3_d4": ("zoo", "inception_v3", 10, 4),
    "view_flatten": ("custom", ViewNet, 0, 1),
    "misc_ops": ("custom", MiscNet, 0, 1),
    "external_data": ("zoo", "resnet18", 10, 8),
}
CUSTOM_INPUT = {ViewNet: (3, 32, 32), MiscNet: (3, 14, 14)}
FOLD_CHAIN = {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape"}


def build(name, seed):
    """The case's module (eval mode, random weights) and its input shape."""
    kind, what, classes, divisor = CASES[name]
    if kind == "zoo":
        shape = torch_zoo.INPUT_SHAPE[what]
        model = torch_zoo.build(what, classes, divisor, aux=False)
        torch_zoo.randomize(model, seed, randomize_bn=True, input_shape=shape)
        return model, shape
    torch.manual_seed(seed)
    model = what()
    shape = CUSTOM_INPUT[what]
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return model.eval(), shape


def export(model, shape, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros((1,) + tuple(shape)), path, opset_version=13,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def check_case(name, cnnserve, workdir, seed):
    """Runs one case; returns (table rows, failure messages)."""
    t0 = time.time()
    model, shape = build(name, seed)
    onnx_path = os.path.join(workdir, name, "model.onnx")
    os.makedirs(os.path.dirname(onnx_path), exist_ok=True)
    export(model, shape, onnx_path)
    failures = []
    ops = {n.op_type for n in onnx.load(onnx_path, load_external_data=False).graph.node}
    if name == "view_flatten" and not FOLD_CHAIN <= ops:
        failures.append(f"{name}: the export lacks {sorted(FOLD_CHAIN - ops)}; folding is not exercised")
    if name == "external_data":
        m = onnx.load(onnx_path)
        onnx.external_data_helper.convert_model_to_external_data(
            m, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
        onnx.save(m, onnx_path)
        n_ext = sum(1 for t in onnx.load(onnx_path, load_external_data=False).graph.initializer
                    if t.data_location == onnx.TensorProto.EXTERNAL)
        if n_ext == 0:
            failures.append(f"{name}: no initializer was moved to external data")
    model_dir = os.path.join(workdir, name + "-cnn")
    run([cnnserve, "convert", "--onnx", onnx_path, "--out", model_dir, "--force"], env=THREADS)
    t_setup = time.time() - t0

    x = torch.randn((max(BATCHES),) + tuple(shape), generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        ref = model(x).double().numpy().reshape(len(x), -1)
    scale = float(np.abs(ref).max())
    rows = []
    for batch in BATCHES:
        npy = os.path.join(workdir, f"{name}_x{batch}.npy")
        np.save(npy, x[:batch].numpy().astype(np.float32))
        ours = classify_logits(cnnserve, model_dir, npy, env=THREADS)
        want = ref[:batch]
        if ours.shape != want.shape:
            failures.append(f"{name} batch {batch}: output shape {ours.shape}, torch {want.shape}")
            continue
        err = float(np.abs(ours - want).max())
        ok = err <= REL_TOL * scale
        rows.append((name, batch, err, err / scale, "ok" if ok else "FAIL"))
        if not ok:
            failures.append(f"{name} batch {batch}: max abs err {err:.3g} > {REL_TOL} * {scale:.3g}")
    print(f"# {name}: {len(ops)} op types, setup {t_setup:.1f}s", flush=True)
    return rows, failures


def print_rows(rows):
    print(f"\n{'case':<18} {'batch':>5} {'max abs err':>12} {'rel err':>10}  result")
    for name, batch, err, rel, verdict in rows:
        print(f"{name:<18} {batch:>5} {err:>12.3e} {rel:>10.2e}  {verdict}")


if __name__ == "__main__":
    sys.exit(main(__doc__, CASES, check_case, print_rows, 20261128, "cnn-onnx-"))
