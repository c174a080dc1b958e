//! Command-line flags: what each means, with an example, and the conversion into a checked
//! `Config`. Nothing here loads a spec or opens a socket.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use specstub::{Config, DataMode, Eviction, Latency, LoadOptions, LogFormat, Mode, RateLimitRule};

#[derive(Debug, Parser)]
#[command(
    name = "specstub",
    version,
    about = "A fast, stateful, OpenAPI-driven mock and contract-testing server",
    long_about = "Point specstub at OpenAPI documents and it serves those APIs: every request is \
validated against the spec, answered from its examples or from data generated from its schemas.\n\n\
Examples:\n  specstub serve                      # every spec in ./specs on 127.0.0.1:4010\n  \
specstub serve api.yaml --port 0    # one spec, any free port\n  specstub lint specs/"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once at start: the size of the serve arguments does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve OpenAPI documents as a validating mock server.
    #[command(long_about = "Serve OpenAPI documents as a validating mock server.\n\n\
Each document is served at its first server URL's path plus the operation's path, so a client \
whose base URL has only its host changed works unchanged.\n\n\
Examples:\n  specstub serve\n  specstub serve specs/ other.yaml --port 8080\n  \
specstub serve --mount a.yaml=/a --mount b.yaml=/b a.yaml b.yaml\n  \
specstub serve --token secret-1 --validation warn")]
    Serve(ServeArgs),
    /// Check OpenAPI documents the way `serve` loads them, and print every problem.
    #[command(long_about = "Check OpenAPI documents the way `serve` loads them, and print every problem \
with its file and JSON pointer: broken $ref, unknown schema keywords, examples that do not match \
their schema, duplicate operationIds, method + path pairs claimed twice.\n\n\
Exit status: 0 when clean, 1 when any problem (error or warning) is found, 2 when a file cannot be read.\n\n\
Examples:\n  specstub lint specs/\n  specstub lint api.yaml common.yaml")]
    Lint(LintArgs),
    /// Contract-test a real provider: call every operation with requests built from the spec and
    /// check every answer against it.
    #[command(long_about = "Contract-test a real provider: call every operation with requests built from \
the spec (examples first, else data generated from the schemas; path parameters from earlier answers, so \
create -> read -> update -> delete run in order against a stateful provider) and check each answer: \
status declared, declared headers present and valid, Content-Type declared, body valid against its schema.\n\n\
Exit status: 0 when nothing failed, 1 when any operation failed, 2 when the run could not start.\n\n\
Examples:\n  specstub verify --spec specs/sift-runs-v2.yaml --target https://staging.example.com --token \"$TOKEN\"\n  \
specstub verify specs/ --target http://127.0.0.1:8080 --junit reports/contract.xml --json reports/contract.json\n  \
specstub verify api.yaml --target http://localhost:3000 --include createPet --include pets")]
    Verify(VerifyArgs),
    /// Print a shell completion script to stdout.
    #[command(long_about = "Print a shell completion script for specstub's commands and flags to stdout, \
generated from the same definitions as --help.\n\n\
Examples:\n  specstub completions bash > ~/.local/share/bash-completion/completions/specstub\n  \
specstub completions zsh > \"${fpath[1]}/_specstub\"\n  \
specstub completions fish > ~/.config/fish/completions/specstub.fish")]
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout.
    #[command(long_about = "Print specstub's man page (roff) to stdout, generated from the same \
definitions as --help.\n\n\
Examples:\n  specstub man | man -l -\n  specstub man > /usr/local/share/man/man1/specstub.1")]
    Man,
    /// Check that a running specstub answers its health route (for container health checks).
    #[command(long_about = "Check that a running specstub answers its health route: exit 0 when \
