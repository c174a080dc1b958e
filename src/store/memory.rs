//! The in-memory store: sessions, each with one collection per resource, each collection behind
//! its own lock so that a compare-and-set on a version or a unique key is atomic, while
//! different collections never contend. A session's collections start as the fixtures, shared
//! rather than copied: a collection is copied on its first write (its index, not its records),
//! and a read of a collection the session never wrote reads the fixtures without creating
//! anything, so a session costs memory only once it writes.
//!
//! Bounded: records are kept compactly ([`super::compact`]), counted against a record cap and
//! a byte budget ([`Limits`]); when full, a write is refused with [`StoreError::Full`] or, under
//! [`Eviction::OldestSession`], the sessions touched longest ago are dropped to make room.
//! Sessions idle for longer than the session TTL are dropped by [`Store::sweep`]. The shared
//! namespace ("") and the fixtures are never dropped.
//!
//! Listing reads the collection's ordered index ([`super::order`]), by parent scope too, so a
//! page without a field filter costs O(log n + page); a field filter walks the collection,
//! decoding only the filtered fields.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use dashmap::DashMap;
use serde_json::Value;

use super::compact::{Damaged, Keys, Part};
use super::order::Order;
use super::{Change, Expect, Ns, Page, Query, Record, Start, Store, StoreError};

/// What a full store does with a write that needs room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eviction {
    /// Refuse it ([`StoreError::Full`]).
    #[default]
    Refuse,
    /// Drop the sessions touched longest ago (never the shared namespace) until it fits.
    OldestSession,
}

/// How much the in-memory store may hold. The defaults are unlimited; the server's own
/// defaults are in `Config`.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Records held at most, in every session together; 0 is no cap.
    pub max_records: usize,
    /// Bytes the records may take, as the store counts them ([`record_bytes`]); 0 is no cap.
    pub max_bytes: usize,
    pub eviction: Eviction,
    /// A session untouched for this long is dropped; None keeps sessions for ever.
    pub session_ttl: Option<Duration>,
}

/// What one record costs besides its id and encoded bytes: the shared header (64), the id's
/// own allocation header (16), its slots in the id map and the ordered index (~56 with their
/// spare capacity), rounded up as allocators do. Measured: benches/store.sh.
const RECORD_OVERHEAD: usize = 160;

/// The memory one stored record is counted as.
fn record_bytes(id: &str, blob: &[u8]) -> usize {
    RECORD_OVERHEAD + id.len() + blob.len()
}

/// A record as kept: the id (shared with the id map), the version, and the scope and data
/// encoded together.
#[derive(Debug)]
struct Stored {
    id: Arc<str>,
    version: u64,
    /// Came from the fixtures: shared by every session and not counted against the limits.
    fixture: bool,
    blob: Box<[u8]>,
}

impl Stored {
    fn bytes(&self) -> usize {
        if self.fixture { 0 } else { record_bytes(&self.id, &self.blob) }
    }
}

/// A parent scope as an index key: its pairs sorted by name.
type ScopeKey = Box<[(Box<str>, Box<str>)]>;

fn scope_key(scope: &[(String, String)]) -> ScopeKey {
    let mut pairs: Vec<(Box<str>, Box<str>)> = scope.iter().map(|(k, v)| (k.as_str().into(), v.as_str().into())).collect();
    pairs.sort();
    pairs.into_boxed_slice()
}

/// The collection's records by parent scope, kept while every record has the same scope names
/// (one create path): then a scoped list reads exactly its scope's records.
#[derive(Debug, Clone, Default)]
enum Scopes {
    #[default]
    Empty,
    Uniform {
        names: Box<[Box<str>]>,
        by: HashMap<ScopeKey, Order<()>>,
    },
    /// Records with different scope names: scoped lists walk the collection.
    Mixed,
}

impl Scopes {
    fn add(&mut self, seq: u64, scope: &[(String, String)]) {
        let key = scope_key(scope);
        let names: Box<[Box<str>]> = key.iter().map(|(k, _)| k.clone()).collect();
        match self {
            Scopes::Empty => *self = Scopes::Uniform { names, by: HashMap::new() },
            Scopes::Uniform { names: had, .. } if *had != names => *self = Scopes::Mixed,
            _ => {}
        }
        if let Scopes::Uniform { names, by } = self {
            if !names.is_empty() {
                by.entry(key).or_default().insert(seq, ());
            }
        }
    }

    fn remove(&mut self, seq: u64, scope: &[(String, String)]) {
        if let Scopes::Uniform { by, .. } = self {
            let key = scope_key(scope);
            if let Some(order) = by.get_mut(&key) {
                order.remove(seq);
                if order.len() == 0 {
                    by.remove(&key);
                }
            }
        }
    }
}

/// Where a listing reads from.
enum Source<'a> {
    All,
    Scope(&'a Order<()>),
    Nothing,
    Walk,
}

