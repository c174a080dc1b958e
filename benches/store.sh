#!/usr/bin/env bash
# Store scale: RSS and GET latency with 1,000 and with 1,000,000 stored records.
#
#   benches/store.sh [--counts "1000 1000000"] [--duration S] [--markdown FILE] [--no-build]
#
# For each count a fixtures file (benches/.cache/store-N/records.json, generated once) is loaded
# with `specstub serve benches/specs/store.yaml --fixtures DIR`; the admin API
# (GET /__specstub/resources) must report that many records, else the step is skipped. Then wrk
# reads random records (GET /records/{id}, wrk/get_random.lua) for --duration seconds after a
# 2 s warm-up. Reported: time to listening and RSS then, the first GET's latency and RSS after it
# (the shared namespace may be built from the fixtures on first use), GET req/s, p50/p99, peak
# RSS. The target is flat: 1M records should read as fast as 1k.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

COUNTS="1000 1000000"
DURATION=10
CONNECTIONS=50
THREADS=2
MARKDOWN=""
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --counts) COUNTS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --markdown) MARKDOWN="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
trap cleanup_started EXIT
trap 'exit 130' INT TERM
command -v wrk >/dev/null || die "wrk is missing (benches/load.sh installs it, or apt-get install -y wrk)"
if [[ $BUILD -eq 1 ]]; then build_specstub; else SPECSTUB="${SPECSTUB_BIN:-$REPO_DIR/target/dist/specstub}"; fi
[[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"
export BENCH_WRK_DIR="$BENCH_DIR/wrk"
SPEC="$BENCH_DIR/specs/store.yaml"

if ! "$SPECSTUB" serve --help 2>/dev/null | grep -q -- '--fixtures'; then
  skip "store scale: this specstub has no --fixtures option yet"
  exit 0
fi

ROWS=()
declare -A P99 RPS
for n in $COUNTS; do
  dir="$CACHE_DIR/store-$n"
  if [[ ! -f "$dir/records.json" ]]; then
    mkdir -p "$dir"
    log "generating $n fixture records in $dir"
    python3 - "$n" "$dir/records.json" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    f.write('{"records":[')
    for i in range(1, n + 1):
        f.write('%s{"recordId":"r-%07d","name":"record %d","status":"active","count":%d,"createdAt":"2024-05-01T12:00:00Z"}'
                % ("," if i > 1 else "", i, i, i))
    f.write("]}")
PY
  fi
  t0="$(now_ns)"
  if ! start_listening "store-$n" /dev/null "$SPECSTUB" serve "$SPEC" --fixtures "$dir" --port 0; then
    skip "store scale, $n records: specstub did not start with --fixtures $dir"
    continue
  fi
  load_ms=$((($(now_ns) - t0) / 1000000))
  rss_start="$(proc_kb "$SERVER_PID" VmRSS)"
  # The first request into the shared namespace: the store may build that namespace from the
  # fixtures now, so its latency and the RSS after it are reported on their own.
  first="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$SERVER_URL/records/r-0000001")"
  first_ms="$(awk -v t="${first#* }" 'BEGIN { printf "%.0f", t * 1000 }')"
  rss_loaded="$(proc_kb "$SERVER_PID" VmRSS)"
  count="$(curl -s "$SERVER_URL/__specstub/resources" | python3 -c 'import json,sys
try: print(sum(c["count"] for c in json.load(sys.stdin) if c["name"] == "records"))
except Exception: print(-1)')"
  if [[ "$count" != "$n" ]]; then
    skip "store scale, $n records: the admin API reports $count records (GET /__specstub/resources)"
    stop_server
    continue
  fi
  export BENCH_RECORDS="$n"
  log "store scale, $n records: listening after $load_ms ms (RSS $(mb "$rss_start") MB); first GET ${first%% *} in $first_ms ms (RSS $(mb "$rss_loaded") MB); reading random records"
  timeout 40 wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$BENCH_WRK_DIR/get_random.lua" "$SERVER_URL" >/dev/null 2>&1
  line="$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_WRK_DIR/get_random.lua" "$SERVER_URL" 2>&1 | grep '^BENCH ')"
  f() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  RPS[$n]="$(f rps)"
  P99[$n]="$(f p99_us)"
  ROWS+=("| $n | $load_ms | $(mb "$rss_start") | $first_ms | $(mb "$rss_loaded") | $(printf '%.0f' "$(f rps)") | $(awk -v u="$(f p50_us)" 'BEGIN{printf "%.2f", u/1000}') | $(awk -v u="$(f p99_us)" 'BEGIN{printf "%.2f", u/1000}') | $(mb "$(proc_kb "$SERVER_PID" VmHWM)") | $(f non2xx) |")
  stop_server
done

report() {
  echo "| records | start to listening, ms | RSS at start, MB | first GET, ms | RSS after first GET, MB | GET req/s | p50 ms | p99 ms | peak RSS, MB | non-2xx |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  set -- $COUNTS
  local lo="$1" hi="${!#}"
  if [[ -n "${RPS[$lo]:-}" && -n "${RPS[$hi]:-}" && "$lo" != "$hi" ]]; then
    echo
    echo "GET req/s at $hi / at $lo: $(awk -v a="${RPS[$hi]}" -v b="${RPS[$lo]}" 'BEGIN{printf "%.2f", a/b}');" \
      "p99 at $hi / at $lo: $(awk -v a="${P99[$hi]}" -v b="${P99[$lo]}" 'BEGIN{printf "%.2f", a/b}') (flat is 1.00)."
  fi
}
{ echo; report; } | tee "$OUT_DIR/store-report.md"
if [[ -n "$MARKDOWN" ]]; then
  { echo "<!-- written by benches/store.sh on $(date -u +%Y-%m-%dT%H:%MZ) -->"; echo "Command: \`benches/store.sh --counts \"$COUNTS\" --duration $DURATION\`"; echo; report; } >"$MARKDOWN"
  log "markdown table written to $MARKDOWN"
fi
exit 0
