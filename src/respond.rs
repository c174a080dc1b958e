//! Builds the success answer of an operation from its spec: picks the response (lowest 2xx, or
//! the code the client prefers), the media type by `Accept`, and the body from a named example,
//! the first example, or data generated from the schema; declared headers are sent too. It does
//! not decide errors: a client asking for something undeclared gets a [`MockError`].

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response as HttpResponse, StatusCode};
use serde_json::{Map, Value};

use crate::generate::{self, Direction, GenOptions, Mode};
use crate::negotiate;
use crate::prefer::Prefer;
use crate::spec::{Operation, Response, Spec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockError {
    UndeclaredCode { asked: u16, declared: Vec<String> },
    UnknownExample { asked: String, declared: Vec<String> },
    NotAcceptable { available: Vec<String> },
}

/// What the mock answers for `op`.
pub struct MockRequest<'a> {
    pub prefer: &'a Prefer,
    pub accept: Option<&'a str>,
    /// Values to put into same-named fields of the body (path parameters).
    pub echo: &'a Map<String, Value>,
    /// Seed for `Prefer: dynamic=true`.
    pub seed: u64,
}

pub fn mock(spec: &Spec, op: &Operation, req: &MockRequest) -> Result<HttpResponse<Bytes>, MockError> {
    let (status, response) = match req.prefer.code {
        Some(code) => match op.response_for(code) {
            Some(r) => (code, Some(r)),
            None => {
                return Err(MockError::UndeclaredCode { asked: code, declared: op.responses.iter().map(|r| r.code.clone()).collect() });
            }
        },
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
    let media = &response.content[index];
    let content_type = concrete_media_type(&media.media_type);
    let plain_example = req.prefer.example.is_none() && req.prefer.dynamic != Some(true);
    let first =
        media.examples.first().filter(|(_, example)| plain_example && (req.echo.is_empty() || !generate::echo_changes(example, req.echo)));
    if let Some((_, example)) = first {
        let body = media.first_encoded.get_or_init(|| encode(example, &content_type)).clone();
        return Ok(builder.header(http::header::CONTENT_TYPE, content_type).body(body).unwrap_or_default());
    }
    let mut value = if let Some(name) = &req.prefer.example {
        match media.examples.iter().find(|(n, _)| n == name) {
            Some((_, v)) => v.clone(),
            None => {
                return Err(MockError::UnknownExample {
                    asked: name.clone(),
                    declared: media.examples.iter().map(|(n, _)| n.clone()).collect(),
                });
            }
        }
    } else if req.prefer.dynamic == Some(true) && media.schema.is_some() {
        generated(spec, media, Mode::Random { seed: req.seed }, req.echo)
    } else if let Some((_, v)) = media.examples.first() {
        v.clone()
    } else {
        generated(spec, media, Mode::Deterministic, req.echo)
    };
    if !req.echo.is_empty() {
        generate::echo_into(&mut value, req.echo);
    }
    let body = encode(&value, &content_type);
    Ok(builder.header(http::header::CONTENT_TYPE, content_type).body(body).unwrap_or_default())
}

fn generated(spec: &Spec, media: &crate::spec::Media, mode: Mode, echo: &Map<String, Value>) -> Value {
    let Some(schema) = media.schema.as_ref().and_then(|s| s.schema(&spec.schemas)) else {
        return Value::Null;
    };
    let opts = GenOptions { mode, direction: Direction::Response, max_depth: 6, echo: Some(echo) };
    generate::generate(schema, spec.schemas.doc(crate::spec::walk::Flow::Response), &opts)
}

/// A declared range such as `application/*` answers as something concrete.
pub fn concrete_media_type(declared: &str) -> String {
    match declared {
        "*/*" | "application/*" => "application/json".to_string(),
        "text/*" => "text/plain".to_string(),
        m => m.to_string(),
    }
}

/// JSON media get JSON; a string under any other media type is sent as its text.
pub fn encode(value: &Value, media_type: &str) -> Bytes {
    match value {
        Value::String(s) if !negotiate::is_json(media_type) => Bytes::from(s.clone()),
        v => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    }
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

/// Answers with what the stateful behaviour produced, in the operation's declared response
/// (its status unless the behaviour says otherwise, its headers, its media type).
pub fn from_outcome(spec: &Spec, op: &Operation, outcome: crate::behaviour::Outcome) -> HttpResponse<Bytes> {
    let response = match outcome.status {
        Some(s) => op.response_for(s),
        None => op.default_response(),
    };
    let status = outcome.status.or_else(|| response.map(|r| r.status(200))).unwrap_or(200);
    let status = if outcome.not_modified { StatusCode::NOT_MODIFIED } else { StatusCode::from_u16(status).unwrap_or(StatusCode::OK) };
    let mut builder = HttpResponse::builder().status(status);
    if let Some(r) = response {
        for (name, value) in headers(spec, r) {
            let ours = name == http::header::ETAG || (name == http::header::LOCATION && outcome.location.is_some());
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
    let declared_body = response.is_some_and(|r| !r.content.is_empty());
    match outcome.body {
        Some(body) if declared_body && !outcome.not_modified => {
            let media = response
                .and_then(|r| r.content.iter().find(|m| negotiate::is_json(&m.media_type)))
                .map(|m| concrete_media_type(&m.media_type))
                .unwrap_or_else(|| "application/json".to_string());
            builder
                .header(http::header::CONTENT_TYPE, media)
                .body(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()))
                .unwrap_or_default()
        }
        _ if declared_body && !outcome.not_modified => {
            // Nothing to show (a delete): the declared response's example, or an empty object.
            let media = response.and_then(|r| r.content.iter().find(|m| negotiate::is_json(&m.media_type)));
            let value = media.and_then(|m| m.examples.first().map(|(_, v)| v.clone())).unwrap_or(Value::Object(Map::new()));
            builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Bytes::from(serde_json::to_vec(&value).unwrap_or_default()))
                .unwrap_or_default()
        }
        _ => builder.body(Bytes::new()).unwrap_or_default(),
    }
}
