#!/usr/bin/env bash
# Builds cnnserve: a Release build in build/, or with --asan an
# AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/.
#   scripts/build.sh [--asan] [extra cmake -D options...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/build"
opts=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--asan" ]; then
  shift
  dir="$root/build-asan"
  opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCNN_SANITIZE=ON)
fi
jobs="$(nproc 2>/dev/null || echo 2)"

cmake -S "$root" -B "$dir" "${opts[@]}" "$@" >/dev/null
cmake --build "$dir" -j "$jobs"
