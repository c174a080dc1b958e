#!/usr/bin/env bash
# Side-by-side load benchmark: the ceiling (a bare hyper server), specstub and Prism, one after
# the other on 127.0.0.1, with wrk. One command:
#
#   benches/load.sh [--duration S] [--warmup S] [--connections N] [--threads N]
#                   [--markdown FILE] [--no-prism] [--no-mockoon] [--no-open-loop]
#                   [--open-rate PERCENT] [--records N] [--no-build]
#
# Steps (each: a warm-up run that is thrown away, then a measured run; every server is a fresh
# process, so its peak RSS (VmHWM) belongs to that step alone):
#   1  ceiling GET / POST           benches/ceiling: fixed JSON body, same runtime and hyper stack
#   2  specstub GET from example    benches/specs/bench.yaml  GET /items/{itemId}
#   2L the same, log to a file      what the per-request access line costs (2, 3 and 4 run at
#                                   --log-level warn, as Prism runs at -v warn)
#   3  specstub validated POST      benches/specs/bench.yaml  POST /items (valid body)
#   3V the same, --validation off   what validation costs
#   2S, 3S GET / POST, --self-check what checking every answer against its declared response costs
#   4  specstub stateful cycle      specs/sift-runs-v2.yaml   create, read, masked update (wrk/cycle.lua)
#   5  Prism GET / POST             the same document as 2 and 3, Prism from npm (benches/.prism),
#                                   at `-v warn` (its fastest) with a warm-up of at least 5 s
#   6  Mockoon GET / POST           the same document and requests, @mockoon/cli from npm
#                                   (benches/.cache/mockoon), which imports the OpenAPI document
#                                   itself and validates nothing
#   O  open loop                    after 1G, 1P, 2, 3 and 4, on the same warm server: oha at a fixed
#                                   rate of --open-rate (default 50 %) of the ceiling's measured req/s
#                                   (GET's for GET, POST's for the rest), latency from each request's
#                                   intended send time (--latency-correction): p50, p99, p99.9. The
#                                   cycle is three oha processes at a third of the rate each: create,
#                                   read of one run, masked update of it
#   M  memory per record            the cycle (wrk/cycle.lua) on a fresh server until it holds 100 k
#                                   runs (--records): RSS then, and the RSS growth per stored run
#   I  idle RSS                     specstub serving the bundled specs/ after one request
#
# Steps whose prerequisites are missing (no stateful run API yet, no npm...) are skipped with a
# message; the run itself does not fail. Ratios, not absolute numbers, are what we track.
# Environment: SPECSTUB_BIN (use this binary, do not build), BENCH_RUNS_SPEC (the run API spec).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DURATION=10
WARMUP=2
CONNECTIONS=50
THREADS=2
MARKDOWN=""
PRISM=1
MOCKOON=1
OPEN=1
OPEN_RATE=50
RECORDS=100000
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --markdown) MARKDOWN="$2"; shift 2 ;;
    --no-prism) PRISM=0; shift ;;
    --no-mockoon) MOCKOON=0; shift ;;
    --no-open-loop) OPEN=0; shift ;;
    --open-rate) OPEN_RATE="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

trap cleanup_started EXIT
trap 'exit 130' INT TERM

BENCH_SPEC="$BENCH_DIR/specs/bench.yaml"
RUNS_SPEC="${BENCH_RUNS_SPEC:-$REPO_DIR/specs/sift-runs-v2.yaml}"
TOKEN="bench-token"
ITEM_PATH="/items/3fa85f64-5717-4562-b3fc-2c963f66afa6"
export BENCH_WRK_DIR="$BENCH_DIR/wrk" BENCH_TOKEN="$TOKEN" BENCH_RUNS_PATH="${BENCH_RUNS_PATH:-/api/v2/runs}"

# --- the load tool -------------------------------------------------------------------------------
# wrk: packaged by Debian/Ubuntu (no toolchain build), Lua scripting for the stateful cycle, and
# the tool the issue's reference numbers were taken with.
if ! command -v wrk >/dev/null; then
  log "wrk is missing: apt-get install -y wrk"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && SUDO="sudo"
  $SUDO apt-get install -y wrk >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y wrk >&2; } ||
    die "cannot install wrk; install it (apt-get install wrk) and run again"
fi

