//! The in-memory store's bounds over HTTP: a full store answers the operation's declared error
//! (or 507 problem+json naming the flag) and keeps serving what it holds; the oldest untouched
//! session is evicted under `--store-evict oldest-session`; an idle session expires while a busy
//! one and the shared namespace stay; paging over a large collection, by token and by offset in
//! a parent scope, returns every record once, in order, with the right totals.

mod common;

use std::time::{Duration, Instant};

use common::{bundled_server, client, json, stateful};
use serde_json::{Value, json};
use specstub::{Eviction, Server};

const AUTH: &str = "Bearer test-token";

async fn create_run(server: &Server, session: Option<&str>, name: &str) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}/api/v2/runs", server.url()))
        .header("authorization", AUTH)
        .json(&json!({"name": name, "description": "a run"}));
    if let Some(s) = session {
        req = req.header("x-specstub-session", s);
    }
    req.send().await.expect("create")
}

async fn get_run(server: &Server, session: Option<&str>, id: &str) -> u16 {
    let mut req = client().get(format!("{}/api/v2/runs/{id}", server.url())).header("authorization", AUTH);
    if let Some(s) = session {
        req = req.header("x-specstub-session", s);
    }
    req.send().await.expect("get").status().as_u16()
}

async fn created_id(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 200, "create answered {}", r.status());
    json(r).await["run"]["runId"].as_str().expect("runId").to_string()
}

#[tokio::test]
async fn a_full_store_answers_507_in_the_declared_error_shape_and_keeps_serving_what_it_holds() {
    let server = bundled_server("sift-runs-v2.yaml").store_max_records(3).start().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(created_id(create_run(&server, None, &format!("run-{i}")).await).await);
    }
    let full = create_run(&server, None, "one too many").await;
    assert_eq!(full.status(), 507);
    assert_eq!(full.headers()["content-type"], "application/json", "the spec's google.rpc.Status, not problem+json");
    let body = json(full).await;
    assert_eq!(body["code"], 8, "RESOURCE_EXHAUSTED: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("--store-max-records") && message.contains('3'), "{message}");
    for id in &ids {
        assert_eq!(get_run(&server, None, id).await, 200, "what the store holds still reads");
    }
    // A delete makes room again.
    let deleted = client().delete(format!("{}/api/v2/runs/{}", server.url(), ids[0])).header("authorization", AUTH).send().await.unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    created_id(create_run(&server, None, "fits again").await).await;
}

