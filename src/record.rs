//! Record mode (`serve --proxy URL --record DIR`): what the validating proxy sees becomes a
//! recording that `serve` without the proxy answers from. An exchange that keeps to the spec
//! leaves the upstream's body as a named example in an OpenAPI Overlay
//! (`DIR/recorded.overlay.yaml`), placed before the document's own examples so that it is the
//! default answer, and, for a stateful operation (create, read, update), the record it answered as
//! a fixture (`DIR/fixtures/recorded.yaml`). An exchange that breaks the spec is listed in
//! `DIR/report.json` with its violations instead. Secrets are redacted ([`redact`]) before
//! anything is kept. The request path only prepares what to keep; one writer thread owns the
//! files, drops duplicates and rewrites each changed file atomically after every batch, so a
//! stopped server leaves a usable recording and a restarted one carries it on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::negotiate;
use crate::spec::walk::Flow;
use crate::spec::{Media, Operation, Spec};
use crate::validate::Violation;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";
/// The overlay file when one document is served.
pub const OVERLAY_FILE: &str = "recorded.overlay.yaml";
/// The fixtures file, inside `DIR/fixtures`.
pub const FIXTURES_FILE: &str = "recorded.yaml";
pub const REPORT_FILE: &str = "report.json";
/// Marks the examples record mode wrote (the value is when), so that a restart tells them from
/// the document's own.
const MARK: &str = "x-specstub-recorded";
/// Distinct answers kept per declared response: an endpoint whose every answer differs (a clock,
/// a counter) would otherwise grow the overlay without end.
const MAX_EXAMPLES: usize = 50;
const MAX_RECORDS: usize = 10_000;
/// Distinct broken or unrecorded exchanges listed in the report; beyond, only counted.
const MAX_REPORTED: usize = 1000;
/// Longest text body quoted in the report.
const MAX_QUOTED: usize = 16 * 1024;
/// Where bundled external files live in a loaded document: examples there cannot be overlaid.
const BUNDLED: &str = "/x-specstub-bundled";

/// Whether a field, parameter or header name names a secret: after lower-casing and dropping
/// `-`, `_` and `.`, it is `authorization`, `proxyauthorization`, `cookie` or `setcookie`, contains
/// `password`, `passwd` or `secret`, or ends with `token` or `apikey` (`access_token`,
/// `client_secret`, `X-API-Key`, `refreshToken`...).
pub fn is_secret(name: &str) -> bool {
    let n: String = name.chars().filter(|c| !matches!(c, '-' | '_' | '.')).collect::<String>().to_ascii_lowercase();
    matches!(n.as_str(), "authorization" | "proxyauthorization" | "cookie" | "setcookie")
        || ["password", "passwd", "secret"].iter().any(|s| n.contains(s))
        || n.ends_with("token")
        || n.ends_with("apikey")
}

/// Replaces the value of every field named like a secret ([`is_secret`]), at any depth, with
/// [`REDACTED`]. Self-contained so that the journal's redaction can share it.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if is_secret(k) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// One exchange of the validating proxy, as record mode reads it.
pub struct Seen<'a> {
    pub spec: &'a Spec,
    pub op: &'a Operation,
    pub method: &'a Method,
    pub path_params: &'a [(String, String)],
    /// The operation's query pairs.
    pub query: &'a [(String, String)],
    pub request_headers: &'a HeaderMap,
    pub request_body: &'a [u8],
    /// What the upstream answered; None when the request was refused or the upstream failed.
    pub upstream: Option<(StatusCode, &'a HeaderMap, &'a [u8])>,
    /// Of the request and of the answer: any makes the exchange broken.
    pub violations: &'a [Violation],
    /// The collection a stateful operation reads or writes.
    pub resource: Option<Resource<'a>>,
}

