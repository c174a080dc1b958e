//! Callbacks and webhooks over real HTTP: a receiving server in the test records what the mock
//! sends (method, URL, body), answers as the test scripts it, and the journal must list every
//! outgoing attempt with its answer. Arrival is polled with a bounded deadline.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{client, data, fake_server, json};
use http_body_util::{BodyExt, Full};
use reqwest::StatusCode;
use serde_json::{Value, json};
use specstub::{Server, ServerBuilder};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    content_type: String,
    body: Value,
}

/// A receiver on 127.0.0.1:0 that records every request and answers the statuses in `script`
/// in turn (the last one from then on).
async fn receiver(script: &'static [u16]) -> (String, Arc<Mutex<Vec<Received>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&got);
    let url = fake_server(move |req: http::Request<hyper::body::Incoming>| {
        let (seen, count) = (Arc::clone(&seen), Arc::clone(&count));
        async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            seen.lock().unwrap().push(Received { method: parts.method.to_string(), path: parts.uri.to_string(), content_type, body });
            let n = count.fetch_add(1, Ordering::SeqCst);
            let status = script[n.min(script.len() - 1)];
            http::Response::builder().status(status).body(Full::new(Bytes::from_static(b"{\"thanks\":true}"))).unwrap()
        }
    })
    .await;
    (url, got)
}

/// Polls `f` until it gives a value, for at most 5 s.
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn hooks() -> ServerBuilder {
    Server::builder(data("callbacks.yaml")).callback_retries(2)
}

async fn outgoing(server: &Server) -> Vec<Value> {
    let r = client().get(format!("{}/__specstub/journal?direction=outgoing", server.url())).send().await.unwrap();
    json(r).await.as_array().cloned().unwrap_or_default()
}

/// Polls the journal until `n` outgoing entries are there.
async fn outgoing_entries(server: &Server, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let entries = outgoing(server).await;
        if entries.len() >= n {
            return entries;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {n} outgoing entries, have {entries:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn event_schema() -> Value {
    json!({
        "type": "object",
        "required": ["kind", "subscription", "at"],
        "properties": {
            "kind": {"type": "string", "enum": ["created", "deleted"]},
            "subscription": {"type": "string"},
            "at": {"type": "string", "format": "date-time"}
        }
    })
}

#[tokio::test]
async fn a_callback_goes_to_the_url_the_request_names_with_the_declared_method_and_a_valid_body() {
    // Arrange
    let (target, got) = receiver(&[200]).await;
    let server = hooks().start().await.unwrap();
    // Act
    let r = client().post(format!("{}/subscriptions", server.url())).json(&json!({"callbackUrl": target, "topic": "a"})).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::CREATED, "the answer does not wait for the callback");
    let call = until("the callback", || got.lock().unwrap().first().cloned()).await;
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "/events/sub-1", "the URL from the request body and the answer's id");
    assert_eq!(call.content_type, "application/json");
    let validator = jsonschema::validator_for(&event_schema()).unwrap();
    assert!(validator.is_valid(&call.body), "the body follows the callback's schema: {}", call.body);
}