#[tokio::test]
async fn without_a_declared_error_a_full_store_answers_problem_json_and_a_declared_quota_status_wins() {
    let server = stateful("crud.yaml").store_max_bytes(1).start().await.unwrap();
    let r = client().post(format!("{}/api/things", server.url())).json(&json!({"name": "n"})).send().await.unwrap();
    assert_eq!(r.status(), 507);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body = json(r).await;
    assert!(body["detail"].as_str().unwrap().contains("--store-max-bytes"), "{body}");

    let doc = r#"
openapi: 3.0.3
info: {title: quota, version: "1"}
paths:
  /notes:
    post:
      requestBody: {required: true, content: {application/json: {schema: {type: object}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {type: object}}}}
        "429": {description: The account's quota of stored notes is used up, content: {application/json: {schema: {type: object, properties: {error: {type: string}}}}}}
  /notes/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: a note, content: {application/json: {schema: {type: object}}}}
        "404": {description: missing}
"#;
    let server = Server::builder_str(doc).store_max_records(1).start().await.unwrap();
    let post = || client().post(format!("{}/notes", server.url())).json(&json!({"text": "x"})).send();
    assert_eq!(post().await.unwrap().status(), 201);
    let r = post().await.unwrap();
    assert_eq!(r.status(), 429, "the status the operation declares for a used-up quota");
    assert_eq!(r.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn the_oldest_untouched_session_is_evicted_never_the_shared_namespace() {
    let server = bundled_server("sift-runs-v2.yaml").store_max_records(3).store_evict(Eviction::OldestSession).start().await.unwrap();
    let shared = created_id(create_run(&server, None, "shared").await).await;
    let a = created_id(create_run(&server, Some("a"), "in a").await).await;
    let b = created_id(create_run(&server, Some("b"), "in b").await).await;
    // a is touched again: b is now the session touched longest ago.
    assert_eq!(get_run(&server, Some("a"), &a).await, 200);
    let c = created_id(create_run(&server, Some("c"), "in c").await).await;
    assert_eq!(get_run(&server, Some("b"), &b).await, 404, "b was evicted");
    assert_eq!(get_run(&server, Some("a"), &a).await, 200);
    assert_eq!(get_run(&server, Some("c"), &c).await, 200);
    assert_eq!(get_run(&server, None, &shared).await, 200, "the shared namespace is never evicted");
    // The shared namespace alone cannot make room: with no other session left, 507.
    let server = bundled_server("sift-runs-v2.yaml").store_max_records(1).store_evict(Eviction::OldestSession).start().await.unwrap();
    created_id(create_run(&server, None, "shared").await).await;
    let r = create_run(&server, None, "more").await;
    assert_eq!(r.status(), 507);
    assert!(json(r).await["message"].as_str().unwrap().contains("no other session"));
}

/// The session's record count as the admin API reports it (which does not touch the session).
async fn count_in(server: &Server, session: &str) -> u64 {
    let url = format!("{}/__specstub/resources?session={session}", server.url());
    let listed = json(client().get(url).send().await.unwrap()).await;
    listed.as_array().unwrap().iter().find(|c| c["name"] == "runs").map(|c| c["count"].as_u64().unwrap()).unwrap_or(0)
}

#[tokio::test]
async fn an_idle_session_expires_while_a_busy_one_and_the_shared_namespace_stay() {
    let server = bundled_server("sift-runs-v2.yaml").session_ttl(Some(Duration::from_secs(1))).start().await.unwrap();
    let fixtures = count_in(&server, "idle").await;
    let shared = created_id(create_run(&server, None, "shared").await).await;
    let idle = created_id(create_run(&server, Some("idle"), "idle").await).await;
    let busy = created_id(create_run(&server, Some("busy"), "busy").await).await;
    assert_eq!(count_in(&server, "idle").await, fixtures + 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while count_in(&server, "idle").await != fixtures {
        assert!(Instant::now() < deadline, "the idle session was not dropped within 5 s of a 1 s TTL");
        assert_eq!(get_run(&server, Some("busy"), &busy).await, 200, "a session in use stays");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(get_run(&server, Some("idle"), &idle).await, 404, "the idle session starts from the fixtures again");
    assert_eq!(get_run(&server, Some("busy"), &busy).await, 200);
    assert_eq!(get_run(&server, None, &shared).await, 200, "the shared namespace never expires");
}

#[tokio::test]
async fn page_tokens_walk_a_large_collection_once_in_order_even_while_it_changes() {
    let server = bundled_server("sift-runs-v2.yaml").start().await.unwrap();
    let fixtures = count_in(&server, "").await as usize;
    let n = 3000;
    for i in 0..n {
        server.seed("runs", json!({"runId": format!("r-{i:05}"), "name": format!("run {i}")})).unwrap();
    }
    let mut seen: Vec<String> = Vec::new();
    let mut token = String::new();
    for page in 0.. {
        assert!(page < 10, "more pages than records");
        let url = format!("{}/api/v2/runs?pageSize=1000&pageToken={token}", server.url());
        let body = json(client().get(url).header("authorization", AUTH).send().await.unwrap()).await;
        seen.extend(body["runs"].as_array().unwrap().iter().map(|r| r["runId"].as_str().unwrap().to_string()));
        if page == 0 {
            // Records before the token's position go: the next page still starts where it should.
            for i in 0..10 {
                let url = format!("{}/api/v2/runs/r-{i:05}", server.url());
                assert!(client().delete(url).header("authorization", AUTH).send().await.unwrap().status().is_success());
            }
        }
        token = body["nextPageToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    let expected: Vec<String> = (0..n).map(|i| format!("r-{i:05}")).collect();
    assert_eq!(seen.len(), fixtures + n, "every record once");
    assert_eq!(seen[fixtures..], expected[..], "in creation order");
    let bad = client().get(format!("{}/api/v2/runs?pageToken=bm9wZQ", server.url())).header("authorization", AUTH).send().await.unwrap();
    assert_eq!(bad.status(), 400, "a token this server never issued");
}

#[tokio::test]
async fn offset_paging_in_a_parent_scope_counts_only_that_scope() {
    let server = bundled_server("marquez-runs.yaml").start().await.unwrap();
    let runs = |ns: &str, job: &str| format!("{}/api/v1/namespaces/{ns}/jobs/{job}/runs", server.url());
    let mut ids = Vec::new();
    for i in 0..130 {
        let (ns, job) = if i % 5 == 4 { ("other", "job-b") } else { ("team", "job-a") };
        let r = client().post(runs(ns, job)).json(&json!({})).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        if ns == "team" {
            ids.push(json(r).await["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(ids.len(), 104);
    let page = |offset: usize, limit: usize| {
        let url = format!("{}?limit={limit}&offset={offset}", runs("team", "job-a"));
        async move { json(client().get(url).send().await.unwrap()).await }
    };
    let mut listed: Vec<String> = Vec::new();
    for offset in [0, 50, 100] {
        let body = page(offset, 50).await;
        assert_eq!(body["totalCount"], 104, "{body}");
        listed.extend(body["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()));
    }
    assert_eq!(listed, ids);
    let beyond = page(500, 50).await;
    assert_eq!((beyond["runs"].as_array().map(Vec::len), &beyond["totalCount"]), (Some(0), &Value::from(104)));
    let other = json(client().get(format!("{}?limit=1000", runs("other", "job-b"))).send().await.unwrap()).await;
    assert_eq!(other["totalCount"], 26);
}
