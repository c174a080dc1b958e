#!/usr/bin/env bash
# Journal memory: RSS of a server that journaled N requests with 1 MB bodies, each rejected (a
# required field missing, so the violation message is short and the body is what is held).
#
#   benches/journal.sh [--requests N] [--markdown FILE] [--no-build]
#
# Two runs side by side: `--journal-bytes 4GiB` (bounded by count only, as before the byte
# budget: no entry is ever cut) and the default `--journal-bytes 32MiB`. For each: VmRSS after
# start, after the N requests, and VmHWM (peak); the journal's answer (GET /__specstub/journal):
# its size and time. The requests go over one keep-alive connection to 127.0.0.1.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REQUESTS=1000
MARKDOWN=""
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) REQUESTS="$2"; shift 2 ;;
    --markdown) MARKDOWN="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
trap cleanup_started EXIT
trap 'exit 130' INT TERM
if [[ $BUILD -eq 1 ]]; then build_specstub; else SPECSTUB="${SPECSTUB_BIN:-$REPO_DIR/target/dist/specstub}"; fi
[[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"
SPEC="$BENCH_DIR/specs/journal.yaml"

# send URL N : N POSTs of a 1 MB JSON body on one connection; prints the statuses seen.
send() {
  python3 - "$1" "$2" <<'PY'
import collections, http.client, sys, urllib.parse
url, n = urllib.parse.urlparse(sys.argv[1]), int(sys.argv[2])
body = ('{"blob": "' + "x" * (1_000_000 - 12) + '"}').encode()
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
seen = collections.Counter()
for i in range(n):
    conn.request("POST", "/items", body, {"content-type": "application/json", "x-request-id": f"bench-{i}"})
    r = conn.getresponse()
    r.read()
    seen[r.status] += 1
print(" ".join(f"{k}x{v}" for k, v in sorted(seen.items())))
PY
}

rows=()
for budget in 4GiB 32MiB; do
  name="journal-$budget"
  start_listening "$name" "$OUT_DIR/$name.stderr" "$SPECSTUB" serve "$SPEC" --port 0 --log-level warn --journal-bytes "$budget" ||
    die "$name did not start"
  first_answer "$SERVER_URL/__specstub/health" >/dev/null
  idle="$(proc_kb "$SERVER_PID" VmRSS)"
  statuses="$(send "$SERVER_URL" "$REQUESTS")"
  after="$(proc_kb "$SERVER_PID" VmRSS)"
  t0="$(now_ns)"
  size="$(curl -s -o /dev/null -w '%{size_download}' --max-time 120 "$SERVER_URL/__specstub/journal")"
  t1="$(now_ns)"
  peak="$(proc_kb "$SERVER_PID" VmHWM)"
  ms=$(((t1 - t0) / 1000000))
  log "$budget: statuses $statuses, RSS idle $(mb "$idle") MB, after $(mb "$after") MB, peak $(mb "$peak") MB, journal answer $size bytes in $ms ms"
  rows+=("| \`--journal-bytes $budget\` | $REQUESTS ($statuses) | $(mb "$idle") | $(mb "$after") | $(mb "$peak") | $(awk -v b="$size" 'BEGIN{printf "%.1f", b/1048576}') MiB in $ms ms |")
  stop_server
done

table="$(
  echo "| journal | requests of 1 MB (statuses) | RSS idle, MB | RSS after, MB | peak RSS, MB | GET /__specstub/journal |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  machine_description
)"
echo "$table"
if [[ -n "$MARKDOWN" ]]; then echo "$table" >"$MARKDOWN"; fi
