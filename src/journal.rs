//! The request journal: a ring buffer of what each request asked, how validation judged it,
//! what was injected and what was answered, so a test can assert on traffic afterwards. It is
//! bounded in entries and in bytes: a body too large for one entry's share is cut to a marker,
//! and the oldest entries go first. Secrets are taken out before an entry gets here. Calls the
//! mock itself makes (callbacks, webhooks) are journaled too, marked `"direction": "outgoing"`
//! with their target and attempt; each hot reload is marked by an entry of its own,
//! `"direction": "reload"`; expectations count only the requests received.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::Value;

use crate::validate::Violation;

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Increasing from 1 in the order requests finished.
    pub seq: u64,
    pub request_id: String,
    pub at: crate::clock::Stamp,
    pub method: String,
    pub path: String,
    /// Query parameters as sent (name → list of values).
    pub query: serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The request body when it was JSON (or a form), else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    pub status: u16,
    /// "valid", "invalid" (answered with an error), "warned" (answered anyway) or "unchecked".
    pub validation: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// Faults, latency and limits applied to this request, e.g. "latency=300ms", "fault=reset".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<String>,
    pub duration_ms: f64,
    /// "incoming" for a request received, "outgoing" for a call the mock made.
    pub direction: &'static str,
    /// For an outgoing call: what was called and how it went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<Call>,
    /// For a reload's mark: what changed and what came of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload: Option<Reload>,
}

/// A hot reload's side of an entry (its `method` is `RELOAD`, its `path` empty, its `status`
/// 200 when the new plan serves and 422 when the old one was kept).
#[derive(Debug, Clone, Serialize)]
pub struct Reload {
    /// "reloaded", or "kept" (the new documents or fixtures have errors: the old plan serves).
    pub outcome: &'static str,
    /// "watch" (a file changed) or "admin" (`POST /__specstub/reload`).
    pub trigger: &'static str,
    /// The plan's generation serving after it.
    pub generation: u64,
    /// The files whose content changed (or that appeared or went).
    pub files: Vec<String>,
    /// Why the old plan was kept: each problem with file and pointer, as start-up prints them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Collections whose fixtures changed and were seeded again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reseeded: Vec<String>,
}

impl Entry {
    /// The journal's mark of a hot reload.
    pub fn reload(mark: Reload) -> Self {
        Entry {
            seq: 0,
            request_id: String::new(),
            at: crate::clock::Stamp::now(),
            method: "RELOAD".into(),
            path: String::new(),
            query: Default::default(),
            operation: None,
            session: None,
            body: None,
            status: if mark.outcome == "reloaded" { 200 } else { 422 },
            validation: "unchecked",
            violations: Vec::new(),
            injected: Vec::new(),
            duration_ms: 0.0,
            direction: RELOAD,
            call: None,
            reload: Some(mark),
        }
    }
}

/// An outgoing call's side of an entry (its `status` is the answer's, 0 when there was none).
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// "callback" or "webhook".
    pub kind: &'static str,
    /// The callback's or webhook's name.
    pub name: String,
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The most attempts this call may take.
    pub attempts: u32,
    /// Why there was no usable answer (connection refused, timeout), when there was none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answer's body when it was JSON or text, cut like request bodies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
}

/// `Entry::direction` of a request received.
pub const INCOMING: &str = "incoming";
/// `Entry::direction` of a call the mock made.
pub const OUTGOING: &str = "outgoing";
/// `Entry::direction` of a hot reload's mark.
pub const RELOAD: &str = "reload";

/// A body cut to fit the journal's share for one entry: `{"truncated": true, "bytes": N, "head":
/// "..."}`, N being the size of the body's JSON text and `head` its first [`HEAD_BYTES`].
pub const HEAD_BYTES: usize = 1024;

/// Long strings of an entry still over its share once the body is cut (path, query values,
/// violation messages, which may quote a whole invalid value) keep this many bytes.
const CLIP_BYTES: usize = 1024;

pub struct Journal {
    capacity: usize,
    budget: usize,
    seq: AtomicU64,
    ring: Mutex<Ring>,
}

