#!/usr/bin/env bash
# Installs the Debian 12 packages cnnserve needs, and the browser test's npm
# packages (tests/browser, pinned by its package-lock.json). Idempotent: does
# nothing when all are already present. Runs as root, or through sudo
# otherwise (npm runs as the caller).
#   scripts/install-deps.sh           everything: build, run, test, benchmark (README, CI)
#   scripts/install-deps.sh --build   only what building the cnnserve binary needs, with
#                                     scripts/build.sh -DCNN_BUILD_TESTS=OFF (docker/Dockerfile)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

build_packages=(
  # toolchain
  build-essential cmake pkg-config
  # engine: oneDNN (its CMake config needs the OpenCL ICD loader), JSON, images
  libdnnl-dev ocl-icd-opencl-dev libcjson-dev libstb-dev
  # weights-tools: ONNX import (protobuf-c code generated from the system's onnx.proto)
  libonnx-dev protobuf-c-compiler libprotobuf-c-dev
  # server
  libmicrohttpd-dev libuv1-dev
  # weights-tools: Keras HDF5 import
  libhdf5-dev
)
test_packages=(
  # clang + its runtime for the libFuzzer targets
  clang libclang-rt-14-dev
  # tests: unit tests, the PyTorch/ONNX references and their data
  libcmocka-dev python3 python3-numpy python3-pil python3-torch python3-torchvision
  python3-onnx python3-h5py libonnx-testdata dataset-fashion-mnist
  # deployment tests: nginx in front of replicas (docker/nginx.conf), manifest syntax
  nginx python3-yaml
  # benchmark peers (ONNX Runtime via its npm package) and the HTTP load generator
  nodejs wrk
  # the dashboard's browser test (playwright-core drives Debian's Chromium)
  chromium
)

mode=all
case "${1:-}" in
  "") ;;
  --build) mode=build ;;
  *) echo "usage: install-deps.sh [--build]" >&2; exit 2 ;;
esac
packages=("${build_packages[@]}")
if [ "$mode" = all ]; then
  packages+=("${test_packages[@]}")
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: not root and sudo is missing" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Some Node.js builds bundle npm (and conflict with Debian's npm package).
if [ "$mode" = all ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all packages present"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi

# playwright-core for tests/browser (no install scripts, no browser download:
# the test uses /usr/bin/chromium). Reinstalled when the lock file changes.
browser="$root/tests/browser"
stamp="$browser/node_modules/.installed-package-lock.json"
if [ "$mode" = all ] && ! cmp -s "$browser/package-lock.json" "$stamp"; then
  echo "install-deps: npm ci in tests/browser"
  (cd "$browser" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
  cp "$browser/package-lock.json" "$stamp"
fi
