//! Shared test helpers: start a real server on an ephemeral port and talk to it over HTTP.
#![allow(dead_code)]

pub mod redis;

use std::path::PathBuf;

use specstub::{Server, ServerBuilder};

pub fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path)
}

pub fn bundled(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs").join(path)
}

/// A builder on 127.0.0.1:0 serving the test document `path` (under tests/data), answering from
/// the spec alone (the stateful tests opt in with `stateful`). Self-check is on: answers that
/// break the spec are counted, and a suite opts in to failing on them with `assert_no_violations`.
pub fn builder(path: &str) -> ServerBuilder {
    Server::builder(data(path)).stateless(true).self_check(true)
}

/// A stateful server for the test document `path`, with self-check on.
pub fn stateful(path: &str) -> ServerBuilder {
    Server::builder(data(path)).self_check(true)
}

/// A stateful server for the bundled document `name` (under specs/) with the bundled fixtures,
/// self-check on.
pub fn bundled_server(name: &str) -> ServerBuilder {
    Server::builder(bundled(name)).fixtures(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")).self_check(true)
}

/// What the server's self-check counted: (answers, violations), from `GET /__specstub/health`.
pub async fn self_check(server: &Server) -> (u64, u64) {
    let health = json(client().get(format!("{}/__specstub/health", server.url())).send().await.expect("health")).await;
    let count = |k: &str| health["selfCheck"][k].as_u64().unwrap_or_else(|| panic!("no selfCheck.{k} in {health}"));
    (count("answers"), count("violations"))
}

/// Fails unless every answer the server gave matched its spec, listing the answers that did not
/// (from the journal) with their violations.
pub async fn assert_no_violations(server: &Server) {
    let (answers, violations) = self_check(server).await;
    if violations == 0 {
        return;
    }
    let journal = json(client().get(format!("{}/__specstub/journal?limit=1000", server.url())).send().await.expect("journal")).await;
    let mut lines = Vec::new();
    for e in journal.as_array().into_iter().flatten() {
        let found: Vec<String> = e["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| {
                v["message"].as_str().filter(|m| m.starts_with("response")).map(|m| format!("{} {m}", v["pointer"].as_str().unwrap_or("")))
            })
            .collect();
        if !found.is_empty() {
            let text = |k: &str| e[k].as_str().unwrap_or("").to_string();
            lines.push(format!("{} {} -> {} ({}): {}", text("method"), text("path"), e["status"], text("operation"), found.join("; ")));
        }
    }
    panic!("{violations} violation(s) in {answers} answer(s):\n{}", lines.join("\n"));
}

pub async fn start(path: &str) -> Server {
    builder(path).start().await.expect("server starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

pub async fn json(r: reqwest::Response) -> serde_json::Value {
    let text = r.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The `(in, pointer)` of each violation in a problem+json error body.
pub fn pointers(body: &serde_json::Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors array expected: {body}"))
        .iter()
        .map(|e| (e["in"].as_str().unwrap().to_string(), e["pointer"].as_str().unwrap().to_string()))
        .collect()
}

/// Starts `specstub ARGS` (stdout piped, stderr discarded) and reads the URL it prints first.
pub fn serve_bin(args: &[&str]) -> (std::process::Child, String) {
    let mut cmd = bin();
    cmd.args(args).stderr(std::process::Stdio::null());
    serve_cmd(cmd)
}

/// Starts `cmd` (a `bin()` with its arguments and stderr set) with stdout piped, and reads the
/// URL it prints first.
pub fn serve_cmd(mut cmd: std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
    (child, url)
}

/// The binary under test.
pub fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_specstub"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// A hand-written HTTP server on 127.0.0.1:0 (a provider or upstream that the test controls),
/// answering every request with `handler`; it lives as long as the test's runtime.
pub async fn fake_server<F, Fut>(handler: F) -> String
where
    F: Fn(http::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = http::Response<http_body_util::Full<bytes::Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let answer = handler(req);
                    async move { Ok::<_, std::convert::Infallible>(answer.await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    format!("http://{addr}")
}

/// (operation, outcome, where each input came from) of a verify report: generated ids differ
/// between servers and runs, the sources of the inputs must not.
pub fn verdict_sources(result: &specstub::Report) -> Vec<(String, specstub::VerifyOutcome, Vec<String>)> {
    result
        .operations
        .iter()
        .map(|o| {
            let inputs = o
                .cases
                .iter()
                .flat_map(|c| c.inputs.iter())
                .map(|i| i.split_once(" (").map_or(i.clone(), |(_, s)| s.to_string()))
                .collect();
            (o.operation.clone(), o.outcome, inputs)
        })
        .collect()
}
