//! The one place where errors become HTTP responses. An error is answered with a status the
//! operation declares where one fits, in the shape, media type (JSON, XML, text) and headers the
//! operation declares for that status (so a client sees the real API's error), filled as the
//! document's `x-specstub.errors` says; where nothing is declared, as `application/problem+json`
//! (RFC 9457) with an `errors` array of `{in, pointer, message}`.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::behaviour::BehaviourError;
use crate::respond::{MockError, concrete_media_type};
use crate::router::RouteError;
use crate::spec::{ErrorField, Media, Operation, Spec};
use crate::validate::{Rejection, Violation};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error on its way to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReply {
    pub status: StatusCode,
    pub detail: String,
    pub violations: Vec<Violation>,
    pub headers: Vec<(HeaderName, String)>,
    /// The gRPC status for APIs whose errors carry one, when it differs from the HTTP mapping.
    pub grpc_code: Option<i64>,
    /// The status is the point and is sent even where the operation does not declare it: a fault
    /// or a rate limit the user set up (a declared `default` still gives it its shape).
    pub kept: bool,
}

impl ErrorReply {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into(), violations: Vec::new(), headers: Vec::new(), grpc_code: None, kept: false }
    }

    /// Marks the status as one the user asked for, sent whether or not the operation declares it.
    pub fn kept(mut self) -> Self {
        self.kept = true;
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn from_route(e: &RouteError, method: &http::Method, path: &str) -> Self {
        match e {
            RouteError::NotFound => ErrorReply::new(StatusCode::NOT_FOUND, format!("no operation in the loaded specs serves {path}")),
            RouteError::MethodNotAllowed { allow } => {
                let list = allow.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
                ErrorReply::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not served on {path}; allowed: {list}"))
                    .with_header(http::header::ALLOW, list)
            }
        }
    }

    pub fn from_rejection(r: &Rejection, spec: &Spec, op: &Operation) -> Self {
        match r {
            Rejection::Unauthorized { challenges, message } => {
                let mut e = ErrorReply::new(StatusCode::UNAUTHORIZED, format!("authentication required: {message}"));
                for c in challenges {
                    e = e.with_header(http::header::WWW_AUTHENTICATE, c.clone());
                }
                e
            }
            Rejection::Forbidden { message } => ErrorReply::new(StatusCode::FORBIDDEN, message.clone()),
            Rejection::UnsupportedMediaType { message } => ErrorReply::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message.clone()),
            Rejection::NotAcceptable { available } => {
                ErrorReply::new(StatusCode::NOT_ACCEPTABLE, format!("this operation answers only with: {}", available.join(", ")))
            }
            Rejection::Malformed(v) => ErrorReply {
                violations: v.clone(),
                ..ErrorReply::new(StatusCode::BAD_REQUEST, format!("the request cannot be read: {}", r))
            },
            Rejection::Invalid(v) => ErrorReply {
                violations: v.clone(),
                ..ErrorReply::new(validation_status(spec, op), format!("the request does not match the spec: {}", r))
            },
        }
    }
}

impl From<&MockError> for ErrorReply {
    fn from(e: &MockError) -> Self {
        match e {
            MockError::UndeclaredCode { asked, declared } => {
                let final_status = asked.parse::<u16>().is_ok_and(|c| (200..=599).contains(&c));
                let why =
                    if final_status { "is not declared by this operation" } else { "is not a status a response can have (200 to 599)" };
                ErrorReply::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Prefer: code={asked} {why}; declared: {} (a range such as 4XX or default stands for the codes it covers)",
                        declared.join(", ")
                    ),
                )
            }
            // The document cannot be served as written: a server error, in a declared 5xx's shape
            // when the operation has one.
            MockError::Unsatisfiable { pointer, why } => ErrorReply::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "cannot answer: no value satisfies the response schema at {}: {why}",
                    if pointer.is_empty() { "/" } else { pointer }
                ),
            ),
            MockError::UnknownExample { asked, declared } => {
                let list = if declared.is_empty() { "none".to_string() } else { declared.join(", ") };
                ErrorReply::new(
                    StatusCode::BAD_REQUEST,
                    format!("Prefer: example={asked} is not a named example of this response; named examples: {list}"),
                )
            }
            MockError::NotAcceptable { available } => {
                ErrorReply::new(StatusCode::NOT_ACCEPTABLE, format!("this operation answers only with: {}", available.join(", ")))
            }
        }
    }
}

