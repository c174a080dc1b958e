//! Traffic control applied around the behaviour step: rate limits (429 with `Retry-After` and
//! RateLimit headers), latency and fault injection, and W3C trace context. It never holds a store
//! lock while it waits: latency is slept by the pipeline after the answer is built, and a stalled
//! body stalls in the server's body stream.
//!
//! Where settings come from, most specific first: the request's `Prefer` header, the command line
//! (`--rate-limit`, `--latency`, `--chaos`), the operation's `x-specstub`, the document's
//! `x-specstub`. Random decisions (fault rates, chaos, latency ranges) come from a stream seeded
//! with `--seed` and the request's arrival number, so the same requests in the same order get the
//! same faults in every run. See docs/traffic.md.

mod fault;
mod latency;
mod ratelimit;
pub mod trace;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

use crate::prefer::Prefer;
use crate::problem::ErrorReply;
use crate::spec::{Operation, Spec};

pub use fault::{CONNECTION_FAULTS, Fault, FaultBody, FaultRule, ResetSwitch, ResettableStream};
pub use latency::{Latency, MAX_LATENCY, Unit, fmt_duration, parse_duration};
pub use ratelimit::{KeyBy, RateLimit, RateLimitRule, Scope};

use ratelimit::Limiter;

/// How the server must break the connection instead of answering normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFault {
    /// Close the connection without any response.
    Reset,
    /// Send the status line and headers, then close before the body.
    Empty,
    /// Send part of the body, then close.
    CutBody,
    /// Send the headers and part of the body, then stop sending (the client must time out).
    Stall,
}

/// What traffic control decided for one request, applied after the answer is built.
#[derive(Debug, Default)]
pub struct Plan {
    pub latency: Option<Duration>,
    pub connection_fault: Option<ConnectionFault>,
    /// Headers to add to the answer (RateLimit, traceparent...).
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// What was injected, for the log and the journal.
    pub injected: Vec<String>,
    /// Answer with this error instead of running the operation (429, an injected 503...).
    pub refusal: Option<ErrorReply>,
}

/// Where a setting came from, as the journal says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Prefer,
    Config,
    Spec,
    Chaos,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Prefer => "prefer",
            Source::Config => "config",
            Source::Spec => "spec",
            Source::Chaos => "chaos",
        }
    }
}

/// The command line's traffic settings; they replace the documents' where they apply.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub rate_limits: Vec<RateLimitRule>,
    pub latency: Option<Latency>,
    /// Share of requests (0..=1) that get a random fault.
    pub chaos: f64,
    /// None picks one (and logs it).
    pub seed: Option<u64>,
}

/// What applies to one operation, compiled once.
#[derive(Debug)]
pub struct Route {
    limiter: Option<usize>,
    latency: Option<(Latency, Source)>,
    faults: Vec<FaultRule>,
    /// What chaos may inject here (declared 429/5xx statuses, then connection faults).
    chaos: Vec<Fault>,
}

impl Route {
    /// Whether a rate limit applies here, whose buckets may live in the remote store.
    pub fn limited(&self) -> bool {
        self.limiter.is_some()
    }

    /// Whether answers here are delayed.
    pub fn delayed(&self) -> bool {
        self.latency.is_some()
    }

    /// Whether faults may be injected here (declared ones or chaos).
    pub fn faulty(&self) -> bool {
        !self.faults.is_empty() || !self.chaos.is_empty()
    }
}

/// The compiled traffic rules of the whole API: the rate limits (one bucket set each, shared by
/// the routes a limit covers), chaos and the seed. Immutable; the buckets live in [`Live`].
#[derive(Debug)]
pub struct Rules {
    limits: Vec<RateLimit>,
    chaos: f64,
    seed: u64,
}

/// The live side of traffic control that outlives a plan: the arrival counter that seeds random
/// decisions, the reset generation and where shared buckets live. Reset by the admin API.
pub struct Live {
    /// Arrival number of the next routed request (restarts on reset).
    arrivals: AtomicU64,
    /// Bumped on reset: buckets of earlier generations are never consulted again.
    generation: AtomicU64,
    /// With `--store redis://`: the pool and key prefix new buckets are shared through.
    sharing: Option<(std::sync::Arc<crate::store::Pool>, String)>,
}

