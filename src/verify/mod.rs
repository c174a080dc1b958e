//! `specstub verify`: contract tests of a real provider. Every operation of the documents gets
//! requests built from the spec, in an order a stateful provider can follow (create → read →
//! update → custom verbs → delete, plus OpenAPI `links`), and every answer is checked against the
//! contract: status declared, declared headers present and valid, `Content-Type` declared, body
//! valid against its schema.
//!
//! Outcomes: **passed** (a 2xx/3xx answer that matches the contract), **failed** (any contract
//! violation; a 5xx; a 404/405 where every identifier came from earlier answers; no answer at
//! all), **inconclusive** (a matching 4xx that proves nothing about the contract: refused
//! credentials, a 404 for identifiers that came from the spec's examples, a conflict with the
//! provider's state, a refused request body). Only failures make the run fail, unless
//! `fail_on_inconclusive` is set.
//!
//! From Rust: [`crate::verify_provider`].

pub mod check;
mod order;
pub mod report;
mod request;
mod state;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::client::{HttpClient, SendError};
use crate::spec::source::deref;
use crate::spec::walk::Flow;
use crate::spec::{Operation, Spec, SpecSet};
use check::Finding;
use order::{Kind, Step};
pub use report::{Case, OperationReport, Outcome, Report, SentRequest, Summary};
use request::{Built, CaseSpec, Ctx};
use state::{Exchange, State};

/// How to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// The provider's base URL: `https://host[:port][/prefix]`. Each operation's served path (the
    /// document's server path plus the operation path) is appended to it.
    pub target: String,
    /// Sent as each operation's security scheme asks (bearer, basic `user:password`, API key).
    pub token: Option<String>,
    /// Extra headers on every request.
    pub headers: Vec<(String, String)>,
    /// Only operations with one of these operationIds or tags (all when empty).
    pub include: Vec<String>,
    /// Never operations with one of these operationIds or tags.
    pub exclude: Vec<String>,
    /// Per request.
    pub timeout: Duration,
    /// Requests in flight at once (operations on one resource always run one after another).
    pub concurrency: usize,
    /// Inconclusive results fail the run too.
    pub fail_on_inconclusive: bool,
}

impl Options {
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            token: None,
            headers: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            timeout: Duration::from_secs(10),
            concurrency: 4,
            fail_on_inconclusive: false,
        }
    }

    fn selects(&self, op: &Operation) -> bool {
        let named = |list: &[String]| list.iter().any(|n| *n == op.id || op.tags.contains(n));
        (self.include.is_empty() || named(&self.include)) && !named(&self.exclude)
    }
}

/// Checks a target URL: `http` or `https`, a host, no query. Returns it without a trailing slash.
pub fn parse_target(url: &str) -> Result<String, String> {
    let uri: http::Uri = url.trim().parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(format!("{url:?}: the target must start with http:// or https://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{url:?}: the target has no host"));
    }
    if uri.query().is_some() {
        return Err(format!("{url:?}: the target cannot have a query string"));
    }
    Ok(url.trim().trim_end_matches('/').to_string())
}

/// Verifies every selected operation of `set` against `options.target`. Errors only when the
/// run cannot start (a bad target URL); everything else is in the report.
pub async fn run(set: &SpecSet, options: &Options) -> Result<Report, String> {
    let base = parse_target(&options.target)?;
    let client = HttpClient::new();
    let started = Instant::now();
    let mut operations = Vec::new();
    let mut excluded = 0;
    for (si, spec) in set.specs.iter().enumerate() {
        let all: Vec<&Operation> = set.operations.iter().filter(|o| o.spec == si).collect();
        let ops: Vec<&Operation> = all.iter().copied().filter(|o| options.selects(o)).collect();
        excluded += all.len() - ops.len();
        operations.extend(verify_spec(spec, &ops, options, &base, &client).await);
    }
    let mut summary = Summary { operations: operations.len(), excluded, ..Summary::default() };
    for op in &operations {
        summary.requests += op.cases.len();
        match op.outcome {
            Outcome::Passed => summary.passed += 1,
            Outcome::Failed => summary.failed += 1,
            Outcome::Inconclusive => summary.inconclusive += 1,
        }
    }
    summary.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let ok = summary.failed == 0 && (!options.fail_on_inconclusive || summary.inconclusive == 0);
    let specs = set.specs.iter().map(|s| s.file.display().to_string()).collect();
    Ok(Report { target: base, specs, ok, summary, operations })
}