/// Where an answered record goes among the fixtures.
pub struct Resource<'a> {
    pub name: &'a str,
    /// The record field that holds its id.
    pub key: &'a str,
    /// The path parameters that place it inside a parent.
    pub scope: &'a [String],
    /// The answer's field that holds the record, when it is wrapped.
    pub envelope: Option<&'a str>,
}

/// The handle the request path holds: it prepares what to keep and hands it to the writer.
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    dir: PathBuf,
}

enum Msg {
    Kept(Box<Kept>),
    /// Answered once everything sent before is on disk.
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Default)]
struct Kept {
    example: Option<NewExample>,
    record: Option<NewRecord>,
    /// A report entry for `broken` or `unrecorded`.
    broken: Option<Value>,
    unrecorded: Option<Value>,
}

struct NewExample {
    /// The served document, by index: its overlay file.
    doc: usize,
    /// JSONPath of the media type object.
    target: String,
    /// The document's own examples there, kept after the recorded ones.
    originals: Vec<(String, Value)>,
    /// Whether the media type has `example` / `examples` to remove before they are re-added.
    had_example: bool,
    had_examples: bool,
    name: String,
    example: Value,
    /// For the report when the response has its fill of examples.
    operation: String,
    status: u16,
}

struct NewRecord {
    resource: String,
    key: String,
    scope: Map<String, Value>,
    data: Value,
}

impl Recorder {
    /// Opens the recording in `dir` for the served `documents` (one overlay file each when there
    /// are several), carrying on an earlier recording found there, and writes its files at once
    /// so that an unusable directory is found at start.
    pub fn open(dir: &Path, documents: &[PathBuf]) -> std::io::Result<Self> {
        let mut rec = Recording::open(dir, documents)?;
        rec.write_all()?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new().name("specstub-record".into()).spawn(move || rec.run(&rx))?;
        Ok(Self { tx, dir: dir.to_path_buf() })
    }

    /// Keeps what `seen` leaves: an example and a fixture, or a report entry.
    pub fn keep(&self, seen: &Seen) {
        let kept = prepare(seen);
        if kept.example.is_none() && kept.record.is_none() && kept.broken.is_none() && kept.unrecorded.is_none() {
            return;
        }
        if self.tx.send(Msg::Kept(Box::new(kept))).is_err() {
            tracing::error!(dir = %self.dir.display(), "the recording has stopped: an exchange is not recorded");
        }
    }

    /// Waits until everything kept so far is written.
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }
}

/// What one exchange leaves, worked out on the request path so that the writer only merges.
fn prepare(s: &Seen) -> Kept {
    let mut kept = Kept::default();
    if !s.violations.is_empty() {
        kept.broken = Some(broken_entry(s));
        return kept;
    }
    let Some((status, headers, body)) = s.upstream else { return kept };
    // Nothing to replay: HEAD, 204 and 304 answers carry no body.
    if *s.method == Method::HEAD || body.is_empty() {
        return kept;
    }
    let ct = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(media) = s.op.response_for(status.as_u16()).and_then(|r| media_for(&r.content, ct)) else { return kept };
    let not_kept = |reason: String| Some(unrecorded_entry(s, status.as_u16(), reason));
    let mut value = match body_value(ct, body) {
        Some(v) => v,
        None => {
            kept.unrecorded = not_kept(format!("a {} body is not text: only JSON and text answers are recorded", negotiate::essence(ct)));
            return kept;
        }
    };
    redact(&mut value);
    if let (Some(res), true) = (&s.resource, status.is_success() && negotiate::is_json(ct)) {
        kept.record = record_of(s, res, &value);
    }
    if media.pointer.starts_with(BUNDLED) || media.pointer.is_empty() {
        kept.unrecorded =
            not_kept("the response is declared in another file: an overlay of this document cannot add examples to it".into());
        return kept;
    }
    let (originals, had_example, had_examples) = originals(s.spec, media);
    let summary = format!("{} {}", s.method, request_line(s));
    let mut example = Map::new();
    example.insert("summary".into(), Value::String(summary));
    example.insert(MARK.into(), Value::String(crate::clock::now_rfc3339()));
    example.insert("value".into(), value);
    kept.example = Some(NewExample {
        doc: s.op.spec,
        target: json_path(&media.pointer),
        originals,
        had_example,
        had_examples,
        name: example_name(s),
        example: Value::Object(example),
        operation: s.op.id.clone(),
        status: status.as_u16(),
    });
    kept
}

