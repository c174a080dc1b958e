//! `--state-file`: the in-memory store with every change appended to a log on disk before its
//! answer goes out. [`Logged`] applies a change to the memory store and queues its log line under
//! one lock, so the log's order is the order the changes were applied in; one writer thread
//! appends what is queued and fsyncs it, a whole group of concurrent changes per fsync; a request
//! that changed the store waits (asynchronously, [`Logged::durable`]) for the fsync that covers its
//! change. At start the snapshot and then the log are replayed. When the log outgrows the
//! snapshot, it is compacted in the background into a new snapshot while writes go on.

use std::fs::{File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{Read as _, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::log::{self, Change as Line};
use super::persist;
use super::{Change, Expect, MemoryStore, Ns, Page, Record, Store, StoreError};

/// Locks that order the changes to one collection; collections that hash apart never contend.
const SHARDS: usize = 64;

tokio::task_local! {
    /// The last change a request made, for it to wait on (see [`track`]).
    static WRITTEN: std::cell::Cell<u64>;
}

/// Runs `work` (one request) and returns what it gave and the number of the last change it made
/// to a logged store (0 for none), whichever threads it ran on.
pub async fn track<F: Future>(work: F) -> (F::Output, u64) {
    WRITTEN
        .scope(std::cell::Cell::new(0), async move {
            let out = work.await;
            (out, WRITTEN.with(std::cell::Cell::get))
        })
        .await
}

fn note(seq: u64) {
    let _ = WRITTEN.try_with(|w| w.set(w.get().max(seq)));
}

/// How far the log is on disk, as the writer publishes it.
#[derive(Debug, Clone, Default)]
struct Durable {
    /// Every change up to this one is fsynced.
    upto: u64,
    /// Why no more will be: the disk refused a write, or the server stopped.
    ended: Option<Arc<str>>,
}

/// What the writer has not taken yet.
#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    /// The number of the last change queued.
    last: u64,
    /// Why changes are refused now (the log failed or closed).
    refused: Option<String>,
    closing: bool,
    /// The writer waits on the condition variable (so a change must wake it).
    idle: bool,
    /// A background snapshot finished: how it went.
    compacted: Option<Result<Compacted, String>>,
}

#[derive(Debug)]
struct Compacted {
    /// The log's length when the snapshot's changes ended: what follows must be kept.
    offset: u64,
    bytes: u64,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Set with `Pending::refused`, read without its lock by every write.
    refusing: AtomicBool,
    durable: watch::Sender<Durable>,
    snapshot: PathBuf,
    log: PathBuf,
    compact_at: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn refuse(&self, why: String) {
        let mut p = lock(&self.pending);
        p.refused.get_or_insert(why);
        self.refusing.store(true, Ordering::Release);
    }

    fn refused(&self) -> Result<(), StoreError> {
        if !self.refusing.load(Ordering::Acquire) {
            return Ok(());
        }
        match &lock(&self.pending).refused {
            Some(why) => Err(StoreError::Unavailable(why.clone())),
            None => Ok(()),
        }
    }

    /// Queues one change, returning its number.
    fn queue(&self, change: &[u8]) -> u64 {
        let mut p = lock(&self.pending);
        p.last += 1;
        let seq = p.last;
        log::encode(seq, change, &mut p.lines);
        if p.idle {
            p.idle = false;
            self.wake.notify_one();
        }
        seq
    }

    /// Writes are over: waiters on changes not yet on disk get `why`.
    fn end(&self, why: &str) {
        self.durable.send_modify(|d| {
            d.ended.get_or_insert_with(|| why.into());
        });
    }
}

/// The memory store, logged to `--state-file`.
pub struct Logged {
    inner: Arc<MemoryStore>,
    shared: Arc<Shared>,
    shards: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
    /// Record changes hold it shared, resets alone: a reset spans collections.
    resets: RwLock<()>,
    writer: Mutex<Option<JoinHandle<Option<Writer>>>>,
    /// `STATE.lock`, held while the log is open.
    held: Mutex<Option<File>>,
}

impl Logged {
    /// Opens the state at `path` over `memory` (which holds the fixtures): takes the lock, reads
    /// the snapshot and replays the log into `memory`, drops a torn last line (with a warning),
    /// and starts the writer. Compaction starts when the log is larger than both `compact_at`
    /// bytes and the snapshot.
    pub fn open(path: &Path, memory: MemoryStore, compact_at: u64) -> Result<Self, String> {
        let held = persist::lock(path)?;
        for leftover in persist::remove_leftovers(path) {
            tracing::warn!(file = %leftover.display(), "removed a temporary file a stopped server left beside the state file");
        }
        let snapshot = persist::read_snapshot(path)?;
        let log_path = persist::beside(path, ".log");
        let (mut file, created) = open_log(&log_path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| format!("cannot read the state log {}: {e}", log_path.display()))?;
        let read = log::read(&bytes).map_err(|d| {
            format!(
                "the state log {} is damaged at line {}: {}; it is left as it is: move it (and {}) away to start fresh",
                log_path.display(),
                d.line,
                d.why,
                path.display()
            )
        })?;
        if let Some(&(first, _)) = read.entries.first() {
            if first > snapshot.log_seq + 1 {
                return Err(format!(
                    "the state log {} starts at change {first} but the state file {} holds changes up to {} only: changes are missing; move both away to start fresh",
                    log_path.display(),
                    path.display(),
                    snapshot.log_seq
                ));
            }
        }
        if read.torn > 0 {
            tracing::warn!(
                file = %log_path.display(),
                bytes = read.torn,
                "the state log ends in a line torn by a crash (a change that was never acknowledged); dropping it"
            );
            file.set_len(read.whole as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("cannot drop the torn last line of {}: {e}", log_path.display()))?;
        }
        file.seek(std::io::SeekFrom::End(0)).map_err(|e| format!("cannot read the state log {}: {e}", log_path.display()))?;
        if created {
            persist::sync_dir(&log_path).map_err(|e| format!("cannot create the state log {}: {e}", log_path.display()))?;
        }
        let last = read.entries.last().map_or(0, |(n, _)| *n).max(snapshot.log_seq);
        let base = |ns: &Ns| memory.list(ns, &|_| true, 0, usize::MAX).map(|p| p.records).unwrap_or_default();
        let state = log::replay(snapshot.collections, read.entries, snapshot.log_seq, &base);
        memory.restore(state);

        let inner = Arc::new(memory);
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending { last, ..Pending::default() }),
            wake: Condvar::new(),
            refusing: AtomicBool::new(false),
            durable: watch::Sender::new(Durable { upto: last, ended: None }),
            snapshot: path.to_path_buf(),
            log: log_path,
            compact_at,
        });
        let writer = Writer { file, len: read.whole as u64, written: last, snapshot_bytes: snapshot.bytes, retry_at: 0, compaction: None };
        let thread = {
            let (shared, inner) = (Arc::clone(&shared), Arc::clone(&inner));
            std::thread::Builder::new()
                .name("specstub-state-log".into())
                .spawn(move || writer.run(&shared, &inner))
                .map_err(|e| format!("cannot start the state log's writer: {e}"))?
        };
        Ok(Self {
            inner,
            shared,
            shards: (0..SHARDS).map(|_| Mutex::new(())).collect(),
            hasher: Default::default(),
            resets: RwLock::new(()),
            writer: Mutex::new(Some(thread)),
            held: Mutex::new(Some(held)),
        })
    }

    /// Resolves when change `seq` (from [`track`]) is on disk, or fails if it never will be.
    pub fn durable(&self, seq: u64) -> impl Future<Output = Result<(), StoreError>> + use<> {
        let done = seq == 0 || self.shared.durable.borrow().upto >= seq;
        let mut rx = (!done).then(|| self.shared.durable.subscribe());
        async move {
            let Some(rx) = rx.as_mut() else { return Ok(()) };
            let seen = rx.wait_for(|d| d.upto >= seq || d.ended.is_some()).await.map(|d| d.clone());
            match seen {
                Ok(d) if d.upto >= seq => Ok(()),
                Ok(d) => Err(StoreError::Unavailable(d.ended.as_deref().unwrap_or("the state log stopped").to_string())),
                Err(_) => Err(StoreError::Unavailable("the state log stopped".into())),
            }
        }
    }

    /// Stops taking changes, writes what is queued, folds the log into a fresh snapshot (so the
    /// next start reads one file) and releases the lock. Blocking.
    pub fn close(&self) {
        let Some(writer) = self.stop_writer("the server is stopping") else { return };
        if writer.len > 0 {
            let folded = persist::write_snapshot(&self.shared.snapshot, writer.written, self.inner.dump())
                .and_then(|_| writer.file.set_len(0))
                .and_then(|()| writer.file.sync_all());
            if let Err(e) = folded {
                // The log still holds every change: nothing is lost, the next start replays it.
                tracing::warn!(error = %e, file = %self.shared.snapshot.display(), "cannot fold the state log into a snapshot at shutdown");
            }
        }
        drop(writer);
        lock(&self.held).take();
    }

    /// Ends the writer after it has written what is queued; its state, unless it had failed.
    fn stop_writer(&self, why: &str) -> Option<Writer> {
        let thread = lock(&self.writer).take()?;
        {
            let mut p = lock(&self.shared.pending);
            p.closing = true;
            p.refused.get_or_insert_with(|| why.to_string());
            self.shared.refusing.store(true, Ordering::Release);
            self.shared.wake.notify_one();
        }
        let writer = thread.join().ok().flatten();
        self.shared.end(why);
        writer
    }

    fn shard(&self, ns: &Ns) -> MutexGuard<'_, ()> {
        let i = (self.hasher.hash_one(ns) as usize) % SHARDS;
        lock(&self.shards[i])
    }

    /// Applies one record change and queues its line, under the collection's ordering lock.
    fn logged<T>(
        &self,
        ns: &Ns,
        apply: impl FnOnce(&MemoryStore) -> Result<T, StoreError>,
        line: impl FnOnce(&T) -> Vec<u8>,
    ) -> Result<T, StoreError> {
        self.shared.refused()?;
        let _all = self.resets.read().unwrap_or_else(|p| p.into_inner());
        let _one = self.shard(ns);
        let out = apply(&self.inner)?;
        note(self.shared.queue(&line(&out)));
        Ok(out)
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        // Without `close`: what is queued is still written, the log is left for the next start.
        self.stop_writer("the server stopped");
    }
}

