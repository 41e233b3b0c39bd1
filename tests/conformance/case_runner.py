"""What the conformance suites share: running cnnserve, reading its logits,
and the command line + loop over named cases that each suite's main() is."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def run(cmd, env=None):
    """Runs a command; returns stdout, raising RuntimeError with its stderr on failure."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, **(env or {})))
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr.strip()}")
    return p.stdout


def classify_logits(cnnserve, model_dir, npy, *flags, env=None):
    """cnnserve's outputs for every image of `npy`, as an images×outputs float64 array."""
    out = run([cnnserve, "classify", model_dir, npy, "--json", "--logits", "--top-k", "1", *flags], env=env)
    results = sorted(json.loads(out)["results"], key=lambda r: r["index"])
    return np.array([r["logits"] for r in results], dtype=np.float64)


SKIP = 77  # ctest's SKIP_RETURN_CODE for the conformance tests


def cpu_precisions(cnnserve):
    """(precisions the CPU backend runs here, why bf16 is not among them)."""
    cpu = json.loads(run([cnnserve, "version", "--json"]))["cpu"]
    return cpu["precisions"], cpu.get("bf16_unavailable", "")


def main(description, cases, check_case, print_rows, default_seed, prefix, setup=None, precisions=None):
    """A suite's command line: --cnnserve PATH [--case NAME ...] [--list]
    [--keep DIR] [--seed N] [--threads N] [--precision P (one of `precisions`,
    when given)]. Runs check_case(name, cnnserve, workdir, seed) for each
    chosen case (it returns (rows, failures); a RuntimeError counts as the
    case's failure), then print_rows(rows). `setup(args)` runs first when
    given. With --precision bf16 on a CPU without native bf16 it prints
    "skipped: no AVX512_BF16/AMX" and returns SKIP. Returns the exit status."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cnnserve", help="path to the cnnserve binary")
    ap.add_argument("--case", action="append", choices=sorted(cases), help="run only these cases (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--keep", help="work in this directory and keep it (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=default_seed)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    if precisions:
        ap.add_argument("--precision", choices=precisions, default=precisions[0], help="cnnserve's precision")
    args = ap.parse_args()
    if args.list:
        print("\n".join(cases))
        return 0
    if not args.cnnserve:
        ap.error("--cnnserve is required")
    if precisions and args.precision == "bf16":
        have, why = cpu_precisions(args.cnnserve)
        if "bf16" not in have:
            print(f"skipped: no AVX512_BF16/AMX ({why})")
            return SKIP
    import torch  # only once a case runs: --list works without it
    torch.set_num_threads(args.threads)
    if setup:
        setup(args)
    names = args.case or list(cases)
    rows, failures = [], []
    start = time.time()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = args.keep or tmp
        os.makedirs(workdir, exist_ok=True)
        for name in names:
            try:
                r, f = check_case(name, args.cnnserve, workdir, args.seed + 100 * list(cases).index(name))
            except RuntimeError as e:
                r, f = [], [f"{name}: {e}"]
            rows += r
            failures += f
    print_rows(rows)
    print(f"\n{len(names)} case(s) in {time.time() - start:.1f}s")
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0
