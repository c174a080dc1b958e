//! One request's path through the engine, free of any HTTP server, as plain stages over the
//! compiled [`Api`] and the [`Runtime`]: route → admit (traffic control) → validate → answer (as
//! the operation's plan says: mock, stateful or proxy, whose exchanges record mode keeps) → finish
//! (traffic headers, request id, CORS, the journal). Every error becomes an answer in `problem`,
//! the one place that renders. With `--state-file`, an answer that changed the store waits for
//! its change to be on disk.
//! The steps that may wait on a remote store (a shared rate limit, a stateful answer, the admin
//! API) run through `Runtime::offload`, so a stalled Redis holds up only the requests that need it.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Map, Value};

use crate::behaviour::{self, fill::Caller};
use crate::generate::{DataMode, Realistic};
use crate::headers::{REQUEST_ID, VIOLATIONS};
use crate::journal::Entry;
use crate::plan::{Answer, Api, Planned};
use crate::prefer::Prefer;
use crate::problem::{ErrorReply, render};
use crate::respond::{self, MockRequest};
use crate::router::RouteMatch;
use crate::runtime::{Generation, Runtime};
use crate::spec::{Operation, ParamIn};
use crate::traffic::{self, Arrival, Plan};
use crate::validate::{self, Checked, Incoming, Mode, Policy, Rejection};

use crate::exchange::{Exchange, Trail};

/// Answers one request whose body is already read, wholly from `plan` (a snapshot of
/// [`Runtime::plan`], taken once per request).
pub async fn handle(plan: &Generation, rt: &Runtime, req: Request<Bytes>, peer: Option<SocketAddr>) -> Response<Bytes> {
    let api = &plan.api;
    let ex = Exchange::read(&req, peer);
    let mut trail = Trail { validation: "unchecked", ..Trail::default() };
    let (mut response, written) = crate::store::track(async {
        if let Some(refusal) = unreadable(&req) {
            render(&refusal, None)
        } else if let Some(rest) = admin_path(api, &req) {
            // Before CORS: the admin API grants no preflight, so no other site may call it.
            trail.admin = true;
            rt.offload(|| crate::admin::handle(api, rt, &req, &ex, rest))
        } else if api.config.cors && is_preflight(&req) {
            preflight(api, &req)
        } else {
            serve(plan, rt, &req, &ex, &mut trail).await
        }
    })
    .await;
    // With --state-file, an answer that follows a change goes out once the change is on disk.
    if let Err(e) = rt.settle(written).await {
        let why = match e {
            crate::store::StoreError::Unavailable(why) => why,
            other => other.to_string(),
        };
        response = render(&ErrorReply::from(behaviour::BehaviourError::StoreUnavailable(why)), None);
    }
    finish(api, rt, &req, ex, trail, &mut response).await;
    response
}

/// A request that cannot be read as HTTP/1.1 says it must be, or whose session header cannot be
/// read: answering it anyway would guess (RFC 9112 §3.2 asks for a 400 without `Host`; a
/// session header that is not text would silently land the caller in the shared namespace).
fn unreadable(req: &Request<Bytes>) -> Option<ErrorReply> {
    if req.version() == http::Version::HTTP_11 && !req.headers().contains_key(header::HOST) {
        return Some(ErrorReply::new(StatusCode::BAD_REQUEST, "an HTTP/1.1 request must carry a Host header"));
    }
    let session = req.headers().get(crate::headers::SESSION)?;
    session.to_str().is_err().then(|| {
        ErrorReply::new(StatusCode::BAD_REQUEST, format!("the {} header must be visible ASCII text", crate::headers::SESSION_HEADER))
    })
}

/// The path after the admin prefix, when the request is for the admin API.
fn admin_path<'r>(api: &Api, req: &'r Request<Bytes>) -> Option<&'r str> {
    req.uri().path().strip_prefix(api.config.admin_prefix.as_str()).filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

