//! One request's path through the engine, free of any HTTP server: route → validate →
//! (behaviour) → respond, with errors rendered once by `problem`. CORS wraps it for browser
//! front-ends. Everything here works on `http::Request<Bytes>` / `Response<Bytes>`.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::prefer;
use crate::problem::{ErrorReply, render};
use crate::respond::{self, MockRequest};
use crate::router::{RouteMatch, Router};
use crate::spec::{Operation, ParamIn, Spec, SpecSet};
use crate::validate::{self, Incoming, Mode, Policy};

/// The header that carries violations in warn mode.
pub const VIOLATIONS_HEADER: &str = "specstub-violations";

pub struct App {
    pub specs: SpecSet,
    router: Router,
    config: Config,
    seed: AtomicU64,
}

impl App {
    pub fn new(specs: SpecSet, config: Config) -> Self {
        let router = Router::new(&specs.operations);
        Self {
            specs,
            router,
            config,
            seed: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers one request whose body is already read.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut response = if self.config.cors && is_preflight(&req) {
            self.preflight(&req)
        } else {
            self.dispatch(&req)
        };
        if self.config.cors {
            if let Some(origin) = origin {
                add_cors(response.headers_mut(), origin);
            }
        }
        response
    }

    fn dispatch(&self, req: &Request<Bytes>) -> Response<Bytes> {
        let path = req.uri().path();
        let found = match self.router.find(req.method(), path) {
            Ok(m) => m,
            Err(e) => {
                if *req.method() == Method::OPTIONS {
                    if let Some(allow) = self.router.allowed(path) {
                        return allow_only(&allow);
                    }
                }
                return render(&ErrorReply::from_route(&e, req.method(), path), None);
            }
        };
        let op = &self.specs.operations[found.op];
        let spec = &self.specs.specs[op.spec];
        match self.answer(spec, op, &found, req) {
            Ok(r) => r,
            Err(e) => render(&e, Some((spec, op))),
        }
    }

    fn answer(
        &self,
        spec: &Spec,
        op: &Operation,
        found: &RouteMatch,
        req: &Request<Bytes>,
    ) -> Result<Response<Bytes>, ErrorReply> {
        let incoming = Incoming {
            path_params: &found.params,
            query: req.uri().query().unwrap_or(""),
            headers: req.headers(),
            body: req.body(),
        };
        let policy = Policy {
            mode: self.config.validation,
            tokens: &self.config.tokens,
        };
        let (checked, rejection) = validate::check(spec, op, &incoming, &policy);
        let mut warnings = None;
        if let Some(r) = rejection {
            match self.config.validation {
                Mode::Strict => return Err(ErrorReply::from_rejection(&r, spec, op)),
                _ => {
                    tracing::warn!(operation = %op.id, violations = %r, "request does not match the spec");
                    warnings = Some(r.to_string());
                }
            }
        }
        let prefer = prefer::parse(req.headers());
        let echo = echo_values(op, found, &checked.params);
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let mock = MockRequest {
            prefer: &prefer,
            accept,
            echo: &echo,
            seed: self.next_seed(),
        };
        let mut response = respond::mock(spec, op, &mock).map_err(|e| ErrorReply::from_mock(&e))?;
        if let Some(w) = warnings {
            let text: String = w.chars().filter(|c| !c.is_control()).take(2000).collect();
            if let Ok(v) = HeaderValue::from_str(&text) {
                response.headers_mut().insert(VIOLATIONS_HEADER, v);
            }
        }
        Ok(response)
    }

    fn next_seed(&self) -> u64 {
        // Distinct data for each dynamic answer, without a global RNG lock.
        self.seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
    }

    fn preflight(&self, req: &Request<Bytes>) -> Response<Bytes> {
        let Some(allow) = self.router.allowed(req.uri().path()) else {
            return render(
                &ErrorReply::new(
                    StatusCode::NOT_FOUND,
                    format!(
                        "no operation in the loaded specs serves {}",
                        req.uri().path()
                    ),
                ),
                None,
            );
        };
        let mut r = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Bytes::new())
            .unwrap_or_default();
        let h = r.headers_mut();
        let methods = allow
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(v) = HeaderValue::from_str(&methods) {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        let asked = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            asked.unwrap_or(HeaderValue::from_static("*")),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    }
}

/// Path parameters, typed where validation read them, echo into same-named response fields.
fn echo_values(
    op: &Operation,
    found: &RouteMatch,
    params: &Map<String, Value>,
) -> Map<String, Value> {
    let mut echo = Map::new();
    for (name, raw) in &found.params {
        let declared = op
            .parameters
            .iter()
            .any(|p| p.location == ParamIn::Path && p.name == *name);
        let value = params
            .get(name)
            .filter(|_| declared)
            .cloned()
            .unwrap_or_else(|| Value::String(raw.clone()));
        echo.insert(name.clone(), value);
    }
    echo
}

fn is_preflight(req: &Request<Bytes>) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn allow_only(allow: &[Method]) -> Response<Bytes> {
    let list = allow
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ALLOW, list)
        .body(Bytes::new())
        .unwrap_or_default()
}

fn add_cors(h: &mut HeaderMap, origin: HeaderValue) {
    // Echo the origin (not `*`) so credentialed browser requests work too.
    let exposed: Vec<String> = h
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| !is_safelisted(k))
        .collect();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if !exposed.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&exposed.join(", ")) {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
    }
}

fn is_safelisted(name: &str) -> bool {
    matches!(
        name,
        "cache-control"
            | "content-language"
            | "content-length"
            | "content-type"
            | "expires"
            | "last-modified"
            | "pragma"
    )
}
