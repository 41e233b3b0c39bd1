"""Estimates the size of the docker/Dockerfile runtime image without Docker:
Debian's package metadata (apt-cache) for the packages the runtime stage adds,
plus the binary and the models.

debian:12-slim is Debian's "minbase" set (every Priority: required package,
and apt) with documentation, man pages and locales left out. The packages the
runtime stage installs pull dependencies; those already in that base cost
nothing. Installed-Size counts the documentation slim drops, so the added
size is a slight overestimate.

  /usr/bin/python3 docker/estimate-size.py [--binary build/server/cnnserve] [--models models]
"""
import argparse
import os
import re
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def runtime_packages():
    """Packages `apt-get install`ed in the Dockerfile's last stage."""
    text = open(os.path.join(HERE, "Dockerfile")).read()
    last = text[text.rindex("\nFROM "):]
    body = re.sub(r"\\\n", " ", last)
    cmd = re.search(r"apt-get install ([^&]+)", body).group(1)
    return [w for w in cmd.split() if not w.startswith("-")]


def archive():
    """{package: (Installed-Size KiB, base?, [dependency alternative groups])}
    from `apt-cache dumpavail`; base: Essential or Priority required."""
    out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    pkgs = {}
    for stanza in out.split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if "Package" not in fields:
            continue
        deps = []
        for field in ("Pre-Depends", "Depends"):
            for group in filter(None, fields.get(field, "").split(",")):
                deps.append([re.sub(r"[\s(:].*", "", a.strip()) for a in group.split("|")])
        base = fields.get("Essential") == "yes" or fields.get("Priority") == "required"
        pkgs[fields["Package"]] = (int(fields.get("Installed-Size", 0)), base, deps)
    return pkgs


def closure(pkgs, roots, present):
    """{package: KiB} apt installs for roots when `present` is installed (the
    first alternative of each dependency, unless one is already there)."""
    seen, todo, sizes = set(), list(roots), {}
    while todo:
        p = todo.pop()
        if p in seen or p in present or p not in pkgs:
            continue  # absent: a virtual package, provided by another
        seen.add(p)
        sizes[p] = pkgs[p][0]
        for alts in pkgs[p][2]:
            if not any(a in seen or a in present for a in alts):
                todo.append(alts[0])
    return sizes


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "server", "cnnserve"))
    ap.add_argument("--models", default=os.path.join(ROOT, "models"))
    args = ap.parse_args()
    pkgs = archive()
    base_sizes = closure(pkgs, sorted(p for p, v in pkgs.items() if v[1]) + ["apt"], set())
    added = closure(pkgs, runtime_packages(), set(base_sizes))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["strip", "-o", os.path.join(tmp, "cnnserve"), args.binary], check=True)
        binary = os.path.getsize(os.path.join(tmp, "cnnserve")) / 1024 / 1024
    mib = 1024.0
    print("| package (added to debian:12-slim) | Installed-Size (MiB) |")
    print("|---|---:|")
    for p, s in sorted(added.items(), key=lambda kv: -kv[1]):
        print(f"| {p} | {s / mib:.1f} |")
    total_added = sum(added.values()) / mib
    models = du(args.models) / 1024 / 1024
    base_mib = sum(base_sizes.values()) / mib
    print(f"\nminbase: {len(base_sizes)} packages, {base_mib:.0f} MiB installed (debian:12-slim is this set"
          " less documentation, man pages and locales)")
    print(f"runtime packages added: {len(added)} packages, {total_added:.1f} MiB")
    print(f"cnnserve binary (stripped): {binary:.1f} MiB; bundled models: {models:.1f} MiB")
    layer = total_added + binary + models
    print(f"runtime stage on top of debian:12-slim: {layer:.0f} MiB (= {total_added:.1f} + {binary:.1f} + {models:.1f});"
          f" image at most {base_mib + layer:.0f} MiB (base counted with its documentation)")

if __name__ == "__main__":
    main()
