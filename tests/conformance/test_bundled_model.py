#!/usr/bin/python3
"""The bundled default model (models/lenet5-fashion) end to end.

1. `cnnserve classify` on the sample PNGs: top-1 label equals the one in the
   file name, outputs equal torch's (same weights, PIL decoding, pixels/255)
   within 1e-4 of the largest value.
2. The first 2000 Fashion-MNIST test images as a .npy through `cnnserve
   classify`: predictions agree with torch and the accuracy is near what
   weights-tools/train_fashion.py reported (skipped when Debian's
   dataset-fashion-mnist is not installed).

Usage: test_bundled_model.py --cnnserve PATH [--model DIR]
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
import safetensors_io  # noqa: E402
import torch_zoo  # noqa: E402

REL_TOL = 1e-4
TEST_IMAGES = 2000


def classify(cnnserve, model_dir, inputs):
    p = subprocess.run([cnnserve, "classify", model_dir, *inputs, "--json", "--logits", "--top-k", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"cnnserve classify failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)["results"]


def load_torch_model(model_dir, num_classes):
    tensors, _ = safetensors_io.load(os.path.join(model_dir, "weights.safetensors"))
    model = torch_zoo.build("lenet5", num_classes)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
    return model.eval()


def check_samples(cnnserve, model_dir, model, labels):
    from PIL import Image

    sample_dir = os.path.join(model_dir, "samples")
    paths = sorted(os.path.join(sample_dir, f) for f in os.listdir(sample_dir) if f.endswith(".png"))
    if not paths:
        raise SystemExit(f"no sample PNGs in {sample_dir}")
    results = classify(cnnserve, model_dir, paths)
    failures = 0
    for path, r in zip(paths, results):
        img = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
        with torch.no_grad():
            want = model(torch.from_numpy(img)[None, None]).numpy()[0]
        ours = np.array(r["logits"])
        rel = np.abs(ours - want).max() / np.abs(want).max()
        label = r["top_k"][0]["label"]
        stem = os.path.basename(path)[:-4].split("_", 1)[1]
        expected = next(lab for lab in labels
                        if lab.lower().replace("/", "_").replace("-", "_").replace(" ", "_") == stem)
        ok = label == expected and rel <= REL_TOL
        failures += not ok
        print(f"{os.path.basename(path):<22} {label:<12} p={r['top_k'][0]['probability']:.4f} "
              f"rel err vs torch {rel:.2e}  {'ok' if ok else 'FAIL (want ' + expected + ')'}")
    return failures


def check_test_set(cnnserve, model_dir, model):
    sys.path.insert(0, os.path.join(ROOT, "weights-tools"))
    import train_fashion

    if not os.path.isdir(train_fashion.DATA_DIR):
        print(f"{train_fashion.DATA_DIR} missing (apt-get install dataset-fashion-mnist): test-set check skipped")
        return None
    _, x, y = train_fashion.load_split(train_fashion.DATA_DIR, "t10k")
    x, y = x[:TEST_IMAGES], y[:TEST_IMAGES].numpy()
    with tempfile.TemporaryDirectory(prefix="cnn-bundled-") as tmp:
        npy = os.path.join(tmp, "test.npy")
        np.save(npy, x.numpy())
        results = classify(cnnserve, model_dir, [npy])
    ours = np.array([r["top_k"][0]["class"] for r in sorted(results, key=lambda r: r["index"])])
    with torch.no_grad():
        theirs = train_fashion.logits(model, x).argmax(1).numpy()
    acc, agree = float((ours == y).mean()), float((ours == theirs).mean())
    ok = acc >= 0.85 and agree >= 0.999
    print(f"first {TEST_IMAGES} test images: accuracy {acc:.4f}, agreement with torch {agree:.4f}  "
          f"{'ok' if ok else 'FAIL (need accuracy >= 0.85, agreement >= 0.999)'}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cnnserve", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "lenet5-fashion"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    with open(os.path.join(args.model, "model.json")) as f:
        labels = json.load(f)["labels"]
    model = load_torch_model(args.model, len(labels))
    failures = check_samples(args.cnnserve, args.model, model, labels)
    test_set = check_test_set(args.cnnserve, args.model, model)
    return 1 if failures or test_set else 0


if __name__ == "__main__":
    sys.exit(main())
