//! The validating proxy (`serve --proxy URL`): each request the spec describes is checked as
//! usual, forwarded to the upstream (method, path, query, end-to-end headers, body), and the
//! upstream's answer is checked against the operation's responses with the same checks as
//! `verify` ([`crate::verify::check`]). Violations of either side are logged, recorded in the
//! journal and listed in the `specstub-violations` header of the answer, which is otherwise the
//! upstream's. With `--proxy-strict` a request that breaks the spec is refused as the mock would
//! refuse it (not forwarded), an upstream answer that breaks it becomes a 502 problem+json listing
//! the violations, and a path the spec does not describe gets 404 instead of being passed through.
//! The upstream's answer is handed back as it came too, for record mode to keep.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};

use crate::client::{self, SendError};
use crate::headers::VIOLATIONS_HEADER;
use crate::problem::{ErrorReply, render};
use crate::spec::{Operation, Spec};
use crate::validate::{Location, Rejection, Violation};
use crate::verify::check::{self, Finding};

/// How long the upstream gets to answer one request.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// What forwarding one request gave, for the pipeline to answer and journal.
pub struct Forwarded {
    /// The answer: the upstream's, a 502, or the refusal of an invalid request (strict).
    pub answer: Result<Response<Bytes>, ErrorReply>,
    /// Request violations, then the upstream answer's (messages starting with "response").
    pub violations: Vec<Violation>,
    /// For the journal: "valid", "warned" (answered anyway) or "invalid" (refused or 502).
    pub validation: &'static str,
    /// The upstream's answer as it came (hop-by-hop headers dropped), even when strict mode
    /// replaced it with a 502; None when the request was not forwarded or the upstream failed.
    pub upstream: Option<Upstream>,
}

/// What the upstream answered, for record mode.
pub struct Upstream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Forwards a request that routed to `op`; `rejection` is what request validation found.
pub async fn forward(
    upstream: &str,
    strict: bool,
    spec: &Spec,
    op: &Operation,
    req: &Request<Bytes>,
    rejection: Option<&Rejection>,
) -> Forwarded {
    let mut violations = rejection.map(request_violations).unwrap_or_default();
    if let Some(r) = rejection {
        if strict {
            let answer = Err(ErrorReply::from_rejection(r, spec, op));
            return Forwarded { answer, violations, validation: "invalid", upstream: None };
        }
        tracing::warn!(operation = %op.id, violations = %r, "request does not match the spec (forwarded anyway)");
    }
    let upstream = match send(upstream, req).await {
        Ok(r) => r,
        Err(reply) => {
            let validation = if violations.is_empty() { "valid" } else { "warned" };
            return Forwarded { answer: Ok(render(&reply, None)), violations, validation, upstream: None };
        }
    };
    let kept = Upstream { status: upstream.status(), headers: upstream.headers().clone(), body: upstream.body().clone() };
    let findings = check::response(spec, op, req.method(), upstream.status().as_u16(), upstream.headers(), upstream.body());
    if !findings.is_empty() {
        let list = findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        tracing::warn!(operation = %op.id, status = upstream.status().as_u16(), violations = %list, "upstream answer does not match the spec");
    }
    violations.extend(findings.iter().map(Finding::to_violation));
    if strict && !findings.is_empty() {
        let detail = format!(
            "the upstream answered {} {} with {} that do(es) not match the spec",
            req.method(),
            req.uri().path(),
            plural(findings.len(), "violation")
        );
        let reply = ErrorReply {
            violations: findings.iter().map(Finding::to_violation).collect(),
            ..ErrorReply::new(StatusCode::BAD_GATEWAY, detail)
        };
        return Forwarded { answer: Ok(render(&reply, None)), violations, validation: "invalid", upstream: Some(kept) };
    }
    let mut response = upstream;
    let validation = if violations.is_empty() { "valid" } else { "warned" };
    if !violations.is_empty() {
        let text: String = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        let text: String = text.chars().filter(|c| !c.is_control()).take(2000).collect();
        if let Ok(v) = HeaderValue::from_str(&text) {
            response.headers_mut().insert(VIOLATIONS_HEADER, v);
        }
    }
    Forwarded { answer: Ok(response), violations, validation, upstream: Some(kept) }
}

