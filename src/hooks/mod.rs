//! Calls the mock makes itself: an operation's OpenAPI `callbacks` after it answers 2xx, and 3.1
//! `webhooks` on the store events `x-specstub.on` names, or either fired by hand from the admin
//! API. Each call runs in a background task (the answer never waits for it) through the shared
//! outgoing client, after its delay, retried on connection errors, timeouts and 5xx with a
//! doubling backoff, and every attempt is journaled as outgoing with its answer. A call goes only
//! to a URL the request or the answer names (the callback's runtime expression) or the
//! configuration names (`--webhook NAME=URL`, `x-specstub.url`, an admin caller's URL).

pub mod expr;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, header};
use serde_json::{Value, json};

use crate::journal::{Call, Entry, Journal, OUTGOING};
use crate::plan::Api;
use crate::plan::ext::EventName;
use crate::plan::hooks::Sending;
use crate::runtime::Runtime;
use crate::spec::{Hook, Spec, schemas::violations, walk::Flow};

/// Calls in flight at once, for the whole process; beyond it a call is journaled as dropped, so
/// a load test against an operation with callbacks cannot pile up tasks without bound.
const MAX_IN_FLIGHT: usize = 256;
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// The first retry waits this long, each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A change the stateful store made, which webhooks may be tied to.
#[derive(Debug, Clone)]
pub struct Event {
    pub resource: String,
    pub event: EventName,
    /// The state a transition reached.
    pub to: Option<Value>,
    /// The record as answered (created or changed), when there is one.
    pub record: Option<Value>,
}

/// One answered request, as the finish stage has it.
pub struct Answered<'a> {
    pub op: usize,
    pub request: &'a Request<Bytes>,
    pub path_params: &'a [(String, String)],
    pub query: &'a [(String, String)],
    pub body: Option<&'a Value>,
    pub response: &'a Response<Bytes>,
    pub request_id: &'a str,
    pub event: Option<&'a Event>,
}

/// After an answer: the operation's callbacks when it is 2xx, and the webhooks of its event.
pub fn after(api: &Api, rt: &Runtime, answered: &Answered) {
    if !api.config.callbacks || !answered.response.status().is_success() {
        return;
    }
    let planned = &api.operations[answered.op];
    if !planned.op.callbacks.is_empty() {
        callbacks(api, rt, answered);
    }
    if let Some(event) = answered.event {
        for w in api.webhooks.iter().filter(|w| w.on.as_ref().is_some_and(|on| fires(on, event))) {
            let Some(url) = w.target.clone() else { continue };
            let (spec, hook) = (&api.specs[w.spec], &api.specs[w.spec].webhooks[w.hook]);
            let (media, body) = body_of(spec, hook, event.record.as_ref());
            let call = Outgoing::new("webhook", hook, url, media, body, w.sending, answered.request_id);
            send(api, rt, call);
        }
    }
}

fn fires(on: &crate::plan::hooks::Trigger, event: &Event) -> bool {
    on.resource == event.resource && on.event == event.event && on.to.as_ref().is_none_or(|to| event.to.as_ref() == Some(to))
}

fn callbacks(api: &Api, rt: &Runtime, a: &Answered) {
    let planned = &api.operations[a.op];
    let spec = api.spec_of(&planned.op);
    let req = a.request;
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let url = format!("http://{host}{}", req.uri().path_and_query().map_or("/", |p| p.as_str()));
    let answer: Option<Value> = serde_json::from_slice(a.response.body()).ok();
    let ctx = expr::Context {
        url: &url,
        method: req.method().as_str(),
        status: a.response.status().as_u16(),
        request: expr::Side { headers: Some(req.headers()), query: a.query, path: a.path_params, body: a.body },
        response: expr::Side { headers: Some(a.response.headers()), body: answer.as_ref(), ..expr::Side::default() },
    };
    for (hook, sending) in planned.op.callbacks.iter().zip(&planned.callbacks) {
        let template = hook.url.as_deref().unwrap_or_default();
        let (media, body) = body_of(spec, hook, None);
        match expr::fill(template, &ctx) {
            Ok(target) => send(api, rt, Outgoing::new("callback", hook, target, media, body, *sending, a.request_id)),
            Err(why) => {
                let why = format!("callback {:?} was not sent: its URL {template:?} cannot be resolved: {why}", hook.name);
                tracing::warn!(operation = %planned.op.id, "{why}");
                let call = Outgoing::new("callback", hook, template.to_string(), media, body, *sending, a.request_id);
                journal(&rt.journal, &call, 0, Attempt { status: 0, error: Some(why), answer: None, took: Duration::ZERO });
            }
        }
    }
}