#[derive(Debug, Clone, Default)]
struct Collection {
    next_seq: u64,
    by_id: HashMap<Arc<str>, u64>,
    order: Order<Arc<Stored>>,
    scopes: Scopes,
    /// "FIELD\x1fVALUE-AS-JSON" → the id that holds it
    unique: HashMap<Box<str>, Arc<str>>,
    /// The fields that have entries in `unique`, so a record's entries can be found by key
    /// instead of by a scan of the whole index.
    unique_fields: Vec<String>,
    /// Records (and their bytes) this collection holds that count against the limits.
    owned: usize,
    owned_bytes: usize,
    /// Dropped (expired, evicted or reset): a writer that still holds it looks again.
    gone: bool,
}

fn unique_key(field: &str, value: &Value) -> Option<Box<str>> {
    (!value.is_null() && *value != "").then(|| format!("{field}\x1f{value}").into_boxed_str())
}

fn damaged(id: &str) -> StoreError {
    StoreError::Unavailable(format!("the stored record {id:?} cannot be read back"))
}

impl Collection {
    fn current(&self, id: &str) -> Option<(u64, &Arc<Stored>)> {
        let seq = *self.by_id.get(id)?;
        self.order.get(seq).map(|s| (seq, s))
    }

    fn unique_conflict(&self, id: &str, data: &Value, fields: &[String]) -> Option<(String, String)> {
        for f in fields {
            let Some(v) = data.get(f) else { continue };
            let Some(key) = unique_key(f, v) else { continue };
            if self.unique.get(&key).is_some_and(|holder| **holder != *id) {
                return Some((f.clone(), v.to_string()));
            }
        }
        None
    }

    /// Drops the unique entries `old` holds (for `fields`), found by key.
    fn unindex(&mut self, keys: &Keys, old: &Stored, fields: &[String]) {
        for f in fields {
            let Ok(Some(v)) = keys.field(&old.blob, 1, f) else { continue };
            let Some(key) = unique_key(f, &v) else { continue };
            if self.unique.get(&key).is_some_and(|holder| *holder == old.id) {
                self.unique.remove(&key);
            }
        }
    }

    fn index_unique(&mut self, id: &Arc<str>, data: &Value, fields: &[String]) {
        for f in fields {
            if !self.unique_fields.contains(f) {
                self.unique_fields.push(f.clone());
            }
            if let Some(key) = data.get(f).and_then(|v| unique_key(f, v)) {
                self.unique.insert(key, Arc::clone(id));
            }
        }
    }

    /// Takes a record out of the order, the id map and the scope index (not `unique`).
    fn take(&mut self, keys: &Keys, id: &str) -> Option<Arc<Stored>> {
        let seq = self.by_id.remove(id)?;
        let old = self.order.remove(seq)?;
        if let Ok(mut parts) = keys.decode(&old.blob, 1) {
            self.scopes.remove(seq, &pairs(parts.pop()));
        }
        if !old.fixture {
            self.owned -= 1;
            self.owned_bytes -= old.bytes();
        }
        Some(old)
    }

    /// Puts a record at the end of the order (a new sequence); returns its sequence.
    fn append(&mut self, stored: Stored, scope: &[(String, String)], seq: Option<u64>) -> u64 {
        let seq = seq.unwrap_or(self.next_seq + 1);
        self.next_seq = self.next_seq.max(seq);
        if !stored.fixture {
            self.owned += 1;
            self.owned_bytes += stored.bytes();
        }
        self.by_id.insert(Arc::clone(&stored.id), seq);
        self.scopes.add(seq, scope);
        self.order.insert(seq, Arc::new(stored));
        seq
    }

    fn source(&self, scope: &[(String, String)]) -> Source<'_> {
        if scope.is_empty() {
            return Source::All;
        }
        match &self.scopes {
            Scopes::Empty => Source::Nothing,
            Scopes::Uniform { names, by } => {
                let key = scope_key(scope);
                let same_names = names.len() == key.len() && names.iter().zip(key.iter()).all(|(n, (k, _))| n == k);
                match (same_names, by.get(&key)) {
                    (true, Some(order)) => Source::Scope(order),
                    (true, None) => Source::Nothing,
                    (false, _) => Source::Walk,
                }
            }
            Scopes::Mixed => Source::Walk,
        }
    }
}

/// The pairs of a decoded scope object.
fn pairs(scope: Option<Value>) -> Vec<(String, String)> {
    match scope {
        Some(Value::Object(m)) => m.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string())).collect(),
        _ => Vec::new(),
    }
}

/// A collection still equal to the fixtures shares them (the inner `Arc`); the first write copies.
type Shared = Arc<RwLock<Arc<Collection>>>;

struct Session {
    /// Milliseconds since the store started, at the last call that touched the session.
    last: AtomicU64,
    /// The store's touch counter then: orders sessions for eviction even within a millisecond.
    order: AtomicU64,
    collections: RwLock<HashMap<String, Shared>>,
}

