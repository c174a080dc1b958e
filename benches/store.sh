#!/usr/bin/env bash
# Store scale: RSS and GET latency with 1,000 and with 1,000,000 stored records; then what a
# created run and a session cost, and list latency at 1M created records, for this build and
# (with --baseline-bin) an older one, side by side in one run.
#
#   benches/store.sh [--counts "1000 1000000"] [--duration S] [--markdown FILE] [--no-build]
#                    [--creates N] [--sessions N] [--baseline-bin PATH]
#
# Part 2 (--creates, default 1000000; 0 skips it): each binary serves specs/sift-runs-v2.yaml
# with its store limits lifted; wrk creates N runs (the spec's example body, distinct name and
# clientKey, wrk/create_runs.lua); bytes per record is the RSS growth over the records the admin
# API counts. Then the latency of GET /api/v2/runs?pageSize=1 (page 1) and of the last page
# (a page token for offset N-1, the token format both builds read), median of 11 curl calls, and
# GET of one run under wrk for --duration seconds (what a read costs). Then --sessions N
# (default 100000) requests each in a new X-Specstub-Session: a list (reads only), and a create,
# RSS growth per session. A baseline binary is built the same way from an older commit, e.g.
#   git archive OLD | tar -x -C /tmp/old && (cd /tmp/old && cargo build --release --features mimalloc)
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
CREATES=1000000
SESSIONS=100000
BASELINE_BIN="${BASELINE_BIN:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --counts) COUNTS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --markdown) MARKDOWN="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --creates) CREATES="$2"; shift 2 ;;
    --sessions) SESSIONS="$2"; shift 2 ;;
    --baseline-bin) BASELINE_BIN="$2"; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# --- Part 2: created runs, sessions, list latency -------------------------------------------
