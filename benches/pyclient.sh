#!/usr/bin/env bash
# Python clients generated from the bundled specs, against specstub serving them:
#
#   benches/pyclient.sh [--no-build] [--only NAME]...
#
# Installs openapi-python-client==$GENERATOR_VERSION from PyPI into a venv under benches/.cache/
# once, generates a client for each document in specs/ (into benches/.out/pyclient/), starts
# `specstub serve specs/NAME.yaml --fixtures fixtures --port 0 --self-check` (the release
# binary) and runs benches/pyclient.py's create/update/list/get flow for that document through
# its client: any parse error in the client (`ValueError: badly formed hexadecimal UUID
# string`), an undeclared status, an answer of the wrong model, or an answer the server's own
# self-check counts as breaking the document fails the run (exit 1). --only NAME (repeatable)
# runs only specs/NAME.yaml. When the generator cannot be installed (offline), it says SKIP and
# exits 0, except with CI=true, where that is a failure (exit 1). SPECSTUB_BIN=PATH uses that
# binary; PYCLIENT_VENV=DIR keeps the venv there instead.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

GENERATOR_VERSION=0.29.1
BUILD=1
ONLY=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0; shift ;;
    --only) ONLY+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
trap cleanup_started EXIT
trap 'exit 130' INT TERM

missing() {
  if [[ "${CI:-}" == true ]]; then
    log "FAIL $* (CI=true: the generated clients must run)"
    exit 1
  fi
  skip "$*"
  exit 0
}

PYTHON="$(command -v python3.11 || command -v python3)" || missing "python3 is not installed"
VENV="${PYCLIENT_VENV:-$CACHE_DIR/pyclient-venv-$GENERATOR_VERSION}"
if ! "$VENV/bin/openapi-python-client" --version 2>/dev/null | grep -q "$GENERATOR_VERSION"; then
  log "installing openapi-python-client==$GENERATOR_VERSION into $VENV (once)"
  timeout 300 "$PYTHON" -m venv "$VENV" >&2 &&
    timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check "openapi-python-client==$GENERATOR_VERSION" >&2 ||
    missing "openapi-python-client==$GENERATOR_VERSION could not be installed from PyPI"
fi

profile_specstub release

CLIENTS="$OUT_DIR/pyclient"
mkdir -p "$CLIENTS"
failed=()
for spec in "$REPO_DIR"/specs/*.yaml; do
  name="$(basename "$spec" .yaml)"
  if [[ ${#ONLY[@]} -gt 0 && ! " ${ONLY[*]} " == *" $name "* ]]; then continue; fi
  # The generator formats its output with ruff, which the venv holds.
  if ! PATH="$VENV/bin:$PATH" timeout 120 "$VENV/bin/openapi-python-client" generate --path "$spec" \
    --output-path "$CLIENTS/$name" --overwrite >"$CLIENTS/$name.generate.log" 2>&1; then
    log "FAIL $name: the client could not be generated; see $CLIENTS/$name.generate.log"
    failed+=("$name (generate)")
    continue
  fi
  if ! start_listening "pyclient-$name" "$CLIENTS/$name.stderr" "$SPECSTUB" serve "$spec" \
    --fixtures "$REPO_DIR/fixtures" --port 0 --self-check --log-level warn; then
    failed+=("$name (serve)")
    continue
  fi
  log "$name: specstub at $SERVER_URL, the generated client runs the flow"
  timeout 120 "$VENV/bin/python" "$BENCH_DIR/pyclient.py" "$name" "$CLIENTS/$name" "$SERVER_URL" || failed+=("$name (flow)")
  violations="$(curl -fsS --max-time 5 "$SERVER_URL/__specstub/health" |
    "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["selfCheck"]["violations"])' 2>/dev/null || echo "?")"
  if [[ "$violations" != 0 ]]; then
    log "FAIL $name: the server's self-check counted $violations answer(s) breaking the document"
    failed+=("$name (self-check: $violations)")
  fi
  stop_server
done
if [[ ${#failed[@]} -gt 0 ]]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "every generated client ran its flow"
