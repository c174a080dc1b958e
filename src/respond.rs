//! Builds the success answer of an operation from its spec: picks the response (lowest 2xx, or
//! the code the client prefers), the media type by `Accept`, and the body by the one rule shared
//! with error and stateful answers ([`Media::example`]): a named example, else the first example
//! that matches its schema, else data generated from the schema; declared headers are sent too.
//! It does not decide errors: a client asking for something undeclared gets a [`MockError`].

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response as HttpResponse, StatusCode};
use serde_json::{Map, Value};

use crate::generate::{self, Direction, GenOptions, Mode, Realistic};
use crate::headers::VIOLATIONS;
use crate::negotiate;
use crate::prefer::Prefer;
use crate::spec::model::{Choice, types_of};
use crate::spec::source::target;
use crate::spec::walk::Flow;
use crate::spec::{Media, Operation, Response, Spec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockError {
    /// `Prefer: code=` names no declared response, or no status a response can have (200 to
    /// 599: a 1xx is no final answer, and a `default` response does not make any number one).
    UndeclaredCode {
        asked: String,
        declared: Vec<String>,
    },
    UnknownExample {
        asked: String,
        declared: Vec<String>,
    },
    NotAcceptable {
        available: Vec<String>,
    },
    /// The schema of the answer cannot be satisfied, or the value built for it breaks it:
    /// sending it would contradict the document.
    Unsatisfiable {
        pointer: String,
        why: String,
    },
}

/// The statuses `Prefer: code=` may ask for: final answers only.
const ANSWERABLE: std::ops::RangeInclusive<u16> = 200..=599;

/// The declared response `Prefer: code=` asks for, when it asks for one.
fn asked_response<'o>(op: &'o Operation, prefer: &Prefer) -> Result<Option<(u16, &'o Response)>, MockError> {
    let Some(text) = prefer.get("code") else {
        return Ok(None);
    };
    let undeclared =
        || MockError::UndeclaredCode { asked: text.to_string(), declared: op.responses.iter().map(|r| r.code.clone()).collect() };
    let code = prefer.code.filter(|c| ANSWERABLE.contains(c)).ok_or_else(undeclared)?;
    op.response_for(code).map(|r| Some((code, r))).ok_or_else(undeclared)
}

/// What the mock answers for `op`.
pub struct MockRequest<'a> {
    pub prefer: &'a Prefer,
    pub accept: Option<&'a str>,
    /// Values to put into same-named fields of the body (path parameters).
    pub echo: &'a Map<String, Value>,
    /// Seed for `Prefer: dynamic=true`.
    pub seed: u64,
    /// Plausible generated values (`--data realistic`): in answers without `dynamic`, from the
    /// server's seed, so that they are the same on every request; with it, from `seed` too.
    pub realistic: Option<Realistic>,
    /// Check generated bodies against the full schema validator (`--self-check`). Off by
    /// default: a response validator compiles every schema the response reaches, and on a
    /// document as interlinked as Stripe's that is megabytes per operation (1.9 GB peak over one
    /// verify run, against 0.5 GB without); the generator's own checks still refuse what it
    /// knows it cannot satisfy.
    pub validate: bool,
}

