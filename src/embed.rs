//! The library entry point: start a server from Rust, as the CLI does, and stop it by dropping
//! the handle. The CLI is a thin shell over [`ServerBuilder`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::pipeline::App;
use crate::server::{self, Running};
use crate::spec::{self, Problem};
use crate::traffic::{Latency, RateLimitRule};
use crate::validate::Mode;

/// Why a server did not start.
#[derive(Debug)]
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

impl std::error::Error for StartError {}

/// Entry point of the library API.
pub struct Server;

impl Server {
    /// A builder with no specs, listening on 127.0.0.1 at a free port.
    pub fn builder() -> ServerBuilder {
        ServerBuilder { config: Config { specs: Vec::new(), port: 0, ..Config::default() } }
    }
}

/// Settings for a server started from Rust; the same settings as the CLI's flags.
#[must_use]
pub struct ServerBuilder {
    config: Config,
}

impl ServerBuilder {
    /// Starts from a complete configuration (what the CLI does).
    pub fn from_config(config: Config) -> Self {
        Self { config }
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

    pub fn ignore_server_path(mut self, on: bool) -> Self {
        self.config.load.ignore_server_path = on;
        self
    }

    /// Answer from the spec only: no store and no inferred CRUD.
    pub fn stateless(mut self, on: bool) -> Self {
        self.config.stateless = on;
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

    /// Loads the specs, binds and starts serving in the background of the current tokio runtime.
    pub async fn start(mut self) -> Result<Running, StartError> {
        if let Some(upstream) = &self.config.proxy {
            let checked = crate::verify::parse_target(upstream)
                .map_err(|e| StartError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
            self.config.proxy = Some(checked);
        }
        let app = Arc::new(build_app(self.config)?);
        let listener = server::bind(&app.config().host, app.config().port).await.map_err(StartError::Io)?;
        let mut running = server::spawn(listener, Arc::clone(&app)).map_err(StartError::Io)?;
        if let (Some(store), Some(path)) = (app.store.clone(), app.config().state_file.clone()) {
            let saver = crate::store::persist::spawn_saver(store, path, running.stopped());
            running.attach(saver);
        }
        Ok(running)
    }
}

/// Everything a server needs before it listens: specs, behaviour bindings, the store.
pub fn build_app(config: Config) -> Result<App, StartError> {
    let set = load(&config)?;
    if let Some(op) = set.operations.iter().find(|o| o.served_path.starts_with(&config.admin_prefix)) {
        let file = set.specs[op.spec].file.clone();
        let message = format!("{} is under the admin prefix {}: choose another with --admin-prefix", op.served_path, config.admin_prefix);
        return Err(StartError::Specs(vec![Problem::error(file, op.pointer.clone(), message)]));
    }
    let (bindings, binding_problems) = crate::behaviour::binding::bind_all(&set, !config.stateless);
    let mut problems = crate::traffic::problems(&set);
    problems.extend(binding_problems);
    if !problems.is_empty() {
        return Err(StartError::Specs(problems));
    }
    let pool = match &config.store {
        Some(url) if url != "memory" => Some(Arc::new(connect_store(url, &config)?)),
        _ => None,
    };
    let store: Option<Arc<dyn crate::store::Store>> = if config.stateless {
        None
    } else {
        let fixtures = match &config.fixtures {
            Some(dir) => crate::fixtures::load(dir, &bindings).map_err(StartError::Specs)?,
            None => Default::default(),
        };
        let unique = crate::behaviour::binding::unique_fields(&bindings);
        let store: Arc<dyn crate::store::Store> = match &pool {
            Some(pool) => {
                let options = crate::store::RedisOptions { prefix: config.store_prefix.clone(), ttl: config.store_ttl };
                Arc::new(crate::store::RedisStore::new(Arc::clone(pool), &options, fixtures, unique))
            }
            None => {
                let memory = crate::store::MemoryStore::new(fixtures, unique);
                if let Some(path) = &config.state_file {
                    let saved = crate::store::persist::load(path).map_err(|e| StartError::Specs(vec![Problem::error(path, "", e)]))?;
                    memory.restore(saved);
                }
                Arc::new(memory)
            }
        };
        Some(store)
    };
    let mut app = App::new(set, config, store, bindings);
    // Rate-limit buckets go to Redis too, so a limit holds across instances.
    if let Some(pool) = pool {
        let prefix = app.config().store_prefix.clone();
        app.traffic.share_limits(pool, &prefix);
    }
    Ok(app)
}

fn connect_store(url: &str, config: &Config) -> Result<crate::store::Pool, StartError> {
    if config.state_file.is_some() {
        return Err(StartError::Store("--state-file and --store redis:// exclude each other: Redis keeps the state".into()));
    }
    let url = crate::store::redis::check_url(url).map_err(StartError::Store)?;
    crate::store::Pool::connect(&url).map_err(StartError::Store)
}

/// Loads the configured documents; warnings are logged, errors refuse.
pub fn load(config: &Config) -> Result<spec::SpecSet, StartError> {
    let files = spec::expand_inputs(&config.specs).map_err(|p| StartError::Specs(vec![p]))?;
    let (set, problems) = spec::load(&files, &config.load);
    match set {
        Some(set) => {
            for p in &problems {
                tracing::warn!("{p}");
            }
            Ok(set)
        }
        None => Err(StartError::Specs(problems)),
    }
}