async fn serve(plan: &Generation, rt: &Runtime, req: &Request<Bytes>, ex: &Exchange, trail: &mut Trail) -> Response<Bytes> {
    let api = &plan.api;
    let found = match route(api, req) {
        Ok(found) => found,
        Err(Unrouted::PassThrough) => return crate::proxy::pass_through(upstream(api), req).await,
        Err(Unrouted::Answer(r)) => return *r,
    };
    let planned = &api.operations[found.op];
    let (op, spec) = (&planned.op, api.spec_of(&planned.op));
    if !planned.op.callbacks.is_empty() {
        trail.path_params.clone_from(&found.params);
    }
    trail.operation = Some(op.id.clone());
    trail.op = Some(found.op);
    trail.spec = Some(op.spec);
    trail.plan = if planned.traffic.as_ref().is_some_and(traffic::Route::limited) {
        rt.offload(|| admit(plan, rt, planned, req, ex))
    } else {
        admit(plan, rt, planned, req, ex)
    };
    if let Some(e) = trail.plan.refusal.take() {
        return render(&e, Some((spec, op)));
    }
    match answer(api, rt, planned, &found, req, ex, trail).await {
        Ok(r) => r,
        Err(e) => render(&e, Some((spec, op))),
    }
}

fn upstream(api: &Api) -> &str {
    api.config.proxy.as_deref().unwrap_or_default()
}

/// Why a request reached no operation.
enum Unrouted {
    /// The validating proxy forwards what the spec does not describe.
    PassThrough,
    Answer(Box<Response<Bytes>>),
}

/// Stage 1: the operation that serves the request, and its path parameters.
fn route(api: &Api, req: &Request<Bytes>) -> Result<RouteMatch, Unrouted> {
    let path = req.uri().path();
    api.router.find_request(req.method(), path, req.uri().query(), req.headers()).map_err(|e| {
        if api.config.proxy.is_some() && !api.config.proxy_strict {
            return Unrouted::PassThrough;
        }
        if *req.method() == Method::OPTIONS {
            if let Some(allow) = api.router.allowed(path) {
                return Unrouted::Answer(Box::new(allow_only(&allow)));
            }
        }
        Unrouted::Answer(Box::new(render(&ErrorReply::from_route(&e, req.method(), path), None)))
    })
}

/// Stage 2: traffic control decides rate limits, latency and faults.
fn admit(plan: &Generation, rt: &Runtime, planned: &Planned, req: &Request<Bytes>, ex: &Exchange) -> Plan {
    let api = &plan.api;
    let at = Arrival { spec: api.spec_of(&planned.op), op: &planned.op, req, peer: ex.peer, prefer: &ex.prefer };
    rt.traffic.admit(&api.traffic, &plan.buckets, planned.traffic.as_ref(), at)
}

/// Stage 3: the request against the operation's parameters, security and body.
fn validate(api: &Api, planned: &Planned, found: &RouteMatch, req: &Request<Bytes>, ex: &Exchange) -> (Checked, Option<Rejection>) {
    let incoming = Incoming { path_params: &found.params, query: &ex.query, headers: req.headers(), body: req.body() };
    let policy = Policy { mode: api.config.validation, tokens: &api.config.tokens };
    validate::check(api.spec_of(&planned.op), &planned.op, &incoming, &policy)
}

