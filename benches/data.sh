#!/usr/bin/env bash
# What `--data realistic` costs a generated answer: the same document, the same dynamic GET (a
# list of three contacts generated from a schema without examples, tests/data/realistic.yaml),
# served with `--data static` and with `--data realistic`, one after the other under wrk on
# 127.0.0.1. One command:
#
#   benches/data.sh [--duration S] [--connections N] [--threads N]
#
# Each mode: a fresh server (`--stateless --dynamic --log-level warn`), one checked answer, a 2 s
# warm-up that is thrown away, then the measured run. Prints req/s, p50/p99 latency, the
# server's CPU time per answer (user + system, from /proc: it holds when other processes load the
# machine, which req/s does not) and peak RSS for both, and the realistic/static ratios. Environment: SPECSTUB_BIN (use this binary, do not
# build the dist profile).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DURATION=10
CONNECTIONS=16
THREADS=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
trap cleanup_started EXIT
trap 'exit 130' INT TERM
export BENCH_WRK_DIR="$BENCH_DIR/wrk"

build_specstub
SPEC="$REPO_DIR/tests/data/realistic.yaml"
declare -A RPS P50 P99 HWM CPU
# cpu_ticks PID : user + system CPU time of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK="$(getconf CLK_TCK)"
for mode in static realistic; do
  start_listening "data-$mode" /dev/null "$SPECSTUB" serve "$SPEC" --port 0 --stateless --dynamic --log-level warn \
    --data "$mode" --seed 1 || die "specstub --data $mode did not start"
  url="$SERVER_URL/contacts"
  code="$(curl -s -o "$OUT_DIR/data-$mode.json" -w '%{http_code}' --max-time 5 "$url")"
  [[ "$code" == 200 ]] || die "--data $mode: GET /contacts answered $code"
  log "--data $mode: $(head -c 160 "$OUT_DIR/data-$mode.json")..."
  timeout 40 wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$BENCH_WRK_DIR/get.lua" "$url" >/dev/null 2>&1
  before="$(cpu_ticks "$SERVER_PID")"
  line="$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_WRK_DIR/get.lua" "$url" 2>&1 |
    grep '^BENCH ' | tail -1)"
  after="$(cpu_ticks "$SERVER_PID")"
  [[ -n "$line" ]] || die "--data $mode: wrk gave no result"
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  CPU[$mode]="$(awk -v t=$((after - before)) -v hz="$TICK" -v n="$(field requests)" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')"
  [[ "$(field non2xx)" == 0 ]] || die "--data $mode: $(field non2xx) answers were not 2xx"
  RPS[$mode]="$(field rps)"
  P50[$mode]="$(field p50_us)"
  P99[$mode]="$(field p99_us)"
  HWM[$mode]="$(proc_kb "$SERVER_PID" VmHWM)"
  stop_server
done

echo "wrk -t$THREADS -c$CONNECTIONS, 2 s warm-up + ${DURATION}s per mode, GET /contacts (3 generated contacts) with --dynamic"
echo
echo "| --data | req/s | p50 ms | p99 ms | server CPU µs/answer | peak RSS MB |"
echo "|---|---|---|---|---|---|"
for mode in static realistic; do
  printf '| %s | %.0f | %.2f | %.2f | %s | %s |\n' "$mode" "${RPS[$mode]}" "$(awk -v u="${P50[$mode]}" 'BEGIN{print u/1000}')" \
    "$(awk -v u="${P99[$mode]}" 'BEGIN{print u/1000}')" "${CPU[$mode]}" "$(mb "${HWM[$mode]}")"
done
echo
awk -v r="${RPS[realistic]}" -v s="${RPS[static]}" 'BEGIN { printf "realistic/static throughput: %.2f\n", r / s }'
awk -v r="${CPU[realistic]}" -v s="${CPU[static]}" 'BEGIN { printf "realistic/static CPU per answer: %.2f\n", r / s }'
machine_description
