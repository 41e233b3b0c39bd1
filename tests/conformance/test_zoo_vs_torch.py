#!/usr/bin/python3
"""Zoo architectures against PyTorch/torchvision with the same weights.

For each case: random weights under a fixed seed (BN affine + running
statistics randomized, so BN folding is exercised) written as safetensors by
weights-tools/export_torchvision.py's code, `cnnserve convert`, then
`cnnserve classify --json --logits` on a random N×C×H×W .npy input at batch 1
and 8 (--precision fp32, the default) or batch 8 (--precision bf16), compared
with torch fp32 in eval mode:

  fp32: max|ours - torch| <= 1e-4 * max|torch|
  bf16: cosine(ours, torch fp32) >= 0.999 for every image; on a CPU without
        native bf16 the run prints "skipped: no AVX512_BF16/AMX" and exits 77

Usage: test_zoo_vs_torch.py --cnnserve PATH [--case NAME ...] [--precision fp32|bf16] [--list] [--keep DIR]
"""
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "weights-tools"))
import safetensors_io  # noqa: E402
import torch_zoo  # noqa: E402
from case_runner import classify_logits, main, run  # noqa: E402

FP32_REL_TOL = 1e-4
BF16_MIN_COSINE = 0.999
BATCH = 8
PRECISION = "fp32"  # --precision, set by setup()

# name -> (arch, num_classes (0: default), width_divisor)
CASES = {
    "lenet5": ("lenet5", 0, 1),
    "lenet5_n3_d2": ("lenet5", 3, 2),
    "alexnet": ("alexnet", 0, 1),
    "vgg16": ("vgg16", 0, 1),
    "vgg19": ("vgg19", 0, 1),
    "resnet18": ("resnet18", 0, 1),
    "resnet18_n7_d4": ("resnet18", 7, 4),
    "resnet34": ("resnet34", 0, 1),
    "resnet50": ("resnet50", 0, 1),
    "resnet101": ("resnet101", 0, 1),
    "resnet152": ("resnet152", 0, 1),
    "googlenet": ("googlenet", 0, 1),
    "googlenet_n10_d8": ("googlenet", 10, 8),
    "inception_v3": ("inception_v3", 0, 1),
    "inception_v3_n5_d4": ("inception_v3", 5, 4),
}


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def check_case(name, cnnserve, workdir, seed):
    """Runs one case; returns (rows for the table, list of failure messages)."""
    arch, classes, divisor = CASES[name]
    shape = torch_zoo.INPUT_SHAPE[arch]
    t0 = time.time()
    model = torch_zoo.build(arch, classes, divisor)
    torch_zoo.randomize(model, seed, randomize_bn=True, input_shape=shape)
    weights = os.path.join(workdir, f"{name}.safetensors")
    safetensors_io.save(model.state_dict(), weights, {"format": "pt", "arch": arch})
    model_dir = os.path.join(workdir, name)
    cmd = [cnnserve, "convert", "--arch", arch, "--weights", weights, "--out", model_dir, "--force"]
    if classes:
        cmd += ["--num-classes", str(classes)]
    if divisor > 1:
        cmd += ["--width-divisor", str(divisor)]
    run(cmd)
    os.remove(weights)

    x = torch.randn((BATCH,) + shape, generator=torch.Generator().manual_seed(seed + 1))
    x8 = os.path.join(workdir, f"{name}_x8.npy")
    x1 = os.path.join(workdir, f"{name}_x1.npy")
    np.save(x8, x.numpy().astype(np.float32))
    np.save(x1, x[:1].numpy().astype(np.float32))
    t_setup = time.time() - t0
    t0 = time.time()
    with torch.no_grad():
        ref = model(x).double().numpy()
    t_torch = time.time() - t0

    rows, failures, outputs = [], [], {}
    scale = float(np.abs(ref).max())
    runs = ((1, x1, "fp32"), (BATCH, x8, "fp32")) if PRECISION == "fp32" else ((BATCH, x8, "bf16"),)
    for batch, npy, precision in runs:
        t0 = time.time()
        ours = outputs[precision] = classify_logits(cnnserve, model_dir, npy, "--batch", str(batch),
                                                   "--precision", precision)
        elapsed = time.time() - t0
        want = ref[:batch]
        if ours.shape != want.shape:
            failures.append(f"{name} batch {batch} {precision}: output shape {ours.shape}, torch {want.shape}")
            continue
        err = float(np.abs(ours - want).max())
        rel = err / scale
        cos = min(cosine(ours[i], want[i]) for i in range(batch))
        ok = rel <= FP32_REL_TOL if precision == "fp32" else cos >= BF16_MIN_COSINE
        rows.append((name, batch, precision, err, rel, cos, elapsed, "ok" if ok else "FAIL"))
        if not ok:
            limit = f"rel err <= {FP32_REL_TOL}" if precision == "fp32" else f"cosine >= {BF16_MIN_COSINE}"
            failures.append(f"{name} batch {batch} {precision}: max abs err {err:.3g}, rel {rel:.3g}, "
                            f"min cosine {cos:.6f} (need {limit})")
    if "bf16" in outputs and np.array_equal(outputs["bf16"], classify_logits(cnnserve, model_dir, x8)):
        failures.append(f"{name}: bf16 outputs equal fp32 bit for bit; bf16 is not in effect")
    print(f"# {name}: {torch_zoo.num_params(model):,} params, |torch| max {scale:.3g}, "
          f"setup {t_setup:.1f}s, torch batch {BATCH} {t_torch:.1f}s", flush=True)
    return rows, failures


def print_rows(rows):
    print(f"\n{'case':<20} {'batch':>5} {'prec':<5} {'max abs err':>12} {'rel err':>10} "
          f"{'min cosine':>12} {'ours s':>7}  result")
    for name, batch, precision, err, rel, cos, elapsed, verdict in rows:
        print(f"{name:<20} {batch:>5} {precision:<5} {err:>12.3e} {rel:>10.2e} {cos:>12.8f} "
              f"{elapsed:>7.2f}  {verdict}")


def setup(args):
    global PRECISION
    PRECISION = args.precision


if __name__ == "__main__":
    sys.exit(main(__doc__, CASES, check_case, print_rows, 20240601, "cnn-conformance-", setup=setup,
                  precisions=("fp32", "bf16")))