/// Stage 4: the answer, as the operation's plan says.
async fn answer(
    api: &Api,
    rt: &Runtime,
    planned: &Planned,
    found: &RouteMatch,
    req: &Request<Bytes>,
    ex: &Exchange,
    trail: &mut Trail,
) -> Result<Response<Bytes>, ErrorReply> {
    let (op, spec) = (&planned.op, api.spec_of(&planned.op));
    let (checked, rejection) = validate(api, planned, found, req, ex);
    if let Answer::Proxy { strict, binding } = &planned.answer {
        let strict = *strict;
        // Forwarded anyway, the violations are logged: without the secrets they may quote.
        let rejection = match rejection {
            Some(r) if !strict => Some(scrubbed(api, found.op, checked.body.as_ref(), ex, r)),
            other => other,
        };
        let forwarded = crate::proxy::forward(upstream(api), strict, spec, op, req, rejection.as_ref()).await;
        if let Some(recorder) = &rt.recorder {
            keep(recorder, spec, op, binding.as_deref(), found, req, ex, &forwarded);
        }
        (trail.body, trail.validation, trail.violations) = (checked.body, forwarded.validation, forwarded.violations);
        return forwarded.answer;
    }
    // The journal keeps the parsed body; behaviour borrows it from there.
    trail.body = checked.body;
    trail.validation = if api.config.validation == Mode::Off { "unchecked" } else { "valid" };
    let mut warnings = None;
    if let Some(r) = rejection {
        trail.violations = r.violations().to_vec();
        if api.config.validation == Mode::Strict {
            trail.validation = "invalid";
            return Err(ErrorReply::from_rejection(&r, spec, op));
        }
        trail.validation = "warned";
        let secrets = api.redact.secrets_of(Some(found.op), trail.body.as_ref(), &ex.query);
        tracing::warn!(operation = %op.id, violations = %secrets.scrub(&r.to_string()), "request does not match the spec");
        warnings = Some(r.to_string());
    }
    let mut response = match (&planned.answer, &rt.store) {
        (Answer::Stateful(binding), Some(store)) if !ex.wants_mock() => {
            let ctx = behaviour::Ctx {
                spec,
                binding: binding.as_ref(),
                path_params: &found.params,
                query: &ex.query,
                headers: req.headers(),
                body: trail.body.as_ref(),
                caller: Caller::from_credential(checked.credential.as_ref()),
                session: ex.session.clone().unwrap_or_default(),
                // Each request its own draw: two records created alike still differ. Only then is a
                // seed taken, so that static runs keep the sequence of dynamic answers they had.
                realistic: (api.config.data == DataMode::Realistic)
                    .then(|| rt.next_seed())
                    .and_then(|s| Realistic::when(api.config.data, s)),
            };
            let outcome = rt.offload(|| behaviour::run(store.as_ref(), &ctx))?;
            trail.event = event_of(api, binding, &outcome);
            if respond::fits(spec, op, &outcome) {
                respond::from_outcome(spec, op, outcome)
            } else {
                // The store changed as asked; the answer is the document's own for that status,
                // with the store's validators (ETag, Location) kept.
                let status = respond::outcome_status(op, &outcome);
                tracing::debug!(operation = %op.id, status, "the stored record does not fit the declared response; answering from the document");
                let stored = respond::from_outcome(spec, op, outcome);
                let mut documented = mock(api, rt, planned, found, req, ex, &checked.params, Some(status))?;
                // The ids that answer gave out are readable afterwards (a list or a create shown
                // from the document while the store holds other records, or none).
                if matches!(binding.action, behaviour::Action::List | behaviour::Action::Create) {
                    if let Ok(shown) = serde_json::from_slice::<Value>(documented.body()) {
                        if let Err(e) = rt.offload(|| behaviour::adopt(store.as_ref(), &ctx, &shown)) {
                            tracing::debug!(operation = %op.id, error = %e, "the records the answer showed were not kept");
                        }
                    }
                }
                for name in [header::ETAG, header::LOCATION] {
                    if let Some(v) = stored.headers().get(&name) {
                        documented.headers_mut().insert(name, v.clone());
                    }
                }
                documented
            }
        }
        _ => mock(api, rt, planned, found, req, ex, &checked.params, None)?,
    };
    add_warnings(&mut response, warnings);
    Ok(response)
}

/// Record mode: hands the exchange to the recording, with the collection a stateful operation
/// would read or write (its answered record becomes a fixture).
#[allow(clippy::too_many_arguments)]
fn keep(
    recorder: &crate::record::Recorder,
    spec: &crate::spec::Spec,
    op: &Operation,
    binding: Option<&behaviour::Binding>,
    found: &RouteMatch,
    req: &Request<Bytes>,
    ex: &Exchange,
    forwarded: &crate::proxy::Forwarded,
) {
    use behaviour::Action;
    let resource = binding
        .filter(|b| matches!(b.action, Action::Create | Action::Get | Action::Update | Action::Replace))
        .map(|b| crate::record::Resource { name: &b.resource, key: &b.key, scope: &b.scope, envelope: b.response_envelope.as_deref() });
    recorder.keep(&crate::record::Seen {
        spec,
        op,
        method: req.method(),
        path_params: &found.params,
        query: &ex.query,
        request_headers: req.headers(),
        request_body: req.body(),
        upstream: forwarded.upstream.as_ref().map(|u| (u.status, &u.headers, &u.body[..])),
        violations: &forwarded.violations,
        resource,
    });
}

