-- benches/load.sh: plain GET (the URL given to wrk), with the report line.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
function done(summary, latency, requests) bench_report(summary, latency) end