pub struct MemoryStore {
    sessions: DashMap<String, Arc<Session>>,
    /// resource → the collection every session starts with (indexed once, shared); replaced
    /// whole when a hot reload changes fixtures
    fixtures: ArcSwap<HashMap<String, Arc<Collection>>>,
    /// resource → fields whose values are unique (so fixtures are indexed too)
    unique_fields: HashMap<String, Vec<String>>,
    keys: Keys,
    limits: Limits,
    /// Records and bytes counted against the limits, in every session.
    records: AtomicUsize,
    bytes: AtomicUsize,
    /// The limit was hit once (it is logged once).
    hit: AtomicBool,
    touches: AtomicU64,
    started: Instant,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// A collection of fixture records, indexed.
fn fixture_collection(keys: &Keys, fields: &[String], records: Vec<Record>) -> Collection {
    let mut c = Collection::default();
    for r in records {
        let id: Arc<str> = Arc::from(r.id.as_str());
        if let Some(old) = c.take(keys, &id) {
            c.unindex(keys, &old, fields);
        }
        c.index_unique(&id, &r.data, fields);
        let blob = keys.encode(&[Part::Pairs(&r.scope), Part::Value(&r.data)]);
        c.append(Stored { id, version: r.version, fixture: true, blob }, &r.scope, None);
    }
    c
}

/// What one try of a write came to: done, or it needs this much more room than the store has
/// (then, under eviction, room is made and the write is tried once more).
enum Attempt<T> {
    Done(Result<T, StoreError>),
    NeedsRoom { records: usize, bytes: usize },
}

impl MemoryStore {
    /// An unlimited store; see [`with_limits`](Self::with_limits).
    pub fn new(fixtures: HashMap<String, Vec<Record>>, unique_fields: HashMap<String, Vec<String>>) -> Self {
        let keys = Keys::default();
        let fixtures = fixtures
            .into_iter()
            .map(|(resource, records)| {
                let fields = unique_fields.get(&resource).map(Vec::as_slice).unwrap_or_default();
                let c = fixture_collection(&keys, fields, records);
                (resource, Arc::new(c))
            })
            .collect();
        Self {
            sessions: DashMap::new(),
            fixtures: ArcSwap::from_pointee(fixtures),
            unique_fields,
            keys,
            limits: Limits::default(),
            records: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            hit: AtomicBool::new(false),
            touches: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Records and bytes counted against the limits now.
    pub fn usage(&self) -> (usize, usize) {
        (self.records.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }

    /// Loads saved state (from the state file) over the fixtures, keeping each record's version
    /// and creation sequence. Saved records count against the limits like any other.
    pub fn restore(&self, saved: Vec<(Ns, Vec<Record>)>) {
        for (ns, mut records) in saved {
            let mut c = Collection::default();
            let fields = self.unique_fields.get(&ns.resource).cloned().unwrap_or_default();
            records.sort_by_key(|r| r.seq);
            for r in records {
                let id: Arc<str> = Arc::from(r.id.as_str());
                if let Some(old) = c.take(&self.keys, &id) {
                    c.unindex(&self.keys, &old, &fields);
                }
                c.index_unique(&id, &r.data, &fields);
                let blob = self.keys.encode(&[Part::Pairs(&r.scope), Part::Value(&r.data)]);
                let seq = (r.seq > c.next_seq).then_some(r.seq);
                c.append(Stored { id, version: r.version, fixture: false, blob }, &r.scope, seq);
            }
            self.records.fetch_add(c.owned, Ordering::Relaxed);
            self.bytes.fetch_add(c.owned_bytes, Ordering::Relaxed);
            let session = self.session(&ns.session);
            write(&session.collections).insert(ns.resource, Arc::new(RwLock::new(Arc::new(c))));
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn touch(&self, s: &Session) {
        s.last.store(self.now_ms(), Ordering::Relaxed);
        s.order.store(self.touches.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
    }

    /// The session, created if new, touched.
    fn session(&self, name: &str) -> Arc<Session> {
        if let Some(s) = self.sessions.get(name) {
            self.touch(&s);
            return Arc::clone(&s);
        }
        let entry = self.sessions.entry(name.to_string()).or_insert_with(|| {
            Arc::new(Session { last: AtomicU64::new(0), order: AtomicU64::new(0), collections: RwLock::new(HashMap::new()) })
        });
        self.touch(&entry);
        Arc::clone(&entry)
    }

    /// What a read sees: the session's collection, else the fixtures (nothing is created).
    /// A request's read touches the session (`touch`); the admin API's does not.
    fn snapshot(&self, ns: &Ns, touch: bool) -> Arc<Collection> {
        let shared = self.sessions.get(&ns.session).and_then(|s| {
            if touch {
                self.touch(&s);
            }
            read(&s.collections).get(&ns.resource).cloned()
        });
        match shared {
            Some(c) => {
                let c = Arc::clone(&read(&c));
                if c.gone { self.fixtures.load().get(&ns.resource).cloned().unwrap_or_default() } else { c }
            }
            None => self.fixtures.load().get(&ns.resource).cloned().unwrap_or_default(),
        }
    }

    /// The collection a write goes to, created from the fixtures if new.
    fn shared(&self, ns: &Ns) -> Shared {
        let session = self.session(&ns.session);
        if let Some(c) = read(&session.collections).get(&ns.resource) {
            return Arc::clone(c);
        }
        let mut all = write(&session.collections);
        let c = all.entry(ns.resource.clone()).or_insert_with(|| {
            let c = self.fixtures.load().get(&ns.resource).cloned().unwrap_or_default();
            Arc::new(RwLock::new(c))
        });
        Arc::clone(c)
    }

    /// Runs `f` on the collection under its write lock, looking again if the collection was
    /// dropped meanwhile, and making room (by eviction) once if `f` needs it.
    fn write_to<T>(&self, ns: &Ns, mut f: impl FnMut(&mut Collection) -> Attempt<T>) -> Result<T, StoreError> {
        let mut evicted = false;
        loop {
            let shared = self.shared(ns);
            let mut guard = write(&shared);
            if guard.gone {
                // Expired or evicted between the lookup and the lock: the session starts again.
                drop(guard);
                if let Some(s) = self.sessions.get(&ns.session) {
                    let mut all = write(&s.collections);
                    if all.get(&ns.resource).is_some_and(|c| Arc::ptr_eq(c, &shared)) {
                        all.remove(&ns.resource);
                    }
                }
                continue;
            }
            let outcome = f(Arc::make_mut(&mut guard));
            drop(guard);
            match outcome {
                Attempt::Done(result) => return result,
                Attempt::NeedsRoom { records, bytes } => {
                    if self.limits.eviction == Eviction::OldestSession && !evicted {
                        evicted = true;
                        self.evict_for(&ns.session, records, bytes);
                        continue;
                    }
                    return Err(self.full(records, bytes));
                }
            }
        }
    }

    /// Counts `records` and `bytes` more, less what the write frees (`free_*`: the record it
    /// replaces), if a write that grows the store still fits the limits.
    fn admit(&self, records: usize, bytes: usize, free_records: usize, free_bytes: usize) -> bool {
        let r = self.records.fetch_add(records, Ordering::Relaxed) + records;
        let b = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let over = |used: usize, freed: usize, max: usize| max > 0 && used.saturating_sub(freed) > max;
        let grows = records > free_records || bytes > free_bytes;
        if grows && (over(r, free_records, self.limits.max_records) || over(b, free_bytes, self.limits.max_bytes)) {
            self.records.fetch_sub(records, Ordering::Relaxed);
            self.bytes.fetch_sub(bytes, Ordering::Relaxed);
            return false;
        }
        self.records.fetch_sub(free_records, Ordering::Relaxed);
        self.bytes.fetch_sub(free_bytes, Ordering::Relaxed);
        true
    }

    fn release(&self, records: usize, bytes: usize) {
        self.records.fetch_sub(records, Ordering::Relaxed);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// The error for a write that does not fit, naming the limit and its flag; logged once.
    fn full(&self, records: usize, bytes: usize) -> StoreError {
        let (held, used) = self.usage();
        let by_records = self.limits.max_records > 0 && held + records > self.limits.max_records;
        let why = if by_records {
            format!("it holds {held} records, the most that --store-max-records allows ({})", self.limits.max_records)
        } else {
            format!("its records take {used} bytes and this one needs {bytes} more; --store-max-bytes allows {}", self.limits.max_bytes)
        };
        let why = match self.limits.eviction {
            Eviction::Refuse => format!("{why}; delete records, reset a session, raise the limit or pass --store-evict oldest-session"),
            Eviction::OldestSession => format!("{why}, and no other session is left to evict (the shared namespace never is)"),
        };
        if !self.hit.swap(true, Ordering::Relaxed) {
            tracing::warn!("the store is full: {why}; writes that need room are refused");
        }
        StoreError::Full(why)
    }

    /// Drops the sessions touched longest ago (never the shared namespace, never `keep`) until
    /// `records` and `bytes` more fit.
    fn evict_for(&self, keep: &str, records: usize, bytes: usize) {
        let mut candidates: Vec<(u64, String)> = self
            .sessions
            .iter()
            .filter(|e| !e.key().is_empty() && e.key() != keep)
            .map(|e| (e.value().order.load(Ordering::Relaxed), e.key().clone()))
            .collect();
        candidates.sort();
        let fits = |store: &Self| {
            let (r, b) = store.usage();
            let ok = |used: usize, more: usize, max: usize| max == 0 || used + more <= max;
            ok(r, records, store.limits.max_records) && ok(b, bytes, store.limits.max_bytes)
        };
        let mut evicted = 0;
        for (_, name) in candidates {
            if fits(self) {
                break;
            }
            if self.drop_session(&name) {
                evicted += 1;
            }
        }
        if evicted > 0 {
            if !self.hit.swap(true, Ordering::Relaxed) {
                tracing::warn!("the store is full: evicting the sessions touched longest ago (--store-evict oldest-session)");
            }
            tracing::debug!(evicted, "store: sessions evicted to make room");
        }
    }

    /// Drops a whole session; false if it was not there.
    fn drop_session(&self, name: &str) -> bool {
        let Some((_, session)) = self.sessions.remove(name) else { return false };
        let all = std::mem::take(&mut *write(&session.collections));
        for c in all.into_values() {
            self.retire(&c);
        }
        true
    }

    /// Marks a dropped collection gone, frees its records and uncounts them.
    fn retire(&self, c: &Shared) {
        let mut guard = write(c);
        self.release(guard.owned, guard.owned_bytes);
        *guard = Arc::new(Collection { gone: true, ..Collection::default() });
    }

    fn record(&self, seq: u64, s: &Stored) -> Result<Record, StoreError> {
        let mut parts = self.keys.decode(&s.blob, 2).map_err(|Damaged| damaged(&s.id))?;
        let data = parts.pop().unwrap_or(Value::Null);
        Ok(Record { id: s.id.to_string(), version: s.version, seq, scope: pairs(parts.pop()), data })
    }

    fn encode(&self, r: &Record) -> Box<[u8]> {
        self.keys.encode(&[Part::Pairs(&r.scope), Part::Value(&r.data)])
    }

    /// Whether a stored record passes the query's scope and field filters, decoding only those.
    fn keeps(&self, s: &Stored, q: &Query<'_>) -> Result<bool, StoreError> {
        if !q.scope.is_empty() {
            let scope = pairs(self.keys.decode(&s.blob, 1).map_err(|Damaged| damaged(&s.id))?.pop());
            if !q.scope.iter().all(|p| scope.contains(p)) {
                return Ok(false);
            }
        }
        for (field, want) in q.fields {
            let v = self.keys.field(&s.blob, 1, field).map_err(|Damaged| damaged(&s.id))?;
            if !super::field_matches(v.as_ref(), want) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes `record` as new (`create`) or over the one with its id (`put`).
    fn insert(&self, ns: &Ns, record: Record, unique: &[String], replace: bool) -> Result<Record, StoreError> {
        let blob = self.encode(&record);
        let need = record_bytes(&record.id, &blob);
        let fields: Vec<String> = if replace { self.unique_fields.get(&ns.resource).cloned().unwrap_or_default() } else { unique.to_vec() };
        // Taken by the attempt that stores it; one that needs room first leaves it for the next.
        let mut blob = Some(blob);
        let (version, seq) = self.write_to(ns, |c| {
            let current = c.current(&record.id).map(|(_, s)| Arc::clone(s));
            if current.is_some() && !replace {
                return Attempt::Done(Err(StoreError::IdTaken));
            }
            if !replace {
                if let Some((field, value)) = c.unique_conflict(&record.id, &record.data, &fields) {
                    return Attempt::Done(Err(StoreError::Duplicate { field, value }));
                }
            }
            let (free_records, free_bytes) = match &current {
                Some(old) if !old.fixture => (1, old.bytes()),
                _ => (0, 0),
            };
            if !self.admit(1, need, free_records, free_bytes) {
                return Attempt::NeedsRoom { records: 1 - free_records, bytes: need.saturating_sub(free_bytes) };
            }
            let version = match &current {
                Some(old) if replace => old.version + 1,
                _ => 1,
            };
            let id: Arc<str> = match c.take(&self.keys, &record.id) {
                Some(old) => {
                    c.unindex(&self.keys, &old, &c.unique_fields.clone());
                    Arc::clone(&old.id)
                }
                None => Arc::from(record.id.as_str()),
            };
            c.index_unique(&id, &record.data, &fields);
            let blob = blob.take().unwrap_or_default();
            let seq = c.append(Stored { id, version, fixture: false, blob }, &record.scope, None);
            Attempt::Done(Ok((version, seq)))
        })?;
        Ok(Record { version, seq, ..record })
    }
}

impl Store for MemoryStore {
    fn get(&self, ns: &Ns, id: &str) -> Result<Option<Record>, StoreError> {
        let c = self.snapshot(ns, true);
        c.current(id).map(|(seq, s)| self.record(seq, s)).transpose()
    }

    fn create(&self, ns: &Ns, record: Record, unique: &[String]) -> Result<Record, StoreError> {
        self.insert(ns, record, unique, false)
    }

    fn update(&self, ns: &Ns, id: &str, expect: Expect, unique: &[String], change: Change<'_>) -> Result<Record, StoreError> {
        self.write_to(ns, |c| {
            let Some((seq, current)) = c.current(id).map(|(seq, s)| (seq, Arc::clone(s))) else {
                return Attempt::Done(Err(StoreError::NotFound));
            };
            let mut next = match self.record(seq, &current) {
                Ok(r) => r,
                Err(e) => return Attempt::Done(Err(e)),
            };
            if let Err(e) = expect.admits(&next) {
                return Attempt::Done(Err(e));
            }
            if change(&mut next).is_err() {
                return Attempt::Done(Err(StoreError::Declined));
            }
            if let Some((field, value)) = c.unique_conflict(id, &next.data, unique) {
                return Attempt::Done(Err(StoreError::Duplicate { field, value }));
            }
            next.version = current.version + 1;
            next.id = id.to_string();
            next.seq = seq;
            let blob = self.encode(&next);
            let need = record_bytes(id, &blob);
            let freed = current.bytes();
            let counted = usize::from(!current.fixture);
            if !self.admit(1, need, counted, freed) {
                return Attempt::NeedsRoom { records: 1 - counted, bytes: need.saturating_sub(freed) };
            }
            c.unindex(&self.keys, &current, unique);
            c.index_unique(&current.id, &next.data, unique);
            let stored = Stored { id: Arc::clone(&current.id), version: next.version, fixture: false, blob };
            if let Some(slot) = c.order.get_mut(seq) {
                c.owned = c.owned + 1 - counted;
                c.owned_bytes = c.owned_bytes + stored.bytes() - freed;
                *slot = Arc::new(stored);
            }
            Attempt::Done(Ok(next))
        })
    }

    fn delete(&self, ns: &Ns, id: &str, expect: Expect) -> Result<Record, StoreError> {
        self.write_to(ns, |c| {
            let Some((seq, current)) = c.current(id).map(|(seq, s)| (seq, Arc::clone(s))) else {
                return Attempt::Done(Err(StoreError::NotFound));
            };
            let record = match self.record(seq, &current) {
                Ok(r) => r,
                Err(e) => return Attempt::Done(Err(e)),
            };
            if let Err(e) = expect.admits(&record) {
                return Attempt::Done(Err(e));
            }
            if let Some(old) = c.take(&self.keys, id) {
                c.unindex(&self.keys, &old, &c.unique_fields.clone());
                self.release(usize::from(!old.fixture), old.bytes());
            }
            Attempt::Done(Ok(record))
        })
    }

    fn list(&self, ns: &Ns, keep: &dyn Fn(&Record) -> bool, offset: usize, limit: usize) -> Result<Page, StoreError> {
        let c = self.snapshot(ns, true);
        let records: Vec<Record> = c.order.iter().map(|(seq, s)| self.record(seq, s)).collect::<Result<_, _>>()?;
        Ok(super::page(records, keep, offset, limit))
    }

    fn query(&self, ns: &Ns, q: &Query<'_>) -> Result<Page, StoreError> {
        let c = self.snapshot(ns, true);
        let source = if q.fields.is_empty() { c.source(q.scope) } else { Source::Walk };
        let from_index = |seqs: &mut dyn Iterator<Item = u64>, offset: usize, total: usize| -> Result<Page, StoreError> {
            let records = seqs
                .take(q.limit)
                .filter_map(|seq| c.order.get(seq).map(|s| (seq, s)))
                .map(|(seq, s)| self.record(seq, s))
                .collect::<Result<_, _>>()?;
            Ok(Page { records, total, offset })
        };
        match source {
            Source::Nothing => Ok(Page { records: Vec::new(), total: 0, offset: 0 }),
            Source::All => match q.start {
                Start::Offset(k) => from_index(&mut c.order.at_rank(k).map(|(s, _)| s), k, c.order.len()),
                Start::After(seq) => {
                    let (before, rest) = c.order.after(seq);
                    from_index(&mut rest.map(|(s, _)| s), before, c.order.len())
                }
            },
            Source::Scope(order) => match q.start {
                Start::Offset(k) => from_index(&mut order.at_rank(k).map(|(s, _)| s), k, order.len()),
                Start::After(seq) => {
                    let (before, rest) = order.after(seq);
                    from_index(&mut rest.map(|(s, _)| s), before, order.len())
                }
            },
            Source::Walk => {
                let (mut total, mut offset, mut records) = (0, 0, Vec::new());
                for (seq, s) in c.order.iter() {
                    if !self.keeps(s, q)? {
                        continue;
                    }
                    let skip = match q.start {
                        Start::Offset(k) => total < k,
                        Start::After(after) => seq <= after,
                    };
                    if skip {
                        offset += 1;
                    } else if records.len() < q.limit {
                        records.push(self.record(seq, s)?);
                    }
                    total += 1;
                }
                if let Start::Offset(k) = q.start {
                    offset = k;
                }
                Ok(Page { records, total, offset })
            }
        }
    }

    fn put(&self, ns: &Ns, record: Record) -> Result<Record, StoreError> {
        self.insert(ns, record, &[], true)
    }

    fn reset(&self, session: Option<&str>, resource: Option<&str>) -> Result<(), StoreError> {
        let names: Vec<String> = match session {
            Some(s) => vec![s.to_string()],
            None => self.sessions.iter().map(|e| e.key().clone()).collect(),
        };
        for name in names {
            match resource {
                None => {
                    self.drop_session(&name);
                }
                Some(r) => {
                    let Some(s) = self.sessions.get(&name).map(|s| Arc::clone(&s)) else { continue };
                    let removed = write(&s.collections).remove(r);
                    if let Some(c) = removed {
                        self.retire(&c);
                    }
                }
            }
        }
        Ok(())
    }

    fn set_fixtures(&self, resource: &str, records: Vec<Record>) -> Result<(), StoreError> {
        let fields = self.unique_fields.get(resource).map(Vec::as_slice).unwrap_or_default();
        let mut all = HashMap::clone(&self.fixtures.load());
        if records.is_empty() {
            all.remove(resource);
        } else {
            all.insert(resource.to_string(), Arc::new(fixture_collection(&self.keys, fields, records)));
        }
        self.fixtures.store(Arc::new(all));
        Ok(())
    }

    fn collections(&self, session: &str) -> Result<Vec<(String, usize)>, StoreError> {
        let mut names: Vec<String> = self.fixtures.load().keys().cloned().collect();
        if let Some(s) = self.sessions.get(session) {
            for r in read(&s.collections).keys() {
                if !names.contains(r) {
                    names.push(r.clone());
                }
            }
        }
        names.sort();
        Ok(names
            .into_iter()
            .map(|r| {
                let ns = Ns { session: session.to_string(), resource: r.clone() };
                let n = self.snapshot(&ns, false).order.len();
                (r, n)
            })
            .collect())
    }

    fn dump(&self) -> Vec<(Ns, Vec<Record>)> {
        let mut out = Vec::new();
        for e in self.sessions.iter() {
            for (resource, c) in read(&e.value().collections).iter() {
                let c = Arc::clone(&read(c));
                if c.gone {
                    continue;
                }
                let records = c.order.iter().filter_map(|(seq, s)| self.record(seq, s).ok()).collect();
                out.push((Ns { session: e.key().clone(), resource: resource.clone() }, records));
            }
        }
        out.sort_by(|a, b| (&a.0.session, &a.0.resource).cmp(&(&b.0.session, &b.0.resource)));
        out
    }

    fn sweep(&self) -> usize {
        let Some(ttl) = self.limits.session_ttl else { return 0 };
        let now = self.now_ms();
        let ttl = ttl.as_millis() as u64;
        let idle: Vec<String> = self
            .sessions
            .iter()
            .filter(|e| !e.key().is_empty() && now.saturating_sub(e.value().last.load(Ordering::Relaxed)) >= ttl)
            .map(|e| e.key().clone())
            .collect();
        let mut dropped = 0;
        for name in idle {
            // Touched again since the scan: it stays.
            let still_idle = self.sessions.get(&name).is_some_and(|s| now.saturating_sub(s.last.load(Ordering::Relaxed)) >= ttl);
            if still_idle && self.drop_session(&name) {
                dropped += 1;
            }
        }
        if dropped > 0 {
            tracing::debug!(dropped, "store: idle sessions expired");
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(session: &str) -> Ns {
        Ns { session: session.into(), resource: "runs".into() }
    }

    fn rec(id: &str, data: serde_json::Value) -> Record {
        Record { id: id.into(), version: 0, seq: 0, scope: vec![], data }
    }

    #[test]
    fn sessions_start_from_fixtures_and_stay_apart() {
        let fixtures = HashMap::from([("runs".to_string(), vec![rec("f1", json!({"id": "f1"}))])]);
        let s = MemoryStore::new(fixtures, HashMap::new());
        s.create(&ns("a"), rec("x", json!({})), &[]).unwrap();
        assert!(s.get(&ns("a"), "f1").unwrap().is_some());
        assert!(s.get(&ns("a"), "x").unwrap().is_some());
        assert!(s.get(&ns("b"), "x").unwrap().is_none());
        assert!(!s.sessions.contains_key("b"), "a read creates no session");
        s.reset(Some("a"), None).unwrap();
        assert!(s.get(&ns("a"), "x").unwrap().is_none());
        assert!(s.get(&ns("a"), "f1").unwrap().is_some());
    }

    #[test]
    fn a_write_to_a_shared_fixture_stays_in_its_session() {
        let u = vec!["clientKey".to_string()];
        let fixtures = HashMap::from([("runs".to_string(), vec![rec("f1", json!({"clientKey": "k"}))])]);
        let s = MemoryStore::new(fixtures, HashMap::from([("runs".to_string(), u.clone())]));
        let changed = s.update(&ns("a"), "f1", Expect::Any, &u, &mut |r| {
            r.data["clientKey"] = json!("k2");
            Ok(())
        });
        assert_eq!(changed.unwrap().version, 1);
        s.delete(&ns("b"), "f1", Expect::Any).unwrap();
        assert_eq!(s.get(&ns("a"), "f1").unwrap().unwrap().data, json!({"clientKey": "k2"}));
        assert!(s.get(&ns("b"), "f1").unwrap().is_none());
        let fresh = s.get(&ns("c"), "f1").unwrap().unwrap();
        assert_eq!((fresh.version, fresh.seq, fresh.data), (0, 1, json!({"clientKey": "k"})));
        // The fixture's unique value is held in a fresh session, and freed in session a.
        assert!(matches!(s.create(&ns("c"), rec("x", json!({"clientKey": "k"})), &u), Err(StoreError::Duplicate { .. })));
        s.create(&ns("a"), rec("x", json!({"clientKey": "k"})), &u).unwrap();
    }

    #[test]
    fn update_checks_the_version_and_bumps_it() {
        let s = MemoryStore::new(HashMap::new(), HashMap::new());
        s.create(&ns(""), rec("x", json!({"n": 1})), &[]).unwrap();
        let r = s.update(&ns(""), "x", Expect::Version(1), &[], &mut |r| {
            r.data["n"] = json!(2);
            Ok(())
        });
        assert_eq!(r.unwrap().version, 2);
        let stale = s.update(&ns(""), "x", Expect::Version(1), &[], &mut |_| Ok(()));
        assert_eq!(stale, Err(StoreError::VersionMismatch { current: 2 }));
    }

    #[test]
    fn unique_fields_refuse_duplicates_on_create_and_update() {
        let s = MemoryStore::new(HashMap::new(), HashMap::new());
        let u = vec!["clientKey".to_string()];
        s.create(&ns(""), rec("a", json!({"clientKey": "k"})), &u).unwrap();
        let dup = s.create(&ns(""), rec("b", json!({"clientKey": "k"})), &u);
        assert!(matches!(dup, Err(StoreError::Duplicate { .. })));
        s.create(&ns(""), rec("b", json!({})), &u).unwrap();
        let dup = s.update(&ns(""), "b", Expect::Any, &u, &mut |r| {
            r.data["clientKey"] = json!("k");
            Ok(())
        });
        assert!(matches!(dup, Err(StoreError::Duplicate { .. })));
        // A put that replaces a record keeps its unique key held.
        let s = MemoryStore::new(HashMap::new(), HashMap::from([("runs".to_string(), u.clone())]));
        s.create(&ns(""), rec("a", json!({"clientKey": "k"})), &u).unwrap();
        s.put(&ns(""), rec("a", json!({"clientKey": "k"}))).unwrap();
        assert!(matches!(s.create(&ns(""), rec("b", json!({"clientKey": "k"})), &u), Err(StoreError::Duplicate { .. })));
        // Deleting frees the key.
        s.delete(&ns(""), "a", Expect::Any).unwrap();
        s.create(&ns(""), rec("c", json!({"clientKey": "k"})), &u).unwrap();
    }

    #[test]
    fn a_changed_unique_value_frees_the_old_one_and_a_put_keeps_the_new_one() {
        let u = vec!["clientKey".to_string()];
        let s = MemoryStore::new(HashMap::new(), [("things".to_string(), u.clone())].into_iter().collect());
        let things = Ns { session: String::new(), resource: "things".into() };
        s.create(&things, rec("a", json!({"clientKey": "k1"})), &u).unwrap();
        s.update(&things, "a", Expect::Any, &u, &mut |r| {
            r.data["clientKey"] = json!("k2");
            Ok(())
        })
        .unwrap();
        s.create(&things, rec("b", json!({"clientKey": "k1"})), &u).expect("k1 is free again");
        s.put(&things, rec("a", json!({"clientKey": "k3"}))).unwrap();
        let dup = s.create(&things, rec("c", json!({"clientKey": "k3"})), &u);
        assert!(matches!(dup, Err(StoreError::Duplicate { .. })), "the put's value is held: {dup:?}");
        s.create(&things, rec("d", json!({"clientKey": "k2"})), &u).expect("the put freed k2");
    }

    #[test]
    fn list_pages_in_creation_order() {
        let s = MemoryStore::new(HashMap::new(), HashMap::new());
        for i in 0..5 {
            s.create(&ns(""), rec(&format!("r{i}"), json!({"i": i})), &[]).unwrap();
        }
        let page = s.list(&ns(""), &|r| r.data["i"].as_i64() != Some(2), 1, 2).unwrap();
        let ids: Vec<_> = page.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!((ids, page.total), (vec!["r1", "r3"], 4));
    }
}
