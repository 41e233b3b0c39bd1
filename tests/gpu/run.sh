#!/usr/bin/env bash
# CUDA backend check on a machine with an NVIDIA GPU: build, cross-backend
# conformance (CUDA vs CPU), then the GPU benchmark against PyTorch; every
# result goes to one file, $OUT/gpu_results.md (or ./gpu_results.md). Meant to
# finish within 5 minutes on an H100/H200.
#
# What the lent GPU machines have (/work/.library/device/KINDS.md, read
# 2026-11-28; NOT yet verified by running this script: no GPU was lent to the
# session that wrote it):
#   - x86-64, 16 cores, one H100 (80 GB) or H200 (141 GB), driver 580, CUDA 13.0
#     with nvcc, CMake, ninja, gcc; no network, no apt, no PyPI.
#   - python3 = /opt/torch/.venv/bin/python3 with torch 2.11 (+cu130),
#     torchvision 0.26, numpy; cuDNN 9 comes as the pip package
#     nvidia-cudnn-cu13 inside that venv (headers and libcudnn.so.9), unless
#     the toolkit folder has it: found below with `find` and passed to CMake
#     as CUDNN_INCLUDE_DIR / CUDNN_LIBRARY.
#   - NOT there: oneDNN, cJSON, HDF5, libmicrohttpd, libuv, stb, protobuf-c
#     (cnnserve's Debian 12 build dependencies). tests/gpu/prepare.sh, run on a
#     development machine first, puts their .debs into .gpu-carry/debs; this
#     script unpacks them into a private prefix and builds from the working
#     tree. If that build fails, it runs the cnnserve prepare.sh built there
#     (.gpu-carry/bin + .gpu-carry/lib) against the machine's CUDA libraries.
# Device call (the tool sends the checkout the session started in, so this
# branch must be checked out there): run tests/gpu/prepare.sh here, then
#   run(command="tests/gpu/run.sh", carry=[".gpu-carry"], timeout_s=480)
# and read gpu_results.md (and gpu_log.txt) from the returned files.
# CNN_GPU_PREBUILT=1 tests/gpu/run.sh skips the build there (saves ~1 min).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
carry="$root/.gpu-carry"
out_dir="${OUT:-$root}"
results="$out_dir/gpu_results.md"
log="$out_dir/gpu_log.txt"
: > "$log"
py=python3
start=$(date +%s)
note() { echo "$*" | tee -a "$results" >&2; }
elapsed() { echo $(( $(date +%s) - start )); }

echo "# cnnserve CUDA backend: GPU check ($(date -u +%FT%TZ))" > "$results"
note ""
note '```'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$results" >&2
note "nvcc: $(nvcc --version 2>/dev/null | tail -1)"
note "python: $($py -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1)"
note '```'

