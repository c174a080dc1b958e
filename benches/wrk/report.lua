-- Shared by the wrk scripts of benches/load.sh: prints one machine-readable line that load.sh
-- parses (requests per second, p50/p99 latency in microseconds, error counts).
function bench_report(summary, latency, extra)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d%s\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout, extra or ""))
end