/// What `fire` sends, for the admin API's answer.
#[derive(Debug)]
pub struct Fired {
    pub kind: &'static str,
    pub name: String,
    pub method: String,
    pub url: String,
    pub attempts: u32,
}

/// Why a call fired by hand was not sent.
#[derive(Debug)]
pub enum FireError {
    /// No such webhook, operation or callback.
    Unknown(String),
    /// No URL to send to, or one that is not http(s).
    BadTarget(String),
}

/// Sends a webhook now, to `url` or its configured target, with `body` or its own.
pub fn fire_webhook(api: &Api, rt: &Runtime, name: &str, url: Option<String>, body: Option<Value>) -> Result<Fired, FireError> {
    let Some(w) = api.webhooks.iter().find(|w| w.name == name) else {
        let known: Vec<&str> = api.webhooks.iter().map(|w| w.name.as_str()).collect();
        return Err(FireError::Unknown(format!(
            "no webhook {name:?}; declared: {}",
            if known.is_empty() { "none".into() } else { known.join(", ") }
        )));
    };
    let url = url.or_else(|| w.target.clone()).ok_or_else(|| {
        FireError::BadTarget(format!("webhook {name:?} has no target: send {{\"url\": \"http://…\"}} or start with --webhook {name}=URL"))
    })?;
    let (spec, hook) = (&api.specs[w.spec], &api.specs[w.spec].webhooks[w.hook]);
    fire(api, rt, Outgoing::new("webhook", hook, url, None, None, w.sending, ""), spec, hook, body)
}

/// Sends one callback of an operation now: to `url`, or its URL when it holds no expression.
pub fn fire_callback(
    api: &Api,
    rt: &Runtime,
    operation: &str,
    name: &str,
    url: Option<String>,
    body: Option<Value>,
) -> Result<Fired, FireError> {
    let Some(planned) = api.operations.iter().find(|p| p.op.id == operation) else {
        return Err(FireError::Unknown(format!("no operation {operation:?}")));
    };
    let Some((hook, sending)) = planned.op.callbacks.iter().zip(&planned.callbacks).find(|(h, _)| h.name == name) else {
        let known: Vec<&str> = planned.op.callbacks.iter().map(|h| h.name.as_str()).collect();
        return Err(FireError::Unknown(format!(
            "operation {operation:?} has no callback {name:?}; it declares: {}",
            if known.is_empty() { "none".into() } else { known.join(", ") }
        )));
    };
    let fixed = hook.url.clone().filter(|u| !u.contains('{') && !u.starts_with('$'));
    let url = url.or(fixed).ok_or_else(|| {
        FireError::BadTarget(format!(
            "callback {name:?} goes to {:?}, which only a request can fill: send {{\"url\": \"http://…\"}}",
            hook.url.as_deref().unwrap_or_default()
        ))
    })?;
    fire(api, rt, Outgoing::new("callback", hook, url, None, None, *sending, ""), api.spec_of(&planned.op), hook, body)
}

