//! Token-bucket rate limits per client key (GCRA, by the `governor` crate), what they are
//! declared as (`10/s`, `{limit: 10, period: 1s}`, `PUT /demand/**=5/s`), and the answer headers:
//! `RateLimit-Policy` and `RateLimit` as draft-ietf-httpapi-ratelimit-headers-10 defines them
//! (structured fields: `"default";q=10;w=1` and `"default";r=3;t=1`), and `Retry-After` on a 429.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

use super::latency::{Unit, parse_duration};
use crate::spec::{Operation, ParamIn, SecurityScheme, Spec};

pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Longest client key kept (a longer credential is cut; it still identifies the caller).
const MAX_KEY: usize = 512;
/// Forget buckets that are full again every this many checks, so keys do not pile up.
const SWEEP_EVERY: u64 = 4096;

/// Who shares a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBy {
    /// The caller's credential (bearer token, basic user, API key); the client IP without one.
    Credential,
    /// The client IP (the TCP peer; forwarding headers are not trusted).
    Ip,
    /// The value of this request header; the client IP without it.
    Header(HeaderName),
}

impl FromStr for KeyBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "credential" => Ok(KeyBy::Credential),
            "ip" => Ok(KeyBy::Ip),
            other => match other.strip_prefix("header:") {
                Some(name) => {
                    HeaderName::from_bytes(name.trim().as_bytes()).map(KeyBy::Header).map_err(|_| format!("{name:?} is not a header name"))
                }
                None => Err(format!("unknown key {other:?}: use credential, ip or header:NAME")),
            },
        }
    }
}

impl fmt::Display for KeyBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyBy::Credential => f.write_str("credential"),
            KeyBy::Ip => f.write_str("ip"),
            KeyBy::Header(h) => write!(f, "header:{h}"),
        }
    }
}

/// `limit` requests per `period` for each client key, with bursts up to `burst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u32,
    pub period: Duration,
    pub burst: u32,
    pub key: KeyBy,
    /// The policy name in the RateLimit headers.
    pub name: String,
}

impl RateLimit {
    pub fn new(limit: u32, period: Duration) -> Result<Self, String> {
        let r = Self { limit, period, burst: limit, key: KeyBy::Credential, name: "default".into() };
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<(), String> {
        if self.limit == 0 {
            return Err("the limit must be at least 1 (use rateLimit: false for no limit)".into());
        }
        if self.burst == 0 {
            return Err("the burst must be at least 1".into());
        }
        if self.period < Duration::from_secs(1) || self.period.subsec_nanos() != 0 {
            return Err(format!(
                "the period must be a whole number of seconds, at least 1s (RateLimit-Policy gives it in seconds); got {:?}",
                self.period
            ));
        }
        if self.quota().is_none() {
            return Err(format!("{} requests per {}s is more than specstub can count", self.limit, self.period.as_secs()));
        }
        if self.name.is_empty() || !self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(format!("the policy name {:?} may use only letters, digits, '-', '_' and '.'", self.name));
        }
        Ok(())
    }

    fn quota(&self) -> Option<Quota> {
        let burst = NonZeroU32::new(self.burst)?;
        Some(Quota::with_period(self.period / self.limit)?.allow_burst(burst))
    }

