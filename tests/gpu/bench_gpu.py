#!/usr/bin/env python3
"""GPU benchmark for tests/gpu/run.sh: images/s of cnnserve (CUDA fp32 with
TF32 off, tf32, fp16) and of PyTorch on the same GPU (eager, cuDNN,
channels_last: fp32 with TF32 off, TF32, autocast fp16; torch.compile of the
fp16 model while the time budget lasts) for resnet50, vgg16, googlenet and
inception_v3 at batch 1, 8, 64, 256, on random weights and inputs. Prints
Markdown on stdout; a benchmark, not a test (no assertion on times).

  bench_gpu.py PATH/TO/cnnserve [--budget SECONDS]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "weights-tools"))
ARCHS = ["resnet50", "vgg16", "googlenet", "inception_v3"]
BATCHES = [1, 8, 64, 256]


def cnnserve_bench(cnnserve, model, iters, seconds):
    try:
        p = subprocess.run([cnnserve, "bench", model, "--device", "cuda", "--batch", ",".join(map(str, BATCHES)),
                            "--precision", "fp32,tf32,fp16", "--iters", str(iters), "--warmup", "3", "--json"],
                           capture_output=True, text=True, timeout=max(seconds, 10))
    except subprocess.TimeoutExpired:
        return {}, f"did not finish in {seconds:.0f} s"
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        return {}, p.stderr.strip()[:300]
    errors = sorted({r["error"] for r in doc["results"] if "error" in r})
    return {(r["precision"], r["batch"]): r.get("images_per_s") for r in doc["results"]}, "; ".join(errors)[:500]


def torch_bench(arch, deadline, iters):
    import torch
    import torch_zoo
    torch.backends.cudnn.benchmark = True
    model = torch_zoo.build(arch, aux=False).eval().cuda().to(memory_format=torch.channels_last)
    shape = torch_zoo.INPUT_SHAPE[arch]
    res = {}

    def timeit(fn, x):
        for _ in range(3):
            fn(x)
        torch.cuda.synchronize()
        times = []
        for _ in range(iters):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn(x)
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b))
        return x.shape[0] / (statistics.median(times) / 1e3)

    with torch.inference_mode():
        for batch in BATCHES:
            if time.time() > deadline:
                break
            x = torch.randn(batch, *shape, device="cuda").to(memory_format=torch.channels_last)
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
            res[("eager fp32", batch)] = timeit(model, x)
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
            res[("eager tf32", batch)] = timeit(model, x)

            def half(t):
                with torch.autocast("cuda", dtype=torch.float16):
                    return model(t)
            res[("eager fp16", batch)] = timeit(half, x)
        if time.time() + 60 < deadline:
            try:
                compiled = torch.compile(model)
                for batch in BATCHES:
                    if time.time() + 20 > deadline:
                        break
                    x = torch.randn(batch, *shape, device="cuda").to(memory_format=torch.channels_last)

                    def chalf(t):
                        with torch.autocast("cuda", dtype=torch.float16):
                            return compiled(t)
                    res[("compile fp16", batch)] = timeit(chalf, x)
            except Exception as e:  # torch.compile is optional
                print(f"<!-- torch.compile {arch}: {str(e)[:200]} -->")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cnnserve")
    ap.add_argument("--budget", type=float, default=200)
    ap.add_argument("--iters", type=int, default=10)
    a = ap.parse_args()
    start = time.time()
    try:
        import torch
        have_torch = torch.cuda.is_available()
        if not have_torch:
            print("PyTorch sees no CUDA device here: cnnserve's numbers only.\n")
    except ImportError:
        have_torch = False
        print("PyTorch is not installed here: cnnserve's numbers only.\n")
    import export_torchvision
    cols = ["cnnserve fp32", "cnnserve tf32", "cnnserve fp16", "eager fp32", "eager tf32", "eager fp16",
            "compile fp16"]
    print("| model | batch | " + " | ".join(cols) + " |")
    print("|---|---:|" + "---:|" * len(cols))
    with tempfile.TemporaryDirectory(prefix="cnn-bench-") as tmp:
        for i, arch in enumerate(ARCHS):
            share = (a.budget - (time.time() - start)) / (len(ARCHS) - i)
            deadline = time.time() + share
            w = os.path.join(tmp, f"{arch}.safetensors")
            export_torchvision.export(arch, w, seed=1, randomize_bn=True)
            d = os.path.join(tmp, arch)
            subprocess.run([a.cnnserve, "convert", "--arch", arch, "--weights", w, "--out", d], check=True,
                           capture_output=True)
            os.remove(w)
            ours, problem = cnnserve_bench(a.cnnserve, d, a.iters, share * 0.6)
            theirs = {}
            if have_torch:
                try:
                    theirs = torch_bench(arch, deadline, a.iters)
                except Exception as e:  # one model's failure leaves the others' numbers
                    print(f"<!-- PyTorch {arch}: {str(e)[:300]} -->")
            for b in BATCHES:
                cells = []
                for c in cols:
                    v = ours.get((c.split()[1], b)) if c.startswith("cnnserve") else theirs.get((c, b))
                    cells.append(f"{v:.0f}" if v else "-")
                print(f"| {arch} | {b} | " + " | ".join(cells) + " |", flush=True)
            if problem:
                print(f"<!-- cnnserve bench {arch}: {problem} -->")
    print(f"\n(images/s, median of {a.iters} runs after 3 warm-up; '-' not run or failed; "
          f"{time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
