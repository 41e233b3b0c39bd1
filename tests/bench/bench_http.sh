#!/usr/bin/env bash
# HTTP benchmark of `cnnserve serve` with wrk (tests/bench/wrk_request.lua):
# requests/s and p50/p99 latency for POST /classify (lenet5-fashion, one
# 28x28 PNG per request) and GET /health/live (this machine's HTTP ceiling)
# at each concurrency; then a ResNet-50 with random weights (made in a
# temporary directory) through HTTP at a concurrency that fills batches,
# against `cnnserve bench` engine throughput at the same batch size and
# threads (measured right before and right after the server, the mean of
# the two is the reference). Prints markdown tables on stdout, progress on
# stderr. Not a test: nothing is asserted. LeNet-5 runs with the server's
# default engine threads (one, for a model that small); ResNet-50 with
# --threads on both sides.
#
#   tests/bench/bench_http.sh [--duration 10] [--conns 1,16,64] [--http-threads 2] [--threads 2]
#                             [--resnet-batch 8] [--resnet-conns 16] [--resnet-duration 60]
#                             [--no-lenet] [--no-resnet] [--build build]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
duration=10 conns="1,16,64" http_threads=2 threads=2
resnet_batch=8 resnet_conns=16 resnet_duration=60 lenet=1 resnet=1 build="$root/build"
python=/usr/bin/python3 # Debian's, which has torch

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --http-threads) http_threads="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --resnet-batch) resnet_batch="$2"; shift 2 ;;
    --resnet-conns) resnet_conns="$2"; shift 2 ;;
    --resnet-duration) resnet_duration="$2"; shift 2 ;;
    --no-lenet) lenet=0; shift ;;
    --no-resnet) resnet=0; shift ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench_http: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

cnnserve="$build/server/cnnserve"
[ -x "$cnnserve" ] || { echo "bench_http: $cnnserve not built (run scripts/build.sh)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench_http: wrk missing (scripts/install-deps.sh)" >&2; exit 1; }

tmp="$(mktemp -d -t cnnserve-bench-http.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_server MODELS_DIR [flags...]: starts `cnnserve serve` on a free
# port; sets server_pid and port once it is ready.
start_server() {
  local models="$1" log="$tmp/server.log"
  shift
  "$cnnserve" serve --models "$models" --port 0 --http-threads "$http_threads" --connection-limit 1024 \
    "$@" 2>"$log" &
  server_pid=$!
  for _ in $(seq 600); do
    if grep -q "ready:" "$log"; then
      port="$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$log")"
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.5
  done
  echo "bench_http: the server did not become ready" >&2
  return 1
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}

# run_wrk CONNS SECONDS PATH [BODY_FILE CONTENT_TYPE]: sets rps, p50, p99
# (ms), errors and requests from wrk_request.lua's RESULT line.
run_wrk() {
  local c="$1" secs="$2" path="$3" body="${4:-}" ct="${5:-}" t=2 line
  [ "$c" -lt 2 ] && t=1
  line="$(BENCH_METHOD="$([ -n "$body" ] && echo POST || echo GET)" BENCH_BODY="$body" BENCH_CONTENT_TYPE="$ct" \
    wrk -t "$t" -c "$c" -d "${secs}s" --timeout 30s -s "$here/wrk_request.lua" "http://127.0.0.1:$port$path" |
    grep '^RESULT')"
  eval "$(echo "$line" | sed 's/^RESULT //')" # requests= duration_us= p50_us= p99_us= errors= non2xx=
  rps="$(awk -v n="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", n / (d / 1e6) }')"
  p50="$(awk -v v="$p50_us" 'BEGIN { printf "%.2f", v / 1e3 }')"
  p99="$(awk -v v="$p99_us" 'BEGIN { printf "%.2f", v / 1e3 }')"
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "bench_http: $(nproc) CPUs, load average $(load) at start" >&2
png="$root/models/lenet5-fashion/samples/0_ankle_boot.png"