fn json(change: &Line) -> Vec<u8> {
    // A record is JSON already; serialising it cannot fail.
    serde_json::to_vec(change).unwrap_or_default()
}

fn put_line(ns: &Ns, rec: &Record) -> Vec<u8> {
    json(&Line::Put { s: &ns.session, r: &ns.resource, rec })
}

impl Store for Logged {
    fn get(&self, ns: &Ns, id: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get(ns, id)
    }

    fn create(&self, ns: &Ns, record: Record, unique: &[String]) -> Result<Record, StoreError> {
        self.logged(ns, |m| m.create(ns, record, unique), |r| put_line(ns, r))
    }

    fn update(&self, ns: &Ns, id: &str, expect: Expect, unique: &[String], change: Change<'_>) -> Result<Record, StoreError> {
        self.logged(ns, |m| m.update(ns, id, expect, unique, change), |r| put_line(ns, r))
    }

    fn delete(&self, ns: &Ns, id: &str, expect: Expect) -> Result<Record, StoreError> {
        self.logged(ns, |m| m.delete(ns, id, expect), |_| json(&Line::Del { s: &ns.session, r: &ns.resource, id }))
    }

    fn list(&self, ns: &Ns, keep: &dyn Fn(&Record) -> bool, offset: usize, limit: usize) -> Result<Page, StoreError> {
        self.inner.list(ns, keep, offset, limit)
    }