/// The declared media type an answer's `Content-Type` falls under, as the proxy's check reads it.
fn media_for<'m>(content: &'m [Media], ct: &str) -> Option<&'m Media> {
    content
        .iter()
        .find(|m| negotiate::essence(&m.media_type) == negotiate::essence(ct))
        .or_else(|| content.iter().find(|m| negotiate::covers(&m.media_type, ct)))
}

/// A body as an example value: JSON parsed, other text as a string (sent back as written); None
/// for binary bodies.
fn body_value(ct: &str, body: &[u8]) -> Option<Value> {
    if negotiate::is_json(ct) {
        return serde_json::from_slice(body).ok();
    }
    let essence = negotiate::essence(ct);
    let textual = essence.starts_with("text/") || negotiate::base(&essence) == "application/xml";
    textual.then(|| std::str::from_utf8(body).ok().map(|t| Value::String(t.to_string()))).flatten()
}

/// The record a stateful operation answered, when it carries its id.
fn record_of(s: &Seen, res: &Resource, body: &Value) -> Option<NewRecord> {
    let data = match res.envelope {
        Some(field) => body.get(field)?,
        None => body,
    };
    if !data.is_object() || !matches!(data.get(res.key), Some(Value::String(_) | Value::Number(_))) {
        return None;
    }
    let mut scope = Map::new();
    for name in res.scope {
        let value = s.path_params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())?;
        scope.insert(name.clone(), Value::String(if is_secret(name) { REDACTED.into() } else { value }));
    }
    Some(NewRecord { resource: res.name.to_string(), key: res.key.to_string(), scope, data: data.clone() })
}

/// The document's own examples of a media type, as overlay entries in the order answers read
/// them, and whether it has `example` and `examples` fields.
fn originals(spec: &Spec, media: &Media) -> (Vec<(String, Value)>, bool, bool) {
    let Some(raw) = spec.schemas.doc(Flow::Response).pointer(&media.pointer) else { return (Vec::new(), false, false) };
    let mut out = Vec::new();
    if let Some(v) = raw.get("example") {
        out.push(("default".to_string(), json!({ "value": v })));
    }
    let named = raw.get("examples").and_then(Value::as_object);
    for (name, ex) in named.into_iter().flatten() {
        if ex.get(MARK).is_some() {
            continue;
        }
        // A reference may point into a bundled file the overlay cannot see: its value, inlined.
        let entry = if ex.get("$ref").is_some() {
            match media.examples.iter().find(|e| e.name == *name) {
                Some(e) => json!({ "value": e.value }),
                None => continue,
            }
        } else {
            ex.clone()
        };
        out.push((name.clone(), entry));
    }
    (out, raw.get("example").is_some(), named.is_some())
}

/// A JSON pointer as a normalized JSONPath (`$['paths']['/a/{id}']...`).
fn json_path(pointer: &str) -> String {
    let mut out = String::from("$");
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        out.push_str("['");
        for c in token.chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push_str("']");
    }
    out
}

/// `get-42`: the method and the path parameters' values, usable in `Prefer: example=NAME`.
fn example_name(s: &Seen) -> String {
    let mut raw = s.method.as_str().to_ascii_lowercase();
    for (name, value) in s.path_params {
        raw.push('-');
        raw.push_str(if is_secret(name) { "redacted" } else { value });
    }
    let mut out = String::new();
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~') { c } else { '-' };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out: String = out.trim_matches('-').chars().take(64).collect();
    if out.is_empty() { "recorded".into() } else { out }
}

