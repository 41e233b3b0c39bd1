#!/usr/bin/python3
"""The bundled trained models (models/*/) end to end, against PyTorch.

For each model directory, the reference is the PyTorch module it was trained
as — torch_zoo's LeNet-5 for a zoo model, the weights-tools/fashion_nets.py
class for the trained family (graph-form model.json) — loaded with the same
weights.safetensors; model.json itself is never read for the reference.

1. `cnnserve classify` on the sample PNGs: the top-1 label is the one in the
   file name, and the outputs equal torch's on the same pixels (PIL decoding,
   pixels/255) within REL_TOL of the largest output.
2. The full Fashion-MNIST test set (10,000 images, pixels/255, one .npy)
   through `cnnserve classify`: accuracy equals torch's within 0.05 percentage
   points, top-1 agrees with torch on >= 99.9 % of the images, every output
   vector is within REL_TOL of torch's (relative to its largest value), and
   the accuracy is at least MIN_ACCURACY.

With --precision bf16 the same runs use a bf16 session: the sample PNGs keep
their label, and the test-set accuracy is within BF16_MAX_ACCURACY_GAP (0.3
percentage points) of PyTorch's fp32 accuracy. On a CPU without native bf16
the run prints "skipped: no AVX512_BF16/AMX" and exits 77 (ctest's skip).

With --table it also prints the README's "Trained models" table (parameters
and multiply-adds from `cnnserve inspect`, size of the model directory).

Usage: test_trained_models.py --cnnserve PATH [--models DIR] [--model NAME ...] [--precision fp32|bf16] [--table]
Needs Debian's dataset-fashion-mnist (exit 77, ctest's "skipped", without it).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "weights-tools"))
import fashion_nets  # noqa: E402
import safetensors_io  # noqa: E402
import torch_zoo  # noqa: E402
import train_family  # noqa: E402
import train_fashion  # noqa: E402

REL_TOL = 1e-4
MAX_ACCURACY_GAP = 0.0005
MIN_AGREEMENT = 0.999
MIN_ACCURACY = 0.85
BF16_MAX_ACCURACY_GAP = 0.003
SKIP = 77
PRECISION = "fp32"  # --precision


def classify(cnnserve, model_dir, inputs, batch=None):
    """cnnserve's results for `inputs`, in input (and in-file index) order."""
    extra = ["--batch", str(batch)] if batch else []
    extra += ["--precision", PRECISION]
    p = subprocess.run([cnnserve, "classify", model_dir, *inputs, "--json", "--logits", "--top-k", "1", *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"cnnserve classify {model_dir} failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)["results"]


def reference_model(model_dir):
    """The PyTorch module `model_dir` was trained as, with its weights, in eval mode."""
    name = os.path.basename(os.path.normpath(model_dir))
    family = {train_family.tools_family_dir_name(a): a for a in fashion_nets.ARCHS}
    if name in family:
        return train_family.tools_family_load(family[name], model_dir)
    if name == "lenet5-fashion":
        tensors, _ = safetensors_io.load(os.path.join(model_dir, "weights.safetensors"))
        model = torch_zoo.build("lenet5", 10)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
        return model.eval()
    raise SystemExit(f"{model_dir}: no PyTorch reference for this model (add it to {__file__})")


def torch_outputs(model, x):
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)]).numpy()


def rel_errors(ours, theirs):
    """Per image: the largest output difference over the largest |output|."""
    return np.abs(ours - theirs).max(1) / np.abs(theirs).max(1)


def sample_label(path, labels):
    stem = os.path.basename(path)[:-4].split("_", 1)[1]
    return next(lab for lab in labels if lab.lower().replace("/", "_").replace("-", "_").replace(" ", "_") == stem)


def check_samples(cnnserve, model_dir, model, labels):
    """Number of failing sample PNGs (the label in the name, torch's outputs)."""
    from PIL import Image

    sample_dir = os.path.join(model_dir, "samples")
    paths = sorted(os.path.join(sample_dir, f) for f in os.listdir(sample_dir) if f.endswith(".png"))
    if not paths:
        print(f"  FAIL: no sample PNGs in {sample_dir}")
        return 1
    results = classify(cnnserve, model_dir, paths)
    pixels = np.stack([np.asarray(Image.open(p).convert("L"), dtype=np.float32) / 255.0 for p in paths])
    want = torch_outputs(model, torch.from_numpy(pixels)[:, None])
    rel = rel_errors(np.array([r["logits"] for r in results]), want)
    failures = 0
    for path, r, e in zip(paths, results, rel):
        label, expected = r["top_k"][0]["label"], sample_label(path, labels)
        ok = label == expected and (e <= REL_TOL or PRECISION == "bf16")
        failures += not ok
        print(f"  {os.path.basename(path):<22} {label:<12} rel err vs torch {e:.1e}  "
              f"{'ok' if ok else 'FAIL (want ' + expected + f', rel err <= {REL_TOL})'}")
    return failures


