#!/usr/bin/python3
"""Benchmark helper: makes one zoo model's weights and ONNX file, and times
PyTorch (eager, CPU) on it.

Writes OUT/weights.safetensors (via weights-tools/export_torchvision.py, for
`cnnserve convert`) and OUT/model.onnx (torch.onnx.export of the very same
module, opset 13, dynamic batch), then times the module for each batch size
with torch.set_num_threads(THREADS) under torch.no_grad(). Prints JSON on
stdout: {"arch", "threads", "reps", "results": [{"batch", "median_ms",
"p10_ms", "p90_ms", "images_per_s"}]}. Progress goes to stderr.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "weights-tools"))
import export_torchvision  # noqa: E402
import torch_zoo  # noqa: E402


def quantile(sorted_v, q):
    pos = q * (len(sorted_v) - 1)
    lo = int(pos)
    if lo >= len(sorted_v) - 1:
        return sorted_v[-1]
    return sorted_v[lo] + (pos - lo) * (sorted_v[lo + 1] - sorted_v[lo])


def time_model(model, shape, batch, reps, warmup, warmup_ms):
    """Timings after a warm-up of at least `warmup` runs and `warmup_ms` ms."""
    x = torch.randn((batch,) + tuple(shape), generator=torch.Generator().manual_seed(batch))
    times = []
    warm, warm_until = 0, time.perf_counter() + warmup_ms / 1e3
    with torch.no_grad():
        while len(times) < reps:
            warming = warm < warmup or time.perf_counter() < warm_until
            t0 = time.perf_counter()
            model(x)
            dt = (time.perf_counter() - t0) * 1e3
            if warming:
                warm += 1
            else:
                times.append(dt)
    times.sort()
    median = statistics.median(times)
    return {"batch": batch, "median_ms": median, "p10_ms": quantile(times, 0.1),
            "p90_ms": quantile(times, 0.9), "images_per_s": batch * 1e3 / median}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=torch_zoo.ARCHS)
    ap.add_argument("--width-divisor", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="directory for weights.safetensors and model.onnx")
    ap.add_argument("--batch", default="1,8", help="comma-separated batch sizes")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--warmup-ms", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    shape = torch_zoo.INPUT_SHAPE[args.arch]

    print(f"[torch] {args.arch}: exporting weights and ONNX", file=sys.stderr, flush=True)
    model = export_torchvision.export(args.arch, os.path.join(args.out, "weights.safetensors"),
                                      width_divisor=args.width_divisor, seed=args.seed, randomize_bn=True)
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros((1,) + tuple(shape)), os.path.join(args.out, "model.onnx"),
                          opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})

    results = []
    for b in [int(v) for v in args.batch.split(",")]:
        r = time_model(model, shape, b, args.reps, args.warmup, args.warmup_ms)
        print(f"[torch] {args.arch} batch {b}: median {r['median_ms']:.3f} ms, "
              f"{r['images_per_s']:.1f} images/s", file=sys.stderr, flush=True)
        results.append(r)
    json.dump({"arch": args.arch, "threads": args.threads, "reps": args.reps, "results": results},
              sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