if [[ $BUILD -eq 1 ]]; then
  build_specstub
  build_ceiling
else
  SPECSTUB="${SPECSTUB_BIN:-$REPO_DIR/target/dist/specstub}"
  CEILING="$BENCH_DIR/ceiling/target/release/specstub-ceiling"
fi
# oha for the open-loop steps: wrk is closed-loop (a slow answer delays the next request, so the
# tail it reports hides the wait), and wrk2 is not packaged.
OHA=""
if [[ $OPEN -eq 1 ]] && ! ensure_oha; then OPEN=0; OHA=""; fi
[[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"
[[ -x "$CEILING" ]] || die "no ceiling binary at $CEILING"

# Results, keyed by step id.
declare -A NAME RPS P50 P99 HWM NON2XX NOTE LOAD
ORDER=()
# Open-loop results, keyed by step id (O2, O3, ...).
declare -A OL_NAME OL_RATE OL_RPS OL_P50 OL_P99 OL_P999 OL_ERR OL_LOAD
OL_ORDER=()
load1() { cut -d" " -f1 /proc/loadavg; }

# measure ID "description" URL SCRIPT [WARMUP] : warm-up, then the measured run against the server
# in SERVER_PID; records req/s, p50, p99, peak RSS.
measure() {
  local id="$1" desc="$2" url="$3" script="$4" warmup="${5:-$WARMUP}"
  log "step $id: $desc ($url, ${warmup}s warm-up + ${DURATION}s)"
  WARM_REQUESTS="$(timeout $((warmup + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${warmup}s" -s "$BENCH_WRK_DIR/$script" "$url" 2>&1 |
    sed -n 's/^BENCH requests=\([0-9]*\).*/\1/p')"
  local out
  out="$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_WRK_DIR/$script" "$url" 2>&1)"
  local line
  line="$(grep '^BENCH ' <<<"$out" | tail -1)"
  if [[ -z "$line" ]]; then
    log "step $id: wrk gave no result:"; printf '%s\n' "$out" >&2
    skip "step $id: no result"
    return 1
  fi
  local field
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  ORDER+=("$id")
  NAME[$id]="$desc"
  RPS[$id]="$(field rps)"
  P50[$id]="$(field p50_us)"
  P99[$id]="$(field p99_us)"
  NON2XX[$id]="$(( $(field non2xx) + $(field connect) + $(field read) + $(field write) + $(field timeout) ))"
  HWM[$id]="$(proc_kb "$SERVER_PID" VmHWM)"
  LOAD[$id]="$(load1)"
  TOTAL_REQUESTS=$(( ${WARM_REQUESTS:-0} + $(field requests) ))
  NOTE[$id]="${NOTE[$id]:-}"
  local extra
  extra="$(sed -n 's/.*\(creates=.*\)/\1/p' <<<"$line")"
  [[ -n "$extra" ]] && NOTE[$id]="${NOTE[$id]}$extra"
  log "step $id: $(printf '%.0f' "${RPS[$id]}") req/s, p50 ${P50[$id]} µs, p99 ${P99[$id]} µs, peak RSS $(mb "${HWM[$id]}") MB, errors ${NON2XX[$id]}"
  return 0
}