/// The rate-limit buckets of one plan, indexed like its [`Rules`]' limits: they travel with the
/// plan they belong to, so a request never reads buckets by another plan's indices.
pub struct Buckets {
    limiters: Vec<std::sync::Arc<Limiter>>,
}

/// What a reload did to the rate-limit buckets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carried {
    /// Limits unchanged by the reload, whose buckets (and clients' counts) were kept.
    pub kept: usize,
    /// Limits new or changed, whose buckets start empty.
    pub fresh: usize,
}

/// The traffic keys of one `x-specstub` value, read.
#[derive(Debug, Default)]
pub struct Declared {
    /// `Some(None)`: `rateLimit: false` (no limit here, whatever the document says).
    rate_limit: Option<Option<RateLimit>>,
    latency: Option<Latency>,
    faults: Option<Vec<FaultRule>>,
}

impl Rules {
    /// The seed of random faults and latency: `--seed`, or the one chosen at start.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Compiles the rules: `docs` are the documents' declarations (by spec index), `ops` each
    /// operation with its own. Returns the rules and each operation's route (None: nothing
    /// applies there).
    pub fn compile(settings: &Settings, docs: &[Declared], ops: &[(&Operation, &Declared)]) -> (Rules, Vec<Option<Route>>) {
        let mut limits: Vec<RateLimit> = Vec::new();
        let mut add = |l: &RateLimit| -> Option<usize> {
            Limiter::new(l.clone())?;
            limits.push(l.clone());
            Some(limits.len() - 1)
        };
        // Command-line limits: each has one bucket per client, shared by the routes it covers.
        let cli: Vec<(&RateLimitRule, Option<usize>)> = settings.rate_limits.iter().map(|r| (r, add(&r.limit))).collect();
        let global = cli.iter().rev().find(|(r, _)| r.scope == Scope::All).and_then(|(_, i)| *i);
        let doc_limits: Vec<Option<usize>> =
            docs.iter().map(|d| d.rate_limit.as_ref().and_then(|l| l.as_ref()).and_then(&mut add)).collect();
        let chaos = if settings.chaos.is_finite() { settings.chaos.clamp(0.0, 1.0) } else { 0.0 };
        let mut routes = Vec::with_capacity(ops.len());
        let mut random = chaos > 0.0;
        for (op, declared) in ops {
            let no_doc = Declared::default();
            let doc = docs.get(op.spec).unwrap_or(&no_doc);
            let limiter = match cli.iter().find(|(r, _)| r.scope != Scope::All && r.matches(op)) {
                Some((_, i)) => *i,
                None if global.is_some() => global,
                None => match &declared.rate_limit {
                    Some(Some(l)) => add(l),
                    Some(None) => None,
                    None => doc_limits.get(op.spec).copied().flatten(),
                },
            };
            let latency = settings
                .latency
                .map(|l| (l, Source::Config))
                .or(declared.latency.map(|l| (l, Source::Spec)))
                .or(doc.latency.map(|l| (l, Source::Spec)));
            let faults = match (&declared.faults, &doc.faults) {
                (Some(f), _) => f.clone(),
                // A document-wide status fault applies where the operation declares that status.
                (None, Some(f)) => f.iter().filter(|r| declares(op, r.fault)).cloned().collect(),
                (None, None) => Vec::new(),
            };
            let chaos_faults = if chaos > 0.0 { chaos_candidates(op) } else { Vec::new() };
            random |= latency.is_some_and(|(l, _)| l.is_ranged()) || faults.iter().any(|f| f.rate > 0.0 && f.rate < 1.0);
            if limiter.is_none() && latency.is_none() && faults.is_empty() && chaos_faults.is_empty() {
                routes.push(None);
                continue;
            }
            routes.push(Some(Route { limiter, latency, faults, chaos: chaos_faults }));
        }
        let seed = settings.seed.unwrap_or_else(rand::random);
        if random && settings.seed.is_none() {
            tracing::info!(seed, "random faults and latency use seed {seed}; repeat this run with --seed {seed}");
        }
        (Rules { limits, chaos, seed }, routes)
    }
}

