//! The stateful store: resources that live across requests, each with a version for optimistic
//! locking. Behaviour talks to it only through the [`Store`] trait, so another backend can
//! follow the in-memory one; every write is atomic per resource collection. The in-memory store
//! is bounded (a record cap, a byte budget, idle sessions expiring: [`Limits`]) and lists in
//! O(log n + page) from its ordered index ([`Query`]).

mod compact;
mod log;
mod logged;
mod memory;
mod order;
mod persist;
pub mod redis;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use logged::{Logged, track};
pub use memory::{Eviction, Limits, MemoryStore};
pub use redis::{Pool, Probe, RedisOptions, RedisStore};

#[cfg(test)]
mod tests;

/// Where a record lives: a session (isolated namespace) and a resource collection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ns {
    /// "" is the shared namespace; a test's `X-Specstub-Session` picks another.
    pub session: String,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// Starts at 1, grows by one on every write: the ETag.
    pub version: u64,
    /// Creation order, for stable listing.
    #[serde(default)]
    pub seq: u64,
    /// Path parameters that place the record inside a parent (e.g. namespace and job).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<(String, String)>,
    pub data: Value,
}

/// A write's condition on the current version (`If-Match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Any,
    Version(u64),
}

impl Expect {
    /// The one If-Match rule every store applies: a write goes ahead when it names the current
    /// version or none.
    pub fn admits(self, current: &Record) -> Result<(), StoreError> {
        match self {
            Expect::Version(v) if v != current.version => Err(StoreError::VersionMismatch { current: current.version }),
            _ => Ok(()),
        }
    }
}

/// One paging rule for every store: records in creation order that pass `keep`, the `limit`
/// after the first `offset` of them, and how many passed in all.
pub fn page<I>(records: I, keep: &dyn Fn(&Record) -> bool, offset: usize, limit: usize) -> Page
where
    I: IntoIterator,
    I::Item: std::borrow::Borrow<Record>,
{
    use std::borrow::Borrow;
    let mut total = 0;
    let mut out = Vec::new();
    for r in records {
        let r = r.borrow();
        if !keep(r) {
            continue;
        }
        if total >= offset && out.len() < limit {
            out.push(r.clone());
        }
        total += 1;
    }
    Page { records: out, total, offset }
}

/// Where a listing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// After this many matching records.
    Offset(usize),
    /// After the record with this creation sequence (which may be gone since): a page token.
    After(u64),
}

/// A listing: records in creation order in a parent scope whose fields equal the given values,
/// from `start`, at most `limit`. Stated as data rather than a closure so that a store can
/// answer from an index: without `fields`, the in-memory store pages in O(log n + page).
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Path parameters every listed record's scope holds.
    pub scope: &'a [(String, String)],
    /// (record field, wanted value) pairs, compared by [`field_matches`].
    pub fields: &'a [(String, String)],
    pub start: Start,
    pub limit: usize,
}

impl Query<'_> {
    /// Whether a record belongs in the listing.
    pub fn keeps(&self, r: &Record) -> bool {
        in_scope(r, self.scope) && self.fields.iter().all(|(f, want)| field_matches(r.data.get(f), want))
    }
}

/// Whether a record's scope holds every pair of `scope`.
pub fn in_scope(r: &Record, scope: &[(String, String)]) -> bool {
    scope.iter().all(|(k, v)| r.scope.iter().any(|(rk, rv)| rk == k && rv == v))
}

/// A [`Query`] answered by walking what [`Store::list`] returns: O(records).
pub fn walk<S: Store + ?Sized>(store: &S, ns: &Ns, q: &Query<'_>) -> Result<Page, StoreError> {
    match q.start {
        Start::Offset(offset) => store.list(ns, &|r| q.keeps(r), offset, q.limit),
        Start::After(seq) => {
            let all = store.list(ns, &|r| q.keeps(r), 0, usize::MAX)?;
            let offset = all.records.partition_point(|r| r.seq <= seq);
            let records = all.records.into_iter().skip(offset).take(q.limit).collect();
            Ok(Page { records, total: all.total, offset })
        }
    }
}

/// A query filter's one rule: a string field equals the text, any other field equals the text
/// read as JSON (`?count=3`, `?done=true`); a missing field never matches.
pub fn field_matches(value: Option<&Value>, want: &str) -> bool {
    match value {
        Some(Value::String(s)) => s == want,
        Some(other) => serde_json::from_str::<Value>(want).is_ok_and(|w| w == *other),
        None => false,
    }
}

