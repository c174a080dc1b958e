//! An SDK-style test against an embedded specstub: a small typed client for the Runs API, tested
//! against a mock of `specs/sift-runs-v2.yaml` that starts on a free port and stops when its handle
//! drops. The same shape fits any Rust client crate: start the mock in each test (or once per
//! test binary), point the client's base URL at `server.url()`, and assert on typed results —
//! including the error paths, which `Prefer: code=...` makes the mock answer on demand.
//!
//! Run it with `cargo run --example client_test`.

use serde::Deserialize;
use serde_json::json;

/// What a client crate would ship: typed calls and typed errors.
struct RunsClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    run_id: String,
    name: String,
    is_pinned: bool,
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RunEnvelope {
    run: Run,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunPage {
    runs: Vec<Run>,
    #[serde(default)]
    next_page_token: String,
}

/// The API's error body (a google.rpc.Status).
#[derive(Debug, Deserialize)]
struct Status {
    code: i32,
    message: String,
}

#[derive(Debug)]
enum ApiError {
    NotFound(String),
    Unauthenticated(String),
    Other(u16, String),
    Transport(reqwest::Error),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::NotFound(m) => write!(f, "not found: {m}"),
            ApiError::Unauthenticated(m) => write!(f, "unauthenticated: {m}"),
            ApiError::Other(status, m) => write!(f, "HTTP {status}: {m}"),
            ApiError::Transport(e) => write!(f, "transport: {e}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<reqwest::Error> for ApiError {
    fn from(e: reqwest::Error) -> Self {
        ApiError::Transport(e)
    }
}

impl RunsClient {
    fn new(base: impl Into<String>, token: impl Into<String>) -> Self {
        Self { http: reqwest::Client::new(), base: base.into(), token: token.into() }
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ApiError> {
        let req = if self.token.is_empty() { req } else { req.bearer_auth(&self.token) };
        let response = req.send().await?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(response.json().await?);
        }
        let error: Status = response.json().await?;
        Err(match error.code {
            5 => ApiError::NotFound(error.message),
            16 => ApiError::Unauthenticated(error.message),
            _ => ApiError::Other(status, error.message),
        })
    }

    async fn create_run(&self, name: &str, description: &str) -> Result<Run, ApiError> {
        let req = self.http.post(format!("{}/api/v2/runs", self.base)).json(&json!({"name": name, "description": description}));
        Ok(self.call::<RunEnvelope>(req).await?.run)
    }

    async fn get_run(&self, run_id: &str) -> Result<Run, ApiError> {
        Ok(self.call::<RunEnvelope>(self.http.get(format!("{}/api/v2/runs/{run_id}", self.base))).await?.run)
    }

    async fn list_runs(&self, page_size: u32) -> Result<RunPage, ApiError> {
        self.call(self.http.get(format!("{}/api/v2/runs?pageSize={page_size}", self.base))).await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Answers come from the spec's examples and schemas; `.stateless(false)` (the default) would
    // keep what the client creates instead.
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/sift-runs-v2.yaml");
    let server = specstub::Server::builder(spec).stateless(true).start().await?;
    let client = RunsClient::new(server.url(), "test-token");

    // Happy paths: the client sends what the spec accepts and reads what the spec promises.
    let created = client.create_run("hotfire-test-043", "Static fire of engine E2").await?;
    assert!(!created.run_id.is_empty());
    let page = client.list_runs(50).await?;
    assert!(!page.runs.is_empty(), "the spec's example lists runs");
    println!("ok: create and list ({} runs, next page token {:?})", page.runs.len(), page.next_page_token);
    let run = client.get_run(&page.runs[0].run_id).await?;
    println!("ok: read run {} ({}, pinned: {}, tags: {:?})", run.run_id, run.name, run.is_pinned, run.tags);

    // Error paths: ask the mock for a declared error answer and check the client maps it.
    let not_found =
        client.call::<RunEnvelope>(client.http.get(format!("{}/api/v2/runs/nope", client.base)).header("Prefer", "code=404")).await;
    assert!(matches!(not_found, Err(ApiError::NotFound(_))), "{not_found:?}");
    println!("ok: a 404 becomes ApiError::NotFound ({})", not_found.unwrap_err());

    // The mock validates requests: a client bug (no token) is caught as the real API would.
    let anonymous = RunsClient { token: String::new(), ..RunsClient::new(server.url(), "") };
    let refused = anonymous.get_run("0f2f1e36-6a0c-4b43-9d68-0d4c1b2a3e01").await;
    assert!(matches!(refused, Err(ApiError::Unauthenticated(_)) | Err(ApiError::Other(401, _))), "{refused:?}");
    println!("ok: a missing token is refused ({})", refused.unwrap_err());

    drop(server);
    Ok(())
}
