"""cnnserve replicas behind nginx on loopback, without Docker: the pieces shared
by tests/integration/test_load_balancer.py and tests/bench/soak_load_balancer.py.

`Replica` runs `cnnserve serve` on a fixed port (so it can be restarted where
nginx expects it); `Nginx` runs the Debian nginx with docker/nginx.conf — the
file compose.yml uses — filled in like the nginx image's envsubst step, and
included from a throwaway main config whose pid file, temp paths and logs live
in a temp dir; `LoadDriver` sends POST /classify from client threads over
keep-alive connections and records every answer.
"""
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
import threading
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
NGINX_TEMPLATE = os.path.join(ROOT, "docker", "nginx.conf")
FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
SAMPLES = os.path.join(ROOT, "models", "lenet5-fashion", "samples")


def free_ports(n):
    """n distinct loopback ports free right now."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def sample_images(n):
    """n PNG bodies: the first Fashion-MNIST test images, or the bundled
    samples when the dataset is not installed."""
    if not os.path.exists(FASHION):
        files = sorted(os.listdir(SAMPLES))
        return [open(os.path.join(SAMPLES, f), "rb").read() for f in files][:n]
    import io
    with gzip.open(FASHION, "rb") as f:
        data = f.read()
    count, h, w = struct.unpack(">III", data[4:16])
    images = np.frombuffer(data, np.uint8, offset=16).reshape(count, h, w)
    out = []
    for i in range(min(n, count)):
        buf = io.BytesIO()
        Image.fromarray(images[i]).save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def request(port, method, path, body=None, headers=None, timeout=30):
    """(status, body bytes) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Replica:
    """A `cnnserve serve` process on 127.0.0.1:port; its stderr goes to log_path."""

    def __init__(self, cnnserve, models_dir, port, log_path, *flags):
        self.cmd = [cnnserve, "serve", "--models", models_dir, "--port", str(port), *flags]
        self.port = port
        self.log_path = log_path
        self.proc = None

    def start(self, timeout=120):
        log = open(self.log_path, "a")
        # The port was just freed by a killed replica: retry while it is taken.
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=log)
            try:
                wait_until(lambda: self.proc.poll() is not None or self.ready(), 60, "replica start")
            except RuntimeError:
                pass
            if self.proc.poll() is None:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica on port {self.port} did not start, see {self.log_path}")
            time.sleep(0.2)
        log.close()
        wait_until(self.ready, timeout, f"replica on port {self.port} ready")

    def ready(self):
        return self.proc.poll() is None and request(self.port, "GET", "/health/ready", timeout=5)[0] == 200

    def kill(self):
        self.proc.kill()
        return self.proc.wait()

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=120):
        return self.proc.wait(timeout)

    def rss_kib(self):
        """Resident memory (VmRSS) in KiB, from /proc."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def render_template(text, values):
    """envsubst restricted to the given names, as the nginx image does with the
    variables set in its environment: ${NAME} is replaced, $nginx_vars stay."""
    out = re.sub(r"\$\{([A-Z0-9_]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)
    left = re.findall(r"\$\{CNNSERVE_[A-Z0-9_]+\}", out)
    if left:
        raise ValueError(f"unfilled variables in {NGINX_TEMPLATE}: {left}")
    return out


class Nginx:
    """nginx (foreground, as any user) serving docker/nginx.conf on lb_port
    in front of the given replica ports."""

    def __init__(self, workdir, lb_port, replica_ports, workers=2):
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        # Workers run as nobody when the master is root: they must reach the temp paths.
        os.chmod(workdir, 0o755)
        os.chmod(self.dir, 0o755)
        self.port = lb_port
        values = {"CNNSERVE_LB_PORT": f"127.0.0.1:{lb_port}"}
        for i, p in enumerate(replica_ports, 1):
            values[f"CNNSERVE_REPLICA_{i}"] = f"127.0.0.1:{p}"
        with open(NGINX_TEMPLATE) as f:
            site = render_template(f.read(), values)
        with open(os.path.join(self.dir, "cnnserve.conf"), "w") as f:
            f.write(site)
        d = self.dir
        main = f"""worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$status $request_time $upstream_addr $upstream_status';
    access_log {d}/access.log upstream;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/cnnserve.conf;
}}
"""
        self.conf = os.path.join(d, "nginx-main.conf")
        with open(self.conf, "w") as f:
            f.write(main)
        self.proc = None

    @staticmethod
    def binary():
        return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

    def start(self):
        nginx = self.binary()
        if not nginx:
            raise RuntimeError("nginx is not installed (scripts/install-deps.sh installs it)")
        check = subprocess.run([nginx, "-t", "-q", "-p", self.dir, "-e", f"{self.dir}/error.log", "-c", self.conf],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
        self.proc = subprocess.Popen([nginx, "-p", self.dir, "-e", f"{self.dir}/error.log", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: request(self.port, "GET", "/nginx/health", timeout=5)[0] == 200, 30, "nginx")

    def error_log(self):
        path = os.path.join(self.dir, "error.log")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def top1(body):
    return json.loads(body)["results"][0]["predictions"][0]["class"]


class LoadDriver:
    """`clients` threads, each on its own keep-alive connection to port, send
    POST /classify?top_k=1 with the images in turn, at most `rate` requests/s
    in all (None: as fast as answers come). Each answer is recorded as
    (start time, latency s, ok, what): ok when status 200 and top-1 equals
    expected[i]."""

    def __init__(self, port, images, expected, clients=8, rate=None):
        self.port, self.images, self.expected = port, images, expected
        self.clients, self.rate = clients, rate
        self.records = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = []
        self.counter = 0

    def _next(self):
        with self.lock:
            n = self.counter
            self.counter += 1
        return n

    def _client(self):
        conn = None
        while not self.stop_event.is_set():
            n = self._next()
            if self.rate:
                wait = self.t0 + n / self.rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            i = n % len(self.images)
            start = time.monotonic()
            ok, what = False, ""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("POST", "/classify?top_k=1", body=self.images[i],
                             headers={"Content-Type": "image/png"})
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    what = f"status {r.status}: {body[:200]!r}"
                elif top1(body) != self.expected[i]:
                    what = f"wrong top-1 {top1(body)} for image {i}, expected {self.expected[i]}"
                else:
                    ok = True
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                what = f"{type(e).__name__}: {e}"
                if conn is not None:
                    conn.close()
                conn = None
            with self.lock:
                self.records.append((start, time.monotonic() - start, ok, what))
        if conn is not None:
            conn.close()

    def start(self):
        self.t0 = time.monotonic()
        for _ in range(self.clients):
            t = threading.Thread(target=self._client, daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(120)

    def snapshot(self):
        with self.lock:
            return list(self.records)


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q / 100.0 * len(v)))]


def phase_table(records, phases):
    """Rows (name, sent, failed, p50 ms, p99 ms, req/s) for records whose start
    time falls in each (name, t0, t1) phase."""
    rows = []
    for name, t0, t1 in phases:
        rs = [r for r in records if t0 <= r[0] < t1]
        lat = [r[1] * 1000 for r in rs]
        rows.append((name, len(rs), sum(1 for r in rs if not r[2]), percentile(lat, 50), percentile(lat, 99),
                     len(rs) / max(t1 - t0, 1e-9)))
    return rows


def format_table(rows):
    lines = [f"{'phase':<8} {'sent':>7} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"]
    for name, sent, failed, p50, p99, rps in rows:
        lines.append(f"{name:<8} {sent:>7} {failed:>6} {p50:>8.1f} {p99:>8.1f} {rps:>8.0f}")
    return "\n".join(lines)
