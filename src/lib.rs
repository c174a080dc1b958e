//! specstub: a fast, stateful, OpenAPI-driven mock and contract-testing server.
//!
//! Start a mock of an OpenAPI document from a test, talk to it over HTTP, and let it stop when
//! the handle drops:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let server = specstub::Server::builder().spec("specs/sift-runs-v2.yaml").start().await?;
//! let url = format!("{}/api/v2/runs", server.url());
//! # let _ = url;
//! # Ok(()) }
//! ```

pub mod cli;
pub mod clock;
pub mod config;
mod embed;
pub mod generate;
pub mod negotiate;
pub mod pipeline;
pub mod prefer;
pub mod problem;
pub mod respond;
pub mod router;
pub mod run;
pub mod server;
pub mod spec;
pub mod validate;

pub use config::Config;
pub use embed::{Server, ServerBuilder, StartError, load};
pub use server::Running;
pub use validate::Mode;
mod admin;
pub mod behaviour;
pub mod fixtures;
pub mod journal;
pub mod store;
pub mod traffic;