async fn verify_spec(spec: &Spec, ops: &[&Operation], options: &Options, base: &str, client: &HttpClient) -> Vec<OperationReport> {
    let links: Vec<Vec<usize>> = ops
        .iter()
        .map(|op| {
            let mut targets = Vec::new();
            for r in &op.responses {
                for link in links_of(spec, op, &r.code).map(|m| m.into_iter().map(|(_, l)| l).collect::<Vec<_>>()).unwrap_or_default() {
                    if let Some(t) = link_target(ops, &link).and_then(|id| ops.iter().position(|o| o.id == id)) {
                        targets.push(t);
                    }
                }
            }
            targets
        })
        .collect();
    let steps = order::plan(ops, &links);
    let state = Mutex::new(State::default());
    let mut reports: Vec<(usize, OperationReport)> = Vec::new();
    let waves = steps.last().map_or(0, |s| s.wave + 1);
    for wave in 0..waves {
        // One lane per resource; lanes run concurrently, a lane's steps in order.
        let mut lanes: Vec<Vec<(usize, &Step)>> = Vec::new();
        for (pos, step) in steps.iter().enumerate().filter(|(_, s)| s.wave == wave) {
            match lanes.iter_mut().find(|l| l[0].1.resource == step.resource) {
                Some(lane) => lane.push((pos, step)),
                None => lanes.push(vec![(pos, step)]),
            }
        }
        let state = &state;
        let done: Vec<Vec<(usize, OperationReport)>> = futures_util::stream::iter(lanes)
            .map(|lane| async move {
                let mut out = Vec::new();
                for (pos, step) in lane {
                    let ctx = Ctx { spec, op: ops[step.index], kind: step.kind, resource: &step.resource, base, opts: options };
                    out.push((pos, verify_operation(&ctx, ops, state, client).await));
                }
                out
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        reports.extend(done.into_iter().flatten());
    }
    reports.sort_by_key(|(pos, _)| *pos);
    reports.into_iter().map(|(_, r)| r).collect()
}

async fn verify_operation(ctx: &Ctx<'_>, ops: &[&Operation], state: &Mutex<State>, client: &HttpClient) -> OperationReport {
    let (spec, op) = (ctx.spec, ctx.op);
    let mut cases = Vec::new();
    for case in request::cases(op) {
        cases.push(verify_case(ctx, &case, ops, state, client).await);
    }
    let outcome = cases.iter().map(|c| c.outcome).max().unwrap_or(Outcome::Passed);
    OperationReport {
        operation: op.id.clone(),
        spec: spec.file.display().to_string(),
        title: spec.title.clone(),
        method: op.method.to_string(),
        path: op.served_path.clone(),
        tags: op.tags.clone(),
        kind: ctx.kind.as_str().to_string(),
        outcome,
        cases,
    }
}

async fn verify_case(ctx: &Ctx<'_>, case: &CaseSpec, ops: &[&Operation], state: &Mutex<State>, client: &HttpClient) -> Case {
    let (spec, op) = (ctx.spec, ctx.op);
    let built = {
        let state = state.lock().unwrap_or_else(|p| p.into_inner());
        request::build(ctx, case, &state)
    };
    let sent = SentRequest { method: built.method.to_string(), url: built.url.clone(), body: built.body_json.clone() };
    let mut req = http::Request::builder().method(built.method.clone()).uri(&built.url).body(built.body.clone()).unwrap_or_default();
    *req.headers_mut() = built.headers.clone();
    let started = Instant::now();
    let answer = client.send(req, ctx.opts.timeout).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut result = Case {
        name: case.name.clone(),
        request: sent,
        status: None,
        outcome: Outcome::Failed,
        reason: None,
        violations: Vec::new(),
        inputs: built.inputs.clone(),
        notes: built.notes.clone(),
        duration_ms,
        error: false,
    };
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            result.error = true;
            result.reason = Some(match e {
                SendError::Timeout(_) => format!("no answer: {e} (raise --timeout)"),
                e => format!("no answer: {e}"),
            });
            return result;
        }
    };
    let status = response.status().as_u16();
    result.status = Some(status);
    let findings = check::response(spec, op, &built.method, status, response.headers(), response.body());
    let (outcome, reason) = judge(op, status, &findings, &built, response.body());
    result.outcome = outcome;
    result.reason = reason;
    result.violations = findings;
    if (200..300).contains(&status) {
        learn(ctx, ops, state, &built, status, &response);
    }
    result
}

