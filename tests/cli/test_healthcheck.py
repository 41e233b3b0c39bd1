"""`cnnserve healthcheck [URL]` (the containers' HEALTHCHECK) end to end.

Against a real `cnnserve serve`: /health/ready answers 0, an unknown path (404)
answers 1. Against stub servers on loopback sockets: 200 -> 0; 503 -> 1;
a peer that is not HTTP, one that closes at once, and one that never answers
(within --timeout-ms) -> 1; a closed port -> 1. Bad URLs and options -> 2.

Usage: test_healthcheck.py PATH/TO/cnnserve
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CNNSERVE = None  # set from argv


def healthcheck(*args, timeout=30):
    p = subprocess.run([CNNSERVE, "healthcheck", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stderr


class Stub:
    """A loopback listener that answers every connection with `reply`
    (bytes, sent after the request head is read), or None: never answer."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.requests = []
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                head += chunk
            self.requests.append(head)
            if self.reply is not None:
                conn.sendall(self.reply)
                conn.close()

    def url(self, path="/health/ready"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class HealthcheckTest(unittest.TestCase):
    def test_real_server(self):
        proc = subprocess.Popen([CNNSERVE, "serve", "--models", os.path.join(ROOT, "models"), "--port", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            port = None
            for line in proc.stderr:
                m = re.search(r"listening on http://[\d.]+:(\d+)", line)
                if m:
                    port = int(m.group(1))
                if "ready:" in line:
                    break
            self.assertIsNotNone(port)
            base = f"http://127.0.0.1:{port}"
            self.assertEqual(healthcheck(base + "/health/ready")[0], 0)
            self.assertEqual(healthcheck(base + "/health/live", "--timeout-ms", "5000")[0], 0)
            rc, err = healthcheck(base + "/no/such/path")
            self.assertEqual(rc, 1)
            self.assertIn("status 404", err)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)

    def test_stub_answers(self):
        cases = [(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, ""),
                 (b"HTTP/1.0 200 OK\r\n\r\n", 0, ""),
                 (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 1, "status 503"),
                 (b"HTTP/1.1 2000 OK\r\n\r\n", 1, "not an HTTP answer"),
                 (b"SSH-2.0-OpenSSH_9.2\r\n", 1, "not an HTTP answer"),
                 (b"", 1, "not an HTTP answer")]
        for reply, want, msg in cases:
            stub = Stub(reply)
            try:
                rc, err = healthcheck(stub.url("/health/ready"))
                self.assertEqual(rc, want, (reply, err))
                self.assertIn(msg, err)
                self.assertTrue(stub.requests[0].startswith(b"GET /health/ready HTTP/1.1\r\n"), stub.requests)
                self.assertIn(b"\r\nHost: 127.0.0.1\r\n", stub.requests[0])
            finally:
                stub.close()

    def test_silent_peer_times_out(self):
        stub = Stub(None)
        try:
            rc, err = healthcheck(stub.url(), "--timeout-ms", "300")
            self.assertEqual(rc, 1)
            self.assertIn("timed out", err)
        finally:
            stub.close()

    def test_closed_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        rc, err = healthcheck(f"http://127.0.0.1:{port}/")
        self.assertEqual(rc, 1)
        self.assertIn("refused", err.lower())

    def test_usage_errors(self):
        for args in (["ftp://x/"], ["http://"], ["http://h:0/"], ["http://h:65536/"], ["http://h:x/"],
                     ["http://h/a b"], ["a", "b"], ["--timeout-ms", "0"], ["--bogus"]):
            self.assertEqual(healthcheck(*args)[0], 2, args)
        self.assertEqual(subprocess.run([CNNSERVE, "healthcheck", "--help"], capture_output=True).returncode, 0)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_healthcheck.py PATH/TO/cnnserve")
    CNNSERVE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