#[derive(Default)]
struct Ring {
    /// Each entry with its estimated size.
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

/// One page of the journal.
#[derive(Debug, Default)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// More entries matched after the last one of this page.
    pub more: bool,
}

impl Journal {
    /// Keeps at most `capacity` entries taking `budget` bytes in all (0 for either: none).
    pub fn new(capacity: usize, budget: usize) -> Self {
        Self { capacity, budget, seq: AtomicU64::new(0), ring: Mutex::new(Ring::default()) }
    }

    /// The most one entry may take: a 16th of the budget, so one huge request never flushes
    /// the journal.
    pub fn entry_limit(&self) -> usize {
        self.budget / 16
    }

    pub fn record(&self, mut entry: Entry) {
        entry.seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        if self.capacity == 0 || self.budget == 0 {
            return;
        }
        let weight = fit(&mut entry, self.entry_limit());
        if weight > self.budget {
            tracing::warn!(seq = entry.seq, weight, "a request too large for the journal even when cut was not journaled");
            return;
        }
        // Once full, every request evicts an entry: its strings and body tree are freed after the
        // lock is released, so the other workers' requests do not wait on the allocator.
        // Usually one entry goes; more only when a large one comes in (no allocation for one).
        let (mut evicted, mut more) = (None, Vec::new());
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        while ring.entries.len() >= self.capacity || ring.bytes + weight > self.budget {
            let Some((old, w)) = ring.entries.pop_front() else { break };
            ring.bytes -= w;
            if evicted.is_none() { evicted = Some(old) } else { more.push(old) }
        }
        ring.bytes += weight;
        ring.entries.push_back((entry, weight));
        drop(ring);
        drop((evicted, more));
    }

    /// Entries oldest first, filtered by `keep`.
    pub fn snapshot(&self, keep: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.entries.iter().map(|(e, _)| e).filter(|e| keep(e)).cloned().collect()
    }

    /// How many entries `keep` accepts.
    pub fn count(&self, keep: impl Fn(&Entry) -> bool) -> usize {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.entries.iter().filter(|(e, _)| keep(e)).count()
    }

    /// Matching entries oldest first: after `after` (a `seq`), the first `limit` of those;
    /// without it, the newest `limit`. Only the page is copied.
    pub fn page(&self, keep: impl Fn(&Entry) -> bool, after: Option<u64>, limit: Option<usize>) -> Page {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let limit = limit.unwrap_or(usize::MAX);
        let matching = ring.entries.iter().map(|(e, _)| e).filter(|e| keep(e));
        match after {
            Some(after) => {
                let mut later = matching.skip_while(|e| e.seq <= after);
                let entries: Vec<Entry> = later.by_ref().take(limit).cloned().collect();
                Page { entries, more: later.next().is_some() }
            }
            None => {
                let mut newest: Vec<Entry> = matching.rev().take(limit).cloned().collect();
                newest.reverse();
                Page { entries: newest, more: false }
            }
        }
    }

    /// (entries, estimated bytes) held now.
    pub fn usage(&self) -> (usize, usize) {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        (ring.entries.len(), ring.bytes)
    }

    /// Forgets entries (of one session when given).
    pub fn clear(&self, session: Option<&str>) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        match session {
            Some(s) => ring.entries.retain(|(e, _)| e.session.as_deref() != Some(s)),
            None => ring.entries.clear(),
        }
        ring.bytes = ring.entries.iter().map(|(_, w)| w).sum();
    }
}

/// Makes `entry` fit in `limit` bytes where it can (the body first, then long strings) and
/// returns its estimated size.
fn fit(entry: &mut Entry, limit: usize) -> usize {
    let mut weight = weight_of(entry);
    if weight <= limit {
        return weight;
    }
    if let Some(body) = entry.body.take() {
        entry.body = Some(marker(&body));
        weight = weight_of(entry);
    }
    if weight > limit {
        if let Some(answer) = entry.call.as_mut().and_then(|c| c.answer.as_mut()) {
            *answer = marker(answer);
            weight = weight_of(entry);
        }
    }
    if weight > limit {
        clip(&mut entry.path);
        for values in entry.query.values_mut() {
            if let Value::Array(values) = values {
                values.iter_mut().for_each(|v| {
                    if let Value::String(s) = v {
                        clip(s);
                    }
                });
            }
        }
        entry.violations.iter_mut().for_each(|v| clip(&mut v.message));
        weight = weight_of(entry);
    }
    weight
}