    fn query(&self, ns: &Ns, q: &super::Query<'_>) -> Result<Page, StoreError> {
        self.inner.query(ns, q)
    }

    // Expired sessions are not logged: after a restart they are back until the next sweep drops
    // them again, which loses nothing a client was promised.
    fn sweep(&self) -> usize {
        self.inner.sweep()
    }

    fn put(&self, ns: &Ns, record: Record) -> Result<Record, StoreError> {
        self.logged(ns, |m| m.put(ns, record), |r| put_line(ns, r))
    }

    fn reset(&self, session: Option<&str>, resource: Option<&str>) -> Result<(), StoreError> {
        self.shared.refused()?;
        let _all = self.resets.write().unwrap_or_else(|p| p.into_inner());
        self.inner.reset(session, resource)?;
        note(self.shared.queue(&json(&Line::Reset { s: session, r: resource })));
        Ok(())
    }

    fn set_fixtures(&self, resource: &str, records: Vec<Record>) -> Result<(), StoreError> {
        // Fixtures are read from their files at each start, never from the log.
        self.inner.set_fixtures(resource, records)
    }

    fn collections(&self, session: &str) -> Result<Vec<(String, usize)>, StoreError> {
        self.inner.collections(session)
    }

    fn dump(&self) -> Vec<(Ns, Vec<Record>)> {
        self.inner.dump()
    }
}

