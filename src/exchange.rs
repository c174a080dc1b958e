//! A request as the engine reads it: everything the stages need from the raw request, parsed
//! once at the door (request id, query pairs, `Prefer` and its query spelling, session, origin),
//! and what happened to it on the way, for the journal.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use serde_json::Value;

use crate::headers::{REQUEST_ID, session_of};
use crate::prefer::{self, Prefer};
use crate::traffic::Plan;
use crate::validate::{Violation, params};

/// The parsed parts of one request.
pub struct Exchange {
    pub request_id: String,
    /// The operation's query pairs: without the `__code`-style steering, which is in `prefer`.
    pub query: Vec<(String, String)>,
    /// The steering pairs taken out of the query; the journal keeps them, as they were sent.
    pub steering: Vec<(String, String)>,
    pub prefer: Prefer,
    /// The store namespace the caller asked for (`X-Specstub-Session`).
    pub session: Option<String>,
    pub origin: Option<HeaderValue>,
    pub peer: Option<SocketAddr>,
    pub started: Instant,
}

impl Exchange {
    pub fn read(req: &Request<Bytes>, peer: Option<SocketAddr>) -> Self {
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(String::from)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut query = req.uri().query().map(params::parse_query).unwrap_or_default();
        let mut prefer = prefer::parse(req.headers());
        let steering = prefer.take_query(&mut query);
        Self {
            request_id,
            query,
            steering,
            prefer,
            session: session_of(req.headers()),
            origin: req.headers().get(header::ORIGIN).cloned(),
            peer,
            started: Instant::now(),
        }
    }

    /// A client asking for a specific declared answer gets it from the spec, state or not.
    pub fn wants_mock(&self) -> bool {
        self.prefer.code.is_some() || self.prefer.example.is_some() || self.prefer.dynamic == Some(true)
    }
}

/// What one request went through, for the journal.
#[derive(Default)]
pub struct Trail {
    pub operation: Option<String>,
    /// The operation's index in the plan.
    pub op: Option<usize>,
    /// The document of the operation, by index.
    pub spec: Option<usize>,
    pub admin: bool,
    pub validation: &'static str,
    pub violations: Vec<Violation>,
    pub body: Option<Value>,
    pub plan: Plan,
    /// What the stateful store did, for the webhooks tied to it.
    pub event: Option<crate::hooks::Event>,
    /// The route's path parameters, for callback expressions.
    pub path_params: Vec<(String, String)>,
}