GET URL answers 2xx within 3 seconds, 1 otherwise. Plain http:// only; it exists so that a \
container image needs no HTTP client of its own for its HEALTHCHECK.\n\n\
Examples:\n  specstub health\n  specstub health http://127.0.0.1:8080/__specstub/health")]
    Health(HealthArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for. Example: `bash`
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The health route to call. Example: `http://127.0.0.1:4010/__specstub/health`
    #[arg(default_value = "http://127.0.0.1:4010/__specstub/health")]
    pub url: String,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// OpenAPI documents (paths or http(s) URLs) or directories of them [default: specs].
    /// Example: `specs/ extra.yaml https://example.com/openapi.yaml`
    #[arg(value_name = "SPEC_OR_DIR")]
    pub specs: Vec<PathBuf>,

    /// Put one document's operations under an extra path prefix (where they are served, linted
    /// and verified), to resolve two documents claiming the same method and path. Repeatable.
    /// Example: `--mount specs/a.yaml=/a`
    #[arg(long, value_name = "SPEC=/PREFIX", value_parser = parse_mount)]
    pub mount: Vec<(PathBuf, String)>,

    /// Take operations at their bare paths, without the server URL's path (for clients whose base
    /// URL omits it). Example: `--ignore-server-path` puts `/v1/demand/...` at `/demand/...`
    #[arg(long)]
    pub ignore_server_path: bool,

    /// Apply an OpenAPI Overlay (1.0) document to the specs before serving, e.g. to add
    /// `x-specstub` behaviour to a third-party spec you cannot edit. A file or an http(s) URL
    /// (fetched once at start, like a document by URL; hot reload does not fetch it again).
    /// Repeatable. Example: `--overlay stateful.overlay.yaml`
    #[arg(long, value_name = "FILE|URL")]
    pub overlay: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Address to listen on. Example: `--host 0.0.0.0` to accept other machines
    #[arg(long, default_value = "127.0.0.1", env = "SPECSTUB_HOST")]
    pub host: String,

    /// Port to listen on; 0 picks a free one, printed on start as `listening on http://HOST:PORT`.
    /// Example: `--port 0`
    #[arg(long, default_value_t = 4010, env = "SPECSTUB_PORT")]
    pub port: u16,

    /// Log format on stderr. Example: `--log-format json` for log collectors
    #[arg(long, value_enum, default_value_t = LogFormatArg::Text)]
    pub log_format: LogFormatArg,

    /// Least severe log lines written: `info` includes one access line per request, `warn` keeps
    /// only problems (validation warnings, faults, start-up notes) and is what load tests want.
    /// Example: `--log-level warn`
    #[arg(long, value_enum, default_value_t = LogLevelArg::Info, env = "SPECSTUB_LOG_LEVEL")]
    pub log_level: LogLevelArg,

    /// What to do with requests that break the spec: `strict` refuses them (unknown query
    /// parameters included), `warn` answers anyway and reports the violations in the log and a
    /// `specstub-violations` header, `off` skips request checks. Example: `--validation warn`
    #[arg(long, value_enum, default_value_t = ModeArg::Strict)]
    pub validation: ModeArg,

    /// Accept only this credential (bearer token, API key, basic `user` / `user:password`, or a
    /// Digest user); others get 403. Repeatable; without it any well-formed credential is accepted.
    /// Example: `--token dev-token-1 --token dev-token-2`
    #[arg(long, value_name = "T", env = "SPECSTUB_TOKENS", value_delimiter = ',')]
    pub token: Vec<String>,

    /// Do not answer CORS preflights or add CORS headers (on by default for browser front-ends).
    /// Example: `--no-cors`
    #[arg(long)]
    pub no_cors: bool,

    /// Largest request body accepted; larger ones get 413. Accepts B, KiB, MiB.
    /// Example: `--max-body 4MiB`
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    pub max_body: usize,

    /// How long a client gets to send a request's headers before its connection is closed,
    /// counted from the connection's start (so silent connections are closed too), then from
    /// the first byte of each later request. Example: `--header-timeout 5s`
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub header_timeout: std::time::Duration,

    /// Answer from the spec only: no stateful store and no inferred CRUD.
    /// Example: `--stateless`
    #[arg(long)]
    pub stateless: bool,

    /// Answer with data generated from the schemas, new on every request, rather than the
    /// examples (Prism's `-d`); `Prefer: dynamic=false` or `?__dynamic=false` still gets the
    /// example. Example: `-d --stateless`
    #[arg(long, short = 'd')]
    pub dynamic: bool,

    /// Check every answer against the operation's declared responses (status, headers, media
    /// type, body schema): violations are logged, counted in GET /__specstub/health, listed in
    /// the specstub-violations header and journaled. Example: `--self-check`
    #[arg(long)]
    pub self_check: bool,

    /// Directory of seed records (YAML/JSON files mapping resource names to records), loaded at
    /// start and on every reset [default: ./fixtures when serving the default ./specs].
    /// Example: `--fixtures tests/fixtures`
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,

    /// Keep the store in this file across restarts: every change is appended to PATH.log and
    /// fsynced before its answer is sent (concurrent changes share one fsync), and the log is
    /// folded into the snapshot at PATH in the background and on shutdown. A crash loses no
    /// acknowledged change. Example: `--state-file .specstub-state.json`
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Path prefix of the admin API (reset, records, journal, verify).
    /// Example: `--admin-prefix /_admin`
    #[arg(long, default_value = "/__specstub", value_name = "PREFIX")]
    pub admin_prefix: String,

    /// Rate-limit clients (token bucket per credential, else per client IP): `RATE` for every
    /// route or `[METHOD] /path/glob=RATE` for some (`*` one segment, `**` any); RATE is
    /// `LIMIT/PERIOD[,burst=N][,key=credential|ip|header:NAME]`. Replaces the spec's limits where
    /// it applies; over the limit: 429 with Retry-After. Repeatable.
    /// Example: `--rate-limit 100/s --rate-limit 'PUT /demand/**=5/s'`
    #[arg(long, value_name = "[ROUTE=]RATE", value_parser = parse_rate_limit)]
    pub rate_limit: Vec<RateLimitRule>,

    /// Delay every answer, by a fixed time or a random one in a range (replaces the spec's
    /// latency; `Prefer: latency=...` still wins). Example: `--latency 20ms..200ms`
    #[arg(long, value_name = "DURATION[..DURATION]", value_parser = parse_latency)]
    pub latency: Option<Latency>,

    /// Inject a random fault into this share of requests (0 to 1): a 429/5xx status the operation
    /// declares, a connection reset, an empty answer, a cut body or a stalled body.
    /// Example: `--chaos 0.05 --seed 42`
    #[arg(long, value_name = "RATE", value_parser = parse_chaos)]
    pub chaos: Option<f64>,

    /// Seed of random faults and latency, so that the same requests get the same faults in every
    /// run (without it a seed is chosen and logged), and of generated data: the same seed gives
    /// the same answers to the same requests (without it generated data uses seed 0).
    /// Example: `--seed 42`
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Forward every request to this upstream and validate the request and the upstream's answer
    /// against the spec; violations are logged, journaled and sent in a `specstub-violations`
    /// header. Paths the spec does not describe are passed through. Example: `--proxy https://staging.example.com`
    #[arg(long, value_name = "URL", value_parser = parse_upstream)]
    pub proxy: Option<String>,

    /// With --proxy: refuse requests that break the spec (not forwarded), answer 502 with a
    /// problem+json list when the upstream's answer breaks it, and 404 for paths the spec does not
    /// describe. Example: `--proxy http://127.0.0.1:8080 --proxy-strict`
    #[arg(long, requires = "proxy")]
    pub proxy_strict: bool,

    /// Where shared state lives: `memory` (the default, this process only) or a Redis URL, so
    /// that several instances behind a load balancer share records, versions, sessions and
    /// rate-limit buckets (see docs/scale-out.md). Example: `--store redis://127.0.0.1:6379/0`
    #[arg(long, value_name = "URL", env = "SPECSTUB_STORE", value_parser = parse_store)]
    pub store: Option<String>,

    /// First segment of every Redis key, so that one Redis hosts several teams' stubs apart.
    /// Example: `--store-prefix team-a`
    #[arg(long, value_name = "PREFIX", default_value = "specstub", value_parser = parse_store_prefix)]
    pub store_prefix: String,

    /// Let Redis keys expire this long after their last write. Example: `--store-ttl 24h`
    #[arg(long, value_name = "DURATION", requires = "store", value_parser = parse_timeout)]
    pub store_ttl: Option<std::time::Duration>,

    /// With --proxy: record the upstream's answers into DIR (created if missing; an earlier
    /// recording there is carried on). Answers that keep to the spec become named examples in
    /// DIR/recorded.overlay.yaml and the records of stateful operations DIR/fixtures/recorded.yaml;
    /// exchanges that break it are listed in DIR/report.json. Secrets are redacted. Replay with
    /// `serve SPEC --overlay DIR/recorded.overlay.yaml --fixtures DIR/fixtures`.
    /// Example: `--proxy https://staging.example.com --record recordings/staging`
    #[arg(long, value_name = "DIR", requires = "proxy")]
    pub record: Option<PathBuf>,
    /// Require this token on every admin route but health (`X-Specstub-Admin-Token: T` or
    /// `Authorization: Bearer T`); `--token` never opens the admin API. Without it the admin API
    /// is served only when --host is a loopback address, and is off otherwise.
    /// Example: `--host 0.0.0.0 --admin-token "$ADMIN_TOKEN"`
    #[arg(long, value_name = "T", env = "SPECSTUB_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// A Host name the admin API answers to besides IP addresses, localhost and --host: the
    /// name a proxy or a container network gives this server (`NAME` for any port,
    /// `NAME:PORT` for one). Other names are refused, against DNS rebinding. Repeatable.
    /// Example: `--admin-host specstub --admin-host stub.example.com:443`
    #[arg(long, value_name = "NAME[:PORT]")]
    pub admin_host: Vec<String>,

    /// Most requests the journal keeps (GET /__specstub/journal); 0 keeps none.
    /// Example: `--journal-entries 10000`
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub journal_entries: usize,

    /// Most memory the journal's entries take in all (64KiB or more; 0 keeps none); one entry
    /// takes at most a 16th of it (a larger body is kept as `{"truncated": true, "bytes": N,
    /// "head": "..."}`), the oldest entries go first. Accepts B, KiB, MiB, GiB.
    /// Example: `--journal-bytes 256MiB`
    #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = parse_journal_bytes)]
    pub journal_bytes: usize,

    /// Also redact this name (query parameter, form or JSON field at any depth) in the journal
    /// and the log, besides password, secret, token, api_key, access_token, client_secret... and
    /// what the documents declare secret. Repeatable. Example: `--redact ssn --redact card_number`
    #[arg(long, value_name = "NAME")]
    pub redact: Vec<String>,

    /// Keep the values of the built-in secret names (password, token...) in the journal and the
    /// log; the documents' declared secrets and --redact names are still redacted.
    /// Example: `--no-redact-names`
    #[arg(long)]
    pub no_redact_names: bool,
    /// What data generated from schemas looks like: `static` placeholders ("string",
    /// user@example.com), or `realistic` values by property name and format (names, emails,
    /// phone numbers, addresses, companies, URLs, dates around today), always within the schema's
    /// constraints and the same for the same --seed. Examples are still served as written.
    /// Example: `--data realistic --seed 7`
    #[arg(long, value_enum, default_value_t = DataArg::Static)]
    pub data: DataArg,
    /// Close a keep-alive connection that has had no request in flight for this long (a new
    /// connection must send its first request within --header-timeout). Example: `--idle-timeout 5min`
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub idle_timeout: std::time::Duration,

    /// How long a request's body may take to arrive once its headers are in; a short or slow
    /// body gets 408 and the connection closes. Example: `--body-timeout 2min` for large uploads
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub body_timeout: std::time::Duration,

    /// Most connections open at once [default: three quarters of the open-file limit (ulimit -n),
    /// at most 10000; half that with --proxy]. At the cap a new connection is still accepted: the one that has waited
    /// longest without a request in flight is closed to make room, or, when every connection is
    /// busy, the new one is answered 503 with Retry-After (the health route still answers).
    /// Example: `--max-connections 2000`
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_connections: Option<u64>,

    /// HTTP/2: ping each connection this often; a peer that does not answer within
    /// --http2-keepalive-timeout is dropped as dead. Example: `--http2-keepalive-interval 10s`
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_timeout)]
    pub http2_keepalive_interval: std::time::Duration,

    /// HTTP/2: how long a peer has to answer a keep-alive ping. Example: `--http2-keepalive-timeout 5s`
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_timeout)]
    pub http2_keepalive_timeout: std::time::Duration,

    /// HTTP/2: requests a client may have in flight at once on one connection (more wait for
    /// a free stream). Example: `--http2-max-streams 256`
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..))]
    pub http2_max_streams: u32,
    /// With --state-file: fold the change log into a new snapshot once it is larger than this
    /// and than the snapshot (in the background; writes go on). Accepts B, KiB, MiB, GiB.
    /// Example: `--state-compact-at 256MiB`
    #[arg(long, value_name = "SIZE", default_value = "64MiB", requires = "state_file", value_parser = parse_size)]
    pub state_compact_at: usize,

    /// Send no callbacks and no webhooks on their own (they can still be fired by hand through
    /// the admin API). Without it, an operation that declares `callbacks` calls the URL its
    /// request names after answering 2xx, and webhooks go to their configured targets.
    /// Example: `--no-callbacks`
    #[arg(long)]
    pub no_callbacks: bool,

    /// Wait before a callback's or webhook's first attempt, unless its `x-specstub.delay`
    /// says otherwise. Example: `--callback-delay 500ms`
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = specstub::parse_duration)]
    pub callback_delay: std::time::Duration,

    /// Attempts after the first when a callback or webhook meets a connection error, a timeout
    /// or a 5xx answer (waiting 100 ms, then twice as long each time, up to 5 s); at most 10.
    /// Example: `--callback-retries 5`
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub callback_retries: u32,

    /// How long one attempt of a callback or webhook may take. Example: `--callback-timeout 2s`
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_timeout)]
    pub callback_timeout: std::time::Duration,

    /// Where a 3.1 webhook of the documents is sent (replaces its `x-specstub.url`). Repeatable.
    /// Example: `--webhook orderShipped=http://127.0.0.1:9000/hooks`
    #[arg(long, value_name = "NAME=URL", value_parser = parse_webhook)]
    pub webhook: Vec<(String, String)>,
    /// Records the in-memory store holds at most, every session together (fixtures are not
    /// counted); `0` or `none` is no cap. Beyond it a create answers 507 Insufficient Storage (or
    /// a status the operation declares for a full store) unless --store-evict makes room.
    /// Example: `--store-max-records 100000`
    #[arg(long, value_name = "N", default_value = "1000000", value_parser = parse_cap)]
    pub store_max_records: usize,

    /// Bytes the in-memory store's records may take (B, KiB, MiB, GiB); `0` or `none` is no cap.
    /// Example: `--store-max-bytes 256MiB`
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_budget)]
    pub store_max_bytes: usize,

    /// What a full in-memory store does with a create: `refuse` it, or `oldest-session`: drop the
    /// X-Specstub-Session namespaces touched longest ago until it fits (never the shared
    /// namespace or the fixtures). Example: `--store-evict oldest-session`
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = EvictArg::Refuse)]
    pub store_evict: EvictArg,

    /// Drop an X-Specstub-Session namespace after this long without a request that touches it
    /// (in-memory store; on Redis use --store-ttl); the shared namespace never expires. `none`
    /// keeps sessions. Example: `--session-ttl 15m`
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_ttl)]
    pub session_ttl: std::time::Duration,

    /// Longest wait on Redis for a connection, an answer or a free pooled connection; a request
    /// that needs a store which does not answer in time gets 503 with Retry-After, and requests
    /// that do not need it are served meanwhile. Example: `--store-timeout 250ms`
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_timeout)]
    pub store_timeout: std::time::Duration,

    /// Do not watch for changes. By default the documents, their local `$ref` files, the
    /// overlays and the fixtures are watched, and a save is served at once (a document that no
    /// longer compiles keeps the old plan serving and its problems are logged); documents given
    /// by URL are not fetched again. `POST /__specstub/reload` reloads either way.
    /// Example: `--no-watch`
    #[arg(long)]
    pub no_watch: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EvictArg {
    Refuse,
    OldestSession,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// An OpenAPI document (or directory) to verify, like the positional SPEC_OR_DIR. Repeatable.
    /// Example: `--spec specs/sift-runs-v2.yaml`
    #[arg(long = "spec", value_name = "SPEC")]
    pub spec: Vec<PathBuf>,

    /// Base URL of the provider; each operation's served path (the spec's server path plus the
    /// operation path) is appended to it. Example: `--target https://staging.example.com`
    #[arg(long, value_name = "URL", env = "SPECSTUB_TARGET", value_parser = parse_upstream)]
    pub target: String,

    /// Credential sent the way each operation's security scheme asks (bearer token, API key, or
    /// basic `user:password`). Example: `--token "$API_TOKEN"`
    #[arg(long, value_name = "T", env = "SPECSTUB_VERIFY_TOKEN")]
    pub token: Option<String>,

    /// Extra header on every request. Repeatable. Example: `--header 'X-Tenant: acme'`
    #[arg(long, value_name = "K:V", value_parser = parse_header)]
    pub header: Vec<(String, String)>,

    /// Verify only operations with this operationId or tag. Repeatable.
    /// Example: `--include RunService_GetRun --include Fielding`
    #[arg(long, value_name = "ID_OR_TAG")]
    pub include: Vec<String>,

    /// Leave out operations with this operationId or tag. Repeatable.
    /// Example: `--exclude RunService_DeleteRun`
    #[arg(long, value_name = "ID_OR_TAG")]
    pub exclude: Vec<String>,

    /// Give up on a request after this long. Example: `--timeout 30s`
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,

    /// Requests in flight at once; operations on one resource always run one after another.
    /// Example: `--concurrency 1` for a strictly sequential run
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Also write the results as JUnit XML (for CI test reports). Example: `--junit reports/contract.xml`
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Also write the results as JSON. Example: `--json reports/contract.json`
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Count inconclusive results (a declared 4xx that proves nothing, such as a 404 for an id
    /// taken from the spec's example) as failures. Example: `--fail-on-inconclusive`
    #[arg(long)]
    pub fail_on_inconclusive: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogLevelArg {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevelArg {
    pub fn level(self) -> tracing::Level {
        match self {
            LogLevelArg::Error => tracing::Level::ERROR,
            LogLevelArg::Warn => tracing::Level::WARN,
            LogLevelArg::Info => tracing::Level::INFO,
            LogLevelArg::Debug => tracing::Level::DEBUG,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DataArg {
    Static,
    Realistic,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Strict,
    Warn,
    Off,
}

fn parse_mount(s: &str) -> Result<(PathBuf, String), String> {
    let (file, prefix) = s.rsplit_once('=').ok_or("expected SPEC=/PREFIX, e.g. specs/a.yaml=/a")?;
    if !prefix.starts_with('/') {
        return Err(format!("the prefix {prefix:?} must start with '/'"));
    }
    if file.is_empty() {
        return Err("the spec file is missing before '='".into());
    }
    Ok((PathBuf::from(file), prefix.trim_end_matches('/').to_string()))
}

fn parse_rate_limit(s: &str) -> Result<RateLimitRule, String> {
    s.parse()
}

fn parse_latency(s: &str) -> Result<Latency, String> {
    s.parse()
}

fn parse_chaos(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a share of requests from 0 to 1, such as 0.05")),
    }
}

fn parse_upstream(s: &str) -> Result<String, String> {
    specstub::parse_target(s)
}

fn parse_store(s: &str) -> Result<String, String> {
    specstub::check_store_url(s)
}

fn parse_store_prefix(s: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err("the prefix must not be empty".into()),
        p => Ok(p.to_string()),
    }
}

fn parse_webhook(s: &str) -> Result<(String, String), String> {
    let (name, url) =
        s.split_once('=').ok_or_else(|| format!("{s:?}: expected NAME=URL, e.g. orderShipped=http://127.0.0.1:9000/hooks"))?;
    let (name, url) = (name.trim(), url.trim());
    if name.is_empty() {
        return Err("the webhook name is missing before '='".into());
    }
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) || url.parse::<http::Uri>().is_err() {
        return Err(format!("{url:?} is not an http:// or https:// URL"));
    }
    Ok((name.to_string(), url.to_string()))
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once(':').ok_or_else(|| format!("{s:?}: expected NAME:VALUE, e.g. 'X-Tenant: acme'"))?;
    let (k, v) = (k.trim(), v.trim());
    http::HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("{k:?} is not a header name"))?;
    http::HeaderValue::from_str(v).map_err(|_| format!("the value of {k} is not a valid header value"))?;
    Ok((k.to_string(), v.to_string()))
}

fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    match specstub::parse_duration(s)? {
        d if d.is_zero() => Err("the timeout must be more than 0".into()),
        d => Ok(d),
    }
}

fn parse_journal_bytes(s: &str) -> Result<usize, String> {
    match parse_size(s)? {
        n if n != 0 && n < 64 * 1024 => Err(format!("{s:?} is too small for a journal: give 64KiB or more (0 keeps no journal)")),
        n => Ok(n),
    }
}

/// `none` (or 0) is no cap.
fn unlimited(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "none" | "unlimited" | "0")
}

