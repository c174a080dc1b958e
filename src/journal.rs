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
