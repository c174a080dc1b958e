//! One request's path through the engine, free of any HTTP server: route → traffic control →
//! validate → behaviour → respond, with errors rendered once by `problem`, every request
//! written to the journal, and CORS around it all for browser front-ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Map, Value};

use crate::behaviour::{self, Binding, fill::Caller};
use crate::config::Config;
use crate::journal::{Entry, Journal};
use crate::prefer;
use crate::problem::{ErrorReply, render};
use crate::respond::{self, MockRequest};
use crate::router::{RouteMatch, Router};
use crate::spec::{Operation, ParamIn, Spec, SpecSet};
use crate::store::Store;
use crate::traffic::{Plan, Traffic};
use crate::validate::{self, Incoming, Mode, Policy, Violation};

/// The header that carries violations in warn mode.
pub const VIOLATIONS_HEADER: &str = "specstub-violations";
/// The request id: taken from the request when the client sends one, else made up.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Gives the caller its own store namespace.
pub const SESSION_HEADER: &str = "x-specstub-session";
/// The same names, parsed once: a lookup by `&str` parses and hashes the name on every request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);
const SESSION: HeaderName = HeaderName::from_static(SESSION_HEADER);

pub struct App {
    pub specs: SpecSet,
    router: Router,
    config: Config,
    seed: AtomicU64,
    pub traffic: Traffic,
    pub journal: Journal,
    /// None with `--stateless`.
    pub store: Option<Arc<dyn Store>>,
    /// What each operation does to the store (by operation index).
    bindings: Vec<Option<Binding>>,
}

/// What one request went through, for the journal.
struct Exchange {
    operation: Option<String>,
    validation: &'static str,
    violations: Vec<Violation>,
    body: Option<Value>,
    plan: Plan,
}

impl App {
    pub fn new(specs: SpecSet, config: Config, store: Option<Arc<dyn Store>>, bindings: Vec<Option<Binding>>) -> Self {
        let router = Router::new(&specs.operations);
        let traffic = Traffic::new(&config, &specs);
        Self { specs, router, config, seed: AtomicU64::new(0), traffic, journal: Journal::new(1000), store, bindings }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers one request whose body is already read.
    pub async fn handle(&self, req: Request<Bytes>, peer: Option<SocketAddr>) -> Response<Bytes> {
        let started = Instant::now();
        let origin = req.headers().get(header::ORIGIN).cloned();
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(String::from)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut ex = Exchange { operation: None, validation: "unchecked", violations: Vec::new(), body: None, plan: Plan::default() };
        let admin =
            req.uri().path().strip_prefix(self.config.admin_prefix.as_str()).filter(|rest| rest.is_empty() || rest.starts_with('/'));
        let mut response = if self.config.cors && is_preflight(&req) {
            self.preflight(&req)
        } else if let Some(rest) = admin {
            ex.operation = Some("admin".into());
            crate::admin::handle(self, &req, rest)
        } else {
            self.dispatch(&req, peer, &mut ex).await
        };
        self.traffic.finish(&ex.plan, &mut response);
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID, v);
        }
        if self.config.cors {
            if let Some(origin) = origin {
                add_cors(response.headers_mut(), origin);
            }
        }
        // Latency is served after all shared state is released.
        if let Some(delay) = ex.plan.latency {
            tokio::time::sleep(delay).await;
        }
        if !ex.plan.injected.is_empty() {
            tracing::info!(%request_id, injected = %ex.plan.injected.join(", "), "traffic control applied");
        }
        if ex.operation.as_deref() != Some("admin") {
            self.record(&req, &response, request_id, ex, started);
        }
        response
    }

    fn record(&self, req: &Request<Bytes>, response: &Response<Bytes>, request_id: String, ex: Exchange, started: Instant) {
        let mut query = Map::new();
        for (k, v) in req.uri().query().map(validate::params::parse_query).unwrap_or_default() {
            if let Value::Array(a) = query.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
                a.push(Value::String(v));
            }
        }
        self.journal.record(Entry {
            seq: 0,
            request_id,
            at: crate::clock::Stamp::now(),
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            query,
            operation: ex.operation,
            session: session_of(req.headers()),
            body: ex.body,
            status: response.status().as_u16(),
            validation: ex.validation,
            violations: ex.violations,
            injected: ex.plan.injected,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        });
    }

    async fn dispatch(&self, req: &Request<Bytes>, peer: Option<SocketAddr>, ex: &mut Exchange) -> Response<Bytes> {
        let path = req.uri().path();
        let found = match self.router.find_request(req.method(), path, req.uri().query(), req.headers()) {
            Ok(m) => m,
            Err(e) => {
                // Validating proxy: what the spec does not describe goes to the upstream unchecked.
                if self.config.proxy.is_some() && !self.config.proxy_strict {
                    return crate::proxy::pass_through(&self.config, req).await;
                }
                if *req.method() == Method::OPTIONS {
                    if let Some(allow) = self.router.allowed(path) {
                        return allow_only(&allow);
                    }
                }
                return render(&ErrorReply::from_route(&e, req.method(), path), None);
            }
        };
        let op = &self.specs.operations[found.op];
        let spec = &self.specs.specs[op.spec];
        ex.operation = Some(op.id.clone());
        ex.plan = self.traffic.admit(spec, op, req, peer);
        if let Some(e) = ex.plan.refusal.take() {
            return render(&e, Some((spec, op)));
        }
        match self.answer(spec, op, &found, req, ex).await {
            Ok(r) => r,
            Err(e) => render(&e, Some((spec, op))),
        }
    }

    async fn answer(
        &self,
        spec: &Spec,
        op: &Operation,
        found: &RouteMatch,
        req: &Request<Bytes>,
        ex: &mut Exchange,
    ) -> Result<Response<Bytes>, ErrorReply> {
        let incoming =
            Incoming { path_params: &found.params, query: req.uri().query().unwrap_or(""), headers: req.headers(), body: req.body() };
        let policy = Policy { mode: self.config.validation, tokens: &self.config.tokens };
        let (checked, rejection) = validate::check(spec, op, &incoming, &policy);
        if self.config.proxy.is_some() {
            let forwarded = crate::proxy::forward(&self.config, spec, op, req, rejection.as_ref()).await;
            (ex.body, ex.validation, ex.violations) = (checked.body, forwarded.validation, forwarded.violations);
            return forwarded.answer;
        }
        // The journal keeps the parsed body; behaviour borrows it from there.
        ex.body = checked.body;
        ex.validation = if self.config.validation == Mode::Off { "unchecked" } else { "valid" };
        let mut warnings = None;
        if let Some(r) = rejection {
            ex.violations = r.violations().to_vec();
            match self.config.validation {
                Mode::Strict => {
                    ex.validation = "invalid";
                    return Err(ErrorReply::from_rejection(&r, spec, op));
                }
                _ => {
                    ex.validation = "warned";
                    tracing::warn!(operation = %op.id, violations = %r, "request does not match the spec");
                    warnings = Some(r.to_string());
                }
            }
        }
        let prefer = prefer::parse(req.headers());
        // A client asking for a specific declared answer gets it, state or not.
        let wants_mock = prefer.code.is_some() || prefer.example.is_some() || prefer.dynamic == Some(true);
        if let (Some(store), Some(binding), false) = (&self.store, &self.bindings[found.op], wants_mock) {
            let query = validate::params::parse_query(req.uri().query().unwrap_or(""));
            let ctx = behaviour::Ctx {
                spec,
                binding,
                path_params: &found.params,
                query: &query,
                headers: req.headers(),
                body: ex.body.as_ref(),
                caller: Caller::from_credential(checked.credential.as_ref()),
                session: session_of(req.headers()).unwrap_or_default(),
            };
            let outcome = behaviour::run(store.as_ref(), &ctx).map_err(|e| ErrorReply {
                headers: e.headers,
                grpc_code: e.grpc_code,
                ..ErrorReply::new(StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.message)
            })?;
            let mut response = respond::from_outcome(spec, op, outcome);
            add_warnings(&mut response, warnings);
            return Ok(response);
        }
        let echo = echo_values(op, found, &checked.params);
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
        let mock = MockRequest { prefer: &prefer, accept, echo: &echo, seed: self.next_seed() };
        let mut response = respond::mock(spec, op, &mock).map_err(|e| ErrorReply::from_mock(&e))?;
        add_warnings(&mut response, warnings);
        Ok(response)
    }

    fn next_seed(&self) -> u64 {
        // Distinct data for each dynamic answer, without a global RNG lock.
        self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
    }

    fn preflight(&self, req: &Request<Bytes>) -> Response<Bytes> {
        let Some(allow) = self.router.allowed(req.uri().path()) else {
            return render(
                &ErrorReply::new(StatusCode::NOT_FOUND, format!("no operation in the loaded specs serves {}", req.uri().path())),
                None,
            );
        };
        let mut r = Response::builder().status(StatusCode::NO_CONTENT).body(Bytes::new()).unwrap_or_default();
        let h = r.headers_mut();
        let methods = allow.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        if let Ok(v) = HeaderValue::from_str(&methods) {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        let asked = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.unwrap_or(HeaderValue::from_static("*")));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        r
    }
}

