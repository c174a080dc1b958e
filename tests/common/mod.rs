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
/// the spec alone (the stateful tests opt in with `stateful`).
pub fn builder(path: &str) -> ServerBuilder {
    Server::builder(data(path)).stateless(true)
}

/// A stateful server for the test document `path`.
pub fn stateful(path: &str) -> ServerBuilder {
    Server::builder(data(path))
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