# --- cuDNN and the other build dependencies ---
# Where cuDNN and the CUDA libraries are: the toolkit's folders or the pip
# packages (nvidia-cudnn-cu13, nvidia-cublas, ...) of the torch venv.
find_one() { find /usr/local /opt /usr/lib /usr/include -xdev -name "$1" 2>/dev/null | sort | head -1; }
cudnn_h="$(find_one cudnn.h)"
cudnn_so="$(find_one 'libcudnn.so.9')"
lt_so="$(find_one 'libcublasLt.so.13')"
rt_so="$(find_one 'libcudart.so.13')"
note "cuDNN: ${cudnn_h:-cudnn.h not found}, ${cudnn_so:-libcudnn.so.9 not found}; cuBLASLt: ${lt_so:-not found}; cudart: ${rt_so:-not found}"
# cnnserve's own library path (CUDA, cuDNN, the unpacked packages); python
# (torch) keeps the machine's.
cuda_libs=""
for f in "$cudnn_so" "$lt_so" "$rt_so"; do [ -n "$f" ] && cuda_libs="$cuda_libs$(dirname "$f"):"; done
cuda_libs="${cuda_libs}/usr/local/cuda/lib64:/usr/local/cuda/lib"
prefix=/tmp/cnn-gpu-deps
pkg_libs="$prefix/usr/lib/x86_64-linux-gnu:$prefix/usr/lib/x86_64-linux-gnu/hdf5/serial"
if [ -d "$carry/debs" ]; then
  mkdir -p "$prefix"
  for d in "$carry"/debs/*.deb; do dpkg -x "$d" "$prefix" 2>>"$log"; done
  # Unversioned .so links of the -dev packages may point at absolute /usr paths: relink inside the prefix.
  for l in "$prefix"/usr/lib/x86_64-linux-gnu/*.so "$prefix"/usr/lib/x86_64-linux-gnu/hdf5/serial/*.so; do
    [ -L "$l" ] && ln -sf "$(basename "$(readlink "$l")")" "$l"
  done
fi
real=""
gen=""
command -v ninja >/dev/null && gen="-G Ninja"
# CNN_GPU_PREBUILT=1 skips the build and runs the carried binary.
if [ -z "${CNN_GPU_PREBUILT:-}" ] && [ -d "$carry/debs" ] && [ -n "$cudnn_h" ] && [ -n "$cudnn_so" ]; then
  if ( export PKG_CONFIG_PATH="$prefix/usr/lib/x86_64-linux-gnu/pkgconfig:$prefix/usr/share/pkgconfig"
       export PKG_CONFIG_SYSROOT_DIR="$prefix" PATH="$prefix/usr/bin:$PATH"
       export LD_LIBRARY_PATH="$pkg_libs:${LD_LIBRARY_PATH:-}"
       timeout 60 cmake -S "$root" -B /tmp/cnn-build $gen -DCMAKE_BUILD_TYPE=Release -DCNN_CUDA=ON \
         -DCUDNN_INCLUDE_DIR="$(dirname "$cudnn_h")" -DCUDNN_LIBRARY="$cudnn_so" -DCMAKE_PREFIX_PATH="$prefix/usr;$prefix/usr/lib/x86_64-linux-gnu/cmake" \
         -DHDF5_ROOT="$prefix/usr/lib/x86_64-linux-gnu/hdf5/serial" \
         -DHDF5_INCLUDE_DIRS="$prefix/usr/include/hdf5/serial" -DSTB_INCLUDE_DIR="$prefix/usr/include/stb" &&
       timeout 120 cmake --build /tmp/cnn-build -j16 --target cnnserve ) >>"$log" 2>&1; then
    real=/tmp/cnn-build/server/cnnserve
    note "build: from the working tree on this machine ($(elapsed) s)"
  else
    note "build: from source FAILED after $(elapsed) s (see gpu_log.txt); using the carried binary"
  fi
fi
libs="$cuda_libs:$pkg_libs"
if [ -z "$real" ] && [ -x "$carry/bin/cnnserve" ]; then
  real="$carry/bin/cnnserve"
  libs="$cuda_libs:$carry/lib:$pkg_libs"
  note "build: carried binary (built by tests/gpu/prepare.sh)"
fi
bin=/tmp/cnnserve
printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' "$libs" "$real" > "$bin"
chmod +x "$bin"
if [ -z "$real" ] || ! "$bin" help >/dev/null 2>>"$log"; then
  note "no runnable cnnserve: stopping"
  LD_LIBRARY_PATH="$libs" ldd "$real" >>"$log" 2>&1
  exit 1
fi
note "classify on the GPU: $("$bin" classify "$root/models/lenet5-fashion" \
  "$root/models/lenet5-fashion/samples/0_ankle_boot.png" --device cuda --top-k 1 2>&1 | tr '\n' ' ')"

# --- conformance: CUDA vs CPU ---
note ""
note "## Conformance (CUDA vs CPU, CNN_CUDA_GUARD=1)"
# Whatever finished is in the results when a part runs out of time (tables are printed row by row).
conf_s=$(( 295 - 70 - $(elapsed) ))
[ "$conf_s" -gt 170 ] && conf_s=170
CNN_CUDA_GUARD=1 timeout "$conf_s" $py "$root/tests/gpu/conformance.py" "$bin" --fashion "$carry/fashion-mnist" \
  >>"$results" 2>>"$log"
conf_rc=$?
note "conformance exit status: $conf_rc ($(elapsed) s)"

# --- benchmark: cnnserve vs PyTorch on this GPU ---
note ""
note "## Benchmark (images/s)"
left=$(( 295 - $(elapsed) ))
if [ "$left" -gt 30 ]; then
  timeout "$left" $py "$root/tests/gpu/bench_gpu.py" "$bin" --budget "$((left - 10))" >>"$results" 2>>"$log"
  note "benchmark exit status: $? ($(elapsed) s)"
else
  note "benchmark skipped: no time left"
fi
tail -n 60 "$results"
exit "$conf_rc"
