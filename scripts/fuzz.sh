#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each one for
# a bounded time on a seed corpus made from the repository's own files.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20; CI uses the default)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCNN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 --target fuzz_safetensors fuzz_model_config fuzz_image fuzz_npy >/dev/null

shopt -s nullglob
corpus=build-fuzz/corpus
mkdir -p "$corpus"/{safetensors,model_config,image,npy}
cp models/*/weights.safetensors "$corpus/safetensors/" 2>/dev/null || true
for f in models/*/weights.safetensors; do head -c 4096 "$f" > "$corpus/safetensors/head-$(basename "$(dirname "$f")")"; done
cp models/*/model.json tests/fuzz/seeds/*.json "$corpus/model_config/" 2>/dev/null || true
cp models/*/samples/* "$corpus/image/" 2>/dev/null || true
/usr/bin/python3 - "$corpus/npy" <<'PY'
import sys, numpy as np
np.save(sys.argv[1] + "/a.npy", np.zeros((1, 1, 4, 4), np.float32))
np.save(sys.argv[1] + "/b.npy", np.ones((2, 3), np.float32))
PY

status=0
for target in safetensors model_config image npy; do
  echo "fuzz_$target: ${seconds}s" >&2
  if ! build-fuzz/tests/fuzz/fuzz_$target -max_total_time="$seconds" -rss_limit_mb=2048 \
       -max_len=1048576 -print_final_stats=0 "$corpus/$target" > "build-fuzz/fuzz_$target.log" 2>&1; then
    echo "fuzz_$target FAILED — see build-fuzz/fuzz_$target.log" >&2
    tail -n 40 "build-fuzz/fuzz_$target.log" >&2
    status=1
  fi
done
exit $status
