"""The deployment files (docker/) agree with the cnnserve they deploy.

- docker/compose.yml and docker/k8s/*.yaml parse (PyYAML); compose fills every
  ${CNNSERVE_*} of docker/nginx.conf and names existing services.
- nginx's limits match cnnserve's defaults, read from `cnnserve serve --help`:
  client_max_body_size = --max-body-bytes; proxy_read_timeout > --timeout-ms
  (the replica's 504 wins); upstream keepalive_timeout < --connection-timeout
  (nginx closes idle connections first).
- The runtime stage of docker/Dockerfile installs (directly or as a dependency)
  the Debian package of every library the binary links (readelf NEEDED ->
  dpkg -S), so the image runs.
- The images' default command, the compose and Kubernetes container arguments
  (CPU variants) start a real server (listening address and models swapped
  for a loopback port and this tree's models), and every probe path — Docker
  HEALTHCHECK, compose health checks, Kubernetes readiness/liveness/startup —
  answers 200 there.
- cnnserve as PID 1 of a PID namespace (as in a container without an init;
  `unshare --pid --fork`) drains on SIGTERM and exits 0: the kernel drops
  signals to a namespace's init that has no handler for them.

Usage: test_deploy_files.py PATH/TO/cnnserve
"""
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lb_harness as lb  # noqa: E402

DOCKER = os.path.join(lb.ROOT, "docker")
CNNSERVE = None  # set from argv
SANITIZER_PACKAGES = re.compile(r"^lib(asan|ubsan|lsan|tsan)\d*$")


