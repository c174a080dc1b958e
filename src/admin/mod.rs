//! The admin API under a reserved prefix (default `/__specstub`): reset, records, the request
//! journal and verification, described by its own OpenAPI document, and the web dashboard
//! ([`dashboard`]) that shows them. Every call passes
//! [`guard`] first (token, loopback, Host, Origin, JSON for changes). It goes through the
//! store, journal and traffic APIs and never reaches into their internals.

mod dashboard;
mod guard;

pub use guard::Access;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::exchange::Exchange;
use crate::journal::Entry;
use crate::journal::Expectation;
use crate::plan::Api;
use crate::problem::{ErrorReply, render};
use crate::runtime::Runtime;
use crate::store::{Expect, Ns, Record, StoreError};

const OPENAPI: &str = include_str!("openapi.yaml");

/// The admin API's own OpenAPI document, as JSON.
pub fn openapi_json() -> Value {
    serde_norway::from_str::<Value>(OPENAPI).unwrap_or(Value::Null)
}

fn reply(status: StatusCode, body: &Value) -> Response<Bytes> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(serde_json::to_vec(body).unwrap_or_default()))
        .unwrap_or_default()
}

fn empty(status: StatusCode) -> Response<Bytes> {
    Response::builder().status(status).body(Bytes::new()).unwrap_or_default()
}

fn problem(status: StatusCode, detail: impl Into<String>) -> Response<Bytes> {
    render(&ErrorReply::new(status, detail), None)
}

fn record_json(r: &Record) -> Value {
    let scope: serde_json::Map<String, Value> = r.scope.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    json!({"id": r.id, "version": r.version, "etag": crate::behaviour::etag(r.version), "scope": scope, "data": r.data})
}

/// Answers an admin request; `rest` is the path after the prefix.
pub fn handle(api: &Api, rt: &Runtime, req: &Request<Bytes>, ex: &Exchange, rest: &str) -> Response<Bytes> {
    let segments: Vec<String> = rest
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let gate = if matches!(*req.method(), Method::GET | Method::HEAD) && segs == ["health"] {
        guard::Gate::Open
    } else if dashboard::is_page(req.method(), &segs) {
        guard::Gate::Page
    } else {
        guard::Gate::Full
    };
    let mut response = match guard::admit(&api.config, req, gate) {
        Ok(()) => dashboard::serve(api, req.method(), &segs).unwrap_or_else(|| route(api, rt, req, ex, &segs)),
        Err(refusal) => render(&refusal, None),
    };
    // Admin answers hold test data: never read as a script or a page, never cached.
    let h = response.headers_mut();
    h.insert(http::header::X_CONTENT_TYPE_OPTIONS, http::HeaderValue::from_static("nosniff"));
    h.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}

fn route(api: &Api, rt: &Runtime, req: &Request<Bytes>, ex: &Exchange, segs: &[&str]) -> Response<Bytes> {
    let query = &ex.query;
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let session = q("session").or_else(|| ex.session.clone()).unwrap_or_default();
    let method = req.method();
    let Some(store) = rt.store.as_deref() else {
        if segs.first().is_some_and(|s| *s == "resources") {
            return problem(StatusCode::CONFLICT, "the server runs with --stateless: there is no store");
        }
        return route_stateless(api, rt, req, ex, segs);
    };
    match (method, segs) {
        (&Method::POST, ["resources", resource, "reset"]) | (&Method::POST, ["reset", resource]) => {
            if let Err(e) = rt.reset_scope(Some(&session), Some(resource)) {
                return store_problem(e);
            }
            reply(StatusCode::OK, &json!({"reset": true, "session": session, "resource": resource}))
        }
        (&Method::GET, ["resources"]) => match store.collections(&session) {
            Ok(c) => {
                // Deleted ids are remembered beside their collection; they are not one.
                let shown = c.into_iter().filter(|(name, _)| !crate::behaviour::is_tombstones(name));
                reply(StatusCode::OK, &Value::Array(shown.map(|(name, count)| json!({"name": name, "count": count})).collect()))
            }
            Err(e) => store_problem(e),
        },
        (&Method::GET, ["resources", resource]) => {
            let ns = Ns { session, resource: resource.to_string() };
            match store.list(&ns, &|_| true, 0, usize::MAX) {
                Ok(page) => reply(StatusCode::OK, &Value::Array(page.records.iter().map(record_json).collect())),
                Err(e) => store_problem(e),
            }
        }
        (&Method::GET, ["resources", resource, id]) => match store.get(&Ns { session, resource: resource.to_string() }, id) {
            Ok(Some(r)) => reply(StatusCode::OK, &record_json(&r)),
            Ok(None) => problem(StatusCode::NOT_FOUND, format!("no record {id:?} in {resource:?}")),
            Err(e) => store_problem(e),
        },
        (&Method::PUT, ["resources", resource, id]) => {
            let data: Value = match serde_json::from_slice(req.body()) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => return problem(StatusCode::BAD_REQUEST, "the record must be a JSON object"),
                Err(e) => {
                    return problem(StatusCode::BAD_REQUEST, format!("malformed JSON at line {}, column {}: {e}", e.line(), e.column()));
                }
            };
            let scope = query.iter().filter_map(|(k, v)| Some((k.strip_prefix("scope.")?.to_string(), v.clone()))).collect();
            let record = Record { id: id.to_string(), version: 0, seq: 0, scope, data };
            match store.put(&Ns { session, resource: resource.to_string() }, record) {
                Ok(r) => reply(StatusCode::OK, &record_json(&r)),
                Err(e) => store_problem(e),
            }
        }
        (&Method::DELETE, ["resources", resource, id]) => {
            match store.delete(&Ns { session, resource: resource.to_string() }, id, Expect::Any) {
                Ok(_) => empty(StatusCode::NO_CONTENT),
                Err(e) => store_problem(e),
            }
        }
        (&Method::POST, ["reset"]) => {
            // Without a session, everything; with one, only that namespace.
            let scoped = q("session").is_some() || ex.session.is_some();
            let resource = q("resource");
            if let Err(e) = rt.reset_scope(scoped.then_some(session.as_str()), resource.as_deref()) {
                return store_problem(e);
            }
            reply(StatusCode::OK, &json!({"reset": true}))
        }
        _ => route_stateless(api, rt, req, ex, segs),
    }
}