# oha_run OUT RATE CONNECTIONS URL [oha options] : oha at RATE req/s for DURATION seconds, its
# JSON summary into OUT. --latency-correction measures each request from when it was due, not
# from when a free connection sent it, so a stall counts against every request it held up.
oha_run() {
  local out="$1" rate="$2" conns="$3" url="$4"
  shift 4
  timeout $((DURATION + 30)) "$OHA" -q "$rate" -z "${DURATION}s" -c "$conns" --latency-correction \
    --no-tui --output-format json "$@" "$url" >"$out" 2>"$out.err"
}
# oha_fields FILE : "req/s p50_us p99_us p99.9_us errors" from oha's JSON (errors: non-2xx answers
# and failed requests), or nothing.
oha_fields() {
  python3 - "$1" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    lat = d["latencyPercentiles"]
    codes = d.get("statusCodeDistribution", {})
    bad = sum(n for c, n in codes.items() if not c.startswith("2"))
    bad += sum(d.get("errorDistribution", {}).values())
    us = lambda k: "%.0f" % ((lat.get(k) or 0) * 1e6)
    print("%.0f" % d["summary"]["requestsPerSec"], us("p50"), us("p99"), us("p99.9"), bad)
except Exception:
    pass
PY
}
# open_loop ID "description" CEILING_RPS URL [oha options] : the open-loop step on the server
# that is running, at OPEN_RATE % of CEILING_RPS.
open_loop() {
  local id="$1" desc="$2" ceiling="$3" url="$4"
  shift 4
  [[ $OPEN -eq 1 && -n "$ceiling" ]] || return 0
  local rate; rate="$(awk -v r="$ceiling" -v p="$OPEN_RATE" 'BEGIN { printf "%.0f", r * p / 100 }')"
  log "step $id: $desc, open loop at $rate req/s for ${DURATION}s"
  oha_run "$OUT_DIR/oha-$id.json" "$rate" "$CONNECTIONS" "$url" "$@"
  ol_record "$id" "$desc" "$rate" "$(oha_fields "$OUT_DIR/oha-$id.json")"
}
# ol_record ID DESC RATE "FIELDS"
ol_record() {
  local id="$1" desc="$2" rate="$3" f=($4)
  if [[ ${#f[@]} -ne 5 ]]; then
    skip "step $id: oha gave no result (see $OUT_DIR/oha-$id.json.err)"
    return 1
  fi
  OL_ORDER+=("$id")
  OL_NAME[$id]="$desc"; OL_RATE[$id]="$rate"; OL_RPS[$id]="${f[0]}"
  OL_P50[$id]="${f[1]}"; OL_P99[$id]="${f[2]}"; OL_P999[$id]="${f[3]}"; OL_ERR[$id]="${f[4]}"
  OL_LOAD[$id]="$(load1)"
  log "step $id: ${f[0]} req/s, p50 ${f[1]} µs, p99 ${f[2]} µs, p99.9 ${f[3]} µs, errors ${f[4]}"
}

POST_BODY='{"name":"nightly-build","email":"ops@example.com","createdAt":"2024-05-01T12:00:00Z","ownerId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","count":7,"price":12.25,"status":"paused","active":true,"tags":["ci","bench","nightly"]}'

# check_answers URL : one GET and one POST must answer 2xx before a server is measured.
check_answers() {
  local g p
  g="$(curl -s -o /dev/null -w '%{http_code}' "$1$ITEM_PATH")"
  p="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$POST_BODY" "$1/items")"
  if [[ "$g" != 2* || "$p" != 2* ]]; then
    log "sanity check failed: GET $g, POST $p"
    return 1
  fi
}

# --- 1 the ceiling -------------------------------------------------------------------------------
for kind in GET POST; do
  if start_listening ceiling /dev/null "$CEILING"; then
    if [[ $kind == GET ]]; then
      measure 1G "ceiling GET (bare hyper, fixed body)" "$SERVER_URL$ITEM_PATH" get.lua &&
        open_loop O1G "ceiling GET" "${RPS[1G]}" "$SERVER_URL$ITEM_PATH"
    else
      measure 1P "ceiling POST (bare hyper, body read, fixed body)" "$SERVER_URL/items" post.lua &&
        open_loop O1P "ceiling POST" "${RPS[1P]}" "$SERVER_URL/items" -m POST -T application/json -d "$POST_BODY"
    fi
    stop_server
  else
    skip "step 1 ($kind): the ceiling server did not start"
  fi
done

# --- 2 and 3: specstub on the bench spec ---------------------------------------------------------
specstub_step() {
  local id="$1" desc="$2" path="$3" script="$4" errdest="$5" open="$6"
  shift 6
  # --stateless: the bench spec's items would otherwise be a stored resource (GET of an unknown id
  # is 404); steps 2 and 3 measure answers from examples, as Prism gives them.
  if ! start_listening "specstub-$id" "$errdest" "$SPECSTUB" serve "$BENCH_SPEC" --port 0 --stateless "$@"; then
    skip "step $id: specstub did not start on $BENCH_SPEC (see $OUT_DIR/specstub-$id.stdout)"
    return
  fi
  if check_answers "$SERVER_URL"; then
    if measure "$id" "$desc" "$SERVER_URL$path" "$script"; then
      case "$open" in
        GET) open_loop "O$id" "$desc" "${RPS[1G]:-}" "$SERVER_URL$path" ;;
        POST) open_loop "O$id" "$desc" "${RPS[1P]:-}" "$SERVER_URL$path" -m POST -T application/json -d "$POST_BODY" ;;
      esac
    fi
  else
    skip "step $id: specstub does not answer the bench spec with 2xx"
  fi
  stop_server
}
LOGFILE="$OUT_DIR/specstub-access.log"
# Like Prism at `-v warn`, specstub runs at `--log-level warn` (no access line); 2L shows the
# cost of the access log at the default level.
specstub_step 2 "specstub GET from example" "$ITEM_PATH" get.lua /dev/null GET --log-level warn
rm -f "$LOGFILE"
specstub_step 2L "specstub GET, log to a file" "$ITEM_PATH" get.lua "$LOGFILE" -
if [[ -f "$LOGFILE" && -n "${RPS[2L]:-}" ]]; then
  # The access log line of every request should be there (warm-up included).
  NOTE[2L]="$(wc -l <"$LOGFILE") log lines ($(du -m "$LOGFILE" | cut -f1) MB) for $TOTAL_REQUESTS requests"
