#!/usr/bin/env bash
# Where the time goes: a callgrind profile of specstub on one hot path, and its top functions.
#
#   benches/profile.sh get|post|cycle|ceiling-get|ceiling-post|startup [SPEC]
#
# get / post: specstub serves benches/specs/bench.yaml (--stateless) under valgrind; wrk warms it up
#   for PROF_WARMUP seconds (default 5: validators compile on first use and in the background
#   after start, and that is not the steady state), then instrumentation starts, wrk sends
#   4 connections' worth of the request for PROF_SECONDS (default 10), the server is stopped and
#   the profile written. The last line is the figure to compare: instructions per request.
# cycle: the same with the stateful cycle (wrk/cycle.lua) on SPEC (default specs/sift-runs-v2.yaml).
# ceiling-get / ceiling-post: the bare hyper server of benches/ceiling (built by the script) under
#   the same requests as get / post: the instructions a request costs with no work at all, so
#   that specstub's count can be read against it the way load.sh reads req/s.
# startup: the whole start-up of `specstub serve SPEC` (default: GitHub's description without the
#   examples specstub rejects, from benches/startup.sh) up to the first answered request.
#
# The binary is built with line tables into its own target dir (benches/.cache/prof-target), so
# the main target dir and Cargo.toml are untouched (PROF_BIN=path skips the build). Profiles land
# in benches/.out/.
# (perf is preferred when `perf stat -e instructions true` works; on VMs without hardware
# counters it does not, and callgrind counts instructions exactly instead.)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
MODE="${1:-}"
[[ "$MODE" =~ ^(get|post|cycle|ceiling-get|ceiling-post|startup)$ ]] ||
  die "usage: benches/profile.sh get|post|cycle|ceiling-get|ceiling-post|startup [SPEC]"
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install -y valgrind)"
command -v wrk >/dev/null || [[ $MODE == startup ]] || die "wrk is missing (apt-get install -y wrk)"
trap cleanup_started EXIT

if [[ $MODE == ceiling-* ]]; then
  build_ceiling
  BIN="$CEILING"
elif [[ -n "${PROF_BIN:-}" ]]; then
  BIN="$PROF_BIN" # a binary built as below, to skip the build
else
  PROF_TARGET="$CACHE_DIR/prof-target"
  log "building specstub with line tables into $PROF_TARGET"
  (cd "$REPO_DIR" && CARGO_PROFILE_DIST_DEBUG=line-tables-only cargo build --profile dist --features mimalloc --quiet --target-dir "$PROF_TARGET") ||
    die "build failed"
  BIN="$PROF_TARGET/dist/specstub"
fi
OUT="$OUT_DIR/callgrind.$MODE.out"
export BENCH_WRK_DIR="$BENCH_DIR/wrk" BENCH_TOKEN=bench-token BENCH_RUNS_PATH=/api/v2/runs
WARMUP="${PROF_WARMUP:-5}"
SECONDS_MEASURED="${PROF_SECONDS:-10}"
REQUESTS=""

# Warms the server up uninstrumented, then measures: measure SCRIPT URL.
measure() {
  wrk -t1 -c4 -d"${WARMUP}s" -s "$BENCH_WRK_DIR/$1" "$2" >/dev/null
  callgrind_control -i on "$SERVER_PID" >/dev/null
  local line
  line="$(wrk -t1 -c4 -d"${SECONDS_MEASURED}s" -s "$BENCH_WRK_DIR/$1" "$2" | grep '^BENCH')"
  # Off again before the shutdown, which is no request's cost.
  callgrind_control -i off "$SERVER_PID" >/dev/null
  echo "$line"
  REQUESTS="$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")"
}

case "$MODE" in
  get | post)
    start_listening "prof-$MODE" /dev/null valgrind --tool=callgrind --instr-atstart=no --compress-strings=no --callgrind-out-file="$OUT" \
      "$BIN" serve "$BENCH_DIR/specs/bench.yaml" --port 0 --stateless --log-level warn || die "specstub did not start under valgrind"
    if [[ $MODE == get ]]; then
      measure get.lua "$SERVER_URL/items/3fa85f64-5717-4562-b3fc-2c963f66afa6"
    else
      measure post.lua "$SERVER_URL/items"
    fi
    stop_server
    ;;
  ceiling-get | ceiling-post)
    start_listening "prof-$MODE" /dev/null valgrind --tool=callgrind --instr-atstart=no --compress-strings=no --callgrind-out-file="$OUT" \
      "$BIN" || die "the ceiling did not start under valgrind"
    if [[ $MODE == ceiling-get ]]; then
      measure get.lua "$SERVER_URL/items/3fa85f64-5717-4562-b3fc-2c963f66afa6"
    else
      measure post.lua "$SERVER_URL/items"
    fi
    stop_server
    ;;
  cycle)
    spec="${2:-$REPO_DIR/specs/sift-runs-v2.yaml}"
    [[ -f "$spec" ]] || die "$spec does not exist"
    start_listening prof-cycle /dev/null valgrind --tool=callgrind --instr-atstart=no --compress-strings=no --callgrind-out-file="$OUT" \
      "$BIN" serve "$spec" --port 0 --token bench-token --log-level warn || die "specstub did not start under valgrind"
    measure cycle.lua "$SERVER_URL"
    stop_server
    ;;
  startup)
    spec="${2:-$CACHE_DIR/api.github.com.clean.json}"
    [[ -f "$spec" ]] || die "$spec does not exist (run benches/startup.sh first, or name a spec)"
    start_listening prof-startup /dev/null valgrind --tool=callgrind --callgrind-out-file="$OUT" \
      "$BIN" serve "$spec" --port 0 || die "specstub did not start under valgrind"
    stop_server
    ;;
esac
log "profile: $OUT"
echo "== inclusive (top 40) =="
callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null | grep -v '^-' | sed -n '1,60p' | grep -E '^\s*[0-9,]+ ' | head -40
echo "== exclusive (top 30) =="
callgrind_annotate "$OUT" 2>/dev/null | grep -E '^\s*[0-9,]+ ' | head -30
if [[ -n "$REQUESTS" && "$REQUESTS" -gt 0 ]]; then
  total="$(callgrind_annotate "$OUT" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
  echo "instructions per request: $((total / REQUESTS)) ($total for $REQUESTS requests)"
fi
