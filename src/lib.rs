//! specstub: a fast, stateful, OpenAPI-driven mock and contract-testing server.
//!
//! Start a mock of an OpenAPI document from a test, talk to it over HTTP, check what it received,
//! and let it stop when the handle drops. It behaves as `specstub serve` does (the CLI is a thin
//! shell over [`Server::builder`]): requests are validated, answers come from the spec's examples,
//! data generated from its schemas, or a stateful store, so a POST is seen by the next GET.
//!
//! # Start a server and make a request
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/sift-runs-v2.yaml");
//! let server = specstub::Server::builder(spec).start().await?; // 127.0.0.1, a free port
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
//! # A stateful scenario, checked from Rust
//!
//! A document given as text; `POST /pets` next to `GET /pets/{id}` is CRUD without any
//! configuration. [`Server::verify`] checks what arrived, with the same rules as the admin API.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use specstub::{Expectation, Server};
//! let server = Server::builder_str(r##"
//! openapi: 3.1.0
//! info: {title: pets, version: "1"}
//! paths:
//!   /pets:
//!     post:
//!       requestBody:
//!         content:
//!           application/json:
//!             schema: {type: object, required: [name], properties: {name: {type: string}}}
//!       responses:
//!         "201":
//!           description: created
//!           content:
//!             application/json:
//!               schema: {$ref: "#/components/schemas/Pet"}
//!   /pets/{id}:
//!     get:
//!       parameters: [{name: id, in: path, required: true, schema: {type: string}}]
//!       responses:
//!         "200":
//!           description: the pet
//!           content:
//!             application/json:
//!               schema: {$ref: "#/components/schemas/Pet"}
//!         "404": {description: no such pet}
//! components:
//!   schemas:
//!     Pet:
//!       type: object
//!       required: [id, name]
//!       properties: {id: {type: string, readOnly: true}, name: {type: string}}
//! "##).start().await?;
//! let client = reqwest::Client::new();
//! let created: serde_json::Value =
//!     client.post(format!("{}/pets", server.url())).json(&serde_json::json!({"name": "Rex"})).send().await?.json().await?;
//! let id = created["id"].as_str().unwrap();
//! let read = client.get(format!("{}/pets/{id}", server.url())).send().await?;
//! assert_eq!(read.status(), 200);
//!
//! let outcome = server.verify(&Expectation::new().method("POST").path("/pets").body("/name", "Rex").times(1));
//! assert!(outcome.ok);
//! server.reset()?; // back to the fixtures (none here): the pet is gone, and the declared 404 says so
//! assert_eq!(client.get(format!("{}/pets/{id}", server.url())).send().await?.status(), 404);
//! # Ok(()) }
//! ```
//!
//! # Verify a provider against the documents
//!
//! [`verify_provider`] calls every operation of the documents on a running provider and checks
//! each answer against the contract (here: a specstub server, which must pass its own document).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/sift-jobs-v1.yaml");
//! let provider = specstub::Server::builder(spec).stateless(true).start().await?;
//! let config = specstub::Config { specs: vec![spec.into()], ..Default::default() };
//! let mut options = specstub::VerifyOptions::new(provider.url());
//! options.token = Some("dev-token".into());
//! let report = specstub::verify_provider(&config, &options).await?;
//! assert!(report.ok, "{}", report.to_text());
//! # Ok(()) }
//! ```

mod admin;
mod behaviour;
mod client;
mod clock;
mod config;
mod embed;
mod engine;
mod exchange;
mod fixtures;
#[cfg(test)]
mod fuzz;
mod generate;
mod headers;
mod hooks;
mod journal;
mod negotiate;
mod plan;
mod prefer;
mod problem;
mod proxy;
mod query;
mod record;
mod respond;
mod router;
mod runtime;
mod server;
mod spec;
mod store;
mod template;
mod traffic;
mod validate;
mod verify;
mod watch;
mod xml;

pub use config::{Config, LogFormat};
pub use embed::{Features, Overview, ServedDocument, Server, ServerBuilder, StartError, StoreKind};
pub use generate::DataMode;
pub use journal::{Checked as Verification, Entry as Received, Expectation};
pub use runtime::reload::{Outcome as Reload, RateLimits as ReloadedRateLimits};
pub use spec::{LoadOptions, Problem, Severity};
pub use store::{Eviction, StoreError};
pub use traffic::{Latency, RateLimitRule};
pub use validate::{Mode, Violation};
pub use verify::{Case, OperationReport, Options as VerifyOptions, Outcome as VerifyOutcome, Report, SentRequest, Summary};

/// Checks documents the way `serve` loads them: every problem found, errors and warnings, each
/// with its file and JSON pointer. An empty list means the documents are clean; any error means
/// `serve` would refuse them, except an "invalid schema" (a request schema the validator cannot
/// compile), which `serve` compiles only after it listens: it logs it, and that operation's
/// requests are refused with a validation error naming it.
pub fn lint(mut config: Config) -> Vec<Problem> {
    config.load.thorough = true;
    match plan::build(config) {
        Ok((api, mut problems)) => {
            // What `serve` compiles on first use (and checks in the background), lint checks now.
            problems.extend(api.check_request_schemas());
            problems
        }
        Err(problems) => problems,
    }
}

/// Why a contract test could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The documents cannot be read.
    #[error("{}", .0.iter().filter(|p| p.is_error()).map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Specs(Vec<Problem>),
    /// The target or the options are not usable.
    #[error("{0}")]
    Setup(String),
}

/// Contract-tests a running provider: every operation of the documents `config` names is called
/// with requests built from the spec, in an order a stateful provider can follow, and every
/// answer checked against the contract. The report says what passed, failed or proved nothing.
pub async fn verify_provider(config: &Config, options: &VerifyOptions) -> Result<Report, VerifyError> {
    let (set, _) = plan::load(config).map_err(VerifyError::Specs)?;
    verify::run(&set, options).await.map_err(VerifyError::Setup)
}

/// Checks a provider URL as `verify` and the proxy accept it (`http://` or `https://`, no
/// query), returning it without a trailing slash.
pub fn parse_target(url: &str) -> Result<String, String> {
    verify::parse_target(url)
}

/// Reads a duration such as `30s`, `500ms` or `2min`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    traffic::parse_duration(s, traffic::Unit::Seconds)
}

/// Checks a shared-store URL (`memory` or `redis://HOST:PORT/DB`), returning it normalized.
pub fn check_store_url(s: &str) -> Result<String, String> {
    store::redis::check_url(s)
}

/// The OpenAPI documents a list of files and directories names (a directory: its files with an
/// `openapi` or `swagger` key).
pub fn expand_inputs(inputs: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, Problem> {
    spec::expand_inputs(inputs)
}
