#!/usr/bin/env bash
# A frozen Redis against one specstub: how fast health and a stateless route answer while
# stateful requests wait on Redis, how long those take to get their 503, and how long health
# takes to notice the freeze and the recovery. Redis is frozen with SIGSTOP (it keeps accepting
# connections and answers nothing, like a Redis stuck on a slow disk) and resumed with SIGCONT.
#
#   benches/stall.sh [--freeze S] [--clients N] [--store-timeout D]
#
# Needs redis-server and curl. Everything listens on 127.0.0.1 on free ports; every loop is
# bounded. Environment: SPECSTUB_BIN (use this binary instead of building the dist profile).
set -uo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
FREEZE=5
CLIENTS=16
STORE_TIMEOUT=1s
while [[ $# -gt 0 ]]; do
  case "$1" in
    --freeze) FREEZE="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --store-timeout) STORE_TIMEOUT="$2"; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[stall] %s\n' "$*" >&2; }
die() { printf '[stall] ERROR %s\n' "$*" >&2; exit 1; }

PIDS=()
REDIS_PID=""
cleanup() {
  [[ -n "$REDIS_PID" ]] && kill -CONT "$REDIS_PID" 2>/dev/null
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n "${WORK:-}" ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK="$(mktemp -d)"

command -v redis-server >/dev/null || die "redis-server is missing: apt-get install -y redis-server"
command -v curl >/dev/null || die "curl is missing"
if [[ -n "${SPECSTUB_BIN:-}" ]]; then
  SPECSTUB="$SPECSTUB_BIN"
else
  log "building specstub (cargo build --profile dist --features mimalloc)"
  (cd "$REPO_DIR" && cargo build --profile dist --features mimalloc --quiet) || die "cargo build --profile dist failed"
  SPECSTUB="$REPO_DIR/target/dist/specstub"
fi
[[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for ((i = 0; i < 1000; i++)); do
  [[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" == PONG ]] && break
  sleep 0.01
done
[[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" == PONG ]] || die "redis-server did not answer on port $PORT within 10 s"

: >"$WORK/serve.out"
"$SPECSTUB" serve "$REPO_DIR/tests/data/orders.yaml" "$REPO_DIR/tests/data/traffic.yaml" --fixtures "$REPO_DIR/tests/data/fixtures" \
  --port 0 --store "redis://127.0.0.1:$PORT/0" --store-timeout "$STORE_TIMEOUT" >"$WORK/serve.out" 2>"$WORK/serve.err" &
PIDS+=($!)
URL=""
for ((i = 0; i < 6000; i++)); do
  URL="$(sed -n 's/^listening on //p' "$WORK/serve.out" | head -1)"
  [[ -n "$URL" ]] && break
  sleep 0.01
done
[[ -n "$URL" ]] || die "specstub did not start: $(cat "$WORK/serve.err")"

# probe URL: "STATUS SECONDS", bounded by a 30 s timeout.
probe() { curl -s -o /dev/null -m 30 -w '%{http_code} %{time_total}\n' "$1"; }
now() { date +%s.%N; }
# stats FILE: median and max of the second column, in ms.
stats() { sort -n -k2 "$1" | awk '{ t[NR] = $2 * 1000 } END { printf "median %.1f ms, max %.1f ms over %d", t[int((NR + 1) / 2)], t[NR], NR }'; }

for _ in 1 2 3; do probe "$URL/orders/seed-1" >/dev/null; done
log "specstub $("$SPECSTUB" --version 2>/dev/null | head -1) on $URL, redis on 127.0.0.1:$PORT, --store-timeout $STORE_TIMEOUT"

kill -STOP "$REDIS_PID"
frozen_at="$(now)"
stop_at=$(( $(date +%s) + FREEZE ))
for ((c = 0; c < CLIENTS; c++)); do
  (while (( $(date +%s) < stop_at )); do probe "$URL/orders/seed-1"; done >"$WORK/stateful.$c") &
  PIDS+=($!)
done
noticed=""
: >"$WORK/health"
: >"$WORK/open"
while (( $(date +%s) < stop_at )); do
  read -r status seconds < <(probe "$URL/__specstub/health")
  echo "$status $seconds" >>"$WORK/health"
  [[ -z "$noticed" && "$status" == 503 ]] && noticed="$(now)"
  probe "$URL/api/open" >>"$WORK/open"
  sleep 0.05
done
wait "${PIDS[@]:2}" 2>/dev/null
kill -CONT "$REDIS_PID"
resumed_at="$(now)"
healthy=""
for ((i = 0; i < 400; i++)); do
  [[ "$(probe "$URL/__specstub/health" | cut -d' ' -f1)" == 200 ]] && { healthy="$(now)"; break; }
  sleep 0.025
done
served=""
for ((i = 0; i < 400; i++)); do
  [[ "$(probe "$URL/orders/seed-1" | cut -d' ' -f1)" == 200 ]] && { served="$(now)"; break; }
  sleep 0.025
done

cat "$WORK"/stateful.* >"$WORK/stateful"
echo "Redis frozen for ${FREEZE}s with $CLIENTS clients looping on a stateful GET:"
echo "  health:          $(stats "$WORK/health") ($(grep -c '^503' "$WORK/health") answered 503)"
echo "  stateless route: $(stats "$WORK/open") ($(grep -c '^200' "$WORK/open") answered 200)"
echo "  stateful GET:    $(stats "$WORK/stateful") ($(grep -c '^503' "$WORK/stateful") answered 503, $(grep -vc '^503' "$WORK/stateful") other)"
[[ -n "$noticed" ]] && printf '  health said 503 %.2f s after the freeze\n' "$(echo "$noticed - $frozen_at" | bc)"
[[ -n "$healthy" ]] && printf '  health said 200 %.2f s after the resume\n' "$(echo "$healthy - $resumed_at" | bc)"
[[ -n "$served" ]] && printf '  the stateful GET answered 200 %.2f s after the resume\n' "$(echo "$served - $resumed_at" | bc)"
