//! specstub: a fast, stateful, OpenAPI-driven mock and contract-testing server.

pub mod spec;
pub mod router;
pub mod negotiate;
pub mod validate;
pub mod prefer;
pub mod respond;
pub mod problem;
pub mod clock;
pub mod config;
pub mod pipeline;
pub mod server;
pub mod cli;
pub mod run;
pub mod generate;
