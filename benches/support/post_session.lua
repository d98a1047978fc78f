-- wrk: POST /sessions with a fresh session id per request and the bearer
-- token from BENCH_TOKEN; BENCH_QUERY (e.g. "?format=credential-process")
-- picks the representation.
local counter = 0
local token = os.getenv("BENCH_TOKEN")
local query = os.getenv("BENCH_QUERY") or ""
local prefix = tostring(math.random(1, 1000000000))

request = function()
  counter = counter + 1
  local body = string.format('{"session_id":"bench-%s-%d"}', prefix, counter)
  return wrk.format("POST", "/sessions" .. query,
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
