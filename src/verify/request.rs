//! Builds the requests `verify` sends for one operation: one per named request-body example (or
//! one with data generated from the schema when there is none), path parameters from earlier
//! answers where possible (links, then identifiers of the same resource), else from the spec's
//! example or generated; required query, header and cookie parameters, credentials, `If-Match`
//! from the item's last `ETag`. Each request is checked against the spec before it is sent: an
//! example that breaks its own schema is replaced by generated data, and said so.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::Options;
use super::order::{Kind, is_id_like};
use super::state::{Produced, State};
use crate::generate::{self, Direction, GenOptions};
use crate::negotiate;
use crate::spec::walk::Flow;
use crate::spec::{Media, Operation, ParamIn, Parameter, SecurityScheme, Spec, Style};
use crate::validate::{self, Incoming, Location, Mode, Policy, Rejection};

/// Unreserved characters stay, everything else is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// One request of an operation, before state is applied.
#[derive(Debug, Clone)]
pub struct CaseSpec {
    /// "request", "example", "example NAME" or "generated".
    pub name: String,
    /// Index of the request body's media type in `op.body.content`.
    pub media: Option<usize>,
    pub example: Option<Value>,
}

/// The requests to send for `op`.
pub fn cases(op: &Operation) -> Vec<CaseSpec> {
    let Some(body) = op.body.as_ref().filter(|b| !b.content.is_empty()) else {
        return vec![CaseSpec { name: "request".into(), media: None, example: None }];
    };
    let mi = body.content.iter().position(|m| negotiate::is_json(&m.media_type)).unwrap_or(0);
    let media = &body.content[mi];
    if media.examples.is_empty() {
        return vec![CaseSpec { name: "generated".into(), media: Some(mi), example: None }];
    }
    media
        .examples
        .iter()
        .map(|e| CaseSpec {
            name: if e.name == "default" { "example".into() } else { format!("example {}", e.name) },
            media: Some(mi),
            example: Some(e.value.clone()),
        })
        .collect()
}

/// A request ready to send, with where each input came from.
#[derive(Debug, Clone)]
pub struct Built {
    pub method: Method,
    pub url: String,
    /// The concrete path up to and including the last path parameter: the item an `ETag` is about.
    pub item_path: String,
    /// Decoded path parameter values.
    pub path_params: Vec<(String, String)>,
    /// Encoded query string (without `?`).
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub body_json: Option<Value>,
    /// "runId = r-1 (from RunService_CreateRun /run/runId)".
    pub inputs: Vec<String>,
    /// Path parameters that no earlier answer produced (a 404 then proves nothing).
    pub unresolved: Vec<String>,
    /// Remarks about the request itself (an invalid example replaced, ...).
    pub notes: Vec<String>,
    /// How the request breaks the document, when verify could not build one it allows (a
    /// refusal of it then proves nothing).
    pub invalid: Option<String>,
    /// Whether the body came from the spec's example rather than generated data.
    pub from_example: bool,
}

pub struct Ctx<'a> {
    pub spec: &'a Spec,
    pub op: &'a Operation,
    pub kind: Kind,
    pub resource: &'a str,
    /// Target base URL, without a trailing slash.
    pub base: &'a str,
    pub opts: &'a Options,
}

/// What building one request found out along the way, for the report.
#[derive(Default)]
struct Trace {
    inputs: Vec<String>,
    unresolved: Vec<String>,
}

/// The path with its parameters filled, and the discriminators a path key routes by.
struct PathPart {
    path: String,
    item_path: String,
    path_params: Vec<(String, String)>,
    /// `#X-Amz-Target=Svc.Op` / `?Action=Describe`: sent as a header (`X-…` names) or a query
    /// parameter, as the provider routes by them.
    when: Vec<crate::template::Discriminator>,
}

/// Where the non-path parameters go.
#[derive(Default)]
struct ParamPart {
    query: Vec<(String, String)>,
    headers: HeaderMap,
    cookies: Vec<(String, String)>,
}

/// The request body, when the case has one.
struct BodyPart<'a> {
    media: &'a Media,
    value: Value,
    from_example: bool,
}