# ---- lenet5-fashion /classify and /health/live -------------------------
if [ "$lenet" = 1 ]; then
start_server "$root/models"
echo "bench_http: lenet5-fashion on port $port, warm-up" >&2
run_wrk 16 2 /classify "$png" image/png
echo
echo "| route | concurrency | requests/s | p50 ms | p99 ms | errors (non-2xx) |"
echo "|---|---:|---:|---:|---:|---:|"
declare -A rate
IFS=, read -ra clist <<<"$conns"
for route in "POST /classify" "GET /health/live"; do
  for c in "${clist[@]}"; do
    echo "bench_http: $route at concurrency $c" >&2
    if [ "$route" = "POST /classify" ]; then
      run_wrk "$c" "$duration" /classify "$png" image/png
    else
      run_wrk "$c" "$duration" /health/live
    fi
    rate["$route/$c"]="$rps"
    echo "| \`$route\` | $c | $rps | $p50 | $p99 | $errors ($non2xx) |"
  done
done
stop_server
last="${clist[${#clist[@]}-1]}"
echo
awk -v a="${rate["POST /classify/$last"]}" -v b="${rate["GET /health/live/$last"]}" -v c="$last" \
  'BEGIN { printf "classify / health-live at concurrency %d: %.0f%% (target >= 50%%)\n", c, 100 * a / b }'
fi

# ---- ResNet-50: server vs engine ----------------------------------------
if [ "$resnet" = 1 ]; then
  "$here/make_resnet50.sh" "$cnnserve" "$tmp" 256
  engine() {
    "$cnnserve" bench "$tmp/repo/resnet50" --batch "$resnet_batch" --precision fp32 --threads "$threads" \
      --iters 10 --warmup 2 --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["images_per_s"])'
  }
  echo "bench_http: engine throughput (before)" >&2
  engine_before="$(engine)"
  start_server "$tmp/repo" --max-batch-size "$resnet_batch" --threads "$threads" --default-model resnet50
  echo "bench_http: resnet50 /classify at concurrency $resnet_conns, warm-up" >&2
  run_wrk "$resnet_conns" 10 /classify "$tmp/image.jpg" image/jpeg
  echo "bench_http: resnet50 /classify at concurrency $resnet_conns" >&2
  run_wrk "$resnet_conns" "$resnet_duration" /classify "$tmp/image.jpg" image/jpeg
  metrics="$(curl -s "http://127.0.0.1:$port/metrics" || true)"
  stop_server
  echo "bench_http: engine throughput (after)" >&2
  engine_after="$(engine)"
  mean_batch="$(echo "$metrics" | awk '/^cnnserve_batch_size_sum/ { s = $2 } /^cnnserve_batch_size_count/ { n = $2 }
    END { if (n > 0) printf "%.2f", s / n; else print "n/a" }')"
  # The engine's own pace inside the server: images per second of batch run time.
  inside="$(echo "$metrics" | awk '/^cnnserve_batch_size_sum/ { s = $2 } /^cnnserve_batch_duration_seconds_sum/ { t = $2 }
    END { if (t > 0) printf "%.1f", s / t; else print "n/a" }')"
  echo
  echo "| ResNet-50 fp32, batch $resnet_batch, $threads threads | images/s | p50 ms | p99 ms | errors | mean batch |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '| `cnnserve bench` (before / after) | %.1f / %.1f | | | | %d |\n' "$engine_before" "$engine_after" "$resnet_batch"
  echo "| engine inside the server (batch images / batch run time, from /metrics) | $inside | | | | |"
  echo "| HTTP \`POST /classify\` (JPEG 256x256), concurrency $resnet_conns | $(awk -v n="$requests" -v d="$duration_us" 'BEGIN { printf "%.1f", n / (d / 1e6) }') | $p50 | $p99 | $errors | $mean_batch |"
  echo
  awk -v s="$requests" -v d="$duration_us" -v a="$engine_before" -v b="$engine_after" \
    'BEGIN { printf "ResNet-50 HTTP / engine: %.0f%% (target >= 90%%)\n", 100 * (s / (d / 1e6)) / ((a + b) / 2) }'
fi
echo "bench_http: load average $(load) at the end" >&2