impl From<BehaviourError> for ErrorReply {
    fn from(e: BehaviourError) -> Self {
        let detail = e.to_string();
        let (status, grpc_code) = match &e {
            BehaviourError::NotFound(_) => (404, Some(5)),
            BehaviourError::PreconditionFailed { .. } => (412, Some(9)),
            BehaviourError::PreconditionRequired => (428, None),
            BehaviourError::Conflict { answer, .. }
            | BehaviourError::IllegalTransition { answer, .. }
            | BehaviourError::BadInput { answer, .. }
            | BehaviourError::StoreFull { answer, .. } => (answer.status, answer.grpc_code),
            BehaviourError::StoreUnavailable(_) => (503, None),
            BehaviourError::Internal(_) => (500, None),
        };
        let mut reply = ErrorReply::new(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), detail);
        reply.grpc_code = grpc_code;
        match e {
            BehaviourError::PreconditionFailed { current, .. } => reply.with_header(http::header::ETAG, crate::behaviour::etag(current)),
            BehaviourError::StoreUnavailable(_) => reply.with_header(http::header::RETRY_AFTER, "1"),
            _ => reply,
        }
    }
}

/// Schema violations answer with the document's preferred status, else a declared 422 or 400.
fn validation_status(spec: &Spec, op: &Operation) -> StatusCode {
    let declared = |s: &str| op.responses.iter().any(|r| r.code == s);
    let code = spec.errors.validation_status.unwrap_or(if declared("422") {
        422
    } else if declared("400") {
        400
    } else {
        422
    });
    StatusCode::from_u16(code).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

/// Statuses that say nearly the same as the one wanted, best first: what an operation that does
/// not declare the wanted status answers instead.
fn kin(status: u16) -> &'static [u16] {
    match status {
        400 => &[422, 415],
        422 => &[400, 409, 415],
        406 | 413 | 414 | 415 | 431 => &[400, 422],
        401 => &[403, 400],
        403 => &[401, 404, 400],
        404 => &[410, 400, 422],
        405 => &[400, 404],
        409 => &[412, 422, 400],
        412 => &[409, 428, 400, 422],
        428 => &[412, 400, 422],
        429 => &[503],
        500 => &[503, 502],
        501 => &[500, 400],
        503 => &[500, 502, 504],
        _ => &[],
    }
}

/// The status an error answers with on this operation, so that it is one the operation declares:
/// the wanted one when declared (exactly or by a range) or when `default` covers it, else its
/// closest kin that is declared, else the declared status of the same class (4xx, 5xx) nearest
/// to it. An operation that declares no status of that class keeps the wanted one (its only
/// honest answer; `--self-check` then names the undeclared status), and so does a status the user
/// set up on purpose (a fault, a rate limit) or the mock's own failure.
pub fn fitting_status(op: &Operation, wanted: StatusCode) -> StatusCode {
    let code = wanted.as_u16();
    let declared = |c: u16| op.responses.iter().any(|r| r.matches(c));
    // `default` covers any status: the precise one stays, in the default response's shape.
    if declared(code) || op.responses.iter().any(|r| r.code == "default") {
        return wanted;
    }
    if let Some(c) = kin(code).iter().find(|c| declared(**c)) {
        return StatusCode::from_u16(*c).unwrap_or(wanted);
    }
    let class = code / 100;
    let nearest = op
        .responses
        .iter()
        .filter_map(|r| r.code.parse::<u16>().ok())
        .filter(|c| c / 100 == class)
        // "No such resource" would send a client looking for the wrong mistake.
        .filter(|c| !matches!(c, 404 | 405 | 410) || kin(code).contains(c))
        .min_by_key(|c| (c.abs_diff(code), *c));
    nearest.and_then(|c| StatusCode::from_u16(c).ok()).unwrap_or(wanted)
}

/// The declared response an error with this status takes: its own, its range's or `default`
/// (never a success's).
fn error_response(op: &Operation, status: StatusCode) -> Option<&crate::spec::Response> {
    op.response_for(status.as_u16()).filter(|r| !r.code.starts_with('2'))
}

