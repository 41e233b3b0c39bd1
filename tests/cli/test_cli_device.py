#!/usr/bin/python3
"""`--device cuda` on a machine without a usable GPU (every development and
CI machine): classify fails with a clear message and exit status 1, bench
reports every CUDA configuration as failed, serve says so on stderr and
serves on the CPU (a real HTTP request is answered with the CPU's result).
On a machine with an NVIDIA GPU these tests skip themselves: tests/gpu/run.sh
covers that case.

  test_cli_device.py PATH/TO/cnnserve
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "models", "lenet5-fashion")
IMAGE = os.path.join(MODEL, "samples", "0_ankle_boot.png")
CNNSERVE = None
NO_GPU = ("no usable CUDA device", "built without the CUDA backend")


def run(*args):
    p = subprocess.run([CNNSERVE, *args], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, OMP_NUM_THREADS="2"))
    return p.returncode, p.stdout, p.stderr


def gpu_present():
    return os.path.exists("/dev/nvidia0") or os.path.exists("/dev/nvidiactl")


@unittest.skipIf(gpu_present(), "an NVIDIA GPU is present: tests/gpu/run.sh tests the CUDA path")
class NoGpuTest(unittest.TestCase):
    def test_classify_cuda_is_an_error(self):
        for dev in ("cuda", "cuda:0", "cuda:3"):
            rc, out, err = run("classify", MODEL, IMAGE, "--device", dev, "--json")
            self.assertEqual(rc, 1, err)
            self.assertEqual(out, "")
            self.assertIn("cannot create a fp32 session on cuda:", err)
            self.assertTrue(any(s in err for s in NO_GPU), err)
        rc, out, err = run("classify", MODEL, IMAGE, "--device", "cuda", "--precision", "fp16")
        self.assertEqual(rc, 1)
        self.assertIn("fp16 session on cuda:0", err)

    def test_device_usage_errors(self):
        for bad in ("gpu", "cuda:", "cuda:-1", "cuda:x", "CUDA", "cpu:1"):
            rc, _, err = run("classify", MODEL, IMAGE, "--device", bad)
            self.assertEqual(rc, 2, bad)
            self.assertIn("--device must be cpu, cuda or cuda:N", err)
        self.assertEqual(run("bench", MODEL, "--device", "tpu")[0], 2)
        self.assertEqual(run("serve", "--device", "tpu")[0], 2)
        self.assertEqual(run("classify", MODEL, IMAGE, "--precision", "fp8")[0], 2)

    def test_gpu_precisions_on_the_cpu(self):
        for prec in ("fp16", "tf32"):
            rc, out, err = run("classify", MODEL, IMAGE, "--precision", prec)
            self.assertEqual(rc, 1)
            self.assertIn(f"{prec} precision runs on the CUDA backend only", err)
        rc, out, err = run("classify", MODEL, IMAGE, "--device", "cpu", "--json")
        self.assertEqual(rc, 0, err)

    def test_bench_cuda_reports_failures(self):
        rc, out, err = run("bench", MODEL, "--device", "cuda", "--batch", "1,2", "--iters", "1", "--json")
        self.assertEqual(rc, 1)
        doc = json.loads(out)
        self.assertEqual(doc["device"], "cuda:0")
        self.assertEqual([(r["precision"], r["batch"]) for r in doc["results"]],
                         [(p, b) for p in ("fp32", "tf32", "fp16") for b in (1, 2)])
        for r in doc["results"]:
            self.assertTrue(any(s in r["error"] for s in NO_GPU), r)

    def test_serve_falls_back_to_the_cpu(self):
        tmp = tempfile.mkdtemp(prefix="cnnserve-dev-")
        try:
            shutil.copytree(MODEL, os.path.join(tmp, "lenet5-fashion"))
            proc = subprocess.Popen([CNNSERVE, "serve", "--models", tmp, "--port", "0", "--device", "cuda:1",
                                     "--precision", "fp16"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
            log, port, ready = [], [None], threading.Event()

            def pump():
                for line in proc.stderr:
                    log.append(line)
                    m = re.search(r"listening on http://[\d.]+:(\d+)", line)
                    if m:
                        port[0] = int(m.group(1))
                        ready.set()
                ready.set()

            threading.Thread(target=pump, daemon=True).start()
            try:
                self.assertTrue(ready.wait(60) and port[0], "".join(log))
                text = "".join(log)
                self.assertIn("device cuda:1 is not usable", text)
                self.assertIn("serving on the CPU", text)
                with open(IMAGE, "rb") as f:
                    body = f.read()
                status, reply = None, b""
                for _ in range(200):
                    conn = http.client.HTTPConnection("127.0.0.1", port[0], timeout=30)
                    conn.request("POST", "/classify", body, {"Content-Type": "image/png"})
                    r = conn.getresponse()
                    status, reply = r.status, r.read()
                    conn.close()
                    if status != 503:
                        break
                    threading.Event().wait(0.05)
                self.assertEqual(status, 200, reply)
                cpu = run("classify", MODEL, IMAGE, "--json")
                self.assertEqual(cpu[0], 0)
                want = json.loads(cpu[1])
                got = json.loads(reply)
                self.assertIn(want["results"][0]["top_k"][0]["label"], json.dumps(got))
            finally:
                proc.terminate()
                proc.wait(30)
                proc.stderr.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_device.py PATH/TO/cnnserve")
    CNNSERVE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
