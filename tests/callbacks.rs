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
    let r =
        client().post(format!("{}/subscriptions", server.url())).json(&json!({"callbackUrl": target, "topic": "a"})).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::CREATED, "the answer does not wait for the callback");
    let call = until("the callback", || got.lock().unwrap().first().cloned()).await;
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "/events/sub-1", "the URL from the request body and the answer's id");
    assert_eq!(call.content_type, "application/json");
    let validator = jsonschema::validator_for(&event_schema()).unwrap();
    assert!(validator.is_valid(&call.body), "the body follows the callback's schema: {}", call.body);
}

#[tokio::test]
async fn a_callback_is_retried_after_a_500_and_the_journal_lists_each_attempt_with_its_answer() {
    // Arrange: the receiver fails once, then accepts.
    let (target, got) = receiver(&[500, 200]).await;
    let server = hooks().start().await.unwrap();
    // Act
    let r = client().post(format!("{}/subscriptions", server.url())).json(&json!({"callbackUrl": target})).send().await.unwrap();
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    // Assert
    assert_eq!(r.status(), StatusCode::CREATED);
    let entries = outgoing_entries(&server, 2).await;
    assert_eq!(got.lock().unwrap().len(), 2, "one retry after the 500, none after the 200");
    let seen: Vec<(u64, u64, &str)> = entries
        .iter()
        .map(|e| (e["call"]["attempt"].as_u64().unwrap(), e["status"].as_u64().unwrap(), e["direction"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [(1, 500, "outgoing"), (2, 200, "outgoing")]);
    let last = &entries[1];
    assert_eq!(last["call"]["kind"], "callback");
    assert_eq!(last["call"]["name"], "onEvent");
    assert_eq!(last["call"]["url"], format!("{target}/events/sub-1"));
    assert_eq!(last["call"]["attempts"], 3);
    assert_eq!(last["call"]["answer"], json!({"thanks": true}));
    assert_eq!(last["request_id"], request_id.as_str(), "an outgoing call carries the id of the request that caused it");
    assert_eq!(last["method"], "POST");
    assert!(last["body"]["kind"].is_string(), "the body sent is journaled: {last}");
    // Expectations count only requests received.
    let verify =
        client().post(format!("{}/__specstub/verify", server.url())).json(&json!({"method": "POST", "times": 1})).send().await.unwrap();
    assert_eq!(verify.status(), StatusCode::OK, "{}", json(verify).await);
}

#[tokio::test]
async fn an_unreachable_callback_url_is_journaled_with_its_error_after_the_bounded_retries() {
    // Arrange: a port nobody listens on (bound, then released).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let server = hooks().callback_retries(1).start().await.unwrap();
    // Act
    let r = client().post(format!("{}/subscriptions", server.url())).json(&json!({"callbackUrl": dead})).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::CREATED);
    let entries = outgoing_entries(&server, 2).await;
    assert!(entries.iter().all(|e| e["status"] == 0 && e["call"]["error"].is_string()), "{entries:?}");
    assert_eq!(entries[1]["call"]["attempt"], 2, "retries from x-specstub (2) are the callback's own");
}

#[tokio::test]
async fn an_operation_without_callbacks_calls_nothing_and_no_callbacks_turns_them_off() {
    // Arrange
    let (target, got) = receiver(&[200]).await;
    let server = hooks().start().await.unwrap();
    let off = hooks().callbacks(false).start().await.unwrap();
    // Act
    let plain = client().get(format!("{}/plain", server.url())).send().await.unwrap();
    let quiet = client().post(format!("{}/subscriptions", off.url())).json(&json!({"callbackUrl": target})).send().await.unwrap();
    // A request that calls back afterwards, so the receiver's silence is not a race.
    client().post(format!("{}/subscriptions", server.url())).json(&json!({"callbackUrl": target})).send().await.unwrap();
    // Assert
    assert_eq!((plain.status(), quiet.status()), (StatusCode::OK, StatusCode::CREATED));
    until("the later callback", || (!got.lock().unwrap().is_empty()).then_some(())).await;
    outgoing_entries(&server, 1).await;
    assert_eq!(got.lock().unwrap().len(), 1, "only the operation with callbacks on the server with them on called");
    assert!(outgoing(&off).await.is_empty());
}

#[tokio::test]
async fn a_callback_url_the_request_does_not_fill_is_not_called_and_says_why() {
    let server = hooks().start().await.unwrap();
    let r =
        client().post(format!("{}/subscriptions", server.url())).json(&json!({"callbackUrl": "ftp://files.test"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let entries = outgoing_entries(&server, 1).await;
    assert!(entries[0]["call"]["error"].as_str().unwrap().contains("not an http:// or https:// URL"), "{entries:?}");
}

#[tokio::test]
async fn webhooks_fire_on_create_with_the_record_and_on_a_transition_with_the_record_in_its_envelope() {
    // Arrange
    let (target, got) = receiver(&[200]).await;
    let server = hooks()
        .webhook("orderCreated", format!("{target}/created"))
        .webhook("orderShipped", format!("{target}/shipped"))
        .start()
        .await
        .unwrap();
    // Act
    let created = client().post(format!("{}/orders", server.url())).json(&json!({"item": "lamp"})).send().await.unwrap();
    let order = json(created).await;
    let id = order["id"].as_str().unwrap().to_string();
    let first = until("the created webhook", || got.lock().unwrap().first().cloned()).await;
    let shipped = client().post(format!("{}/orders/{id}/ship", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(shipped.status(), StatusCode::OK);
    let second = until("the shipped webhook", || got.lock().unwrap().get(1).cloned()).await;
    assert_eq!((first.method.as_str(), first.path.as_str()), ("POST", "/created"));
    assert_eq!(first.body, order, "the webhook's schema is the resource's: the record is sent");
    assert_eq!(second.path, "/shipped");
    assert_eq!(second.body["event"], "order.shipped");
    assert_eq!(second.body["order"]["id"], id.as_str());
    assert_eq!(second.body["order"]["status"], "shipped");
    let entries = outgoing_entries(&server, 2).await;
    let kinds: Vec<(&str, &str)> =
        entries.iter().map(|e| (e["call"]["kind"].as_str().unwrap(), e["call"]["name"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("webhook", "orderCreated"), ("webhook", "orderShipped")]);
}

#[tokio::test]
async fn webhooks_and_callbacks_fire_by_hand_through_the_admin_api() {
    // Arrange
    let (target, got) = receiver(&[200]).await;
    let server = hooks().callbacks(false).start().await.unwrap();
    let admin = format!("{}/__specstub", server.url());
    let c = client();
    // Act
    let webhook = c.post(format!("{admin}/webhooks/newsletter/fire")).json(&json!({"url": format!("{target}/news")})).send().await.unwrap();
    let status = webhook.status();
    let fired = json(webhook).await;
    let callback = c
        .post(format!("{admin}/callbacks/subscribe/onEvent/fire"))
        .json(&json!({"url": format!("{target}/cb"), "body": {"kind": "deleted"}}))
        .send()
        .await
        .unwrap();
    let unknown = c.post(format!("{admin}/webhooks/nope/fire")).json(&json!({})).send().await.unwrap();
    let no_target = c.post(format!("{admin}/webhooks/newsletter/fire")).json(&json!({})).send().await.unwrap();
    let not_json =
        c.post(format!("{admin}/webhooks/newsletter/fire")).header("content-type", "text/plain").body("{}").send().await.unwrap();
    // Assert
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(fired["url"], format!("{target}/news"));
    assert_eq!(callback.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(json(unknown).await["detail"].as_str().unwrap().contains("newsletter"), "the declared webhooks are listed");
    assert_eq!(no_target.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "the admin guard wants JSON for changes");
    let calls = until("both calls", || {
        let g = got.lock().unwrap();
        (g.len() >= 2).then(|| g.clone())
    })
    .await;
    let news = calls.iter().find(|c| c.path == "/news").unwrap();
    assert_eq!(news.body, json!({"issue": 7, "title": "Spring"}), "the webhook's example");
    let cb = calls.iter().find(|c| c.path == "/cb").unwrap();
    assert_eq!(cb.body, json!({"kind": "deleted"}), "the body override");
    assert_eq!(outgoing_entries(&server, 2).await.len(), 2);
}

#[tokio::test]
async fn a_webhook_flag_naming_no_declared_webhook_refuses_to_start() {
    let Err(err) = hooks().webhook("orderCancelled", "http://127.0.0.1:9/x").start().await else { panic!("started anyway") };
    let text = err.to_string();
    assert!(text.contains("orderCancelled") && text.contains("orderCreated"), "{text}");
}