/// Renders `e` as the operation declares the status it answers with ([`fitting_status`]): in the
/// declared response's media type and shape (JSON, XML, text, no body when it declares no
/// content) with its declared headers; `application/problem+json` where nothing is declared.
pub fn render(e: &ErrorReply, context: Option<(&Spec, &Operation)>) -> Response<Bytes> {
    let refit;
    let e = match context {
        Some((_, op)) if !e.kept => {
            let status = fitting_status(op, e.status);
            if status == e.status {
                e
            } else {
                refit = ErrorReply { status, grpc_code: None, ..e.clone() };
                &refit
            }
        }
        _ => e,
    };
    let declared = context.and_then(|(spec, op)| Some((spec, error_response(op, e.status)?)));
    let (content_type, body) = match declared.map(|(spec, response)| declared_body(e, spec, response)) {
        Some(Declared::Body(content_type, body)) => (Some(content_type), body),
        Some(Declared::Empty) => (None, Bytes::new()),
        None => (Some(PROBLEM_JSON.to_string()), problem_body(e)),
    };
    let mut builder = Response::builder().status(e.status);
    if let Some(content_type) = content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    for (name, value) in &e.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            builder = builder.header(name, v);
        }
    }
    // The response's declared headers (a required `x-request-id`, a rate limit's counters), but
    // for those the error sets itself (`Allow`, `WWW-Authenticate`, `Retry-After`, `ETag`).
    if let Some((spec, response)) = declared {
        for (name, value) in crate::respond::headers(spec, response) {
            if !e.headers.iter().any(|(ours, _)| *ours == name) {
                builder = builder.header(name, value);
            }
        }
    }
    builder.body(body).unwrap_or_default()
}

fn problem_body(e: &ErrorReply) -> Bytes {
    Bytes::from(serde_json::to_vec(&problem_value(e)).unwrap_or_default())
}

fn problem_value(e: &ErrorReply) -> Value {
    let mut body = json!({
        "type": "about:blank",
        "title": e.status.canonical_reason().unwrap_or("Error"),
        "status": e.status.as_u16(),
        "detail": e.detail,
    });
    if !e.violations.is_empty() {
        body["errors"] = serde_json::to_value(&e.violations).unwrap_or_default();
    }
    body
}

/// What the operation declares for an error's status.
enum Declared {
    Body(String, Bytes),
    /// The response declares no content: it gets none.
    Empty,
}

fn declared_body(e: &ErrorReply, spec: &Spec, response: &crate::spec::Response) -> Declared {
    let listed = || response.content.iter();
    let text = |m: &&Media| crate::negotiate::essence(&m.media_type).starts_with("text/");
    // JSON where the response offers it, else XML, else text, else what it lists first.
    let Some(media) = listed()
        .find(|m| crate::negotiate::is_json(&m.media_type))
        .or_else(|| listed().find(|m| crate::xml::is_xml(&m.media_type)))
        .or_else(|| listed().find(text))
        .or_else(|| listed().next())
    else {
        return Declared::Empty;
    };
    let content_type = concrete_media_type(&media.media_type);
    let schema = crate::respond::schema_of(spec, media);
    let body = match error_value(e, spec, media) {
        // A string is no XML document yet (`encode` takes it for one): it becomes the root
        // element's text.
        Some(value @ Value::String(_)) if crate::xml::is_xml(&content_type) => Bytes::from(xml_element(&value, schema)),
        Some(value) => crate::respond::encode(&value, &content_type, schema),
        // Neither schema nor example: any body is the shape; the problem document's fields in the
        // declared syntax, or the explanation as text.
        None if crate::negotiate::is_json(&content_type) => problem_body(e),
        None if crate::xml::is_xml(&content_type) => Bytes::from(crate::xml::to_xml(&problem_value(e), None, &|s| s)),
        None => Bytes::from(e.detail.clone()),
    };
    Declared::Body(content_type, body)
}

/// `value` as an XML document of `schema` (the media's schema and the document it resolves in).
fn xml_element<'a>(value: &Value, schema: Option<(&'a Value, &'a Value)>) -> Vec<u8> {
    match schema {
        Some((node, doc)) => {
            let resolve = move |v: &'a Value| -> &'a Value { crate::spec::source::deref(doc, v, "").0 };
            crate::xml::to_xml(value, Some(node), &resolve)
        }
        None => crate::xml::to_xml(value, None, &|s| s),
    }
}