pub fn build(ctx: &Ctx, case: &CaseSpec, state: &State) -> Built {
    let mut trace = Trace::default();
    let path = build_path(ctx, state, &mut trace);
    let mut params = build_params(ctx, state, &path.item_path, &mut trace);
    for d in &path.when {
        if d.name.to_ascii_lowercase().starts_with("x-") {
            insert_header(&mut params.headers, &d.name, d.value.as_deref().unwrap_or_default());
            continue;
        }
        // A declared parameter (`Action`, required, enum of one) already carries it: a second
        // copy would make the provider read a list where the schema wants one string.
        let existing: Vec<usize> = params.query.iter().enumerate().filter(|(_, (k, _))| *k == d.name).map(|(i, _)| i).collect();
        match (&d.value, existing.first()) {
            (None, Some(_)) => {}
            (Some(v), Some(_)) if existing.iter().any(|&i| params.query[i].1 == *v) => {}
            (Some(v), Some(&i)) => params.query[i].1 = v.clone(),
            (value, None) => params.query.push((d.name.clone(), value.clone().unwrap_or_default())),
        }
    }
    let body = build_body(ctx, case, state, &mut trace);
    let mut built = assemble(ctx, path, params, body.as_ref(), trace);
    repair(ctx, case, state, body.map(|b| b.media), &mut built);
    built
}

/// Path: `{name}` placeholders, each with the segment before it as its collection. An id taken
/// from an earlier answer brings the parent values of the request that got it (its scope): a
/// hook created under `/orgs/string/hooks` is read under `string`, not under an org a list
/// offered, whose hooks are others.
fn build_path(ctx: &Ctx, state: &State, trace: &mut Trace) -> PathPart {
    let (spec, op) = (ctx.spec, ctx.op);
    let (template, when) = crate::template::split_key(&op.served_path);
    let segments: Vec<&str> = template.split('/').collect();
    // (name, declared, chosen) for every parameter, in path order.
    let mut params: Vec<(&str, Option<&Parameter>, Option<Produced>)> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let collection = if i > 0 { segments[i - 1] } else { "" };
        let qualifier = super::order::qualifier(&segments, i.saturating_sub(1));
        for piece in crate::template::pieces(seg) {
            if let crate::template::Piece::Param(name) = piece {
                let declared = op.parameters.iter().find(|p| p.location == ParamIn::Path && p.name == name);
                let candidates = state.candidates(&op.id, name, collection, Some(&qualifier));
                params.push((name, declared, fitting(spec, declared, candidates)));
            }
        }
    }
    // The deepest id decides: its scope overrides what the parents chose alone.
    for deep in (0..params.len()).rev() {
        let Some(chosen) = params[deep].2.clone() else { continue };
        for parent in 0..deep {
            let name = params[parent].0;
            let Some((_, v)) = chosen.scope.iter().find(|(k, _)| k == name) else { continue };
            let value = Value::String(v.clone());
            // A link names its values on purpose; the same value needs no new source.
            if params[parent].2.as_ref().is_some_and(|p| p.strength >= 3 || text(&p.value) == *v) {
                continue;
            }
            let at = format!("path, the scope of {}", params[deep].0);
            params[parent].2 = Some(Produced { value, from: chosen.from.clone(), at, scope: Vec::new(), ..chosen.clone() });
        }
    }
    let mut path = String::new();
    let mut item_path = String::new();
    let mut path_params = Vec::new();
    let mut next = params.into_iter();
    for (i, seg) in segments.iter().enumerate() {
        if i > 0 {
            path.push('/');
        }
        let pieces = crate::template::pieces(seg);
        if !pieces.iter().any(|p| matches!(p, crate::template::Piece::Param(_))) {
            path.push_str(seg);
            continue;
        }
        for piece in pieces {
            let crate::template::Piece::Param(_) = piece else {
                if let crate::template::Piece::Text(t) = piece {
                    path.push_str(t);
                }
                continue;
            };
            let Some((name, declared, chosen)) = next.next() else { break };
            let value = match chosen {
                Some(p) => {
                    trace.inputs.push(format!("{name} = {} (from {} {})", text(&p.value), p.from, p.at));
                    p.value
                }
                None => {
                    let v = declared.map(|p| sample(spec, p)).unwrap_or_else(|| Value::String("1".into()));
                    let why = if declared.is_some_and(|p| p.example.is_some()) { "the parameter's example" } else { "generated" };
                    trace.inputs.push(format!("{name} = {} ({why}; no earlier answer produced one)", text(&v)));
                    trace.unresolved.push(name.to_string());
                    v
                }
            };
            let raw = text(&value);
            path.push_str(&path_value(declared, name, &value));
            path_params.push((name.to_string(), raw));
        }
        item_path = path.clone();
    }
    PathPart { path, item_path, path_params, when }
}

