//! Traffic control applied around the behaviour step: rate limits (429 with `Retry-After` and
//! RateLimit headers), latency and fault injection, and W3C trace context. It never holds a store
//! lock while it waits.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};

use crate::config::Config;
use crate::problem::ErrorReply;
use crate::spec::{Operation, Spec, SpecSet};

/// How the server must break the connection instead of answering normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFault {
    /// Close the connection without any response.
    Reset,
    /// Send the status line and headers, then close before the body.
    Empty,
    /// Send part of the body, then close.
    CutBody,
    /// Send the headers and part of the body, then stop sending (the client must time out).
    Stall,
}

/// What traffic control decided for one request, applied after the answer is built.
#[derive(Debug, Default)]
pub struct Plan {
    pub latency: Option<Duration>,
    pub connection_fault: Option<ConnectionFault>,
    /// Headers to add to the answer (RateLimit, traceparent...).
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// What was injected, for the log and the journal.
    pub injected: Vec<String>,
    /// Answer with this error instead of running the operation (429, an injected 503...).
    pub refusal: Option<ErrorReply>,
}

pub struct Traffic {}

impl Traffic {
    pub fn new(_config: &Config, _specs: &SpecSet) -> Self {
        Self {}
    }

    /// Decides the plan for a routed request; a plan with a refusal answers with that error.
    pub fn admit(&self, _spec: &Spec, _op: &Operation, _req: &Request<Bytes>, _peer: Option<SocketAddr>) -> Plan {
        Plan::default()
    }

    /// Adds the plan's headers and fault marker to the answer.
    pub fn finish(&self, plan: &Plan, response: &mut Response<Bytes>) {
        for (k, v) in &plan.headers {
            response.headers_mut().insert(k.clone(), v.clone());
        }
        if let Some(f) = plan.connection_fault {
            response.extensions_mut().insert(f);
        }
    }

    /// Empties every rate-limit bucket (the admin reset).
    pub fn reset(&self) {}
}
