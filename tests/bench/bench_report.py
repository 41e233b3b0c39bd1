#!/usr/bin/python3
"""Benchmark helper: joins the per-model JSON files that bench_cpu.sh wrote
(OUT/<arch>/{cnnserve,torch,ort}.json) into one markdown table."""
import argparse
import json
import os


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
        ours, torch, ort = (load(os.path.join(d, f"{n}.json")) for n in ("cnnserve", "torch", "ort"))
        for b in (int(v) for v in args.batch.split(",")):
            fp32, bf16 = rate(ours, b, "fp32"), rate(ours, b, "bf16")
            pt, rt = rate(torch, b), rate(ort, b)
            print(f"| {arch} | {b} | {fmt(fp32)} | {fmt(bf16)} | {fmt(pt)} | {fmt(rt)} "
                  f"| {ratio(fp32, rt)} | {ratio(fp32, pt)} | {ratio(bf16, rt)} |")


if __name__ == "__main__":
    main()
