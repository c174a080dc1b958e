#!/usr/bin/env bash
# The stateful cycle of benches/load.sh (step 4: create, read, masked update on the bundled run
# API, driven by benches/wrk/cycle.lua) against specstub on its in-memory store, then on Redis,
# and the req/s of each. One command:
#
#   benches/redis.sh [--duration S] [--warmup S] [--connections N] [--threads N] [--no-build]
#
# Needs wrk and redis-server (apt-get install -y wrk redis-server). Redis is started here on a
# free port of 127.0.0.1 (no persistence) and stopped at the end; every wait is bounded.
# Environment: SPECSTUB_BIN (use this binary, do not build).
set -uo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
SPEC="$REPO_DIR/specs/sift-runs-v2.yaml"
TOKEN="bench-token"
export BENCH_WRK_DIR="$BENCH_DIR/wrk" BENCH_TOKEN="$TOKEN" BENCH_RUNS_PATH="/api/v2/runs"

DURATION=10
WARMUP=2
CONNECTIONS=50
THREADS=2
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[redis-bench] %s\n' "$*" >&2; }
die() { printf '[redis-bench] ERROR %s\n' "$*" >&2; exit 1; }

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n "${WORK:-}" ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK="$(mktemp -d)"

command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
command -v redis-server >/dev/null || die "redis-server is missing: apt-get install -y redis-server"

if [[ -n "${SPECSTUB_BIN:-}" ]]; then
  SPECSTUB="$SPECSTUB_BIN"
elif [[ $BUILD -eq 1 ]]; then
  log "building specstub (cargo build --profile dist --features mimalloc)"
  (cd "$REPO_DIR" && cargo build --profile dist --features mimalloc --quiet) || die "cargo build --profile dist failed"
  SPECSTUB="$REPO_DIR/target/dist/specstub"
else
  SPECSTUB="$REPO_DIR/target/dist/specstub"
fi
[[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"

# A free port for Redis: bound by the kernel, then released.
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 1000; i++)); do
  [[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" == PONG ]] && break
  sleep 0.01
done
[[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" == PONG ]] || die "redis-server did not answer on port $PORT within 10 s"
log "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$PORT"

# run NAME [extra serve args] : starts specstub, warms up, measures; writes "rps p50_us p99_us errors"
# to $WORK/NAME.result. Runs in this shell (not a subshell) so that cleanup knows every process.
run() {
  local name="$1"
  shift
  # Created here, not by the background job's redirection, which the polling below can outrun.
  : >"$WORK/$name.out"
  "$SPECSTUB" serve "$SPEC" --port 0 --token "$TOKEN" "$@" >>"$WORK/$name.out" 2>/dev/null &
  local pid=$!
  PIDS+=("$pid")
  local url="" i
  for ((i = 0; i < 6000; i++)); do
    url="$(sed -n 's/^listening on //p' "$WORK/$name.out" | head -1)"
    [[ -n "$url" ]] && break
    kill -0 "$pid" 2>/dev/null || die "specstub ($name) exited before listening"
    sleep 0.01
  done
  [[ -n "$url" ]] || die "specstub ($name) did not listen within 60 s"
  timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH_WRK_DIR/cycle.lua" "$url" >/dev/null 2>&1
  local line
  line="$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_WRK_DIR/cycle.lua" "$url" 2>&1 | grep '^BENCH ' | tail -1)"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  [[ -n "$line" ]] || die "wrk gave no result for $name"
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  echo "$(field rps) $(field p50_us) $(field p99_us) $(( $(field non2xx) + $(field bad_status) ))" >"$WORK/$name.result"
}

log "memory store: ${WARMUP}s warm-up + ${DURATION}s, $CONNECTIONS connections, $THREADS wrk threads"
run memory
read -r M_RPS M_P50 M_P99 M_ERR <"$WORK/memory.result"
log "redis store: the same"
run redis --store "redis://127.0.0.1:$PORT/0" --store-prefix "bench-$$"
read -r R_RPS R_P50 R_P99 R_ERR <"$WORK/redis.result"

printf '\n| store | req/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|\n'
row() { awk -v n="$1" -v r="$2" -v a="$3" -v b="$4" -v e="$5" 'BEGIN { printf "| %s | %.0f | %.2f | %.2f | %d |\n", n, r, a / 1000, b / 1000, e }'; }
row memory "$M_RPS" "$M_P50" "$M_P99" "$M_ERR"
row "redis (127.0.0.1)" "$R_RPS" "$R_P50" "$R_P99" "$R_ERR"
awk -v m="$M_RPS" -v r="$R_RPS" 'BEGIN { if (m > 0) printf "\nredis / memory: %.2f\n", r / m }'
echo "Command: benches/redis.sh --duration $DURATION --warmup $WARMUP --connections $CONNECTIONS --threads $THREADS"
