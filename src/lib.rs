//! specstub: a fast, stateful, OpenAPI-driven mock and contract-testing server.

pub mod spec;
pub mod router;