/// Query, headers and cookies: required ones, links, the item's `ETag` for `If-Match`, examples
/// of optional ones, and the credentials.
fn build_params(ctx: &Ctx, state: &State, item_path: &str, trace: &mut Trace) -> ParamPart {
    let (spec, op) = (ctx.spec, ctx.op);
    let inputs = &mut trace.inputs;
    let unresolved = &mut trace.unresolved;
    let ParamPart { mut query, mut headers, mut cookies } = ParamPart::default();
    for p in op.parameters.iter().filter(|p| p.location != ParamIn::Path) {
        let lower = p.name.to_ascii_lowercase();
        if p.location == ParamIn::Header && matches!(lower.as_str(), "authorization" | "content-type" | "accept") {
            continue;
        }
        let value = if let Some(l) = state.link_param(&op.id, &p.name) {
            inputs.push(format!("{} = {} (from {} {})", p.name, text(&l.value), l.from, l.at));
            Some(l.value)
        } else if p.location == ParamIn::Header && lower == "if-match" {
            match state.etag(item_path) {
                Some(tag) => {
                    inputs.push(format!("If-Match = {tag} (the last ETag of {item_path})"));
                    Some(Value::String(tag.to_string()))
                }
                None if p.required => {
                    unresolved.push(p.name.clone());
                    Some(sample(spec, p))
                }
                None => None,
            }
        } else if p.location == ParamIn::Header && lower.starts_with("if-") && !p.required {
            None
        } else if p.required {
            let produced = if is_id_like(&p.name) { fitting(spec, Some(p), state.candidates(&op.id, &p.name, "", None)) } else { None };
            match produced {
                Some(Produced { value, from, at, .. }) => {
                    inputs.push(format!("{} = {} (from {from} {at})", p.name, text(&value)));
                    Some(value)
                }
                None => Some(sample(spec, p)),
            }
        } else if p.example.is_some() && !lower.contains("token") && !lower.contains("cursor") {
            p.example.clone()
        } else {
            None
        };
        let Some(value) = value else { continue };
        match p.location {
            ParamIn::Query => query.extend(query_pairs(p, &value)),
            ParamIn::Header => insert_header(&mut headers, &p.name, &simple(&value, p.explode, false)),
            ParamIn::Cookie => cookies.push((p.name.clone(), simple(&value, p.explode, false))),
            ParamIn::Path => {}
        }
    }
    if let Some(token) = &ctx.opts.token {
        credentials(spec, op, token, &mut headers, &mut query, &mut cookies);
    }

    ParamPart { query, headers, cookies }
}

/// The body: from a link, the case's example, or generated; ids of the same resource replaced by
/// ones earlier answers produced.
fn build_body<'a>(ctx: &Ctx<'a>, case: &CaseSpec, state: &State, trace: &mut Trace) -> Option<BodyPart<'a>> {
    let (spec, op) = (ctx.spec, ctx.op);
    let (mi, rb) = (case.media?, op.body.as_ref()?);
    let media = &rb.content[mi];
    let mut from_example = false;
    let mut value = if let Some(l) = state.link_body(&op.id) {
        trace.inputs.push(format!("body (from {} {})", l.from, l.at));
        l.value
    } else if let Some(example) = &case.example {
        from_example = true;
        example.clone()
    } else {
        generated(spec, media)
    };
    if ctx.kind != Kind::Create {
        substitute_ids(&mut value, ctx.resource, state, &mut trace.inputs);
    }
    Some(BodyPart { media, value, from_example })
}

