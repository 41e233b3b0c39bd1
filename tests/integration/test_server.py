"""`cnnserve serve` end to end: the real server on a loopback port, a real
HTTP client (http.client, raw sockets for malformed traffic).

Checks: classify answers equal `cnnserve classify` on the same PNG files
(Fashion-MNIST test images, or the bundled samples without the dataset);
raw, multipart and JSON/base64 bodies; model metadata; KServe v2 infer
against /classify; every bad input answered with its status and a JSON
error while the server keeps serving; dynamic batching under concurrent
load; clients that disconnect mid-request; a full queue (503 + Retry-After);
a request timeout (504); slow clients closed by the connection timeout;
/metrics parsed by a strict Prometheus text-format parser (batch sizes
> 1 under load, request counts by status after bad requests);
SIGTERM with requests in flight (all answered, exit status 0), a body still
uploading when SIGTERM comes (answered), new connections refused while
draining; a broken model directory skipped at load; readiness and inference
503 while models load.

Usage: test_server.py PATH/TO/cnnserve
"""
import base64
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prometheus_text import metric, parse_prometheus  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODEL = os.path.join(ROOT, "models", "lenet5-fashion")
FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
CNNSERVE = None  # set from argv
NUM_IMAGES = 12
MAX_BODY = 1 << 20


