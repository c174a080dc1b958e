//! The validating proxy (`serve --proxy URL`): requests go to a real upstream, both sides are
//! checked against the spec, violations land in the log, the journal and the
//! `specstub-violations` header; `--proxy-strict` refuses invalid requests, answers 502 for
//! invalid upstream answers and 404 for paths the spec does not describe.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use specstub::Server;

/// (method, path, body) of each request the upstream saw.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// An upstream for `tests/data/verify-widgets.yaml` whose list has a wrong type; it answers
/// paths the spec does not describe with plain text.
async fn upstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let url = common::fake_server(move |req| {
        let log = Arc::clone(&log);
        async move { answer(req, &log).await }
    })
    .await;
    (url, seen)
}

async fn answer(req: Request<Incoming>, log: &Mutex<Vec<(String, String, String)>>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    log.lock().unwrap().push((parts.method.to_string(), path.clone(), String::from_utf8_lossy(&body).into_owned()));
    let json = |status: u16, body: Value| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("x-upstream", "yes")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    match (parts.method.as_str(), parts.uri.path()) {
        ("GET", "/api/widgets") => json(200, json!({"items": [{"key": "w-1", "name": 5, "size": 3}]})),
        ("POST", "/api/widgets") => json(201, json!({"key": "w-2", "name": "gear", "size": 3})),
        ("GET", "/api/health") => json(200, json!({"status": "ok"})),
        _ => Response::builder().status(200).header("content-type", "text/plain").body(Full::new(Bytes::from("from upstream"))).unwrap(),
    }
}

async fn proxy(upstream: &str, strict: bool) -> Server {
    Server::builder(common::data("verify-widgets.yaml")).proxy(upstream).proxy_strict(strict).start().await.expect("starts")
}

async fn journal(server: &Server) -> Vec<Value> {
    let r = common::client().get(format!("{}/__specstub/journal", server.url())).send().await.unwrap();
    let body = common::json(r).await;
    body.as_array().cloned().or_else(|| body["entries"].as_array().cloned()).expect("journal entries")
}

#[tokio::test]
async fn a_valid_exchange_is_passed_on_unchanged() {
    let (up, seen) = upstream().await;
    let server = proxy(&up, false).await;
    let r = common::client()
        .post(format!("{}/api/widgets", server.url()))
        .header("accept-encoding", "gzip")
        .header("x-trace", "t-1")
        .json(&json!({"name": "gear", "size": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-upstream"], "yes");
    assert!(r.headers().get("specstub-violations").is_none());
    assert_eq!(common::json(r).await["key"], "w-2");
    let (method, path, body) = seen.lock().unwrap()[0].clone();
    assert_eq!((method.as_str(), path.as_str()), ("POST", "/api/widgets"));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"name": "gear", "size": 3}));
    let entries = journal(&server).await;
    let last = entries.last().unwrap();
    assert_eq!(
        (last["operation"].as_str(), last["validation"].as_str(), last["status"].as_u64()),
        (Some("createWidget"), Some("valid"), Some(201))
    );
}

#[tokio::test]
async fn upstream_violations_are_reported_in_a_header_and_the_journal() {
    let (up, _) = upstream().await;
    let server = proxy(&up, false).await;
    let r = common::client().get(format!("{}/api/widgets", server.url())).send().await.unwrap();
    assert_eq!(r.status(), 200, "the upstream's answer comes through");
    let header = r.headers()["specstub-violations"].to_str().unwrap().to_string();
    assert_eq!(header, "body /items/0/name: response: 5 is not of type \"string\"");
    assert_eq!(common::json(r).await["items"][0]["name"], 5);
    let entries = journal(&server).await;
    let last = entries.last().unwrap();
    assert_eq!(last["validation"], "warned");
    assert_eq!(last["violations"], json!([{"in": "body", "pointer": "/items/0/name", "message": "response: 5 is not of type \"string\""}]));
}

#[tokio::test]
async fn strict_answers_502_listing_the_upstream_violations() {
    let (up, _) = upstream().await;
    let server = proxy(&up, true).await;
    let r = common::client().get(format!("{}/api/widgets", server.url())).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body = common::json(r).await;
    assert_eq!(
        body["errors"],
        json!([{"in": "body", "pointer": "/items/0/name", "message": "response: 5 is not of type \"string\""}]),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("GET /api/widgets"), "{body}");
    assert_eq!(journal(&server).await.last().unwrap()["validation"], "invalid");
    // A conforming answer still comes through.
    let r = common::client().get(format!("{}/api/health", server.url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn invalid_requests_are_forwarded_with_their_violations_or_refused_when_strict() {
    let (up, seen) = upstream().await;
    let server = proxy(&up, false).await;
    let r = common::client().post(format!("{}/api/widgets", server.url())).json(&json!({"name": 5, "size": 3})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["specstub-violations"], "body /name: 5 is not of type \"string\"");
    assert_eq!(seen.lock().unwrap().len(), 1, "forwarded");

    let (up, seen) = upstream().await;
    let server = proxy(&up, true).await;
    let r = common::client().post(format!("{}/api/widgets", server.url())).json(&json!({"name": 5, "size": 3})).send().await.unwrap();
    assert_eq!(r.status(), 422, "refused as the mock refuses it");
    assert!(seen.lock().unwrap().is_empty(), "not forwarded");
}

#[tokio::test]
async fn paths_outside_the_spec_pass_through_or_get_404_when_strict() {
    let (up, seen) = upstream().await;
    let server = proxy(&up, false).await;
    let r = common::client().get(format!("{}/internal/metrics?x=1", server.url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "from upstream");
    assert_eq!(seen.lock().unwrap()[0].1, "/internal/metrics?x=1");
    // A method the spec does not declare on a known path passes through too.
    let r = common::client().put(format!("{}/api/health", server.url())).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let server = proxy(&up, true).await;
    let r = common::client().get(format!("{}/internal/metrics", server.url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_second_specstub_is_a_conforming_upstream() {
    let upstream = common::start("verify-widgets.yaml").await;
    let server = proxy(&upstream.url(), true).await;
    for path in ["/api/widgets", "/api/widgets/w-1", "/api/gadgets/g-1", "/api/health"] {
        let r = common::client().get(format!("{}{path}", server.url())).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers().get("specstub-violations").is_none(), "{path}");
    }
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", down.local_addr().unwrap());
    drop(down);
    let server = proxy(&gone, false).await;
    let r = common::client().get(format!("{}/api/health", server.url())).send().await.unwrap();
    assert_eq!(r.status(), 502, "no upstream");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}
