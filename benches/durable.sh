#!/usr/bin/env bash
# --state-file under crashes, and what it costs.
#
#   benches/durable.sh [--kills N] [--duration S] [--connections C] [--markdown FILE] [--no-build]
#
# 1. Crashes. A release build serves benches/specs/bench.yaml with --state-file in a fresh
#    temporary directory. 8 writer threads (python3, keep-alive connections) POST /items and note
#    every itemId answered 201; at a random point 0.2-1.5 s into the load the server gets SIGKILL.
#    It is restarted on the same files and the admin API lists the collection: every id ever
#    acknowledged must be in it. N kills (default 20) on one state that grows across them, with
#    --state-compact-at 1MiB so that kills also land during compactions. Reported: acknowledged
#    creates, lost ones (must be 0), the restart time as the state grows.
# 2. Cost. wrk POST /items (benches/wrk/post.lua), C connections (default 50, as load.sh) for S
#    seconds (default 10) after a 2 s warm-up: memory-only, --state-file, and --state-file with
#    --state-compact-at 4MiB (compactions during the run), in turn, twice each: req/s, p50, p99
#    and worst latency, and the write rate with the log as a share of memory-only.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KILLS=20
DURATION=10
CONNECTIONS=50
THREADS=2
MARKDOWN=""
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kills) KILLS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --markdown) MARKDOWN="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
STATE_DIR="$(mktemp -d /tmp/specstub-durable-bench.XXXXXX)"
trap 'cleanup_started; rm -rf "$STATE_DIR"' EXIT
trap 'exit 130' INT TERM
command -v wrk >/dev/null || die "wrk is missing (apt-get install -y wrk)"
command -v python3 >/dev/null || die "python3 is missing"
if [[ $BUILD -eq 1 && -z "${SPECSTUB_BIN:-}" ]]; then
  log "building specstub (cargo build --release)"
  (cd "$REPO_DIR" && cargo build --release --quiet) || die "cargo build --release failed"