fi
rm -f "$LOGFILE"
specstub_step 3 "specstub POST, body validated" /items post.lua /dev/null POST --log-level warn
specstub_step 3V "specstub POST, --validation off" /items post.lua /dev/null - --log-level warn --validation off
# What `--self-check` (every answer checked against its declared response) costs.
specstub_step 2S "specstub GET, --self-check" "$ITEM_PATH" get.lua /dev/null - --log-level warn --self-check
specstub_step 3S "specstub POST, --self-check" /items post.lua /dev/null - --log-level warn --self-check

# --- 4 the stateful cycle --------------------------------------------------------------------------
stateful_step() {
  if [[ ! -f "$RUNS_SPEC" ]]; then
    skip "step 4: $RUNS_SPEC does not exist yet (the bundled run API)"
    return
  fi
  if ! start_listening specstub-4 /dev/null "$SPECSTUB" serve "$RUNS_SPEC" --port 0 --token "$TOKEN" --log-level warn; then
    skip "step 4: specstub did not start on $RUNS_SPEC (see $OUT_DIR/specstub-4.stdout)"
    return
  fi
  local base="$SERVER_URL$BENCH_RUNS_PATH" auth="Authorization: Bearer $TOKEN" created code id
  created="$(curl -s -w '\n%{http_code}' -X POST -H "$auth" -H 'Content-Type: application/json' \
    -d '{"name":"bench-run-check","description":"created by load.sh","tags":["bench"]}' "$base")"
  code="$(tail -1 <<<"$created")"
  id="$(head -n -1 <<<"$created" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["run"]["runId"])
except Exception: pass' 2>/dev/null)"
  if [[ "$code" != 2* || -z "$id" ]]; then
    skip "step 4: POST $BENCH_RUNS_PATH answered $code without {\"run\":{\"runId\":...}} - no stateful store yet?"
    stop_server; return
  fi
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$base/$id")"
  if [[ "$code" != 2* ]]; then
    skip "step 4: GET $BENCH_RUNS_PATH/$id after the create answered $code - no stateful store yet?"
    stop_server; return
  fi
  code="$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"run\":{\"runId\":\"$id\",\"name\":\"renamed\",\"description\":\"updated\"},\"updateMask\":\"name,description\"}" "$base")"
  if [[ "$code" != 2* ]]; then
    skip "step 4: PATCH $BENCH_RUNS_PATH (masked update) answered $code"
    stop_server; return
  fi
  if measure 4 "specstub stateful cycle (create, read, masked update)" "$SERVER_URL" cycle.lua; then
    cycle_open_loop "$base" "$id"
  fi
  stop_server
}

