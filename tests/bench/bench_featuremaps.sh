#!/usr/bin/env bash
# Feature maps of every layer (layers=all) of a 224x224 ResNet-50 with
# random weights (made in a temporary directory, as bench_http.sh does):
# time and response size of POST /featuremaps with JSON numbers and with
# base64, next to a plain /classify, and the server's peak resident memory
# (VmHWM) after each kind. Prints a markdown table on stdout, progress on
# stderr. Not a test: nothing is asserted.
#
#   tests/bench/bench_featuremaps.sh [--reps 3] [--threads 2] [--build build]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
reps=3 threads=2 build="$root/build"
python=/usr/bin/python3 # Debian's, which has torch
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_featuremaps: unknown option $1" >&2; exit 2 ;;
  esac
done
cnnserve="$build/server/cnnserve"
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$here/make_resnet50.sh" "$cnnserve" "$tmp" 224

"$cnnserve" serve --models "$tmp/repo" --port 0 --threads "$threads" --max-response-bytes 2000000000 \
  2>"$tmp/log" &
server_pid=$!
for _ in $(seq 600); do
  grep -q "ready:" "$tmp/log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/log" >&2; exit 1; }
  sleep 0.5
done
port="$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$tmp/log")"
hwm() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status"; }
layers="$(curl -s "http://127.0.0.1:$port/v1/models/resnet50/layers" |
  "$python" -c 'import json,sys; d=json.load(sys.stdin)["layers"]; print(len(d), sum(l["shape"][0]*l["shape"][1]*l["shape"][2] for l in d))')"
echo "bench_featuremaps: $layers (layers, floats per image); idle peak RSS $(hwm) MiB" >&2

echo "| request (ResNet-50 224x224, fp32, $threads threads) | median s | response bytes | peak RSS MiB after |"
echo "|---|--:|--:|--:|"
for what in classify "featuremaps?layers=all&encoding=base64" "featuremaps?layers=all"; do
  times=()
  for r in $(seq "$reps"); do
    out="$(curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}' \
      -H 'Content-Type: image/jpeg' --data-binary @"$tmp/image.jpg" "http://127.0.0.1:$port/v1/models/resnet50/$what")"
    read -r code t size <<<"$out"
    [ "$code" = 200 ] || { echo "bench_featuremaps: $what answered $code" >&2; exit 1; }
    echo "bench_featuremaps: $what rep $r: ${t}s, $size bytes" >&2
    times+=("$t")
  done
  median="$(printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
  echo "| \`$what\` | $median | $size | $(hwm) |"
done