fn store_problem(e: StoreError) -> Response<Bytes> {
    match e {
        StoreError::NotFound => problem(StatusCode::NOT_FOUND, "no such record"),
        StoreError::Unavailable(why) => render(
            &ErrorReply::new(StatusCode::SERVICE_UNAVAILABLE, format!("the state store is unavailable: {why}"))
                .with_header(http::header::RETRY_AFTER, "1"),
            None,
        ),
        StoreError::Full(_) => problem(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
        other => problem(StatusCode::CONFLICT, other.to_string()),
    }
}

fn route_stateless(api: &Api, rt: &Runtime, req: &Request<Bytes>, ex: &Exchange, segs: &[&str]) -> Response<Bytes> {
    match (req.method(), segs) {
        (&Method::GET, ["health"]) => health(api, rt),
        (&Method::GET, ["openapi.json"]) => reply(StatusCode::OK, &openapi_json()),
        (&Method::POST, ["reset"]) => {
            rt.reset_traffic();
            reply(StatusCode::OK, &json!({"reset": true}))
        }
        (&Method::POST, ["reload"]) => reload(rt),
        (&Method::GET, ["journal"]) => journal(api, rt, ex),
        (&Method::DELETE, ["journal"]) => {
            rt.journal.clear(ex.session.as_deref());
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["verify"]) => verify(rt, req, ex),
        (&Method::POST, ["webhooks", name, "fire"]) => fire(api, rt, req, None, name),
        (&Method::POST, ["callbacks", operation, name, "fire"]) => fire(api, rt, req, Some(operation), name),
        (m, _) => problem(StatusCode::NOT_FOUND, format!("no admin operation {m} {}; see the admin API's openapi.json", req.uri().path())),
    }
}

/// `GET /journal`: the newest `limit` entries, or with `after=SEQ` the first `limit` after that
/// one, with a `Link: <…>; rel="next"` to the following page when there is one.
fn journal(api: &Api, rt: &Runtime, ex: &Exchange) -> Response<Bytes> {
    let q = |name: &str| ex.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let number = |name: &str| match q(name) {
        None => Ok(None),
        Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| format!("{name}={v:?} is not a whole number")),
    };
    let (limit, after) = match (number("limit"), number("after")) {
        (Ok(l), Ok(a)) => (l.map(|l| usize::try_from(l).unwrap_or(usize::MAX)), a),
        (Err(why), _) | (_, Err(why)) => return problem(StatusCode::BAD_REQUEST, why),
    };
    let session = q("session").or_else(|| ex.session.clone());
    let (op, method, path, direction) = (q("operation"), q("method"), q("path"), q("direction"));
    let page = rt.journal.page(
        |e| {
            session.as_deref().is_none_or(|s| e.session.as_deref() == Some(s))
                && op.as_deref().is_none_or(|o| e.operation.as_deref() == Some(o))
                && method.as_deref().is_none_or(|m| e.method.eq_ignore_ascii_case(m))
                && path.as_deref().is_none_or(|p| e.path == p)
                && direction.as_deref().is_none_or(|d| e.direction == d)
        },
        after,
        limit,
    );
    // Written straight from the entries: a JSON tree in between would hold the page twice more.
    let body = Bytes::from(serde_json::to_vec(&page.entries).unwrap_or_default());
    let next = page.entries.last().map(|e| e.seq).filter(|_| page.more);
    drop(page);
    let mut response =
        Response::builder().status(StatusCode::OK).header(http::header::CONTENT_TYPE, "application/json").body(body).unwrap_or_default();
    if let Some(last) = next {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        let mut params: Vec<String> =
            ex.query.iter().filter(|(k, _)| k != "after" && k != "limit").map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        params.push(format!("after={last}"));
        if let Some(limit) = limit {
            params.push(format!("limit={limit}"));
        }
        let link = format!("<{}/journal?{}>; rel=\"next\"", api.config.admin_prefix, params.join("&"));
        if let Ok(v) = http::HeaderValue::from_str(&link) {
            response.headers_mut().insert(http::header::LINK, v);
        }
    }
    response
}