/// The request's path and query with secrets redacted.
fn request_line(s: &Seen) -> String {
    let template = crate::template::split_key(&s.op.served_path).0;
    let path = crate::template::fill(template, |name| {
        let value = s.path_params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())?;
        Some(if is_secret(name) { REDACTED.to_string() } else { value })
    });
    if s.query.is_empty() {
        return path;
    }
    let pairs: Vec<String> = s.query.iter().map(|(k, v)| format!("{k}={}", if is_secret(k) { REDACTED } else { v.as_str() })).collect();
    format!("{path}?{}", pairs.join("&"))
}

fn query_object(s: &Seen) -> Value {
    let mut out = Map::new();
    for (k, v) in s.query {
        let v = if is_secret(k) { REDACTED.to_string() } else { v.clone() };
        if let Value::Array(a) = out.entry(k.clone()).or_insert_with(|| Value::Array(Vec::new())) {
            a.push(Value::String(v));
        }
    }
    Value::Object(out)
}

fn headers_object(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for name in headers.keys() {
        let value = if is_secret(name.as_str()) {
            REDACTED.to_string()
        } else {
            headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect::<Vec<_>>().join(", ")
        };
        out.insert(name.as_str().to_string(), Value::String(value));
    }
    Value::Object(out)
}

/// A body for the report: JSON and form fields redacted; other text quoted (shortened); binary
/// by size only.
fn quoted_body(headers: &HeaderMap, body: &[u8]) -> Value {
    let ct = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if body.is_empty() {
        return Value::Null;
    }
    if negotiate::essence(ct) == "application/x-www-form-urlencoded" {
        if let Ok(text) = std::str::from_utf8(body) {
            let mut v = Value::Object(crate::query::parse(text).into_iter().map(|(k, v)| (k, Value::String(v))).collect());
            redact(&mut v);
            return v;
        }
    }
    if let Ok(mut v) = serde_json::from_slice::<Value>(body) {
        redact(&mut v);
        return v;
    }
    match std::str::from_utf8(body) {
        Ok(text) if text.len() <= MAX_QUOTED => Value::String(text.to_string()),
        Ok(text) => {
            let end = (0..=MAX_QUOTED).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            Value::String(format!("{}… ({} bytes in all)", &text[..end], text.len()))
        }
        Err(_) => Value::String(format!("({} bytes of binary data)", body.len())),
    }
}

fn broken_entry(s: &Seen) -> Value {
    let response = s.upstream.map(|(status, headers, body)| {
        json!({ "status": status.as_u16(), "headers": headers_object(headers), "body": quoted_body(headers, body) })
    });
    json!({
        "operation": s.op.id,
        "request": {
            "method": s.method.as_str(),
            "path": request_line(s),
            "query": query_object(s),
            "headers": headers_object(s.request_headers),
            "body": quoted_body(s.request_headers, s.request_body),
        },
        "response": response,
        "violations": s.violations,
    })
}

fn unrecorded_entry(s: &Seen, status: u16, reason: String) -> Value {
    json!({ "operation": s.op.id, "method": s.method.as_str(), "path": request_line(s), "status": status, "reason": reason })
}

/// The recording as the writer holds it: every file's content, and which changed.
struct Recording {
    overlays: Vec<OverlayFile>,
    fixtures_path: PathBuf,
    /// Resource → its records (plain, or `{scope, record}`), in the order first seen.
    fixtures: Map<String, Value>,
    fixtures_dirty: bool,
    report_path: PathBuf,
    broken: Vec<Value>,
    unrecorded: Vec<Value>,
    /// Exchanges not listed because the report is full.
    more: u64,
    report_dirty: bool,
}

