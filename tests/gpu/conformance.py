#!/usr/bin/env python3
"""Cross-backend conformance of the CUDA backend (run by tests/gpu/run.sh on a
GPU machine; prints a Markdown report on stdout, exit 1 on any failure).

  conformance.py PATH/TO/cnnserve [--fashion DIR] [--archs a,b] [--images N] [--device cpu]

--device cpu runs the "CUDA" side on the CPU in fp32 (a check of this
script's own plumbing on a machine without a GPU); --archs and --images
limit the work.

Every zoo architecture with random weights (torchvision names, fixed seed,
random BN statistics) and a random batch of 2: the CPU backend in fp32 is the
reference; CUDA fp32 (TF32 off) must be within max|cuda - cpu| / max|cpu| <=
1e-3, CUDA fp16 must have a cosine similarity >= 0.999 per image; CUDA tf32 is
reported. The bundled Fashion-MNIST models on the 10,000 test images: CUDA
fp32 and fp16 accuracy within 0.05 points of the CPU's. Run with
CNN_CUDA_GUARD=1 so that an overrun of any device buffer fails the run.
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
sys.path.insert(0, os.path.join(ROOT, "weights-tools"))


DEVICE = "cuda"


def classify(cnnserve, model, npy, device, precision, batch):
    if device == "cuda" and DEVICE == "cpu":
        device, precision = "cpu", "fp32"
    cmd = [cnnserve, "classify", model, npy, "--json", "--logits", "--top-k", "1", "--batch", str(batch),
           "--device", device, "--precision", precision]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:])}: {p.stderr.strip()[:400]}")
    return np.array([r["logits"] for r in json.loads(p.stdout)["results"]], dtype=np.float64)


def zoo_cases(cnnserve, tmp, failures, archs):
    import export_torchvision
    print("| model | fp32 max rel diff (<= 1e-3) | tf32 max rel diff | fp16 min cosine (>= 0.999) |")
    print("|---|---|---|---|")
    for arch in archs:
        row = [arch]
        try:
            w = os.path.join(tmp, f"{arch}.safetensors")
            export_torchvision.export(arch, w, seed=1, randomize_bn=True)
            d = os.path.join(tmp, arch)
            p = subprocess.run([cnnserve, "convert", "--arch", arch, "--weights", w, "--out", d],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(p.stderr.strip())
            import torch_zoo
            x = np.random.default_rng(3).standard_normal((2, *torch_zoo.INPUT_SHAPE[arch])).astype(np.float32)
            npy = os.path.join(tmp, f"{arch}.npy")
            np.save(npy, x)
            ref = classify(cnnserve, d, npy, "cpu", "fp32", 2)
            scale = np.abs(ref).max()
            for prec in ("fp32", "tf32"):
                got = classify(cnnserve, d, npy, "cuda", prec, 2)
                rel = np.abs(got - ref).max() / scale
                ok = np.isfinite(rel) and (prec != "fp32" or rel <= 1e-3)
                row.append(f"{rel:.2e}" + ("" if ok else " FAIL"))
                if not ok:
                    failures.append(f"{arch} {prec}: max rel diff {rel:.3g}")
            got = classify(cnnserve, d, npy, "cuda", "fp16", 2)
            cos = min(float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))) for a, b in zip(got, ref))
            ok = np.isfinite(cos) and cos >= 0.999
            row.append(f"{cos:.6f}" + ("" if ok else " FAIL"))
            if not ok:
                failures.append(f"{arch} fp16: cosine {cos:.6f}")
        except Exception as e:  # one model's failure is reported, the others still run
            failures.append(f"{arch}: {e}")
            row.append(f"error: {str(e)[:200]}")
        print("| " + " | ".join(row) + " |", flush=True)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_cases(cnnserve, tmp, data_dir, failures, limit):
    images = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))[:limit]
    labels = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)[:limit]
    npy = os.path.join(tmp, "t10k.npy")
    np.save(npy, (images.astype(np.float32) / 255.0)[:, None])
    print("\n| trained model | CPU fp32 accuracy | CUDA fp32 | CUDA fp16 | (within 0.05 points) |")
    print("|---|---|---|---|---|")
    models = sorted(m for m in os.listdir(os.path.join(ROOT, "models")) if m.endswith("-fashion"))
    for m in models:
        d = os.path.join(ROOT, "models", m)
        row = [m]
        try:
            accs = []
            for dev, prec in (("cpu", "fp32"), ("cuda", "fp32"), ("cuda", "fp16")):
                out = classify(cnnserve, d, npy, dev, prec, 256)
                accs.append(100.0 * float((out.argmax(1) == labels).mean()))
                row.append(f"{accs[-1]:.2f} %")
            ok = all(abs(a - accs[0]) <= 0.05 for a in accs[1:])
            row.append("ok" if ok else "FAIL")
            if not ok:
                failures.append(f"{m}: accuracy {accs}")
        except Exception as e:
            failures.append(f"{m}: {e}")
            row.append(f"error: {str(e)[:200]}")
        print("| " + " | ".join(row) + " |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cnnserve")
    ap.add_argument("--fashion", help="directory with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")
    ap.add_argument("--archs", help="comma-separated zoo architectures (default: all)")
    ap.add_argument("--images", type=int, default=10000, help="Fashion-MNIST test images used")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    import torch_zoo
    archs = a.archs.split(",") if a.archs else torch_zoo.ARCHS
    failures = []
    with tempfile.TemporaryDirectory(prefix="cnn-gpu-") as tmp:
        zoo_cases(a.cnnserve, tmp, failures, archs)
        if a.fashion and os.path.exists(os.path.join(a.fashion, "t10k-labels-idx1-ubyte.gz")):
            fashion_cases(a.cnnserve, tmp, a.fashion, failures, a.images)
        else:
            print("\nFashion-MNIST test split not carried: trained-model accuracy not checked")
    print("\n" + ("All conformance checks passed." if not failures else
                  "FAILURES:\n" + "\n".join(f"- {f}" for f in failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