/// A rejection whose messages no longer quote the request's secrets.
fn scrubbed(api: &Api, op: usize, body: Option<&Value>, ex: &Exchange, r: Rejection) -> Rejection {
    let secrets = api.redact.secrets_of(Some(op), body, &ex.query);
    if secrets.is_empty() {
        return r;
    }
    let clean =
        |vs: Vec<validate::Violation>| vs.into_iter().map(|v| validate::Violation { message: secrets.scrub(&v.message), ..v }).collect();
    match r {
        Rejection::Invalid(vs) => Rejection::Invalid(clean(vs)),
        Rejection::Malformed(vs) => Rejection::Malformed(clean(vs)),
        other => other,
    }
}

#[allow(clippy::too_many_arguments)]
fn mock(
    api: &Api,
    rt: &Runtime,
    planned: &Planned,
    found: &RouteMatch,
    req: &Request<Bytes>,
    ex: &Exchange,
    params: &Map<String, Value>,
    code: Option<u16>,
) -> Result<Response<Bytes>, ErrorReply> {
    let (op, spec) = (&planned.op, api.spec_of(&planned.op));
    let echo = echo_values(op, found, params);
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    // `--dynamic` is a default, not an ask: the client's own `dynamic=false` still gets the
    // example, and stateful operations still answer from the store.
    let defaulted;
    let prefer = if (api.config.dynamic && ex.prefer.dynamic.is_none()) || code.is_some() {
        let dynamic = if api.config.dynamic && ex.prefer.dynamic.is_none() { Some(true) } else { ex.prefer.dynamic };
        defaulted = Prefer { dynamic, code: code.or(ex.prefer.code), ..ex.prefer.clone() };
        &defaulted
    } else {
        &ex.prefer
    };
    // Without `dynamic`, realistic values come from the server's seed alone: every request for
    // an operation sees the same body, as with placeholders.
    let realistic = Realistic::when(api.config.data, api.config.seed.unwrap_or(0));
    let mock = MockRequest { prefer, accept, echo: &echo, seed: rt.next_seed(), realistic, validate: api.config.self_check };
    respond::mock(spec, op, &mock).map_err(|e| ErrorReply::from(&e))
}

