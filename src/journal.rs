//! The request journal: a bounded ring buffer of what each request asked, how validation judged
//! it, what was injected and what was answered, so a test can assert on traffic afterwards.

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
}

pub struct Journal {
    capacity: usize,
    seq: AtomicU64,
    entries: Mutex<VecDeque<Entry>>,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Self { capacity, seq: AtomicU64::new(0), entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))) }
    }

    pub fn record(&self, mut entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        entry.seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Entries oldest first, filtered by `keep`.
    pub fn snapshot(&self, keep: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().filter(|e| keep(e)).cloned().collect()
    }

    /// Forgets entries (of one session when given).
    pub fn clear(&self, session: Option<&str>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match session {
            Some(s) => entries.retain(|e| e.session.as_deref() != Some(s)),
            None => entries.clear(),
        }
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

    /// The body's value at a JSON pointer (`/run/name`).
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
        self.session.as_deref().is_none_or(|s| e.session.as_deref() == Some(s))
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
        let n = journal.snapshot(|e| self.matches(e)).len() as u64;
        let ok = match (self.exactly, self.at_least, self.at_most) {
            (Some(x), _, _) => n == x,
            (None, least, most) => n >= least.unwrap_or(1) && most.is_none_or(|m| n <= m),
        };
        let recent = if ok {
            Vec::new()
        } else {
            let mine = journal.snapshot(|e| self.session.as_deref().is_none_or(|s| e.session.as_deref() == Some(s)));
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
        }
    }

    #[test]
    fn keeps_only_the_newest_entries() {
        let j = Journal::new(2);
        for p in ["/a", "/b", "/c"] {
            j.record(entry(p));
        }
        let paths: Vec<_> = j.snapshot(|_| true).into_iter().map(|e| (e.seq, e.path)).collect();
        assert_eq!(paths, vec![(2, "/b".to_string()), (3, "/c".to_string())]);
    }
}
