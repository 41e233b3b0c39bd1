"""Three cnnserve replicas behind nginx with docker/nginx.conf (the compose
file's load balancer), without Docker: replica failures under load.

Client threads send POST /classify through nginx while one replica is killed
with SIGKILL and another is sent SIGTERM (it drains and exits 0); both are
then restarted on their ports. Asserted: not one request fails, and every
answer's top-1 class equals what a replica answers directly for that image;
the restarted replicas get traffic again; nginx answers 413 itself above
cnnserve's default --max-body-bytes and passes a body just under it to a
replica. Printed (not asserted): requests sent, failed, p50/p99 latency and
throughput before, during and after the failures.

Usage: test_load_balancer.py PATH/TO/cnnserve
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lb_harness as lb  # noqa: E402
from prometheus_text import metric, parse_prometheus  # noqa: E402

CNNSERVE = None  # set from argv
MAX_BODY = 16 * 1024 * 1024  # cnnserve serve --max-body-bytes default
PHASE_S = 4.0


class LoadBalancerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cnnserve-lb-")
        cls.repo = os.path.join(cls.tmp, "models")
        os.makedirs(cls.repo)
        os.symlink(os.path.join(lb.ROOT, "models", "lenet5-fashion"), os.path.join(cls.repo, "lenet5-fashion"))
        ports = lb.free_ports(4)
        cls.replicas = [lb.Replica(CNNSERVE, cls.repo, p, os.path.join(cls.tmp, f"replica{i}.log"),
                                   "--http-threads", "2")
                        for i, p in enumerate(ports[:3])]
        cls.nginx = lb.Nginx(cls.tmp, ports[3], ports[:3])
        try:
            for r in cls.replicas:
                r.start()
            cls.nginx.start()
        except Exception:
            cls.tearDownClass()
            raise
        cls.images = lb.sample_images(16)
        # Expected answers: a direct request to one replica, no load balancer.
        cls.expected = []
        for img in cls.images:
            status, body = lb.request(cls.replicas[0].port, "POST", "/classify?top_k=1", img,
                                      {"Content-Type": "image/png"})
            assert status == 200, body
            cls.expected.append(lb.top1(body))

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        for r in cls.replicas:
            r.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def classify_count(self, replica):
        status, body = lb.request(replica.port, "GET", "/metrics")
        self.assertEqual(status, 200)
        families = parse_prometheus(body.decode())
        return sum(value for name, labels, value in families["cnnserve_requests_total"]["samples"]
                   if labels.get("route") == "classify" and labels.get("code") == "200")

    def test_1_replica_failures_under_load(self):
        killed, drained, survivor = self.replicas
        driver = lb.LoadDriver(self.nginx.port, self.images, self.expected, clients=8)
        driver.start()
        try:
            t0 = time.monotonic()
            time.sleep(PHASE_S)
            t1 = time.monotonic()
            self.assertEqual(killed.kill(), -9)
            time.sleep(0.5)
            drained.terminate()
            drain_rc = drained.wait(120)
            time.sleep(1.0)
            killed.start()
            drained.start()
            t2 = time.monotonic()
            before = {id(r): self.classify_count(r) for r in self.replicas}
            time.sleep(PHASE_S)
            t3 = time.monotonic()
            after = {id(r): self.classify_count(r) for r in self.replicas}
        finally:
            driver.stop()
        records = driver.snapshot()
        rows = lb.phase_table(records, [("before", t0, t1), ("during", t1, t2), ("after", t2, t3)])
        total = len(records)
        failed = [r for r in records if not r[2]]
        print(f"\nthrough nginx: {total} requests sent, {len(failed)} failed, 8 client threads\n"
              + lb.format_table(rows), file=sys.stderr)
        self.assertEqual(drain_rc, 0, "the SIGTERMed replica must drain and exit 0")
        self.assertGreater(rows[0][1], 0)
        self.assertGreater(rows[1][1], 0, "requests must have been sent while replicas were down")
        self.assertEqual(failed[:5], [], f"{len(failed)} failed requests; nginx error log:\n"
                         + self.nginx.error_log()[-3000:])
        # The failures happened and nginx hid them: it logged refused or broken
        # upstream connections.
        log = self.nginx.error_log()
        self.assertTrue(any(s in log for s in ("Connection refused", "prematurely closed", "reset by peer")), log)
        # nginx brings the restarted replicas back into rotation.
        for r in (killed, drained):
            self.assertGreater(after[id(r)] - before[id(r)], 0, f"replica on port {r.port} got no traffic")
        self.assertGreater(after[id(survivor)], 0)

    def test_2_body_limit_matches_cnnserve(self):
        status, body = lb.request(self.nginx.port, "POST", "/classify", b"\0" * (MAX_BODY + 1),
                                  {"Content-Type": "image/png"})
        self.assertEqual(status, 413)
        self.assertIn(b"nginx", body)  # refused by nginx, not a replica
        # Just under the limit: it reaches a replica, which refuses the bytes as an image.
        status, body = lb.request(self.nginx.port, "POST", "/classify", b"\0" * (MAX_BODY - 1024),
                                  {"Content-Type": "image/png"})
        self.assertIn(status, (400, 415))
        self.assertIn(b'"error"', body)

    def test_3_routes_through_nginx(self):
        status, body = lb.request(self.nginx.port, "GET", "/health/ready")
        self.assertEqual(status, 200)
        status, body = lb.request(self.nginx.port, "GET", "/v1/models/lenet5-fashion")
        self.assertEqual(status, 200)
        status, body = lb.request(self.nginx.port, "GET", "/metrics")
        self.assertEqual(status, 200)
        families = parse_prometheus(body.decode())
        self.assertGreater(metric(families, "process_resident_memory_bytes", "process_resident_memory_bytes"), 0)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_load_balancer.py PATH/TO/cnnserve")
    CNNSERVE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