/// Stage 5: traffic headers, request id and CORS on the answer, the self-check, the latency
/// served after every shared state is released, and the journal entry.
async fn finish(api: &Api, rt: &Runtime, req: &Request<Bytes>, ex: Exchange, mut trail: Trail, response: &mut Response<Bytes>) {
    traffic::finish(&trail.plan, response);
    if let Some(spec) = trail.spec.map(|i| &api.specs[i]) {
        point_links_here(spec, req, response);
    }
    if api.config.self_check && !trail.admin {
        self_check(api, rt, req, &mut trail, response);
    }
    if let Ok(v) = HeaderValue::from_str(&ex.request_id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    if api.config.cors && !trail.admin {
        if let Some(origin) = ex.origin.clone() {
            add_cors(response.headers_mut(), origin);
        }
    }
    if let Some(delay) = trail.plan.latency {
        tokio::time::sleep(delay).await;
    }
    if !trail.plan.injected.is_empty() {
        tracing::info!(request_id = %ex.request_id, injected = %trail.plan.injected.join(", "), "traffic control applied");
    }
    if let Some(op) = trail.op.filter(|_| !trail.admin) {
        let answered = crate::hooks::Answered {
            op,
            request: req,
            path_params: &trail.path_params,
            query: &ex.query,
            body: trail.body.as_ref(),
            response,
            request_id: &ex.request_id,
            event: trail.event.as_ref(),
        };
        crate::hooks::after(api, rt, &answered);
    }
    if !trail.admin {
        record(api, rt, req, response, ex, trail);
    }
}

/// The store event a stateful answer made, when a webhook is tied to its collection.
fn event_of(api: &Api, binding: &behaviour::Binding, outcome: &behaviour::Outcome) -> Option<crate::hooks::Event> {
    use crate::plan::ext::EventName;
    let event = match binding.action {
        behaviour::Action::Create => EventName::Created,
        behaviour::Action::Transition => EventName::Transition,
        behaviour::Action::Delete => EventName::Deleted,
        _ => return None,
    };
    let watched = api.webhooks.iter().any(|w| w.on.as_ref().is_some_and(|on| on.resource == binding.resource && on.event == event));
    watched.then(|| crate::hooks::Event { resource: binding.resource.clone(), event, to: binding.to.clone(), record: outcome.body.clone() })
}

/// With `--self-check`, the answer against what the operation declares, with verify's checker: the
/// mock must never answer what its spec forbids, and this is where any such answer is caught,
/// whichever stage produced it. Answers of the validating proxy are checked there already; a
/// fault traffic control injected on purpose is not the spec's to allow.
fn self_check(api: &Api, rt: &Runtime, req: &Request<Bytes>, trail: &mut Trail, response: &mut Response<Bytes>) {
    if trail.operation.is_none() || !trail.plan.injected.is_empty() {
        return;
    }
    let Ok(found) = api.router.find_request(req.method(), req.uri().path(), req.uri().query(), req.headers()) else { return };
    let planned = &api.operations[found.op];
    if matches!(planned.answer, Answer::Proxy { .. }) {
        return;
    }
    let (op, spec) = (&planned.op, api.spec_of(&planned.op));
    let status = response.status().as_u16();
    let findings = crate::verify::check::response(spec, op, req.method(), status, response.headers(), response.body());
    rt.self_check.count(findings.len());
    if findings.is_empty() {
        return;
    }
    let list = findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    tracing::warn!(operation = %op.id, status, violations = %list, "self-check: the answer does not match the spec");
    trail.violations.extend(findings.iter().map(crate::verify::check::Finding::to_violation));
    if let Some(v) = respond::header_value(&format!("response: {list}")) {
        response.headers_mut().append(VIOLATIONS, v);
    }
}

/// The journal entry, without the secrets `api.redact` names (nor the messages quoting them).
fn record(api: &Api, rt: &Runtime, req: &Request<Bytes>, response: &Response<Bytes>, ex: Exchange, mut trail: Trail) {
    let (mut pairs, mut secrets) = (ex.query, crate::plan::redact::Secrets::default());
    pairs.extend(ex.steering);
    if !api.redact.is_empty() {
        api.redact.query(trail.op, &mut pairs, &mut secrets);
        if let Some(body) = trail.body.as_mut() {
            api.redact.body(trail.op, body, &mut secrets);
        }
        if !secrets.is_empty() {
            trail.violations.iter_mut().for_each(|v| v.message = secrets.scrub(&v.message));
        }
    }
    let mut query = Map::new();
    for (k, v) in pairs {
        if let Value::Array(a) = query.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
            a.push(Value::String(v));
        }
    }
    rt.journal.record(Entry {
        seq: 0,
        request_id: ex.request_id,
        at: crate::clock::Stamp::now(),
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query,
        operation: trail.operation,
        session: ex.session,
        body: trail.body,
        status: response.status().as_u16(),
        validation: trail.validation,
        violations: trail.violations,
        injected: trail.plan.injected,
        duration_ms: ex.started.elapsed().as_secs_f64() * 1000.0,
        direction: crate::journal::INCOMING,
        call: None,
        reload: None,
    });
}

