#!/usr/bin/python3
"""Benchmark helper: joins the per-model JSON files that bench_cpu.sh wrote
(OUT/<arch>/torch.json, and cnnserve.<round>.json / ort.<round>.json for each
round) into one markdown table; a peer's rate is its median over rounds."""
import argparse
import glob
import json
import os
import statistics


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def rate(doc, batch, precision=None):
    """images/s for a batch (and precision, for cnnserve), or None."""
    for r in (doc or {}).get("results", []):
        if r.get("batch") == batch and (precision is None or r.get("precision") == precision):
            return r.get("images_per_s")
    return None


def median_rate(docs, batch, precision=None):
    """Median over rounds of images/s, or None when no round measured it."""
    rates = [r for r in (rate(d, batch, precision) for d in docs) if r is not None]
    return statistics.median(rates) if rates else None


def load_rounds(d, name):
    return [load(p) for p in sorted(glob.glob(os.path.join(d, f"{name}.*.json")))]


def fmt(v):
    return "n/a" if v is None else f"{v:,.1f}"


def ratio(a, b):
    return "n/a" if a is None or not b else f"{a / b:.2f}×"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="directory bench_cpu.sh wrote")
    ap.add_argument("--models", required=True, help="comma-separated architectures, in table order")
    ap.add_argument("--batch", default="1,8")
    args = ap.parse_args()
    print("| model | batch | cnnserve fp32 img/s | cnnserve bf16 img/s | PyTorch img/s | ORT img/s "
          "| fp32/ORT | fp32/PyTorch | bf16/ORT |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for arch in args.models.split(","):
        d = os.path.join(args.out, arch)
        ours, ort = load_rounds(d, "cnnserve"), load_rounds(d, "ort")
        torch = load(os.path.join(d, "torch.json"))
        for b in (int(v) for v in args.batch.split(",")):
            fp32, bf16 = median_rate(ours, b, "fp32"), median_rate(ours, b, "bf16")
            pt, rt = rate(torch, b), median_rate(ort, b)
            print(f"| {arch} | {b} | {fmt(fp32)} | {fmt(bf16)} | {fmt(pt)} | {fmt(rt)} "
                  f"| {ratio(fp32, rt)} | {ratio(fp32, pt)} | {ratio(bf16, rt)} |")


if __name__ == "__main__":
    main()
