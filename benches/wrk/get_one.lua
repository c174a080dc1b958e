-- benches/store.sh: GET of one path (BENCH_PATH) with a bearer token, to time a read.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
wrk.path = os.getenv("BENCH_PATH") or "/"
wrk.headers["Authorization"] = "Bearer bench"
function done(summary, latency, requests) bench_report(summary, latency) end
