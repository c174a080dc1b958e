//! The library entry point: start a server from Rust, as the CLI does, talk to it over HTTP,
//! read what it received and check expectations without HTTP, and stop it by dropping the
//! handle. The CLI is a thin shell over [`ServerBuilder`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
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
        }
    }
}

/// A running mock server. Dropping it stops the server; [`shutdown`](Self::shutdown) stops it
/// and waits for in-flight requests.
pub struct Server {
    handle: Running,
    served: Arc<Served>,
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

    /// Every request received (oldest first; the journal keeps the last 1000), as the admin
    /// API's journal shows them.
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
        let key = self.served.api.keys.get(resource).map(String::as_str).unwrap_or("id");
        let id = match record.get(key) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => return Err(StoreError::Unavailable(format!("the record has no {key:?} field to take its id from"))),
        };
        let ns = crate::store::Ns { session: String::new(), resource: resource.to_string() };
        store.put(&ns, crate::store::Record { id, version: 0, seq: 0, scope: Vec::new(), data: record }).map(|_| ())
    }

    /// Stops accepting, lets in-flight requests finish (bounded), then returns.
    pub async fn shutdown(self) {
        self.handle.shutdown().await;
    }

    /// Runs until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        self.handle.run_until(signal).await;
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

    /// How long a client gets to send a request's headers (default 10 s).
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

    /// Keep the store in this file across restarts.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.state_file = Some(path.into());
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

    /// Seed of random faults and latency: the same requests get the same faults in every run.
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
        let runtime = Runtime::open(&api)?;
        let served = Arc::new(Served { api, runtime });
        let listener = server::bind(&served.api.config.host, served.api.config.port).await.map_err(StartError::Io)?;
        let mut handle = server::spawn(listener, Arc::clone(&served)).map_err(StartError::Io)?;
        if let (Some(store), Some(path)) = (served.runtime.store.clone(), served.api.config.state_file.clone()) {
            let saver = crate::store::persist::spawn_saver(store, path, handle.stopped());
            handle.attach(saver);
        }
        Ok(Server { handle, served, _scratch: scratch })
    }
}
