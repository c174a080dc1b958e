//! The library entry point: start a server from Rust, as the CLI does, talk to it over HTTP,
//! read what it received and check expectations without HTTP, read what it serves and how
//! ([`Server::overview`], the CLI's start-up banner), and stop it by dropping the handle. The CLI
//! is a thin shell over [`ServerBuilder`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::generate::DataMode;
use crate::journal::{Checked as Verified, Entry as Request, Expectation};
use crate::runtime::{Runtime, SetupError};
use crate::server::{self, Running, Served};
use crate::spec::Problem;
use crate::store::StoreError;
use crate::traffic::{Latency, RateLimitRule};
use crate::validate::Mode;

/// Why a server did not start. Its `Debug` form is its message, so that `.expect()` and a
/// `main` returning `Result` print what is wrong rather than a struct dump.
pub enum StartError {
    /// The documents cannot be served; every problem found, with file and pointer.
    Specs(Vec<Problem>),
    /// The address could not be bound, or the socket failed.
    Io(std::io::Error),
    /// The shared store (`--store`) is malformed or cannot be reached.
    Store(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Specs(problems) => {
                for p in problems.iter().filter(|p| p.is_error()) {
                    writeln!(f, "{p}")?;
                }
                write!(f, "not serving: fix the problems above (`specstub lint` lists them too)")
            }
            StartError::Io(e) => write!(f, "{e}"),
            StartError::Store(why) => write!(f, "{why}"),
        }
    }
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for StartError {}

impl From<SetupError> for StartError {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::Files(problems) => StartError::Specs(problems),
            SetupError::Store(why) => StartError::Store(why),
            SetupError::Record(e) => StartError::Io(e),
        }
    }
}

/// A running mock server. Dropping it stops the server; [`shutdown`](Self::shutdown) stops it
/// and waits for in-flight requests.
pub struct Server {
    handle: Running,
    served: Arc<Served>,
    /// With `watch`: the thread that reloads on changes, stopped with the server.
    _watching: Option<crate::watch::Watching>,
    /// A directory holding documents given as text, removed with the server.
    _scratch: Option<Scratch>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("addr", &self.handle.addr()).finish_non_exhaustive()
    }
}

impl Server {
    /// A builder serving `spec` (an OpenAPI document or a directory of them) on 127.0.0.1 at a
    /// free port. Add more with [`ServerBuilder::spec`].
    pub fn builder(spec: impl Into<PathBuf>) -> ServerBuilder {
        ServerBuilder { config: Config { specs: vec![spec.into()], port: 0, ..Config::default() }, texts: Vec::new() }
    }

    /// A builder serving a document given as YAML or JSON text (e.g. `include_str!`). Local
    /// `$ref`s inside it work; relative file references have no directory to resolve against.
    pub fn builder_str(document: impl Into<String>) -> ServerBuilder {
        ServerBuilder { config: Config { specs: Vec::new(), port: 0, ..Config::default() }, texts: vec![document.into()] }
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.addr()
    }

    /// `http://HOST:PORT`, for clients.
    pub fn url(&self) -> String {
        self.handle.url()
    }

