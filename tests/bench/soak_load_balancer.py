"""Soak run (by hand, not in CI): three `cnnserve serve` replicas (every
bundled model) behind nginx with docker/nginx.conf, POST /classify through
nginx at a fraction of the measured capacity for a long time.

1. Capacity: wrk with no pause for --capacity-s seconds through nginx.
2. Calibration: twice 10 s at the pause that should give --load of it, the
   pause corrected each time from the rate reached.
3. Soak: --duration-s seconds at that pause; every answer's top-1 class is
   checked (tests/bench/wrk_soak.lua); the resident memory (VmRSS) of each
   replica and of nginx is sampled every --sample-s seconds.
Prints a table of the samples and a summary: requests, errors, wrong
answers, rate (and its share of capacity), p50/p99/p99.9 latency, and per
replica the RSS after warm-up (--warmup-s), at the end, its maximum and the
growth after warm-up. Exit status 1 when there were errors or wrong answers
or a replica's RSS grew by 5 % or more after warm-up. Progress on stderr.

  /usr/bin/python3 tests/bench/soak_load_balancer.py [--build build] [--duration-s 600]
      [--load 0.7] [--conns 32] [--wrk-threads 2] [--capacity-s 20] [--warmup-s 60] [--sample-s 10]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import lb_harness as lb  # noqa: E402

IMAGE = os.path.join(ROOT, "models", "lenet5-fashion", "samples", "0_ankle_boot.png")
IMAGE_CLASS = 9


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def wrk(port, seconds, conns, threads, delay_ms):
    """Runs wrk_soak.lua; the RESULT line's fields as ints, plus the rate."""
    env = dict(os.environ, SOAK_BODY=IMAGE, SOAK_CLASS=str(IMAGE_CLASS), SOAK_DELAY_MS=str(int(delay_ms)))
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{int(seconds)}s", "--timeout", "30s",
                          "-s", os.path.join(HERE, "wrk_soak.lua"), f"http://127.0.0.1:{port}/"],
                         env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        raise RuntimeError("wrk printed no RESULT line:\n" + out)
    r = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    r["rate"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nginx_pids(master):
    """nginx's master and worker pids."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [master] + [int(p) for p in out.split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration-s", type=int, default=600)
    ap.add_argument("--load", type=float, default=0.7)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--capacity-s", type=int, default=20)
    ap.add_argument("--warmup-s", type=int, default=60)
    ap.add_argument("--sample-s", type=int, default=10)
    args = ap.parse_args()
    cnnserve = os.path.join(args.build, "server", "cnnserve")

    tmp = tempfile.mkdtemp(prefix="cnnserve-soak-")
    ports = lb.free_ports(4)
    replicas = [lb.Replica(cnnserve, os.path.join(ROOT, "models"), p, os.path.join(tmp, f"replica{i}.log"))
                for i, p in enumerate(ports[:3])]
    nginx = lb.Nginx(tmp, ports[3], ports[:3])
    try:
        for r in replicas:
            r.start()
        nginx.start()
        log(f"3 replicas on ports {ports[:3]}, nginx on {ports[3]}; logs in {tmp}")

        cap = wrk(nginx.port, args.capacity_s, args.conns, args.wrk_threads, 0)
        log(f"capacity: {cap['rate']:.0f} req/s (p50 {cap['p50_us'] / 1000:.1f} ms, errors {cap['errors']})")
        target = args.load * cap["rate"]
        delay = args.conns / target * 1000.0
        for _ in range(2):
            cal = wrk(nginx.port, 10, args.conns, args.wrk_threads, delay)
            latency_ms = max(args.conns / cal["rate"] * 1000.0 - delay, 0.0)
            log(f"calibration: {cal['rate']:.0f} req/s at pause {delay:.1f} ms")
            delay = max(args.conns / target * 1000.0 - latency_ms, 0.0)
        log(f"soak: pause {delay:.1f} ms for {target:.0f} req/s")

        samples = []  # (t, [rss per replica], nginx rss)
        done = threading.Event()
        pids = nginx_pids(nginx.proc.pid)

        def sampler():
            t0 = time.monotonic()
            while not done.is_set():
                t = time.monotonic() - t0
                samples.append((t, [r.rss_kib() for r in replicas], sum(rss_kib(p) for p in pids)))
                if len(samples) % 6 == 1:
                    log(f"t={t:5.0f}s RSS MiB: " + " ".join(f"{v / 1024:.1f}" for v in samples[-1][1])
                        + f"  nginx {samples[-1][2] / 1024:.1f}")
                done.wait(args.sample_s)

        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        soak = wrk(nginx.port, args.duration_s, args.conns, args.wrk_threads, delay)
        done.set()
        th.join()
    finally:
        nginx.stop()
        for r in replicas:
            r.stop()

    print(f"\n### Soak: {args.duration_s} s through nginx, 3 replicas, {args.conns} connections\n")
    print("| t (s) | replica 0 RSS (MiB) | replica 1 | replica 2 | nginx (all processes) |")
    print("|---:|---:|---:|---:|---:|")
    for i, (t, rs, ng) in enumerate(samples):
        if i % 6 == 0 or i == len(samples) - 1:
            print(f"| {t:.0f} | " + " | ".join(f"{v / 1024:.1f}" for v in rs) + f" | {ng / 1024:.1f} |")
    print()
    print(f"capacity {cap['rate']:.0f} req/s; soak {soak['rate']:.0f} req/s "
          f"({100 * soak['rate'] / cap['rate']:.0f} % of capacity), {soak['requests']} requests, "
          f"{soak['errors']} errors ({soak['non2xx']} non-2xx), {soak['wrong']} wrong answers; "
          f"latency p50 {soak['p50_us'] / 1000:.1f} ms, p99 {soak['p99_us'] / 1000:.1f} ms, "
          f"p99.9 {soak['p999_us'] / 1000:.1f} ms")
    bad = soak["errors"] > 0 or soak["wrong"] > 0
    warm = [s for s in samples if s[0] >= args.warmup_s]
    for i in range(len(replicas)):
        if not warm:
            break
        base, end = warm[0][1][i], warm[-1][1][i]
        peak = max(s[1][i] for s in warm)
        growth = 100.0 * (peak - base) / base
        print(f"replica {i}: RSS after warm-up {base / 1024:.1f} MiB, end {end / 1024:.1f} MiB, "
              f"max {peak / 1024:.1f} MiB, growth {growth:+.1f} %")
        bad = bad or growth >= 5.0
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
