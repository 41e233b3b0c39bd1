#!/usr/bin/python3
"""Benchmark helper: joins the per-model JSON files that bench_cpu.sh wrote
(OUT/<arch>/torch.json, and cnnserve.<round>.json / ort.<round>.json for each
round) into one markdown table; a peer's rate is its median over rounds.
With --peak DIR... (bench_cpu.sh's peak models: DIR/bench.json from `cnnserve
bench --json`, DIR/inspect.txt) it adds cnnserve's GFLOP/s per precision and its
share of the best of those peaks (multiply-adds per image from inspect.txt, as
`cnnserve inspect` prints them)."""
import argparse
import glob
import json
import os
import re
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


def macs_per_image(d):
    """Multiply-adds per image from `cnnserve inspect`'s output in d/inspect.txt, or None."""
    try:
        with open(os.path.join(d, "inspect.txt")) as f:
            m = re.search(r"^Multiply-adds per image: ([\d,]+)", f.read(), re.M)
    except OSError:
        return None
    return int(m.group(1).replace(",", "")) if m else None


def gflops(images_per_s, macs):
    return None if images_per_s is None or macs is None else 2.0 * macs * images_per_s / 1e9


def with_share(g, peak):
    if g is None:
        return "n/a"
    return f"{g:,.0f}" + (f" ({100 * g / peak:.0f} %)" if peak else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="directory bench_cpu.sh wrote")
    ap.add_argument("--models", required=True, help="comma-separated architectures, in table order")
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--peak", nargs="*", default=[], help="peak model directories (bench.json, inspect.txt)")
    args = ap.parse_args()
    peak = {}
    for d in args.peak:
        macs = macs_per_image(d)
        for r in (load(os.path.join(d, "bench.json")) or {}).get("results", []):
            g = gflops(r.get("images_per_s"), macs)
            if g is not None and g > peak.get(r["precision"], 0):
                peak[r["precision"]] = g
    if peak:
        print("Peak (the faster of 3x3 convolutions 256 ch 28x28 and 512 ch 14x14, batch 8): "
              + ", ".join(f"{p} {with_share(g, None)} GFLOP/s" for p, g in peak.items()) + "\n")
    print("| model | batch | cnnserve fp32 img/s | cnnserve bf16 img/s | PyTorch img/s | ORT img/s "
          "| fp32/ORT | fp32/PyTorch | bf16/ORT | fp32 GFLOP/s (of peak) | bf16 GFLOP/s (of peak) |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for arch in args.models.split(","):
        d = os.path.join(args.out, arch)
        ours, ort = load_rounds(d, "cnnserve"), load_rounds(d, "ort")
        torch = load(os.path.join(d, "torch.json"))
        for b in (int(v) for v in args.batch.split(",")):
            fp32, bf16 = median_rate(ours, b, "fp32"), median_rate(ours, b, "bf16")
            pt, rt = rate(torch, b), median_rate(ort, b)
            macs = macs_per_image(d)
            print(f"| {arch} | {b} | {fmt(fp32)} | {fmt(bf16)} | {fmt(pt)} | {fmt(rt)} "
                  f"| {ratio(fp32, rt)} | {ratio(fp32, pt)} | {ratio(bf16, rt)} "
                  f"| {with_share(gflops(fp32, macs), peak.get('fp32'))} "
                  f"| {with_share(gflops(bf16, macs), peak.get('bf16'))} |")


if __name__ == "__main__":
    main()
