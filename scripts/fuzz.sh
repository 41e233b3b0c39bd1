#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each one for
# a bounded time on a seed corpus made from the repository's own files.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20; CI uses the default)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCNN_FUZZ=ON -DCNN_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 --target fuzz_safetensors fuzz_model_config fuzz_image fuzz_npy fuzz_onnx \
  fuzz_hdf5 fuzz_keras_log keras_log_record fuzz_multipart fuzz_json_body fuzz_fmap_query fuzz_graph >/dev/null

shopt -s nullglob
corpus=build-fuzz/corpus
mkdir -p "$corpus"/{safetensors,model_config,image,npy,onnx,hdf5,keras_log,multipart,json_body,fmap_query,graph}
cp models/*/weights.safetensors "$corpus/safetensors/" 2>/dev/null || true
for f in models/*/weights.safetensors; do head -c 4096 "$f" > "$corpus/safetensors/head-$(basename "$(dirname "$f")")"; done
cp models/*/model.json tests/fuzz/seeds/*.json "$corpus/model_config/" 2>/dev/null || true
cp models/*/samples/* "$corpus/image/" 2>/dev/null || true
cp tests/fuzz/seeds/multipart/* "$corpus/multipart/"
cp tests/fuzz/seeds/json_body/* "$corpus/json_body/"
cp tests/fuzz/seeds/fmap_query/* "$corpus/fmap_query/"
# fuzz_graph reads its input as the decisions of a model generator: random bytes, and the
# reproducers of what it found (each one a regression test).
cp tests/fuzz/seeds/graph/* "$corpus/graph/"
# ONNX seeds: the small operator-test models of libonnx-testdata for the mapped operators.
for d in /usr/share/libonnx-testdata/data/{node,pytorch-converted}/test_*; do
  case "$(basename "$d" | tr 'A-Z' 'a-z')" in
    *conv*|*pool*|*gemm*|*matmul*|*linear*|*relu*|*elu*|*sigmoid*|*tanh*|*softmax*|*lrn*|*batchnorm*|\
    *dropout*|*concat*|*add*|*flatten*|*reshape*|*pad*|*clip*|*identity*)
      if [ -f "$d/model.onnx" ] && [ "$(stat -c %s "$d/model.onnx")" -lt 65536 ]; then
        cp "$d/model.onnx" "$corpus/onnx/$(basename "$(dirname "$d")")-$(basename "$d").onnx"
      fi ;;
  esac
done
/usr/bin/python3 - "$corpus/onnx" <<'PY'
import sys, onnx
sys.path.insert(0, "tests/conformance")
import test_onnx_node
for name, model, _, _ in test_onnx_node.own_cases():
    onnx.save(model, f"{sys.argv[1]}/{name.replace('/', '-')}.onnx")
PY
/usr/bin/python3 - "$corpus/npy" <<'PY'
import sys, numpy as np
np.save(sys.argv[1] + "/a.npy", np.zeros((1, 1, 4, 4), np.float32))
np.save(sys.argv[1] + "/b.npy", np.ones((2, 3), np.float32))
PY
# Keras files (the conformance test's models, written with h5py) and the
# logs of HDF5 answers their import records.
/usr/bin/python3 - "$corpus/hdf5" <<'PY'
import sys
sys.path.insert(0, "tests/conformance")
import keras_layout as kl, test_keras_vs_torch as t
for name, case in t.CASES.items():
    config, shape, opts = case()
    kl.save(f"{sys.argv[1]}/{name}.h5", config, kl.random_weights(config, shape, 0), **opts)
PY
for f in "$corpus"/hdf5/*.h5; do
  build-fuzz/tests/fuzz/keras_log_record "$f" "$corpus/keras_log/$(basename "$f" .h5).log"
done

# fuzz_hdf5 runs libhdf5 1.10, which has its own bugs on malformed files: it
# asks malloc for the sizes corrupt headers claim (8 TB: malloc returns NULL
# and libhdf5 fails cleanly, so ASan may return NULL and single allocations
# are not limited; the RSS limit holds), leaks on failed opens (suppressed
# in tests/fuzz/hdf5.supp), and can crash or loop forever (e.g. H5HG_read on
# a variable-length string whose heap index is out of range). `convert` runs
# libhdf5 in a child process for that reason. So fuzz_hdf5 runs in
# libFuzzer's fork mode, which records crashes, timeouts and OOMs and goes
# on; afterwards each finding is run again and attributed by its innermost
# frame outside the sanitizer and fuzzer runtimes: libhdf5's are listed,
# anything else (our code) fails the run.
hdf5_opts=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=10 -malloc_limit_mb=1000000000)
hdf5_asan="allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/hdf5.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# Attributes fuzz_hdf5's findings (see above); returns 1 when one is ours.
hdf5_findings() {
  local f out top bad=0
  for f in build-fuzz/fuzz_hdf5-{crash,timeout,oom,leak,slow-unit}-*; do
    out=$(env ASAN_OPTIONS="$hdf5_asan" build-fuzz/tests/fuzz/fuzz_hdf5 -timeout=10 -rss_limit_mb=2048 \
          -malloc_limit_mb=1000000000 "$f" 2>&1 || true)
    top=$(grep -E '^ +#[0-9]+ ' <<<"$out" \
          | grep -vE '__interceptor_|__asan|__sanitizer|__lsan|fuzzer::|/libc\.so|/sysdeps/|in _start|in main ' \
          | grep -vE ' in (malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memcpy|memmove|memset) ' \
          | head -n 1 || true)
    if [[ "$top" == *libhdf5* ]]; then
      echo "fuzz_hdf5: libhdf5's own failure (not ours): $f:$top" >&2
    elif ! grep -qE 'ERROR: |runtime error:|SUMMARY: ' <<<"$out"; then
      echo "fuzz_hdf5: $f does not reproduce" >&2
    else
      echo "fuzz_hdf5: FINDING IN OUR CODE: $f:$top" >&2
      bad=1
    fi
  done
  return $bad
}
rm -f build-fuzz/fuzz_hdf5-{crash,timeout,oom,leak,slow-unit}-*

# UBSan reports are findings too (the fuzz build recovers from them by default).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
status=0
for target in safetensors model_config image npy onnx hdf5 keras_log multipart json_body fmap_query graph; do
  echo "fuzz_$target: ${seconds}s" >&2
  opts=()
  env=()
  if [ "$target" = hdf5 ]; then
    opts=("${hdf5_opts[@]}")
    env=(ASAN_OPTIONS="$hdf5_asan")
  fi
  if [ "$target" = graph ]; then
    # A model takes a few hundred decision bytes; one oneDNN thread keeps runs reproducible.
    opts=(-max_len=2048)
    env=(OMP_NUM_THREADS=1)
  fi
  rc=0
  env "${env[@]}" build-fuzz/tests/fuzz/fuzz_$target -max_total_time="$seconds" -rss_limit_mb=2048 \
      -max_len=1048576 -print_final_stats=0 "${opts[@]}" -artifact_prefix="build-fuzz/fuzz_$target-" \
      "$corpus/$target" > "build-fuzz/fuzz_$target.log" 2>&1 || rc=$?
  # In fork mode libFuzzer exits with the status of its last job, which may be
  # an ignored crash, timeout or OOM of libhdf5's: hdf5_findings below judges
  # every saved finding, so only a fuzzer that did not run to its end fails here.
  if [ "$target" = hdf5 ] && grep -q '^INFO: exiting: ' "build-fuzz/fuzz_$target.log"; then
    rc=0
  fi
  if [ "$rc" -ne 0 ]; then
    echo "fuzz_$target FAILED — see build-fuzz/fuzz_$target.log" >&2
    tail -n 40 "build-fuzz/fuzz_$target.log" >&2
    status=1
  fi
done
hdf5_findings || status=1
exit $status