pub fn mock(spec: &Spec, op: &Operation, req: &MockRequest) -> Result<HttpResponse<Bytes>, MockError> {
    let (status, response) = match asked_response(op, req.prefer)? {
        Some((code, r)) => (code, Some(r)),
        None => match op.default_response() {
            Some(r) => (r.status(200), Some(r)),
            None => (200, None),
        },
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::builder().status(status);
    let Some(response) = response else {
        return Ok(builder.body(Bytes::new()).unwrap_or_default());
    };
    for (name, value) in headers(spec, response) {
        builder = builder.header(name, value);
    }
    if response.content.is_empty() {
        return Ok(builder.body(Bytes::new()).unwrap_or_default());
    }
    let declared: Vec<&str> = response.content.iter().map(|m| m.media_type.as_str()).collect();
    let Some(index) = negotiate::choose(req.accept, &declared) else {
        return Err(MockError::NotAcceptable { available: declared.iter().map(|s| s.to_string()).collect() });
    };
    let chosen = &response.content[index];
    let content_type = concrete_media_type(&chosen.media_type);
    // A range with nothing to show (Jira's `*/*: {}` beside `application/json` with a schema)
    // answers as the concrete type it becomes, and so with that type's body.
    let media = match chosen.schema.is_none() && chosen.examples.is_empty() {
        true => response.content.iter().find(|m| m.media_type == content_type && m.schema.is_some()).unwrap_or(chosen),
        false => chosen,
    };
    let echo = fitting_echo(spec, media, req.echo);
    let req = &MockRequest { echo: &echo, ..*req };
    let asked = req.prefer.example.as_deref();
    let dynamic = req.prefer.dynamic == Some(true);
    // `dynamic=true` asks for fresh data, so it passes over the examples unless one is named.
    // Without a schema there is nothing to generate from: the example stands.
    let choice = if dynamic && asked.is_none() && media.schema.is_some() { Choice::Generate } else { media.example(asked) };
    let mut value = match choice {
        Choice::Unknown => {
            return Err(MockError::UnknownExample { asked: asked.unwrap_or_default().to_string(), declared: media.example_names() });
        }
        Choice::Example(example) => {
            if let Some(why) = &example.invalid {
                let text = format!("the example {:?} does not match its schema: {why}", example.name);
                if let Some(v) = header_value(&text) {
                    builder = builder.header(VIOLATIONS, v);
                }
            }
            // The default example is the same for every request: encoded once, unless path
            // parameters change what it shows.
            if asked.is_none() && (req.echo.is_empty() || !generate::echo_changes(&example.value, req.echo)) {
                let body = media.default_encoded.get_or_init(|| encode(&example.value, &content_type, schema_of(spec, media))).clone();
                return Ok(builder.header(http::header::CONTENT_TYPE, content_type).body(body).unwrap_or_default());
            }
            example.value.clone()
        }
        Choice::Generate if dynamic => generated(spec, media, Mode::Random { seed: req.seed }, req)?,
        Choice::Generate => generated(spec, media, Mode::Deterministic, req)?,
    };
    if !req.echo.is_empty() {
        generate::echo_into(&mut value, req.echo);
    }
    let body = encode(&value, &content_type, schema_of(spec, media));
    Ok(builder.header(http::header::CONTENT_TYPE, content_type).body(body).unwrap_or_default())
}

/// The path parameters that may stand in the answer's same-named fields: one whose field is of
/// another type (GitHub's `owner` object under `/repos/{owner}/{repo}`) would break the schema.
/// Borrowed when they all fit, as they mostly do: this runs for every answer to a path with
/// parameters.
fn fitting_echo<'e>(spec: &Spec, media: &Media, echo: &'e Map<String, Value>) -> Cow<'e, Map<String, Value>> {
    if echo.is_empty() {
        return Cow::Borrowed(echo);
    }
    let fields = media.echo_fields.get_or_init(|| echo_fields(spec, media));
    let doc = spec.schemas.doc(Flow::Response);
    let fits =
        |name: &str, value: &Value| fields.iter().filter(|(n, _, _)| n == name).all(|(_, types, prop)| echo_fits(doc, types, prop, value));
    if echo.iter().all(|(name, value)| fits(name, value)) {
        return Cow::Borrowed(echo);
    }
    Cow::Owned(echo.iter().filter(|(name, value)| fits(name, value)).map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// The answer's fields echo reaches, with their types and, for a field an echoed value can take
/// (no type or only scalar ones), its schema, for [`Media::echo_fields`]. Object and array
/// fields keep no copy: no path value fits them by type alone.
fn echo_fields(spec: &Spec, media: &Media) -> Vec<(String, Vec<String>, Value)> {
    let Some(schema) = media.schema.as_ref().and_then(|s| s.schema(&spec.schemas)) else { return Vec::new() };
    let doc = spec.schemas.doc(Flow::Response);
    let mut fields: Vec<(&str, &Value)> = Vec::new();
    let top = target(doc, schema);
    let top = if types_of(doc, top).iter().any(|t| t == "array") { top.get("items").map(|i| target(doc, i)).unwrap_or(top) } else { top };
    collect_fields(doc, top, 0, &mut fields);
    let scalar = |t: &String| matches!(t.as_str(), "string" | "integer" | "number" | "boolean" | "null");
    fields
        .into_iter()
        .map(|(name, prop)| {
            let types = types_of(doc, prop);
            let schema = if types.iter().all(scalar) { prop.clone() } else { Value::Null };
            (name.to_string(), types, schema)
        })
        .collect()
}

/// The properties echo reaches: the answer's own and those of the objects directly inside it.
fn collect_fields<'a>(doc: &'a Value, schema: &'a Value, level: usize, out: &mut Vec<(&'a str, &'a Value)>) {
    let visit = |s: &'a Value, out: &mut Vec<(&'a str, &'a Value)>| {
        for (k, v) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let v = target(doc, v);
            out.push((k.as_str(), v));
            if level == 0 {
                collect_fields(doc, v, 1, out);
            }
        }
    };
    visit(schema, out);
    for member in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        visit(target(doc, member), out);
    }
}