    /// What the server serves and how: each document with its title, version, operation count
    /// and base URL, the admin URL, and the features in force. The CLI prints it as its start-up
    /// banner.
    pub fn overview(&self) -> Overview {
        let plan = self.served.runtime.plan();
        let api = &plan.api;
        let config = &api.config;
        let url = self.url();
        let documents = api
            .specs
            .iter()
            .enumerate()
            .map(|(i, spec)| ServedDocument {
                file: spec.file.clone(),
                title: spec.title.clone(),
                version: spec.version.clone(),
                operations: api.operations.iter().filter(|p| p.op.spec == i).count(),
                base_url: format!("{url}{}", spec.base_path),
            })
            .collect();
        let routes = || api.operations.iter().filter_map(|p| p.traffic.as_ref());
        let store = match (&config.store, config.stateless) {
            (_, true) => StoreKind::Stateless,
            (Some(url), false) => StoreKind::Redis { url: without_credentials(url), prefix: config.store_prefix.clone() },
            (None, false) => StoreKind::Memory,
        };
        let features = Features {
            store,
            state_file: config.state_file.clone(),
            rate_limited: routes().filter(|r| r.limited()).count(),
            delayed: routes().filter(|r| r.delayed()).count(),
            latency: config.latency,
            faulty: routes().filter(|r| r.faulty()).count(),
            chaos: config.chaos,
            seed: config.seed,
            traffic_seed: api.traffic.seed(),
            proxy: config.proxy.clone(),
            proxy_strict: config.proxy_strict,
            self_check: config.self_check,
            validation: config.validation,
            dynamic: config.dynamic,
            data: config.data,
            watch: config.watch,
        };
        Overview { admin_url: format!("{url}{}/", config.admin_prefix.trim_end_matches('/')), url, documents, features }
    }

    /// Every request received (oldest first; the journal keeps the last 1000 within 32 MiB by
    /// default), as the admin API's journal shows them, secrets redacted.
    pub fn received(&self) -> Vec<Request> {
        self.served.runtime.journal.snapshot(|_| true)
    }

    /// Checks an expectation against the requests received, like the admin API's `verify`.
    pub fn verify(&self, expectation: &Expectation) -> Verified {
        expectation.check(&self.served.runtime.journal)
    }

    /// Panics, listing what arrived, unless `expectation` holds: for tests.
    #[track_caller]
    pub fn assert(&self, expectation: &Expectation) {
        let outcome = self.verify(expectation);
        if !outcome.ok {
            let recent: Vec<String> =
                outcome.recent.iter().map(|e| format!("  {} {} -> {} ({:?})", e.method, e.path, e.status, e.operation)).collect();
            panic!("expected {expectation}, matched {}; received (newest first):\n{}", outcome.matched, recent.join("\n"));
        }
    }

    /// Back to the start: the store's fixtures in every session, empty rate-limit buckets, the
    /// seeded random sequence from its beginning. The journal is kept.
    pub fn reset(&self) -> Result<(), StoreError> {
        self.served.runtime.reset()
    }

    /// Forgets the requests received.
    pub fn clear_received(&self) {
        self.served.runtime.journal.clear(None);
    }

    /// Writes a record into a collection of the shared session (replacing one with its id), as
    /// the admin API's `PUT /resources/{name}/{id}` does. The record's key field gives its id.
    pub fn seed(&self, resource: &str, record: serde_json::Value) -> Result<(), StoreError> {
        let Some(store) = &self.served.runtime.store else {
            return Err(StoreError::Unavailable("the server runs stateless: there is no store".into()));
        };
        let plan = self.served.runtime.plan();
        let key = plan.api.keys.get(resource).map(String::as_str).unwrap_or("id");
        let id = match record.get(key) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => return Err(StoreError::Unavailable(format!("the record has no {key:?} field to take its id from"))),
        };
        let ns = crate::store::Ns { session: String::new(), resource: resource.to_string() };
        store.put(&ns, crate::store::Record { id, version: 0, seq: 0, scope: Vec::new(), data: record }).map(|_| ())
    }

    /// Compiles the documents again if a file they are read from (or a fixture file) changed,
    /// as `POST /__specstub/reload` does: the new plan serves the next requests; with errors the
    /// old one serves on and the outcome lists them. Blocking (it reads and compiles files).
    pub fn reload(&self) -> crate::runtime::reload::Outcome {
        self.served.runtime.reload(crate::runtime::reload::Trigger::Admin)
    }

    /// Stops accepting, lets in-flight requests finish (bounded), then returns; in record mode,
    /// once the recording holds every exchange answered. With a state file, its log is folded
    /// into the snapshot and its lock released before this returns, so a new server can open it.
    pub async fn shutdown(self) {
        self.handle.shutdown().await;
        if let Some(recorder) = &self.served.runtime.recorder {
            recorder.flush().await;
        }
        let served = self.served;
        let _ = tokio::task::spawn_blocking(move || served.runtime.close()).await;
    }

    /// Runs until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// Says at start how the admin API can be reached, and why not when it is off.