impl Route {
    /// The rate limit that applies here, for the admin API's description of operations.
    pub fn rate_limit<'r>(&self, rules: &'r Rules) -> Option<&'r RateLimit> {
        self.limiter.and_then(|i| rules.limits.get(i))
    }

    /// The latency added here and where it was set ("config" or "spec").
    pub fn latency(&self) -> Option<(Latency, &'static str)> {
        self.latency.map(|(l, s)| (l, s.as_str()))
    }

    /// The faults declared for this operation.
    pub fn faults(&self) -> &[FaultRule] {
        &self.faults
    }

    /// Whether `--chaos` may inject a fault here.
    pub fn chaotic(&self) -> bool {
        !self.chaos.is_empty()
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    pub fn new() -> Self {
        Self { arrivals: AtomicU64::new(0), generation: AtomicU64::new(0), sharing: None }
    }

    /// Empty buckets for every limit of `rules`.
    pub fn buckets(&self, rules: &Rules) -> Buckets {
        Buckets { limiters: rules.limits.iter().enumerate().filter_map(|(i, l)| self.limiter(i, l)).collect() }
    }

    /// The buckets for `rules` after a reload from `old_rules`: a limit the reload left as it
    /// was keeps its buckets (each client's count goes on), a new or changed one starts empty.
    pub fn carry(&self, rules: &Rules, old_rules: &Rules, old: &Buckets) -> (Buckets, Carried) {
        let mut taken = vec![false; old.limiters.len()];
        let mut carried = Carried::default();
        let mut limiters = Vec::with_capacity(rules.limits.len());
        for (i, limit) in rules.limits.iter().enumerate() {
            let same = old_rules.limits.iter().enumerate().position(|(j, l)| l == limit && !taken[j] && j < old.limiters.len());
            match same {
                Some(j) => {
                    taken[j] = true;
                    carried.kept += 1;
                    limiters.push(std::sync::Arc::clone(&old.limiters[j]));
                }
                None => {
                    carried.fresh += 1;
                    limiters.extend(self.limiter(i, limit));
                }
            }
        }
        (Buckets { limiters }, carried)
    }

    fn limiter(&self, index: usize, limit: &RateLimit) -> Option<std::sync::Arc<Limiter>> {
        let mut l = Limiter::new(limit.clone())?;
        if let Some((pool, prefix)) = &self.sharing {
            l.share(ratelimit::Shared::new(std::sync::Arc::clone(pool), prefix, index, limit));
        }
        Some(std::sync::Arc::new(l))
    }

    /// Decides the plan for a routed request; a plan with a refusal answers with that error.
    /// `buckets` must be those of the plan `rules` and `route` come from.
    pub fn admit(&self, rules: &Rules, buckets: &Buckets, route: Option<&Route>, at: Arrival<'_>) -> Plan {
        let Arrival { spec, op, req, peer, prefer } = at;
        let mut plan = Plan { headers: trace::answer_headers(req.headers()), ..Plan::default() };
        let arrival = self.arrivals.fetch_add(1, Ordering::Relaxed);

        if let Some(limiter) = route.and_then(|r| r.limiter).and_then(|i| buckets.limiters.get(i)) {
            let key = ratelimit::client_key(&limiter.limit.key, spec, op, req.headers(), req.uri().query().unwrap_or(""), peer);
            let verdict = match limiter.check_any(self.generation.load(Ordering::Relaxed), key) {
                Ok(v) => v,
                Err(e) => {
                    plan.injected.push("rate-limit=503 (store unavailable)".into());
                    let e = ErrorReply::new(StatusCode::SERVICE_UNAVAILABLE, format!("cannot check the rate limit: {e}"))
                        .with_header(http::header::RETRY_AFTER, "1")
                        .kept();
                    plan.refusal = Some(e);
                    return plan;
                }
            };
            plan.headers.extend(limiter.headers(&verdict));
            if !verdict.allowed {
                let l = &limiter.limit;
                plan.injected.push(format!("rate-limit=429 (policy {}, retry after {}s)", l.name, verdict.retry_after));
                let detail = format!(
                    "too many requests: the limit is {} per {}s for each {}; retry after {} second(s)",
                    l.limit,
                    l.period.as_secs(),
                    match &l.key {
                        KeyBy::Credential => "credential (or client IP)".to_string(),
                        KeyBy::Ip => "client IP".to_string(),
                        KeyBy::Header(h) => format!("{h} header value (or client IP)"),
                    },
                    verdict.retry_after
                );
                let e = ErrorReply::new(StatusCode::TOO_MANY_REQUESTS, detail)
                    .with_header(http::header::RETRY_AFTER, verdict.retry_after.to_string())
                    .kept();
                plan.refusal = Some(e);
                return plan;
            }
        }

        let (asked_latency, asked_fault) = match asked(op, prefer) {
            Ok(a) => a,
            Err(e) => {
                plan.refusal = Some(e);
                return plan;
            }
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(rules.seed ^ arrival.wrapping_mul(0x9E37_79B9_7F4A_7C15));

        let latency = asked_latency.map(|l| (l, Source::Prefer)).or_else(|| route.and_then(|r| r.latency));
        if let Some((l, source)) = latency {
            let d = l.sample(&mut rng);
            if !d.is_zero() {
                plan.latency = Some(d);
                plan.injected.push(format!("latency={} ({})", fmt_duration(d), source.as_str()));
            }
        }

        let fault = asked_fault.map(|f| (f, None, Source::Prefer)).or_else(|| {
            let r = route?;
            let declared = r.faults.iter().find(|f| f.rate >= 1.0 || (f.rate > 0.0 && rng.random::<f64>() < f.rate));
            if let Some(f) = declared {
                return Some((f.fault, f.retry_after, Source::Spec));
            }
            if rules.chaos > 0.0 && !r.chaos.is_empty() && rng.random::<f64>() < rules.chaos {
                return Some((r.chaos[rng.random_range(0..r.chaos.len())], None, Source::Chaos));
            }
            None
        });
        if let Some((f, retry_after, source)) = fault {
            plan.injected.push(format!("fault={f} ({})", source.as_str()));
            match f {
                Fault::Connection(c) => plan.connection_fault = Some(c),
                Fault::Status(s) => {
                    let status = StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                    let reason = status.canonical_reason().unwrap_or("error");
                    let default_wait = matches!(s, 429 | 503).then_some(Duration::from_secs(1));
                    let secs = retry_after.or(default_wait).map(|wait| wait.as_nanos().div_ceil(1_000_000_000).max(1));
                    // The body names the wait the header gives, so that the two never disagree.
                    let wait = secs.map(|n| format!("; retry after {n} second(s)")).unwrap_or_default();
                    let mut e = ErrorReply::new(status, format!("injected fault: {s} {reason} ({}){wait}", source.as_str())).kept();
                    if let Some(secs) = secs {
                        e = e.with_header(http::header::RETRY_AFTER, secs.to_string());
                    }
                    plan.refusal = Some(e);
                }
            }
        }
        plan
    }

    /// Empties every rate-limit bucket (the admin reset), and restarts the seeded sequence of
    /// random decisions so that a test can replay it.
    pub fn reset(&self, buckets: &Buckets) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.arrivals.store(0, Ordering::Relaxed);
        for l in &buckets.limiters {
            l.sweep();
        }
        // All shared limiters read one generation key: one bump empties them all.
        if let Some(shared) = buckets.limiters.iter().find_map(|l| l.shared()) {
            if let Err(e) = shared.reset() {
                tracing::error!(error = %e, "cannot reset the shared rate-limit buckets");
            }
        }
    }

    /// Keeps the rate-limit buckets made from now on in Redis (with `--store redis://`), so that
    /// limits hold across every instance sharing the store.
    pub fn share_limits(&mut self, pool: std::sync::Arc<crate::store::Pool>, prefix: &str) {
        self.sharing = Some((pool, prefix.to_string()));
    }
}

