-- benches/load.sh: POST of a valid body for createItem in benches/specs/bench.yaml (every
-- property present, formats included, so the whole schema is exercised).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"nightly-build","email":"ops@example.com","createdAt":"2024-05-01T12:00:00Z",'
  .. '"ownerId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","count":7,"price":12.25,"status":"paused",'
  .. '"active":true,"tags":["ci","bench","nightly"]}'
function done(summary, latency, requests) bench_report(summary, latency) end