    /// Reads a spec declaration: `"10/s"`, `{limit: 10, period: 1s, burst: 20, key: ip, name: x}`;
    /// `false` or `null` means no limit. Errors name the sub-pointer that is wrong.
    pub fn from_json(v: &Value) -> Result<Option<Self>, (String, String)> {
        match v {
            Value::Null | Value::Bool(false) => Ok(None),
            Value::String(s) => s.parse().map(Some).map_err(|e| (String::new(), e)),
            Value::Object(o) => {
                for k in o.keys() {
                    if !["limit", "period", "burst", "key", "name"].contains(&k.as_str()) {
                        return Err((format!("/{k}"), format!("unknown key {k:?}: use limit, period, burst, key, name")));
                    }
                }
                let limit = o
                    .get("limit")
                    .and_then(Value::as_u64)
                    .and_then(|l| u32::try_from(l).ok())
                    .ok_or(("/limit".to_string(), "`limit` (requests per period, a positive integer) is required".to_string()))?;
                let period = match o.get("period") {
                    None => Duration::from_secs(1),
                    Some(Value::Number(n)) => {
                        let secs =
                            n.as_f64().filter(|s| *s > 0.0 && *s < 1e9).ok_or(("/period".to_string(), "not a duration".to_string()))?;
                        Duration::from_secs_f64(secs)
                    }
                    Some(Value::String(s)) => parse_period(s).map_err(|e| ("/period".to_string(), e))?,
                    Some(_) => return Err(("/period".into(), "use a duration such as 1s, 1min or 1h".into())),
                };
                let mut r = Self { limit, period, burst: limit, key: KeyBy::Credential, name: "default".into() };
                if let Some(b) = o.get("burst") {
                    r.burst = b
                        .as_u64()
                        .and_then(|b| u32::try_from(b).ok())
                        .ok_or(("/burst".to_string(), "`burst` must be a positive integer".to_string()))?;
                }
                if let Some(k) = o.get("key") {
                    r.key = k.as_str().ok_or("not a string".to_string()).and_then(str::parse).map_err(|e| ("/key".to_string(), e))?;
                }
                if let Some(n) = o.get("name") {
                    r.name = n.as_str().ok_or(("/name".to_string(), "not a string".to_string()))?.to_string();
                }
                r.check().map_err(|e| (String::new(), e))?;
                Ok(Some(r))
            }
            _ => Err((String::new(), "use {limit: 10, period: 1s}, a string such as \"10/s\", or false".into())),
        }
    }
}

/// `s`, `min`, `h`, `d` (one of them) or a duration such as `10s`, `5min`; a bare number is seconds.
fn parse_period(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.starts_with(|c: char| c.is_ascii_alphabetic()) {
        parse_duration(&format!("1{t}"), Unit::Seconds)
    } else {
        parse_duration(t, Unit::Seconds)
    }
}

impl FromStr for RateLimit {
    type Err = String;

    /// `LIMIT/PERIOD[,burst=N][,key=credential|ip|header:NAME][,name=NAME]`, e.g. `100/s`,
    /// `1000/h,burst=50`, `5/10s,key=ip`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let rate = parts.next().unwrap_or("").trim();
        let (limit, period) = rate.split_once('/').ok_or(format!("{rate:?} is not a rate such as 100/s, 10/min or 5/10s"))?;
        let limit: u32 = limit.trim().parse().map_err(|_| format!("{limit:?} is not a number of requests"))?;
        let mut r = Self { limit, period: parse_period(period)?, burst: limit, key: KeyBy::Credential, name: "default".into() };
        for opt in parts {
            let (k, v) = opt.split_once('=').ok_or(format!("{opt:?}: expected burst=N, key=... or name=..."))?;
            match k.trim() {
                "burst" => r.burst = v.trim().parse().map_err(|_| format!("burst {v:?} is not a number"))?,
                "key" => r.key = v.parse()?,
                "name" => r.name = v.trim().to_string(),
                other => return Err(format!("unknown option {other:?}: use burst, key or name")),
            }
        }
        r.check()?;
        Ok(r)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.limit, self.period.as_secs())?;
        if self.burst != self.limit {
            write!(f, ",burst={}", self.burst)?;
        }
        if self.key != KeyBy::Credential {
            write!(f, ",key={}", self.key)?;
        }
        if self.name != "default" {
            write!(f, ",name={}", self.name)?;
        }
        Ok(())
    }
}

/// Which operations a command-line limit covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every operation.
    All,
    /// `[METHOD] /path/glob`: `*` is one path segment (or part of one), `**` any number of them.
    Route { method: Option<Method>, path: Option<String> },
    /// One operation by its operationId.
    Operation(String),
}

/// A command-line limit: `100/s` for every route, `PUT /demand/**=5/s` for some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRule {
    pub scope: Scope,
    pub limit: RateLimit,
}