# cycle_open_loop BASE RUN_ID : the cycle's three requests at a third of the open-loop rate each,
# at once (oha sends one kind of request per process): creates, reads of RUN_ID, masked updates
# of it.
cycle_open_loop() {
  [[ $OPEN -eq 1 && -n "${RPS[1P]:-}" ]] || return 0
  local base="$1" id="$2" auth="Authorization: Bearer $TOKEN" conns=$(( (CONNECTIONS + 2) / 3 ))
  local rate; rate="$(awk -v r="${RPS[1P]}" -v p="$OPEN_RATE" 'BEGIN { printf "%.0f", r * p / 100 / 3 }')"
  log "step O4: the cycle, open loop at 3 x $rate req/s for ${DURATION}s"
  oha_run "$OUT_DIR/oha-O4C.json" "$rate" "$conns" "$base" -m POST -H "$auth" -T application/json \
    -d '{"name":"bench-run-open-loop","description":"created by oha","tags":["bench"]}' &
  local c=$!
  oha_run "$OUT_DIR/oha-O4R.json" "$rate" "$conns" "$base/$id" -H "$auth" &
  local r=$!
  oha_run "$OUT_DIR/oha-O4U.json" "$rate" "$conns" "$base" -m PATCH -H "$auth" -T application/json \
    -d "{\"run\":{\"runId\":\"$id\",\"name\":\"renamed\",\"description\":\"updated by oha\"},\"updateMask\":\"name,description\"}" &
  local u=$!
  wait "$c" "$r" "$u"
  ol_record O4C "cycle: create" "$rate" "$(oha_fields "$OUT_DIR/oha-O4C.json")"
  ol_record O4R "cycle: read" "$rate" "$(oha_fields "$OUT_DIR/oha-O4R.json")"
  ol_record O4U "cycle: masked update" "$rate" "$(oha_fields "$OUT_DIR/oha-O4U.json")"
}
stateful_step

# --- M memory per stored record --------------------------------------------------------------------
# runs_held : the runs the store holds (shared namespace), as the admin API counts them.
runs_held() {
  curl -s -H "Authorization: Bearer $TOKEN" "$SERVER_URL/__specstub/resources" | python3 -c 'import json,sys
try: print(sum(c["count"] for c in json.load(sys.stdin) if c["name"] == "runs"))
except Exception: print(0)'
}
MEM_NOTE=""
memory_step() {
  [[ -f "$RUNS_SPEC" && "$RECORDS" -gt 0 ]] || return 0
  if ! start_listening specstub-M /dev/null "$SPECSTUB" serve "$RUNS_SPEC" --port 0 --token "$TOKEN" --log-level warn; then
    skip "step M: specstub did not start on $RUNS_SPEC"
    return
  fi
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$SERVER_URL$BENCH_RUNS_PATH?pageSize=1"
  local rss0; rss0="$(proc_kb "$SERVER_PID" VmRSS)"
  log "step M: the cycle until the store holds $RECORDS runs (at most 300 s)"
  local t0; t0="$(now_ns)"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d300s -s "$BENCH_WRK_DIR/cycle.lua" "$SERVER_URL" >/dev/null 2>&1 &
  local pid=$! n=0 i
  STARTED_PIDS+=("$pid")
  for ((i = 0; i < 600; i++)); do
    sleep 0.5
    n="$(runs_held)"
    [[ "$n" -ge "$RECORDS" ]] && break
    kill -0 "$pid" 2>/dev/null || break
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  local secs; secs="$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }')"
  n="$(runs_held)"
  local rss1 hwm; rss1="$(proc_kb "$SERVER_PID" VmRSS)"; hwm="$(proc_kb "$SERVER_PID" VmHWM)"
  local per; per="$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1024 / n; else print "-" }')"
  MEM_NOTE="| $n | $secs | $(mb "$rss0") | $(mb "$rss1") | $(mb "$hwm") | $per | $(load1) |"
  MEM_PER="$per"
  log "step M: $n runs in ${secs}s, RSS $(mb "$rss0") -> $(mb "$rss1") MB, $per bytes per run"
  stop_server
}
MEM_PER=""
memory_step

# --- 5 Prism -------------------------------------------------------------------------------------
# Prism gets its best case: `-v warn` drops its per-request log lines (at its default `info` it
# serves about 40 % fewer requests), and a longer warm-up lets V8 compile the hot path.
PRISM_VERSION=""
PRISM_WARMUP=$((WARMUP > 5 ? WARMUP : 5))
if [[ $PRISM -eq 1 ]] && ensure_prism; then
  PRISM_VERSION="$(prism_version)"
  for kind in GET POST; do
    if start_prism "prism-$kind" "$BENCH_SPEC" -v warn; then
      if check_answers "$SERVER_URL"; then
        if [[ $kind == GET ]]; then
          measure 5G "Prism $PRISM_VERSION GET from example" "$SERVER_URL$ITEM_PATH" get.lua "$PRISM_WARMUP"
        else
          measure 5P "Prism $PRISM_VERSION POST, body validated" "$SERVER_URL/items" post.lua "$PRISM_WARMUP"
        fi
      else
        skip "step 5 ($kind): Prism does not answer the bench spec with 2xx"
      fi
      stop_server
    else
      skip "step 5 ($kind): Prism did not start"
    fi
  done
