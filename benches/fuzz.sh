#!/usr/bin/env bash
# Runs the property tests that fuzz every reader of outside input (the `fuzz` modules: document
# loader and compiler, router, request validator, the whole request path, form, multipart and
# XML bodies, the state file) for a while: rounds of PROPTEST_CASES cases per property, each
# round with a new seed, until the time is up. Prints each round, then the cases run and the
# failures; a failed round's output (with the minimal failing input and its seed, to replay with
# PROPTEST_RNG_SEED) is kept in benches/.out/fuzz-SEED.log. Exit status 1 when any round failed.
#
#   benches/fuzz.sh [MINUTES]        # default 10
#   CASES=5000 benches/fuzz.sh 60    # more cases per round
#
# Debug build on purpose: integer overflow checks and debug assertions find more than speed.
set -euo pipefail

MINUTES="${1:-10}"
CASES="${CASES:-2000}"
[[ "$MINUTES" =~ ^[0-9]+$ && "$CASES" =~ ^[0-9]+$ ]] || { echo "usage: benches/fuzz.sh [MINUTES] (CASES=N for cases per round)" >&2; exit 2; }
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="$REPO_DIR/benches/.out"
mkdir -p "$OUT_DIR"
cd "$REPO_DIR"

echo "[fuzz] building the library's tests"
BIN="$(cargo test --lib --no-run --message-format=json 2>/dev/null | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)"
[[ -x "$BIN" ]] || { echo "[fuzz] cannot find the test binary (cargo test --lib --no-run)" >&2; exit 2; }

# The properties: the test functions inside `proptest! { ... }` blocks of the fuzz modules.
PROPERTIES="$(awk '
  /proptest! \{/ { depth = 0; inside = 1 }
  inside {
    if (depth == 1 && $0 ~ /^ *fn [a-z_0-9]+\(/) n++
    opened = gsub(/\{/, "{"); closed = gsub(/\}/, "}"); depth += opened - closed
    if (depth <= 0) inside = 0
  }
  END { print n }' $(grep -rl 'proptest! {' src))"

deadline=$(( $(date +%s) + MINUTES * 60 ))
rounds=0
failed=0
while (( $(date +%s) < deadline )); do
  seed=$(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ))
  rounds=$(( rounds + 1 ))
  log="$OUT_DIR/fuzz-$seed.log"
  started=$(date +%s)
  if PROPTEST_CASES="$CASES" PROPTEST_RNG_SEED="$seed" "$BIN" fuzz --test-threads=2 >"$log" 2>&1; then
    echo "[fuzz] round $rounds seed $seed: ok in $(( $(date +%s) - started ))s"
    rm -f "$log"
  else
    failed=$(( failed + 1 ))
    echo "[fuzz] round $rounds seed $seed: FAILED, see $log"
    grep -E "^test .* FAILED|minimal failing input" "$log" | sed 's/^/[fuzz]   /' || true
  fi
done
echo "[fuzz] $rounds round(s), $PROPERTIES properties x $CASES cases: $(( rounds * PROPERTIES * CASES )) cases run, $failed failed round(s)"
(( failed == 0 ))