impl FromStr for RateLimitRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        // A scope comes before the first '=' unless the text starts with the rate itself.
        let scoped = !s.starts_with(|c: char| c.is_ascii_digit()) && s.contains('=');
        if !scoped {
            return Ok(Self { scope: Scope::All, limit: s.parse()? });
        }
        let (scope, rate) = s.split_once('=').unwrap_or((s, ""));
        let scope = scope.trim();
        let words: Vec<&str> = scope.split_whitespace().collect();
        let method = |m: &str| -> Result<Option<Method>, String> {
            if m == "*" || m.eq_ignore_ascii_case("any") {
                return Ok(None);
            }
            let upper = m.to_ascii_uppercase();
            if !crate::spec::walk::METHODS.contains(&m.to_ascii_lowercase().as_str()) {
                return Err(format!("{m:?} is not an HTTP method"));
            }
            Method::from_bytes(upper.as_bytes()).map(Some).map_err(|_| format!("{m:?} is not an HTTP method"))
        };
        let scope = match words.as_slice() {
            [path] if path.starts_with('/') => Scope::Route { method: None, path: Some(path.to_string()) },
            [m, path] if path.starts_with('/') => Scope::Route { method: method(m)?, path: Some(path.to_string()) },
            [m] if method(m).is_ok() && m.chars().all(|c| c.is_ascii_uppercase() || c == '*') => {
                Scope::Route { method: method(m)?, path: None }
            }
            [id] => Scope::Operation(id.to_string()),
            _ => return Err(format!("{scope:?}: expected `METHOD /path`, `/path`, `METHOD` or an operationId before '='")),
        };
        Ok(Self { scope, limit: rate.parse()? })
    }
}

impl fmt::Display for RateLimitRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Scope::All => {}
            Scope::Route { method, path } => {
                let m = method.as_ref().map(Method::as_str).unwrap_or("*");
                match path {
                    Some(p) => write!(f, "{m} {p}=")?,
                    None => write!(f, "{m}=")?,
                }
            }
            Scope::Operation(id) => write!(f, "{id}=")?,
        }
        write!(f, "{}", self.limit)
    }
}

impl RateLimitRule {
    pub fn matches(&self, op: &Operation) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Operation(id) => op.id == *id,
            Scope::Route { method, path } => {
                let method_ok = method.as_ref().is_none_or(|m| *m == op.method || (*m == Method::HEAD && op.method == Method::GET));
                method_ok && path.as_deref().is_none_or(|p| path_matches(p, &op.served_path) || path_matches(p, &op.path))
            }
        }
    }
}

/// Matches a path template (`/runs/{id}`) against a glob (`/runs/*`, `/runs/**`, `/runs/{x}`).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let split = |s: &'_ str| -> Vec<String> { s.trim_matches('/').split('/').filter(|x| !x.is_empty()).map(String::from).collect() };
    let (p, t) = (split(pattern), split(path));
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    let t: Vec<&str> = t.iter().map(String::as_str).collect();
    glob(&p, &t)
}

fn glob(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| glob(rest, &path[i..])),
        Some((seg, rest)) => path.split_first().is_some_and(|(s, tail)| segment_matches(seg, s) && glob(rest, tail)),
    }
}

fn segment_matches(pattern: &str, seg: &str) -> bool {
    if pattern == "*" || (pattern.starts_with('{') && pattern.ends_with('}')) {
        return true;
    }
    if !pattern.contains('*') {
        return pattern == seg;
    }
    // `*` inside a segment: the literal pieces in order.
    let pieces: Vec<&str> = pattern.split('*').collect();
    let mut rest = seg;
    for (i, piece) in pieces.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(piece) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == pieces.len() - 1 {
            return rest.ends_with(piece);
        } else {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
    }
    true
}

type Keyed = RateLimiter<(u64, String), DefaultKeyedStateStore<(u64, String)>, DefaultClock, StateInformationMiddleware>;

/// One bucket per client key for one declared limit.
pub(crate) struct Limiter {
    pub limit: RateLimit,
    keyed: Keyed,
    policy: HeaderValue,
    checks: AtomicU64,
    /// With a Redis store the buckets live there, shared by every instance.
    shared: Option<Shared>,
}

