//! The admin API's lock (admin token, loopback-only without one, Host, Origin, JSON for state
//! changes, no CORS), the journal's byte budget and paging, and the redaction of secrets in the
//! journal and the log, over real HTTP against a real server.

mod common;

use std::time::{Duration, Instant};

use common::{client, data, json};
use reqwest::StatusCode;
use serde_json::{Value, json};
use specstub::{Server, ServerBuilder};

const JSON: (&str, &str) = ("content-type", "application/json");

fn admin_spec() -> ServerBuilder {
    Server::builder(data("admin.yaml"))
}

/// `http://127.0.0.1:PORT`, also for a server bound to 0.0.0.0.
fn loopback_url(server: &Server) -> String {
    format!("http://127.0.0.1:{}", server.addr().port())
}

fn cors_headers(r: &reqwest::Response) -> Vec<String> {
    r.headers().keys().map(|k| k.as_str().to_string()).filter(|k| k.starts_with("access-control-")).collect()
}

#[tokio::test]
async fn admin_routes_need_the_admin_token_when_one_is_set() {
    // Arrange
    let server = admin_spec().admin_token("s3cret").start().await.unwrap();
    let (c, admin) = (client(), format!("{}/__specstub", server.url()));
    // Act
    let none = c.get(format!("{admin}/journal")).send().await.unwrap();
    let wrong = c.get(format!("{admin}/journal")).header("x-specstub-admin-token", "guess").send().await.unwrap();
    let dedicated = c.get(format!("{admin}/journal")).header("x-specstub-admin-token", "s3cret").send().await.unwrap();
    let bearer = c.get(format!("{admin}/resources")).bearer_auth("s3cret").send().await.unwrap();
    let reset = c.post(format!("{admin}/reset")).header(JSON.0, JSON.1).send().await.unwrap();
    let health = c.get(format!("{admin}/health")).send().await.unwrap();
    // Assert
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert!(json(none).await["detail"].as_str().unwrap().contains("X-Specstub-Admin-Token"));
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(dedicated.status(), StatusCode::OK);
    assert_eq!(bearer.status(), StatusCode::OK);
    assert_eq!(reset.status(), StatusCode::UNAUTHORIZED, "no state change without the token");
    assert_eq!(health.status(), StatusCode::OK, "health stays open for load balancers");
    // Open to anyone, so it tells only counts and states: never records, requests or settings.
    let health = json(health).await;
    assert_eq!(health["status"], "ok", "{health}");
    let keys: Vec<&str> = health.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(keys.iter().all(|k| ["status", "connections", "store", "selfCheck", "plan"].contains(k)), "{health}");
}