elif [[ $PRISM -eq 0 ]]; then
  skip "step 5: --no-prism"
fi

# --- 6 Mockoon -----------------------------------------------------------------------------------
MOCKOON_VERSION=""
if [[ $MOCKOON -eq 1 ]] && ensure_mockoon; then
  MOCKOON_VERSION="$(mockoon_version)"
  for kind in GET POST; do
    if start_mockoon "mockoon-$kind" "$BENCH_SPEC"; then
      if check_answers "$SERVER_URL"; then
        if [[ $kind == GET ]]; then
          measure 6G "Mockoon $MOCKOON_VERSION GET (imported document)" "$SERVER_URL$ITEM_PATH" get.lua "$PRISM_WARMUP"
        else
          measure 6P "Mockoon $MOCKOON_VERSION POST (validates nothing)" "$SERVER_URL/items" post.lua "$PRISM_WARMUP"
        fi
      else
        skip "step 6 ($kind): Mockoon does not answer the bench spec with 2xx"
      fi
      stop_server
    else
      skip "step 6 ($kind): Mockoon did not start"
    fi
  done
elif [[ $MOCKOON -eq 0 ]]; then
  skip "step 6: --no-mockoon"
fi

# --- idle RSS on the bundled specs -----------------------------------------------------------------
IDLE_KB=""
if compgen -G "$REPO_DIR/specs/*.y*ml" >/dev/null || compgen -G "$REPO_DIR/specs/*.json" >/dev/null; then
  # As a user runs it in the repository: `specstub serve` (./specs, plus ./fixtures if present).
  if start_listening specstub-idle /dev/null bash -c 'cd "$0" && exec "$1" serve --port 0' "$REPO_DIR" "$SPECSTUB"; then
    curl -s -o /dev/null "$SERVER_URL/" || true
    sleep 0.5
    IDLE_KB="$(proc_kb "$SERVER_PID" VmRSS)"
    stop_server
  else
    skip "idle RSS: specstub did not start on specs/"
  fi
else
  skip "idle RSS: no bundled specs in specs/ yet"
fi