/// Whether an echoed value (typed by validation, or the raw text) can take a field of these
/// types, as echo converts it, and meets the field's schema (a path's `string` is no field's
/// `uuid`).
fn echo_fits(doc: &Value, types: &[String], prop: &Value, value: &Value) -> bool {
    let typed = types.is_empty()
        || types.iter().any(|t| match (t.as_str(), value) {
            ("string", Value::String(_) | Value::Number(_) | Value::Bool(_)) => true,
            ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
            ("integer", Value::String(s)) => s.trim().parse::<i64>().is_ok(),
            ("number", Value::Number(_)) => true,
            ("number", Value::String(s)) => s.trim().parse::<f64>().is_ok(),
            ("boolean", Value::Bool(_)) => true,
            ("boolean", Value::String(s)) => s.parse::<bool>().is_ok(),
            _ => false,
        });
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    typed && generate::admits(prop, doc, &generate::convert_echo(value, &types))
}

/// A header value for free text: control characters dropped, anything outside visible ASCII
/// escaped (a header cannot carry it), and kept short.
pub fn header_value(text: &str) -> Option<HeaderValue> {
    let safe: String = text
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| if c.is_ascii() { vec![c] } else { c.escape_unicode().collect() })
        .take(2000)
        .collect();
    HeaderValue::from_str(&safe).ok()
}

/// The body of a media type when the answer has no data of its own, by the rule every answer
/// shares ([`Media::example`]): the first valid example, else data generated from the schema.
pub fn default_body(spec: &Spec, media: &Media) -> Option<Value> {
    match media.example(None) {
        Choice::Example(example) => Some(example.value.clone()),
        _ => {
            let schema = media.schema.as_ref()?.schema(&spec.schemas)?;
            Some(generate::generate(schema, spec.schemas.doc(Flow::Response), &GenOptions::default()))
        }
    }
}

/// The generated body of `media` with only what its schemas require, when no example is
/// declared (None otherwise): the frame of an error answer, which shows what went wrong rather
/// than every optional field a placeholder can fill.
pub fn required_body(spec: &Spec, media: &Media) -> Option<Value> {
    if let Choice::Example(_) = media.example(None) {
        return None;
    }
    let schema = media.schema.as_ref()?.schema(&spec.schemas)?;
    Some(generate::generate(schema, spec.schemas.doc(Flow::Response), &GenOptions { max_depth: 0, ..GenOptions::default() }))
}

/// Data for the media type's schema, checked against the schema's validator: the generator is
/// sure of what it models, not of everything a schema can say, and an answer must never break the
/// schema it claims to follow.
fn generated(spec: &Spec, media: &Media, mode: Mode, req: &MockRequest) -> Result<Value, MockError> {
    let (echo, validate) = (req.echo, req.validate);
    let Some(schema_ref) = media.schema.as_ref() else {
        return Ok(Value::Null);
    };
    let Some(schema) = schema_ref.schema(&spec.schemas) else {
        return Ok(Value::Null);
    };
    let opts = GenOptions { mode, direction: Direction::Response, max_depth: 6, echo: Some(echo), realistic: req.realistic, name: None };
    let doc = spec.schemas.doc(schema_ref.flow);
    let value = generate::try_generate(schema, doc, &schema_ref.pointer, &opts)
        .map_err(|e| MockError::Unsatisfiable { pointer: e.pointer, why: e.why })?;
    if let Some(validator) = validate.then(|| schema_ref.validator(&spec.schemas).ok()).flatten() {
        let found = crate::spec::schemas::violations(&validator, &value);
        // An echoed path parameter is the client's own word (request validation judges it), so a
        // value it puts in the body is not the generator's fault.
        let echoed = |at: &str| at.rsplit('/').next().is_some_and(|k| echo.contains_key(k));
        if let Some((at, why)) = found.iter().find(|(at, _)| !echoed(at)) {
            let why = format!("the value built for it breaks it at {}: {why}", if at.is_empty() { "/" } else { at });
            return Err(MockError::Unsatisfiable { pointer: schema_ref.pointer.clone(), why });
        }
    }
    Ok(value)
}

