"""The dashboard's HTTP side and --cors-origin, end to end: the real server
on a loopback port, http.client as the client.

Dashboard: GET and HEAD of / and /dashboard/{file} answer the files of
server/dashboard/ byte for byte with their content types, a strict
Content-Security-Policy and nosniff; the page references only files the
server has and nothing outside it; unknown files 404, other methods 405;
the requests are counted in /metrics under their routes.

CORS (the classify, featuremaps and metadata routes): without the flag no
Access-Control-* header appears and OPTIONS is 405. With --cors-origin
ORIGIN: preflights (OPTIONS) answer 204 with the route's methods,
Content-Type allowed and a max age; responses, errors included (400, 404,
405, 413, 415), carry Access-Control-Allow-Origin and the exposed X-*
headers for that origin only, and Vary: Origin always. With --cors-origin
'*' every response allows any origin. Values that are not origins are
refused at startup (exit status 2).

Usage: test_dashboard_cors.py PATH/TO/cnnserve
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server  # noqa: E402  (its Server class: the binary on a free port)
from prometheus_text import metric, parse_prometheus  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ASSETS = os.path.join(ROOT, "server", "dashboard")
SAMPLE = os.path.join(ROOT, "models", "lenet5-fashion", "samples", "0_ankle_boot.png")
ORIGIN = "http://localhost:3000"
TYPES = {"index.html": "text/html", "dashboard.js": "text/javascript", "dashboard.css": "text/css"}


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Repo:
    """A model repository holding only the bundled LeNet-5."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="cnnserve-dash-")
        os.symlink(os.path.join(ROOT, "models", "lenet5-fashion"), os.path.join(self.dir, "lenet5-fashion"))
        return self.dir

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = Repo()
        cls.server = test_server.Server(cls.repo.__enter__(), "--max-body-bytes", "4096")

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        cls.repo.__exit__()
        assert rc == 0, f"server exit status {rc}"

    def test_files_served_as_built(self):
        for name, ctype in TYPES.items():
            path = "/" if name == "index.html" else f"/dashboard/{name}"
            status, headers, body = self.server.request("GET", path)
            self.assertEqual(status, 200, path)
            self.assertEqual(body, read(os.path.join(ASSETS, name)), path)
            self.assertEqual(headers["content-type"], f"{ctype}; charset=utf-8")
            self.assertEqual(headers["x-content-type-options"], "nosniff")
            csp = [d.strip() for d in headers["content-security-policy"].split(";")]
            self.assertIn("default-src 'self'", csp)
            self.assertIn("img-src 'self' data: blob:", csp)
            self.assertIn("object-src 'none'", csp)
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertNotIn("unsafe", headers["content-security-policy"])
            # HEAD: the same headers, no body.
            h_status, h_headers, h_body = self.server.request("HEAD", path)
            self.assertEqual((h_status, h_body), (200, b""))
            self.assertEqual(h_headers["content-length"], str(len(body)))
            self.assertEqual(h_headers["content-security-policy"], headers["content-security-policy"])

    def test_page_is_self_contained(self):
        html = read(os.path.join(ASSETS, "index.html")).decode()
        refs = re.findall(r'(?:src|href)="([^"]*)"', html)
        self.assertIn("/dashboard/dashboard.js", refs)
        self.assertIn("/dashboard/dashboard.css", refs)
        for ref in refs:
            if ref.startswith("data:"):
                continue
            self.assertTrue(ref.startswith("/dashboard/"), ref)
            self.assertEqual(self.server.request("GET", ref)[0], 200, ref)
        # No inline script or style (the CSP would block them), no outside URL, no font.
        self.assertNotRegex(html, r"<script(?![^>]*\bsrc=)")
        self.assertNotRegex(html, r"<style|\sstyle=|\son[a-z]+=")
        for name in TYPES:
            text = read(os.path.join(ASSETS, name)).decode()
            self.assertNotRegex(text, r"https?://|@import|@font-face|\beval\(|new Function", name)

    def test_unknown_files_and_methods(self):
        for path in ["/dashboard/nope.js", "/dashboard/..%2Fcnnserve", "/dashboard/index.html.bak"]:
            status, headers, body = self.server.request("GET", path)
            self.assertEqual(status, 404, path)
            self.assertEqual(headers["content-type"], "application/json")
            self.assertIn(b'"error"', body)
        for path in ["/dashboard", "/dashboard/", "/index.html", "/dashboard/x/dashboard.js"]:
            self.assertEqual(self.server.request("GET", path)[0], 404, path)
        status, headers, body = self.server.request("POST", "/", body=b"x")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        # No CORS without --cors-origin: OPTIONS is a method like any other.
        status, headers, _ = self.server.request("OPTIONS", "/classify", headers={"Origin": ORIGIN})
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "POST")
        status, headers, _ = self.server.request("GET", "/v1/models", headers={"Origin": ORIGIN})
        self.assertEqual(status, 200)
        self.assertFalse([k for k in headers if k.startswith("access-control-")], headers)
        self.assertNotIn("vary", headers)

    def test_metrics_routes(self):
        self.server.request("GET", "/")
        self.server.request("GET", "/dashboard/dashboard.js")
        self.server.request("GET", "/dashboard/missing.css")
        families = parse_prometheus(self.server.request("GET", "/metrics")[2].decode())
        for route, code in [("dashboard", "200"), ("dashboard_file", "200"), ("dashboard_file", "404")]:
            n = metric(families, "cnnserve_requests_total", "cnnserve_requests_total", route=route, code=code)
            self.assertGreaterEqual(n, 1, (route, code))


class CorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = Repo()
        cls.server = test_server.Server(cls.repo.__enter__(), "--cors-origin", ORIGIN, "--max-body-bytes", "4096")

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        cls.repo.__exit__()
        assert rc == 0, f"server exit status {rc}"

    def assert_allowed(self, headers, origin=ORIGIN):
        self.assertEqual(headers.get("access-control-allow-origin"), origin)
        self.assertIn("Origin", headers.get("vary", ""))
        exposed = [h.strip() for h in headers.get("access-control-expose-headers", "").split(",")]
        for name in ["Retry-After", "X-Tile-Size", "X-Grid", "X-Channels", "X-Predictions"]:
            self.assertIn(name, exposed)

    def test_preflight(self):
        for path, methods in [("/classify", "POST, OPTIONS"),
                              ("/v1/models/lenet5-fashion/classify", "POST, OPTIONS"),
                              ("/v1/models/lenet5-fashion/featuremaps?layers=all", "POST, OPTIONS"),
                              ("/featuremaps", "POST, OPTIONS"),
                              ("/v1/models", "GET, HEAD, OPTIONS"),
                              ("/v1/models/lenet5-fashion/layers", "GET, HEAD, OPTIONS")]:
            status, headers, body = self.server.request("OPTIONS", path, headers={
                "Origin": ORIGIN, "Access-Control-Request-Method": methods.split(",")[0],
                "Access-Control-Request-Headers": "content-type"})
            self.assertEqual((status, body), (204, b""), path)
            self.assert_allowed(headers)
            self.assertEqual(headers["access-control-allow-methods"], methods)
            self.assertEqual(headers["allow"], methods)
            self.assertIn("content-type", headers["access-control-allow-headers"].lower())
            self.assertGreater(int(headers["access-control-max-age"]), 0)
        # A preflight from another origin gets no permission (the browser stops there).
        status, headers, _ = self.server.request("OPTIONS", "/classify", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 204)
        self.assertNotIn("access-control-allow-origin", headers)
        self.assertEqual(headers["vary"], "Origin")
        # Unknown paths stay unknown.
        self.assertEqual(self.server.request("OPTIONS", "/nowhere", headers={"Origin": ORIGIN})[0], 404)

    def test_responses_and_errors_carry_the_origin(self):
        png = read(SAMPLE)
        cases = [
            ("POST", "/classify", png, {"Content-Type": "image/png"}, 200),
            ("POST", "/featuremaps?layers=features.0&format=png", png, {"Content-Type": "image/png"}, 200),
            ("POST", "/featuremaps?layers=nope", png, {"Content-Type": "image/png"}, 400),
            ("GET", "/v1/models", None, {}, 200),
            ("GET", "/v1/models/lenet5-fashion", None, {}, 200),
            ("GET", "/", None, {}, 200),
            ("POST", "/classify", png[:100], {"Content-Type": "image/png"}, 400),
            ("POST", "/classify", b"not an image", {"Content-Type": "image/png"}, 415),
            ("POST", "/classify?top_k=0", png, {"Content-Type": "image/png"}, 400),
            ("GET", "/v1/models/nope", None, {}, 404),
            ("GET", "/nowhere", None, {}, 404),
            ("PUT", "/classify", b"", {}, 405),
            ("POST", "/classify", b"\0" * 8192, {"Content-Type": "image/png"}, 413),
        ]
        for method, path, body, headers, expect in cases:
            status, got, _ = self.server.request(method, path, body=body, headers={**headers, "Origin": ORIGIN})
            self.assertEqual(status, expect, (method, path))
            self.assert_allowed(got)
            if expect == 405:
                self.assertEqual(got["allow"], "POST, OPTIONS")
            # Another origin, or none: no permission, but the answer still varies by Origin.
            for other in [{"Origin": "http://localhost:3001"}, {}]:
                status, got, _ = self.server.request(method, path, body=body, headers={**headers, **other})
                self.assertEqual(status, expect, (method, path, other))
                self.assertNotIn("access-control-allow-origin", got)
                self.assertEqual(got["vary"], "Origin")


class CorsAnyOriginTest(unittest.TestCase):
    def test_star(self):
        with Repo() as repo:
            server = test_server.Server(repo, "--cors-origin", "*")
            try:
                for headers in [{"Origin": "http://anything.example:1234"}, {}]:
                    status, got, _ = server.request("GET", "/v1/models", headers=headers)
                    self.assertEqual(status, 200)
                    self.assertEqual(got["access-control-allow-origin"], "*")
                    self.assertNotIn("vary", got)
                status, got, _ = server.request("OPTIONS", "/classify", headers={
                    "Origin": "null", "Access-Control-Request-Method": "POST"})
                self.assertEqual(status, 204)
                self.assertEqual(got["access-control-allow-origin"], "*")
            finally:
                self.assertEqual(server.stop(), 0)

    def test_bad_values_refused(self):
        for value in ["localhost:3000", "http://localhost:3000/", "null", "http://a.example,http://b.example", ""]:
            r = subprocess.run([test_server.CNNSERVE, "serve", "--cors-origin", value, "--port", "0"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2, (value, r.stderr))
            self.assertIn("--cors-origin", r.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_dashboard_cors.py PATH/TO/cnnserve")
    test_server.CNNSERVE = sys.argv.pop(1)
    unittest.main(verbosity=2)