def load_yaml(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def read(path):
    with open(path) as f:
        return f.read()


def dockerfile_instructions(path):
    """(instruction, argument) pairs, continuation lines joined, comments dropped."""
    lines, cur = [], ""
    for raw in read(path).splitlines():
        s = raw.strip()
        if s.startswith("#") or not s:
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        lines.append(cur)
        cur = ""
    return [tuple((line.split(None, 1) + [""])[:2]) for line in lines]


def installed_closure(roots):
    """The packages apt installs with roots: their Depends/Pre-Depends closure
    over this machine's installed packages (first alternative present)."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Pre-Depends}, ${Depends}\n"],
                         capture_output=True, text=True, check=True).stdout
    deps = {}
    for line in out.splitlines():
        pkg, _, rest = line.partition("\t")
        groups = [[re.sub(r"[\s(:].*", "", a.strip()) for a in g.split("|")] for g in rest.split(",") if g.strip()]
        deps[pkg] = groups
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for alts in deps.get(p, []):
            present = [a for a in alts if a in deps]
            if present:
                todo.append(present[0])
    return seen


def serve_help_defaults():
    out = subprocess.run([CNNSERVE, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"--([a-z-]+) [A-Z]+ .*?\(default (\d+)\)", out)}


def k8s_containers():
    for name in sorted(os.listdir(os.path.join(DOCKER, "k8s"))):
        for doc in load_yaml(os.path.join(DOCKER, "k8s", name)):
            if doc["kind"] == "Deployment":
                for c in doc["spec"]["template"]["spec"]["containers"]:
                    yield name, doc, c


def serving_args(args):
    """A container's `serve` arguments made to run here: loopback, a free
    port, this tree's models."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ("--host", "--port", "--models"):
            i += 2
            continue
        out.append(a)
        i += 1
    return out + ["--host", "127.0.0.1", "--port", "0", "--models", os.path.join(lb.ROOT, "models")]


class DeployFilesTest(unittest.TestCase):
    def test_yaml_and_compose_wiring(self):
        compose = load_yaml(os.path.join(DOCKER, "compose.yml"))[0]
        services = compose["services"]
        wanted = set(re.findall(r"\$\{(CNNSERVE_[A-Z0-9_]+)\}", read(os.path.join(DOCKER, "nginx.conf"))))
        self.assertEqual(wanted, {"CNNSERVE_LB_PORT", "CNNSERVE_REPLICA_1", "CNNSERVE_REPLICA_2",
                                  "CNNSERVE_REPLICA_3"})
        for lb_name in ("nginx", "nginx-gpu"):
            env = services[lb_name]["environment"]
            self.assertEqual(set(env), wanted, lb_name)
            for key in wanted - {"CNNSERVE_LB_PORT"}:
                host, port = env[key].split(":")
                self.assertIn(host, services, f"{lb_name}: {key} names no service")
                self.assertIn(host, services[lb_name]["depends_on"])
                self.assertEqual(port, "8080")
        gpu = services["cnnserve-gpu-1"]["deploy"]["resources"]["reservations"]["devices"][0]
        self.assertEqual(gpu["capabilities"], ["gpu"])
        kinds = sorted(d["kind"] for f in os.listdir(os.path.join(DOCKER, "k8s"))
                       for d in load_yaml(os.path.join(DOCKER, "k8s", f)))
        self.assertEqual(kinds, ["Deployment", "Deployment", "HorizontalPodAutoscaler", "Kustomization",
                                 "Service", "Service"])
        for name, doc, c in k8s_containers():
            selector = doc["spec"]["selector"]["matchLabels"]
            labels = doc["spec"]["template"]["metadata"]["labels"]
            self.assertEqual({k: labels[k] for k in selector}, selector, name)
            self.assertIn("preStop", c["lifecycle"])
            self.assertGreater(doc["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
                               serve_help_defaults()["timeout-ms"] / 1000, name)

    def test_nginx_limits_match_cnnserve(self):
        defaults = serve_help_defaults()
        conf = read(os.path.join(DOCKER, "nginx.conf"))

        def directive(name):
            m = re.search(rf"^\s*{name}\s+([^;]+);", conf, re.M)
            self.assertIsNotNone(m, name)
            return m.group(1).strip()

        size = directive("client_max_body_size")
        mult = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
        nbytes = int(size[:-1]) * mult[size[-1].lower()] if size[-1].isalpha() else int(size)
        self.assertEqual(nbytes, defaults["max-body-bytes"])
        self.assertGreater(int(directive("proxy_read_timeout").rstrip("s")) * 1000, defaults["timeout-ms"])
        self.assertLess(int(directive("keepalive_timeout").rstrip("s")), defaults["connection-timeout"])
        retry = directive("proxy_next_upstream").split()
        for cond in ("error", "timeout", "http_502", "http_503", "non_idempotent"):
            self.assertIn(cond, retry)

    def test_runtime_stage_has_every_linked_library(self):
        instr = dockerfile_instructions(os.path.join(DOCKER, "Dockerfile"))
        froms = [i for i, (op, _) in enumerate(instr) if op.upper() == "FROM"]
        runtime = instr[froms[-1]:]
        installs = " ".join(arg for op, arg in runtime if op.upper() == "RUN" and "apt-get install" in arg)
        packages = set(re.findall(r"\b(lib[a-z0-9.+-]+)", installs.split("apt-get install", 1)[1]))
        image = installed_closure(packages)
        dyn = subprocess.run(["readelf", "-d", CNNSERVE], capture_output=True, text=True, check=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
        self.assertTrue(needed)
        ldd = subprocess.run(["ldd", CNNSERVE], capture_output=True, text=True, check=True).stdout
        paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
        missing = []
        for lib in needed:
            path = paths[lib]
            if path.startswith("/usr/local/cuda") or "cudnn" in lib:
                continue  # the CUDA runtime base image brings these
            owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
            self.assertEqual(owner.returncode, 0, f"{lib} ({path}) belongs to no Debian package")
            pkg = owner.stdout.split(":")[0]
            if not SANITIZER_PACKAGES.match(pkg) and pkg not in image and pkg != "libc6":
                missing.append(f"{lib} ({pkg})")
        self.assertEqual(missing, [], "docker/Dockerfile's runtime stage lacks these packages")

    def test_commands_start_and_probes_answer(self):
        probes = set()
        instr = dockerfile_instructions(os.path.join(DOCKER, "Dockerfile"))
        cmd = json.loads([arg for op, arg in instr if op.upper() == "CMD"][-1])
        health = [arg for op, arg in instr if op.upper() == "HEALTHCHECK"][-1]
        health_cmd = json.loads(health[health.index("CMD") + 3:].strip())
        self.assertEqual(health_cmd[0], "cnnserve")
        compose = load_yaml(os.path.join(DOCKER, "compose.yml"))[0]
        compose_health = compose["services"]["cnnserve-1"]["healthcheck"]["test"]
        self.assertEqual(compose_health[1], "cnnserve")
        commands = [("Dockerfile CMD", cmd)]
        for name, _, c in k8s_containers():
            if "--device" not in c["args"]:
                commands.append((f"k8s/{name}", c["args"]))
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                probes.add(c[probe]["httpGet"]["path"])
        self.assertEqual(probes, {"/health/ready", "/health/live"})
        for what, args in commands:
            self.assertEqual(args[0], "serve", what)
            proc = subprocess.Popen([CNNSERVE, *serving_args(args)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            try:
                port = None
                for line in proc.stderr:
                    m = re.search(r"listening on http://[\d.]+:(\d+)", line)
                    port = int(m.group(1)) if m else port
                    if "ready:" in line:
                        break
                self.assertIsNotNone(port, what)
                for path in sorted(probes):
                    self.assertEqual(lb.request(port, "GET", path)[0], 200, f"{what}: {path}")
                # The images' health check command, pointed at this server.
                for hc in (health_cmd, compose_health[1:]):
                    url = re.sub(r"127\.0\.0\.1:8080", f"127.0.0.1:{port}", hc[-1])
                    rc = subprocess.run([CNNSERVE, *hc[1:-1], url], capture_output=True).returncode
                    self.assertEqual(rc, 0, f"{what}: {shlex.join(hc)}")
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=60)
            self.assertEqual(proc.returncode, 0, what)

    def test_sigterm_as_pid1(self):
        try:
            proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", CNNSERVE, "serve", "--models",
                                     os.path.join(lb.ROOT, "models"), "--port", "0"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except FileNotFoundError:
            self.skipTest("unshare (util-linux) is not installed")
        log, port = [], None
        for line in proc.stderr:
            log.append(line)
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            port = int(m.group(1)) if m else port
            if "ready:" in line:
                break
        if port is None:
            proc.wait(30)
            self.skipTest("no PID namespace here (unshare needs root or user namespaces): " + "".join(log))
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                child = int(f.read().split()[0])
            with open(f"/proc/{child}/status") as f:
                nspid = re.search(r"^NSpid:\s+(.*)$", f.read(), re.M).group(1).split()
            self.assertEqual(nspid[-1], "1", "cnnserve is not PID 1 in its namespace")
            self.assertEqual(lb.request(port, "GET", "/health/ready")[0], 200)
            os.kill(child, signal.SIGTERM)
            rest = proc.communicate(timeout=60)[1]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0)
        self.assertIn("SIGTERM: draining", rest)
        self.assertIn("stopped", rest)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_deploy_files.py PATH/TO/cnnserve")
    CNNSERVE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