/// Forwards a request the spec does not describe, unchecked (not with `--proxy-strict`: the
/// caller answers 404 then).
pub async fn pass_through(upstream: &str, req: &Request<Bytes>) -> Response<Bytes> {
    match send(upstream, req).await {
        Ok(r) => r,
        Err(reply) => render(&reply, None),
    }
}

/// The upstream's answer, or the 502/504 to give when there is none.
async fn send(upstream: &str, req: &Request<Bytes>) -> Result<Response<Bytes>, ErrorReply> {
    let base = upstream.trim_end_matches('/');
    let target = format!("{base}{}", req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut out = Request::builder()
        .method(req.method().clone())
        .uri(&target)
        .body(req.body().clone())
        .map_err(|e| ErrorReply::new(StatusCode::BAD_GATEWAY, format!("cannot forward to {target}: {e}")))?;
    *out.headers_mut() = end_to_end(req.headers(), true);
    out.headers_mut().append(header::VIA, HeaderValue::from_static("1.1 specstub"));
    let answer = client::shared().send(out, UPSTREAM_TIMEOUT).await.map_err(|e| {
        tracing::warn!(upstream = %target, error = %e, "upstream failed");
        let status = if matches!(e, SendError::Timeout(_)) { StatusCode::GATEWAY_TIMEOUT } else { StatusCode::BAD_GATEWAY };
        ErrorReply::new(status, format!("the upstream {base} did not answer {} {}: {e}", req.method(), req.uri().path()))
    })?;
    let (mut parts, body) = answer.into_parts();
    let keep_length = req.method() == http::Method::HEAD;
    parts.headers = end_to_end(&parts.headers, false);
    if !keep_length {
        parts.headers.remove(header::CONTENT_LENGTH);
    }
    Ok(Response::from_parts(parts, body))
}

/// The headers a proxy passes on: hop-by-hop ones (and those `Connection` names) dropped. For
/// requests also `Host` (the upstream's is set from the URL), `Accept-Encoding` (so the answer
/// comes uncompressed and its body can be checked), `Content-Length` (recomputed) and specstub's
/// own session header.
fn end_to_end(headers: &HeaderMap, request: bool) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let n = name.as_str();
        let hop = matches!(
            n,
            "connection"
                | "keep-alive"
                | "proxy-connection"
                | "proxy-authenticate"
                | "proxy-authorization"
                | "te"
                | "trailer"
                | "transfer-encoding"
                | "upgrade"
        ) || named.iter().any(|x| x == n);
        let local = request && matches!(n, "host" | "accept-encoding" | "content-length" | crate::headers::SESSION_HEADER);
        if !hop && !local {
            out.append(HeaderName::clone(name), value.clone());
        }
    }
    out
}

/// Every request violation as `{in, pointer, message}`, including refusals that carry none.
fn request_violations(r: &Rejection) -> Vec<Violation> {
    let one = |pointer: &str, message: String| vec![Violation { location: Location::Header, pointer: pointer.into(), message }];
    match r {
        Rejection::Malformed(v) | Rejection::Invalid(v) => v.clone(),
        Rejection::Unauthorized { message, .. } => one("/authorization", format!("authentication required: {message}")),
        Rejection::Forbidden { message } => one("/authorization", message.clone()),
        Rejection::UnsupportedMediaType { message } => one("/content-type", message.clone()),
        Rejection::NotAcceptable { .. } => one("/accept", r.to_string()),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, x-private".parse().unwrap());
        h.insert("x-private", "1".parse().unwrap());
        h.insert(header::HOST, "stub".parse().unwrap());
        h.insert(header::ACCEPT_ENCODING, "gzip".parse().unwrap());
        h.insert(header::AUTHORIZATION, "Bearer t".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        let out = end_to_end(&h, true);
        assert_eq!(out.keys().map(|k| k.as_str()).collect::<Vec<_>>(), vec!["authorization"]);
        let out = end_to_end(&h, false);
        assert!(out.contains_key(header::HOST) && out.contains_key(header::ACCEPT_ENCODING) && !out.contains_key("x-private"));
    }
}