/// The error's body in `media`'s shape, as data (None when it declares neither schema nor
/// example).
fn error_value(e: &ErrorReply, spec: &Spec, media: &Media) -> Option<Value> {
    // The same choice as a success body: an example that contradicts the schema is not the shape.
    let full = crate::respond::default_body(spec, media)?;
    let validator = media.schema.as_ref().and_then(|s| s.validator(&spec.schemas).ok());
    // A generated body keeps what the schema requires and the fields that explain the error, not
    // placeholders in every optional one (Stripe's error would carry a whole payment intent).
    let mut body = match crate::respond::required_body(spec, media) {
        Some(mut lean) => {
            graft(&mut lean, &full, e, 0);
            if validator.as_ref().is_none_or(|v| v.is_valid(&lean)) { lean } else { full }
        }
        None => full,
    };
    // Every change must leave the body valid (enums, consts, lengths): a body the schema already
    // rejects (a best-effort value) cannot get worse.
    let validator = validator.filter(|v| v.is_valid(&body));
    let keeps = |b: &Value| validator.as_ref().is_none_or(|v| v.is_valid(b));
    // A body that is a bare string (a text answer, a JSON string) is the explanation itself.
    if body.is_string() && keeps(&json!(e.detail)) {
        body = json!(e.detail);
    }
    fill_by_name(&mut body, e, &keeps);
    // The document's own instructions come last, so they win where they apply.
    for (pointer, field) in &spec.errors.set {
        let before = body.clone();
        set_pointer(&mut body, pointer, field_value(field, e));
        if !keeps(&body) {
            body = before;
        }
    }
    Some(body)
}

fn field_value(field: &ErrorField, e: &ErrorReply) -> Value {
    match field {
        ErrorField::Status => json!(e.status.as_u16()),
        ErrorField::GrpcCode => json!(e.grpc_code.unwrap_or_else(|| grpc_code(e.status))),
        ErrorField::Message => json!(e.detail),
        ErrorField::Uuid => json!(uuid::Uuid::new_v4().to_string()),
        ErrorField::Reason => json!(reason(e.status)),
        ErrorField::Violations => serde_json::to_value(&e.violations).unwrap_or_default(),
        ErrorField::EmptyArray => json!([]),
        ErrorField::Now => json!(crate::clock::now_rfc3339()),
        ErrorField::Literal(v) => v.clone(),
    }
}

/// Fields that carry an error's explanation, by the names APIs give them.
const MESSAGE_FIELDS: [&str; 10] =
    ["message", "detail", "details", "error_description", "errorMessage", "error_message", "msg", "description", "title", "error"];
/// Fields that carry a status or code.
const CODE_FIELDS: [&str; 6] = ["code", "status", "statusCode", "status_code", "httpStatus", "http_status"];

/// Without instructions, the fields every error shape seems to have, found by name and type at
/// any depth (Stripe's `{error: {message, type, code}}`): the real explanation in the message-like
/// strings (so an example's sentence, such as a stale "retry in 30 seconds", is never sent beside
/// headers that say otherwise), the status or a reason in the code-like ones. A value the schema
/// would refuse (an enum, a length) is not put; the next candidate is tried, else the field keeps
/// what it had.
fn fill_by_name(body: &mut Value, e: &ErrorReply, keeps: &dyn Fn(&Value) -> bool) {
    let mut slots = Vec::new();
    find_slots(body, String::new(), 0, &mut slots);
    for (pointer, candidates) in slots.into_iter().map(|(p, kind)| (p, candidates(kind, e))) {
        let Some(old) = body.pointer(&pointer).cloned() else { continue };
        for c in candidates {
            if let Some(slot) = body.pointer_mut(&pointer) {
                *slot = c;
            }
            if keeps(body) {
                break;
            }
            if let Some(slot) = body.pointer_mut(&pointer) {
                *slot = old.clone();
            }
        }
    }
}