/// 200 while the server can answer everything it serves, 503 while its store cannot be reached;
/// read from what the store's probe last saw, so it answers at once however stalled the store is.
fn health(api: &Api, rt: &Runtime) -> Response<Bytes> {
    let store = rt.store_health();
    let up = store.as_ref().is_none_or(|s| s.is_available());
    let mut out = json!({"status": if up { "ok" } else { "unavailable" }, "connections": rt.connections.to_json()});
    if let Some(store) = store {
        out["store"] = serde_json::to_value(store).unwrap_or_default();
    }
    if api.config.self_check {
        let (answers, violations) = rt.self_check.get();
        out["selfCheck"] = json!({"answers": answers, "violations": violations});
    }
    let mut plan = json!({"generation": rt.plan().number, "watching": api.config.watch});
    if let Some(last) = rt.last_reload() {
        plan["lastReload"] = json!({"at": last.at, "outcome": last.outcome, "trigger": last.trigger});
    }
    out["plan"] = plan;
    reply(if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, &out)
}

/// Compiles the documents again now (what the watcher does on a change): 200 with the new
/// plan or nothing to do, 422 with the problems while the old plan serves on.
fn reload(rt: &Runtime) -> Response<Bytes> {
    let multi_thread =
        tokio::runtime::Handle::try_current().is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    // Compiling takes a while for a large document: the worker's other requests move meanwhile.
    let outcome = if multi_thread {
        tokio::task::block_in_place(|| rt.reload(crate::runtime::reload::Trigger::Admin))
    } else {
        rt.reload(crate::runtime::reload::Trigger::Admin)
    };
    let status = if outcome.outcome == "kept" { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    reply(status, &serde_json::to_value(&outcome).unwrap_or_default())
}

fn verify(rt: &Runtime, req: &Request<Bytes>, ex: &Exchange) -> Response<Bytes> {
    let want: Value = match serde_json::from_slice(req.body()) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "send a JSON object such as {\"method\": \"PATCH\", \"path\": \"/api/v2/runs\", \"body\": {\"/updateMask\": \"name\"}, \"atLeast\": 1}",
            );
        }
    };
    let expectation = match Expectation::from_json(&want) {
        Ok(e) => e.session(ex.session.clone()),
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let outcome = expectation.check(&rt.journal);
    let status = if outcome.ok { StatusCode::OK } else { StatusCode::EXPECTATION_FAILED };
    let mut out = json!({"ok": outcome.ok, "matched": outcome.matched});
    if !outcome.ok {
        out["recent"] = Value::Array(outcome.recent.iter().map(recent_json).collect());
    }
    reply(status, &out)
}

/// `POST /webhooks/{name}/fire`, `POST /callbacks/{operationId}/{name}/fire`: sends it now, in
/// the background; the body may name `url` and `body` instead of the configured ones.
fn fire(api: &Api, rt: &Runtime, req: &Request<Bytes>, operation: Option<&str>, name: &str) -> Response<Bytes> {
    let asked: Value = if req.body().iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(req.body()) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "send a JSON object such as {\"url\": \"http://127.0.0.1:9000/hooks\", \"body\": {}}, or nothing",
                );
            }
        }
    };
    if let Some(unknown) = asked.as_object().into_iter().flatten().map(|(k, _)| k).find(|k| *k != "url" && *k != "body") {
        return problem(StatusCode::BAD_REQUEST, format!("unknown field {unknown:?}: use url and body"));
    }
    let url = match asked.get("url") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) => Some(u.clone()),
        Some(_) => return problem(StatusCode::BAD_REQUEST, "url must be a string"),
    };
    let body = asked.get("body").cloned();
    let fired = match operation {
        Some(op) => crate::hooks::fire_callback(api, rt, op, name, url, body),
        None => crate::hooks::fire_webhook(api, rt, name, url, body),
    };
    match fired {
        Ok(f) => reply(StatusCode::ACCEPTED, &crate::hooks::fired_json(&f)),
        Err(crate::hooks::FireError::Unknown(why)) => problem(StatusCode::NOT_FOUND, why),
        Err(crate::hooks::FireError::BadTarget(why)) => problem(StatusCode::BAD_REQUEST, why),
    }
}

fn recent_json(e: &Entry) -> Value {
    json!({"method": e.method, "path": e.path, "status": e.status, "body": e.body})
}
