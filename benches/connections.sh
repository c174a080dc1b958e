#!/usr/bin/env bash
# Slow and idle connections, before and after the connection limits:
#
#   benches/connections.sh [--connections N] [--wait SECONDS] [--files N] [--quick] [--no-build]
#
# Starts a release build of specstub under `ulimit -n FILES` (default 1024) and opens N (default
# 5000) connections to it, a quarter of each kind: one header byte every 3 s, silent, idle
# keep-alive after one answer, a short body (benches/connections.py). A normal client asks
# GET /v1/pets every 0.5 s meanwhile. Reports, 1 s after the connections are opened and after
# --wait seconds (default 75): how many the client still sees open, the server's open
# descriptors and RSS, the normal client's answers, and the server's own counts
# (GET /__specstub/health).
#
# Runs on the same binary: "limits off" (every deadline 1 h, --max-connections 1000000; only the
# fallback on running out of descriptors is left) and "default limits" (no limit flag given).
# BEFORE_BIN=PATH adds a first run, "before", of a build from before the limits existed (with its
# defaults). --quick uses short deadlines (header 2 s, idle 4 s, body 3 s) and waits 8 s, for a
# check in seconds. SPECSTUB_BIN=PATH measures that binary instead of building.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONNECTIONS=5000
WAIT=75
FILES=1024
QUICK=0
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --wait) WAIT="$2"; shift 2 ;;
    --files) FILES="$2"; shift 2 ;;
    --quick) QUICK=1; WAIT=8; shift ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
trap cleanup_started EXIT
trap 'exit 130' INT TERM

if [[ -n "${SPECSTUB_BIN:-}" ]]; then
  SPECSTUB="$SPECSTUB_BIN"
elif [[ $BUILD -eq 1 ]]; then
  log "building specstub (cargo build --release)"
  (cd "$REPO_DIR" && cargo build --release --quiet) || die "cargo build --release failed"
  SPECSTUB="$(cd "$REPO_DIR" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/specstub"
else
  SPECSTUB="$REPO_DIR/target/release/specstub"
fi
[[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"
SPEC="$REPO_DIR/tests/data/petstore.yaml"

# run LABEL BINARY FLAGS... : one measurement, printed as a table row and kept as JSON in .out/.
run() {
  local label="$1" bin="$2"
  shift 2
  local err="$OUT_DIR/connections-$label.stderr"
  # The subshell lowers the file limit for the server alone; the client keeps the machine's.
  start_listening "connections-$label" "$err" bash -c 'ulimit -n "$0" && exec "$@"' "$FILES" \
    "$bin" serve "$SPEC" --port 0 --log-level warn "$@" || die "specstub did not start"
  log "$label: $CONNECTIONS connections against $SERVER_URL (ulimit -n $FILES), waiting ${WAIT}s"
  local result
  result="$(python3 "$BENCH_DIR/connections.py" "$SERVER_URL" "$SERVER_PID" --connections "$CONNECTIONS" --wait "$WAIT")" ||
    die "the client failed"
  local health
  health="$(curl -s --max-time 3 "$SERVER_URL/__specstub/health" || echo '{}')"
  local accept_lines
  accept_lines="$(grep -c 'accept failed' "$err" 2>/dev/null || true)"
  stop_server
  echo "$result" >"$OUT_DIR/connections-$label.json"
  python3 - "$label" "$result" "$health" "$accept_lines" <<'EOF'
import json, sys
label, r, h, accept_lines = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    c = json.loads(h).get("connections", {})
except ValueError:
    c = {}
e, l, n = r["after_1s"], r["after_wait"], r["normal_client"]
print(f"| {label} | {r['opened']}/{r['connections']} | {e['open_seen_by_client']} | {e['server_fds']} | "
      f"{l['at_s']} s: {l['open_seen_by_client']} | {l['server_fds']} | {n['ok']}/{n['requests']} "
      f"(max {n['max_ms_ok']} ms) | {r['server_peak_rss_mb']} | {c.get('acceptErrors', '-')} | "
      f"{json.dumps(c.get('closed', {}))} | {accept_lines} |")
EOF
}

echo "specstub: $("$SPECSTUB" --version); ulimit -n $FILES for the server; $CONNECTIONS connections; $(nproc) cores"
echo
echo "| run | connections opened | open after 1 s (client view) | server fds after 1 s | open at the end (client view) | server fds at the end | normal client 200s | server peak RSS MB | accept errors | closed by (health) | 'accept failed' log lines |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
if [[ -n "${BEFORE_BIN:-}" ]]; then
  [[ -x "$BEFORE_BIN" ]] || die "BEFORE_BIN=$BEFORE_BIN is not an executable"
  run before "$BEFORE_BIN"
fi
run limits-off "$SPECSTUB" --header-timeout 1h --idle-timeout 1h --body-timeout 1h --max-connections 1000000
if [[ $QUICK -eq 1 ]]; then
  run default-limits "$SPECSTUB" --header-timeout 2s --idle-timeout 4s --body-timeout 3s
else
  run default-limits "$SPECSTUB"
fi