/// GCRA on Redis, one atomic script per check. Time is Redis's own (TIME), so instances whose
/// clocks differ still agree. The generation (bumped by an admin reset) is part of the key, so a
/// reset on one instance empties the buckets for all; old keys expire when they would be full.
const GCRA: &str = r#"
local gen = redis.call('GET', KEYS[1]) or '0'
local key = ARGV[1] .. gen .. ':' .. ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', key) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then return {0, 0, allow_at - now} end
redis.call('SET', key, string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), new_tat - now}
"#;

pub(crate) struct Shared {
    pool: std::sync::Arc<crate::store::Pool>,
    script: redis::Script,
    generation: String,
    buckets: String,
    /// Which limit: instances with the same settings agree on it.
    id: String,
}

impl Shared {
    pub fn new(pool: std::sync::Arc<crate::store::Pool>, prefix: &str, index: usize, limit: &RateLimit) -> Self {
        Self {
            pool,
            script: redis::Script::new(GCRA),
            generation: format!("{prefix}:rl:gen"),
            buckets: format!("{prefix}:rl:"),
            id: format!("{index}:{limit}"),
        }
    }

    /// Starts every bucket afresh, on every instance.
    pub fn reset(&self) -> Result<(), crate::store::StoreError> {
        self.pool.run(|c| redis::cmd("INCR").arg(&self.generation).query::<i64>(c)).map(|_| ())
    }
}

/// What a check decided, with what the headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub allowed: bool,
    /// Requests left now.
    pub remaining: u32,
    /// Whole seconds until the bucket is full again.
    pub reset: u64,
    /// Whole seconds until the next request is allowed (0 when allowed now).
    pub retry_after: u64,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Option<Self> {
        let quota = limit.quota()?;
        let keyed = RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>();
        let policy = HeaderValue::from_str(&format!("\"{}\";q={};w={}", limit.name, limit.limit, limit.period.as_secs())).ok()?;
        Some(Self { limit, keyed, policy, checks: AtomicU64::new(0), shared: None })
    }

    pub fn share(&mut self, shared: Shared) {
        self.shared = Some(shared);
    }

    pub fn shared(&self) -> Option<&Shared> {
        self.shared.as_ref()
    }

    /// Like [`check`](Self::check), on the shared buckets when there are some; an error when the
    /// store cannot be reached.
    pub fn check_any(&self, generation: u64, key: String) -> Result<Verdict, crate::store::StoreError> {
        let Some(shared) = &self.shared else { return Ok(self.check(generation, key)) };
        let interval = self.limit.period / self.limit.limit;
        let micros = (interval.as_micros() as u64).max(1);
        let bucket = format!("{}:{key}", shared.id);
        let (allowed, remaining, wait): (i64, i64, i64) = shared
            .pool
            .run(|c| shared.script.key(&shared.generation).arg(&shared.buckets).arg(&bucket).arg(micros).arg(self.limit.burst).invoke(c))?;
        let wait = Duration::from_micros(wait.max(0) as u64);
        Ok(if allowed == 1 {
            Verdict { allowed: true, remaining: remaining.max(0) as u32, reset: ceil_secs(wait), retry_after: 0 }
        } else {
            let retry_after = ceil_secs(wait).max(1);
            let full = wait + interval * self.limit.burst.saturating_sub(1);
            Verdict { allowed: false, remaining: 0, reset: ceil_secs(full).max(retry_after), retry_after }
        })
    }

    pub fn check(&self, generation: u64, key: String) -> Verdict {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        let interval = self.limit.period / self.limit.limit;
        match self.keyed.check_key(&(generation, key)) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let missing = self.limit.burst.saturating_sub(remaining);
                Verdict { allowed: true, remaining, reset: ceil_secs(interval * missing), retry_after: 0 }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.keyed.clock().now());
                let retry_after = ceil_secs(wait).max(1);
                let full = wait + interval * self.limit.burst.saturating_sub(1);
                Verdict { allowed: false, remaining: 0, reset: ceil_secs(full).max(retry_after), retry_after }
            }
        }
    }

    /// `RateLimit-Policy` and `RateLimit` for a verdict.
    pub fn headers(&self, v: &Verdict) -> [(HeaderName, HeaderValue); 2] {
        let state = format!("\"{}\";r={};t={}", self.limit.name, v.remaining, v.reset);
        [(RATELIMIT_POLICY, self.policy.clone()), (RATELIMIT, HeaderValue::from_str(&state).unwrap_or(HeaderValue::from_static("")))]
    }

    /// Drops the state of buckets that are full again (and of earlier generations, once full).
    pub fn sweep(&self) {
        self.keyed.retain_recent();
        self.keyed.shrink_to_fit();
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_nanos().div_ceil(1_000_000_000) as u64
}