/// The request as it is sent: `Accept` for every declared answer, cookies, the user's headers.
fn assemble(ctx: &Ctx, path: PathPart, params: ParamPart, body: Option<&BodyPart>, trace: Trace) -> Built {
    let op = ctx.op;
    let ParamPart { query, mut headers, cookies } = params;
    let accept: Vec<String> = {
        let mut all: Vec<String> = Vec::new();
        for m in op.responses.iter().flat_map(|r| r.content.iter()) {
            let t = crate::respond::concrete_media_type(&m.media_type);
            if !all.contains(&t) {
                all.push(t);
            }
        }
        all
    };
    if !accept.is_empty() {
        insert_header(&mut headers, "accept", &accept.join(", "));
    }
    if !cookies.is_empty() {
        let line = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        insert_header(&mut headers, "cookie", &line);
    }
    for (k, v) in &ctx.opts.headers {
        insert_header(&mut headers, k, v);
    }

    let mut built = Built {
        method: op.method.clone(),
        url: String::new(),
        item_path: path.item_path,
        path_params: path.path_params,
        query: encode_query(&query),
        headers,
        body: Bytes::new(),
        body_json: body.map(|b| b.value.clone()),
        inputs: trace.inputs,
        unresolved: trace.unresolved,
        notes: Vec::new(),
        invalid: None,
        from_example: body.is_some_and(|b| b.from_example),
    };
    if let Some(b) = body {
        set_body(ctx.spec, &mut built, b.media);
    }
    built.url = format!("{}{}{}{}", ctx.base, path.path, if built.query.is_empty() { "" } else { "?" }, built.query);
    built
}

/// The request must match the spec before it proves anything about the provider: an example
/// body that breaks its schema is replaced by generated data, and what still does not match is
/// noted.
fn repair(ctx: &Ctx, case: &CaseSpec, state: &State, body_media: Option<&Media>, built: &mut Built) {
    let (spec, op) = (ctx.spec, ctx.op);
    let mut notes = Vec::new();
    if let Some(problem) = self_check(spec, op, built) {
        if built.from_example && problem.iter().any(|v| v.location == Location::Body) {
            if let Some(media) = body_media {
                let list = problem.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                notes.push(format!("the spec's request example ({}) breaks its schema: {list}; sent generated data instead", case.name));
                let mut value = generated(spec, media);
                if ctx.kind != Kind::Create {
                    substitute_ids(&mut value, ctx.resource, state, &mut built.inputs);
                }
                built.body_json = Some(value);
                built.from_example = false;
                set_body(spec, built, media);
            }
        }
        if let Some(still) = self_check(spec, op, built) {
            let list = still.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            notes.push(format!("the request verify built does not match the spec: {list}"));
            built.invalid = Some(list);
        }
    }
    built.notes = notes;
}

fn set_body(spec: &Spec, built: &mut Built, media: &Media) {
    let Some(value) = &built.body_json else { return };
    let content_type = crate::respond::concrete_media_type(&media.media_type);
    let ct = negotiate::essence(&content_type);
    built.body = if ct == "application/x-www-form-urlencoded" {
        Bytes::from(form_body(value, &media.encoding))
    } else {
        // XML is written from the schema's `xml` hints, as the provider reads it.
        crate::respond::encode(value, &content_type, crate::respond::schema_of(spec, media))
    };
    insert_header(&mut built.headers, "content-type", &content_type);
}

/// A create the provider refused as a conflict, rebuilt with each free-text value of its body made
/// unique (`suffix` appended) where the spec still accepts it, so formats, enums and patterns stay
/// valid. None when nothing could change or the request did not match the spec to begin with.
pub fn made_unique(ctx: &Ctx, case: &CaseSpec, built: &Built, suffix: &str) -> Option<Built> {
    fn strings(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::String(_) => out.push(at),
            Value::Object(m) => m.iter().for_each(|(k, v)| strings(v, format!("{at}/{}", crate::spec::escape_token(k)), out)),
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| strings(v, format!("{at}/{i}"), out)),
            _ => {}
        }
    }
    let media = &ctx.op.body.as_ref()?.content[case.media?];
    if self_check(ctx.spec, ctx.op, built).is_some() {
        return None;
    }
    let mut value = built.body_json.clone()?;
    let mut pointers = Vec::new();
    strings(&value, String::new(), &mut pointers);
    let mut out = built.clone();
    let mut changed = Vec::new();
    for pointer in pointers {
        let Some(Value::String(s)) = value.pointer_mut(&pointer) else { continue };
        let old = std::mem::replace(s, format!("{s}{suffix}"));
        out.body_json = Some(value.clone());
        set_body(ctx.spec, &mut out, media);
        match (self_check(ctx.spec, ctx.op, &out).is_some(), value.pointer_mut(&pointer)) {
            (true, Some(slot)) => *slot = Value::String(old),
            _ => changed.push(pointer),
        }
    }
    if changed.is_empty() {
        return None;
    }
    out.body_json = Some(value);
    set_body(ctx.spec, &mut out, media);
    out.notes.push(format!("409 to the first request: sent again with {suffix} appended to body {}", changed.join(", ")));
    Some(out)
}

