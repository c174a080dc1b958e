//! Typed, checked settings for the server. No I/O happens here: the CLI fills a `Config`, the
//! library's builder fills the same one.

use std::path::PathBuf;

use crate::generate::DataMode;
use crate::spec::LoadOptions;
pub use crate::store::Eviction;
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
    /// How long a client gets to send a request's headers before the connection is closed:
    /// counted from the accept for a new connection (so a silent one is closed too, HTTP/2
    /// included), from the first byte for a later request on a keep-alive connection.
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
    /// Seed of random faults and latency (None picks one, and logs it) and of generated data
    /// (None: 0).
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
    /// With `proxy`: keep what the upstream answers in this directory (an overlay of examples,
    /// fixtures, a report of exchanges that break the spec), for `serve` to answer from later.
    pub record: Option<PathBuf>,
    /// When set, every admin route but health needs it (`X-Specstub-Admin-Token: T` or
    /// `Authorization: Bearer T`). Without it the admin API is served only on a loopback address.
    pub admin_token: Option<String>,
    /// Host names (`name` or `name:port`) the admin API answers besides loopback names, IP
    /// addresses and `host`: names a proxy or a container network gives this server.
    pub admin_hosts: Vec<String>,
    /// How many requests the journal keeps at most.
    pub journal_entries: usize,
    /// How many bytes the journal's entries may take in all; one entry takes at most a 16th
    /// (its body is cut to a marker beyond that), the oldest go first.
    pub journal_bytes: usize,
    /// Names whose values the journal and the log replace by `[redacted]`, besides the built-in
    /// ones and what the documents declare secret.
    pub redact: Vec<String>,
    /// The built-in names (`password`, `token`, `access_token`...); the documents' declared
    /// secrets and `redact` apply either way.
    pub redact_names: bool,
    /// What generated values look like: placeholders, or plausible values by property name and
    /// format (names, emails, addresses, dates around now), drawn from `seed` (0 without one).
    pub data: DataMode,
    /// How long a keep-alive connection may stay open with no request in flight.
    pub idle_timeout: std::time::Duration,
    /// How long a request's body may take to arrive once its headers are in (408 beyond, and
    /// the connection closes).
    pub body_timeout: std::time::Duration,
    /// Most connections open at once; at the cap the one that waited longest without a request
    /// is closed to make room, or, when all are busy, new ones are answered 503. None derives it
    /// from the open-file limit (three quarters of it, at most 10,000; half that with `proxy`).
    pub max_connections: Option<usize>,
    /// HTTP/2: how often a connection is pinged, and how long the peer has to answer before the
    /// connection is dropped as dead.
    pub http2_keepalive_interval: std::time::Duration,
    pub http2_keepalive_timeout: std::time::Duration,
    /// HTTP/2: streams (requests) a client may have open at once on one connection.
    pub http2_max_streams: u32,
    /// With `state_file`: the change log is folded into a new snapshot once it is larger than
    /// this many bytes and than the snapshot.
    pub state_compact_at: u64,
    /// Send the callbacks an operation declares after it answers 2xx, and the webhooks tied to
    /// store events. Calls go only to URLs the request, the answer or this configuration names.
    pub callbacks: bool,
    /// Wait before a callback's or webhook's first attempt, unless its `x-specstub.delay` says.
    pub callback_delay: std::time::Duration,
    /// Attempts after the first (on connection errors, timeouts, 5xx), unless `x-specstub.retries` says.
    pub callback_retries: u32,
    /// For one attempt, unless `x-specstub.timeout` says.
    pub callback_timeout: std::time::Duration,
    /// Webhook name → target URL (`--webhook NAME=URL`); replaces the webhook's `x-specstub.url`.
    pub webhooks: Vec<(String, String)>,
    /// Records the in-memory store holds at most, every session together (fixtures are not
    /// counted); 0 is no cap. Beyond it a create answers 507 (or evicts, see `store_evict`).
    pub store_max_records: usize,
    /// Bytes the in-memory store's records may take, as it counts them; 0 is no cap.
    pub store_max_bytes: usize,
    /// What a full in-memory store does with a create: refuse it, or evict the sessions touched
    /// longest ago (never the shared namespace).
    pub store_evict: Eviction,
    /// An `X-Specstub-Session` namespace untouched this long is dropped (in-memory store); the
    /// shared namespace never is. None keeps sessions for ever.
    pub session_ttl: Option<std::time::Duration>,
    /// Longest wait on Redis for a connection, an answer or a free pooled connection (then 503).
    pub store_timeout: std::time::Duration,
    /// Hot reload: watch the documents, their local `$ref` files, the overlays and the fixtures,
    /// and serve a new plan when they change (`serve` turns it on unless `--no-watch`; off by
    /// default in the library). `POST /__specstub/reload` reloads either way.
    pub watch: bool,
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
            record: None,
            admin_token: None,
            admin_hosts: Vec::new(),
            journal_entries: 1000,
            journal_bytes: 32 * 1024 * 1024,
            redact: Vec::new(),
            redact_names: true,
            data: DataMode::Static,
            idle_timeout: std::time::Duration::from_secs(60),
            body_timeout: std::time::Duration::from_secs(30),
            max_connections: None,
            http2_keepalive_interval: std::time::Duration::from_secs(20),
            http2_keepalive_timeout: std::time::Duration::from_secs(20),
            http2_max_streams: 128,
            state_compact_at: 64 * 1024 * 1024,
            callbacks: true,
            callback_delay: std::time::Duration::ZERO,
            callback_retries: 2,
            callback_timeout: std::time::Duration::from_secs(5),
            webhooks: Vec::new(),
            store_max_records: 1_000_000,
            store_max_bytes: 1024 * 1024 * 1024,
            store_evict: Eviction::Refuse,
            session_ttl: Some(std::time::Duration::from_secs(3600)),
            store_timeout: std::time::Duration::from_secs(1),
            watch: false,
        }
    }
}
