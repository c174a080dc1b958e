# Helpers shared by the scripts under benches/ (load, startup, store, corpus, stripe, pyclient...). Sourced, not run.
# Everything listens on 127.0.0.1 with a port the server picks itself (never a fixed port), and
# every wait is bounded.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
CACHE_DIR="$BENCH_DIR/.cache"
OUT_DIR="$BENCH_DIR/.out"
PRISM_DIR="$BENCH_DIR/.prism"
PRISM_BIN="$PRISM_DIR/node_modules/.bin/prism"
mkdir -p "$CACHE_DIR" "$OUT_DIR"

STARTED_PIDS=()

log() { printf '[bench] %s\n' "$*" >&2; }
skip() { printf '[bench] SKIP %s\n' "$*" >&2; }
die() { printf '[bench] ERROR %s\n' "$*" >&2; exit 1; }

cleanup_started() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}

now_ns() { date +%s%N; }

# Builds specstub as it is shipped, the dist profile (fat LTO) with mimalloc (unless SPECSTUB_BIN
# names a binary), and sets SPECSTUB. The release profile is tuned for build time, not for this.
build_specstub() {
  if [[ -n "${SPECSTUB_BIN:-}" ]]; then
    SPECSTUB="$SPECSTUB_BIN"
    [[ -x "$SPECSTUB" ]] || die "SPECSTUB_BIN=$SPECSTUB is not an executable"
    return
  fi
  log "building specstub (cargo build --profile dist --features mimalloc)"
  (cd "$REPO_DIR" && cargo build --profile dist --features mimalloc --quiet) || die "cargo build --profile dist failed"
  local target_dir
  target_dir="$(cd "$REPO_DIR" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')" || target_dir="$REPO_DIR/target"
  SPECSTUB="$target_dir/dist/specstub"
  [[ -x "$SPECSTUB" ]] || die "no binary at $SPECSTUB after the build"
}