def fashion_pngs(out_dir):
    """The first NUM_IMAGES Fashion-MNIST test images as PNG files (or the
    bundled samples when the dataset is not installed)."""
    if not os.path.exists(FASHION):
        samples = os.path.join(MODEL, "samples")
        return sorted(os.path.join(samples, f) for f in os.listdir(samples))
    with gzip.open(FASHION, "rb") as f:
        data = f.read()
    n, h, w = struct.unpack(">III", data[4:16])
    images = np.frombuffer(data, np.uint8, offset=16).reshape(n, h, w)
    paths = []
    for i in range(NUM_IMAGES):
        p = os.path.join(out_dir, f"fashion_{i}.png")
        Image.fromarray(images[i]).save(p)
        paths.append(p)
    return paths


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def header_bomb_png():
    """A valid PNG header claiming 65535x65535 8-bit grayscale pixels."""
    ihdr = struct.pack(">IIBBBBB", 65535, 65535, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


class Server:
    """A `cnnserve serve` process on a free loopback port."""

    def __init__(self, models_dir, *flags, wait_ready=True, env=None):
        self.started = time.time()
        self.proc = subprocess.Popen(
            [CNNSERVE, "serve", "--models", models_dir, "--port", "0", *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=None if env is None else {**os.environ, **env})
        self.log = []
        self.port = None
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.log.append(line)
                m = re.search(r"listening on http://[\d.]+:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=pump, daemon=True)
        self.reader.start()
        if not ready.wait(60) or self.port is None:
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.log))
        if wait_ready:
            self.wait_ready()

    def wait_ready(self):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/health/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server never became ready:\n" + "".join(self.log))

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers dict with lowercase names, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def raw(self, data, timeout=30):
        """Sends raw bytes, returns everything the server answers until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    chunks.append(b)
                    if b"\r\n\r\n" in b"".join(chunks) and self._complete(b"".join(chunks)):
                        break
            except (ConnectionResetError, socket.timeout):
                pass
        return b"".join(chunks)

    @staticmethod
    def _complete(resp):
        head, _, body = resp.partition(b"\r\n\r\n")
        m = re.search(rb"content-length:\s*(\d+)", head, re.I)
        return m is not None and len(body) >= int(m.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.proc.stderr.close()
        return self.proc.returncode


def classify_cli(paths):
    out = subprocess.run([CNNSERVE, "classify", MODEL, *paths, "--json", "--top-k", "10", "--logits"],
                         check=True, capture_output=True, text=True).stdout
    return {r["input"]: r for r in json.loads(out)["results"]}


def multipart(files, boundary="cnnserve-test-boundary"):
    parts = []
    for name, data in files:
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                     f"filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def read(path):
    with open(path, "rb") as f:
        return f.read()


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cnnserve-it-")
        cls.pngs = fashion_pngs(cls.tmp)
        cls.ref = classify_cli(cls.pngs)
        # A repository with the bundled model and a broken one.
        cls.repo = os.path.join(cls.tmp, "repo")
        os.makedirs(os.path.join(cls.repo, "broken"))
        with open(os.path.join(cls.repo, "broken", "model.json"), "w") as f:
            f.write("{not json")
        os.symlink(MODEL, os.path.join(cls.repo, "lenet5-fashion"))
        cls.server = Server(cls.repo, "--max-body-bytes", str(MAX_BODY), "--http-threads", "4",
                            "--max-queue-delay-us", "20000")

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if rc != 0:
            raise AssertionError(f"server exit status {rc}:\n" + "".join(cls.server.log))

    # -- helpers --------------------------------------------------------------

    def post_json(self, path, body, headers, expect=200):
        status, hdrs, data = self.server.request("POST", path, body, headers)
        self.assertEqual(status, expect, data)
        self.assertEqual(hdrs.get("content-type"), "application/json")
        return json.loads(data)

    def assert_error(self, status, expect, hdrs, data):
        self.assertEqual(status, expect, data)
        self.assertEqual(hdrs.get("content-type"), "application/json")
        doc = json.loads(data)
        self.assertIsInstance(doc.get("error"), str)
        self.assertTrue(doc["error"])
        return doc

    def assert_matches_cli(self, result, path, k):
        ref = self.ref[path]["top_k"]
        preds = result["predictions"]
        self.assertEqual(len(preds), k)
        for p, r in zip(preds, ref[:k]):
            self.assertEqual(p["class"], r["class"])
            self.assertEqual(p["label"], r["label"])
            self.assertAlmostEqual(p["probability"], r["probability"], places=6)

    def assert_still_serving(self):
        doc = self.post_json("/classify", read(self.pngs[0]), {"Content-Type": "image/png"})
        self.assert_matches_cli(doc["results"][0], self.pngs[0], 5)

    # -- tests ----------------------------------------------------------------

    def test_classify_raw_png_matches_cli(self):
        for i, path in enumerate(self.pngs):
            route = "/classify?top_k=3" if i % 2 else "/v1/models/lenet5-fashion/classify?top_k=3"
            doc = self.post_json(route, read(path), {"Content-Type": "image/png"})
            self.assertEqual(doc["model"], "lenet5-fashion")
            self.assertEqual(len(doc["results"]), 1)
            self.assert_matches_cli(doc["results"][0], path, 3)
            for key in ("queue", "preprocess", "inference", "total"):
                self.assertGreaterEqual(doc["timings_ms"][key], 0)

    def test_classify_default_top_k_and_octet_stream(self):
        doc = self.post_json("/classify", read(self.pngs[1]), {"Content-Type": "application/octet-stream"})
        self.assert_matches_cli(doc["results"][0], self.pngs[1], 5)

    def test_multipart_several_images(self):
        body, headers = multipart([(os.path.basename(p), read(p)) for p in self.pngs])
        doc = self.post_json("/classify?top_k=2", body, headers)
        self.assertEqual(len(doc["results"]), len(self.pngs))
        for i, (res, path) in enumerate(zip(doc["results"], self.pngs)):
            self.assertEqual(res["index"], i)
            self.assertEqual(res["filename"], os.path.basename(path))
            self.assert_matches_cli(res, path, 2)

    def test_json_base64(self):
        body = json.dumps({"images": [base64.b64encode(read(p)).decode() for p in self.pngs[:3]]})
        doc = self.post_json("/classify?top_k=4", body, {"Content-Type": "application/json"})
        for res, path in zip(doc["results"], self.pngs[:3]):
            self.assert_matches_cli(res, path, 4)

    def test_models_metadata(self):
        status, hdrs, data = self.server.request("GET", "/v1/models")
        self.assertEqual(status, 200)
        doc = json.loads(data)
        self.assertEqual([m["name"] for m in doc["models"]], ["lenet5-fashion"])  # broken one skipped
        self.assertEqual(doc["default_model"], "lenet5-fashion")
        self.assertTrue(any("skipping model" in line and "broken" in line for line in self.server.log))
        with open(os.path.join(MODEL, "model.json")) as f:
            cfg = json.load(f)
        status, hdrs, data = self.server.request("GET", "/v1/models/lenet5-fashion")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        meta = json.loads(data)
        self.assertEqual(meta["input_shape"], [1, 28, 28])
        self.assertEqual(meta["num_classes"], 10)
        self.assertEqual(meta["labels"], cfg["labels"])
        self.assertEqual(meta["preprocessing"]["color"], "grayscale")
        self.assertEqual(meta["batching"]["max_batch_size"], cfg["batching"]["max_batch_size"])
        self.assertEqual(meta["batching"]["max_queue_delay_us"], 20000)  # the flag overrides
        self.assertGreater(len(meta["layers"]), 3)
        self.assertEqual(meta["layers"][-1]["output_shape"], [10])
        for layer in meta["layers"]:
            self.assertIn(len(layer["output_shape"]), (1, 3))

    def test_health(self):
        for path, key in (("/health/live", "status"), ("/health/ready", "status"),
                          ("/v2/health/live", "live"), ("/v2/health/ready", "ready")):
            status, hdrs, data = self.server.request("GET", path)
            self.assertEqual(status, 200, path)
            self.assertIn(key, json.loads(data))

    def kserve_body(self, paths, k=None):
        x = np.stack([np.asarray(Image.open(p).convert("L"), np.float32) / 255.0 for p in paths])
        req = {"id": "req-1", "inputs": [{"name": "input", "shape": [len(paths), 1, 28, 28],
                                          "datatype": "FP32", "data": x.reshape(-1).tolist()}]}
        if k:
            req["parameters"] = {"classification": k}
        return json.dumps(req)

    def test_kserve_v2(self):
        status, _, data = self.server.request("GET", "/v2/models/lenet5-fashion")
        self.assertEqual(status, 200)
        meta = json.loads(data)
        self.assertEqual(meta["inputs"][0]["shape"], [-1, 1, 28, 28])
        self.assertEqual(self.server.request("GET", "/v2/models/lenet5-fashion/ready")[0], 200)
        self.assertEqual(self.server.request("GET", "/v2/models/nope/ready")[0], 404)
        paths = self.pngs[:4]
        doc = self.post_json("/v2/models/lenet5-fashion/infer", self.kserve_body(paths, 3),
                             {"Content-Type": "application/json"})
        self.assertEqual(doc["model_name"], "lenet5-fashion")
        self.assertEqual(doc["id"], "req-1")
        out = doc["outputs"][0]
        self.assertEqual(out["datatype"], "BYTES")
        self.assertEqual(out["shape"], [4, 3])
        body, headers = multipart([(os.path.basename(p), read(p)) for p in paths])
        classify = self.post_json("/classify?top_k=3", body, headers)
        for i, res in enumerate(classify["results"]):
            for j, pred in enumerate(res["predictions"]):
                score, idx, label = out["data"][i * 3 + j].split(":", 2)
                self.assertEqual(int(idx), pred["class"])
                self.assertEqual(label, pred["label"])
                self.assertAlmostEqual(float(score), pred["probability"], places=6)
        raw = self.post_json("/v2/models/lenet5-fashion/infer", self.kserve_body(paths),
                             {"Content-Type": "application/json"})
        out = raw["outputs"][0]
        self.assertEqual((out["datatype"], out["shape"]), ("FP32", [4, 10]))
        for i, path in enumerate(paths):
            np.testing.assert_allclose(out["data"][i * 10:(i + 1) * 10], self.ref[path]["logits"],
                                       rtol=1e-5, atol=1e-6)

    def test_bad_inputs(self):
        png = read(self.pngs[0])
        post = lambda path, body, ct: self.server.request("POST", path, body, {"Content-Type": ct})
        cases = [
            ("unsupported media type", post("/classify", b"hello", "text/plain"), 415),
            ("unknown magic", post("/classify", b"GIF89a" + b"\0" * 20, "application/octet-stream"), 415),
            ("truncated PNG", post("/classify", png[: len(png) // 2], "image/png"), 400),
            ("header bomb", post("/classify", header_bomb_png(), "image/png"), 413),
            ("multipart without boundary", post("/classify", b"--x\r\n\r\n", "multipart/form-data"), 400),
            ("multipart empty boundary", post("/classify", b"--\r\n\r\n", "multipart/form-data; boundary="), 400),
            ("multipart broken", post("/classify", b"--b\r\nContent-Type: image/png\r\n\r\n" + png,
                                      "multipart/form-data; boundary=b"), 400),
            ("invalid JSON", post("/classify", b"{\"images\": [", "application/json"), 400),
            ("invalid base64", post("/classify", b"{\"images\": [\"@@@@\"]}", "application/json"), 400),
            ("unknown model", post("/v1/models/nope/classify", png, "image/png"), 404),
            ("top_k zero", post("/classify?top_k=0", png, "image/png"), 400),
            ("top_k text", post("/classify?top_k=abc", png, "image/png"), 400),
            ("top_k above classes", post("/classify?top_k=11", png, "image/png"), 400),
            ("unknown query key", post("/classify?topk=1", png, "image/png"), 400),
            ("kserve bad shape", post("/v2/models/lenet5-fashion/infer",
                                      json.dumps({"inputs": [{"name": "input", "shape": [1, 1, 2, 2],
                                                              "datatype": "FP32", "data": [0, 0, 0, 0]}]}),
                                      "application/json"), 400),
            ("kserve unknown model", post("/v2/models/nope/infer", b"{}", "application/json"), 404),
            ("unknown path", self.server.request("GET", "/nope"), 404),
            ("unknown model metadata", self.server.request("GET", "/v1/models/nope"), 404),
        ]
        for name, (status, hdrs, data), expect in cases:
            with self.subTest(name):
                self.assert_error(status, expect, hdrs, data)
        status, hdrs, data = self.server.request("GET", "/classify")
        self.assert_error(status, 405, hdrs, data)
        self.assertEqual(hdrs["allow"], "POST")
        status, hdrs, data = self.server.request("POST", "/health/live", b"", {})
        self.assert_error(status, 405, hdrs, data)
        self.assertEqual(hdrs["allow"], "GET, HEAD")
        self.assert_still_serving()

    def test_body_limits(self):
        # Declared too large: refused from Content-Length, before any body.
        resp = self.server.raw(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                               b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1))
        self.assertTrue(resp.startswith(b"HTTP/1.1 413"), resp[:200])
        self.assertIn(b"application/json", resp)
        # Chunked: refused once the running count passes the limit.
        chunk = b"a" * 65536
        body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(MAX_BODY // len(chunk) + 2))
        resp = self.server.raw(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n")
        self.assertTrue(resp.startswith(b"HTTP/1.1 413"), resp[:200])
        head, _, doc = resp.partition(b"\r\n\r\n")
        self.assertIn("error", json.loads(doc))
        # A chunked body within the limit is fine.
        png = read(self.pngs[2])
        resp = self.server.raw(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                               b"%x\r\n" % len(png) + png + b"\r\n0\r\n\r\n")
        self.assertTrue(resp.startswith(b"HTTP/1.1 200"), resp[:200])
        self.assert_still_serving()

    def test_concurrent_load_batches(self):
        results, errors = [], []

        def client(i):
            try:
                path = self.pngs[i % len(self.pngs)]
                doc = self.post_json("/classify?top_k=1", read(path), {"Content-Type": "image/png"})
                results.append((path, doc))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(48)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 48)
        for path, doc in results:
            self.assert_matches_cli(doc["results"][0], path, 1)
        self.assertGreater(max(doc["batch_size"] for _, doc in results), 1)

    def test_metrics(self):
        # Bad requests and concurrent classifications (in 4 threads, to fill batches).
        before = parse_prometheus(self.server.request("GET", "/metrics")[2].decode())
        key = dict(model="lenet5-fashion", route="classify")
        n_415 = metric(before, "cnnserve_requests_total", "cnnserve_requests_total", **key, code="415")
        n_200 = metric(before, "cnnserve_requests_total", "cnnserve_requests_total", **key, code="200")
        n_404 = metric(before, "cnnserve_requests_total", "cnnserve_requests_total", route="unknown", code="404")
        for _ in range(3):
            self.assertEqual(self.server.request("POST", "/classify", b"hello", {"Content-Type": "text/plain"})[0], 415)
        for _ in range(2):
            self.assertEqual(self.server.request("GET", "/no/such/path")[0], 404)
        pngs = [read(p) for p in self.pngs]
        done = []

        def client(k):
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
            for i in range(8):
                conn.request("POST", "/classify", pngs[(k + i) % len(pngs)], {"Content-Type": "image/png"})
                r = conn.getresponse()
                r.read()
                done.append(r.status)
            conn.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(done, [200] * 128)
        # A request is counted when libmicrohttpd reports it complete, which
        # can come just after the client has read the whole response.
        deadline = time.monotonic() + 30
        while True:
            status, hdrs, data = self.server.request("GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertEqual(hdrs["content-type"], "text/plain; version=0.0.4")
            fams = parse_prometheus(data.decode())
            req = lambda **labels: metric(fams, "cnnserve_requests_total", "cnnserve_requests_total", **labels)
            if req(**key, code="200") - n_200 >= 128 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(req(**key, code="415") - n_415, 3)
        self.assertEqual(req(route="unknown", code="404") - n_404, 2)
        self.assertGreaterEqual(req(**key, code="200") - n_200, 128)
        # Batches larger than 1: fewer in the le="1" bucket than batches in all.
        bs = lambda sample, **extra: metric(fams, "cnnserve_batch_size", sample, model="lenet5-fashion", **extra)
        self.assertGreater(bs("cnnserve_batch_size_count") - bs("cnnserve_batch_size_bucket", le="1"), 0)
        self.assertGreaterEqual(bs("cnnserve_batch_size_sum"), 128)
        for family in ("cnnserve_request_duration_seconds", "cnnserve_queue_duration_seconds",
                       "cnnserve_preprocess_duration_seconds", "cnnserve_inference_duration_seconds"):
            self.assertEqual(fams[family]["type"], "histogram")
            self.assertGreaterEqual(metric(fams, family, family + "_count", model="lenet5-fashion"), 128, family)
        self.assertEqual(fams["cnnserve_queue_depth"]["type"], "gauge")
        self.assertEqual(metric(fams, "cnnserve_queue_depth", "cnnserve_queue_depth", model="lenet5-fashion"), 0)
        self.assertGreaterEqual(metric(fams, "cnnserve_in_flight_requests", "cnnserve_in_flight_requests"), 1)
        rss = metric(fams, "process_resident_memory_bytes", "process_resident_memory_bytes")
        self.assertGreater(rss, 1 << 20)
        with open(f"/proc/{self.server.proc.pid}/statm") as f:
            resident_pages = int(f.read().split()[1])
        self.assertLess(abs(rss - resident_pages * os.sysconf("SC_PAGE_SIZE")), 64 << 20)
        start = metric(fams, "process_start_time_seconds", "process_start_time_seconds")
        self.assertLess(abs(start - self.server.started), 30)

    def test_metrics_parser_is_strict(self):
        good = ("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                "h_sum 3\nh_count 2\n")
        parse_prometheus(good)
        bad = [good[:-1], good.replace("+Inf", "2"), good.replace("} 2\nh_sum", "} 0\nh_sum"),
               good.replace("h_count 2", "h_count 3"), "c 1\n", "# HELP c x\n# TYPE c counter\nd 1\n",
               '# HELP c x\n# TYPE c counter\nc{a="\\q"} 1\n', "# HELP c x\n# TYPE c counter\nc one\n",
               '# HELP c x\n# TYPE c counter\nc{a="x} 1\n', '# HELP c x\n# TYPE c counter\nc{a="x",a="y"} 1\n',
               "# HELP c x\n# TYPE c counter\nc 1\n# HELP c x\n# TYPE c counter\nc 2\n"]
        for text in bad:
            with self.subTest(text=text), self.assertRaises(ValueError):
                parse_prometheus(text)

    def test_client_disconnects(self):
        png = read(self.pngs[3])
        for _ in range(5):
            # Mid-body: headers and half the declared body, then gone.
            with socket.create_connection(("127.0.0.1", self.server.port)) as s:
                s.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(png) + png[: len(png) // 2])
            # Whole request, gone before the answer: the result is dropped.
            with socket.create_connection(("127.0.0.1", self.server.port)) as s:
                s.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(png) + png)
        self.assert_still_serving()
        self.assertEqual(self.server.request("GET", "/health/live")[0], 200)


class QueueTest(unittest.TestCase):
    """A server that holds requests for seconds (long batching delay), for a
    full queue, a timeout and a drain with requests in flight."""

    def post(self, server, results, i):
        png = read(os.path.join(MODEL, "samples", "0_ankle_boot.png"))
        try:
            status, hdrs, data = server.request("POST", "/classify", png, {"Content-Type": "image/png"})
            results[i] = (status, hdrs, data)
        except Exception as e:  # noqa: BLE001 - asserted by the caller
            results[i] = (None, {}, repr(e).encode())

    def wait_queued(self, server, n):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = server.request("GET", "/metrics")[2].decode()
            m = re.search(r'^cnnserve_queue_depth\{model="lenet5-fashion"\} (\d+)$', text, re.M)
            if m and int(m.group(1)) >= n:
                return
            time.sleep(0.02)
        self.fail(f"{n} requests never queued")

    def test_queue_full_and_batch(self):
        server = Server(os.path.join(ROOT, "models"), "--max-queue-delay-us", "3000000", "--queue-size", "2")
        try:
            results = [None] * 2
            threads = [threading.Thread(target=self.post, args=(server, results, i)) for i in range(2)]
            for t in threads:
                t.start()
            self.wait_queued(server, 2)
            status, hdrs, data = server.request("POST", "/classify", read(os.path.join(MODEL, "samples", "1_pullover.png")),
                                                {"Content-Type": "image/png"})
            self.assertEqual(status, 503, data)
            self.assertEqual(hdrs.get("retry-after"), "1")
            self.assertIn("error", json.loads(data))
            for t in threads:
                t.join()
            for status, _, data in results:
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["batch_size"], 2)  # both waited for one batch
        finally:
            self.assertEqual(server.stop(), 0)

    def test_timeout(self):
        server = Server(os.path.join(ROOT, "models"), "--max-queue-delay-us", "3000000", "--timeout-ms", "200")
        try:
            status, hdrs, data = server.request("POST", "/classify", read(os.path.join(MODEL, "samples", "2_trouser.png")),
                                                {"Content-Type": "image/png"})
            self.assertEqual(status, 504, data)
            self.assertIn("error", json.loads(data))
            self.assertEqual(server.request("GET", "/health/ready")[0], 200)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_slow_clients_time_out(self):
        """Clients that never finish their headers hold every connection slot
        only until --connection-timeout closes them."""
        server = Server(os.path.join(ROOT, "models"), "--connection-limit", "4", "--connection-timeout", "1",
                        "--http-threads", "1")
        try:
            slow = []
            for _ in range(4):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                s.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\n")
                slow.append(s)
            for s in slow:
                self.assertEqual(s.recv(1024), b"")  # closed by the server, no answer
                s.close()
            status, _, _ = server.request("GET", "/health/live")
            self.assertEqual(status, 200)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_sigterm_drains_in_flight(self):
        server = Server(os.path.join(ROOT, "models"), "--max-queue-delay-us", "1500000")
        keepalive = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        keepalive.request("GET", "/health/ready")
        r = keepalive.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        n = 8
        results = [None] * n
        threads = [threading.Thread(target=self.post, args=(server, results, i)) for i in range(n)]
        for t in threads:
            t.start()
        self.wait_queued(server, n)
        server.proc.send_signal(signal.SIGTERM)
        # Readiness turns 503 on a connection opened before the signal.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            keepalive.request("GET", "/health/ready")
            r = keepalive.getresponse()
            r.read()
            if r.status == 503:
                break
            time.sleep(0.01)
        self.assertEqual(r.status, 503)
        keepalive.close()
        for t in threads:
            t.join()
        for status, _, data in results:
            self.assertEqual(status, 200, data)
        self.assertEqual(server.proc.wait(60), 0)
        server.stop()
        self.assertTrue(any("stopped" in line for line in server.log))


class SampleTest(unittest.TestCase):
    """Tests with a scratch directory (cls.tmp) and one sample PNG with the
    predictions `cnnserve classify` gives it (cls.png_path, cls.ref)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cnnserve-it-")
        cls.png_path = os.path.join(MODEL, "samples", "0_ankle_boot.png")
        cls.ref = classify_cli([cls.png_path])[cls.png_path]["top_k"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


class LifecycleTest(SampleTest):
    """Servers caught while loading and while draining."""

    def assert_prediction(self, body):
        preds = json.loads(body)["results"][0]["predictions"]
        self.assertEqual([p["class"] for p in preds], [r["class"] for r in self.ref[:5]])
        self.assertAlmostEqual(preds[0]["probability"], self.ref[0]["probability"], places=6)

    def test_sigterm_answers_upload_in_progress(self):
        """A request whose headers arrived before SIGTERM is answered even
        though its body is still uploading; new connections are refused."""
        server = Server(os.path.join(ROOT, "models"))
        png = read(self.png_path)
        half = len(png) // 2
        s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        try:
            s.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(png) + png[:half])
            self.wait_live(server, 1)
            server.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 30
            while not any("draining" in line for line in server.log) and time.monotonic() < deadline:
                time.sleep(0.01)
            # A new connection is accepted by the kernel and closed at once.
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as late:
                late.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                try:
                    self.assertEqual(late.recv(4096), b"")
                except ConnectionResetError:
                    pass
            s.sendall(png[half:])
            resp = b""
            while not (b"\r\n\r\n" in resp and Server._complete(resp)):
                chunk = s.recv(65536)
                if not chunk:
                    break
                resp += chunk
        finally:
            s.close()
        head, _, body = resp.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), resp[:300])
        self.assert_prediction(body)
        self.assertEqual(server.proc.wait(60), 0)
        server.stop()

    def wait_live(self, server, n):
        """Waits until `n` connections have a request in progress (/metrics'
        in-flight gauge counts the /metrics request itself too)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, _, data = server.request("GET", "/metrics")
            if metric(parse_prometheus(data.decode()), "cnnserve_in_flight_requests",
                      "cnnserve_in_flight_requests") >= n + 1:
                return
            time.sleep(0.01)
        self.fail("the request never arrived")

    def test_loading_answers_503(self):
        """While a model loads (its weights file is a FIFO nobody writes yet,
        so opening it blocks), liveness is 200, readiness and inference 503
        with Retry-After; once the load ends (the FIFO is rejected as not a
        regular file and the model skipped) the server is ready."""
        repo = os.path.join(self.tmp, "slow-repo")
        os.makedirs(os.path.join(repo, "slow"))
        shutil.copy(os.path.join(MODEL, "model.json"), os.path.join(repo, "slow", "model.json"))
        fifo = os.path.join(repo, "slow", "weights.safetensors")
        os.mkfifo(fifo)
        os.symlink(MODEL, os.path.join(repo, "lenet5-fashion"))
        server = Server(repo, wait_ready=False)
        try:
            self.assertEqual(server.request("GET", "/health/live")[0], 200)
            for path in ("/health/ready", "/v2/health/ready"):
                status, hdrs, data = server.request("GET", path)
                self.assertEqual(status, 503, path)
            status, hdrs, data = server.request("POST", "/classify", read(self.png_path),
                                                {"Content-Type": "image/png"})
            self.assertEqual(status, 503, data)
            self.assertEqual(hdrs.get("content-type"), "application/json")
            self.assertIn("loading", json.loads(data)["error"])
            self.assertEqual(hdrs.get("retry-after"), "1")
            os.close(os.open(fifo, os.O_WRONLY))  # the server's open returns
            server.wait_ready()
            status, _, data = server.request("POST", "/classify", read(self.png_path),
                                             {"Content-Type": "image/png"})
            self.assertEqual(status, 200, data)
            self.assert_prediction(data)
            self.assertTrue(any("slow" in line and "not a regular file" in line for line in server.log),
                            "".join(server.log))
        finally:
            self.assertEqual(server.stop(), 0)


def cpu_runs_bf16(env=None):
    """True when `cnnserve version` lists bf16 among the CPU's precisions."""
    out = subprocess.run([CNNSERVE, "version", "--json"], check=True, capture_output=True, text=True,
                         env=None if env is None else {**os.environ, **env}).stdout
    return "bf16" in json.loads(out)["cpu"]["precisions"]


