//! Checks a request against its operation: security, `Content-Type`, `Accept`, parameters and
//! body, collecting every violation rather than stopping at the first. It reads the request and
//! the spec only; it never writes a response and never touches the store.

mod form;
mod multipart;
pub mod params;
mod security;

use std::fmt;

use http::HeaderMap;
use serde_json::{Map, Value};

use crate::negotiate;
use crate::spec::{Operation, ParamIn, Spec, model::Media, model::SchemaRef};

pub use security::{Credential, digest_user};

/// Where in the request a violation sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Body,
    Query,
    Header,
    Path,
    Cookie,
}

impl From<ParamIn> for Location {
    fn from(p: ParamIn) -> Self {
        match p {
            ParamIn::Path => Location::Path,
            ParamIn::Query => Location::Query,
            ParamIn::Header => Location::Header,
            ParamIn::Cookie => Location::Cookie,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    #[serde(rename = "in")]
    pub location: Location,
    /// JSON pointer: into the body, or `/name` of the parameter (and into its value).
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = serde_json::to_value(self.location).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        write!(f, "{loc} {}: {}", if self.pointer.is_empty() { "/" } else { &self.pointer }, self.message)
    }
}

/// Why a request is refused, one variant per answer it gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// 401: no usable credential; the challenges go to `WWW-Authenticate`.
    Unauthorized { challenges: Vec<String>, message: String },
    /// 403: a well-formed credential that this server was told not to accept.
    Forbidden { message: String },
    /// 415
    UnsupportedMediaType { message: String },
    /// 406
    NotAcceptable { available: Vec<String> },
    /// 400: input that cannot be read at all (malformed JSON, bad UTF-8).
    Malformed(Vec<Violation>),
    /// 422 (or the document's own validation status): readable input that breaks the schema.
    Invalid(Vec<Violation>),
}