fn fire(api: &Api, rt: &Runtime, mut call: Outgoing, spec: &Spec, hook: &Hook, body: Option<Value>) -> Result<Fired, FireError> {
    if !crate::client::is_url(&call.url) || http::Uri::try_from(call.url.as_str()).is_err() {
        return Err(FireError::BadTarget(format!("{:?} is not an http:// or https:// URL", call.url)));
    }
    let (media, own) = body_of(spec, hook, None);
    call.media = media.or_else(|| body.is_some().then(|| "application/json".to_string()));
    call.body = body.or(own);
    call.request_id = uuid::Uuid::new_v4().to_string();
    let fired = Fired {
        kind: call.kind,
        name: call.name.clone(),
        method: call.method.to_string(),
        url: call.url.clone(),
        attempts: call.sending.retries + 1,
    };
    send(api, rt, call);
    Ok(fired)
}

/// One call to make, everything owned so that the task outlives the request.
struct Outgoing {
    kind: &'static str,
    name: String,
    method: Method,
    url: String,
    media: Option<String>,
    body: Option<Value>,
    sending: Sending,
    request_id: String,
}

impl Outgoing {
    fn new(
        kind: &'static str,
        hook: &Hook,
        url: String,
        media: Option<String>,
        body: Option<Value>,
        sending: Sending,
        request_id: &str,
    ) -> Self {
        Self { kind, name: hook.name.clone(), method: hook.method.clone(), url, media, body, sending, request_id: request_id.to_string() }
    }
}

/// The body a hook sends: with a `record`, the record itself when the schema admits it, else the
/// schema's value with the record in the first property that admits it (`{"data": record}`);
/// otherwise the first valid example, else data generated from the schema.
fn body_of(spec: &Spec, hook: &Hook, record: Option<&Value>) -> (Option<String>, Option<Value>) {
    let Some(media) =
        hook.body.as_ref().and_then(|b| b.content.iter().find(|m| crate::negotiate::is_json(&m.media_type)).or_else(|| b.content.first()))
    else {
        return (None, record.cloned());
    };
    let media_type = crate::respond::concrete_media_type(&media.media_type);
    let own = match media.example(None) {
        crate::spec::model::Choice::Example(e) => Some(e.value.clone()),
        _ => media.schema.as_ref().and_then(|s| {
            let schema = s.schema(&spec.schemas)?;
            let opts = crate::generate::GenOptions { direction: crate::generate::Direction::Request, ..Default::default() };
            Some(crate::generate::generate(schema, spec.schemas.doc(s.flow), &opts))
        }),
    };
    let (Some(record), Some(schema)) = (record, media.schema.as_ref()) else {
        return (Some(media_type), own);
    };
    let admits = |pointer: &str| spec.schemas.compile(Flow::Request, pointer).is_ok_and(|v| violations(&v, record).is_empty());
    if admits(&schema.pointer) {
        return (Some(media_type), Some(record.clone()));
    }
    let doc = spec.schemas.doc(Flow::Request);
    if let (Some(raw), Some(Value::Object(mut generated))) = (schema.schema(&spec.schemas), own.clone()) {
        let (resolved, at) = crate::spec::source::deref(doc, raw, &schema.pointer);
        let properties = resolved.get("properties").and_then(Value::as_object).into_iter().flatten();
        for (key, _) in properties {
            let pointer = format!("{at}/properties/{}", crate::spec::escape_token(key));
            if admits(&pointer) {
                generated.insert(key.clone(), record.clone());
                return (Some(media_type), Some(Value::Object(generated)));
            }
        }
    }
    (Some(media_type), own)
}

/// Starts the call's task, or journals why it cannot run.
fn send(api: &Api, rt: &Runtime, call: Outgoing) {
    let journal = Arc::clone(&rt.journal);
    // The journal keeps the body without the secrets the documents and flags name.
    let mut shown = call.body.clone();
    if let Some(body) = shown.as_mut().filter(|_| !api.redact.is_empty()) {
        api.redact.body(None, body, &mut crate::plan::redact::Secrets::default());
    }
    let refuse = |why: String| {
        tracing::warn!(kind = call.kind, name = %call.name, url = %call.url, "{why}");
        journal_with(&journal, &call, shown.clone(), 0, Attempt { status: 0, error: Some(why), answer: None, took: Duration::ZERO });
    };
    if !crate::client::is_url(&call.url) || http::Uri::try_from(call.url.as_str()).is_err() {
        return refuse(format!("not sent: {:?} is not an http:// or https:// URL", call.url));
    }
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return refuse("not sent: no async runtime to send it from".into());
    };
    if IN_FLIGHT.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
        return refuse(format!("not sent: {MAX_IN_FLIGHT} outgoing calls are already in flight"));
    }
    handle.spawn(async move {
        deliver(&journal, &call, shown).await;
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    });
}