/// The first value the parameter's schema accepts: an identifier of another shape (a number for
/// a UUID, a name for a pattern) would make the provider refuse the request for verify's choice,
/// not for its own behaviour.
fn fitting(spec: &Spec, p: Option<&Parameter>, candidates: Vec<Produced>) -> Option<Produced> {
    let schema = p.and_then(|p| p.schema.as_ref());
    let Some(schema) = schema else { return candidates.into_iter().next() };
    let doc = spec.schemas.doc(Flow::Request);
    let types = schema.schema(&spec.schemas).map(|s| crate::spec::model::types_of(doc, s)).unwrap_or_default();
    let Ok(validator) = schema.validator(&spec.schemas) else { return candidates.into_iter().next() };
    let numeric = types.is_empty() || types.iter().any(|t| t == "integer" || t == "number");
    candidates.into_iter().find(|c| {
        // A number where the schema wants text is another field that happens to fit once
        // written out: an org's integer `id` is no `{org}` login, a repository's no `{repo}` name.
        if c.value.is_number() && !numeric {
            return false;
        }
        // As the provider reads it: text, typed by the schema.
        let value = validate::params::coerce(&text(&c.value), &types);
        crate::spec::schemas::violations(&validator, &value).is_empty()
    })
}

/// An `application/x-www-form-urlencoded` body, each top-level property serialized as its
/// `encoding` entry says (form and exploded by default): arrays repeat the key or join with the
/// style's delimiter, objects and anything nested use brackets (`a[b][c]=v`, `a[0][name]=v`,
/// which is `deepObject` and what form readers accept for nested data), a JSON `contentType`
/// sends the value as JSON text.
fn form_body(value: &Value, encoding: &[(String, crate::spec::model::Encoding)]) -> String {
    fn nested(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| nested(&format!("{prefix}[{k}]"), v, out)),
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| nested(&format!("{prefix}[{i}]"), v, out)),
            v => out.push(format!("{}={}", enc(prefix), enc(&text(v)))),
        }
    }
    let scalar = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
    let Value::Object(m) = value else { return format!("value={}", enc(&text(value))) };
    let mut out = Vec::new();
    for (k, v) in m {
        let e = encoding.iter().find(|(n, _)| n == k).map(|(_, e)| e.clone()).unwrap_or_default();
        let key = enc(k);
        if e.content_type.as_deref().is_some_and(negotiate::is_json) {
            out.push(format!("{key}={}", enc(&v.to_string())));
            continue;
        }
        match v {
            Value::Array(items) if items.iter().all(scalar) => {
                let sep = match (e.style, e.explode) {
                    (Style::Form, true) | (Style::DeepObject, _) => None,
                    (Style::SpaceDelimited, _) => Some("%20"),
                    (Style::PipeDelimited, _) => Some("%7C"),
                    // Raw: the reader splits a non-exploded value on unencoded commas only.
                    _ => Some(","),
                };
                match sep {
                    None => out.extend(items.iter().map(|i| format!("{key}={}", enc(&text(i))))),
                    Some(sep) => out.push(format!("{key}={}", items.iter().map(|i| enc(&text(i))).collect::<Vec<_>>().join(sep))),
                }
            }
            Value::Object(obj) if e.style == Style::Form && !e.explode && obj.values().all(scalar) => {
                let parts: Vec<String> = obj.iter().flat_map(|(a, b)| [enc(a), enc(&text(b))]).collect();
                out.push(format!("{key}={}", parts.join(",")));
            }
            Value::Array(_) | Value::Object(_) => nested(k, v, &mut out),
            v => out.push(format!("{key}={}", enc(&text(v)))),
        }
    }
    out.join("&")
}

