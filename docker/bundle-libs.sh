#!/bin/sh
# Copies the shared libraries a program loads (its ldd closure) into DIR, less
# those the runtime image brings itself: glibc, libstdc++/libgcc_s (the newer
# distribution's are compatible) and the CUDA/cuDNN libraries of the NVIDIA base.
# docker/Dockerfile.cuda runs a binary built on Debian 12 on the Ubuntu-based
# CUDA runtime image with the Debian libraries it copies this way.
#   docker/bundle-libs.sh PROGRAM DIR
set -eu
prog="$1" dir="$2"
mkdir -p "$dir"
if ldd "$prog" | grep -q 'not found'; then
  echo "bundle-libs: $prog has unresolved libraries:" >&2
  ldd "$prog" | grep 'not found' >&2
  exit 1
fi
ldd "$prog" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do
  case "$(basename "$lib")" in
    ld-linux*|libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|libresolv.so*|libutil.so*) ;;
    libstdc++.so*|libgcc_s.so*) ;;
    libcuda.so*|libcudart.so*|libcudnn*|libcublas*|libnvrtc*|libnvJitLink*) ;;
    *) cp -L "$lib" "$dir/" ;;
  esac
done
