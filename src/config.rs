//! Typed, checked settings for the server. No I/O happens here: the CLI fills a `Config`, the
//! library's builder fills the same one.

use std::path::PathBuf;

use crate::spec::LoadOptions;
use crate::traffic::{Latency, RateLimitRule};
use crate::validate::Mode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Files or directories of OpenAPI documents.
    pub specs: Vec<PathBuf>,
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    pub load: LoadOptions,
    pub validation: Mode,
    /// When non-empty, the only credentials accepted (others get 403).
    pub tokens: Vec<String>,
    pub cors: bool,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body: usize,
    /// How long a client gets to send a request's headers (HTTP/1) before the connection is
    /// closed: a client that trickles them would otherwise hold a connection forever.
    pub header_timeout: std::time::Duration,
    pub log_format: LogFormat,
    /// Answer from the spec only: no store, no inferred CRUD.
    pub stateless: bool,
    /// Answer with data generated from the schemas rather than the examples (Prism's `-d`);
    /// a request's `Prefer: dynamic=false` still gets the example.
    pub dynamic: bool,
    /// Check every answer against the operation's declared responses (status, headers, media
    /// type, body schema); violations are logged, counted in the admin health answer, listed in
    /// the `specstub-violations` header and journaled. The answer is sent as it is.
    pub self_check: bool,
    /// Directory of seed records for the store.
    pub fixtures: Option<PathBuf>,
    /// Where the store is saved so that state survives a restart.
    pub state_file: Option<PathBuf>,
    /// Where the admin API lives; never a spec path.
    pub admin_prefix: String,
    /// Rate limits from the command line; they replace the spec's for the routes they cover.
    pub rate_limits: Vec<RateLimitRule>,
    /// Latency of every answer; replaces the spec's.
    pub latency: Option<Latency>,
    /// Share of requests (0..=1) that get a random fault.
    pub chaos: f64,
    /// Seed of random faults and latency; None picks one (and logs it).
    pub seed: Option<u64>,
    /// Validating proxy: forward every request to this base URL instead of answering from the spec.
    pub proxy: Option<String>,
    /// With `proxy`: refuse invalid requests, answer 502 for invalid upstream answers, 404 for
    /// paths the spec does not describe.
    pub proxy_strict: bool,
    /// Shared state: None keeps it in memory; `redis://HOST:PORT/DB` puts it (and the rate-limit
    /// buckets) on Redis, shared by every instance using the same URL and prefix.
    pub store: Option<String>,
    /// First segment of every Redis key.
    pub store_prefix: String,
    /// Redis keys expire this long after their last write.
    pub store_ttl: Option<std::time::Duration>,
    /// Longest wait on Redis for a connection, an answer or a free pooled connection (then 503).
    pub store_timeout: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            specs: vec![PathBuf::from("specs")],
            host: "127.0.0.1".into(),
            port: 4010,
            load: LoadOptions::default(),
            validation: Mode::Strict,
            tokens: Vec::new(),
            cors: true,
            max_body: 1024 * 1024,
            header_timeout: std::time::Duration::from_secs(10),
            log_format: LogFormat::Text,
            stateless: false,
            dynamic: false,
            self_check: false,
            fixtures: None,
            state_file: None,
            admin_prefix: "/__specstub".into(),
            rate_limits: Vec::new(),
            latency: None,
            chaos: 0.0,
            seed: None,
            proxy: None,
            proxy_strict: false,
            store: None,
            store_prefix: "specstub".into(),
            store_ttl: None,
            store_timeout: std::time::Duration::from_secs(1),
        }
    }
}