fn log_admin_access(config: &Config) {
    let prefix = &config.admin_prefix;
    match crate::admin::Access::of(config) {
        crate::admin::Access::Token => tracing::info!("the admin API ({prefix}) needs the admin token"),
        crate::admin::Access::Loopback => {
            tracing::info!("the admin API ({prefix}) is open to this machine only (loopback, no admin token)")
        }
        crate::admin::Access::Off => tracing::warn!(
            "the admin API ({prefix}) is off but for {prefix}/health: {} is not a loopback address and no --admin-token is set",
            config.host
        ),
    }
}

/// What a running server serves and how ([`Server::overview`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Overview {
    /// `http://HOST:PORT`.
    pub url: String,
    /// The admin API, with its trailing slash: `http://HOST:PORT/__specstub/`.
    pub admin_url: String,
    pub documents: Vec<ServedDocument>,
    pub features: Features,
}

/// One document being served.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServedDocument {
    /// The file (or URL) it was read from.
    pub file: PathBuf,
    /// `info.title` and `info.version`, as written.
    pub title: String,
    pub version: String,
    pub operations: usize,
    /// Where its operations are served: the server URL, the mount and the document's server path.
    pub base_url: String,
}

/// Where records are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// In this process.
    Memory,
    /// On Redis, shared by every instance with the same URL (shown without credentials) and prefix.
    Redis { url: String, prefix: String },
    /// Nowhere: answers come from the documents alone.
    Stateless,
}

/// The settings in force that change how answers are made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Features {
    pub store: StoreKind,
    /// Where the memory store is saved across restarts.
    pub state_file: Option<PathBuf>,
    /// Operations a rate limit applies to (from the command line or the documents).
    pub rate_limited: usize,
    /// Operations whose answers are delayed, and the delay given on the command line.
    pub delayed: usize,
    pub latency: Option<Latency>,
    /// Operations where faults may be injected (declared ones or chaos), and the chaos rate.
    pub faulty: usize,
    pub chaos: f64,
    /// `--seed` as given, and the seed random faults and latency use (chosen when none was given).
    pub seed: Option<u64>,
    pub traffic_seed: u64,
    /// The upstream of the validating proxy, and whether it is strict.
    pub proxy: Option<String>,
    pub proxy_strict: bool,
    pub self_check: bool,
    pub validation: Mode,
    /// Generated answers rather than examples by default (`--dynamic`).
    pub dynamic: bool,
    pub data: DataMode,
    /// Hot reload: the documents and fixtures are watched and a change is served at once.
    pub watch: bool,
}

/// A store URL fit to print: no user name or password.
fn without_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// A temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Settings for a server started from Rust; the same settings as the CLI's flags.
#[must_use]
pub struct ServerBuilder {
    config: Config,
    /// Documents given as text.
    texts: Vec<String>,
}

impl ServerBuilder {
    /// Starts from a complete configuration (what the CLI does).
    pub fn from_config(config: Config) -> Self {
        Self { config, texts: Vec::new() }
    }

    /// Adds a document given as YAML or JSON text.
    pub fn spec_str(mut self, document: impl Into<String>) -> Self {
        self.texts.push(document.into());
        self
    }

    /// Adds an OpenAPI document or a directory of them.
    pub fn spec(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.specs.push(path.into());
        self
    }

