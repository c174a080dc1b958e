//! The one mutable part of a running server: which compiled plan is served (with the rate-limit
//! buckets indexed by it, swapped in together by a hot reload, see `reload`), the store, the
//! request journal, the live side of traffic control (the arrival counter), the seed of generated
//! answers, the counts of what the connection limits did and, in record mode, the recording.
//! Everything compiled lives in [`crate::plan::Api`]; a request takes one snapshot of the plan
//! ([`Runtime::plan`]), reads that and changes only this.

pub mod reload;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::journal::Journal;
use crate::plan::Api;
use crate::record::Recorder;
use crate::spec::Problem;
use crate::store::{Health, Limits, Logged, MemoryStore, Pool, Probe, RedisOptions, RedisStore, Store, StoreError};
use crate::traffic;

/// One compiled plan and the live state indexed by it (the rate-limit buckets, by the plan's
/// limit indices): swapped in as one, so a request never mixes two plans.
pub struct Generation {
    pub api: Api,
    pub buckets: traffic::Buckets,
    /// 1 for the plan compiled at start, one more for each reload.
    pub number: u64,
}

pub struct Runtime {
    /// The plan served now; a reload stores a new one, requests in flight keep theirs.
    current: ArcSwap<Generation>,
    /// What the last reload saw and did, held while a reload runs (one at a time).
    reload: Mutex<reload::State>,
    /// None with `--stateless`.
    pub store: Option<Arc<dyn Store>>,
    /// With `--state-file`: the same store, whose changes an answer waits on (see `settle`).
    log: Option<Arc<Logged>>,
    /// Shared with the tasks that send callbacks and webhooks, which journal their calls.
    pub journal: Arc<Journal>,
    pub traffic: traffic::Live,
    /// With `--self-check`: answers checked against their declared responses, and what broke.
    pub self_check: SelfCheckTally,
    /// With `--record`: where the proxy's exchanges are kept.
    pub recorder: Option<Recorder>,
    /// What the connection limits did; the server counts, the health answer shows.
    pub connections: Arc<ConnectionTally>,
    seed: AtomicU64,
    /// Where the sequence of seeds starts (from `--seed`), and restarts on a reset.
    first_seed: u64,
    /// With `--store redis://`: the connections behind the store and the shared rate limits,
    /// and the probe that keeps their health current.
    remote: Option<(Arc<Pool>, Probe)>,
}

/// Counts of `--self-check` since the server started; resets leave them, as they are about the
/// server's answers, not the store.
#[derive(Debug, Default)]
pub struct SelfCheckTally {
    answers: AtomicU64,
    violations: AtomicU64,
}

impl SelfCheckTally {
    /// One answer checked, with `violations` findings.
    pub fn count(&self, violations: usize) {
        self.answers.fetch_add(1, Ordering::Relaxed);
        self.violations.fetch_add(violations as u64, Ordering::Relaxed);
    }

    /// (answers, violations).
    pub fn get(&self) -> (u64, u64) {
        (self.answers.load(Ordering::Relaxed), self.violations.load(Ordering::Relaxed))
    }
}

/// Connections open and what the connection limits did since the server started, counted by
/// the server (the layer that owns sockets) and shown by `GET /__specstub/health`.
#[derive(Debug, Default)]
pub struct ConnectionTally {
    pub open: AtomicU64,
    /// `--max-connections`, as resolved.
    pub max: AtomicU64,
    pub header_timeouts: AtomicU64,
    pub idle_timeouts: AtomicU64,
    pub body_timeouts: AtomicU64,
    /// Closed to make room at the cap.
    pub shed: AtomicU64,
    /// Answered 503 (or closed) at the cap because every connection was busy.
    pub refused: AtomicU64,
    pub accept_errors: AtomicU64,
}