class PrecisionTest(SampleTest):
    """model.json's "precision", --precision P and --precision MODEL=P, the
    precision in use in /v1/models/{m}, and the fp32 fallback (logged) on a
    CPU without native bf16 (oneDNN limited to AVX2)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ("lenet5-fashion", "resnet-fashion"):
            shutil.copytree(os.path.join(ROOT, "models", name), os.path.join(cls.tmp, name))
        config = os.path.join(cls.tmp, "lenet5-fashion", "model.json")
        with open(config) as f:
            doc = json.load(f)
        doc["precision"] = "bf16"
        with open(config, "w") as f:
            json.dump(doc, f)

    def precisions(self, server):
        """{model: (precision, requested_precision or None)} from /v1/models/{m}."""
        out = {}
        for name in ("lenet5-fashion", "resnet-fashion"):
            status, _, data = server.request("GET", f"/v1/models/{name}")
            self.assertEqual(status, 200, data)
            doc = json.loads(data)
            self.assertEqual(doc["device"], "cpu")
            out[name] = (doc["precision"], doc.get("requested_precision"))
        return out

    def expect(self, requested, bf16):
        """What /v1/models shows for a requested precision on this CPU."""
        if requested == "bf16" and not bf16:
            return ("fp32", "bf16")
        return (requested, None)

    def assert_classifies(self, server, model):
        status, _, data = server.request("POST", f"/v1/models/{model}/classify?top_k=3", read(self.png_path),
                                         {"Content-Type": "image/png"})
        self.assertEqual(status, 200, data)
        pred = json.loads(data)["results"][0]["predictions"][0]
        if model == "lenet5-fashion":
            self.assertEqual(pred["class"], self.ref[0]["class"])
            self.assertAlmostEqual(pred["probability"], self.ref[0]["probability"], delta=0.02)

    def check(self, flags, want, env=None):
        bf16 = cpu_runs_bf16(env)
        server = Server(self.tmp, *flags, env=env)
        try:
            got = self.precisions(server)
            for model, requested in want.items():
                self.assertEqual(got[model], self.expect(requested, bf16), (flags, env, got))
                self.assert_classifies(server, model)
                fell_back = any(f"model {model}: bf16 precision is not available" in line and
                                "serving it in fp32" in line for line in server.log)
                self.assertEqual(fell_back, requested == "bf16" and not bf16, "".join(server.log))
        finally:
            self.assertEqual(server.stop(), 0)

    def test_model_json_precision(self):
        self.check([], {"lenet5-fashion": "bf16", "resnet-fashion": "fp32"})

    def test_flags_override_model_json(self):
        self.check(["--precision", "fp32", "--precision", "resnet-fashion=bf16"],
                   {"lenet5-fashion": "fp32", "resnet-fashion": "bf16"})
        self.check(["--precision", "bf16", "--precision", "lenet5-fashion=fp32"],
                   {"lenet5-fashion": "fp32", "resnet-fashion": "bf16"})

    def test_fallback_without_native_bf16(self):
        """oneDNN limited to AVX2 has no bf16: logged, served in fp32, and
        /v1/models/{m} says what was asked and what runs."""
        self.check(["--precision", "resnet-fashion=bf16"], {"lenet5-fashion": "bf16", "resnet-fashion": "bf16"},
                   env={"ONEDNN_MAX_CPU_ISA": "AVX2"})

    def test_bad_precision_flags(self):
        for flag in ("int8", "=bf16", "lenet5-fashion=", "lenet5-fashion=bf15"):
            p = subprocess.run([CNNSERVE, "serve", "--models", self.tmp, "--port", "0", "--precision", flag],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, (flag, p.stderr))
            self.assertIn("--precision", p.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_server.py PATH/TO/cnnserve")
    CNNSERVE = sys.argv.pop(1)
    unittest.main(verbosity=2)