/// What a contract-conforming (or not) answer means for the operation.
fn judge(op: &Operation, status: u16, findings: &[Finding], built: &Built, body: &Bytes) -> (Outcome, Option<String>) {
    if !findings.is_empty() {
        return (Outcome::Failed, Some(format!("{} contract violation(s)", findings.len())));
    }
    let excerpt = || {
        let text: String = String::from_utf8_lossy(body).chars().filter(|c| !c.is_control()).take(200).collect();
        if text.is_empty() { String::new() } else { format!(": {text}") }
    };
    match status {
        200..=399 => (Outcome::Passed, None),
        401 | 403 => {
            (Outcome::Inconclusive, Some(format!("the provider refused the credentials ({status}); give them with --token or --header")))
        }
        404 | 410 if !built.unresolved.is_empty() => (
            Outcome::Inconclusive,
            Some(format!(
                "{status} for {} from the spec (no earlier answer produced {}): nothing to say about the contract",
                built.unresolved.join(", "),
                if built.unresolved.len() == 1 { "it" } else { "them" }
            )),
        ),
        405 | 501 => {
            (Outcome::Failed, Some(format!("{status}: the provider does not serve {} {}{}", op.method, op.served_path, excerpt())))
        }
        404 | 410 if built.path_params.is_empty() => {
            (Outcome::Failed, Some(format!("{status}: the provider does not serve {} {}{}", op.method, op.served_path, excerpt())))
        }
        404 | 410 => (Outcome::Failed, Some(format!("{status} for identifiers taken from earlier answers{}", excerpt()))),
        400..=499 => {
            let from = if built.from_example { "the spec's example" } else { "data generated from the spec" };
            (Outcome::Inconclusive, Some(format!("the provider refused a request built from {from} ({status}){}", excerpt())))
        }
        _ => (Outcome::Failed, Some(format!("server error {status} for a request built to be valid{}", excerpt()))),
    }
}

/// Keeps what a successful answer tells later requests: identifiers, the item's `ETag`, links.
fn learn(ctx: &Ctx<'_>, ops: &[&Operation], state: &Mutex<State>, built: &Built, status: u16, response: &http::Response<Bytes>) {
    let (spec, op) = (ctx.spec, ctx.op);
    let body: Option<Value> = serde_json::from_slice(response.body()).ok();
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    if ctx.kind != Kind::Delete {
        state.harvest(&op.id, ctx.resource, ctx.kind == Kind::Create, response.headers(), body.as_ref());
    }
    if ctx.kind != Kind::Create && !built.item_path.is_empty() {
        if let Some(tag) = response.headers().get(http::header::ETAG).and_then(|v| v.to_str().ok()) {
            state.set_etag(built.item_path.clone(), tag.to_string());
        }
    }
    let Some(declared) = op.response_for(status) else { return };
    let Some(links) = links_of(spec, op, &declared.code) else { return };
    let ex = Exchange {
        url: &built.url,
        method: built.method.as_str(),
        path_params: &built.path_params,
        query: &built.query,
        request_headers: &built.headers,
        request_body: built.body_json.as_ref(),
        status,
        response_headers: response.headers(),
        response_body: body.as_ref(),
    };
    state.follow_links(&op.id, ctx.kind == Kind::Create, &links, |l| link_target(ops, l), &ex);
}

/// The `links` of `op`'s declared response `code`, each resolved through `$ref`.
fn links_of(spec: &Spec, op: &Operation, code: &str) -> Option<Map<String, Value>> {
    let doc = spec.schemas.doc(Flow::Response);
    let responses = doc.pointer(&op.pointer)?.get("responses")?.as_object()?;
    let (_, raw) = responses.iter().find(|(k, _)| {
        let k = k.trim().to_ascii_uppercase();
        if k == "DEFAULT" { code == "default" } else { k == code }
    })?;
    let (response, _) = deref(doc, raw, "");
    let links = response.get("links")?.as_object()?;
    Some(links.iter().map(|(name, l)| (name.clone(), deref(doc, l, "").0.clone())).collect())
}

/// The operation id a link names, by `operationId` or by an `operationRef` into this document.
fn link_target(ops: &[&Operation], link: &Value) -> Option<String> {
    if let Some(id) = link.get("operationId").and_then(Value::as_str) {
        return Some(id.to_string());
    }
    let r = link.get("operationRef").and_then(Value::as_str)?;
    let fragment = r.split_once('#').map(|(_, f)| f)?;
    let pointer = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy();
    ops.iter().find(|o| o.pointer == pointer).map(|o| o.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("http://127.0.0.1:4010/").unwrap(), "http://127.0.0.1:4010");
        assert_eq!(parse_target("https://api.example.com/gw").unwrap(), "https://api.example.com/gw");
        assert!(parse_target("127.0.0.1:4010").is_err());
        assert!(parse_target("ftp://x").is_err());
        assert!(parse_target("http://x/?a=1").is_err());
    }
}
