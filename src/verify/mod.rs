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
use crate::spec::{Operation, ParamIn, SecurityScheme, Spec, SpecSet};
use check::Finding;
use order::{Kind, Step};
pub use report::{Case, OperationReport, Outcome, Report, SentRequest, Summary};
use request::{Built, CaseSpec, Ctx};
use state::{Exchange, Origin, State};

/// Compiled validators a run keeps per document and flow, the least recently used dropped.
const VALIDATORS_KEPT: usize = 64;

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
    for spec in &set.specs {
        // Every operation is called once, neighbours sharing their schemas: keeping every
        // response validator grew Microsoft Graph's run past 16 GB.
        spec.schemas.keep_at_most(VALIDATORS_KEPT);
    }
    let client = HttpClient::new();
    let started = Instant::now();
    let mut operations = Vec::new();
    let mut excluded = 0;
    let mut uncredentialed: Vec<&str> = Vec::new();
    for (si, spec) in set.specs.iter().enumerate() {
        let all: Vec<&Operation> = set.operations.iter().filter(|o| o.spec == si).collect();
        let ops: Vec<&Operation> = all.iter().copied().filter(|o| options.selects(o)).collect();
        excluded += all.len() - ops.len();
        uncredentialed.extend(ops.iter().filter(|o| !credential_given(spec, o, options)).map(|o| o.id.as_str()));
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
    let vacuous = vacuous(&summary, &uncredentialed);
    let ok = verdict(&summary, options.fail_on_inconclusive, vacuous.as_deref());
    let specs = set.specs.iter().map(|s| s.file.display().to_string()).collect();
    Ok(Report { target: base, specs, ok, vacuous, summary, operations })
}

/// Whether the run passes: nothing failed, it proved something, and (when asked) nothing was
/// inconclusive.
pub fn verdict(summary: &Summary, fail_on_inconclusive: bool, vacuous: Option<&str>) -> bool {
    summary.failed == 0 && vacuous.is_none() && (!fail_on_inconclusive || summary.inconclusive == 0)
}

/// Why a run without failures still proves nothing, in one line: a CI job whose secret is unset
/// or whose `--include` is misspelt must not go green. `uncredentialed` lists the operations that
/// require a credential none was given for.
pub fn vacuous(summary: &Summary, uncredentialed: &[&str]) -> Option<String> {
    if summary.operations == 0 {
        return Some(if summary.excluded > 0 {
            format!("no operation selected: --include/--exclude left out all {} operation(s) of the documents", summary.excluded)
        } else {
            "no operation selected: the documents have no operations".to_string()
        });
    }
    if let Some(first) = uncredentialed.first() {
        let more = match uncredentialed.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        return Some(format!(
            "the documents require a credential ({first}{more}) and none was given: --token is missing or empty (an unset variable or secret?)"
        ));
    }
    if summary.passed == 0 && summary.failed == 0 {
        return Some(format!("nothing passed: all {} operation(s) were inconclusive", summary.inconclusive));
    }
    None
}

/// Whether the caller gave what `op` requires to get in: `--token`, or a `--header` where one of
/// its security alternatives looks. Operations that allow anonymous access need nothing.
fn credential_given(spec: &Spec, op: &Operation, options: &Options) -> bool {
    if op.security.is_empty() || op.security.iter().any(Vec::is_empty) {
        return true;
    }
    if options.token.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return true;
    }
    let header =
        |name: &str| options.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).find(|v| !v.is_empty());
    op.security.iter().any(|alternative| {
        alternative.iter().all(|name| match spec.security_schemes.get(name) {
            // `Authorization: Bearer` with nothing after it is an unset variable too.
            Some(SecurityScheme::Bearer | SecurityScheme::Basic | SecurityScheme::Digest | SecurityScheme::Http { .. }) => {
                header("authorization").is_some_and(|v| v.split_whitespace().count() >= 2)
            }
            Some(SecurityScheme::ApiKey { location: ParamIn::Header, name }) => header(name).is_some(),
            Some(SecurityScheme::ApiKey { location: ParamIn::Cookie, name }) => header("cookie")
                .is_some_and(|c| c.split(';').any(|p| p.trim().strip_prefix(name.as_str()).is_some_and(|r| r.starts_with('=')))),
            Some(SecurityScheme::ApiKey { .. }) => false,
            Some(SecurityScheme::Unchecked) | None => true,
        })
    })
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
    let mut state = State::default();
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
        // Each lane reads what earlier waves learned plus its own answers, never another lane's
        // of the same wave: which of those came first depends on timing, so the ids (and the
        // verdicts) would change with --concurrency. After the wave, everything learned is
        // applied in operation order.
        let snapshot = &state;
        let done: Vec<Vec<(usize, OperationReport, Vec<Learned>)>> = futures_util::stream::iter(lanes)
            .map(|lane| async move {
                let lane_state = Mutex::new(snapshot.clone());
                let mut out = Vec::new();
                for (pos, step) in lane {
                    let ctx = Ctx { spec, op: ops[step.index], kind: step.kind, resource: &step.resource, base, opts: options };
                    let mut learned = Vec::new();
                    let report = verify_operation(&ctx, ops, &lane_state, client, &mut learned).await;
                    out.push((pos, report, learned));
                }
                out
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        let mut done: Vec<(usize, OperationReport, Vec<Learned>)> = done.into_iter().flatten().collect();
        done.sort_by_key(|(pos, ..)| *pos);
        for (pos, report, learned) in done {
            let step = &steps[pos];
            let ctx = Ctx { spec, op: ops[step.index], kind: step.kind, resource: &step.resource, base, opts: options };
            for l in &learned {
                learn(&ctx, ops, &mut state, &l.built, l.status, &l.response);
            }
            reports.push((pos, report));
        }
    }
    reports.sort_by_key(|(pos, _)| *pos);
    reports.into_iter().map(|(_, r)| r).collect()
}