    /// Serves the document at `spec` under an extra path prefix.
    pub fn mount(mut self, spec: impl Into<PathBuf>, prefix: impl Into<String>) -> Self {
        self.config.load.mounts.push((spec.into(), prefix.into().trim_end_matches('/').to_string()));
        self
    }

    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.config.host = host.into();
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    pub fn validation(mut self, mode: Mode) -> Self {
        self.config.validation = mode;
        self
    }

    /// Accept only this credential (repeatable); others get 403.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.config.tokens.push(token.into());
        self
    }

    pub fn cors(mut self, on: bool) -> Self {
        self.config.cors = on;
        self
    }

    pub fn max_body(mut self, bytes: usize) -> Self {
        self.config.max_body = bytes;
        self
    }

    /// How long a client gets to send a request's headers (default 10 s), counted from the
    /// connection's start for its first request: a silent connection is closed after it.
    pub fn header_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.header_timeout = timeout;
        self
    }

    pub fn ignore_server_path(mut self, on: bool) -> Self {
        self.config.load.ignore_server_path = on;
        self
    }

    /// Answer from the spec only: no store and no inferred CRUD.
    pub fn stateless(mut self, on: bool) -> Self {
        self.config.stateless = on;
        self
    }

    /// Answer with data generated from the schemas, a new value each request, rather than the
    /// examples (what `serve --dynamic` does); `Prefer: dynamic=false` still asks for the example.
    pub fn dynamic(mut self, on: bool) -> Self {
        self.config.dynamic = on;
        self
    }

    /// Check every answer against the declared responses (what `serve --self-check` does): a
    /// violation is logged, counted in `GET /__specstub/health`, listed in the
    /// `specstub-violations` header and recorded in the journal.
    pub fn self_check(mut self, on: bool) -> Self {
        self.config.self_check = on;
        self
    }

    /// Seed records for the store (a directory of YAML/JSON files).
    pub fn fixtures(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.fixtures = Some(dir.into());
        self
    }

    /// Keep the store in this file across restarts: every change is on disk (appended to
    /// `PATH.log` and fsynced) before its answer is sent. The files are locked while the server
    /// runs: [`Server::shutdown`] it before starting another one on them.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.state_file = Some(path.into());
        self
    }

    /// With a state file: fold its log into a new snapshot once the log is larger than this many
    /// bytes and than the snapshot (default 64 MiB).
    pub fn state_compact_at(mut self, bytes: u64) -> Self {
        self.config.state_compact_at = bytes;
        self
    }

    /// Apply an OpenAPI Overlay document to the specs.
    pub fn overlay(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.load.overlays.push(path.into());
        self
    }

    /// Rate-limit clients, on every route or on the routes the rule names; replaces the spec's
    /// limits where it applies. Repeatable. Example: `"PUT /demand/**=5/s".parse()?`
    pub fn rate_limit(mut self, rule: RateLimitRule) -> Self {
        self.config.rate_limits.push(rule);
        self
    }

    /// Delay every answer, fixed or within a range. Example: `"20ms..200ms".parse()?`
    pub fn latency(mut self, latency: Latency) -> Self {
        self.config.latency = Some(latency);
        self
    }

    /// Inject a random fault (a declared 429/5xx status or a broken connection) into this share
    /// of requests, from 0 to 1.
    pub fn chaos(mut self, rate: f64) -> Self {
        self.config.chaos = rate;
        self
    }

    /// Seed of random faults and latency and of generated data: the same requests get the same
    /// faults and the same generated answers in every run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Validating proxy: forward every request to this upstream base URL (`http://` or
    /// `https://`) and check requests and answers against the specs instead of answering from
    /// them. Example: `.proxy("https://staging.example.com")`
    pub fn proxy(mut self, upstream: impl Into<String>) -> Self {
        self.config.proxy = Some(upstream.into());
        self
    }

    /// With [`proxy`](Self::proxy): refuse invalid requests, answer 502 for upstream answers that
    /// break the spec, 404 for paths the spec does not describe.
    pub fn proxy_strict(mut self, on: bool) -> Self {
        self.config.proxy_strict = on;
        self
    }

    /// Keep shared state (records, sessions, rate-limit buckets) on Redis, shared with every
    /// instance using the same URL and prefix. Example: `.store("redis://127.0.0.1:6379/0")`
    pub fn store(mut self, url: impl Into<String>) -> Self {
        self.config.store = Some(url.into());
        self
    }

    /// First segment of every Redis key (default `specstub`).
    pub fn store_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.store_prefix = prefix.into();
        self
    }

    /// Redis keys expire this long after their last write.
    pub fn store_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.config.store_ttl = Some(ttl);
        self
    }

    /// With [`proxy`](Self::proxy): record what the upstream answers into `dir`, for a later
    /// server without the proxy to answer from (what `serve --record DIR` does): answers that
    /// keep to the spec as named examples in `dir/recorded.overlay.yaml` (one overlay per
    /// document when several are served), the records of stateful operations in
    /// `dir/fixtures/recorded.yaml`, exchanges that break the spec in `dir/report.json`.
    /// Replay with [`overlay`](Self::overlay) and [`fixtures`](Self::fixtures).
    pub fn record(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.record = Some(dir.into());
        self
    }

    /// Require this token on every admin route but health (`X-Specstub-Admin-Token: T` or
    /// `Authorization: Bearer T`). Without one the admin API answers only on a loopback host.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.config.admin_token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }

    /// A Host name (`name` or `name:port`) the admin API answers to besides IP addresses,
    /// `localhost` and the bound host. Repeatable.
    pub fn admin_host(mut self, name: impl Into<String>) -> Self {
        self.config.admin_hosts.push(name.into());
        self
    }

    /// Most requests the journal keeps (default 1000).
    pub fn journal_entries(mut self, n: usize) -> Self {
        self.config.journal_entries = n;
        self
    }

    /// Most bytes the journal's entries take in all (default 32 MiB); one entry takes at most
    /// a 16th, its body cut to `{"truncated": true, "bytes": N, "head": "..."}` beyond that.
    pub fn journal_bytes(mut self, bytes: usize) -> Self {
        self.config.journal_bytes = bytes;
        self
    }

    /// Also redact this name (query parameter, form or JSON field) in the journal and the log.
    pub fn redact(mut self, name: impl Into<String>) -> Self {
        self.config.redact.push(name.into());
        self
    }

    /// Redact the built-in secret names (`password`, `token`, `access_token`...); on by default.
    pub fn redact_names(mut self, on: bool) -> Self {
        self.config.redact_names = on;
        self
    }

    /// What data generated from schemas looks like (what `serve --data` does):
    /// [`DataMode::Realistic`] gives values plausible for each property's name and format, within
    /// the schema's constraints, the same for the same [`seed`](Self::seed); examples are still
    /// served as written.
    pub fn data(mut self, mode: DataMode) -> Self {
        self.config.data = mode;
        self
    }

    /// Close a keep-alive connection after this long with no request in flight (default 60 s).
    pub fn idle_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// How long a request's body may take once its headers are in (default 30 s); a short or
    /// slow body gets 408 and the connection closes.
    pub fn body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.body_timeout = timeout;
        self
    }

    /// Most connections open at once (default: three quarters of the open-file limit, at most
    /// 10,000; half that with a proxy). At the cap the connection that waited longest without a request is closed to
    /// make room; when all are busy, new ones are answered 503 with `Retry-After`.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.max_connections = Some(max.max(1));
        self
    }

    /// HTTP/2 keep-alive: ping every `interval`, drop a peer that does not answer within
    /// `timeout` (default 20 s and 20 s).
    pub fn http2_keepalive(mut self, interval: std::time::Duration, timeout: std::time::Duration) -> Self {
        self.config.http2_keepalive_interval = interval;
        self.config.http2_keepalive_timeout = timeout;
        self
    }

    /// HTTP/2: requests a client may have in flight at once on one connection (default 128).
    pub fn http2_max_streams(mut self, max: u32) -> Self {
        self.config.http2_max_streams = max.max(1);
        self
    }

    /// Send the documents' callbacks and webhooks on their own (on by default); off, they are
    /// sent only when fired through the admin API.
    pub fn callbacks(mut self, on: bool) -> Self {
        self.config.callbacks = on;
        self
    }

    /// Wait before a callback's or webhook's first attempt, unless its `x-specstub.delay` says.
    pub fn callback_delay(mut self, delay: std::time::Duration) -> Self {
        self.config.callback_delay = delay;
        self
    }

    /// Attempts after the first on connection errors, timeouts and 5xx (at most 10).
    pub fn callback_retries(mut self, retries: u32) -> Self {
        self.config.callback_retries = retries.min(crate::plan::hooks::MAX_RETRIES);
        self
    }

    /// Where the document's webhook `name` is sent (replaces its `x-specstub.url`).
    pub fn webhook(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.config.webhooks.push((name.into(), url.into()));
        self
    }

    /// Records the in-memory store holds at most, every session together (default 1,000,000;
    /// 0 is no cap). Beyond it a create answers the operation's declared 507 (or another status
    /// it declares for a full store), else `507 Insufficient Storage`, unless
    /// [`store_evict`](Self::store_evict) makes room.
    pub fn store_max_records(mut self, records: usize) -> Self {
        self.config.store_max_records = records;
        self
    }

    /// Bytes the in-memory store's records may take (default 1 GiB; 0 is no cap).
    pub fn store_max_bytes(mut self, bytes: usize) -> Self {
        self.config.store_max_bytes = bytes;
        self
    }

    /// What a full in-memory store does: refuse the create (the default) or evict the sessions
    /// touched longest ago ([`Eviction::OldestSession`](crate::Eviction::OldestSession); never the shared namespace).
    pub fn store_evict(mut self, policy: crate::store::Eviction) -> Self {
        self.config.store_evict = policy;
        self
    }

    /// Drop an `X-Specstub-Session` namespace after this long without a request touching it
    /// (default 1 hour); None keeps sessions for ever. The shared namespace never expires.
    pub fn session_ttl(mut self, ttl: Option<std::time::Duration>) -> Self {
        self.config.session_ttl = ttl;
        self
    }

    /// Longest wait on Redis for a connection, an answer or a free pooled connection (default
    /// 1 s); past it a request that needs the store gets 503, and the others never wait for it.
    pub fn store_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.store_timeout = timeout;
        self
    }

    /// Loads the specs, binds and starts serving in the background of the current tokio runtime.
    pub async fn start(mut self) -> Result<Server, StartError> {
        if let Some(upstream) = &self.config.proxy {
            let checked = crate::verify::parse_target(upstream)
                .map_err(|e| StartError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
            self.config.proxy = Some(checked);
        }
        let scratch = if self.texts.is_empty() {
            None
        } else {
            let dir = std::env::temp_dir().join(format!("specstub-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).map_err(StartError::Io)?;
            let scratch = Scratch(dir);
            for (i, text) in self.texts.iter().enumerate() {
                let file = scratch.0.join(format!("document-{i}.yaml"));
                std::fs::write(&file, text).map_err(StartError::Io)?;
                self.config.specs.push(file);
            }
            Some(scratch)
        };
        if self.config.specs.is_empty() {
            return Err(StartError::Specs(vec![Problem::error("", "", "no OpenAPI document to serve: give one to Server::builder")]));
        }
        // Loading blocks (files, fetched documents): off the caller's runtime threads, so that a
        // document served by that same runtime can still answer.
        let config = self.config;
        let built = tokio::task::spawn_blocking(move || crate::plan::build(config))
            .await
            .map_err(|e| StartError::Io(std::io::Error::other(format!("loading the documents failed: {e}"))))?;
        let (api, warnings) = built.map_err(StartError::Specs)?;
        for p in &warnings {
            tracing::warn!("{p}");
        }
        let runtime = Runtime::open(api)?;
        let served = Arc::new(Served { runtime });
        let plan = served.runtime.plan();
        let config = &plan.api.config;
        let listener = server::bind(&config.host, config.port).await.map_err(StartError::Io)?;
        let mut handle = server::spawn(listener, Arc::clone(&served)).map_err(StartError::Io)?;
        check_schemas_in_background(&served);
        log_admin_access(config);
        let watching = if config.watch { watch(&served) } else { None };
        if let (Some(store), Some(ttl)) = (served.runtime.store.clone(), config.session_ttl) {
            // A quarter of the TTL: a session goes at most 25 % after its time.
            let every = (ttl / 4).clamp(std::time::Duration::from_millis(10), std::time::Duration::from_secs(60));
            handle.attach(crate::store::spawn_sweeper(store, every, handle.stopped()));
        }
        drop(plan);
        Ok(Server { handle, served, _watching: watching, _scratch: scratch })
    }

    /// Hot reload: watch the documents (and their local `$ref` files), the overlays and the
    /// fixtures, and serve a new plan when they change (what `serve` does unless `--no-watch`;
    /// off by default here). Documents given by URL are not fetched again. A reload can also be
    /// asked for with [`Server::reload`] or `POST /__specstub/reload`, watching or not.
    pub fn watch(mut self, on: bool) -> Self {
        self.config.watch = on;
        self
    }
}

/// Starts the watcher of a server's files; a server that cannot watch serves on without it.
fn watch(served: &Arc<Served>) -> Option<crate::watch::Watching> {
    let weak = Arc::downgrade(served);
    let paths = crate::runtime::reload::watched(&served.runtime.plan().api);
    let watching = crate::watch::spawn(paths, move |_| {
        // The server is gone: stop watching.
        let served = weak.upgrade()?;
        served.runtime.reload(crate::runtime::reload::Trigger::Watch);
        Some(crate::runtime::reload::watched(&served.runtime.plan().api))
    });
    match watching {
        Ok(w) => {
            tracing::info!("watching the documents and fixtures: a change is served at once (--no-watch to turn off)");
            Some(w)
        }
        Err(e) => {
            tracing::warn!("not watching for changes ({e}); POST {}/reload reloads", served.runtime.plan().api.config.admin_prefix);
            None
        }
    }
}

/// Gives the calling thread the lowest scheduling priority (nice 19; on Linux the nice value is
/// per thread), so that the check competes with no request for the cores: on a small machine
/// it ran beside the first answers, which it delayed.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread, no memory passed.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

/// Compiles the validators requests are checked against once the server listens (loading leaves
/// them to first use so that a big document starts at once), so that a schema that does not
/// compile is logged at start rather than found by its first request, which answers that the
/// spec's schema is invalid. What it compiles is dropped, not kept for the requests: Microsoft
/// Graph's 3,519 request schemas hold 2.4 GB compiled, while a mock's clients use a few. Ends
/// early once the server is dropped.
fn check_schemas_in_background(served: &Arc<Served>) {
    let weak = Arc::downgrade(served);
    // The plan of the start; a reload compiles its own, checked as its requests arrive.
    let plan = served.runtime.plan();
    let count = plan.api.operations.len();
    let spawned = std::thread::Builder::new().name("specstub-schemas".into()).spawn(move || {
        lower_priority();
        let mut seen = std::collections::HashSet::new();
        for i in 0..count {
            if weak.strong_count() == 0 {
                return;
            }
            let op = &plan.api.operations[i].op;
            for p in crate::spec::check_request_schemas(&plan.api.specs, [op], &mut seen) {
                tracing::error!("{p}");
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot check the request schemas in the background ({e}): each compiles at its first request");
    }
}