fi
SPECSTUB="${SPECSTUB_BIN:-$REPO_DIR/target/release/specstub}"
[[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"
export BENCH_WRK_DIR="$BENCH_DIR/wrk"
SPEC="$BENCH_DIR/specs/bench.yaml"
STATE="$STATE_DIR/state.json"
IDS="$STATE_DIR/acknowledged.txt"
: >"$IDS"

# Writers until the server dies (they kill it themselves at a random point); appends the ids
# whose creates were answered 201 to $IDS and prints how many.
write_until_killed() {
  python3 - "$SERVER_URL" "$SERVER_PID" "$IDS" <<'PY'
import http.client, json, os, random, signal, sys, threading, time, urllib.parse
url, pid, out = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = json.dumps({"name": "crash-test", "email": "ops@example.com", "createdAt": "2024-05-01T12:00:00Z",
                   "count": 1, "status": "paused"})
acked, lock, stop = [], threading.Lock(), threading.Event()
def writer():
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    while not stop.is_set():
        try:
            conn.request("POST", "/items", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
        except Exception:
            return
        if r.status == 201:
            with lock:
                acked.append(json.loads(data)["itemId"])
threads = [threading.Thread(target=writer) for _ in range(8)]
for t in threads: t.start()
time.sleep(random.uniform(0.2, 1.5))
os.kill(pid, signal.SIGKILL)
stop.set()
for t in threads: t.join(10)
with open(out, "a") as f:
    f.writelines(i + "\n" for i in acked)
print(len(acked))
PY
}

# How many ids of $IDS the server does not list (admin API), or -1 if it cannot be read.
count_lost() {
  python3 - "$SERVER_URL" "$IDS" <<'PY'
import json, sys, urllib.parse, urllib.request
base, ids = sys.argv[1], [l.strip() for l in open(sys.argv[2]) if l.strip()]
try:
    names = [c["name"] for c in json.load(urllib.request.urlopen(base + "/__specstub/resources", timeout=30))]
    name = next(n for n in names if n.rstrip("/").endswith("items"))
    listed = json.load(urllib.request.urlopen(base + "/__specstub/resources/" + urllib.parse.quote(name, safe=""), timeout=60))
    have = {r["id"] for r in listed}
except StopIteration:
    have = set()
except Exception as e:
    print(-1); sys.exit()
print(sum(1 for i in ids if i not in have))
PY
}

log "crashes: $KILLS SIGKILLs under 8 concurrent writers, state in $STATE_DIR"
CRASH_ROWS=()
TOTAL_LOST=0
FAILED_STARTS=0
for ((k = 1; k <= KILLS; k++)); do
  if ! start_listening "durable-kill-$k" "$OUT_DIR/durable-kill-$k.stderr" \
    "$SPECSTUB" serve "$SPEC" --port 0 --log-level warn --state-file "$STATE" --state-compact-at 1MiB; then
    FAILED_STARTS=$((FAILED_STARTS + 1))
    break
  fi
  acked="$(write_until_killed)"
  wait "$SERVER_PID" 2>/dev/null
  t0="$(now_ns)"
  if ! start_listening "durable-check-$k" "$OUT_DIR/durable-check-$k.stderr" \
    "$SPECSTUB" serve "$SPEC" --port 0 --log-level warn --state-file "$STATE" --state-compact-at 1MiB; then
    log "kill $k: the server did not restart; see $OUT_DIR/durable-check-$k.stderr"
    FAILED_STARTS=$((FAILED_STARTS + 1))
    break
  fi
  restart_ms=$((($(now_ns) - t0) / 1000000))
  lost="$(count_lost)"
  stop_server
  total="$(wc -l <"$IDS")"
  [[ "$lost" == "-1" ]] && { log "kill $k: cannot list the records"; FAILED_STARTS=$((FAILED_STARTS + 1)); break; }
  TOTAL_LOST=$((TOTAL_LOST + lost))
  log "kill $k: $acked acknowledged, $total in all, $lost lost, restart ${restart_ms} ms, files $(du -sh "$STATE_DIR" | cut -f1)"
  CRASH_ROWS+=("| $k | $acked | $total | $lost | $restart_ms |")
done
ACKED_TOTAL="$(wc -l <"$IDS")"

# measure NAME ARGS... : wrk POST against a fresh server; echoes "rps p50_us p99_us max_us non2xx".
measure() {
  local name="$1"
  shift
  rm -rf "$STATE_DIR/rate" && mkdir -p "$STATE_DIR/rate"
  start_listening "$name" /dev/null "$SPECSTUB" serve "$SPEC" --port 0 --log-level warn "$@" || return 1
  timeout 60 wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$BENCH_WRK_DIR/post.lua" "$SERVER_URL/items" >/dev/null 2>&1
  local out
  out="$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_WRK_DIR/post.lua" "$SERVER_URL/items" 2>&1 | grep '^BENCH')"
  stop_server
  [[ -n "$out" ]] || return 1
  echo "$out" | python3 -c 'import sys
kv = dict(p.split("=") for p in sys.stdin.read().split()[1:])
print(kv["rps"], kv["p50_us"], kv["p99_us"], kv["max_us"], kv["non2xx"])'
}

log "cost: wrk -t$THREADS -c$CONNECTIONS POST /items, ${DURATION}s per run, memory-only and --state-file alternately"
declare -a MEM LOGGED COMPACTING
for run in 1 2; do
  MEM+=("$(measure "durable-memory-$run")")
  log "memory-only run $run: ${MEM[-1]}"
  LOGGED+=("$(measure "durable-logged-$run" --state-file "$STATE_DIR/rate/state.json")")
  log "--state-file run $run: ${LOGGED[-1]}"
  COMPACTING+=("$(measure "durable-compacting-$run" --state-file "$STATE_DIR/rate/state.json" --state-compact-at 4MiB)")
  log "--state-file --state-compact-at 4MiB run $run: ${COMPACTING[-1]}"
done

summary="$(python3 - "${MEM[@]}" -- "${LOGGED[@]}" -- "${COMPACTING[@]}" <<'PY'
import sys
args = sys.argv[1:]
first = args.index("--")
second = args.index("--", first + 1)
def parse(rows):
    return [list(map(float, r.split())) for r in rows if r.strip()]
mem, log, compacting = parse(args[:first]), parse(args[first + 1:second]), parse(args[second + 1:])
def row(label, runs):
    rps = sum(r[0] for r in runs) / len(runs)
    p50 = sum(r[1] for r in runs) / len(runs) / 1000
    p99 = sum(r[2] for r in runs) / len(runs) / 1000
    worst = max(r[3] for r in runs) / 1000
    errors = int(sum(r[4] for r in runs))
    return rps, f"| {label} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {worst:.1f} | {errors} |"
if not mem or not log:
    print("RATE unavailable")
else:
    m, mrow = row("memory only", mem)
    l, lrow = row("`--state-file` (log + fsync)", log)
    print(mrow); print(lrow)
    if compacting:
        c, crow = row("`--state-file --state-compact-at 4MiB` (compacting)", compacting)
        print(crow)
        print(f"RATIO2 {100 * c / m:.0f}")
    print(f"RATIO {100 * l / m:.0f}")
PY
)"

{
  echo "### Crashes: $KILLS SIGKILLs under 8 concurrent writers"
  echo
  echo "| kill | acknowledged in this run | acknowledged in all | lost | restart (ms) |"
  echo "|---:|---:|---:|---:|---:|"
  printf '%s\n' "${CRASH_ROWS[@]}"
  echo
  echo "Acknowledged creates lost: **$TOTAL_LOST** of $ACKED_TOTAL; failed starts or reads: $FAILED_STARTS."
  echo
  echo "### Write rate: memory only vs \`--state-file\`"
  echo
  echo "wrk -t$THREADS -c$CONNECTIONS POST /items (benches/wrk/post.lua), ${DURATION} s after a 2 s warm-up, 2 runs each, in turn; mean of the runs, worst of the worst."
  echo
  echo "| store | req/s | p50 (ms) | p99 (ms) | worst (ms) | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|"
  echo "$summary" | grep '^|'
  echo
  echo "With the log: $(echo "$summary" | sed -n 's/^RATIO //p')% of the memory-only write rate; compacting every 4 MiB: $(echo "$summary" | sed -n 's/^RATIO2 //p')%."
  echo
  machine_description
} | tee "${MARKDOWN:-/dev/null}"

[[ $TOTAL_LOST -eq 0 && $FAILED_STARTS -eq 0 ]] || exit 1
