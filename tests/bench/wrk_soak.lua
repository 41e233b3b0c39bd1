-- wrk script for tests/bench/soak_load_balancer.py: POST /classify?top_k=1 with
-- one image, checking every answer's top-1 class. Environment:
--   SOAK_BODY         the image file (PNG)
--   SOAK_CLASS        its expected top-1 class index
--   SOAK_DELAY_MS     pause of each connection between its requests (0: none)
-- At the end prints one machine-readable line:
--   RESULT requests=N duration_us=N p50_us=N p99_us=N p999_us=N errors=N non2xx=N wrong=N
wrk.method = "POST"
wrk.path = "/classify?top_k=1"
wrk.headers["Content-Type"] = "image/png"
local f = assert(io.open(os.getenv("SOAK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
local expect = '"class":' .. assert(os.getenv("SOAK_CLASS")) .. ','
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "0")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
end

function delay()
  return pause
end

function response(status, headers, body)
  if status == 200 and not body:find(expect, 1, true) then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do
    w = w + (t:get("wrong") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d errors=%d non2xx=%d wrong=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.connect + e.read + e.write + e.status + e.timeout, e.status, w))
end