/// A successful answer, kept to be learned from at the end of its wave.
struct Learned {
    built: Built,
    status: u16,
    response: http::Response<Bytes>,
}

async fn verify_operation(
    ctx: &Ctx<'_>,
    ops: &[&Operation],
    state: &Mutex<State>,
    client: &HttpClient,
    learned: &mut Vec<Learned>,
) -> OperationReport {
    let (spec, op) = (ctx.spec, ctx.op);
    let mut cases = Vec::new();
    for case in request::cases(op) {
        cases.push(verify_case(ctx, &case, ops, state, client, learned).await);
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

async fn verify_case(
    ctx: &Ctx<'_>,
    case: &CaseSpec,
    ops: &[&Operation],
    state: &Mutex<State>,
    client: &HttpClient,
    learned: &mut Vec<Learned>,
) -> Case {
    let (spec, op) = (ctx.spec, ctx.op);
    let mut built = {
        let state = state.lock().unwrap_or_else(|p| p.into_inner());
        request::build(ctx, case, &state)
    };
    let started = Instant::now();
    let mut answer = client.send(to_request(&built), ctx.opts.timeout).await;
    if ctx.kind == Kind::Create && answer.as_ref().is_ok_and(|r| r.status() == http::StatusCode::CONFLICT) {
        // A unique value the provider kept from an earlier run (`clientKey`) would make every
        // later run inconclusive: the same create, its free text made unique, proves the contract.
        if let Some(again) = request::made_unique(ctx, case, &built, &unique_suffix()) {
            answer = client.send(to_request(&again), ctx.opts.timeout).await;
            built = again;
        }
    }
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let sent = SentRequest { method: built.method.to_string(), url: built.url.clone(), body: built.body_json.clone() };
    let mut result = Case {
        name: case.name.clone(),
        request: sent,
        status: None,
        outcome: Outcome::Failed,
        reason: None,
        hint: None,
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
    let mut findings = check::response(spec, op, &built.method, status, response.headers(), response.body());
    if refused_as_invalid(&built, status) && findings.iter().all(|f| f.part == check::Part::Status) {
        // The document promises nothing about a request that breaks it: refusing it with a
        // status it does not declare is no fault of the provider's.
        findings.clear();
    }
    let (mut outcome, mut reason) = judge(op, status, &findings, &built, response.body());
    result.hint = (outcome == Outcome::Inconclusive).then(|| hint(op, status, &built, ctx.opts));
    if let Some(why) = invalid_example(response.headers()).filter(|_| findings.iter().all(|f| f.part == check::Part::Body)) {
        // The server said it answers with an example its document got wrong (specstub does,
        // when a `Prefer` header names one): the document's error, not the provider's. Any
        // other provider is judged by the schema alone.
        outcome = Outcome::Inconclusive;
        reason = Some(format!("{why}: the document's error, not the provider's"));
        result.hint = Some("correct the example in the document, or name another one".to_string());
    }
    result.outcome = outcome;
    result.reason = reason;
    result.violations = findings;
    if (200..300).contains(&status) {
        let mut lane = state.lock().unwrap_or_else(|p| p.into_inner());
        learn(ctx, ops, &mut lane, &built, status, &response);
        learned.push(Learned { built, status, response });
    }
    result
}

fn to_request(built: &Built) -> http::Request<Bytes> {
    let mut req = http::Request::builder().method(built.method.clone()).uri(&built.url).body(built.body.clone()).unwrap_or_default();
    *req.headers_mut() = built.headers.clone();
    req
}

/// New for every retried create, so that no run meets a value an earlier one left behind.
fn unique_suffix() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("-{}", &id[..8])
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
        _ if refused_as_invalid(built, status) => (
            Outcome::Inconclusive,
            Some(format!(
                "the provider refused ({status}) a request that breaks the document, the only one verify could build: {}{}",
                built.invalid.as_deref().unwrap_or_default(),
                excerpt()
            )),
        ),
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

/// What a `specstub-violations` header says about an example that contradicts its own schema.
fn invalid_example(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(crate::headers::VIOLATIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("the example ") && v.contains(" does not match its schema"))
        .map(|v| v.chars().take(300).collect())
}

/// A 4xx to a request that breaks the document proves nothing, but a 404 or 405 for a path
/// without parameters still says the provider does not serve the operation.
fn refused_as_invalid(built: &Built, status: u16) -> bool {
    let unserved = status == 405 || (matches!(status, 404 | 410) && built.path_params.is_empty());
    built.invalid.is_some() && (400..500).contains(&status) && !unserved
}

/// What to change so that an inconclusive result proves something.
fn hint(op: &Operation, status: u16, built: &Built, options: &Options) -> String {
    match status {
        401 | 403 if options.token.as_deref().is_none_or(|t| t.trim().is_empty()) => {
            "no credential was given: pass --token (bearer token, API key or user:password) or --header".to_string()
        }
        401 | 403 => "give a credential the provider accepts for this operation (--token or --header)".to_string(),
        404 | 410 if !built.unresolved.is_empty() => format!(
            "let an earlier operation produce {} (a create of the same resource, or a `links` entry naming {}), or give the parameter an example that exists on the provider",
            built.unresolved.join(", "),
            op.id
        ),
        _ if refused_as_invalid(built, status) => format!(
            "give {} a request example that matches its own schema (verify sends examples before generated data)",
            op.id
        ),
        409 | 412 | 422 if built.from_example => {
            "the provider's state refused the spec's example (a used unique value, a state that forbids the action): run against a fresh provider, or add an example that suits it".to_string()
        }
        _ if built.from_example => "add a request example the provider accepts for this operation".to_string(),
        _ => "add a request example (examples are sent instead of generated data) that the provider accepts".to_string(),
    }
}

/// Keeps what a successful answer tells later requests: identifiers, the item's `ETag`, links.
fn learn(ctx: &Ctx<'_>, ops: &[&Operation], state: &mut State, built: &Built, status: u16, response: &http::Response<Bytes>) {
    let (spec, op) = (ctx.spec, ctx.op);
    let body = check::body_value(spec, op, status, response.headers(), response.body());
    if ctx.kind != Kind::Delete {
        let qualifier = order::resource_qualifier(op, ctx.kind);
        let origin = Origin {
            op_id: &op.id,
            resource: ctx.resource,
            qualifier: &qualifier,
            created: ctx.kind == Kind::Create,
            scope: &built.path_params,
        };
        state.harvest(&origin, response.headers(), body.as_ref());
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

    fn summary(operations: usize, passed: usize, failed: usize, inconclusive: usize, excluded: usize) -> Summary {
        Summary { operations, passed, failed, inconclusive, excluded, ..Summary::default() }
    }

    #[test]
    fn a_run_that_proves_nothing_fails() {
        // Arrange: (summary, operations without their credential, fail on inconclusive)
        let cases = [
            (summary(3, 2, 0, 1, 0), vec![], false, true, None),
            (summary(3, 2, 0, 1, 0), vec![], true, false, None),
            (summary(3, 2, 1, 0, 0), vec![], false, false, None),
            (summary(0, 0, 0, 0, 5), vec![], false, false, Some("no operation selected: --include/--exclude left out all 5")),
            (summary(0, 0, 0, 0, 0), vec![], false, false, Some("no operation selected: the documents have no operations")),
            (summary(2, 0, 0, 2, 0), vec![], false, false, Some("nothing passed: all 2 operation(s) were inconclusive")),
            (summary(2, 0, 2, 0, 0), vec![], false, false, None),
            (summary(2, 1, 0, 1, 0), vec!["GetRun", "ListRuns"], false, false, Some("require a credential (GetRun and 1 more)")),
        ];
        for (s, uncredentialed, strict, ok, why) in cases {
            // Act
            let vacuous = vacuous(&s, &uncredentialed);
            // Assert
            assert_eq!(verdict(&s, strict, vacuous.as_deref()), ok, "{s:?} {vacuous:?}");
            match why {
                Some(w) => assert!(vacuous.as_deref().is_some_and(|v| v.contains(w)), "{vacuous:?} lacks {w:?}"),
                None => assert_eq!(vacuous, None),
            }
        }
    }

    #[test]
    fn targets() {
        assert_eq!(parse_target("http://127.0.0.1:4010/").unwrap(), "http://127.0.0.1:4010");
        assert_eq!(parse_target("https://api.example.com/gw").unwrap(), "https://api.example.com/gw");
        assert!(parse_target("127.0.0.1:4010").is_err());
        assert!(parse_target("ftp://x").is_err());
        assert!(parse_target("http://x/?a=1").is_err());
    }
}