/// Links in an answer to the real API's server (`"url": "https://api.github.com/repos/…"`,
/// `Link`, `Location`) point at the mock instead, so a client that follows them stays here.
fn point_links_here(spec: &crate::spec::Spec, req: &Request<Bytes>, response: &mut Response<Bytes>) {
    let Some(host) = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| req.uri().authority().map(|a| a.as_str()))
    else {
        return;
    };
    // A stored list's page links are query-only references: made absolute here, where the
    // host is known, since clients (PyGithub among them) follow only absolute links.
    if let Some(v) = response.headers().get(header::LINK).and_then(|v| v.to_str().ok()).filter(|v| v.starts_with("<?")) {
        let absolute = v.replace("<?", &format!("<http://{host}{}?", req.uri().path()));
        if let Ok(v) = HeaderValue::from_str(&absolute) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    let Some((public, served)) = &spec.public else { return };
    let here = format!("http://{host}{served}");
    for name in [header::LINK, header::LOCATION, header::CONTENT_LOCATION] {
        let Some(v) = response.headers().get(&name).and_then(|v| v.to_str().ok()).filter(|v| v.contains(public.as_str())) else {
            continue;
        };
        if let Ok(v) = HeaderValue::from_str(&v.replace(public.as_str(), &here)) {
            response.headers_mut().insert(name, v);
        }
    }
    let textual = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.contains("json") || ct.contains("xml") || ct.starts_with("text/")
    });
    if !textual {
        return;
    }
    let Ok(text) = std::str::from_utf8(response.body()) else { return };
    if text.contains(public.as_str()) {
        let rewritten = text.replace(public.as_str(), &here);
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = Bytes::from(rewritten);
    }
}

fn preflight(api: &Api, req: &Request<Bytes>) -> Response<Bytes> {
    let Some(allow) = api.router.allowed(req.uri().path()) else {
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

fn add_warnings(response: &mut Response<Bytes>, warnings: Option<String>) {
    // Appended: the answer may already say that the example it sends contradicts its schema.
    if let Some(v) = warnings.as_deref().and_then(respond::header_value) {
        response.headers_mut().append(VIOLATIONS, v);
    }
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

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn served(spec: &str) -> (std::sync::Arc<Generation>, Runtime) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(spec);
        let (api, _) = crate::plan::build(Config { specs: vec![path], ..Config::default() }).expect("compiles");
        let runtime = Runtime::open(api).expect("opens");
        (runtime.plan(), runtime)
    }

    fn request(method: &str, uri: &str, body: &str) -> Request<Bytes> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "mock.test")
            .header("content-type", "application/json")
            .header("x-request-id", "req-1")
            .body(Bytes::from(body.to_string()))
            .unwrap()
    }

    #[tokio::test]
    async fn the_stages_answer_and_journal_a_request_without_a_socket() {
        // Arrange
        let (api, rt) = served("crud.yaml");
        // Act
        let created = handle(&api, &rt, request("POST", "/api/things", r#"{"name": "lamp"}"#), None).await;
        let body: Value = serde_json::from_slice(created.body()).unwrap();
        let id = body["thingId"].as_str().unwrap().to_string();
        let read = handle(&api, &rt, request("GET", &format!("/api/things/{id}"), ""), None).await;
        let invalid = handle(&api, &rt, request("POST", "/api/things", r#"{"color": 1}"#), None).await;
        // Assert
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(created.headers()["x-request-id"], "req-1");
        assert_eq!(read.status(), StatusCode::OK);
        assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let journal = rt.journal.snapshot(|_| true);
        let seen: Vec<(&str, u16, &str)> = journal.iter().map(|e| (e.operation.as_deref().unwrap_or(""), e.status, e.validation)).collect();
        assert_eq!(seen, [("createThing", 201, "valid"), ("getThing", 200, "valid"), ("createThing", 422, "invalid")]);
    }

    #[tokio::test]
    async fn unknown_paths_and_methods_are_told_apart() {
        let (api, rt) = served("crud.yaml");
        let unknown = handle(&api, &rt, request("GET", "/api/nothing", ""), None).await;
        let wrong = handle(&api, &rt, request("TRACE", "/api/things", ""), None).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(wrong.headers()["allow"].to_str().unwrap().contains("POST"));
    }
}