/// Sweeps `store` ([`Store::sweep`]) every `every` until the server stops.
pub fn spawn_sweeper(
    store: std::sync::Arc<dyn Store>,
    every: std::time::Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => break,
            }
            // Dropping a large session frees a lot of memory: off the request threads.
            let store = std::sync::Arc::clone(&store);
            let _ = tokio::task::spawn_blocking(move || store.sweep()).await;
        }
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreError {
    NotFound,
    /// A record with this id exists already.
    IdTaken,
    /// Another record holds this value of a unique field.
    Duplicate {
        field: String,
        value: String,
    },
    /// `If-Match` named another version.
    VersionMismatch {
        current: u64,
    },
    /// The change itself declined (an illegal transition, a field set twice...); the caller
    /// that wrote the change knows why.
    Declined,
    /// The backend cannot be reached.
    Unavailable(String),
    /// The store is at a limit (`--store-max-records`, `--store-max-bytes`); the text says which.
    Full(String),
}

impl std::error::Error for StoreError {}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound => f.write_str("not found"),
            StoreError::IdTaken => f.write_str("a record with this id exists already"),
            StoreError::Duplicate { field, value } => write!(f, "{field} {value} is already used by another record"),
            StoreError::VersionMismatch { current } => write!(f, "the current version is {current}"),
            StoreError::Declined => f.write_str("the change was declined"),
            StoreError::Unavailable(why) => write!(f, "the store is unavailable: {why}"),
            StoreError::Full(why) => write!(f, "the store is full: {why}"),
        }
    }
}

/// A change to one record, run under the collection's write lock; it may decline, and then
/// nothing is written.
pub type Change<'a> = &'a mut dyn FnMut(&mut Record) -> Result<(), Declined>;

/// What a [`Change`] returns to leave the record as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declined;

/// What the health check reports about the store: which kind, and whether it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `memory` or `redis`.
    pub kind: &'static str,
    pub state: State,
    /// Why the store is unavailable, as the last failed check said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Available,
    Unavailable,
}

impl Health {
    /// The in-memory store, which is always there.
    pub fn memory() -> Self {
        Self { kind: "memory", state: State::Available, error: None }
    }

    pub fn is_available(&self) -> bool {
        self.state == State::Available
    }
}

/// One page of a listing: the records, the number that matched in all, and how many of those
/// come before this page.
pub struct Page {
    pub records: Vec<Record>,
    pub total: usize,
    pub offset: usize,
}

impl Page {
    /// Whether more matching records follow this page.
    pub fn more(&self) -> bool {
        self.offset + self.records.len() < self.total
    }
}

pub trait Store: Send + Sync {
    fn get(&self, ns: &Ns, id: &str) -> Result<Option<Record>, StoreError>;

    /// Adds a record; `unique` names fields whose values must not repeat in the collection.
    fn create(&self, ns: &Ns, record: Record, unique: &[String]) -> Result<Record, StoreError>;

    /// Changes a record in place if its version is `expect`; the version then grows by one.
    fn update(&self, ns: &Ns, id: &str, expect: Expect, unique: &[String], change: Change<'_>) -> Result<Record, StoreError>;

    fn delete(&self, ns: &Ns, id: &str, expect: Expect) -> Result<Record, StoreError>;

    /// Records in creation order that pass `keep`, from `offset`, at most `limit`.
    fn list(&self, ns: &Ns, keep: &dyn Fn(&Record) -> bool, offset: usize, limit: usize) -> Result<Page, StoreError>;

    /// A listing stated as data, so that a store with an index answers it without a walk (the
    /// in-memory store does). This default walks what [`list`](Self::list) returns.
    fn query(&self, ns: &Ns, q: &Query<'_>) -> Result<Page, StoreError> {
        walk(self, ns, q)
    }

    /// Drops what has outlived its time (idle sessions); the server calls it periodically.
    /// Returns how many sessions went.
    fn sweep(&self) -> usize {
        0
    }

    /// Writes a record as given (admin API, fixtures), replacing any with its id.
    fn put(&self, ns: &Ns, record: Record) -> Result<Record, StoreError>;

    /// Replaces the fixtures of one collection (none: it has no fixtures any more), for a hot
    /// reload whose fixture files changed. Sessions keep what they hold until a reset of the
    /// collection takes them to the new fixtures.
    fn set_fixtures(&self, resource: &str, records: Vec<Record>) -> Result<(), StoreError>;
    /// Back to the fixtures: everything, one session, or one resource (of one session).
    fn reset(&self, session: Option<&str>, resource: Option<&str>) -> Result<(), StoreError>;

    /// Resource names with records in `session`, and their counts.
    fn collections(&self, session: &str) -> Result<Vec<(String, usize)>, StoreError>;

    /// Every record of every session, for the state file.
    fn dump(&self) -> Vec<(Ns, Vec<Record>)>;
}