fn open_log(path: &Path) -> Result<(File, bool), String> {
    persist::regular(path)?;
    let existed = path.exists();
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("cannot open the state log {}: {e}", path.display()))?;
    Ok((file, !existed))
}

/// The writer thread's own state.
struct Writer {
    /// The log, opened for appending.
    file: File,
    len: u64,
    /// The last change on disk.
    written: u64,
    snapshot_bytes: u64,
    /// After a failed compaction, the log length at which to try again.
    retry_at: u64,
    compaction: Option<JoinHandle<()>>,
}

impl Writer {
    /// Takes what is queued, appends and fsyncs it, tells the waiters; in between, starts and
    /// finishes compactions. Returns itself when closing, None if the disk failed.
    fn run(mut self, shared: &Arc<Shared>, inner: &Arc<MemoryStore>) -> Option<Writer> {
        let mut batch = Vec::new();
        loop {
            let (upto, compacted, closing) = {
                let mut p = lock(&shared.pending);
                while p.lines.is_empty() && p.compacted.is_none() && !p.closing {
                    p.idle = true;
                    p = shared.wake.wait(p).unwrap_or_else(|e| e.into_inner());
                }
                p.idle = false;
                std::mem::swap(&mut p.lines, &mut batch);
                (p.last, p.compacted.take(), p.closing)
            };
            if !batch.is_empty() {
                if let Err(e) = self.file.write_all(&batch).and_then(|()| self.file.sync_data()) {
                    let why = format!("the state log {} cannot be written: {e}", shared.log.display());
                    tracing::error!("{why}; changes are refused from now on (restart once the disk is fixed)");
                    shared.refuse(why.clone());
                    shared.end(&why);
                    return None;
                }
                self.len += batch.len() as u64;
                self.written = upto;
                batch.clear();
                shared.durable.send_modify(|d| d.upto = upto);
            }
            if let Some(done) = compacted {
                if let Err(why) = self.rotate(shared, done) {
                    tracing::error!("{why}; changes are refused from now on (restart once the disk is fixed)");
                    shared.refuse(why.clone());
                    shared.end(&why);
                    return None;
                }
            }
            if closing {
                if let Some(c) = self.compaction.take() {
                    let _ = c.join();
                    if let Some(done) = lock(&shared.pending).compacted.take() {
                        let _ = self.rotate(shared, done);
                    }
                }
                return Some(self);
            }
            let due = self.len >= shared.compact_at.max(self.snapshot_bytes).max(self.retry_at);
            if due && self.compaction.is_none() {
                self.compaction = self.start_compaction(shared, inner);
            }
        }
    }

    /// A snapshot of the store, written on its own thread: it holds every change up to the last
    /// one written (and maybe some after, which replay again to the same result).
    fn start_compaction(&self, shared: &Arc<Shared>, inner: &Arc<MemoryStore>) -> Option<JoinHandle<()>> {
        let (seq, offset, path) = (self.written, self.len, shared.snapshot.clone());
        let (inner, shared) = (Arc::clone(inner), Arc::clone(shared));
        let spawned = std::thread::Builder::new().name("specstub-state-snapshot".into()).spawn(move || {
            let outcome = persist::write_snapshot(&path, seq, inner.dump())
                .map(|bytes| Compacted { offset, bytes })
                .map_err(|e| format!("cannot write the snapshot {}: {e}", path.display()));
            let mut p = lock(&shared.pending);
            p.compacted = Some(outcome);
            if p.idle {
                p.idle = false;
                shared.wake.notify_one();
            }
        });
        spawned.inspect_err(|e| tracing::warn!(error = %e, "cannot start compacting the state log")).ok()
    }

