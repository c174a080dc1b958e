//! Checks one answer against the operation that produced it: the status is declared (exactly, as a
//! range like `4XX`, or by `default`), every required declared header is present and valid against
//! its schema, the `Content-Type` is declared, and the body is valid against the schema of that
//! media type. Shared by `verify` and the validating proxy.

use std::fmt;

use http::{HeaderMap, Method};
use serde_json::Value;

use crate::negotiate;
use crate::spec::model::types_of;
use crate::spec::schemas::violations;
use crate::spec::source::deref;
use crate::spec::walk::Flow;
use crate::spec::{Operation, Spec};
use crate::validate::{Location, Violation};

/// Which part of the answer breaks the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    Status,
    Header,
    ContentType,
    Body,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Status => "status",
            Part::Header => "header",
            Part::ContentType => "content-type",
            Part::Body => "body",
        }
    }
}

/// One way an answer breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    #[serde(rename = "in")]
    pub part: Part,
    /// JSON pointer into the body, `/Header-Name` (and into its value) for headers, empty otherwise.
    pub pointer: String,
    pub message: String,
}

impl Finding {
    fn new(part: Part, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { part, pointer: pointer.into(), message: message.into() }
    }

    /// The same finding as a request-style violation, for the journal and the violations header:
    /// status and `Content-Type` findings sit under `header` (`/:status`, `/content-type`), and
    /// every message starts with "response".
    pub fn to_violation(&self) -> Violation {
        let (location, pointer) = match self.part {
            Part::Status => (Location::Header, "/:status".to_string()),
            Part::ContentType => (Location::Header, "/content-type".to_string()),
            Part::Header => (Location::Header, self.pointer.clone()),
            Part::Body => (Location::Body, self.pointer.clone()),
        };
        Violation { location, pointer, message: format!("response: {}", self.message) }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}: {}", self.part.as_str(), self.message)
        } else {
            write!(f, "{} {}: {}", self.part.as_str(), self.pointer, self.message)
        }
    }
}