impl ConnectionTally {
    /// The counts, as the health answer shows them.
    pub fn to_json(&self) -> serde_json::Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "open": n(&self.open),
            "max": n(&self.max),
            "closed": {
                "headerTimeout": n(&self.header_timeouts),
                "idleTimeout": n(&self.idle_timeouts),
                "bodyTimeout": n(&self.body_timeouts),
                "shed": n(&self.shed),
            },
            "refused": n(&self.refused),
            "acceptErrors": n(&self.accept_errors),
        })
    }
}

/// Why the runtime could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Fixture files or the state file that cannot be read.
    #[error("{}", list(.0))]
    Files(Vec<Problem>),
    /// The shared store is malformed or cannot be reached.
    #[error("{0}")]
    Store(String),
    /// The recording directory cannot be used (`--record`).
    #[error("{0}")]
    Record(std::io::Error),
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

impl Runtime {
    /// Opens the store (memory, or Redis with `--store`), seeded with the fixtures and restored
    /// from the state file, to serve `api`.
    pub fn open(api: Api) -> Result<Self, SetupError> {
        let config = &api.config;
        let pool = match &config.store {
            Some(url) if url != "memory" => Some(Arc::new(connect(url, config.state_file.as_deref(), config.store_timeout)?)),
            _ => None,
        };
        let mut log = None;
        let mut seeded: std::collections::HashMap<String, Vec<crate::store::Record>> = Default::default();
        let store: Option<Arc<dyn Store>> = if config.stateless {
            None
        } else {
            let fixtures = match &config.fixtures {
                Some(dir) => crate::fixtures::load(dir, &api.keys).map_err(SetupError::Files)?,
                None => Default::default(),
            };
            seeded.clone_from(&fixtures);
            let unique = api.unique.clone();
            Some(match &pool {
                Some(pool) => {
                    let options = RedisOptions { prefix: config.store_prefix.clone(), ttl: config.store_ttl };
                    Arc::new(RedisStore::new(Arc::clone(pool), &options, fixtures, unique))
                }
                None => {
                    let limits = Limits {
                        max_records: config.store_max_records,
                        max_bytes: config.store_max_bytes,
                        eviction: config.store_evict,
                        session_ttl: config.session_ttl,
                    };
                    let memory = MemoryStore::new(fixtures, unique).with_limits(limits);
                    match &config.state_file {
                        Some(path) => {
                            let logged = Logged::open(path, memory, config.state_compact_at)
                                .map_err(|e| SetupError::Files(vec![Problem::error(path, "", e)]))?;
                            let logged = Arc::new(logged);
                            log = Some(Arc::clone(&logged));
                            logged
                        }
                        None => Arc::new(memory),
                    }
                }
            })
        };
        let recorder = match &config.record {
            Some(_) if config.proxy.is_none() => {
                let why = "record mode keeps what an upstream answers: it needs a proxy (--proxy URL)";
                return Err(SetupError::Record(std::io::Error::new(std::io::ErrorKind::InvalidInput, why)));
            }
            Some(dir) => {
                let documents: Vec<_> = api.specs.iter().map(|s| s.file.clone()).collect();
                Some(Recorder::open(dir, &documents).map_err(SetupError::Record)?)
            }
            None => None,
        };
        let mut live = traffic::Live::new();
        // Rate-limit buckets go to Redis too, so a limit holds across instances.
        if let Some(pool) = &pool {
            live.share_limits(Arc::clone(pool), &config.store_prefix);
        }
        let reload = reload::State::new(&api, seeded);
        let journal = Arc::new(Journal::new(config.journal_entries, config.journal_bytes));
        let first_seed = first_seed(config.seed);
        let buckets = live.buckets(&api.traffic);
        Ok(Self {
            current: ArcSwap::from_pointee(Generation { api, buckets, number: 1 }),
            reload: Mutex::new(reload),
            store,
            log,
            journal,
            traffic: live,
            self_check: SelfCheckTally::default(),
            recorder,
            seed: AtomicU64::new(first_seed),
            first_seed,
            connections: Arc::default(),
            remote: pool.map(|pool| (Arc::clone(&pool), Probe::spawn(pool))),
        })
    }