/// Copies into `lean` (a body with only the required fields) the scalar fields of `full` that
/// explain an error: its message, code and type, and the parameter at fault when a violation
/// names one.
fn graft(lean: &mut Value, full: &Value, e: &ErrorReply, depth: usize) {
    let (Some(lean), Some(full)) = (lean.as_object_mut(), full.as_object()) else { return };
    if depth > 4 {
        return;
    }
    for (k, v) in full {
        match lean.get_mut(k) {
            Some(have) => graft(have, v, e, depth + 1),
            None => {
                let explains = MESSAGE_FIELDS.contains(&k.as_str())
                    || CODE_FIELDS.contains(&k.as_str())
                    || (k == "type" && depth > 0)
                    || (k == "param" && !e.violations.is_empty());
                if explains && !v.is_object() && !v.is_array() {
                    lean.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Message,
    /// A `title` beside another message field: the short name of the status.
    Title,
    HttpCode,
    GrpcCode,
    TextCode,
    TextStatus,
    /// A nested error's `type` (Stripe's `invalid_request_error`): its class by the status.
    Kind,
    /// The parameter at fault (Stripe's `param`), from the first violation.
    Param,
}

fn find_slots(v: &Value, at: String, depth: usize, out: &mut Vec<(String, Slot)>) {
    if depth > 4 {
        return;
    }
    match v {
        Value::Object(obj) => {
            let messages = MESSAGE_FIELDS.iter().filter(|k| obj.get(**k).is_some_and(Value::is_string)).count();
            // gRPC's Status: `{code, message, details: [...]}`, whose code is gRPC's, not HTTP's.
            let grpc = obj.get("details").is_some_and(Value::is_array) && obj.contains_key("message");
            for (k, field) in obj {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                let slot = match field {
                    Value::String(_) if k == "title" && messages > 1 => Some(Slot::Title),
                    Value::String(_) if MESSAGE_FIELDS.contains(&k.as_str()) => Some(Slot::Message),
                    Value::Number(_) if k == "code" && grpc => Some(Slot::GrpcCode),
                    Value::Number(_) if CODE_FIELDS.contains(&k.as_str()) => Some(Slot::HttpCode),
                    Value::String(_) if k == "code" => Some(Slot::TextCode),
                    Value::String(_) if k == "type" && depth > 0 && messages > 0 => Some(Slot::Kind),
                    Value::String(_) if k == "param" && messages > 0 => Some(Slot::Param),
                    Value::String(_) if CODE_FIELDS.contains(&k.as_str()) => Some(Slot::TextStatus),
                    _ => None,
                };
                match slot {
                    Some(s) => out.push((here, s)),
                    None => find_slots(field, here, depth + 1, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_slots(item, format!("{at}/{i}"), depth + 1, out);
            }
        }
        _ => {}
    }
}

/// What a slot may take, best first.
fn candidates(slot: Slot, e: &ErrorReply) -> Vec<Value> {
    let phrase = e.status.canonical_reason().unwrap_or("Error");
    match slot {
        Slot::Message => vec![json!(e.detail), json!(phrase), json!(reason(e.status))],
        Slot::Title => vec![json!(phrase), json!(e.detail)],
        Slot::HttpCode => vec![json!(e.status.as_u16())],
        Slot::GrpcCode => vec![json!(e.grpc_code.unwrap_or_else(|| grpc_code(e.status)))],
        Slot::TextCode => vec![json!(reason(e.status)), json!(e.status.as_u16().to_string())],
        Slot::TextStatus => vec![json!(e.status.as_u16().to_string()), json!(reason(e.status).to_ascii_uppercase())],
        Slot::Kind => {
            let kinds: &[&str] = match e.status.as_u16() {
                401 | 403 => &["authentication_error", "invalid_request_error"],
                402 => &["card_error", "invalid_request_error"],
                429 => &["rate_limit_error", "invalid_request_error"],
                400..=499 => &["invalid_request_error", "invalid_request"],
                _ => &["api_error", "server_error", "internal_error"],
            };
            kinds.iter().map(|k| json!(k)).collect()
        }
        Slot::Param => e.violations.first().map(|v| vec![json!(param_name(&v.pointer))]).unwrap_or_default(),
    }
}

/// A violation's JSON pointer as a form parameter's name: `/metadata/order` → `metadata[order]`.
fn param_name(pointer: &str) -> String {
    let mut tokens = pointer.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~"));
    let first = tokens.next().unwrap_or_default();
    tokens.fold(first, |name, t| format!("{name}[{t}]"))
}

/// Sets `pointer` in `body`, creating objects on the way.
fn set_pointer(body: &mut Value, pointer: &str, value: Value) {
    let tokens: Vec<String> = pointer.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
    let mut cur = body;
    for (i, t) in tokens.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == tokens.len() {
            obj.insert(t.clone(), value);
            return;
        }
        cur = obj.entry(t.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The gRPC status code gRPC-gateway maps to this HTTP status.
pub fn grpc_code(status: StatusCode) -> i64 {
    match status.as_u16() {
        400 | 422 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        412 | 428 => 9,
        429 => 8,
        499 => 1,
        501 | 405 => 12,
        503 => 14,
        504 => 4,
        _ => 13,
    }
}

/// A snake_case name for the status, as APIs name their error kinds.
pub fn reason(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("error").to_ascii_lowercase().replace(['-', ' '], "_").replace('\'', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_pointer_creates_the_path() {
        let mut v = json!({"a": 1});
        set_pointer(&mut v, "/b/c", json!("x"));
        set_pointer(&mut v, "/a", json!(2));
        assert_eq!(v, json!({"a": 2, "b": {"c": "x"}}));
    }

    #[test]
    fn reasons_and_grpc_codes() {
        assert_eq!(reason(StatusCode::PRECONDITION_FAILED), "precondition_failed");
        assert_eq!(reason(StatusCode::IM_A_TEAPOT), "im_a_teapot");
        assert_eq!(grpc_code(StatusCode::NOT_FOUND), 5);
        assert_eq!(grpc_code(StatusCode::BAD_REQUEST), 3);
    }

    #[test]
    fn problem_json_lists_violations() {
        let mut e = ErrorReply::new(StatusCode::UNPROCESSABLE_ENTITY, "bad");
        e.violations.push(Violation { location: crate::validate::Location::Query, pointer: "/limit".into(), message: "m".into() });
        let r = render(&e, None);
        assert_eq!(r.headers()[http::header::CONTENT_TYPE], PROBLEM_JSON);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0], json!({"in": "query", "pointer": "/limit", "message": "m"}));
    }

    fn reply(status: u16, detail: &str) -> ErrorReply {
        ErrorReply::new(StatusCode::from_u16(status).unwrap(), detail)
    }

    fn filled(mut body: Value, e: &ErrorReply, schema: Value) -> Value {
        let v = jsonschema::validator_for(&schema).unwrap();
        assert!(v.is_valid(&body));
        fill_by_name(&mut body, e, &|b: &Value| v.is_valid(b));
        assert!(v.is_valid(&body), "{body}");
        body
    }

    #[test]
    fn grpc_status_takes_the_grpc_code_and_the_message() {
        let schema = json!({"type": "object", "properties": {"code": {"type": "integer", "format": "int32"}, "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object"}}}});
        let body = filled(json!({"code": 0, "message": "string", "details": []}), &reply(404, "run 7 does not exist"), schema);
        assert_eq!(body, json!({"code": 5, "message": "run 7 does not exist", "details": []}));
    }

    #[test]
    fn cint_like_errors_take_the_explanation_in_detail() {
        let schema = json!({"type": "object", "required": ["object", "detail"], "properties": {"id": {"type": "string", "format": "uuid"},
            "object": {"type": "string", "pattern": "^([a-z]*_)*([a-z]*)$"}, "detail": {"type": "string"}}});
        let body = json!({"id": "3b241101-e2bb-4255-8caf-4136c566a962", "object": "string", "detail": "string"});
        let body = filled(body, &reply(409, "the run is already started"), schema);
        assert_eq!(body["detail"], json!("the run is already started"));
        assert_eq!(body["object"], json!("string"), "not a message field");
    }

    #[test]
    fn stripe_nested_errors_keep_their_type_enum() {
        let schema = json!({"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["type"], "properties": {
            "message": {"type": "string", "maxLength": 5000}, "type": {"type": "string", "enum": ["api_error", "card_error", "invalid_request_error"]},
            "code": {"type": "string", "maxLength": 5000}, "param": {"type": "string"}, "status": {"type": "integer", "enum": [402, 404]}}}}});
        let body = json!({"error": {"message": "string", "type": "api_error", "code": "string", "param": "string", "status": 402}});
        let body = filled(body, &reply(404, "No such customer: 'cus_1'"), schema);
        assert_eq!(body["error"]["message"], json!("No such customer: 'cus_1'"));
        assert_eq!(body["error"]["code"], json!("not_found"));
        // The class the status makes, since the enum has it.
        assert_eq!(body["error"]["type"], json!("invalid_request_error"));
        assert_eq!(body["error"]["status"], json!(404));
        // A value the schema refuses is not put.
        let body = filled(
            json!({"error": {"type": "api_error", "status": 402}}),
            &reply(500, "boom"),
            json!({"properties": {"error": {"properties": {"status": {"enum": [402]}}}}}),
        );
        assert_eq!(body["error"]["status"], json!(402));
    }

    #[test]
    fn a_stale_example_sentence_gives_way_to_the_real_wait() {
        let schema = json!({"type": "object", "required": ["object", "details"], "properties": {
            "object": {"type": "string", "enum": ["too_many_requests_problem_details"]}, "details": {"type": "string"}}});
        let example = json!({"object": "too_many_requests_problem_details", "details": "rate limit exceeded, retry in 30 seconds"});
        let e = reply(429, "too many requests; retry after 1 second(s)").with_header(http::header::RETRY_AFTER, "1");
        let body = filled(example, &e, schema);
        assert_eq!(body["details"], json!("too many requests; retry after 1 second(s)"));
        assert!(!body.to_string().contains("30 seconds"));
    }

    /// One operation declaring `codes`, none with content.
    fn declaring(codes: &[&str]) -> crate::spec::SpecSet {
        let responses: Map<String, Value> = codes.iter().map(|c| (c.to_string(), json!({"description": "x"}))).collect();
        let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"get": {"operationId": "x", "responses": responses}}}});
        let scratch = crate::fuzz::Scratch::new();
        let (set, problems) = crate::spec::load(&[scratch.file("api.json", doc.to_string())], &Default::default());
        set.unwrap_or_else(|| panic!("{problems:?}"))
    }

    fn op_declaring(codes: &[&str]) -> Operation {
        declaring(codes).operations.remove(0)
    }

    #[test]
    fn undeclared_statuses_give_way_to_declared_ones() {
        let fit = |codes: &[&str], wanted: u16| fitting_status(&op_declaring(codes), StatusCode::from_u16(wanted).unwrap()).as_u16();
        assert_eq!(fit(&["200", "422"], 422), 422, "declared: kept");
        assert_eq!(fit(&["200", "4XX"], 422), 422, "a range covers it");
        assert_eq!(fit(&["200", "400"], 422), 400, "a validation error takes the declared 400");
        assert_eq!(fit(&["200", "422"], 400), 422);
        assert_eq!(fit(&["200", "400", "default"], 415), 415, "default covers the precise status");
        assert_eq!(fit(&["200", "default"], 404), 404, "default covers any status");
        assert_eq!(fit(&["200", "403"], 400), 403, "the nearest declared 4xx");
        assert_eq!(fit(&["200", "403", "415"], 400), 415, "kin before nearness");
        assert_eq!(fit(&["204", "403", "422"], 400), 422);
        assert_eq!(fit(&["200", "409"], 412), 409);
        assert_eq!(fit(&["200", "404"], 422), 422, "never a 404 for a mistake of another kind");
        assert_eq!(fit(&["200"], 422), 422, "no error status at all: the wanted one stays");
        assert_eq!(fit(&["200", "404"], 503), 503, "no 5xx declared: the mock's own failure stays");
        assert_eq!(fit(&["200", "500"], 503), 500);
    }

    #[test]
    fn rendering_sends_a_declared_status_and_no_body_where_none_is_declared() {
        let set = declaring(&["200", "403"]);
        let (spec, op) = (&set.specs[0], &set.operations[0]);
        let r = render(&reply(400, "bad"), Some((spec, op)));
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.body().is_empty(), "403 declares no content");
        assert!(r.headers().get(http::header::CONTENT_TYPE).is_none());
        let kept = render(&reply(429, "slow down").kept(), Some((spec, op)));
        assert_eq!(kept.status(), StatusCode::TOO_MANY_REQUESTS, "a limit the user set keeps its status");
        assert_eq!(kept.headers()[http::header::CONTENT_TYPE], PROBLEM_JSON);
    }

    /// One operation with `responses` as written.
    fn responding(responses: Value) -> crate::spec::SpecSet {
        let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"get": {"operationId": "x", "responses": responses}}}});
        let scratch = crate::fuzz::Scratch::new();
        let (set, problems) = crate::spec::load(&[scratch.file("api.json", doc.to_string())], &Default::default());
        set.unwrap_or_else(|| panic!("{problems:?}"))
    }

    #[test]
    fn an_error_takes_the_declared_media_type_text_xml_or_other() {
        let set = responding(json!({"200": {"description": "ok"},
            "400": {"description": "text", "content": {"text/plain": {"schema": {"type": "string"}}}},
            "409": {"description": "xml", "content": {"application/xml": {"schema": {"type": "object", "xml": {"name": "Error"},
                "properties": {"message": {"type": "string"}, "code": {"type": "integer"}}}}}},
            "404": {"description": "xml, any", "content": {"text/xml": {"schema": {}}}},
            "415": {"description": "binary, no schema", "content": {"application/octet-stream": {}}}}));
        let (spec, op) = (&set.specs[0], &set.operations[0]);
        let text = render(&reply(422, "name is missing"), Some((spec, op)));
        assert_eq!((text.status().as_u16(), &text.headers()[http::header::CONTENT_TYPE]), (400, &HeaderValue::from_static("text/plain")));
        assert_eq!(text.body(), "name is missing");
        let xml = render(&reply(409, "taken"), Some((spec, op)));
        assert_eq!(xml.headers()[http::header::CONTENT_TYPE], "application/xml");
        let xml = String::from_utf8(xml.body().to_vec()).unwrap();
        assert!(xml.contains("<Error>") && xml.contains("<message>taken</message>") && xml.contains("<code>409</code>"), "{xml}");
        let any = render(&reply(404, "no such queue"), Some((spec, op)));
        let any = String::from_utf8(any.body().to_vec()).unwrap();
        assert!(any.contains(">no such queue</"), "a string in XML is an element's text: {any}");
        let other = render(&reply(415, "send JSON"), Some((spec, op)));
        assert_eq!(
            (other.headers()[http::header::CONTENT_TYPE].to_str().unwrap(), &other.body()[..]),
            ("application/octet-stream", &b"send JSON"[..])
        );
    }

    #[test]
    fn an_error_carries_the_declared_headers_but_its_own_win() {
        let header = |example: &str| json!({"required": true, "schema": {"type": "string"}, "example": example});
        let set = responding(json!({"200": {"description": "ok"},
            "default": {"description": "any", "headers": {"X-Request-Id": header("r-1"), "Retry-After": header("60")}}}));
        let (spec, op) = (&set.specs[0], &set.operations[0]);
        let r = render(&reply(503, "down").with_header(http::header::RETRY_AFTER, "1"), Some((spec, op)));
        assert_eq!(r.headers()["x-request-id"], "r-1");
        assert_eq!(r.headers().get_all(http::header::RETRY_AFTER).iter().collect::<Vec<_>>(), ["1"]);
        assert!(r.body().is_empty() && r.headers().get(http::header::CONTENT_TYPE).is_none(), "default declares no content");
    }

    #[test]
    fn an_unsatisfiable_answer_is_a_server_error_fitted_to_the_declared_ones() {
        let set = responding(json!({"200": {"description": "ok"},
            "502": {"description": "json", "content": {"application/json": {"schema": {"type": "object", "properties": {"message": {"type": "string"}}}}}}}));
        let (spec, op) = (&set.specs[0], &set.operations[0]);
        let e = ErrorReply::from(&MockError::Unsatisfiable { pointer: "/components/schemas/Age".into(), why: "no integer".into() });
        let r = render(&e, Some((spec, op)));
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert!(body["message"].as_str().unwrap().contains("/components/schemas/Age"), "{body}");
    }

    #[test]
    fn unsatisfiable_schemas_answer_500_problem_json_naming_the_pointer() {
        let e = ErrorReply::from(&MockError::Unsatisfiable { pointer: "/components/schemas/Age/minimum".into(), why: "no integer".into() });
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        let r = render(&e, None);
        assert_eq!(r.headers()[http::header::CONTENT_TYPE], PROBLEM_JSON);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert!(body["detail"].as_str().unwrap().contains("/components/schemas/Age/minimum"), "{body}");
    }
}