/// Every way the answer (`status`, `headers`, `body`) to a `method` request breaks `op`'s contract.
pub fn response(spec: &Spec, op: &Operation, method: &Method, status: u16, headers: &HeaderMap, body: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(declared) = op.response_for(status) else {
        let codes: Vec<&str> = op.responses.iter().map(|r| r.code.as_str()).collect();
        let list = if codes.is_empty() { "none".to_string() } else { codes.join(", ") };
        out.push(Finding::new(Part::Status, "", format!("status {status} is not declared (declared: {list})")));
        return out;
    };
    let doc = spec.schemas.doc(Flow::Response);
    for h in &declared.headers {
        if h.name.eq_ignore_ascii_case("content-type") {
            // OpenAPI: a declared Content-Type header is ignored; the media types say it.
            continue;
        }
        let pointer = format!("/{}", crate::spec::escape_token(&h.name));
        let values: Vec<&str> = headers.get_all(h.name.as_str()).iter().filter_map(|v| v.to_str().ok()).collect();
        if values.is_empty() {
            if h.required {
                out.push(Finding::new(Part::Header, pointer, format!("required header {} is missing", h.name)));
            }
            continue;
        }
        let Some(schema) = &h.schema else { continue };
        let node = schema.schema(&spec.schemas).map(|s| deref(doc, s, "").0);
        let value = header_value(doc, node, &values.join(","));
        match schema.validator(&spec.schemas) {
            Ok(v) => {
                for (at, message) in violations(&v, &value) {
                    out.push(Finding::new(Part::Header, format!("{pointer}{at}"), message));
                }
            }
            Err(e) => out.push(Finding::new(Part::Header, pointer, format!("the spec's schema is invalid: {e}"))),
        }
    }
    // A HEAD answer, a 204 and a 304 carry no body whatever the spec says about GET's.
    let bodiless = *method == Method::HEAD || status == 204 || status == 304;
    if declared.content.is_empty() || bodiless {
        if !bodiless && !body.iter().all(u8::is_ascii_whitespace) {
            out.push(Finding::new(Part::Body, "", format!("the response declares no body, but {} byte(s) came", body.len())));
        }
        return out;
    }
    let declared_types = || declared.content.iter().map(|m| m.media_type.as_str()).collect::<Vec<_>>().join(", ");
    let content_type = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let Some(ct) = content_type else {
        let message = if body.is_empty() {
            format!("the body is empty; declared: {}", declared_types())
        } else {
            format!("Content-Type is missing; declared: {}", declared_types())
        };
        out.push(Finding::new(if body.is_empty() { Part::Body } else { Part::ContentType }, "", message));
        return out;
    };
    let media = declared
        .content
        .iter()
        .find(|m| negotiate::essence(&m.media_type) == negotiate::essence(ct))
        .or_else(|| declared.content.iter().find(|m| negotiate::covers(&m.media_type, ct)));
    let Some(media) = media else {
        out.push(Finding::new(
            Part::ContentType,
            "",
            format!("Content-Type {ct} is not declared for status {status}; declared: {}", declared_types()),
        ));
        return out;
    };
    let value = if negotiate::is_json(ct) {
        if body.is_empty() {
            out.push(Finding::new(Part::Body, "", format!("the body is empty; {ct} declared")));
            return out;
        }
        match std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8 (at byte {})", e.valid_up_to())).and_then(|t| {
            serde_json::from_str::<Value>(t).map_err(|e| format!("malformed JSON at line {}, column {}", e.line(), e.column()))
        }) {
            Ok(v) => v,
            Err(message) => {
                out.push(Finding::new(Part::Body, "", message));
                return out;
            }
        }
    } else if crate::xml::is_xml(ct) {
        // Read back into the shape the schema describes, as the server writes it from that shape.
        match crate::validate::xml_value(body, media, spec) {
            Ok(v) => v,
            Err(message) => {
                out.push(Finding::new(Part::Body, "", message));
                return out;
            }
        }
    } else if negotiate::essence(ct).starts_with("text/") {
        let text = String::from_utf8_lossy(body).into_owned();
        // A text media type described by a structured schema (`text/plain` with an object, as
        // many documents declare): such an answer is JSON text, and is judged as what it says.
        let doc = spec.schemas.doc(Flow::Response);
        let structured = media.schema.as_ref().and_then(|s| s.schema(&spec.schemas)).is_some_and(|s| {
            let types = types_of(doc, s);
            !types.is_empty() && !types.iter().any(|t| t == "string")
        });
        match structured.then(|| serde_json::from_str::<Value>(&text).ok()).flatten() {
            Some(v) => v,
            None => Value::String(text),
        }
    } else {
        // Binary media: only the type is checked.
        return out;
    };
    if let Some(schema) = &media.schema {
        match schema.validator(&spec.schemas) {
            Ok(v) => {
                for (at, message) in violations(&v, &value) {
                    out.push(Finding::new(Part::Body, at, message));
                }
            }
            Err(e) => out.push(Finding::new(Part::Body, "", format!("the spec's schema is invalid: {e}"))),
        }
    }
    out
}

/// The answer's body as data, for what later requests learn from it: JSON as it is, XML read
/// into the shape the declared media's schema describes. None for other media or a bad body.
pub fn body_value(spec: &Spec, op: &Operation, status: u16, headers: &HeaderMap, body: &[u8]) -> Option<Value> {
    let ct = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok())?;
    if negotiate::is_json(ct) {
        return serde_json::from_slice(body).ok();
    }
    if !crate::xml::is_xml(ct) {
        return None;
    }
    let media = op.response_for(status)?.content.iter().find(|m| crate::xml::is_xml(&m.media_type))?;
    crate::validate::xml_value(body, media, spec).ok()
}

/// A header's text typed by its schema: `simple` style, arrays split on commas.
fn header_value(doc: &Value, schema: Option<&Value>, raw: &str) -> Value {
    let Some(schema) = schema else {
        return Value::String(raw.to_string());
    };
    let types = types_of(doc, schema);
    if types.iter().any(|t| t == "array") {
        let items = schema.get("items").map(|i| types_of(doc, deref(doc, i, "").0)).unwrap_or_default();
        return Value::Array(raw.split(',').map(|s| crate::validate::params::coerce(s.trim(), &items)).collect());
    }
    crate::validate::params::coerce(raw.trim(), &types)
}
