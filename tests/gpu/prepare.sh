#!/usr/bin/env bash
# Run HERE (a development machine with CUDA 13 + cuDNN 9 under /usr/local/cuda,
# no GPU) before sending tests/gpu/run.sh to a GPU machine. Fills .gpu-carry/
# (ignored by git through .git/info/exclude; pass it in the device call's
# `carry`) with what the GPU machine lacks:
#   debs/          the Debian 12 -dev packages cnnserve builds against (oneDNN,
#                  cJSON, HDF5, libmicrohttpd, libuv, stb, protobuf-c), unpacked
#                  there into a private prefix for the from-source build;
#   bin/, lib/     a cnnserve built here with CNN_CUDA=ON and the shared
#                  libraries it loads except the C/C++ runtime, CUDA's and
#                  oneDNN's (from debs/): the fallback when the build there fails;
#   fashion-mnist/ the Fashion-MNIST test split (10,000 images) for the
#                  trained models' accuracy check.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
carry="$root/.gpu-carry"
grep -qx '/.gpu-carry/' "$(git -C "$root" rev-parse --git-common-dir)/info/exclude" 2>/dev/null ||
  echo '/.gpu-carry/' >> "$(git -C "$root" rev-parse --git-common-dir)/info/exclude"
rm -rf "$carry"
mkdir -p "$carry/debs" "$carry/bin" "$carry/lib" "$carry/fashion-mnist"

build="$root/build" # scripts/build.sh's Release build, with the CUDA backend required
echo "== cnnserve with the CUDA backend ($build)" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCNN_CUDA=ON >/dev/null
cmake --build "$build" -j2 --target cnnserve >&2
cp "$build/server/cnnserve" "$build/engine/libcnn_cuda.so" "$carry/bin/" # the module is looked for next to the program
# Its shared libraries, except the C/C++ runtime (newer on the GPU machine),
# the CUDA libraries (the GPU machine's own) and oneDNN (in the .debs below).
ldd "$build/server/cnnserve" "$build/engine/libcnn_cuda.so" | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|libresolv.so*|ld-linux*|libstdc++.so*|libgcc_s.so*) ;;
    libgomp.so*|libz.so*|libcuda*|libcublas*|libcudnn*|libOpenCL*|libdnnl*) ;;
    *) cp -L "$lib" "$carry/lib/" ;;
  esac
done

echo "== Debian packages for the build on the GPU machine" >&2
pkgs="libdnnl-dev libdnnl2 libcjson-dev libcjson1 libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0
  libcurl4 libmicrohttpd-dev libmicrohttpd12 libuv1-dev libuv1 libstb-dev libstb0 libprotobuf-c-dev
  libprotobuf-c1 protobuf-c-compiler libprotoc32 libprotobuf32 libcmocka-dev libcmocka0"
(cd "$carry/debs" && for p in $pkgs; do apt-get download "$p" >/dev/null 2>&1 || echo "   (no package $p)" >&2; done)

cp /usr/share/datasets/fashion-mnist/t10k-* "$carry/fashion-mnist/"
du -sh "$carry" >&2
echo "(the device call carries at most 64 MiB with the working tree)" >&2
