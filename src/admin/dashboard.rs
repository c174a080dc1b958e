//! The web dashboard at the admin prefix: one page, its style sheet and its script, compiled
//! into the binary (no build step, nothing fetched from elsewhere), plus `GET /operations`, the
//! served operations as the compiled plan answers them. The page reads everything else from the
//! admin API's JSON routes with the same guard, sending the admin token it was given.

use bytes::Bytes;
use http::{Method, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::plan::{Answer, Api, Planned};
use crate::spec::model::Choice;

const PAGE: &str = include_str!("dashboard/index.html");
const STYLE: &str = include_str!("dashboard/dashboard.css");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");

/// Only the page's own files, and its calls back to this server: no inline script, no frames.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                      base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Whether `segs` (the path after the prefix) names one of the dashboard's static files, which
/// open without the admin token.
pub fn is_page(method: &Method, segs: &[&str]) -> bool {
    matches!(*method, Method::GET | Method::HEAD) && matches!(segs, [] | ["dashboard.css"] | ["dashboard.js"])
}

/// Answers the dashboard's routes; None for any other admin route.
pub fn serve(api: &Api, method: &Method, segs: &[&str]) -> Option<Response<Bytes>> {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return None;
    }
    let (kind, body) = match segs {
        [] => ("text/html; charset=utf-8", Bytes::from(PAGE.replace("{{prefix}}", &escape(&api.config.admin_prefix)))),
        ["dashboard.css"] => ("text/css; charset=utf-8", Bytes::from_static(STYLE.as_bytes())),
        ["dashboard.js"] => ("text/javascript; charset=utf-8", Bytes::from_static(SCRIPT.as_bytes())),
        ["operations"] => ("application/json", Bytes::from(serde_json::to_vec(&operations(api)).unwrap_or_default())),
        _ => return None,
    };
    let mut b = Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, kind);
    if segs.is_empty() {
        b = b.header(header::CONTENT_SECURITY_POLICY, POLICY).header(header::REFERRER_POLICY, "no-referrer");
    }
    Some(b.body(body).unwrap_or_default())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Every served operation: where it is, how it is answered, what traffic rules apply, and the
/// example request body when the document gives one (for the page's curl lines).
pub fn operations(api: &Api) -> Value {
    Value::Array(api.operations.iter().map(|p| operation(api, p)).collect())
}

fn operation(api: &Api, p: &Planned) -> Value {
    let op = &p.op;
    let answer = match &p.answer {
        Answer::Mock => {
            let media = op.default_response().and_then(|r| r.content.first());
            match media.map(|m| m.example(None)) {
                Some(Choice::Example(e)) => json!({"kind": "example", "example": e.name}),
                Some(_) => json!({"kind": "generated"}),
                None => json!({"kind": "empty"}),
            }
        }
        Answer::Stateful(b) => {
            json!({"kind": "stateful", "resource": b.resource, "action": format!("{:?}", b.action).to_ascii_lowercase()})
        }
        Answer::Proxy { strict, .. } => json!({"kind": "proxied", "strict": strict}),
    };
    let mut out = json!({
        "api": api.spec_of(op).title,
        "operationId": op.id,
        "method": op.method.as_str(),
        "path": op.served_path,
        "answer": answer,
        "status": op.default_response().map(|r| r.status(200)),
    });
    if let Some(route) = &p.traffic {
        if let Some(limit) = route.rate_limit(&api.traffic) {
            out["rateLimit"] = json!(limit.to_string());
        }
        if let Some((latency, from)) = route.latency() {
            out["latency"] = json!({"value": latency.to_string(), "from": from});
        }
        let faults: Vec<Value> = route.faults().iter().map(|f| json!({"fault": f.fault.to_string(), "rate": f.rate})).collect();
        if !faults.is_empty() {
            out["faults"] = Value::Array(faults);
        }
        if route.chaotic() {
            out["chaos"] = json!(true);
        }
    }
    let media = op.body.as_ref().and_then(|b| b.content.first());
    if let Some(m) = media {
        out["requestBody"] = json!({"mediaType": m.media_type});
        if let Choice::Example(e) = m.example(None) {
            out["requestBody"]["example"] = e.value.clone();
        }
    }
    out
}