struct OverlayFile {
    path: PathBuf,
    /// The document's file name, when several are served.
    extends: Option<String>,
    targets: Vec<Target>,
    /// Actions of an earlier recording that are not record mode's, kept as they were.
    other: Vec<Value>,
    dirty: bool,
}

struct Target {
    path: String,
    had_example: bool,
    had_examples: bool,
    recorded: Map<String, Value>,
    originals: Map<String, Value>,
}

impl Recording {
    fn open(dir: &Path, documents: &[PathBuf]) -> std::io::Result<Self> {
        let fixtures_dir = dir.join("fixtures");
        std::fs::create_dir_all(&fixtures_dir).map_err(|e| annotate(e, &fixtures_dir, "cannot create"))?;
        let mut overlays = Vec::new();
        let mut stems = HashSet::new();
        for doc in documents {
            let (path, extends) = if documents.len() == 1 {
                (dir.join(OVERLAY_FILE), None)
            } else {
                let stem = doc.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "document".into());
                let mut name = stem.clone();
                let mut n = 1;
                while !stems.insert(name.clone()) {
                    n += 1;
                    name = format!("{stem}-{n}");
                }
                (dir.join(format!("recorded.{name}.overlay.yaml")), doc.file_name().map(|n| n.to_string_lossy().into_owned()))
            };
            overlays.push(OverlayFile::load(path, extends)?);
        }
        let fixtures_path = fixtures_dir.join(FIXTURES_FILE);
        let fixtures = match read_existing(&fixtures_path)? {
            Some(Value::Object(m)) if m.values().all(Value::is_array) => m,
            Some(_) => return Err(damaged(&fixtures_path, "it does not map resource names to lists of records")),
            None => Map::new(),
        };
        let report_path = dir.join(REPORT_FILE);
        let (mut broken, mut unrecorded, mut more) = (Vec::new(), Vec::new(), 0);
        match read_existing(&report_path)? {
            Some(Value::Object(r)) => {
                let list = |k: &str| r.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
                (broken, unrecorded) = (list("broken"), list("unrecorded"));
                more = r.get("notListed").and_then(Value::as_u64).unwrap_or(0);
            }
            Some(_) => return Err(damaged(&report_path, "it is not a JSON object")),
            None => {}
        }
        Ok(Self { overlays, fixtures_path, fixtures, fixtures_dirty: true, report_path, broken, unrecorded, more, report_dirty: true })
    }

    /// Takes messages in batches and writes what changed after each, until every sender is gone.
    fn run(mut self, rx: &mpsc::Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut done = Vec::new();
            let mut next = Some(first);
            while let Some(msg) = next {
                match msg {
                    Msg::Kept(k) => self.add(*k),
                    Msg::Flush(tx) => done.push(tx),
                }
                next = rx.try_recv().ok();
            }
            if let Err(e) = self.write_all() {
                // Kept in memory and written again with the next batch.
                tracing::error!(error = %e, "cannot write the recording");
            }
            for tx in done {
                let _ = tx.send(());
            }
        }
    }

    fn add(&mut self, kept: Kept) {
        let mut unrecorded = kept.unrecorded;
        if let Some(ex) = kept.example {
            if let Some(reason) = self.add_example(ex) {
                unrecorded = Some(reason);
            }
        }
        if let Some(r) = kept.record {
            self.add_record(r);
        }
        if let Some(entry) = kept.broken {
            self.report(entry, true, &["/operation", "/request/body", "/response/status", "/response/body", "/violations"]);
        }
        if let Some(entry) = unrecorded {
            self.report(entry, false, &["/operation", "/status", "/reason"]);
        }
    }

    /// Adds an example unless an equal one is there; the report entry when the response is full.
    fn add_example(&mut self, ex: NewExample) -> Option<Value> {
        let file = self.overlays.get_mut(ex.doc)?;
        let known = file.targets.iter().any(|t| t.path == ex.target);
        let target = file.target(&ex.target);
        if !known {
            (target.had_example, target.had_examples) = (ex.had_example, ex.had_examples);
            target.originals = ex.originals.into_iter().collect();
        }
        let value = ex.example.get("value");
        if target.recorded.values().any(|e| e.get("value") == value) {
            return None;
        }
        if target.recorded.len() >= MAX_EXAMPLES {
            let reason = format!("{MAX_EXAMPLES} different answers are recorded for this response already");
            return Some(json!({ "operation": ex.operation, "status": ex.status, "reason": reason }));
        }
        let mut name = ex.name.clone();
        let mut n = 1;
        while target.recorded.contains_key(&name) || target.originals.contains_key(&name) {
            n += 1;
            name = format!("{}-{n}", ex.name);
        }
        target.recorded.insert(name, ex.example);
        file.dirty = true;
        None
    }

    /// Adds a record, or replaces the one with its id and scope: the fixtures hold the latest
    /// state the upstream showed.
    fn add_record(&mut self, r: NewRecord) {
        let list = self.fixtures.entry(r.resource.clone()).or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(list) = list else { return };
        let id = r.data.get(&r.key);
        let entry = if r.scope.is_empty() { r.data.clone() } else { json!({ "scope": r.scope, "record": r.data }) };
        let same = |e: &Value| {
            let (scope, data) = match (e.get("scope"), e.get("record")) {
                (Some(Value::Object(s)), Some(d)) => (s.clone(), d),
                _ => (Map::new(), e),
            };
            scope == r.scope && data.get(&r.key) == id
        };
        let full = list.len() >= MAX_RECORDS;
        match list.iter_mut().find(|e| same(e)) {
            Some(e) if *e == entry => {}
            Some(e) => {
                *e = entry;
                self.fixtures_dirty = true;
            }
            None if full => {
                tracing::warn!(resource = %r.resource, "{MAX_RECORDS} records are recorded for this resource already: not kept");
            }
            None => {
                list.push(entry);
                self.fixtures_dirty = true;
            }
        }
    }

    /// Lists a report entry once: a repeat (equal at the pointers `same` names) counts `times`.
    fn report(&mut self, mut entry: Value, broken: bool, same: &[&str]) {
        let list = if broken { &mut self.broken } else { &mut self.unrecorded };
        let now = crate::clock::now_rfc3339();
        if let Some(e) = list.iter_mut().find(|e| same.iter().all(|p| e.pointer(p) == entry.pointer(p))) {
            let times = e.get("times").and_then(Value::as_u64).unwrap_or(1) + 1;
            e["times"] = json!(times);
            e["last"] = json!(now);
        } else if list.len() >= MAX_REPORTED {
            self.more += 1;
        } else {
            entry["times"] = json!(1);
            entry["first"] = json!(now);
            entry["last"] = json!(now);
            list.push(entry);
        }
        self.report_dirty = true;
    }

    fn write_all(&mut self) -> std::io::Result<()> {
        let mut first_error = None;
        for file in self.overlays.iter_mut().filter(|f| f.dirty) {
            match write_atomic(&file.path, &to_yaml_text(&file.document())) {
                Ok(()) => file.dirty = false,
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        if self.fixtures_dirty {
            match write_atomic(&self.fixtures_path, &to_yaml_text(&Value::Object(self.fixtures.clone()))) {
                Ok(()) => self.fixtures_dirty = false,
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        if self.report_dirty {
            let report = json!({ "broken": self.broken, "unrecorded": self.unrecorded, "notListed": self.more });
            let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
            match write_atomic(&self.report_path, &text) {
                Ok(()) => self.report_dirty = false,
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl OverlayFile {
    /// The file as an earlier recording left it, or an empty one.
    fn load(path: PathBuf, extends: Option<String>) -> std::io::Result<Self> {
        let mut file = Self { path, extends, targets: Vec::new(), other: Vec::new(), dirty: true };
        let Some(doc) = read_existing(&file.path)? else { return Ok(file) };
        let Some(actions) = doc.get("actions").and_then(Value::as_array).filter(|_| doc.get("overlay").is_some()) else {
            return Err(damaged(&file.path, "it is not an Overlay document with `actions`"));
        };
        for action in actions {
            let target = action.get("target").and_then(Value::as_str).unwrap_or_default();
            let removes = action.get("remove").and_then(Value::as_bool) == Some(true);
            if let Some(base) = target.strip_suffix("['example']").filter(|_| removes) {
                file.target(base).had_example = true;
            } else if let Some(base) = target.strip_suffix("['examples']").filter(|_| removes) {
                file.target(base).had_examples = true;
            } else if let Some(examples) = action.pointer("/update/examples").and_then(Value::as_object) {
                let t = file.target(target);
                for (name, ex) in examples {
                    let into = if ex.get(MARK).is_some() { &mut t.recorded } else { &mut t.originals };
                    into.insert(name.clone(), ex.clone());
                }
            } else {
                file.other.push(action.clone());
            }
        }
        Ok(file)
    }

    /// The target with this JSONPath, added when new.
    fn target(&mut self, path: &str) -> &mut Target {
        let at = match self.targets.iter().position(|t| t.path == path) {
            Some(i) => i,
            None => {
                self.targets.push(Target {
                    path: path.to_string(),
                    had_example: false,
                    had_examples: false,
                    recorded: Map::new(),
                    originals: Map::new(),
                });
                self.targets.len() - 1
            }
        };
        &mut self.targets[at]
    }

    /// The overlay: per media type, the removal of its own examples, then one update with the
    /// recorded examples first and its own after them, so the first recorded is the default.
    fn document(&self) -> Value {
        let mut actions = Vec::new();
        for t in &self.targets {
            if t.had_example {
                actions.push(json!({ "target": format!("{}['example']", t.path), "remove": true }));
            }
            if t.had_examples {
                actions.push(json!({ "target": format!("{}['examples']", t.path), "remove": true }));
            }
            let mut examples = t.recorded.clone();
            for (k, v) in &t.originals {
                examples.entry(k.clone()).or_insert_with(|| v.clone());
            }
            actions.push(json!({ "target": t.path, "update": { "examples": examples } }));
        }
        actions.extend(self.other.iter().cloned());
        let mut doc = Map::new();
        doc.insert("overlay".into(), json!("1.0.0"));
        doc.insert("info".into(), json!({ "title": "Answers recorded by specstub", "version": "1" }));
        if let Some(e) = &self.extends {
            doc.insert("extends".into(), json!(e));
        }
        doc.insert("actions".into(), Value::Array(actions));
        Value::Object(doc)
    }
}

fn read_existing(path: &Path) -> std::io::Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mut warnings = Vec::new();
            crate::spec::source::parse_document(&bytes, path, &mut warnings).map(Some).map_err(|p| damaged(path, &p.message))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(annotate(e, path, "cannot read")),
    }
}

fn damaged(path: &Path, why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} cannot be carried on: {why}; move it away to start a new recording", path.display()),
    )
}

fn annotate(e: std::io::Error, path: &Path, what: &str) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Writes beside the file and renames over it, so a reader never sees half a file.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let write = || {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        annotate(e, path, "cannot write")
    })
}

/// YAML, unless a number in `value` has more precision than YAML's reader keeps: then JSON, which
/// specstub reads exactly (and which is YAML too).
fn to_yaml_text(value: &Value) -> String {
    match yaml_of(value).and_then(|y| serde_norway::to_string(&y).ok()) {
        Some(text) => text,
        None => serde_json::to_string_pretty(value).unwrap_or_default() + "\n",
    }
}

fn yaml_of(value: &Value) -> Option<serde_norway::Value> {
    use serde_norway::Value as Y;
    Some(match value {
        Value::Null => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Y::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Y::Number(u.into())
            } else {
                let text = n.to_string();
                let f: f64 = text.parse().ok().filter(|f: &f64| f.is_finite())?;
                // Up to 15 significant digits survive a trip through a double exactly.
                let mantissa = text.split(['e', 'E']).next().unwrap_or("");
                let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
                let significant = digits.trim_start_matches('0').trim_end_matches('0');
                if significant.len() > 15 || (f == 0.0 && !significant.is_empty()) {
                    return None;
                }
                Y::Number(f.into())
            }
        }
        Value::String(s) => Y::String(s.clone()),
        Value::Array(items) => Y::Sequence(items.iter().map(yaml_of).collect::<Option<_>>()?),
        Value::Object(m) => {
            let mut out = serde_norway::Mapping::new();
            for (k, v) in m {
                out.insert(Y::String(k.clone()), yaml_of(v)?);
            }
            Y::Mapping(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_named_like_secrets() {
        for name in
            ["Authorization", "cookie", "Set-Cookie", "access_token", "refreshToken", "client_secret", "password", "X-API-Key", "api_key"]
        {
            assert!(is_secret(name), "{name}");
        }
        for name in ["key", "name", "tokenType", "token_count", "monkey", "author"] {
            assert!(!is_secret(name), "{name}");
        }
        let mut v = json!({"user": {"name": "ann", "password": "p", "keys": [{"apiKey": "k", "id": 1}]}, "token": {"nested": 1}});
        redact(&mut v);
        assert_eq!(v, json!({"user": {"name": "ann", "password": REDACTED, "keys": [{"apiKey": REDACTED, "id": 1}]}, "token": REDACTED}));
    }

    #[test]
    fn bodies_become_example_values_when_they_are_text() {
        assert_eq!(body_value("application/vnd.api+json; charset=utf-8", br#"{"a": 1}"#), Some(json!({"a": 1})));
        assert_eq!(body_value("application/xml", b"<a>1</a>"), Some(json!("<a>1</a>")));
        assert_eq!(body_value("text/csv", b"a,b\n1,2"), Some(json!("a,b\n1,2")));
        assert_eq!(body_value("image/png", b"\x89PNG"), None);
        assert_eq!(body_value("application/json", b"{not json"), None);
    }

    #[test]
    fn pointers_become_jsonpaths_the_overlay_reader_takes() {
        let path = json_path("/paths/~1things~1{id}/get/responses/200/content/application~1json");
        assert_eq!(path, "$['paths']['/things/{id}']['get']['responses']['200']['content']['application/json']");
        let doc = json!({"paths": {"/things/{id}": {"get": {"responses": {"200": {"content": {"application/json": {"x": 1}}}}}}}});
        let found = serde_json_path::JsonPath::parse(&path).unwrap().query(&doc).all().len();
        assert_eq!(found, 1);
        assert!(serde_json_path::JsonPath::parse(&json_path("/a/it's\\")).is_ok());
    }

    #[test]
    fn yaml_keeps_what_it_can_and_json_keeps_the_rest() {
        let doc = json!({"200": "200", "t": "true", "n": null, "price": 19.99, "count": 3, "big": 12345678901234567_u64, "s": "a: b"});
        let text = to_yaml_text(&doc);
        assert!(!text.trim_start().starts_with('{'), "{text}");
        let back = crate::spec::source::parse_document(text.as_bytes(), Path::new("x.yaml"), &mut Vec::new()).unwrap();
        assert_eq!(back, doc);
        let precise: Value = serde_json::from_str(r#"{"pi": 3.14159265358979323846, "huge": 123456789012345678901234567890}"#).unwrap();
        let text = to_yaml_text(&precise);
        assert!(text.trim_start().starts_with('{'), "{text}");
        let back = crate::spec::source::parse_document(text.as_bytes(), Path::new("x.yaml"), &mut Vec::new()).unwrap();
        assert_eq!(back.to_string(), precise.to_string());
    }
}