/// A declared range such as `application/*` answers as something concrete.
pub fn concrete_media_type(declared: &str) -> String {
    match declared {
        "*/*" | "application/*" => "application/json".to_string(),
        "text/*" => "text/plain".to_string(),
        m => m.to_string(),
    }
}

/// `value` as a body of `media_type`: a string as it is (a text example, or an XML one already
/// written), XML from the schema's `xml` hints for an XML type (a string that is no XML document,
/// as `type: string` under `text/xml` generates, becomes the root element's text), JSON otherwise.
/// `schema` is the media's schema and the document it resolves in.
pub fn encode(value: &Value, media_type: &str, schema: Option<(&Value, &Value)>) -> Bytes {
    let xml = crate::xml::is_xml(media_type);
    match value {
        Value::String(s) if !negotiate::is_json(media_type) && (!xml || crate::xml::is_document(s)) => Bytes::from(s.clone()),
        v if xml => Bytes::from(match schema {
            Some((schema, doc)) => xml_body(v, schema, doc),
            None => crate::xml::to_xml(v, None, &|s| s),
        }),
        v => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    }
}

fn xml_body<'a>(value: &Value, schema: &'a Value, doc: &'a Value) -> Vec<u8> {
    let resolve = move |v: &'a Value| -> &'a Value { crate::spec::source::deref(doc, v, "").0 };
    crate::xml::to_xml(value, Some(schema), &resolve)
}

/// A media's schema with the document it resolves in, for [`encode`]: only XML is written from
/// its schema, so for any other media type there is nothing to look up (and this runs for every
/// answer).
pub fn schema_of<'a>(spec: &'a Spec, media: &Media) -> Option<(&'a Value, &'a Value)> {
    if !crate::xml::is_xml(&media.media_type) {
        return None;
    }
    let s = media.schema.as_ref()?;
    Some((s.schema(&spec.schemas)?, spec.schemas.doc(s.flow)))
}

/// Declared response headers with their example (or generated) values.
pub fn headers(spec: &Spec, response: &Response) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for h in &response.headers {
        let Ok(name) = HeaderName::from_bytes(h.name.as_bytes()) else {
            continue;
        };
        if name == http::header::CONTENT_TYPE || name == http::header::CONTENT_LENGTH {
            continue;
        }
        let value = match &h.example {
            Some(v) => v.clone(),
            None => match h.schema.as_ref().and_then(|s| s.schema(&spec.schemas)) {
                Some(schema) => generate::generate(schema, spec.schemas.doc(crate::spec::walk::Flow::Response), &GenOptions::default()),
                None => continue,
            },
        };
        if let Ok(v) = HeaderValue::from_str(&header_text(&value)) {
            out.push((name, v));
        }
    }
    out
}

pub fn header_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(header_text).collect::<Vec<_>>().join(","),
        Value::Object(m) => m.iter().map(|(k, v)| format!("{k},{}", header_text(v))).collect::<Vec<_>>().join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The declared response an outcome answers with: its status's, else the operation's default.
fn outcome_response<'o>(op: &'o Operation, outcome: &crate::behaviour::Outcome) -> Option<&'o Response> {
    match outcome.status {
        Some(s) => op.response_for(s),
        None => op.default_response(),
    }
}

/// The media an outcome's record is written in: JSON where the response offers it, else XML
/// written from the schema (AWS's rest-xml and query answers declare only `text/xml`).
fn record_media(response: &Response) -> Option<&Media> {
    let listed = || response.content.iter();
    listed().find(|m| negotiate::is_json(&m.media_type)).or_else(|| listed().find(|m| crate::xml::is_xml(&m.media_type)))
}