/// Adds the plan's headers and fault marker to the answer. The trace headers replace any the
/// spec declares (an example `tracestate` must not pose as the caller's).
pub fn finish(plan: &Plan, response: &mut Response<Bytes>) {
    let headers = response.headers_mut();
    if plan.headers.iter().any(|(k, _)| *k == trace::TRACEPARENT) {
        headers.remove(trace::TRACESTATE);
    }
    for (k, v) in &plan.headers {
        headers.insert(k.clone(), v.clone());
    }
    if let Some(f) = plan.connection_fault {
        response.extensions_mut().insert(f);
    }
}

/// A routed request, as traffic control sees it.
pub struct Arrival<'a> {
    pub spec: &'a Spec,
    pub op: &'a Operation,
    pub req: &'a Request<Bytes>,
    pub peer: Option<SocketAddr>,
    pub prefer: &'a Prefer,
}

/// What the request asks for with `Prefer: latency=...` and `Prefer: fault=...`; a malformed or
/// undeclared one is a 400 that says what would be accepted.
fn asked(op: &Operation, prefer: &Prefer) -> Result<(Option<Latency>, Option<Fault>), ErrorReply> {
    let bad = |msg: String| ErrorReply::new(StatusCode::BAD_REQUEST, msg);
    let latency = match prefer.get("latency") {
        None => None,
        Some(v) => Some(
            v.parse::<Latency>().map_err(|e| bad(format!("Prefer: latency={v} is not a latency such as 300ms or 100ms..500ms: {e}")))?,
        ),
    };
    let fault = match prefer.get("fault") {
        None => None,
        Some(v) => {
            let f: Fault = v.parse().map_err(|e| bad(format!("Prefer: fault={v}: {e}")))?;
            if !declares(op, f) {
                let declared: Vec<&str> = op.responses.iter().map(|r| r.code.as_str()).collect();
                return Err(bad(format!(
                    "Prefer: fault={v} is not declared by this operation; declared: {} (or a connection fault: reset, empty, cut, stall)",
                    declared.join(", ")
                )));
            }
            Some(f)
        }
    };
    Ok((latency, fault))
}

