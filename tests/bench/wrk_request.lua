-- wrk script for tests/bench/bench_http.sh: every request is the same one,
-- described by environment variables:
--   BENCH_METHOD        GET (default) or POST
--   BENCH_BODY          file whose bytes are the body (optional)
--   BENCH_CONTENT_TYPE  its Content-Type (optional)
-- At the end prints one machine-readable line:
--   RESULT requests=N duration_us=N p50_us=N p99_us=N errors=N non2xx=N
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  local f = assert(io.open(body, "rb"))
  wrk.body = f:read("*a")
  f:close()
end
local content_type = os.getenv("BENCH_CONTENT_TYPE")
if content_type and content_type ~= "" then
  wrk.headers["Content-Type"] = content_type
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout, e.status))
end
