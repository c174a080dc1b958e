#!/usr/bin/env bash
# What `--data realistic` costs a generated answer: the same document, the same dynamic GET (a
# list of three contacts generated from a schema without examples, tests/data/realistic.yaml),
# served with `--data static` and with `--data realistic`, one after the other under wrk on
# 127.0.0.1. One command:
#
#   benches/data.sh [--duration S] [--connections N] [--threads N]
#
# Each mode: a fresh server (`--stateless --dynamic --log-level warn`), one checked answer, a 2 s
# warm-up that is thrown away, then the measured run. Prints req/s, p50/p99 latency and peak RSS
# for both and the realistic/static ratio. Environment: SPECSTUB_BIN (use this binary, do not
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
declare -A RPS P50 P99 HWM
for mode in static realistic; do
  start_listening "data-$mode" /dev/null "$SPECSTUB" serve "$SPEC" --port 0 --stateless --dynamic --log-level warn \
    --data "$mode" --seed 1 || die "specstub --data $mode did not start"
  url="$SERVER_URL/contacts"
  code="$(curl -s -o "$OUT_DIR/data-$mode.json" -w '%{http_code}' --max-time 5 "$url")"
  [[ "$code" == 200 ]] || die "--data $mode: GET /contacts answered $code"
  log "--data $mode: $(head -c 160 "$OUT_DIR/data-$mode.json")..."
  timeout 40 wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$BENCH_WRK_DIR/get.lua" "$url" >/dev/null 2>&1
  line="$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_WRK_DIR/get.lua" "$url" 2>&1 |
    grep '^BENCH ' | tail -1)"
  [[ -n "$line" ]] || die "--data $mode: wrk gave no result"
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  [[ "$(field non2xx)" == 0 ]] || die "--data $mode: $(field non2xx) answers were not 2xx"
  RPS[$mode]="$(field rps)"
  P50[$mode]="$(field p50_us)"
  P99[$mode]="$(field p99_us)"
  HWM[$mode]="$(proc_kb "$SERVER_PID" VmHWM)"
  stop_server
done

echo "wrk -t$THREADS -c$CONNECTIONS, 2 s warm-up + ${DURATION}s per mode, GET /contacts (3 generated contacts) with --dynamic"
echo
echo "| --data | req/s | p50 ms | p99 ms | peak RSS MB |"
echo "|---|---|---|---|---|"
for mode in static realistic; do
  printf '| %s | %.0f | %.2f | %.2f | %s |\n' "$mode" "${RPS[$mode]}" "$(awk -v u="${P50[$mode]}" 'BEGIN{print u/1000}')" \
    "$(awk -v u="${P99[$mode]}" 'BEGIN{print u/1000}')" "$(mb "${HWM[$mode]}")"
done
echo
awk -v r="${RPS[realistic]}" -v s="${RPS[static]}" 'BEGIN { printf "realistic/static throughput: %.2f\n", r / s }'
machine_description