/// Connection faults fit every operation; a status fault only one that declares the status.
fn declares(op: &Operation, f: Fault) -> bool {
    match f {
        Fault::Connection(_) => true,
        Fault::Status(s) => op.response_for(s).is_some(),
    }
}

/// What chaos may inject into `op`: its declared 429 and 5xx statuses (500 and 503 for a `5XX`
/// range or `default`), then every connection fault.
fn chaos_candidates(op: &Operation) -> Vec<Fault> {
    let mut statuses: Vec<u16> =
        op.responses.iter().filter_map(|r| r.code.parse::<u16>().ok()).filter(|c| *c == 429 || (500..=599).contains(c)).collect();
    if op.responses.iter().any(|r| r.code == "5XX" || r.code == "default") {
        statuses.extend([500, 503]);
    }
    statuses.sort_unstable();
    statuses.dedup();
    statuses.into_iter().map(Fault::Status).chain(CONNECTION_FAULTS.map(Fault::Connection)).collect()
}

impl Declared {
    /// Reads the values of the traffic keys of one `x-specstub` (`op`: the operation's own, whose
    /// faults must name statuses it declares); errors are (sub-pointer under the key, message).
    pub fn read(
        rate_limit: Option<&Value>,
        latency: Option<&Value>,
        faults: Option<&Value>,
        op: Option<&Operation>,
    ) -> (Declared, Vec<(String, String)>) {
        let mut d = Declared::default();
        let mut errors = Vec::new();
        if let Some(v) = rate_limit {
            match RateLimit::from_json(v) {
                Ok(l) => d.rate_limit = Some(l),
                Err((sub, msg)) => errors.push((format!("/rateLimit{sub}"), msg)),
            }
        }
        match latency {
            None => {}
            Some(Value::String(s)) => match s.parse::<Latency>() {
                Ok(l) => d.latency = Some(l),
                Err(e) => errors.push(("/latency".into(), e)),
            },
            Some(Value::Number(n)) => match n.as_u64().map(|ms| Latency::fixed(Duration::from_millis(ms))) {
                Some(l) if l.max <= MAX_LATENCY => d.latency = Some(l),
                _ => errors.push(("/latency".into(), "a latency is milliseconds, or a string such as 50ms..200ms".into())),
            },
            Some(_) => errors.push(("/latency".into(), "a latency is a string such as 200ms or 50ms..200ms".into())),
        }
        match faults {
            None => {}
            Some(Value::Array(items)) => {
                let mut rules = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match FaultRule::from_json(item) {
                        Ok(r) => match op {
                            Some(op) if !declares(op, r.fault) => {
                                let declared: Vec<&str> = op.responses.iter().map(|r| r.code.as_str()).collect();
                                errors.push((
                                    format!("/faults/{i}/fault"),
                                    format!("{} is not a status this operation declares ({})", r.fault, declared.join(", ")),
                                ));
                            }
                            _ => rules.push(r),
                        },
                        Err((sub, msg)) => errors.push((format!("/faults/{i}{sub}"), msg)),
                    }
                }
                d.faults = Some(rules);
            }
            Some(_) => errors.push(("/faults".into(), "faults is a list such as [{fault: 503, rate: 0.1}]".into())),
        }
        (d, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::spec::SpecSet;
    use serde_json::json;
    use std::collections::HashMap;

    /// The rules as the compiler builds them, with the live side.
    struct Traffic {
        rules: Rules,
        routes: Vec<Option<Route>>,
        live: Live,
        buckets: Buckets,
        ops: Vec<String>,
    }

    impl Traffic {
        fn new(config: &Config, set: &SpecSet) -> Self {
            let settings =
                Settings { rate_limits: config.rate_limits.clone(), latency: config.latency, chaos: config.chaos, seed: config.seed };
            let read = |x: &Value, op: Option<&Operation>| Declared::read(x.get("rateLimit"), x.get("latency"), x.get("faults"), op).0;
            let docs: Vec<Declared> = set.specs.iter().map(|s| read(&s.extension, None)).collect();
            let ops: Vec<Declared> = set.operations.iter().map(|o| read(&o.extension, Some(o))).collect();
            let pairs: Vec<(&Operation, &Declared)> = set.operations.iter().zip(&ops).collect();
            let (rules, routes) = Rules::compile(&settings, &docs, &pairs);
            let live = Live::new();
            let buckets = live.buckets(&rules);
            Self { rules, routes, live, buckets, ops: set.operations.iter().map(|o| o.id.clone()).collect() }
        }

        fn route(&self, op: &Operation) -> Option<&Route> {
            let i = self.ops.iter().position(|id| *id == op.id)?;
            self.routes[i].as_ref()
        }

        fn limit_of(&self, op: &Operation) -> u32 {
            self.rules.limits[self.route(op).unwrap().limiter.unwrap()].limit
        }

        fn admit(&self, spec: &Spec, op: &Operation, req: &Request<Bytes>, peer: Option<SocketAddr>) -> Plan {
            let prefer = crate::prefer::parse(req.headers());
            self.live.admit(&self.rules, &self.buckets, self.route(op), Arrival { spec, op, req, peer, prefer: &prefer })
        }

        fn reset(&self) {
            self.live.reset(&self.buckets);
        }
    }

    fn problems(set: SpecSet) -> Vec<crate::spec::Problem> {
        match crate::plan::compile(set, Config::default()) {
            Ok((_, p)) | Err(p) => p,
        }
    }

    fn load(doc: Value) -> SpecSet {
        let dir = std::env::temp_dir().join(format!("specstub-traffic-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("api.json");
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let (set, problems) = crate::spec::load(&[file], &Default::default());
        let _ = std::fs::remove_dir_all(&dir);
        set.unwrap_or_else(|| panic!("{problems:?}"))
    }

    fn doc(op_ext: Value, doc_ext: Value) -> Value {
        let mut d = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/things": {"get": {"operationId": "list", "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"example": [1, 2, 3]}}},
                    "429": {"description": "slow down"},
                    "503": {"description": "down"}
                }}},
                "/other": {"post": {"operationId": "other", "responses": {"201": {"description": "ok"}}}}
            }
        });
        if !op_ext.is_null() {
            d["paths"]["/things"]["get"]["x-specstub"] = op_ext;
        }
        if !doc_ext.is_null() {
            d["x-specstub"] = doc_ext;
        }
        d
    }

    fn request(prefer: Option<&str>) -> Request<Bytes> {
        let mut b = Request::builder().uri("/things");
        if let Some(p) = prefer {
            b = b.header("prefer", p);
        }
        b.body(Bytes::new()).unwrap()
    }

    #[test]
    fn mistakes_in_declarations_are_load_problems_with_pointers() {
        let set = load(doc(
            json!({"rateLimit": {"limit": 0}, "latency": "soon", "faults": [{"fault": 500}, {"fault": "reset", "rate": 3}]}),
            json!({"rateLimit": "ten per second"}),
        ));
        let p: Vec<String> = problems(set).iter().map(|p| p.pointer.clone()).collect();
        assert_eq!(
            p,
            [
                "/x-specstub/rateLimit",
                "/paths/~1things/get/x-specstub/rateLimit",
                "/paths/~1things/get/x-specstub/latency",
                "/paths/~1things/get/x-specstub/faults/0/fault",
                "/paths/~1things/get/x-specstub/faults/1/rate",
            ]
        );
    }

    #[test]
    fn operation_declarations_override_the_document_and_the_command_line_overrides_both() {
        let set = load(doc(json!({"rateLimit": "2/s"}), json!({"rateLimit": "5/s", "latency": "10ms"})));
        let t = Traffic::new(&Config::default(), &set);
        let (list, other) = (&set.operations[0], &set.operations[1]);
        assert_eq!(t.limit_of(list), 2);
        assert_eq!(t.limit_of(other), 5);
        assert_eq!(t.route(other).unwrap().latency, Some((Latency::fixed(Duration::from_millis(10)), Source::Spec)));
        let config = Config { rate_limits: vec!["POST /other=7/s".parse().unwrap(), "9/s".parse().unwrap()], ..Config::default() };
        let t = Traffic::new(&config, &set);
        assert_eq!(t.limit_of(list), 9);
        assert_eq!(t.limit_of(other), 7);
        let set = load(doc(json!({"rateLimit": false}), json!({"rateLimit": "5/s"})));
        let t = Traffic::new(&Config::default(), &set);
        assert!(t.route(&set.operations[0]).is_none());
    }

    #[test]
    fn a_limited_request_is_refused_with_429_retry_after_and_ratelimit_headers() {
        let set = load(doc(json!({"rateLimit": {"limit": 1, "period": "2s", "key": "ip"}}), Value::Null));
        let t = Traffic::new(&Config::default(), &set);
        let (spec, op) = (&set.specs[0], &set.operations[0]);
        let first = t.admit(spec, op, &request(None), None);
        assert!(first.refusal.is_none());
        let second = t.admit(spec, op, &request(None), None);
        let e = second.refusal.expect("429");
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.headers, [(http::header::RETRY_AFTER, "2".to_string())]);
        let h: HashMap<String, String> = second.headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string())).collect();
        assert_eq!(h["ratelimit-policy"], "\"default\";q=1;w=2");
        assert_eq!(h["ratelimit"], "\"default\";r=0;t=2");
        assert!(h.contains_key("traceparent"));
        assert_eq!(second.injected, ["rate-limit=429 (policy default, retry after 2s)"]);
        t.reset();
        assert!(t.admit(spec, op, &request(None), None).refusal.is_none());
    }

    #[test]
    fn a_reload_keeps_the_buckets_of_unchanged_limits_and_empties_changed_ones() {
        // Arrange: one request per minute on /things, used up.
        let limited = |limit: Value| load(doc(json!({"rateLimit": limit}), json!({"rateLimit": "50/s"})));
        let old_set = limited(json!({"limit": 1, "period": "1min", "key": "ip"}));
        let old = Traffic::new(&Config::default(), &old_set);
        let (spec, op) = (&old_set.specs[0], &old_set.operations[0]);
        assert!(old.admit(spec, op, &request(None), None).refusal.is_none());
        assert!(old.admit(spec, op, &request(None), None).refusal.is_some());
        let swapped = |set: &SpecSet| {
            let mut next = Traffic::new(&Config::default(), set);
            let (buckets, carried) = old.live.carry(&next.rules, &old.rules, &old.buckets);
            next.buckets = buckets;
            (next, carried)
        };
        // Act: the same limit, in a plan whose document-wide limit changed.
        let same_set = load(doc(json!({"rateLimit": {"limit": 1, "period": "1min", "key": "ip"}}), json!({"rateLimit": "60/s"})));
        let (same, carried) = swapped(&same_set);
        // Assert: still used up; the changed document limit starts empty.
        assert_eq!(carried, Carried { kept: 1, fresh: 1 });
        assert!(same.admit(&same_set.specs[0], &same_set.operations[0], &request(None), None).refusal.is_some());
        // Act: the limit itself changed.
        let changed_set = limited(json!({"limit": 2, "period": "1min", "key": "ip"}));
        let (changed, carried) = swapped(&changed_set);
        // Assert
        assert_eq!(carried, Carried { kept: 1, fresh: 1 });
        assert!(changed.admit(&changed_set.specs[0], &changed_set.operations[0], &request(None), None).refusal.is_none());
    }

    #[test]
    fn prefer_asks_for_latency_and_declared_faults_only() {
        let set = load(doc(Value::Null, Value::Null));
        let t = Traffic::new(&Config::default(), &set);
        let (spec, op) = (&set.specs[0], &set.operations[0]);
        let p = t.admit(spec, op, &request(Some("latency=300ms, fault=cut")), None);
        assert_eq!(p.latency, Some(Duration::from_millis(300)));
        assert_eq!(p.connection_fault, Some(ConnectionFault::CutBody));
        assert_eq!(p.injected, ["latency=300ms (prefer)", "fault=cut (prefer)"]);
        let p = t.admit(spec, op, &request(Some("fault=503")), None);
        let e = p.refusal.unwrap();
        assert_eq!((e.status.as_u16(), e.headers[0].1.as_str()), (503, "1"));
        let e = t.admit(spec, op, &request(Some("fault=500")), None).refusal.unwrap();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.detail.contains("declared: 200, 429, 503"), "{}", e.detail);
        let e = t.admit(spec, op, &request(Some("latency=soon")), None).refusal.unwrap();
        assert!(e.detail.starts_with("Prefer: latency=soon"), "{}", e.detail);
    }

    #[test]
    fn finish_replaces_declared_trace_headers_and_marks_connection_faults() {
        let set = load(doc(Value::Null, Value::Null));
        let t = Traffic::new(&Config::default(), &set);
        let plan = t.admit(&set.specs[0], &set.operations[0], &request(Some("fault=stall")), None);
        let mut r = Response::builder()
            .header("traceparent", "00-11111111111111111111111111111111-2222222222222222-01")
            .header("tracestate", "example=1")
            .body(Bytes::new())
            .unwrap();
        finish(&plan, &mut r);
        assert!(!r.headers()["traceparent"].to_str().unwrap().contains("1111111111"));
        assert!(r.headers().get("tracestate").is_none());
        assert_eq!(r.extensions().get::<ConnectionFault>(), Some(&ConnectionFault::Stall));
    }

    fn chaos_run(t: &Traffic, set: &SpecSet, n: usize) -> Vec<Vec<String>> {
        (0..n).map(|_| t.admit(&set.specs[0], &set.operations[0], &request(None), None).injected).collect()
    }

    #[test]
    fn seeded_chaos_repeats_and_a_reset_replays_it() {
        let set = load(doc(Value::Null, Value::Null));
        let config = Config { chaos: 0.5, seed: Some(42), latency: Some("1ms..50ms".parse().unwrap()), ..Config::default() };
        let a = chaos_run(&Traffic::new(&config, &set), &set, 40);
        let b = Traffic::new(&config, &set);
        assert_eq!(chaos_run(&b, &set, 40), a);
        b.reset();
        assert_eq!(chaos_run(&b, &set, 40), a);
        let faults = a.iter().filter(|i| i.iter().any(|x| x.starts_with("fault="))).count();
        assert!((8..=32).contains(&faults), "about half of 40 should fail, got {faults}: {a:?}");
        let other = Traffic::new(&Config { seed: Some(43), ..config }, &set);
        assert_ne!(chaos_run(&other, &set, 40), a);
        assert_eq!(
            chaos_candidates(&set.operations[0]).iter().map(Fault::to_string).collect::<Vec<_>>(),
            ["429", "503", "reset", "empty", "cut", "stall"]
        );
    }

    #[test]
    fn declared_fault_rates_fire_always_never_or_sometimes() {
        let set = load(doc(json!({"faults": [{"fault": 503, "rate": 1, "retryAfter": "3s"}]}), Value::Null));
        let t = Traffic::new(&Config::default(), &set);
        let p = t.admit(&set.specs[0], &set.operations[0], &request(None), None);
        assert_eq!(p.injected, ["fault=503 (spec)"]);
        assert_eq!(p.refusal.unwrap().headers[0].1, "3");
        // A document-wide status fault skips operations that do not declare it.
        let set = load(doc(Value::Null, json!({"faults": [{"fault": 503}]})));
        let t = Traffic::new(&Config::default(), &set);
        assert!(t.route(&set.operations[0]).is_some());
        assert!(t.route(&set.operations[1]).is_none());
    }
}
