-- benches/store.sh: POST /api/v2/runs (specs/sift-runs-v2.yaml) with the spec's example body and
-- a distinct name and clientKey per request; each thread stops after its share of BENCH_CREATES
-- answers (the store's own count is what the bench reads). BENCH_SESSIONS=1 sends each request
-- in a new X-Specstub-Session; BENCH_METHOD=GET lists one run instead of creating one.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local total = tonumber(os.getenv("BENCH_CREATES") or "1000")
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local method = os.getenv("BENCH_METHOD") or "POST"
local per_session = os.getenv("BENCH_SESSIONS") == "1"
local next_tid = 0
function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end
function init(args)
  quota = math.ceil(total / threads)
  sent, answered = 0, 0
end
function request()
  sent = sent + 1
  local key = string.format("t%d-%d", tid, sent)
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer bench" }
  if per_session then headers["X-Specstub-Session"] = "s-" .. key end
  if method == "GET" then return wrk.format("GET", "/api/v2/runs?pageSize=1", headers) end
  local body = '{"name":"hotfire-test-' .. key .. '","description":"Static fire of engine E2 at 90% throttle.",'
    .. '"tags":["hotfire","engine-e2"],"startTime":"2024-05-15T09:00:00Z","clientKey":"' .. key .. '",'
    .. '"metadata":[{"key":{"name":"test_stand","type":"METADATA_KEY_TYPE_STRING"},"stringValue":"stand-b"}],'
    .. '"createDefaultReport":true}'
  return wrk.format("POST", "/api/v2/runs", headers, body)
end
function response(status, headers, body)
  answered = answered + 1
  if answered >= quota then wrk.thread:stop() end
end
function done(summary, latency, requests) bench_report(summary, latency) end