    /// After a snapshot: the log keeps only what follows it, via a copy renamed over it.
    fn rotate(&mut self, shared: &Shared, done: Result<Compacted, String>) -> Result<(), String> {
        if let Some(c) = self.compaction.take() {
            let _ = c.join();
        }
        let done = match done {
            Ok(done) => done,
            Err(why) => {
                // The old snapshot and the whole log still hold everything.
                tracing::warn!("{why}; the log keeps growing and compaction is tried again later");
                self.retry_at = self.len + shared.compact_at;
                return Ok(());
            }
        };
        self.snapshot_bytes = done.bytes;
        let tmp = persist::temp_for(&shared.log);
        let copied = (|| {
            let mut tail = OpenOptions::new().read(true).append(true).create_new(true).open(&tmp)?;
            let mut old = File::open(&shared.log)?;
            old.seek(std::io::SeekFrom::Start(done.offset))?;
            std::io::copy(&mut old, &mut tail)?;
            tail.sync_all()?;
            std::fs::rename(&tmp, &shared.log)?;
            Ok::<_, std::io::Error>(tail)
        })();
        let tail = match copied {
            Ok(tail) => tail,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                // Still sound: the snapshot is newer than the log's start, and replay skips what it holds.
                tracing::warn!(error = %e, file = %shared.log.display(), "cannot shorten the state log after a snapshot; it keeps growing");
                self.retry_at = self.len + shared.compact_at;
                return Ok(());
            }
        };
        self.file = tail;
        self.len -= done.offset;
        // Until the directory is synced, a crash could bring back the old log without the lines
        // appended to the new one from now on.
        persist::sync_dir(&shared.log).map_err(|e| format!("the state log {} cannot be made durable: {e}", shared.log.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("specstub-logged-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("state.json")
    }

    fn open(path: &Path, compact_at: u64) -> Logged {
        Logged::open(path, MemoryStore::new(HashMap::new(), HashMap::new()), compact_at).unwrap()
    }

    fn ns(session: &str, resource: &str) -> Ns {
        Ns { session: session.into(), resource: resource.into() }
    }

    fn rec(id: &str, n: u64) -> Record {
        Record { id: id.into(), version: 0, seq: 0, scope: vec![], data: json!({"id": id, "n": n}) }
    }

    /// The store's content, without collections that are empty (a replay may materialise some).
    fn content(store: &dyn Store) -> Vec<(Ns, Vec<Record>)> {
        store.dump().into_iter().filter(|(_, r)| !r.is_empty()).collect()
    }

    #[tokio::test]
    async fn a_change_is_durable_when_its_wait_ends_and_survives_a_reopen() {
        let path = scratch();
        let store = open(&path, 1 << 20);
        let ((), written) = track(async {
            store.create(&ns("", "things"), rec("a", 1), &[]).unwrap();
            store
                .update(&ns("", "things"), "a", Expect::Any, &[], &mut |r| {
                    r.data["n"] = json!(2);
                    Ok(())
                })
                .unwrap();
        })
        .await;
        assert_eq!(written, 2);
        store.durable(written).await.unwrap();
        // On disk now: the log holds both lines, before any shutdown.
        let log = std::fs::read(persist::beside(&path, ".log")).unwrap();
        assert_eq!(log::read(&log).unwrap().entries.len(), 2);
        drop(store);
        let again = open(&path, 1 << 20);
        assert_eq!(again.get(&ns("", "things"), "a").unwrap().unwrap().data["n"], 2);
        // A clean stop folds the log into the snapshot.
        again.close();
        assert_eq!(std::fs::metadata(persist::beside(&path, ".log")).unwrap().len(), 0);
        assert_eq!(persist::read_snapshot(&path).unwrap().log_seq, 2);
        let third = open(&path, 1 << 20);
        assert_eq!(third.get(&ns("", "things"), "a").unwrap().unwrap().version, 2);
        // New changes number on from the snapshot.
        let ((), written) = track(async { third.delete(&ns("", "things"), "a", Expect::Any).map(|_| ()).unwrap() }).await;
        assert_eq!(written, 3);
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[tokio::test]
    async fn a_second_open_of_the_same_state_is_refused_and_a_closed_one_refuses_changes() {
        let path = scratch();
        let store = open(&path, 1 << 20);
        let e = Logged::open(&path, MemoryStore::new(HashMap::new(), HashMap::new()), 1 << 20).err().unwrap();
        assert!(e.contains("in use by another specstub"), "{e}");
        store.close();
        assert!(matches!(store.create(&ns("", "t"), rec("x", 1), &[]), Err(StoreError::Unavailable(_))));
        open(&path, 1 << 20);
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn compaction_under_concurrent_writes_keeps_every_change() {
        let path = scratch();
        let store = Arc::new(open(&path, 8 * 1024));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in 0..600u64 {
                        let (session, id) = (format!("s{}", i % 3), format!("t{t}-{i}"));
                        store.create(&ns(&session, "things"), rec(&id, i), &[]).unwrap();
                        // A reset of s1 on another thread may have taken the record already.
                        if i % 5 == 0 {
                            let _ = store.update(&ns(&session, "things"), &id, Expect::Any, &[], &mut |r| {
                                r.data["n"] = json!(0);
                                Ok(())
                            });
                        }
                        if i % 7 == 0 {
                            let _ = store.delete(&ns(&session, "things"), &id, Expect::Any);
                        }
                        if t == 0 && i % 200 == 199 {
                            store.reset(Some("s1"), None).unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let before = content(store.as_ref());
        let last = lock(&store.shared.pending).last;
        // Everything queued is written when the writer stops; at least one compaction ran.
        let log_path = persist::beside(&path, ".log");
        drop(Arc::into_inner(store).unwrap());
        let snapshot = persist::read_snapshot(&path).unwrap();
        assert!(snapshot.log_seq > 0, "no compaction ran");
        let log = log::read(&std::fs::read(&log_path).unwrap()).unwrap();
        assert_eq!(log.entries.last().map_or(snapshot.log_seq, |(n, _)| *n), last);
        let again = open(&path, 8 * 1024);
        assert_eq!(content(&again), before);
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_the_log_goes_on_after_it() {
        let path = scratch();
        let store = open(&path, 1 << 20);
        store.put(&ns("", "things"), rec("a", 1)).unwrap();
        drop(store);
        let log_path = persist::beside(&path, ".log");
        let mut f = OpenOptions::new().append(true).open(&log_path).unwrap();
        f.write_all(b"0badc0de {\"n\":2,\"c\":{\"put\":").unwrap();
        drop(f);
        let store = open(&path, 1 << 20);
        assert!(store.get(&ns("", "things"), "a").unwrap().is_some());
        store.put(&ns("", "things"), rec("b", 2)).unwrap();
        drop(store);
        let again = open(&path, 1 << 20);
        assert!(again.get(&ns("", "things"), "b").unwrap().is_some());
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn a_damaged_line_refuses_the_start_and_leaves_the_file_as_it_was() {
        let path = scratch();
        let store = open(&path, 1 << 20);
        for i in 0..3 {
            store.put(&ns("", "things"), rec(&format!("r{i}"), i)).unwrap();
        }
        drop(store);
        let log_path = persist::beside(&path, ".log");
        let mut bytes = std::fs::read(&log_path).unwrap();
        let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 20;
        bytes[second] ^= 0x01;
        std::fs::write(&log_path, &bytes).unwrap();
        let e = Logged::open(&path, MemoryStore::new(HashMap::new(), HashMap::new()), 1 << 20).err().unwrap();
        assert!(e.contains("state.json.log is damaged at line 2"), "{e}");
        assert_eq!(std::fs::read(&log_path).unwrap(), bytes);
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }
}