RUNS_SPEC="$REPO_DIR/specs/sift-runs-v2.yaml"
ROWS2=()
ROWS3=()
token_for_offset() { printf 'specstub:%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
median_ms() { # median of 11 curl calls of URL, in ms
  local url="$1" i
  for i in $(seq 11); do
    curl -s -o /dev/null -H 'Authorization: Bearer bench' -w '%{time_total}\n' "$url"
  done | sort -n | sed -n 6p | awk '{ printf "%.1f", $1 * 1000 }'
}
runs_count() { # records in runs of SESSION ("" the shared namespace), as the admin API counts them
  curl -s "$SERVER_URL/__specstub/resources?session=$1" | python3 -c 'import json,sys
try: print(sum(c["count"] for c in json.load(sys.stdin) if c["name"] == "runs"))
except Exception: print(-1)'
}
# drive N METHOD PER_SESSION KIND : wrk sends N requests (wrk/create_runs.lua; each thread stops
# after its share, but wrk itself sleeps out its whole -d), so it is stopped once the runs the
# server holds reach N (KIND "") or once wrk has used no CPU for 3 s (its threads are done), or
# after 20 minutes.
drive() {
  local n="$1" method="$2" per_session="$3" kind="$4" pid i last=-1 same=0 count=0
  BENCH_CREATES="$n" BENCH_THREADS="$THREADS" BENCH_SESSIONS="$per_session" BENCH_METHOD="$method" \
    wrk -t"$THREADS" -c8 -d1200s -s "$BENCH_WRK_DIR/create_runs.lua" "$SERVER_URL" >/dev/null 2>&1 &
  pid=$!
  STARTED_PIDS+=("$pid")
  for ((i = 0; i < 2400; i++)); do
    sleep 0.5
    if [[ "$kind" == "" ]]; then
      count="$(runs_count "")"
      [[ "$count" -ge "$n" ]] && break
    fi
    local ticks; ticks="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo gone)"
    [[ "$ticks" == gone ]] && break
    if [[ "$ticks" == "$last" ]]; then same=$((same + 1)); else same=0; fi
    # Nothing changed for 3 s: every thread has stopped.
    [[ $same -ge 6 ]] && break
    last="$ticks"
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "$count"
}

measure_binary() { # LABEL BINARY
  local label="$1" bin="$2" extra=()
  if "$bin" serve --help 2>/dev/null | grep -q -- '--store-max-records'; then
    extra=(--store-max-records none --store-max-bytes none)
  fi
  if ! start_listening "runs-$label" /dev/null "$bin" serve "$RUNS_SPEC" --port 0 --log-level warn "${extra[@]}"; then
    skip "created runs, $label: did not start"
    return
  fi
  curl -s -o /dev/null "$SERVER_URL/api/v2/runs?pageSize=1" -H 'Authorization: Bearer bench'
  local rss0; rss0="$(proc_kb "$SERVER_PID" VmRSS)"
  log "$label: creating $CREATES runs"
  local t0; t0="$(now_ns)"
  drive "$CREATES" POST 0 "" >"$OUT_DIR/creates-$label.txt"
  local secs; secs="$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }')"
  local n; n="$(runs_count "")"
  local rss1; rss1="$(proc_kb "$SERVER_PID" VmRSS)"
  local per; per="$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1024 / n; else print "-" }')"
  local first deep
  first="$(median_ms "$SERVER_URL/api/v2/runs?pageSize=1")"
  deep="$(median_ms "$SERVER_URL/api/v2/runs?pageSize=1&pageToken=$(token_for_offset $((n - 1)))")"
  local first50; first50="$(median_ms "$SERVER_URL/api/v2/runs?pageSize=50")"
  local id; id="$(curl -s "$SERVER_URL/api/v2/runs?pageSize=1" -H 'Authorization: Bearer bench' | python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["runId"])')"
  local line; line="$(BENCH_PATH="/api/v2/runs/$id" timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_WRK_DIR/get_one.lua" "$SERVER_URL" 2>&1 | grep '^BENCH ')"
  f() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  ROWS2+=("| $label | $n | $secs | $(mb "$rss1") | $per | $first | $first50 | $deep | $(printf '%.0f' "$(f rps)") | $(awk -v u="$(f p50_us)" 'BEGIN{printf "%.2f", u/1000}') |")
  stop_server
  # Sessions: a fresh server each, so the RSS growth is the sessions' alone.
  local kind rss_a rss_b s_count
  local per_read="-" per_write="-"
  for kind in GET POST; do
    start_listening "sessions-$label" /dev/null "$bin" serve "$RUNS_SPEC" --port 0 --log-level warn "${extra[@]}" || continue
    curl -s -o /dev/null "$SERVER_URL/api/v2/runs?pageSize=1" -H 'Authorization: Bearer bench'
    curl -s -o /dev/null -H 'X-Specstub-Session: warm' "$SERVER_URL/api/v2/runs?pageSize=1" -H 'Authorization: Bearer bench'
    rss_a="$(proc_kb "$SERVER_PID" VmRSS)"
    drive "$SESSIONS" "$kind" 1 "$kind" >/dev/null
    rss_b="$(proc_kb "$SERVER_PID" VmRSS)"
    s_count="$(awk -v a="$rss_a" -v b="$rss_b" -v n="$SESSIONS" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
    if [[ $kind == GET ]]; then per_read="$s_count"; else per_write="$s_count"; fi
    stop_server
  done
  ROWS3+=("| $label | $SESSIONS | $per_read | $per_write |")
}
if [[ "$CREATES" -gt 0 ]]; then
  [[ -n "$BASELINE_BIN" ]] && measure_binary "baseline" "$BASELINE_BIN"
  measure_binary "this build" "$SPECSTUB"
fi

report() {
  if [[ ${#ROWS[@]} -gt 0 ]]; then
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
  fi
  if [[ ${#ROWS2[@]} -gt 0 ]]; then
    echo
    echo "| build | runs created | seconds | RSS, MB | bytes per run | page 1 (pageSize=1), ms | page 1 (pageSize=50), ms | last page (token), ms | GET one run req/s | GET p50 ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS2[@]}"
    echo
    echo "| build | sessions | bytes per session that only reads | bytes per session that creates one run |"
    echo "|---|---:|---:|---:|"
    printf '%s\n' "${ROWS3[@]}"
  fi
}
{ echo; report; } | tee "$OUT_DIR/store-report.md"
if [[ -n "$MARKDOWN" ]]; then
  { echo "<!-- written by benches/store.sh on $(date -u +%Y-%m-%dT%H:%MZ) -->"; echo "Command: \`benches/store.sh --counts \"$COUNTS\" --duration $DURATION --creates $CREATES --sessions $SESSIONS${BASELINE_BIN:+ --baseline-bin BASELINE}\`"; echo; report; } >"$MARKDOWN"
  log "markdown table written to $MARKDOWN"
fi
exit 0