fn parse_cap(s: &str) -> Result<usize, String> {
    if unlimited(s) {
        return Ok(0);
    }
    s.trim().replace('_', "").parse().map_err(|_| format!("{s:?} is not a number of records such as 100000, or none"))
}

fn parse_budget(s: &str) -> Result<usize, String> {
    if unlimited(s) { Ok(0) } else { parse_size(s) }
}

fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    if matches!(s.trim().to_ascii_lowercase().as_str(), "none" | "never" | "0") {
        return Ok(std::time::Duration::ZERO);
    }
    specstub::parse_duration(s)
}

fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("{s:?} is not a size such as 1MiB or 65536"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        u => return Err(format!("unknown size unit {u:?}: use B, KiB, MiB or GiB")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

impl LoadArgs {
    pub fn specs(&self) -> Vec<PathBuf> {
        if self.specs.is_empty() { vec![PathBuf::from("specs")] } else { self.specs.clone() }
    }

    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            mounts: self.mount.clone(),
            ignore_server_path: self.ignore_server_path,
            overlays: self.overlay.clone(),
            ..LoadOptions::default()
        }
    }
}

impl ServeArgs {
    pub fn into_config(self) -> Config {
        // `serve` and `serve specs/` are the same command: both take ./fixtures when it exists.
        let is_default =
            |s: &PathBuf| s.components().filter(|c| *c != std::path::Component::CurDir).eq(std::path::Path::new("specs").components());
        let default_specs = self.load.specs.is_empty() || self.load.specs.iter().all(is_default);
        let default_fixtures = default_specs && std::path::Path::new("fixtures").is_dir();
        Config {
            stateless: self.stateless,
            dynamic: self.dynamic,
            self_check: self.self_check,
            fixtures: self.fixtures.or_else(|| default_fixtures.then(|| PathBuf::from("fixtures"))),
            state_file: self.state_file,
            admin_prefix: format!("/{}", self.admin_prefix.trim_matches('/')),
            rate_limits: self.rate_limit,
            latency: self.latency,
            chaos: self.chaos.unwrap_or(0.0),
            seed: self.seed,
            proxy: self.proxy,
            proxy_strict: self.proxy_strict,
            store: self.store.filter(|s| s != "memory"),
            store_prefix: self.store_prefix,
            store_ttl: self.store_ttl,
            record: self.record,
            admin_token: self.admin_token.filter(|t| !t.is_empty()),
            admin_hosts: self.admin_host,
            journal_entries: self.journal_entries,
            journal_bytes: self.journal_bytes,
            redact: self.redact,
            redact_names: !self.no_redact_names,
            callbacks: !self.no_callbacks,
            callback_delay: self.callback_delay,
            callback_retries: self.callback_retries,
            callback_timeout: self.callback_timeout,
            webhooks: self.webhook,
            store_max_records: self.store_max_records,
            store_max_bytes: self.store_max_bytes,
            store_evict: match self.store_evict {
                EvictArg::Refuse => Eviction::Refuse,
                EvictArg::OldestSession => Eviction::OldestSession,
            },
            session_ttl: Some(self.session_ttl).filter(|t| !t.is_zero()),
            specs: self.load.specs(),
            host: self.host,
            port: self.port,
            load: self.load.options(),
            validation: match self.validation {
                ModeArg::Strict => Mode::Strict,
                ModeArg::Warn => Mode::Warn,
                ModeArg::Off => Mode::Off,
            },
            tokens: self.token.into_iter().filter(|t| !t.is_empty()).collect(),
            cors: !self.no_cors,
            max_body: self.max_body,
            header_timeout: self.header_timeout,
            log_format: match self.log_format {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            },
            data: match self.data {
                DataArg::Static => DataMode::Static,
                DataArg::Realistic => DataMode::Realistic,
            },
            idle_timeout: self.idle_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            http2_keepalive_interval: self.http2_keepalive_interval,
            http2_keepalive_timeout: self.http2_keepalive_timeout,
            http2_max_streams: self.http2_max_streams,
            state_compact_at: self.state_compact_at as u64,
            store_timeout: self.store_timeout,
            watch: !self.no_watch,
        }
    }
}

