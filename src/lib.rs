//! specstub: a fast, stateful, OpenAPI-driven mock and contract-testing server.
//!
//! Start a mock of an OpenAPI document from a test, talk to it over HTTP, and let it stop when
//! the handle drops. It behaves as `specstub serve` does (the CLI is a thin shell over
//! [`Server::builder`]): requests are validated, answers come from the spec and the store.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = specstub::Server::builder()
//!     .spec("specs/sift-runs-v2.yaml") // relative to the working directory
//!     .start()
//!     .await?; // 127.0.0.1, a free port
//! let runs = format!("{}/api/v2/runs", server.url());
//! let client = reqwest::Client::new();
//!
//! let listed = client.get(&runs).bearer_auth("dev-token").send().await?;
//! assert_eq!(listed.status(), 200);
//!
//! // The spec asks for a bearer token: without one the mock answers 401, as the real API would.
//! let anonymous = client.get(&runs).send().await?;
//! assert_eq!(anonymous.status(), 401);
//!
//! drop(server); // stops it; so does leaving the scope
//! # Ok(()) }
//! ```
//!
//! The same crate verifies a real provider against the documents ([`verify`]) and runs a
//! validating proxy in front of one ([`ServerBuilder::proxy`]).

pub mod cli;
pub mod clock;
pub mod config;
mod embed;
pub mod generate;
pub mod negotiate;
pub mod pipeline;
pub mod prefer;
pub mod problem;
pub mod proxy;
pub mod respond;
pub mod router;
pub mod run;
pub mod server;
pub mod spec;
pub mod validate;
pub mod verify;

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