# --- report --------------------------------------------------------------------------------------
ratio() { # ratio A B -> A/B with 2 decimals, or "n/a"
  [[ -n "${1:-}" && -n "${2:-}" ]] || { echo "n/a"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
verdict() { # verdict VALUE OP TARGET
  [[ "$1" == "n/a" || -z "$1" ]] && { echo "not measured"; return; }
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    ok = (op == ">=") ? (v >= t) : (v < t)
    printf "%s", ok ? "met" : "NOT met" }'
}
ms() { [[ -n "${1:-}" ]] && awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }' || echo "-"; }

report() {
  echo "| step | what | req/s | p50 ms | p99 ms | peak RSS MB | errors | load (1 min) | notes |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
  local id
  for id in "${ORDER[@]}"; do
    printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n' "$id" "${NAME[$id]}" "${RPS[$id]}" \
      "$(ms "${P50[$id]}")" "$(ms "${P99[$id]}")" "$(mb "${HWM[$id]}")" "${NON2XX[$id]}" "${LOAD[$id]}" "${NOTE[$id]}"
  done
  if [[ ${#OL_ORDER[@]} -gt 0 ]]; then
    echo
    echo "Open loop: oha $("$OHA" --version 2>/dev/null | awk '{print $2}') at ${OPEN_RATE} % of the ceiling's req/s (GET's for GET, POST's for the others; the cycle's three requests at a third each), ${DURATION}s, latency from the intended send time:"
    echo
    echo "| step | what | rate asked, req/s | served, req/s | p50 ms | p99 ms | p99.9 ms | errors | load (1 min) |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for id in "${OL_ORDER[@]}"; do
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$id" "${OL_NAME[$id]}" "${OL_RATE[$id]}" "${OL_RPS[$id]}" \
        "$(ms "${OL_P50[$id]}")" "$(ms "${OL_P99[$id]}")" "$(ms "${OL_P999[$id]}")" "${OL_ERR[$id]}" "${OL_LOAD[$id]}"
    done
  fi
  if [[ -n "$MEM_NOTE" ]]; then
    echo
    echo "Memory per stored run (the cycle on a fresh server until the store holds the runs; RSS growth over the runs held):"
    echo
    echo "| runs held | seconds | RSS before, MB | RSS after, MB | peak RSS, MB | bytes per run | load (1 min) |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    echo "$MEM_NOTE"
  fi
  echo
  local r
  echo "| ratio | value | target | verdict |"
  echo "|---|---:|---|---|"
  r="$(ratio "${RPS[2]:-}" "${RPS[1G]:-}")"; echo "| GET from example / ceiling GET | $r | ≥ 0.95 | $(verdict "$r" ">=" 0.95) |"
  r="$(ratio "${RPS[3]:-}" "${RPS[1P]:-}")"; echo "| validated POST / ceiling POST | $r | ≥ 0.85 | $(verdict "$r" ">=" 0.85) |"
  r="$(ratio "${RPS[3]:-}" "${RPS[3V]:-}")"; echo "| validated POST / POST with --validation off | $r | ≥ 0.90 (validation ≤ 10 %) | $(verdict "$r" ">=" 0.90) |"
  r="$(ratio "${RPS[4]:-}" "${RPS[1P]:-}")"; echo "| stateful cycle / ceiling POST | $r | ≥ 0.65 | $(verdict "$r" ">=" 0.65) |"
  r="$(ratio "${RPS[2]:-}" "${RPS[5G]:-}")"; echo "| GET from example / Prism GET | $r | ≥ 20 | $(verdict "$r" ">=" 20) |"
  r="$(ratio "${RPS[3]:-}" "${RPS[5P]:-}")"; echo "| validated POST / Prism POST | $r | ≥ 20 | $(verdict "$r" ">=" 20) |"
  r="$(ratio "${RPS[4]:-}" "${RPS[5P]:-}")"; echo "| stateful cycle / Prism POST (Prism keeps no state) | $r | ≥ 20 | $(verdict "$r" ">=" 20) |"
  local o
  for o in O2:"GET from example" O3:"validated POST" O4C:"cycle: create" O4R:"cycle: read" O4U:"cycle: masked update"; do
    id="${o%%:*}"
    r="$(ms "${OL_P99[$id]:-}")"; [[ "$r" == "-" ]] && r="n/a"
    echo "| open-loop p99, ${o#*:}, ms | $r | < 1 | $(verdict "$r" "<" 1) |"
  done
  if [[ -n "$IDLE_KB" ]]; then
    r="$(mb "$IDLE_KB")"; echo "| idle RSS on the bundled specs, MB | $r | < 20 | $(verdict "$r" "<" 20) |"
  else
    echo "| idle RSS on the bundled specs, MB | n/a | < 20 | not measured |"
  fi
  echo
  echo "Informative: GET logging to a file / to /dev/null: $(ratio "${RPS[2L]:-}" "${RPS[2]:-}");" \
    "with --self-check / without: GET $(ratio "${RPS[2S]:-}" "${RPS[2]:-}"), POST $(ratio "${RPS[3S]:-}" "${RPS[3]:-}");" \
    "specstub / Mockoon: GET $(ratio "${RPS[2]:-}" "${RPS[6G]:-}"), POST $(ratio "${RPS[3]:-}" "${RPS[6P]:-}")" \
    "(Mockoon validates nothing)."
}

{
  echo
  echo "wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s warm-up + ${DURATION}s per step, 127.0.0.1"
  machine_description
  echo
  report
} | tee "$OUT_DIR/load-report.md"

if [[ -n "$MARKDOWN" ]]; then
  {
    echo "<!-- written by benches/load.sh on $(date -u +%Y-%m-%dT%H:%MZ) -->"
    echo "Command: \`${BENCH_RUNS_SPEC:+BENCH_RUNS_SPEC=$BENCH_RUNS_SPEC }benches/load.sh --duration $DURATION --warmup $WARMUP --connections $CONNECTIONS --threads $THREADS --open-rate $OPEN_RATE --records $RECORDS\`"
    echo
    machine_description
    echo
    report
  } >"$MARKDOWN"
  log "markdown table written to $MARKDOWN"
fi
exit 0