fn add_warnings(response: &mut Response<Bytes>, warnings: Option<String>) {
    if let Some(w) = warnings {
        let text: String = w.chars().filter(|c| !c.is_control()).take(2000).collect();
        if let Ok(v) = HeaderValue::from_str(&text) {
            response.headers_mut().insert(VIOLATIONS_HEADER, v);
        }
    }
}

/// The store namespace a request asks for, if any.
pub fn session_of(headers: &HeaderMap) -> Option<String> {
    headers.get(SESSION).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

/// Path parameters, typed where validation read them, echo into same-named response fields.
fn echo_values(op: &Operation, found: &RouteMatch, params: &Map<String, Value>) -> Map<String, Value> {
    let mut echo = Map::new();
    for (name, raw) in &found.params {
        let declared = op.parameters.iter().any(|p| p.location == ParamIn::Path && p.name == *name);
        let value = params.get(name).filter(|_| declared).cloned().unwrap_or_else(|| Value::String(raw.clone()));
        echo.insert(name.clone(), value);
    }
    echo
}

fn is_preflight(req: &Request<Bytes>) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn allow_only(allow: &[Method]) -> Response<Bytes> {
    let list = allow.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    Response::builder().status(StatusCode::NO_CONTENT).header(header::ALLOW, list).body(Bytes::new()).unwrap_or_default()
}

fn add_cors(h: &mut HeaderMap, origin: HeaderValue) {
    // Echo the origin (not `*`) so credentialed browser requests work too.
    let exposed: Vec<String> = h.keys().map(|k| k.as_str().to_string()).filter(|k| !is_safelisted(k)).collect();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if !exposed.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&exposed.join(", ")) {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
    }
}

fn is_safelisted(name: &str) -> bool {
    matches!(name, "cache-control" | "content-language" | "content-length" | "content-type" | "expires" | "last-modified" | "pragma")
}