/// Whether the answer `from_outcome` would build is one the operation declares: a record the
/// declared response's schema allows, in a JSON or XML media type it lists. Documents often
/// describe a create's or a list's answer as something other than the resource (a bare id, an
/// envelope the binding did not find, only text); the store still changes, but the answer must
/// come from the document then.
pub fn fits(spec: &Spec, op: &Operation, outcome: &crate::behaviour::Outcome) -> bool {
    let Some(response) = outcome_response(op, outcome) else { return true };
    if response.content.is_empty() || outcome.not_modified {
        return true;
    }
    let Some(media) = record_media(response) else { return false };
    let Some(schema) = &media.schema else { return true };
    let Ok(validator) = schema.validator(&spec.schemas) else { return true };
    match &outcome.body {
        Some(body) => validator.is_valid(body),
        None => validator.is_valid(&default_body(spec, media).unwrap_or(Value::Object(Map::new()))),
    }
}

/// The status `from_outcome` answers with (before a 304 for a matched `If-None-Match`).
pub fn outcome_status(op: &Operation, outcome: &crate::behaviour::Outcome) -> u16 {
    outcome.status.or_else(|| outcome_response(op, outcome).map(|r| r.status(200))).unwrap_or(200)
}

/// Answers with what the stateful behaviour produced, in the operation's declared response
/// (its status unless the behaviour says otherwise, its headers, its media type).
pub fn from_outcome(spec: &Spec, op: &Operation, outcome: crate::behaviour::Outcome) -> HttpResponse<Bytes> {
    let response = outcome_response(op, &outcome);
    let status = outcome_status(op, &outcome);
    let status = if outcome.not_modified { StatusCode::NOT_MODIFIED } else { StatusCode::from_u16(status).unwrap_or(StatusCode::OK) };
    let mut builder = HttpResponse::builder().status(status);
    if let Some(r) = response {
        for (name, value) in headers(spec, r) {
            let ours = name == http::header::ETAG
                || (name == http::header::LOCATION && outcome.location.is_some())
                || (name == http::header::LINK && outcome.link.as_deref().is_some_and(|l| !l.is_empty()));
            if !ours {
                builder = builder.header(name, value);
            }
        }
    }
    if let Some(location) = outcome.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        if response.is_some_and(|r| r.headers.iter().any(|h| h.name.eq_ignore_ascii_case("location"))) {
            builder = builder.header(http::header::LOCATION, location);
        }
    }
    if let Some(tag) = outcome.etag.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
        builder = builder.header(http::header::ETAG, tag);
    }
    if let Some(link) = outcome.link.as_deref().filter(|l| !l.is_empty()).and_then(|l| HeaderValue::from_str(l).ok()) {
        if response.is_some_and(|r| r.headers.iter().any(|h| h.name.eq_ignore_ascii_case("link"))) {
            builder = builder.header(http::header::LINK, link);
        }
    }
    let declared_body = response.is_some_and(|r| !r.content.is_empty());
    let media = response.and_then(record_media);
    let send = |builder: http::response::Builder, value: &Value| {
        let (content_type, bytes) = match media {
            Some(m) => {
                let t = concrete_media_type(&m.media_type);
                let bytes = encode(value, &t, schema_of(spec, m));
                (t, bytes)
            }
            None => ("application/json".to_string(), Bytes::from(serde_json::to_vec(value).unwrap_or_default())),
        };
        builder.header(http::header::CONTENT_TYPE, content_type).body(bytes).unwrap_or_default()
    };
    match outcome.body {
        Some(body) if declared_body && !outcome.not_modified => send(builder, &body),
        _ if declared_body && !outcome.not_modified => {
            // Nothing to show (a delete): what the declared response shows by default, or an
            // empty object when it declares neither example nor schema.
            let value = media.and_then(|m| default_body(spec, m)).unwrap_or(Value::Object(Map::new()));
            send(builder, &value)
        }
        _ => builder.body(Bytes::new()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Api;
    use http::StatusCode;
    use serde_json::json;

    fn api(file: &str) -> Api {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file);
        crate::plan::build(crate::config::Config { specs: vec![path], ..Default::default() }).expect("serves despite its examples").0
    }

    fn op<'a>(api: &'a Api, id: &str) -> &'a Operation {
        &api.operations.iter().find(|p| p.op.id == id).expect("declared").op
    }

    fn answer(api: &Api, id: &str, prefer: Prefer) -> Result<HttpResponse<Bytes>, MockError> {
        let op = op(api, id);
        mock(
            api.spec_of(op),
            op,
            &MockRequest { prefer: &prefer, accept: None, echo: &Map::new(), seed: 1, realistic: None, validate: true },
        )
    }

    fn body(r: &HttpResponse<Bytes>) -> Value {
        serde_json::from_slice(r.body()).expect("JSON")
    }

    fn named(name: &str) -> Prefer {
        Prefer { example: Some(name.into()), ..Prefer::default() }
    }

    #[test]
    fn invalid_examples_are_passed_over_for_generated_data() {
        let api = api("examples.yaml");
        let r = answer(&api, "listPets", Prefer::default()).unwrap();
        let pet = body(&r);
        assert!(pet["id"].is_i64() && pet["name"].is_string(), "{pet}");
        assert!(r.headers().get(VIOLATIONS).is_none());
    }

    #[test]
    fn the_first_valid_example_answers_when_an_invalid_one_comes_first() {
        let api = api("examples.yaml");
        assert_eq!(body(&answer(&api, "createPet", Prefer::default()).unwrap()), json!({"id": 3, "name": "Rex"}));
    }

    #[test]
    fn an_invalid_example_asked_by_name_is_sent_with_its_violations() {
        let api = api("examples.yaml");
        let r = answer(&api, "listPets", named("bad")).unwrap();
        assert_eq!(body(&r), json!({"id": "eight", "name": 8}));
        let why = r.headers()[VIOLATIONS].to_str().unwrap();
        assert!(why.contains("\"bad\"") && why.contains("/examples/bad/value at /id"), "{why}");
        let unknown = answer(&api, "listPets", named("nope")).unwrap_err();
        assert_eq!(unknown, MockError::UnknownExample { asked: "nope".into(), declared: vec!["default".into(), "bad".into()] });
    }

    #[test]
    fn error_bodies_choose_by_the_same_rule() {
        let api = api("examples.yaml");
        let op = op(&api, "listPets");
        let reply = crate::problem::ErrorReply::new(StatusCode::BAD_REQUEST, "limit is not a number");
        let r = crate::problem::render(&reply, Some((api.spec_of(op), op)));
        let error = body(&r);
        assert_eq!(r.headers()[http::header::CONTENT_TYPE], "application/json");
        assert_eq!(error, json!({"code": 400, "message": "limit is not a number"}));
    }

    #[test]
    fn a_delete_answer_chooses_by_the_same_rule() {
        let api = api("examples.yaml");
        let op = op(&api, "deletePet");
        let outcome = crate::behaviour::Outcome { status: None, body: None, etag: None, not_modified: false, location: None, link: None };
        let r = from_outcome(api.spec_of(op), op, outcome);
        assert!(body(&r)["deleted"].is_boolean(), "{:?}", r.body());
    }

    #[test]
    fn a_path_parameter_is_echoed_only_into_a_field_of_its_type() {
        let api = api("conform.yaml");
        let op = op(&api, "getRepo");
        let echo: Map<String, Value> = json!({"owner": "octocat", "repo": "hello"}).as_object().cloned().unwrap();
        let prefer = Prefer::default();
        let r = mock(
            api.spec_of(op),
            op,
            &MockRequest { prefer: &prefer, accept: None, echo: &echo, seed: 1, realistic: None, validate: true },
        )
        .unwrap();
        let repo = body(&r);
        assert!(repo["owner"].is_object() && repo["owner"]["login"].is_string(), "{repo}");
    }

    #[test]
    fn header_values_escape_what_a_header_cannot_carry() {
        assert_eq!(header_value("é\nok").unwrap(), "\\u{e9}ok");
    }

    fn code(c: &str) -> Prefer {
        Prefer { code: c.parse().ok(), all: vec![("code".into(), c.into())], ..Prefer::default() }
    }

    #[test]
    fn prefer_code_answers_only_declared_final_statuses() {
        let api = api("examples.yaml");
        for bad in ["100", "101", "199", "600", "999", "abc", "418"] {
            let e = answer(&api, "listPets", code(bad)).unwrap_err();
            assert!(matches!(&e, MockError::UndeclaredCode { asked, .. } if asked == bad), "{bad}: {e:?}");
            let reply = crate::problem::ErrorReply::from(&e);
            assert_eq!(reply.status, StatusCode::BAD_REQUEST);
            assert!(reply.detail.contains("declared: 200"), "{}", reply.detail);
        }
        assert_eq!(answer(&api, "listPets", code("400")).unwrap().status(), 400);
    }
}
