//! Shared test helpers: start a real server on an ephemeral port and talk to it over HTTP.
#![allow(dead_code)]

use std::path::PathBuf;

use specstub::{Running, Server, ServerBuilder};

pub fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path)
}

pub fn bundled(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs").join(path)
}

/// A builder on 127.0.0.1:0 serving the test document `path` (under tests/data), answering from
/// the spec alone (the stateful tests opt in with `stateful`).
pub fn builder(path: &str) -> ServerBuilder {
    Server::builder().spec(data(path)).stateless(true)
}

/// A stateful server for the test document `path`.
pub fn stateful(path: &str) -> ServerBuilder {
    Server::builder().spec(data(path))
}

pub async fn start(path: &str) -> Running {
    builder(path).start().await.expect("server starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

pub async fn json(r: reqwest::Response) -> serde_json::Value {
    let text = r.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The binary under test.
pub fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_specstub"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}
