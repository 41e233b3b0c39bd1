#!/usr/bin/env bash
# CPU benchmark: cnnserve (fp32 and bf16) against PyTorch 1.13 eager and ONNX
# Runtime 1.30, in one run, every peer on the same number of threads, on the
# same random weights (weights-tools/export_torchvision.py; the ONNX file is
# exported from that very module). Prints a markdown table on stdout;
# progress on stderr. Not part of ctest.
#
# cnnserve and ONNX Runtime, the close pair, are measured in alternation for
# --rounds rounds and the table shows the median over rounds, so drift in the
# machine's speed (shared cores) hits both alike.
#
# The table gives cnnserve's GFLOP/s (2 x multiply-adds per image from `cnnserve
# inspect`) as a share of this CPU's measured peak: the faster of two 3x3
# convolutions (256 channels over 28x28, 512 over 14x14; make_peak_model.py) at
# batch 8 in fp32 and in bf16, where oneDNN runs nearest the hardware's limit.
# The CPU's model, flags and the instruction set oneDNN dispatches to head the
# output.
#
# Every peer warms up for at least --warmup runs and --warmup-ms milliseconds per
# batch size before it is timed: the first runs after a model is set up are slower
# (kernel JIT, caches, and oneDNN's bf16 gemm took 5-10x longer for its first
# ~5 runs in a process), so short warm-ups made bf16 look slower than fp32.
#
#   tests/bench/bench_cpu.sh [--models lenet5,resnet18] [--reps 10] [--warmup 10]
#                            [--warmup-ms 500] [--rounds 3] [--batch 1,8] [--threads 2]
#                            [--width-divisor 1] [--build build] [--out tests/bench/out]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
models="" reps=10 warmup=10 warmup_ms=500 rounds=3 batch="1,8" threads=2 divisor=1
build="$root/build" out="$here/out"
python=/usr/bin/python3 # Debian's, which has torch

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --warmup-ms) warmup_ms="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --width-divisor) divisor="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench_cpu: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

cnnserve="$build/server/cnnserve"
[ -x "$cnnserve" ] || { echo "bench_cpu: $cnnserve not built (run scripts/build.sh)" >&2; exit 1; }
if [ -z "$models" ]; then
  models="$("$cnnserve" convert --list | awk 'NR > 1 { print $1 }' | paste -sd, -)"
fi

# ONNX Runtime's CPU build ships inside its npm package; no install script runs.
ort_lib="$here/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
if [ ! -f "$ort_lib" ]; then
  echo "bench_cpu: installing onnxruntime-node 1.30.0 into $here/node_modules" >&2
  (cd "$here" && npm install --ignore-scripts --no-audit --no-fund --no-package-lock >/dev/null)
fi
[ -f "$ort_lib" ] || { echo "bench_cpu: $ort_lib missing after npm install" >&2; exit 1; }

# Prepares one model and measures every peer on it; returns non-zero on the
# first failing step (the table then shows n/a for what is missing).
bench_model() {
  local arch="$1" d="$out/$1" shape
  rm -rf "$d" && mkdir -p "$d" || return 1
  echo "== $arch" >&2
  "$python" "$here/bench_torch.py" --arch "$arch" --width-divisor "$divisor" --out "$d" \
    --batch "$batch" --reps "$reps" --warmup "$warmup" --warmup-ms "$warmup_ms" --threads "$threads" \
    > "$d/torch.json" || return 1
  "$cnnserve" convert --arch "$arch" --name "$arch" --width-divisor "$divisor" \
    --weights "$d/weights.safetensors" --out "$d/model" >&2 || return 1
  "$cnnserve" inspect "$d/model" > "$d/inspect.txt" || return 1
  # Exit status 1 with JSON still written means some configuration failed.
  shape="$("$python" -c 'import json, sys
i = json.load(open(sys.argv[1]))["input"]
print("%d,%d,%d" % (i["channels"], i["height"], i["width"]))' "$d/model/model.json")" || return 1
  local r
  for r in $(seq 1 "$rounds"); do
    echo "-- $arch round $r/$rounds" >&2
    # Exit status 1 with JSON still written means some configuration failed.
    "$cnnserve" bench "$d/model" --batch "$batch" --precision fp32,bf16 --iters "$reps" \
      --warmup "$warmup" --warmup-ms "$warmup_ms" --threads "$threads" --json > "$d/cnnserve.$r.json" ||
      echo "bench_cpu: cnnserve bench reported failures for $arch (see $d/cnnserve.$r.json)" >&2
    node "$here/bench_ort.js" --model "$d/model.onnx" --shape "$shape" --batch "$batch" \
      --reps "$reps" --warmup "$warmup" --warmup-ms "$warmup_ms" --threads "$threads" > "$d/ort.$r.json" || return 1
  done
}

export OMP_NUM_THREADS="$threads"
mkdir -p "$out"
# The CPU's peak as oneDNN reaches it (see above).
for peak in 256,28 512,14; do
  p="$out/peak_${peak/,/_}"
  echo "== peak: 3x3 convolution ${peak%,*} channels, ${peak#*,}x${peak#*,}, batch 8" >&2
  "$python" "$here/make_peak_model.py" "$p" "${peak%,*}" "${peak#*,}" 3 || exit 1
  "$cnnserve" inspect "$p" > "$p/inspect.txt"
  "$cnnserve" bench "$p" --batch 8 --precision fp32,bf16 --iters "$reps" --warmup "$warmup" \
    --warmup-ms "$warmup_ms" --threads "$threads" --json > "$p/bench.json" ||
    echo "bench_cpu: the peak run reported failures (see $p/bench.json)" >&2
  rm -f "$p/weights.safetensors"
done
IFS=, read -r -a archs <<< "$models"
for arch in "${archs[@]}"; do
  bench_model "$arch" || echo "bench_cpu: $arch: a step failed; its missing numbers show as n/a" >&2
  # The large files are only needed during this model's run.
  rm -f "$out/$arch/model.onnx" "$out/$arch/weights.safetensors" "$out/$arch/model/weights.safetensors"
done

echo >&2
echo "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); flags:" \
  "$(grep -m1 -o -w -E 'avx2|fma|avx512f|avx512_bf16|avx512_vnni|avx512_fp16|amx_tile|amx_bf16|amx_int8' /proc/cpuinfo | paste -sd' ' -)"
echo "cnnserve: $("$cnnserve" version | sed -n 's/^cpu: //p')"
echo "Threads: $threads; $reps timed runs after >= $warmup warm-up runs and >= $warmup_ms ms; cnnserve and ORT: median of $rounds alternating rounds; width divisor $divisor; $(nproc) CPUs."
echo
"$python" "$here/bench_report.py" --out "$out" --models "$models" --batch "$batch" --peak "$out"/peak_*