def check_test_set(cnnserve, model_dir, model, x, y):
    """Number of failed test-set criteria and the measured numbers; prints one
    summary line per model."""
    with tempfile.TemporaryDirectory(prefix="cnn-trained-") as tmp:
        npy = os.path.join(tmp, "t10k.npy")
        np.save(npy, x.numpy())
        results = classify(cnnserve, model_dir, [npy], batch=500)
    results.sort(key=lambda r: r["index"])
    ours = np.array([r["logits"] for r in results], dtype=np.float64)
    theirs = torch_outputs(model, x).astype(np.float64)
    acc_ours = float((ours.argmax(1) == y).mean())
    acc_torch = float((theirs.argmax(1) == y).mean())
    agree = float((ours.argmax(1) == theirs.argmax(1)).mean())
    rel = float(rel_errors(ours, theirs).max())
    if PRECISION == "bf16":
        checks = [(abs(acc_ours - acc_torch) <= BF16_MAX_ACCURACY_GAP,
                   f"|bf16 accuracy - fp32 accuracy| <= {BF16_MAX_ACCURACY_GAP}")]
    else:
        checks = [(abs(acc_ours - acc_torch) <= MAX_ACCURACY_GAP, f"|accuracy gap| <= {MAX_ACCURACY_GAP}"),
                  (agree >= MIN_AGREEMENT, f"agreement >= {MIN_AGREEMENT}"),
                  (rel <= REL_TOL, f"max rel err <= {REL_TOL}"),
                  (acc_ours >= MIN_ACCURACY, f"accuracy >= {MIN_ACCURACY}")]
    failed = [what for ok, what in checks if not ok]
    print(f"  {len(y)} test images: cnnserve {PRECISION} accuracy {acc_ours:.4f}, torch fp32 {acc_torch:.4f}, "
          f"top-1 agreement {agree:.4f}, max rel err {rel:.1e}  "
          f"{'ok' if not failed else 'FAIL (need ' + ', '.join(failed) + ')'}")
    return len(failed), (acc_torch, acc_ours, agree)


def table_row(cnnserve, model_dir, measured):
    """The model's row of the README table."""
    p = subprocess.run([cnnserve, "inspect", model_dir], stdout=subprocess.PIPE, text=True, check=True)
    totals = dict(line.split(":", 1) for line in p.stdout.splitlines() if ":" in line)
    params = totals["Total params"].split()[0]
    macs = totals["Multiply-adds per image"].split()[0]
    size = sum(os.path.getsize(os.path.join(model_dir, f)) for f in ("model.json", "weights.safetensors"))
    acc_torch, acc_ours, agree = measured
    return (f"| {os.path.basename(os.path.normpath(model_dir))} | {params} | {macs} | {100 * acc_torch:.2f} % | "
            f"{100 * acc_ours:.2f} % | {100 * agree:.2f} % | {size / 1024:.0f} KiB |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cnnserve", required=True)
    ap.add_argument("--models", default=os.path.join(ROOT, "models"))
    ap.add_argument("--model", action="append", help="model directory name under --models (default: all)")
    ap.add_argument("--table", action="store_true", help="print the README's table of trained models")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="cnnserve's session precision")
    args = ap.parse_args()
    global PRECISION
    PRECISION = args.precision
    if PRECISION == "bf16":
        version = json.loads(subprocess.run([args.cnnserve, "version", "--json"], check=True,
                                            stdout=subprocess.PIPE, text=True).stdout)
        if "bf16" not in version["cpu"]["precisions"]:
            print(f"skipped: no AVX512_BF16/AMX ({version['cpu'].get('bf16_unavailable', '')})")
            return SKIP
    torch.set_num_threads(2)
    if not os.path.isdir(train_fashion.DATA_DIR):
        print(f"{train_fashion.DATA_DIR} missing (apt-get install dataset-fashion-mnist): skipped")
        return SKIP
    _, x, y = train_fashion.load_split(train_fashion.DATA_DIR, "t10k")
    names = args.model or sorted(d for d in os.listdir(args.models)
                                 if os.path.isfile(os.path.join(args.models, d, "model.json")))
    failures, rows = 0, []
    for name in names:
        model_dir = os.path.join(args.models, name)
        with open(os.path.join(model_dir, "model.json")) as f:
            labels = json.load(f)["labels"]
        print(name)
        model = reference_model(model_dir)
        failures += check_samples(args.cnnserve, model_dir, model, labels)
        failed, measured = check_test_set(args.cnnserve, model_dir, model, x, y.numpy())
        failures += failed
        rows.append(table_row(args.cnnserve, model_dir, measured))
    if args.table:
        print("\n| model | parameters | multiply-adds | PyTorch accuracy | cnnserve accuracy | "
              "top-1 agreement | size |\n|---|--:|--:|--:|--:|--:|--:|")
        print("\n".join(rows))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