struct Attempt {
    status: u16,
    error: Option<String>,
    answer: Option<Value>,
    took: Duration,
}

async fn deliver(journal: &Journal, call: &Outgoing, shown: Option<Value>) {
    if !call.sending.delay.is_zero() {
        tokio::time::sleep(call.sending.delay).await;
    }
    let attempts = call.sending.retries + 1;
    let bytes = match (&call.body, call.media.as_deref()) {
        (Some(v), Some(media)) => crate::respond::encode(v, media, None),
        (Some(v), None) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
        (None, _) => Bytes::new(),
    };
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=attempts {
        let mut req = Request::builder().method(call.method.clone()).uri(call.url.as_str());
        if call.body.is_some() {
            req = req.header(header::CONTENT_TYPE, call.media.as_deref().unwrap_or("application/json"));
        }
        if !call.request_id.is_empty() {
            req = req.header(crate::headers::REQUEST_ID, call.request_id.as_str());
        }
        let req = req.header(header::USER_AGENT, concat!("specstub/", env!("CARGO_PKG_VERSION"))).body(bytes.clone());
        let started = Instant::now();
        let outcome = match req {
            Ok(req) => crate::client::shared().send(req, call.sending.timeout).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the request cannot be built: {e}")),
        };
        let took = started.elapsed();
        let (done, result) = match outcome {
            Ok(r) => {
                let status = r.status().as_u16();
                (status < 500, Attempt { status, error: None, answer: answer_of(r.headers(), r.body()), took })
            }
            Err(error) => (false, Attempt { status: 0, error: Some(error), answer: None, took }),
        };
        journal_with(journal, call, shown.clone(), attempt, result);
        if done || attempt == attempts {
            break;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// An answer's body for the journal: JSON as JSON, text as a string, nothing else.
fn answer_of(headers: &HeaderMap, body: &Bytes) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Some(v);
    }
    let textual = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_none_or(|ct| ct.starts_with("text/"));
    std::str::from_utf8(body).ok().filter(|_| textual).map(|s| Value::String(s.to_string()))
}

fn journal(journal: &Journal, call: &Outgoing, attempt: u32, result: Attempt) {
    journal_with(journal, call, call.body.clone(), attempt, result);
}

fn journal_with(journal: &Journal, call: &Outgoing, body: Option<Value>, attempt: u32, result: Attempt) {
    let path = http::Uri::try_from(call.url.as_str()).map(|u| u.path().to_string()).unwrap_or_default();
    journal.record(Entry {
        seq: 0,
        request_id: call.request_id.clone(),
        at: crate::clock::Stamp::now(),
        method: call.method.to_string(),
        path,
        query: Default::default(),
        operation: None,
        session: None,
        body,
        status: result.status,
        validation: "unchecked",
        violations: Vec::new(),
        injected: Vec::new(),
        duration_ms: result.took.as_secs_f64() * 1000.0,
        direction: OUTGOING,
        call: Some(Call {
            kind: call.kind,
            name: call.name.clone(),
            url: call.url.clone(),
            attempt,
            attempts: call.sending.retries + 1,
            error: result.error,
            answer: result.answer,
        }),
        reload: None,
    });
}

/// The admin API's answer for a call fired by hand.
pub fn fired_json(f: &Fired) -> Value {
    json!({"fired": true, "kind": f.kind, "name": f.name, "method": f.method, "url": f.url, "attempts": f.attempts})
}
