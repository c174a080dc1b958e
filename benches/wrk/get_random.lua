-- benches/store.sh: GET /records/r-NNNNNNN for ids drawn uniformly from 1..BENCH_RECORDS.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local n = tonumber(os.getenv("BENCH_RECORDS") or "1000")
function init(args) math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0)) end
function request()
  return wrk.format("GET", string.format("/records/r-%07d", math.random(n)))
end
function done(summary, latency, requests) bench_report(summary, latency) end
