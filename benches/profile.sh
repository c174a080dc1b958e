#!/usr/bin/env bash
# Where the time goes: a callgrind profile of specstub on one hot path, and its top functions.
#
#   benches/profile.sh get|post|cycle|startup [SPEC]
#
# get / post: specstub serves benches/specs/bench.yaml (--stateless) under valgrind; instrumentation
#   starts once it listens (start-up is left out), wrk sends 4 connections' worth of the request
#   for 10 s, then the server is stopped and the profile written.
# cycle: the same with the stateful cycle (wrk/cycle.lua) on SPEC (default specs/sift-runs-v2.yaml).
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
[[ "$MODE" =~ ^(get|post|cycle|startup)$ ]] || die "usage: benches/profile.sh get|post|cycle|startup [SPEC]"
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install -y valgrind)"
command -v wrk >/dev/null || [[ $MODE == startup ]] || die "wrk is missing (apt-get install -y wrk)"
trap cleanup_started EXIT

if [[ -n "${PROF_BIN:-}" ]]; then
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

case "$MODE" in
  get | post)
    start_listening "prof-$MODE" /dev/null valgrind --tool=callgrind --instr-atstart=no --compress-strings=no --callgrind-out-file="$OUT" \
      "$BIN" serve "$BENCH_DIR/specs/bench.yaml" --port 0 --stateless --log-level warn || die "specstub did not start under valgrind"
    callgrind_control -i on "$SERVER_PID" >/dev/null
    if [[ $MODE == get ]]; then
      wrk -t1 -c4 -d10s -s "$BENCH_WRK_DIR/get.lua" "$SERVER_URL/items/3fa85f64-5717-4562-b3fc-2c963f66afa6" | grep '^BENCH'
    else
      wrk -t1 -c4 -d10s -s "$BENCH_WRK_DIR/post.lua" "$SERVER_URL/items" | grep '^BENCH'
    fi
    stop_server
    ;;
  cycle)
    spec="${2:-$REPO_DIR/specs/sift-runs-v2.yaml}"
    [[ -f "$spec" ]] || die "$spec does not exist"
    start_listening prof-cycle /dev/null valgrind --tool=callgrind --instr-atstart=no --compress-strings=no --callgrind-out-file="$OUT" \
      "$BIN" serve "$spec" --port 0 --token bench-token --log-level warn || die "specstub did not start under valgrind"
    callgrind_control -i on "$SERVER_PID" >/dev/null
    wrk -t1 -c4 -d10s -s "$BENCH_WRK_DIR/cycle.lua" "$SERVER_URL" | grep '^BENCH'
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