impl VerifyArgs {
    /// The documents to load, as `serve` would load them.
    pub fn config(&self) -> Config {
        let mut specs = self.load.specs.clone();
        specs.extend(self.spec.iter().cloned());
        if specs.is_empty() {
            specs.push(PathBuf::from("specs"));
        }
        Config { specs, load: self.load.options(), ..Config::default() }
    }

    pub fn options(&self) -> specstub::VerifyOptions {
        specstub::VerifyOptions {
            target: self.target.clone(),
            token: self.token.clone().filter(|t| !t.is_empty()),
            headers: self.header.clone(),
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            timeout: self.timeout,
            concurrency: usize::from(self.concurrency),
            fail_on_inconclusive: self.fail_on_inconclusive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sizes_and_mounts_parse() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("4 kb"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_mount("a.yaml=/a/"), Ok((PathBuf::from("a.yaml"), "/a".to_string())));
        assert!(parse_mount("a.yaml=a").is_err());
    }

    #[test]
    fn serve_defaults_to_the_specs_directory() {
        let cli = Cli::try_parse_from(["specstub", "serve", "--port", "0", "--token", "a,b"]).unwrap();
        let Command::Serve(args) = cli.command else { panic!("serve expected") };
        let config = args.into_config();
        assert_eq!(config.specs, vec![PathBuf::from("specs")]);
        assert_eq!(config.port, 0);
        assert_eq!(config.tokens, vec!["a", "b"]);
        assert!(config.cors);
    }

    #[test]
    fn store_flags_parse_and_memory_is_the_default() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["specstub", "serve"], args].concat())?;
            let Command::Serve(args) = cli.command else { panic!("serve expected") };
            Ok::<_, clap::Error>(args.into_config())
        };
        let config = serve(&[]).unwrap();
        assert_eq!((config.store, config.store_prefix.as_str(), config.store_ttl), (None, "specstub", None));
        let config = serve(&["--store", "redis://127.0.0.1:6379/0", "--store-prefix", "team-a", "--store-ttl", "24h"]).unwrap();
        assert_eq!(config.store.as_deref(), Some("redis://127.0.0.1:6379/0"));
        assert_eq!((config.store_prefix.as_str(), config.store_ttl), ("team-a", Some(std::time::Duration::from_secs(86400))));
        assert_eq!(serve(&["--store", "memory"]).unwrap().store, None);
        assert!(serve(&["--store", "postgres://db"]).is_err());
        assert!(serve(&["--store-ttl", "1h"]).is_err(), "a TTL needs a Redis store");
    }

    #[test]
    fn record_needs_the_proxy_and_lands_in_the_config() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["specstub", "serve"], args].concat())?;
            let Command::Serve(args) = cli.command else { panic!("serve expected") };
            Ok::<_, clap::Error>(args.into_config())
        };
        assert_eq!(serve(&[]).unwrap().record, None);
        let config = serve(&["--proxy", "http://127.0.0.1:8080", "--record", "rec"]).unwrap();
        assert_eq!(config.record, Some(PathBuf::from("rec")));
        assert!(serve(&["--record", "rec"]).is_err(), "record mode records a proxy's traffic");
    }

    #[test]
    fn callback_flags_parse_with_their_defaults() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["specstub", "serve"], args].concat())?;
            let Command::Serve(args) = cli.command else { panic!("serve expected") };
            Ok::<_, clap::Error>(args.into_config())
        };
        let config = serve(&[]).unwrap();
        assert!(config.callbacks && config.webhooks.is_empty());
        assert_eq!((config.callback_delay, config.callback_retries, config.callback_timeout), (Duration::ZERO, 2, Duration::from_secs(5)));
        let config =
            serve(&["--no-callbacks", "--callback-delay", "250ms", "--callback-retries", "0", "--webhook", "shipped=http://127.0.0.1:9/h"])
                .unwrap();
        assert!(!config.callbacks);
        assert_eq!((config.callback_delay, config.callback_retries), (Duration::from_millis(250), 0));
        assert_eq!(config.webhooks, [("shipped".to_string(), "http://127.0.0.1:9/h".to_string())]);
        assert!(serve(&["--webhook", "shipped"]).is_err());
        assert!(serve(&["--webhook", "shipped=ftp://x"]).is_err());
        assert!(serve(&["--callback-retries", "11"]).is_err());
    }

    #[test]
    fn admin_journal_and_redaction_flags_parse_with_safe_defaults() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["specstub", "serve"], args].concat()).unwrap();
            let Command::Serve(args) = cli.command else { panic!("serve expected") };
            args.into_config()
        };
        let config = serve(&[]);
        assert_eq!((config.admin_token, config.journal_entries, config.journal_bytes), (None, 1000, 32 << 20));
        assert!(config.redact_names && config.redact.is_empty() && config.admin_hosts.is_empty());
        let config = serve(&[
            "--admin-token",
            "s3cret",
            "--admin-host",
            "stub",
            "--journal-entries",
            "50",
            "--journal-bytes",
            "4MiB",
            "--redact",
            "ssn",
            "--no-redact-names",
        ]);
        assert_eq!(config.admin_token.as_deref(), Some("s3cret"));
        assert_eq!((config.admin_hosts, config.journal_entries, config.journal_bytes), (vec!["stub".to_string()], 50, 4 << 20));
        assert_eq!((config.redact, config.redact_names), (vec!["ssn".to_string()], false));
        assert_eq!(serve(&["--admin-token", ""]).admin_token, None, "an empty token is no token");
        assert_eq!(serve(&["--journal-bytes", "0"]).journal_bytes, 0);
        assert!(Cli::try_parse_from(["specstub", "serve", "--journal-bytes", "1KiB"]).unwrap_err().to_string().contains("64KiB or more"));
    }

    #[test]
    fn connection_limits_have_defaults_and_parse() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["specstub", "serve"], args].concat())?;
            let Command::Serve(args) = cli.command else { panic!("serve expected") };
            Ok::<_, clap::Error>(args.into_config())
        };
        let secs = std::time::Duration::from_secs;
        let config = serve(&[]).unwrap();
        assert_eq!((config.header_timeout, config.idle_timeout, config.body_timeout), (secs(10), secs(60), secs(30)));
        assert_eq!(config.max_connections, None, "derived from the open-file limit when the server starts");
        assert_eq!((config.http2_keepalive_interval, config.http2_keepalive_timeout, config.http2_max_streams), (secs(20), secs(20), 128));
        let config = serve(&[
            "--idle-timeout",
            "5min",
            "--body-timeout",
            "500ms",
            "--max-connections",
            "20",
            "--http2-keepalive-interval",
            "1s",
            "--http2-keepalive-timeout",
            "2s",
            "--http2-max-streams",
            "8",
        ])
        .unwrap();
        assert_eq!(
            (config.idle_timeout, config.body_timeout, config.max_connections),
            (secs(300), std::time::Duration::from_millis(500), Some(20))
        );
        assert_eq!((config.http2_keepalive_interval, config.http2_keepalive_timeout, config.http2_max_streams), (secs(1), secs(2), 8));
        for bad in [["--max-connections", "0"], ["--idle-timeout", "0s"], ["--body-timeout", "soon"], ["--http2-max-streams", "0"]] {
            assert!(serve(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn store_limits_have_defaults_and_none_lifts_them() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["specstub", "serve"], args].concat())?;
            let Command::Serve(args) = cli.command else { panic!("serve expected") };
            Ok::<_, clap::Error>(args.into_config())
        };
        let c = serve(&[]).unwrap();
        assert_eq!((c.store_max_records, c.store_max_bytes, c.store_evict), (1_000_000, 1 << 30, Eviction::Refuse));
        assert!(c.watch, "serve reloads on changes by default");
        assert!(!serve(&["--no-watch"]).unwrap().watch);
        assert_eq!(c.session_ttl, Some(std::time::Duration::from_secs(3600)));
        let args = ["--store-max-records", "none", "--store-max-bytes", "0", "--store-evict", "oldest-session", "--session-ttl", "none"];
        let c = serve(&args).unwrap();
        assert_eq!((c.store_max_records, c.store_max_bytes, c.store_evict, c.session_ttl), (0, 0, Eviction::OldestSession, None));
        let c = serve(&["--store-max-records", "3", "--store-max-bytes", "64MiB", "--session-ttl", "90s"]).unwrap();
        assert_eq!((c.store_max_records, c.store_max_bytes, c.session_ttl), (3, 64 << 20, Some(std::time::Duration::from_secs(90))));
        assert!(serve(&["--store-max-records", "lots"]).is_err());
        assert!(serve(&["--store-evict", "newest"]).is_err());
        assert!(serve(&["--session-ttl", "soon"]).is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_and_serve_of_the_default_directory_both_take_the_fixtures() {
        // Unit tests run in the crate root, which has both specs/ and fixtures/.
        let fixtures = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["specstub", "serve"], args].concat()).unwrap();
            let Command::Serve(args) = cli.command else { panic!("serve expected") };
            args.into_config().fixtures
        };
        assert_eq!(fixtures(&[]), Some(PathBuf::from("fixtures")));
        assert_eq!(fixtures(&["specs/"]), Some(PathBuf::from("fixtures")));
        assert_eq!(fixtures(&["./specs"]), Some(PathBuf::from("fixtures")));
        assert_eq!(fixtures(&["tests/data/crud.yaml"]), None);
    }
}