/// A body's truncation marker: its size and head.
fn marker(body: &Value) -> Value {
    let text = serde_json::to_string(body).unwrap_or_default();
    let mut head = text.as_str();
    if head.len() > HEAD_BYTES {
        let mut cut = HEAD_BYTES;
        while !head.is_char_boundary(cut) {
            cut -= 1;
        }
        head = &head[..cut];
    }
    serde_json::json!({"truncated": true, "bytes": text.len(), "head": head})
}

fn clip(s: &mut String) {
    if s.len() <= CLIP_BYTES {
        return;
    }
    let mut cut = CLIP_BYTES;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let total = s.len();
    s.truncate(cut);
    s.push_str(&format!("… ({total} bytes)"));
}

/// The memory an entry holds, estimated: its strings plus a value node per JSON value. Each
/// allocation's own overhead is left out; benches/journal.sh measures the real figure.
fn weight_of(e: &Entry) -> usize {
    let strings = e.request_id.len()
        + e.method.len()
        + e.path.len()
        + e.operation.as_ref().map_or(0, String::len)
        + e.session.as_ref().map_or(0, String::len)
        + e.injected.iter().map(String::len).sum::<usize>();
    let violations: usize = e.violations.iter().map(|v| std::mem::size_of::<Violation>() + v.pointer.len() + v.message.len()).sum();
    std::mem::size_of::<Entry>()
        + strings
        + violations
        + e.query.iter().map(|(k, v)| KEY + k.len() + weight(v)).sum::<usize>()
        + e.body.as_ref().map_or(0, weight)
        + e.call
            .as_ref()
            .map_or(0, |c| c.name.len() + c.url.len() + c.error.as_ref().map_or(0, String::len) + c.answer.as_ref().map_or(0, weight))
}

/// A key of a JSON object: its `String` and the map's index slot.
const KEY: usize = std::mem::size_of::<String>() + 16;

/// Estimated bytes of a JSON value in memory.
pub fn weight(v: &Value) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    NODE + match v {
        Value::Null | Value::Bool(_) => 0,
        Value::Number(n) => n.as_str().len(),
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(weight).sum(),
        Value::Object(map) => map.iter().map(|(k, v)| KEY + k.len() + weight(v)).sum(),
    }
}

/// What a test expects to have been received: requests matching every given field, counted.
/// The admin API's `POST /verify` and [`crate::Server::verify`] check the same thing.
///
/// ```
/// let e = specstub::Expectation::new().method("POST").path("/v1/pets").body("/name", "Rex").times(1);
/// # let _ = e;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    method: Option<String>,
    path: Option<String>,
    operation: Option<String>,
    status: Option<u16>,
    session: Option<String>,
    /// query name → a value it must have had
    query: Vec<(String, String)>,
    /// JSON pointer in the body → value
    body: Vec<(String, Value)>,
    exactly: Option<u64>,
    at_least: Option<u64>,
    at_most: Option<u64>,
}

/// How an expectation fared.
#[derive(Debug, Clone)]
pub struct Checked {
    pub ok: bool,
    /// How many requests matched.
    pub matched: u64,
    /// When it failed, the last requests received (newest first, at most 20), to show what did
    /// arrive.
    pub recent: Vec<Entry>,
}

impl Expectation {
    /// Any request, at least once.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// The request path as sent (without the query).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The operationId (or "METHOD /path") the request routed to.
    pub fn operation(mut self, id: impl Into<String>) -> Self {
        self.operation = Some(id.into());
        self
    }

    /// The status it was answered with.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Only requests of this store session (`X-Specstub-Session`).
    pub fn session(mut self, session: Option<String>) -> Self {
        self.session = session;
        self
    }

    /// A query parameter that had this value.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// The body's value at a JSON pointer (`/run/name`). A redacted field (`password`...)
    /// reads `"[redacted]"` here, as in the journal.
    pub fn body(mut self, pointer: impl Into<String>, value: impl Into<Value>) -> Self {
        self.body.push((pointer.into(), value.into()));
        self
    }

