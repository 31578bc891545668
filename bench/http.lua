-- wrk script of bench/http.py: the session cookie and the reverse proxy's headers on every
-- request, and a JSON summary written to BENCH_OUT when the run ends.
--   BENCH_COOKIE="__Host-sessionid=…" BENCH_HOST=127.0.0.1:8120 BENCH_OUT=/tmp/x.json \
--     wrk -t2 -c8 -d15s -s bench/http.lua http://127.0.0.1:8120/espace/…/
local cookie = os.getenv("BENCH_COOKIE") or ""
local host = os.getenv("BENCH_HOST")
local out = os.getenv("BENCH_OUT")

if cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
if host then
  wrk.headers["Host"] = host
end
-- bench/catalogue.py: a Bearer token, and a method and body for the API's writes.
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local method = os.getenv("BENCH_METHOD")
if method and method ~= "" then
  wrk.method = method
  wrk.body = os.getenv("BENCH_BODY") or ""
  wrk.headers["Content-Type"] = "application/fhir+json"
end
-- As the TLS reverse proxy of docker-compose.yml sends it (SECURE_PROXY_SSL_HEADER).
wrk.headers["X-Forwarded-Proto"] = "https"

function done(summary, latency, requests)
  if not out then
    return
  end
  local e = summary.errors
  local f = io.open(out, "w")
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d, "mean_us": %.1f, "p50_us": %d, '
      .. '"p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max))
  f:close()
end