    /// The plan served now. A request takes it once and reads only it, so a reload meanwhile
    /// changes nothing under it.
    pub fn plan(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// Empty rate-limit buckets and the random sequence of traffic decisions from its start.
    pub fn reset_traffic(&self) {
        self.traffic.reset(&self.current.load().buckets);
    }

    /// Runs `f`, which may wait on a remote store, so that the wait holds up no other request:
    /// on a multi-thread tokio runtime the worker hands its other tasks to another thread for
    /// the duration (`block_in_place`). The store's calls are synchronous and borrow the
    /// request, and every wait is bounded by the pool's timeout, so this is all it takes. On a
    /// current-thread runtime (an embedder's, a test's) there is no other thread to hand work
    /// to, and `f` runs in place; with the memory store it always does, as it never waits.
    pub fn offload<T>(&self, f: impl FnOnce() -> T) -> T {
        let multi_thread =
            tokio::runtime::Handle::try_current().is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if self.remote.is_some() && multi_thread { tokio::task::block_in_place(f) } else { f() }
    }

    /// The store's kind and whether it answers, as last seen; never waits for the store. None
    /// without a store (`--stateless` with no `--store`).
    pub fn store_health(&self) -> Option<Health> {
        match (&self.remote, &self.store) {
            (Some((pool, _)), _) => Some(pool.health()),
            (None, Some(_)) => Some(Health::memory()),
            (None, None) => None,
        }
    }

    /// Back to the start: the store's fixtures (all sessions), empty rate-limit buckets, the
    /// seeded sequence of random decisions from its beginning. The journal is kept: a test reads
    /// it after resetting for the next one.
    pub fn reset(&self) -> Result<(), StoreError> {
        self.reset_scope(None, None)
    }

    /// Back to the fixtures for one session and/or one collection (with its marks of deleted
    /// ids, or an id deleted before the reset would stay unknown); the rate-limit buckets and
    /// the random sequence restart only when nothing narrows the reset.
    pub fn reset_scope(&self, session: Option<&str>, resource: Option<&str>) -> Result<(), StoreError> {
        if let Some(store) = &self.store {
            store.reset(session, resource)?;
            if let Some(resource) = resource {
                store.reset(session, Some(&crate::behaviour::tombstones_of(resource)))?;
            }
        }
        if session.is_none() && resource.is_none() {
            self.reset_traffic();
            self.seed.store(self.first_seed, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Waits until change `written` (the last a request made, from `store::track`) is on disk
    /// with `--state-file`; at once otherwise. An answer goes out only after this.
    pub async fn settle(&self, written: u64) -> Result<(), StoreError> {
        match &self.log {
            Some(log) if written > 0 => log.durable(written).await,
            _ => Ok(()),
        }
    }

    /// With `--state-file`: stops taking changes and folds the log into the snapshot. Blocking;
    /// for a server that has stopped serving.
    pub fn close(&self) {
        if let Some(log) = &self.log {
            log.close();
        }
    }

    /// A seed for one generated answer: distinct for each, without a global RNG lock.
    pub fn next_seed(&self) -> u64 {
        self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
    }
}

/// The first seed of generated answers: `--seed` spread over all bits (seeds 1 and 2 would
/// otherwise start neighbouring sequences), 0 without one.
fn first_seed(seed: Option<u64>) -> u64 {
    seed.map_or(0, |s| s.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9))
}

fn connect(url: &str, state_file: Option<&Path>, timeout: std::time::Duration) -> Result<Pool, SetupError> {
    if state_file.is_some() {
        return Err(SetupError::Store("--state-file and --store redis:// exclude each other: Redis keeps the state".into()));
    }
    let url = crate::store::redis::check_url(url).map_err(SetupError::Store)?;
    Pool::connect(&url, timeout).map_err(SetupError::Store)
}