/// The bucket a request falls in for `by`.
pub(crate) fn client_key(by: &KeyBy, spec: &Spec, op: &Operation, headers: &HeaderMap, query: &str, peer: Option<SocketAddr>) -> String {
    let ip = || match peer {
        Some(p) => format!("ip:{}", p.ip()),
        None => "ip:unknown".to_string(),
    };
    let mut key = match by {
        KeyBy::Ip => ip(),
        KeyBy::Header(name) => match headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => format!("header:{v}"),
            None => ip(),
        },
        KeyBy::Credential => match credential(spec, op, headers, query) {
            Some(c) => format!("credential:{c}"),
            None => ip(),
        },
    };
    if key.len() > MAX_KEY {
        let mut cut = MAX_KEY;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        key.truncate(cut);
    }
    key
}

/// The caller's credential: a bearer token (or any other scheme's value), a basic user, an API
/// key the operation's security declares, or an `X-API-Key` header.
fn credential(spec: &Spec, op: &Operation, headers: &HeaderMap, query: &str) -> Option<String> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim).filter(|a| !a.is_empty()) {
        let (scheme, rest) = auth.split_once(' ').unwrap_or(("", auth));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok();
            let text = decoded.and_then(|d| String::from_utf8(d).ok());
            if let Some(user) = text.as_deref().map(|t| t.split_once(':').map_or(t, |(u, _)| u)) {
                return Some(format!("basic:{user}"));
            }
        }
        // A Digest credential changes with every nonce and count; its user does not.
        if scheme.eq_ignore_ascii_case("digest") {
            if let Some(user) = crate::validate::digest_user(rest) {
                return Some(format!("digest:{user}"));
            }
        }
        return Some(rest.trim().to_string());
    }
    for name in op.security.iter().flatten() {
        let Some(SecurityScheme::ApiKey { location, name }) = spec.security_schemes.get(name) else {
            continue;
        };
        let found = match location {
            ParamIn::Header => headers.get(name.as_str()).and_then(|v| v.to_str().ok()).map(String::from),
            ParamIn::Query => crate::validate::params::parse_query(query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v),
            ParamIn::Cookie => headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|c| c.split(';'))
                .filter_map(|kv| kv.trim().split_once('='))
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_string()),
            ParamIn::Path => None,
        };
        if let Some(v) = found.filter(|v| !v.is_empty()) {
            return Some(v);
        }
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()).map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rates_parse_from_text() {
        let r: RateLimit = "100/s".parse().unwrap();
        assert_eq!((r.limit, r.period, r.burst, &r.key), (100, Duration::from_secs(1), 100, &KeyBy::Credential));
        let r: RateLimit = "5/10s,burst=2,key=ip,name=writes".parse().unwrap();
        assert_eq!((r.limit, r.period, r.burst, &r.key, r.name.as_str()), (5, Duration::from_secs(10), 2, &KeyBy::Ip, "writes"));
        assert_eq!(r.to_string(), "5/10s,burst=2,key=ip,name=writes");
        let r: RateLimit = "1000/h,key=header:X-Tenant".parse().unwrap();
        assert_eq!(r.period, Duration::from_secs(3600));
        assert_eq!(r.key, KeyBy::Header(HeaderName::from_static("x-tenant")));
        assert!("10/500ms".parse::<RateLimit>().unwrap_err().contains("whole number of seconds"));
        assert!("0/s".parse::<RateLimit>().is_err());
        assert!("fast".parse::<RateLimit>().is_err());
        assert!("10/s,key=cookie".parse::<RateLimit>().unwrap_err().contains("credential, ip or header:NAME"));
    }

    #[test]
    fn rules_parse_with_and_without_scope() {
        let all: RateLimitRule = "100/s".parse().unwrap();
        assert_eq!(all.scope, Scope::All);
        let r: RateLimitRule = "PUT /demand/**=5/s,burst=1".parse().unwrap();
        assert_eq!(r.scope, Scope::Route { method: Some(Method::PUT), path: Some("/demand/**".into()) });
        assert_eq!(r.limit.burst, 1);
        assert_eq!(r.to_string(), "PUT /demand/**=5/1s,burst=1");
        let r: RateLimitRule = "/runs/*=2/s".parse().unwrap();
        assert_eq!(r.scope, Scope::Route { method: None, path: Some("/runs/*".into()) });
        let r: RateLimitRule = "POST=2/s".parse().unwrap();
        assert_eq!(r.scope, Scope::Route { method: Some(Method::POST), path: None });
        let r: RateLimitRule = "createRun=2/min".parse().unwrap();
        assert_eq!(r.scope, Scope::Operation("createRun".into()));
        assert!("FETCH /x=1/s".parse::<RateLimitRule>().is_err());
    }

    #[test]
    fn globs_match_path_templates() {
        assert!(path_matches("/demand/**", "/demand/fielding-runs/{id}"));
        assert!(path_matches("/demand/**", "/demand"));
        assert!(path_matches("/v1/*/runs", "/v1/{org}/runs"));
        assert!(path_matches("/runs/{x}", "/runs/{runId}"));
        assert!(path_matches("/runs/*:stop", "/runs/{id}:stop"));
        assert!(path_matches("/**/stop", "/a/b/stop"));
        assert!(!path_matches("/demand/*", "/demand/a/b"));
        assert!(!path_matches("/runs", "/runs/{id}"));
    }

    #[test]
    fn spec_declarations_read_with_pointers_to_mistakes() {
        let r = RateLimit::from_json(&json!({"limit": 10, "period": "1min", "burst": 5, "key": "ip"})).unwrap().unwrap();
        assert_eq!((r.limit, r.period, r.burst, r.key), (10, Duration::from_secs(60), 5, KeyBy::Ip));
        assert_eq!(RateLimit::from_json(&json!("3/s")).unwrap().unwrap().limit, 3);
        assert_eq!(RateLimit::from_json(&json!(false)).unwrap(), None);
        assert_eq!(RateLimit::from_json(&json!({"limit": 2, "perod": "1s"})).unwrap_err().0, "/perod");
        assert_eq!(RateLimit::from_json(&json!({"period": "1s"})).unwrap_err().0, "/limit");
        assert_eq!(RateLimit::from_json(&json!({"limit": 2, "key": "nope"})).unwrap_err().0, "/key");
    }

    #[test]
    fn a_bucket_allows_the_burst_then_refuses_with_whole_seconds_to_wait() {
        let l = Limiter::new("3/s".parse().unwrap()).unwrap();
        let verdicts: Vec<Verdict> = (0..4).map(|_| l.check(0, "k".into())).collect();
        assert_eq!(verdicts.iter().map(|v| v.allowed).collect::<Vec<_>>(), [true, true, true, false]);
        assert_eq!(verdicts.iter().map(|v| v.remaining).collect::<Vec<_>>(), [2, 1, 0, 0]);
        assert_eq!(verdicts[3].retry_after, 1);
        assert_eq!(verdicts[3].reset, 1);
        let [(_, policy), (_, state)] = l.headers(&verdicts[3]);
        assert_eq!(policy, "\"default\";q=3;w=1");
        assert_eq!(state, "\"default\";r=0;t=1");
        // Another key, and the same key in a new generation, have their own buckets.
        assert!(l.check(0, "other".into()).allowed);
        assert!(l.check(1, "k".into()).allowed);
    }

    #[test]
    fn retry_after_is_never_zero_and_rounds_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1000)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
        let l = Limiter::new("1/10s".parse().unwrap()).unwrap();
        assert!(l.check(0, "k".into()).allowed);
        let v = l.check(0, "k".into());
        assert!(!v.allowed);
        assert!((9..=10).contains(&v.retry_after), "{v:?}");
    }
}
