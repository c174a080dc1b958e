//! Record mode (`serve --proxy URL --record DIR`): exchanges with a real upstream become an
//! overlay of named examples, fixtures and a report of what broke the spec, and a server without
//! the proxy answers from them.

mod common;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use specstub::Server;

/// Strings the upstream and the client send that must never reach the recording.
const SECRETS: [&str; 5] = ["client-secret-token", "query-secret", "sess-secret-1", "sk_live_secret", "cookie-secret"];

/// A directory removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        Dir(std::env::temp_dir().join(format!("specstub-record-{}", uuid::Uuid::new_v4())))
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.0.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    fn yaml(&self, file: &str) -> Value {
        serde_norway::from_str(&self.read(file)).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The "real API" of tests/data/record.yaml: it answers `GET /api/accounts/acc-broken` against
/// the spec (a numeric id, no name).
async fn upstream() -> String {
    common::fake_server(|req| async move { answer(req).await }).await
}

async fn answer(req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let json = |status: u16, body: Value| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("set-cookie", "sid=cookie-secret")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    let path = parts.uri.path();
    match (parts.method.as_str(), path) {
        ("GET", "/api/status") => json(200, json!({"status": "ok", "version": "2.1", "session_token": "sess-secret-1"})),
        ("POST", "/api/accounts") => {
            let sent: Value = serde_json::from_slice(&body).unwrap_or_default();
            let name = sent["name"].as_str().unwrap_or("unnamed");
            json(201, json!({"id": format!("acc-{name}"), "name": name, "plan": "free", "apiKey": "sk_live_secret"}))
        }
        ("GET", "/api/accounts/acc-broken") => json(200, json!({"id": 5, "plan": "free"})),
        ("GET", p) if p.starts_with("/api/accounts/acc-") => {
            let id = &p["/api/accounts/".len()..];
            json(200, json!({"id": id, "name": &id[4..], "plan": "free", "apiKey": "sk_live_secret"}))
        }
        ("GET", "/api/health") => json(200, json!({"status": "up"})),
        ("GET", p) if p.starts_with("/api/reports/") => json(200, json!({"id": &p["/api/reports/".len()..], "lines": 3})),
        _ => json(404, json!({"message": "no such thing"})),
    }
}

async fn recording_proxy(upstream: &str, dir: &Path) -> Server {
    Server::builder(common::data("record.yaml")).proxy(upstream).record(dir).start().await.expect("the recording proxy starts")
}

fn replay(dir: &Path) -> specstub::ServerBuilder {
    Server::builder(common::data("record.yaml")).overlay(dir.join("recorded.overlay.yaml")).fixtures(dir.join("fixtures"))
}

/// The `examples` the overlay adds to the media type whose target contains `path` and `code`.
fn examples_at(overlay: &Value, path: &str, code: &str) -> serde_json::Map<String, Value> {
    let actions = overlay["actions"].as_array().expect("actions");
    let found: Vec<&Value> = actions
        .iter()
        .filter(|a| {
            let t = a["target"].as_str().unwrap_or("");
            t.contains(&format!("['{path}']")) && t.contains(&format!("['{code}']")) && a["update"].is_object()
        })
        .collect();
    assert_eq!(found.len(), 1, "one update for {path} {code} in {overlay}");
    found[0]["update"]["examples"].as_object().cloned().expect("examples")
}

#[tokio::test]
async fn a_recording_replays_the_upstream_answers_and_records_without_the_upstream() {
    // Arrange
    let (up, dir) = (upstream().await, Dir::new());
    let proxy = recording_proxy(&up, &dir.0).await;
    let c = common::client();
    let url = proxy.url();
    let auth = "Bearer client-secret-token";
    // Act: twice each, so duplicates show; one exchange the upstream answers against the spec,
    // one request that breaks it.
    for _ in 0..2 {
        let r = c.get(format!("{url}/api/status?access_token=query-secret")).header("authorization", auth).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = c.post(format!("{url}/api/accounts")).header("authorization", auth).json(&json!({"name": "ann"})).send().await.unwrap();
        assert_eq!(r.status(), 201);
    }
    assert_eq!(c.get(format!("{url}/api/accounts/acc-ann")).send().await.unwrap().status(), 200);
    for _ in 0..2 {
        let r = c.get(format!("{url}/api/accounts/acc-broken")).header("authorization", auth).send().await.unwrap();
        assert!(r.headers().contains_key("specstub-violations"), "the proxy saw the broken answer");
    }
    let r = c.post(format!("{url}/api/accounts")).json(&json!({"name": 7, "password": "hunter2-secret"})).send().await.unwrap();
    assert!(r.headers().contains_key("specstub-violations"), "the proxy saw the broken request");
    proxy.shutdown().await;

    // Assert: the overlay holds each answer once, the recorded one before the spec's own.
    let overlay = dir.yaml("recorded.overlay.yaml");
    let status = examples_at(&overlay, "/status", "200");
    assert_eq!(status.keys().collect::<Vec<_>>(), ["get", "default"], "{overlay}");
    assert_eq!(status["get"]["value"], json!({"status": "ok", "version": "2.1", "session_token": "[redacted]"}));
    assert_eq!(status["get"]["summary"], "GET /api/status?access_token=[redacted]");
    assert_eq!(status["default"]["value"], json!({"status": "from-the-spec"}));
    let created = examples_at(&overlay, "/accounts", "201");
    assert_eq!(created.len(), 1, "an identical create is kept once: {overlay}");
    assert_eq!(created["post"]["value"], json!({"id": "acc-ann", "name": "ann", "plan": "free", "apiKey": "[redacted]"}));
    let read = examples_at(&overlay, "/accounts/{accountId}", "200");
    assert_eq!(read.keys().collect::<Vec<_>>(), ["get-acc-ann"], "the broken answer is no example: {overlay}");
    // The created record, once, as a fixture.
    let fixtures = dir.yaml("fixtures/recorded.yaml");
    assert_eq!(fixtures, json!({"/api/accounts": [{"id": "acc-ann", "name": "ann", "plan": "free", "apiKey": "[redacted]"}]}));
    // The broken exchanges only in the report, with their violations.
    let report: Value = serde_json::from_str(&dir.read("report.json")).unwrap();
    let broken = report["broken"].as_array().unwrap();
    assert_eq!(broken.len(), 2, "{report}");
    let answer = broken.iter().find(|e| e["operation"] == "getAccount").expect("the broken answer");
    assert_eq!(answer["response"]["body"], json!({"id": 5, "plan": "free"}));
    assert_eq!(answer["times"], 2, "a repeat is counted, not listed again");
    assert_eq!(answer["request"]["headers"]["authorization"], "[redacted]");
    assert_eq!(answer["response"]["headers"]["set-cookie"], "[redacted]");
    let pointers: Vec<&str> = answer["violations"].as_array().unwrap().iter().map(|v| v["pointer"].as_str().unwrap()).collect();
    assert!(pointers.contains(&"/id"), "{answer}");
    let request = broken.iter().find(|e| e["operation"] == "createAccount").expect("the broken request");
    assert_eq!(request["request"]["body"], json!({"name": 7, "password": "[redacted]"}));
    assert_eq!(request["violations"][0]["pointer"], "/name");
    for file in ["recorded.overlay.yaml", "fixtures/recorded.yaml", "report.json"] {
        let text = dir.read(file);
        for secret in SECRETS.iter().chain(&["hunter2-secret"]) {
            assert!(!text.contains(secret), "{secret} in {file}:\n{text}");
        }
    }

    // Act: replay without the upstream.
    let overlays = vec![dir.0.join("recorded.overlay.yaml")];
    let config = specstub::Config {
        specs: vec![common::data("record.yaml")],
        load: specstub::LoadOptions { overlays, ..Default::default() },
        ..Default::default()
    };
    assert_eq!(specstub::lint(config), [], "the overlay applies cleanly");
    let server = replay(&dir.0).self_check(true).start().await.expect("the replay starts");
    let url = server.url();
    // Assert: the recorded answer is the default, the spec's own still there by name.
    let r = c.get(format!("{url}/api/status")).send().await.unwrap();
    assert_eq!(common::json(r).await, json!({"status": "ok", "version": "2.1", "session_token": "[redacted]"}));
    let r = c.get(format!("{url}/api/status")).header("prefer", "example=default").send().await.unwrap();
    assert_eq!(common::json(r).await, json!({"status": "from-the-spec"}));
    // The created record is served from the store, and a new create lands beside it.
    let r = c.get(format!("{url}/api/accounts/acc-ann")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(common::json(r).await["name"], "ann");
    let r = c.get(format!("{url}/api/accounts/acc-ann")).header("prefer", "example=get-acc-ann").send().await.unwrap();
    assert_eq!(common::json(r).await["id"], "acc-ann");
    common::assert_no_violations(&server).await;
}

#[tokio::test]
async fn a_restarted_recording_carries_on_and_concurrent_answers_are_all_kept() {
    // Arrange
    let (up, dir) = (upstream().await, Dir::new());
    let proxy = recording_proxy(&up, &dir.0).await;
    let c = common::client();
    assert_eq!(c.get(format!("{}/api/status", proxy.url())).send().await.unwrap().status(), 200);
    proxy.shutdown().await;
    // Act: a second run into the same directory, 40 requests at once.
    let proxy = recording_proxy(&up, &dir.0).await;
    let url = proxy.url();
    let calls = (0..40).map(|i| {
        let (c, url) = (c.clone(), url.clone());
        async move { c.get(format!("{url}/api/reports/r{i}")).send().await.unwrap().status() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(c.get(format!("{url}/api/status")).send().await.unwrap().status(), 200);
    proxy.shutdown().await;
    // Assert
    let overlay = dir.yaml("recorded.overlay.yaml");
    assert_eq!(examples_at(&overlay, "/status", "200").keys().collect::<Vec<_>>(), ["get", "default"], "carried on, once");
    let reports = examples_at(&overlay, "/reports/{reportId}", "200");
    assert_eq!(reports.len(), 40);
    for i in 0..40 {
        assert_eq!(reports[&format!("get-r{i}")]["value"], json!({"id": format!("r{i}"), "lines": 3}));
    }
    let server = replay(&dir.0).start().await.expect("the replay starts");
    let r = c.get(format!("{}/api/reports/any", server.url())).header("prefer", "example=get-r7").send().await.unwrap();
    assert_eq!(common::json(r).await["id"], "r7");
}

#[tokio::test]
async fn each_served_document_gets_its_own_overlay() {
    // Arrange
    let (up, dir) = (upstream().await, Dir::new());
    let proxy = Server::builder(common::data("record.yaml"))
        .spec(common::data("verify-widgets.yaml"))
        .proxy(&up)
        .record(&dir.0)
        .start()
        .await
        .expect("starts");
    // Act
    for path in ["/api/status", "/api/health"] {
        assert_eq!(common::client().get(format!("{}{path}", proxy.url())).send().await.unwrap().status(), 200, "{path}");
    }
    proxy.shutdown().await;
    // Assert: each overlay names its document and holds only its answers.
    let accounts = dir.yaml("recorded.record.overlay.yaml");
    let widgets = dir.yaml("recorded.verify-widgets.overlay.yaml");
    assert_eq!((accounts["extends"].as_str(), widgets["extends"].as_str()), (Some("record.yaml"), Some("verify-widgets.yaml")));
    assert_eq!(examples_at(&accounts, "/status", "200")["get"]["value"]["status"], "ok");
    assert_eq!(examples_at(&widgets, "/health", "200")["get"]["value"], json!({"status": "up"}));
    assert_eq!(accounts["actions"].as_array().unwrap().len(), 2, "the removal of the spec's example, then the update");
    assert_eq!(widgets["actions"].as_array().unwrap().len(), 1);
    let overlays = vec![dir.0.join("recorded.record.overlay.yaml"), dir.0.join("recorded.verify-widgets.overlay.yaml")];
    let config = specstub::Config {
        specs: vec![common::data("record.yaml"), common::data("verify-widgets.yaml")],
        load: specstub::LoadOptions { overlays, ..Default::default() },
        ..Default::default()
    };
    assert_eq!(specstub::lint(config), [], "each overlay applies to its document only");
}

#[tokio::test]
async fn record_mode_refuses_what_it_cannot_use() {
    let dir = Dir::new();
    let e = Server::builder(common::data("record.yaml")).record(&dir.0).start().await.expect_err("no proxy");
    assert!(e.to_string().contains("--proxy"), "{e}");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("recorded.overlay.yaml"), "just: [a list\n").unwrap();
    let e = Server::builder(common::data("record.yaml")).proxy("http://127.0.0.1:9").record(&dir.0).start().await.expect_err("damaged");
    assert!(e.to_string().contains("recorded.overlay.yaml") && e.to_string().contains("move it away"), "{e}");
    assert_eq!(dir.read("recorded.overlay.yaml"), "just: [a list\n", "left as it was");
}

#[tokio::test]
async fn the_binary_leaves_a_usable_recording_when_stopped() {
    let (up, dir) = (upstream().await, Dir::new());
    let spec = common::data("record.yaml");
    let record = dir.0.to_string_lossy().into_owned();
    let (mut child, url) = common::serve_bin(&["serve", spec.to_str().unwrap(), "--port", "0", "--proxy", &up, "--record", &record]);
    let r = common::client().get(format!("{url}/api/reports/r1")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let term = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let waited = tokio::time::timeout(std::time::Duration::from_secs(15), tokio::task::spawn_blocking(move || child.wait())).await;
    let exit = waited.expect("the server stops within 15 s").unwrap().unwrap();
    assert!(exit.success(), "{exit:?}");
    let reports = examples_at(&dir.yaml("recorded.overlay.yaml"), "/reports/{reportId}", "200");
    assert_eq!(reports["get-r1"]["value"], json!({"id": "r1", "lines": 3}));
}