impl Rejection {
    pub fn violations(&self) -> &[Violation] {
        match self {
            Rejection::Malformed(v) | Rejection::Invalid(v) => v,
            _ => &[],
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Unauthorized { message, .. } | Rejection::Forbidden { message } | Rejection::UnsupportedMediaType { message } => {
                f.write_str(message)
            }
            Rejection::NotAcceptable { available } => {
                write!(f, "none of the acceptable media types is available: {}", available.join(", "))
            }
            Rejection::Malformed(v) | Rejection::Invalid(v) => {
                let parts: Vec<String> = v.iter().map(ToString::to_string).collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse requests that break the spec; unknown query parameters count.
    #[default]
    Strict,
    /// Answer normally and report the violations (log, journal, header).
    Warn,
    /// Do not check requests.
    Off,
}

/// The parts of a request that validation reads.
pub struct Incoming<'a> {
    pub path_params: &'a [(String, String)],
    /// The query's pairs, decoded once by the engine.
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// What validation learned about a request, for the steps after it.
#[derive(Debug, Default)]
pub struct Checked {
    /// Parameter values by name, typed by their schemas.
    pub params: Map<String, Value>,
    pub body: Option<Value>,
    pub credential: Option<Credential>,
}

pub struct Policy<'a> {
    pub mode: Mode,
    /// When non-empty, the only credentials accepted.
    pub tokens: &'a [String],
}

/// Checks the request. The `Checked` part is filled as far as the input allows even when the
/// request is rejected, so that warn mode can still answer from it.
pub fn check(spec: &Spec, op: &Operation, inc: &Incoming, policy: &Policy) -> (Checked, Option<Rejection>) {
    let mut checked = Checked::default();
    let auth = security::check(spec, op, inc, policy.tokens);
    match auth {
        Ok(c) => checked.credential = c,
        Err(r) => {
            if policy.mode == Mode::Off {
                return (checked, None);
            }
            parse_quietly(spec, op, inc, &mut checked);
            return (checked, Some(r));
        }
    }
    if policy.mode == Mode::Off {
        parse_quietly(spec, op, inc, &mut checked);
        return (checked, None);
    }
    if let Some(r) = check_accept(op, inc.headers) {
        parse_quietly(spec, op, inc, &mut checked);
        return (checked, Some(r));
    }
    let mut found = Found::default();
    check_params(spec, op, inc, &mut checked, &mut found, true);
    match check_body(spec, op, inc, &mut found, true) {
        Ok(body) => checked.body = body,
        Err(r) => return (checked, Some(r)),
    }
    (checked, found.rejection())
}

/// What the schemas say about a request: mismatches (422), and values that cannot be read as
/// their declared type at all (a number no `double` holds), which make the request a 400.
#[derive(Debug, Default)]
struct Found {
    invalid: Vec<Violation>,
    unreadable: Vec<Violation>,
}

impl Found {
    fn push(&mut self, v: Violation) {
        self.invalid.push(v);
    }

    /// Checks `value` against `schema`; violations sit at `prefix` + their pointer in `value`.
    /// `skip` drops those at pointers another check answers for.
    fn schema(&mut self, spec: &Spec, schema: &SchemaRef, value: &Value, location: Location, prefix: &str, skip: &dyn Fn(&str) -> bool) {
        match schema.validator(&spec.schemas) {
            Ok(v) => {
                for f in crate::spec::schemas::classified(&v, value).into_iter().filter(|f| !skip(&f.at)) {
                    let violation = Violation { location, pointer: format!("{prefix}{}", f.at), message: f.message };
                    if f.unreadable { self.unreadable.push(violation) } else { self.invalid.push(violation) }
                }
            }
            Err(e) => self.invalid.push(Violation {
                location,
                pointer: prefix.to_string(),
                message: format!("the spec's schema is invalid: {e}"),
            }),
        }
    }

    fn has(&self, location: Location, pointer: &str) -> bool {
        self.invalid.iter().chain(&self.unreadable).any(|v| v.location == location && v.pointer == pointer)
    }

    fn rejection(self) -> Option<Rejection> {
        if !self.unreadable.is_empty() {
            // Everything is listed; the unreadable values decide the status.
            let mut all = self.unreadable;
            all.extend(self.invalid);
            return Some(Rejection::Malformed(all));
        }
        (!self.invalid.is_empty()).then_some(Rejection::Invalid(self.invalid))
    }
}

fn parse_quietly(spec: &Spec, op: &Operation, inc: &Incoming, checked: &mut Checked) {
    // Parsing only: no schema is consulted, so validation off costs nothing.
    let mut ignored = Found::default();
    check_params(spec, op, inc, checked, &mut ignored, false);
    if let Ok(body) = check_body(spec, op, inc, &mut ignored, false) {
        checked.body = body;
    }
}

fn check_accept(op: &Operation, headers: &HeaderMap) -> Option<Rejection> {
    let accept = headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok())?;
    // What the operation would answer with: its lowest success response's media types.
    let response = op.default_response()?;
    if response.content.is_empty() {
        return None;
    }
    let declared: Vec<&str> = response.content.iter().map(|m| m.media_type.as_str()).collect();
    match negotiate::choose(Some(accept), &declared) {
        Some(_) => None,
        None => Some(Rejection::NotAcceptable { available: declared.iter().map(|s| s.to_string()).collect() }),
    }
}

/// Parses the parameters into `checked` and adds what is wrong to `out`; schemas are consulted
/// only when `validate`.
fn check_params(spec: &Spec, op: &Operation, inc: &Incoming, checked: &mut Checked, out: &mut Found, validate: bool) {
    let query = inc.query;
    let cookies = inc
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(params::parse_cookies)
        .collect::<Vec<_>>();
    // The names a query API key uses are known, and so are those the path key routes by (`?acl`).
    let is_key =
        |k: &str| security::query_key_names(spec, op).any(|n| n == k) || crate::template::split_key(&op.path).1.iter().any(|d| d.name == k);
    let claimed = |k: &str| op.parameters.iter().any(|p| matches!(p.location, ParamIn::Query) && params::claims(p, k));
    for p in &op.parameters {
        let value = match p.location {
            ParamIn::Path => inc.path_params.iter().find(|(k, _)| *k == p.name).map(|(_, v)| params::read_path(v, p)),
            ParamIn::Query if params::takes_any_key(p) => params::read_query(query, p)
                .or_else(|| params::read_map(query.iter().filter(|(k, _)| !claimed(k) && !is_key(k)).cloned().collect(), p)),
            ParamIn::Query => params::read_query(query, p),
            ParamIn::Cookie => params::read_query(&cookies, p),
            ParamIn::Header => {
                let all: Vec<&str> = inc.headers.get_all(p.name.as_str()).iter().filter_map(|v| v.to_str().ok()).collect();
                (!all.is_empty()).then(|| params::read_simple(&all.join(","), p))
            }
        };
        let loc = Location::from(p.location);
        let Some(value) = value else {
            if p.required {
                out.push(Violation {
                    location: loc,
                    pointer: format!("/{}", p.name),
                    message: format!("required {} parameter {:?} is missing", p.location.as_str(), p.name),
                });
            }
            continue;
        };
        if let Some(schema) = p.schema.as_ref().filter(|_| validate) {
            out.schema(spec, schema, &value, loc, &format!("/{}", p.name), &|_| false);
        }
        checked.params.insert(p.name.clone(), value);
    }
    // Unknown query parameters: a typo in a client is the point of a strict stub (unless a map
    // parameter takes any key).
    let open = op.parameters.iter().any(|p| matches!(p.location, ParamIn::Query) && params::takes_any_key(p));
    for (k, _) in query {
        if !open && !claimed(k) && !is_key(k) && !out.has(Location::Query, &format!("/{k}")) {
            out.push(Violation { location: Location::Query, pointer: format!("/{k}"), message: format!("unknown query parameter {k:?}") });
        }
    }
}

/// Parses the body and adds what is wrong to `out`; its schema is consulted only when `validate`.
fn check_body(spec: &Spec, op: &Operation, inc: &Incoming, out: &mut Found, validate: bool) -> Result<Option<Value>, Rejection> {
    let Some(body_spec) = &op.body else {
        // No body declared: a JSON body is still read (best effort) so later steps can use it.
        return Ok(serde_json::from_slice(inc.body).ok());
    };
    let content_type = inc.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if inc.body.is_empty() {
        if body_spec.required {
            out.push(Violation { location: Location::Body, pointer: String::new(), message: "a request body is required".into() });
        }
        return Ok(None);
    }
    let declared: Vec<&str> = body_spec.content.iter().map(|m| m.media_type.as_str()).collect();
    let media: Option<&Media> = match content_type {
        Some(ct) => body_spec
            .content
            .iter()
            .find(|m| negotiate::essence(&m.media_type) == negotiate::essence(ct))
            .or_else(|| body_spec.content.iter().find(|m| negotiate::covers(&m.media_type, ct))),
        None => None,
    };
    let Some(media) = media else {
        if body_spec.content.is_empty() {
            return Ok(None);
        }
        let message = match content_type {
            Some(ct) => format!("Content-Type {ct:?} is not accepted here; send one of: {}", declared.join(", ")),
            None => format!("a Content-Type header is required; send one of: {}", declared.join(", ")),
        };
        return Err(Rejection::UnsupportedMediaType { message });
    };
    let ct = content_type.unwrap_or(&media.media_type);
    let value = if negotiate::is_json(ct) {
        let text =
            std::str::from_utf8(inc.body).map_err(|e| malformed(format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to())))?;
        serde_json::from_str::<Value>(text).map_err(|e| {
            malformed(format!("malformed JSON at line {}, column {}: {}", e.line(), e.column(), strip_position(&e.to_string())))
        })?
    } else if negotiate::essence(ct) == "application/x-www-form-urlencoded" {
        let text =
            std::str::from_utf8(inc.body).map_err(|e| malformed(format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to())))?;
        form_body(text, media, spec)
    } else if negotiate::essence(ct) == "multipart/form-data" {
        // Parts are checked there: files need their own rules before the schema sees the rest.
        return multipart::body(inc.body, ct, media, spec, out, validate).map(Some);
    } else if crate::xml::is_xml(ct) {
        xml_value(inc.body, media, spec).map_err(malformed)?
    } else if negotiate::essence(ct).starts_with("text/") {
        let text =
            std::str::from_utf8(inc.body).map_err(|e| malformed(format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to())))?;
        Value::String(text.to_string())
    } else {
        // Binary bodies are accepted as they are.
        return Ok(None);
    };
    if let Some(schema) = media.schema.as_ref().filter(|_| validate) {
        out.schema(spec, schema, &value, Location::Body, "", &|_| false);
    }
    Ok(Some(value))
}

/// An XML body read into the JSON its schema describes, so it is validated like JSON (requests
/// here, answers in `verify`).
pub fn xml_value(body: &[u8], media: &Media, spec: &Spec) -> Result<Value, String> {
    let Some(schema_ref) = &media.schema else {
        return crate::xml::from_xml(body, None, &|s| s);
    };
    let doc = spec.schemas.doc(schema_ref.flow);
    let resolve = |v| crate::spec::source::deref(doc, v, "").0;
    crate::xml::from_xml(body, schema_ref.schema(&spec.schemas), &resolve)
}

fn malformed(message: String) -> Rejection {
    Rejection::Malformed(vec![Violation { location: Location::Body, pointer: String::new(), message }])
}

fn strip_position(msg: &str) -> &str {
    msg.split(" at line ").next().unwrap_or(msg)
}

/// A form body becomes the JSON tree its schema describes: bracketed keys nest, the media
/// type's `encoding` splits delimited values, and scalars take the schema's types.
fn form_body(text: &str, media: &Media, spec: &Spec) -> Value {
    let schema = media.schema.as_ref().and_then(|s| s.schema(&spec.schemas));
    form::urlencoded(text, schema, spec.schemas.doc(crate::spec::walk::Flow::Request), &media.encoding)
}
