//! The one place where errors become HTTP responses. An error is answered in the shape the
//! operation declares for that status (so a client sees the real API's error body), filled as the
//! document's `x-specstub.errors` says; where nothing is declared, as `application/problem+json`
//! (RFC 9457) with an `errors` array of `{in, pointer, message}`.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::behaviour::BehaviourError;
use crate::respond::{MockError, concrete_media_type};
use crate::router::RouteError;
use crate::spec::{ErrorField, Operation, Spec};
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
}

impl ErrorReply {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into(), violations: Vec::new(), headers: Vec::new(), grpc_code: None }
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
            MockError::UndeclaredCode { asked, declared } => ErrorReply::new(
                StatusCode::BAD_REQUEST,
                format!("Prefer: code={asked} is not declared by this operation; declared: {}", declared.join(", ")),
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
            | BehaviourError::BadInput { answer, .. } => (answer.status, answer.grpc_code),
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

/// Renders `e`, in the operation's declared error shape when it has one.
pub fn render(e: &ErrorReply, context: Option<(&Spec, &Operation)>) -> Response<Bytes> {
    let declared = context.and_then(|(spec, op)| declared_body(e, spec, op));
    let (content_type, body) = match declared {
        Some(found) => found,
        None => (PROBLEM_JSON.to_string(), problem_body(e)),
    };
    let mut builder = Response::builder().status(e.status).header(http::header::CONTENT_TYPE, content_type);
    for (name, value) in &e.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            builder = builder.header(name, v);
        }
    }
    builder.body(body).unwrap_or_default()
}

fn problem_body(e: &ErrorReply) -> Bytes {
    let mut body = json!({
        "type": "about:blank",
        "title": e.status.canonical_reason().unwrap_or("Error"),
        "status": e.status.as_u16(),
        "detail": e.detail,
    });
    if !e.violations.is_empty() {
        body["errors"] = serde_json::to_value(&e.violations).unwrap_or_default();
    }
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

fn declared_body(e: &ErrorReply, spec: &Spec, op: &Operation) -> Option<(String, Bytes)> {
    let response = op.response_for(e.status.as_u16())?;
    if response.code.starts_with('2') {
        return None;
    }
    let media = response.content.iter().find(|m| crate::negotiate::is_json(&m.media_type))?;
    // The same choice as a success body: an example that contradicts the schema is not the shape.
    let mut body = crate::respond::default_body(spec, media)?;
    if spec.errors.set.is_empty() {
        fill_by_name(&mut body, e);
    } else {
        for (pointer, field) in &spec.errors.set {
            set_pointer(&mut body, pointer, field_value(field, e));
        }
    }
    Some((concrete_media_type(&media.media_type), Bytes::from(serde_json::to_vec(&body).ok()?)))
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

/// Without instructions, the fields every error shape seems to have: a message and a code.
fn fill_by_name(body: &mut Value, e: &ErrorReply) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    for key in ["message", "detail", "error_description", "errorMessage"] {
        if obj.get(key).is_some_and(Value::is_string) {
            obj.insert(key.into(), json!(e.detail));
        }
    }
    for key in ["code", "status", "statusCode"] {
        if obj.get(key).is_some_and(Value::is_number) {
            obj.insert(key.into(), json!(e.status.as_u16()));
        }
    }
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
}