/// Violations of the built request (credentials aside: they are the caller's to give).
fn self_check(spec: &Spec, op: &Operation, built: &Built) -> Option<Vec<validate::Violation>> {
    let policy = Policy { mode: Mode::Strict, tokens: &[] };
    let check = |headers: &HeaderMap, query: &str| {
        let pairs = validate::params::parse_query(query);
        let incoming = Incoming { path_params: &built.path_params, query: &pairs, headers, body: &built.body };
        validate::check(spec, op, &incoming, &policy).1
    };
    let mut rejection = check(&built.headers, &built.query);
    if matches!(rejection, Some(Rejection::Unauthorized { .. })) {
        // No --token: check the rest with a stand-in credential.
        let (mut headers, mut query, mut cookies) = (built.headers.clone(), validate::params::parse_query(&built.query), Vec::new());
        credentials(spec, op, "specstub-self-check", &mut headers, &mut query, &mut cookies);
        if !cookies.is_empty() {
            let line = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            insert_header(&mut headers, "cookie", &line);
        }
        rejection = check(&headers, &encode_query(&query));
    }
    match rejection {
        Some(Rejection::Invalid(v)) | Some(Rejection::Malformed(v)) => Some(v),
        Some(Rejection::UnsupportedMediaType { message }) => {
            Some(vec![validate::Violation { location: Location::Header, pointer: "/content-type".into(), message }])
        }
        _ => None,
    }
}

/// Sends `token` the way the operation's first security alternative asks.
fn credentials(
    spec: &Spec,
    op: &Operation,
    token: &str,
    headers: &mut HeaderMap,
    query: &mut Vec<(String, String)>,
    cookies: &mut Vec<(String, String)>,
) {
    let Some(alternative) = op.security.iter().find(|a| !a.is_empty()) else { return };
    for name in alternative {
        match spec.security_schemes.get(name) {
            Some(SecurityScheme::Bearer) => insert_header(headers, "authorization", &format!("Bearer {token}")),
            Some(SecurityScheme::Basic) => {
                use base64::Engine as _;
                let pair = if token.contains(':') { token.to_string() } else { format!("{token}:") };
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                insert_header(headers, "authorization", &format!("Basic {encoded}"));
            }
            Some(SecurityScheme::Http { scheme }) => insert_header(headers, "authorization", &format!("{scheme} {token}")),
            Some(SecurityScheme::ApiKey { location, name }) => match location {
                ParamIn::Query => query.push((name.clone(), token.to_string())),
                ParamIn::Cookie => cookies.push((name.clone(), token.to_string())),
                _ => insert_header(headers, name, token),
            },
            // A Digest credential answers the provider's own challenge, which only a first
            // request can get: that round trip is not made, so the provider sees none.
            Some(SecurityScheme::Digest | SecurityScheme::Unchecked) | None => {}
        }
    }
}

/// Replaces identifiers in a request body (top level, and objects directly inside it) by those of
/// the resource verify created or read: `{"run": {"runId": ...}}` names the run created before.
fn substitute_ids(value: &mut Value, resource: &str, state: &State, inputs: &mut Vec<String>) {
    fn replace(obj: &mut Map<String, Value>, prefix: &str, resource: &str, state: &State, inputs: &mut Vec<String>) {
        for (k, v) in obj.iter_mut() {
            if !is_id_like(k) || !matches!(v, Value::String(_) | Value::Number(_)) {
                continue;
            }
            if let Some(p) = state.field(resource, k) {
                if p.value != *v {
                    inputs.push(format!("body {prefix}/{k} = {} (from {} {})", text(&p.value), p.from, p.at));
                    *v = p.value;
                }
            }
        }
    }
    let Value::Object(top) = value else { return };
    replace(top, "", resource, state, inputs);
    for (k, v) in top.iter_mut() {
        if let Value::Object(inner) = v {
            replace(inner, &format!("/{k}"), resource, state, inputs);
        }
    }
}

/// The parameter's example, or a value generated from its schema.
fn sample(spec: &Spec, p: &Parameter) -> Value {
    if let Some(e) = &p.example {
        return e.clone();
    }
    match p.schema.as_ref().and_then(|s| s.schema(&spec.schemas)) {
        Some(schema) => {
            let opts = GenOptions { direction: Direction::Request, ..GenOptions::default() };
            generate::generate(schema, spec.schemas.doc(Flow::Request), &opts)
        }
        None => Value::String("1".into()),
    }
}