    /// Exactly `n` matching requests.
    pub fn times(mut self, n: u64) -> Self {
        self.exactly = Some(n);
        self
    }

    pub fn at_least(mut self, n: u64) -> Self {
        self.at_least = Some(n);
        self
    }

    pub fn at_most(mut self, n: u64) -> Self {
        self.at_most = Some(n);
        self
    }

    /// Reads the admin API's JSON form: `{method, path, operation, status, query: {k: v},
    /// body: {"/pointer": v}, exactly | atLeast | atMost}`.
    pub fn from_json(want: &Value) -> Result<Self, String> {
        let obj = want.as_object().ok_or("an expectation is a JSON object")?;
        let s = |k: &str| obj.get(k).and_then(Value::as_str).map(String::from);
        let n = |k: &str| obj.get(k).and_then(Value::as_u64);
        let text = |v: &Value| v.as_str().map(String::from).unwrap_or_else(|| v.to_string());
        Ok(Self {
            method: s("method"),
            path: s("path"),
            operation: s("operation"),
            status: n("status").and_then(|s| u16::try_from(s).ok()),
            session: None,
            query: obj.get("query").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.clone(), text(v))).collect(),
            body: obj.get("body").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect(),
            exactly: n("exactly"),
            at_least: n("atLeast"),
            at_most: n("atMost"),
        })
    }

    fn matches(&self, e: &Entry) -> bool {
        e.direction == INCOMING
            && self.session.as_deref().is_none_or(|s| e.session.as_deref() == Some(s))
            && self.method.as_deref().is_none_or(|m| e.method.eq_ignore_ascii_case(m))
            && self.path.as_deref().is_none_or(|p| e.path == p)
            && self.operation.as_deref().is_none_or(|o| e.operation.as_deref() == Some(o))
            && self.status.is_none_or(|s| e.status == s)
            && self.query.iter().all(|(k, want)| {
                e.query.get(k).and_then(Value::as_array).is_some_and(|vals| vals.iter().any(|x| x.as_str() == Some(want.as_str())))
            })
            && self.body.iter().all(|(ptr, v)| e.body.as_ref().and_then(|b| b.pointer(ptr)) == Some(v))
    }

    /// Counts the matching requests in `journal`.
    pub fn check(&self, journal: &Journal) -> Checked {
        let n = journal.count(|e| self.matches(e)) as u64;
        let ok = match (self.exactly, self.at_least, self.at_most) {
            (Some(x), _, _) => n == x,
            (None, least, most) => n >= least.unwrap_or(1) && most.is_none_or(|m| n <= m),
        };
        let recent = if ok {
            Vec::new()
        } else {
            let mine =
                journal.snapshot(|e| e.direction == INCOMING && self.session.as_deref().is_none_or(|s| e.session.as_deref() == Some(s)));
            mine.into_iter().rev().take(20).collect()
        };
        Checked { ok, matched: n, recent }
    }
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = match (self.exactly, self.at_least, self.at_most) {
            (Some(x), _, _) => format!("exactly {x}"),
            (None, least, Some(m)) => format!("{} to {m}", least.unwrap_or(1)),
            (None, least, None) => format!("at least {}", least.unwrap_or(1)),
        };
        write!(f, "{count} request(s)")?;
        if let Some(m) = &self.method {
            write!(f, " {m}")?;
        }
        if let Some(p) = &self.path {
            write!(f, " {p}")?;
        }
        if let Some(o) = &self.operation {
            write!(f, " (operation {o})")?;
        }
        for (k, v) in &self.query {
            write!(f, " ?{k}={v}")?;
        }
        for (p, v) in &self.body {
            write!(f, " body{p}={v}")?;
        }
        if let Some(s) = self.status {
            write!(f, " answered {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            seq: 0,
            request_id: String::new(),
            at: crate::clock::Stamp::now(),
            method: "GET".into(),
            path: path.into(),
            query: Default::default(),
            operation: None,
            session: None,
            body: None,
            status: 200,
            validation: "valid",
            violations: vec![],
            injected: vec![],
            duration_ms: 0.0,
            direction: INCOMING,
            call: None,
            reload: None,
        }
    }

    #[test]
    fn keeps_only_the_newest_entries() {
        let j = Journal::new(2, 1 << 20);
        for p in ["/a", "/b", "/c"] {
            j.record(entry(p));
        }
        let paths: Vec<_> = j.snapshot(|_| true).into_iter().map(|e| (e.seq, e.path)).collect();
        assert_eq!(paths, vec![(2, "/b".to_string()), (3, "/c".to_string())]);
    }

    fn with_body(path: &str, bytes: usize) -> Entry {
        Entry { body: Some(Value::String("x".repeat(bytes))), ..entry(path) }
    }

    #[test]
    fn stays_within_its_byte_budget_and_drops_the_oldest_first() {
        // Arrange: 64 KiB in all, so 4 KiB per entry; bodies of 3 KiB fit whole.
        let j = Journal::new(1000, 64 * 1024);
        // Act
        for i in 0..100 {
            j.record(with_body(&format!("/{i}"), 3 * 1024));
        }
        // Assert
        let (count, bytes) = j.usage();
        assert!(bytes <= 64 * 1024, "{bytes} bytes held");
        assert!(count < 100 && count > 5, "{count} entries held");
        let kept = j.snapshot(|_| true);
        assert_eq!(kept.last().unwrap().path, "/99", "the newest is kept");
        assert_eq!(kept.first().unwrap().seq, 100 - count as u64 + 1, "the oldest went first");
        assert!(kept.iter().all(|e| e.body.as_ref().unwrap().is_string()), "bodies under the share are kept whole");
    }

    #[test]
    fn cuts_a_body_over_one_entrys_share_to_a_marker_that_is_json() {
        let j = Journal::new(1000, 64 * 1024);
        j.record(with_body("/big", 100 * 1024));
        let e = &j.snapshot(|_| true)[0];
        let body = e.body.as_ref().unwrap();
        assert_eq!(body["truncated"], true);
        assert_eq!(body["bytes"], 100 * 1024 + 2, "the size of the body's JSON text");
        assert!(body["head"].as_str().unwrap().starts_with("\"xxx"));
        assert!(body["head"].as_str().unwrap().len() <= HEAD_BYTES);
        assert!(j.usage().1 <= j.entry_limit());
    }

    #[test]
    fn long_strings_are_clipped_when_the_cut_body_is_not_enough() {
        let j = Journal::new(1000, 64 * 1024);
        let message = format!("\"{}\" is longer than 100 characters", "x".repeat(50_000));
        let total = message.len();
        let quoting = Violation { location: crate::validate::Location::Body, pointer: "/name".into(), message };
        j.record(Entry { violations: vec![quoting], ..with_body("/big", 50_000) });
        let e = &j.snapshot(|_| true)[0];
        assert!(e.violations[0].message.len() < 2 * CLIP_BYTES, "{} bytes", e.violations[0].message.len());
        assert!(e.violations[0].message.ends_with(&format!("({total} bytes)")), "{}", &e.violations[0].message[CLIP_BYTES - 10..]);
        assert!(j.usage().1 <= j.entry_limit());
    }

    #[test]
    fn pages_forward_from_a_sequence_number() {
        let j = Journal::new(1000, 1 << 20);
        for p in ["/a", "/b", "/c", "/d", "/e"] {
            j.record(entry(p));
        }
        let paths = |p: &Page| p.entries.iter().map(|e| e.path.clone()).collect::<Vec<_>>();
        let first = j.page(|_| true, Some(0), Some(2));
        assert_eq!((paths(&first), first.more), (vec!["/a".to_string(), "/b".to_string()], true));
        let last = j.page(|_| true, Some(4), Some(2));
        assert_eq!((paths(&last), last.more), (vec!["/e".to_string()], false));
        let tail = j.page(|_| true, None, Some(2));
        assert_eq!(paths(&tail), vec!["/d".to_string(), "/e".to_string()], "without a cursor, the newest");
        assert_eq!(j.page(|e| e.path != "/b", Some(0), None).entries.len(), 4);
    }
}