# Sets SPECSTUB to the binary of a cargo PROFILE (`dev`, `release`, ...), built first unless
# BUILD=0, or to SPECSTUB_BIN when that is set: for the scripts that test behaviour rather than
# measure the shipped build.
profile_specstub() {
  local profile="$1" dir="$1" target_dir
  [[ "$profile" == dev ]] && dir=debug
  if [[ -n "${SPECSTUB_BIN:-}" ]]; then
    SPECSTUB="$SPECSTUB_BIN"
  else
    if [[ "${BUILD:-1}" -eq 1 ]]; then
      log "building specstub (cargo build --profile $profile)"
      (cd "$REPO_DIR" && cargo build --profile "$profile" --quiet) || die "cargo build --profile $profile failed"
    fi
    target_dir="$(cd "$REPO_DIR" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')" || target_dir="$REPO_DIR/target"
    SPECSTUB="$target_dir/$dir/specstub"
  fi
  [[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"
}

# Builds the ceiling server (its own workspace and target dir) and sets CEILING.
build_ceiling() {
  log "building the ceiling server (benches/ceiling)"
  cargo build --release --quiet --manifest-path "$BENCH_DIR/ceiling/Cargo.toml" \
    --target-dir "$BENCH_DIR/ceiling/target" || die "building benches/ceiling failed"
  CEILING="$BENCH_DIR/ceiling/target/release/specstub-ceiling"
}

# Installs Prism into benches/.prism once (npm registry). Returns 1 (with a SKIP message) when npm
# or the registry is unavailable.
ensure_prism() {
  if [[ -x "$PRISM_BIN" ]]; then return 0; fi
  if ! command -v npm >/dev/null; then
    skip "Prism steps: npm is not installed (apt-get install -y npm)"
    return 1
  fi
  log "installing @stoplight/prism-cli into $PRISM_DIR (once)"
  if ! npm install --prefix "$PRISM_DIR" --no-audit --no-fund --loglevel=error @stoplight/prism-cli >&2; then
    skip "Prism steps: npm install @stoplight/prism-cli failed"
    return 1
  fi
  [[ -x "$PRISM_BIN" ]] || { skip "Prism steps: no prism binary after npm install"; return 1; }
}

prism_version() { "$PRISM_BIN" --version 2>/dev/null | tail -1; }

# start_listening NAME STDERR_DEST CMD... : starts a server that prints `listening on URL` as its
# first stdout line; sets SERVER_PID and SERVER_URL. Returns 1 if it exits or stays silent for 60 s.
start_listening() {
  local name="$1" errdest="$2"
  shift 2
  local out="$OUT_DIR/$name.stdout"
  : >"$out"
  "$@" >"$out" 2>"$errdest" &
  SERVER_PID=$!
  STARTED_PIDS+=("$SERVER_PID")
  SERVER_URL=""
  local i
  for ((i = 0; i < 12000; i++)); do
    if grep -q '^listening on ' "$out" 2>/dev/null; then
      SERVER_URL="$(sed -n 's/^listening on //p' "$out" | head -1)"
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "$name exited before listening"
      return 1
    fi
    sleep 0.005
  done
  log "$name did not print 'listening on' within 60 s"
  stop_server
  return 1
}

# Installs Mockoon's CLI into benches/.cache/mockoon once (npm registry), like ensure_prism.
MOCKOON_DIR="$CACHE_DIR/mockoon"
MOCKOON_BIN="$MOCKOON_DIR/node_modules/.bin/mockoon-cli"
ensure_mockoon() {
  if [[ -x "$MOCKOON_BIN" ]]; then return 0; fi
  if ! command -v npm >/dev/null; then
    skip "Mockoon steps: npm is not installed (apt-get install -y npm)"
    return 1
  fi
  log "installing @mockoon/cli into $MOCKOON_DIR (once)"
  if ! npm install --prefix "$MOCKOON_DIR" --no-audit --no-fund --loglevel=error @mockoon/cli >&2; then
    skip "Mockoon steps: npm install @mockoon/cli failed"
    return 1
  fi
  [[ -x "$MOCKOON_BIN" ]] || { skip "Mockoon steps: no mockoon-cli after npm install"; return 1; }
}

mockoon_version() { "$MOCKOON_BIN" --version 2>/dev/null | sed -n 's|^@mockoon/cli/\([^ ]*\).*|\1|p'; }

# Installs oha (the open-loop load generator) from crates.io into benches/.cache/oha once and sets
# OHA. oha 1.16 compiles only with a TLS feature; native-tls links the system's OpenSSL
# (libssl-dev) where the default rustls feature would build aws-lc's C, several minutes more.
# Everything here is plain HTTP on 127.0.0.1. Returns 1 (with a SKIP message) when it fails.
OHA_VERSION_WANTED="1.16.0"
ensure_oha() {
  OHA="$CACHE_DIR/oha/bin/oha"
  if [[ -x "$OHA" ]]; then return 0; fi
  log "installing oha $OHA_VERSION_WANTED into $CACHE_DIR/oha (once, a few minutes)"
  if ! cargo install oha --locked --version "$OHA_VERSION_WANTED" --no-default-features --features native-tls \
    --root "$CACHE_DIR/oha" >&2; then
    skip "open-loop steps: cargo install oha failed"
    return 1
  fi
  [[ -x "$OHA" ]] || { skip "open-loop steps: no oha binary after cargo install"; return 1; }
}

# start_mockoon NAME DOCUMENT : Mockoon imports the OpenAPI document itself; port 0, no log file,
# no admin API; its per-request log lines go to /dev/null.
start_mockoon() {
  start_by_port "$1" bash -c 'exec "$@" >/dev/null' mockoon \
    "$MOCKOON_BIN" start -d "$2" -p 0 -l 127.0.0.1 -X --disable-admin-api
}

# start_prism NAME SPEC [extra args] : starts Prism on a port it picks (-p 0), finds the port from
# the listening socket of its process, waits until it answers; sets SERVER_PID and SERVER_URL.
start_prism() {
  local name="$1" spec="$2"
  shift 2
  start_by_port "$name" "$PRISM_BIN" mock -h 127.0.0.1 -p 0 "$@" "$spec"
}

# start_by_port NAME CMD... : starts a server that listens on a port of its choosing without saying
# which; the port is read from its listening socket (ss). Sets SERVER_PID and SERVER_URL.
start_by_port() {
  local name="$1"
  shift
  "$@" >"$OUT_DIR/$name.stdout" 2>&1 &
  SERVER_PID=$!
  STARTED_PIDS+=("$SERVER_PID")
  SERVER_URL=""
  local i port
  for ((i = 0; i < 12000; i++)); do
    port="$(ss -Hltnp 2>/dev/null | grep "pid=$SERVER_PID," | awk '{print $4}' | sed 's/.*://' | head -1)"
    if [[ -n "$port" ]]; then
      SERVER_URL="http://127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "$name exited before listening; see $OUT_DIR/$name.stdout"
      return 1
    fi
    sleep 0.005
  done
  log "$name did not listen within 60 s"
  stop_server
  return 1
}

stop_server() {
  if [[ -n "${SERVER_PID:-}" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

# proc_kb PID FIELD : a field of /proc/PID/status in kB (VmHWM = peak RSS, VmRSS = current RSS).
proc_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

mb() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }

# first_answer URL : polls URL in a tight bounded loop (this is the measurement of "first request
# answered"); prints the HTTP status of the first answer, or 000 after 120 s.
first_answer() {
  local url="$1" code i
  for ((i = 0; i < 60000; i++)); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null)" || true
    if [[ "$code" != "000" && -n "$code" ]]; then
      echo "$code"
      return 0
    fi
    sleep 0.002
  done
  echo 000
  return 1
}

machine_description() {
  echo "- CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) ($(nproc) cores available)"
  echo "- Memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
  echo "- Kernel: $(uname -sr); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "- $(rustc --version 2>/dev/null)"
  if command -v wrk >/dev/null; then echo "- $(wrk --version 2>&1 | head -1 | sed 's/ Copyright.*//')"; fi
  if command -v node >/dev/null; then echo "- node $(node --version)"; fi
  echo "- Load average when the table was written (1/5/15 min, on $(nproc) cores): $(cut -d" " -f1-3 /proc/loadavg); other processes on the machine count too"
}