fn generated(spec: &Spec, media: &Media) -> Value {
    match media.schema.as_ref().and_then(|s| s.schema(&spec.schemas)) {
        Some(schema) => {
            let opts = GenOptions { direction: Direction::Request, ..GenOptions::default() };
            generate::generate(schema, spec.schemas.doc(Flow::Request), &opts)
        }
        None => Value::Object(Map::new()),
    }
}

/// A scalar as text: strings bare, null empty, others as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// `simple` style; `encode` percent-encodes each part (paths), headers keep the text as it is.
fn simple(v: &Value, explode: bool, encode: bool) -> String {
    let e = |s: String| if encode { enc(&s) } else { s };
    match v {
        Value::Array(items) => items.iter().map(|i| e(text(i))).collect::<Vec<_>>().join(","),
        Value::Object(m) if explode => m.iter().map(|(k, v)| format!("{}={}", e(k.clone()), e(text(v)))).collect::<Vec<_>>().join(","),
        Value::Object(m) => m.iter().flat_map(|(k, v)| [e(k.clone()), e(text(v))]).collect::<Vec<_>>().join(","),
        v => e(text(v)),
    }
}

fn path_value(p: Option<&Parameter>, name: &str, v: &Value) -> String {
    let Some(p) = p else { return simple(v, false, true) };
    match p.style {
        Style::Label => {
            let inner = simple(v, p.explode, true);
            format!(".{}", if p.explode { inner.replace(',', ".") } else { inner })
        }
        Style::Matrix => match v {
            Value::Array(items) if p.explode => items.iter().map(|i| format!(";{name}={}", enc(&text(i)))).collect(),
            _ => format!(";{name}={}", simple(v, p.explode, true)),
        },
        _ => simple(v, p.explode, true),
    }
}

/// Query pairs (not yet encoded) of one parameter, by its style.
fn query_pairs(p: &Parameter, v: &Value) -> Vec<(String, String)> {
    match (v, p.style) {
        (Value::Array(items), Style::Form) if p.explode => items.iter().map(|i| (p.name.clone(), text(i))).collect(),
        (Value::Array(items), style) => {
            let sep = match style {
                Style::SpaceDelimited => " ",
                Style::PipeDelimited => "|",
                _ => ",",
            };
            vec![(p.name.clone(), items.iter().map(text).collect::<Vec<_>>().join(sep))]
        }
        (Value::Object(m), Style::DeepObject) => m.iter().map(|(k, v)| (format!("{}[{k}]", p.name), text(v))).collect(),
        (Value::Object(m), _) if p.explode => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        (Value::Object(m), _) => vec![(p.name.clone(), m.iter().flat_map(|(k, v)| [k.clone(), text(v)]).collect::<Vec<_>>().join(","))],
        (v, _) => vec![(p.name.clone(), text(v))],
    }
}

fn encode_query(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn insert_header(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
        headers.insert(n, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_as_text() {
        assert_eq!(simple(&json!(["a b", "c"]), false, true), "a%20b,c");
        assert_eq!(simple(&json!({"x": 1, "y": "z"}), true, false), "x=1,y=z");
        assert_eq!(simple(&json!(null), false, false), "");
        assert_eq!(encode_query(&[("f".into(), "name == 'a'".into())]), "f=name%20%3D%3D%20%27a%27");
    }

    #[test]
    fn form_bodies_follow_the_encoding_object() {
        use crate::spec::model::Encoding;
        let e = |name: &str, style, explode| (name.to_string(), Encoding { style, explode, ..Encoding::default() });
        let body = json!({"email": "a@b.c", "metadata": {"order": 6735, "tags": ["x"]}, "ids": [1, 2], "csv": ["a,b", "c"], "pipes": ["p", "q"], "pairs": {"k": "v", "l": 2}});
        let encoding = [
            e("metadata", Style::DeepObject, true),
            e("csv", Style::Form, false),
            e("pipes", Style::PipeDelimited, false),
            e("pairs", Style::Form, false),
        ];
        let text = form_body(&body, &encoding);
        let mut got: Vec<&str> = text.split('&').collect();
        got.sort();
        let mut want = vec![
            "email=a%40b.c",
            "metadata%5Border%5D=6735",
            "metadata%5Btags%5D%5B0%5D=x",
            "ids=1",
            "ids=2",
            "csv=a%2Cb,c",
            "pipes=p%7Cq",
            "pairs=k,v,l,2",
        ];
        want.sort();
        assert_eq!(got, want);
    }
}