#[tokio::test]
async fn the_api_token_never_opens_the_admin_api() {
    // Arrange: the API accepts only `dev`; the admin API wants its own token.
    let server = admin_spec().token("dev").admin_token("s3cret").start().await.unwrap();
    let (c, admin) = (client(), format!("{}/__specstub", server.url()));
    // Act
    let with_api_token = c
        .put(format!("{admin}/resources/things/planted"))
        .bearer_auth("dev")
        .json(&json!({"thingId": "planted", "name": "from admin"}))
        .send()
        .await
        .unwrap();
    let served = c.get(format!("{}/api/things/planted", server.url())).bearer_auth("dev").send().await.unwrap();
    // Assert
    assert_eq!(with_api_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(served.status(), StatusCode::NOT_FOUND, "nothing was planted");
}

#[tokio::test]
async fn a_non_loopback_bind_without_an_admin_token_turns_the_admin_api_off() {
    // Arrange: listening on every address, with only API credentials set.
    let server = admin_spec().host("0.0.0.0").token("s3cret").start().await.unwrap();
    let (c, admin) = (client(), format!("{}/__specstub", loopback_url(&server)));
    // Act
    let journal = c.get(format!("{admin}/journal")).bearer_auth("s3cret").send().await.unwrap();
    let reset = c.post(format!("{admin}/reset")).bearer_auth("s3cret").header(JSON.0, JSON.1).send().await.unwrap();
    let planted =
        c.put(format!("{admin}/resources/things/planted")).bearer_auth("s3cret").json(&json!({"name": "x"})).send().await.unwrap();
    let health = c.get(format!("{admin}/health")).send().await.unwrap();
    // Assert
    assert_eq!(journal.status(), StatusCode::FORBIDDEN);
    let detail = json(journal).await["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("off") && detail.contains("--admin-token"), "{detail}");
    assert_eq!(reset.status(), StatusCode::FORBIDDEN);
    assert_eq!(planted.status(), StatusCode::FORBIDDEN);
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn admin_answers_carry_no_cors_headers_and_refuse_other_origins() {
    // Arrange
    let server = admin_spec().start().await.unwrap();
    let (c, url) = (client(), server.url());
    let admin = format!("{url}/__specstub");
    // Act
    let foreign = c.get(format!("{admin}/journal")).header("origin", "https://evil.example").send().await.unwrap();
    let foreign_reset =
        c.post(format!("{admin}/reset")).header("origin", "https://evil.example").header(JSON.0, JSON.1).send().await.unwrap();
    let preflight = c
        .request(reqwest::Method::OPTIONS, format!("{admin}/reset"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    let fetch_metadata = c.get(format!("{admin}/journal")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    let own = c.get(format!("{admin}/journal")).header("origin", &url).send().await.unwrap();
    let api = c.get(format!("{url}/api/things/x")).bearer_auth("dev").header("origin", "https://app.example").send().await.unwrap();
    // Assert
    for r in [&foreign, &foreign_reset, &preflight, &fetch_metadata] {
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{}", r.url());
        assert!(cors_headers(r).is_empty(), "{:?}", cors_headers(r));
    }
    assert_eq!(own.status(), StatusCode::OK, "a page of the server's own origin may call it");
    assert!(cors_headers(&own).is_empty(), "{:?}", cors_headers(&own));
    assert_eq!(own.headers()["x-content-type-options"], "nosniff");
    assert_eq!(api.headers()["access-control-allow-origin"], "https://app.example", "the API's own CORS is unchanged");
}

#[tokio::test]
async fn a_host_that_is_not_the_servers_own_is_refused() {
    // Arrange
    let server = admin_spec().admin_host("stub.internal").start().await.unwrap();
    let (c, admin) = (client(), format!("{}/__specstub", server.url()));
    let port = server.addr().port();
    // Act
    let rebound = c.get(format!("{admin}/journal")).header("host", format!("evil.example:{port}")).send().await.unwrap();
    let allowed = c.get(format!("{admin}/journal")).header("host", format!("stub.internal:{port}")).send().await.unwrap();
    let local = c.get(format!("{admin}/journal")).header("host", format!("localhost:{port}")).send().await.unwrap();
    // Assert
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    assert!(json(rebound).await["detail"].as_str().unwrap().contains("--admin-host evil.example"));
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(local.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_text_plain_reset_is_refused_and_a_json_one_works() {
    // Arrange: a record to lose on reset.
    let server = admin_spec().start().await.unwrap();
    let (c, url) = (client(), server.url());
    let created = c.post(format!("{url}/api/things")).bearer_auth("dev").json(&json!({"name": "lamp"})).send().await.unwrap();
    let id = json(created).await["thingId"].as_str().unwrap().to_string();
    let thing = format!("{url}/api/things/{id}");
    // Act
    let plain = c.post(format!("{url}/__specstub/reset")).header("content-type", "text/plain").body("x").send().await.unwrap();
    let form = c
        .post(format!("{url}/__specstub/reset"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b")
        .send()
        .await
        .unwrap();
    let bare = c.post(format!("{url}/__specstub/reset")).send().await.unwrap();
    let still = c.get(&thing).bearer_auth("dev").send().await.unwrap().status();
    let reset = c.post(format!("{url}/__specstub/reset")).header(JSON.0, JSON.1).send().await.unwrap();
    let gone = c.get(&thing).bearer_auth("dev").send().await.unwrap().status();
    // Assert
    for r in [plain, form, bare] {
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    assert_eq!(still, StatusCode::OK, "a refused reset changed nothing");
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(gone, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_journal_stays_within_its_byte_budget_with_megabyte_bodies() {
    // Arrange: 4 MiB for the journal; 20 bodies of 1 MB, each rejected (the name is missing).
    let budget = 4 << 20;
    let server = admin_spec().journal_bytes(budget).start().await.unwrap();
    let c = client();
    let body = json!({"blob": "x".repeat(1_000_000)}).to_string();
    // Act
    for i in 0..20 {
        let r = c
            .post(format!("{}/api/things", server.url()))
            .bearer_auth("dev")
            .header("content-type", "application/json")
            .header("x-request-id", format!("big-{i}"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let answer = c.get(format!("{}/__specstub/journal", server.url())).send().await.unwrap().text().await.unwrap();
    // Assert
    assert!(answer.len() < budget, "the journal answered {} bytes", answer.len());
    let entries: Vec<Value> = serde_json::from_str(&answer).unwrap();
    assert_eq!(entries.last().unwrap()["request_id"], "big-19", "the newest is kept");
    let marker = &entries.last().unwrap()["body"];
    assert_eq!((marker["truncated"].as_bool(), marker["bytes"].as_u64()), (Some(true), Some(body.len() as u64)));
    assert!(marker["head"].as_str().unwrap().starts_with(r#"{"blob":"xxx"#), "{marker}");
}

#[tokio::test]
async fn the_journal_pages_forward_with_a_next_link() {
    // Arrange
    let server = admin_spec().start().await.unwrap();
    let c = client();
    for i in 0..5 {
        c.get(format!("{}/api/things/t{i}", server.url())).bearer_auth("dev").send().await.unwrap();
    }
    let admin = format!("{}/__specstub", server.url());
    // Act
    let mut pages = Vec::new();
    let mut next = Some("/__specstub/journal?operation=getThing&limit=2&after=0".to_string());
    while let Some(link) = next.take() {
        assert!(pages.len() < 5, "paging does not end");
        let r = c.get(format!("{}{link}", server.url())).send().await.unwrap();
        next = r.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("rel=\"next\""), "{l}");
            l[l.find('<').unwrap() + 1..l.find('>').unwrap()].to_string()
        });
        let paths: Vec<String> = json(r).await.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
        pages.push(paths);
    }
    let newest = json(c.get(format!("{admin}/journal?limit=2")).send().await.unwrap()).await;
    let bad = c.get(format!("{admin}/journal?after=soon")).send().await.unwrap();
    // Assert
    let p = |i: usize| format!("/api/things/t{i}");
    assert_eq!(pages, vec![vec![p(0), p(1)], vec![p(2), p(3)], vec![p(4)]]);
    let newest: Vec<&str> = newest.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(newest, [p(3), p(4)], "without a cursor, limit keeps its meaning: the newest N");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

async fn journal_of(server: &Server, operation: &str) -> Vec<Value> {
    let r = client().get(format!("{}/__specstub/journal?operation={operation}", server.url())).send().await.unwrap();
    json(r).await.as_array().unwrap().clone()
}

#[tokio::test]
async fn secrets_are_redacted_in_the_journal_from_queries_json_and_form_bodies() {
    // Arrange
    let server = admin_spec().start().await.unwrap();
    let (c, url) = (client(), server.url());
    let login = json!({"user": "ann", "password": "hunter2", "pin": "1234", "profile": {"ssn": "078-05-1120"}});
    // Act
    let r = c.post(format!("{url}/api/login?access_token=tok-123")).json(&login).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(format!("{url}/api/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("user=bob&password=hunter3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.post(format!("{url}/api/login")).json(&json!({"user": "cy", "pin": "not-a-pin-secret"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    c.get(format!("{url}/api/keyed?sig=signature-1")).send().await.unwrap();
    // Assert
    let entries = journal_of(&server, "login").await;
    let text = serde_json::to_string(&entries).unwrap();
    for secret in ["tok-123", "hunter2", "hunter3", "078-05-1120", "not-a-pin-secret"] {
        assert!(!text.contains(secret), "{secret} is in the journal: {text}");
    }
    assert_eq!(entries[0]["query"]["access_token"], json!(["[redacted]"]));
    assert_eq!(
        entries[0]["body"],
        json!({"user": "ann", "password": "[redacted]", "pin": "[redacted]", "profile": {"ssn": "[redacted]"}}),
        "built-in names, format: password and writeOnly"
    );
    assert_eq!(entries[1]["body"], json!({"user": "bob", "password": "[redacted]"}), "a form body");
    assert!(entries[2]["violations"][0]["message"].as_str().unwrap().contains("[redacted]"), "{}", entries[2]);
    assert_eq!(journal_of(&server, "keyed").await[0]["query"]["sig"], json!(["[redacted]"]), "an apiKey query parameter");
}

#[tokio::test]
async fn the_name_rule_can_be_turned_off_and_extended() {
    let server = admin_spec().redact_names(false).redact("user").start().await.unwrap();
    let body = json!({"user": "ann", "password": "hunter2", "pin": "1234"});
    client().post(format!("{}/api/login", server.url())).json(&body).send().await.unwrap();
    let entries = journal_of(&server, "login").await;
    assert_eq!(entries[0]["body"], json!({"user": "[redacted]", "password": "hunter2", "pin": "[redacted]"}));
}

#[test]
fn the_log_says_the_admin_api_is_off_and_leaves_secrets_out() {
    use std::io::{BufRead, BufReader};
    // Arrange: the binary on every address, without an admin token, warning on violations.
    let mut child = common::bin()
        .args(["serve", data("admin.yaml").to_str().unwrap(), "--host", "0.0.0.0", "--port", "0", "--validation", "warn"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    // Act
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let body = json!({"user": "ann", "password": "hunter2", "pin": "pin-secret-99"});
        let url = format!("http://127.0.0.1:{port}/api/login?access_token=tok-123456&marker=done");
        let r = client().post(url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "warn mode answers anyway");
    });
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !log.iter().any(|l: &String| l.contains("marker=done")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => log.push(l),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    // Assert
    let log = log.join("\n");
    assert!(log.contains("admin API (/__specstub) is off"), "{log}");
    assert!(log.contains("access_token=[redacted]&marker=done"), "{log}");
    assert!(log.contains("does not match the spec"), "the warning is logged: {log}");
    for secret in ["tok-123456", "pin-secret-99"] {
        assert!(!log.contains(secret), "{secret} is in the log: {log}");
    }
}
