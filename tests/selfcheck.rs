//! `serve --self-check`: every answer is checked against the operation's declared responses with
//! verify's checker, and a violation is flagged (header, journal, health counts) while a
//! conforming answer is not. One create/update/list/get flow per bundled document reports what
//! specstub's own answers break.

mod common;

use common::{assert_no_violations, builder, bundled_server, client, json, self_check};
use reqwest::StatusCode;
use serde_json::{Value, json};

const VIOLATIONS: &str = "specstub-violations";

#[tokio::test]
async fn a_violating_answer_is_flagged_and_a_conforming_one_is_not() {
    // Arrange
    let server = builder("examples.yaml").start().await.unwrap();
    let pets = format!("{}/pets", server.url());
    // Act: the default answer passes over the wrong examples; `bad` is asked for by name.
    let conforming = client().get(&pets).send().await.unwrap();
    let conforming_flagged = conforming.headers().get_all(VIOLATIONS).iter().any(|v| v.to_str().unwrap().starts_with("response"));
    let after_conforming = self_check(&server).await;
    let violating = client().get(&pets).header("prefer", "example=bad").send().await.unwrap();
    let flags: Vec<String> = violating.headers().get_all(VIOLATIONS).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let after_violating = self_check(&server).await;
    // Assert
    assert_eq!(conforming.status(), StatusCode::OK);
    assert!(!conforming_flagged, "{:?}", conforming.headers());
    assert_eq!(after_conforming, (1, 0));
    assert!(flags.iter().any(|f| f.starts_with("response: body /id: ") && f.contains("/name: ")), "{flags:?}");
    assert_eq!(after_violating, (2, 2), "two violations: /id and /name");
    let journal = json(client().get(format!("{}/__specstub/journal", server.url())).send().await.unwrap()).await;
    let last = journal.as_array().unwrap().last().unwrap();
    let pointers: Vec<&str> = last["violations"].as_array().unwrap().iter().filter_map(|v| v["pointer"].as_str()).collect();
    assert_eq!(pointers, ["/id", "/name"], "{last}");
    let panicked = tokio::spawn(async move { assert_no_violations(&server).await }).await;
    let message = *panicked.unwrap_err().into_panic().downcast::<String>().unwrap();
    assert!(message.contains("2 violation(s) in 2 answer(s)") && message.contains("listPets"), "{message}");
}

#[tokio::test]
async fn without_self_check_the_health_answer_is_unchanged() {
    let server = specstub::Server::builder(common::data("examples.yaml")).start().await.unwrap();
    let health = json(client().get(format!("{}/__specstub/health", server.url())).send().await.unwrap()).await;
    assert_eq!(health, json!({"status": "ok", "store": {"kind": "memory", "state": "available"}}));
}

/// Sends `method url` with the bundled APIs' bearer token (and the fielding API's version
/// header), returning the status and the JSON body (Null when empty).
async fn call(method: &str, url: &str, body: Option<Value>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = client().request(method.parse().unwrap(), url).header("authorization", "Bearer dev");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn ok(step: &str, (status, body): &(u16, Value)) {
    assert!((200..300).contains(status), "{step}: {status} {body}");
}

#[tokio::test]
async fn runs_v2_flow_answers_only_what_the_spec_allows() {
    let server = bundled_server("sift-runs-v2.yaml").start().await.unwrap();
    let runs = format!("{}/api/v2/runs", server.url());
    let body = json!({"name": "hotfire-7", "description": "engine test", "clientKey": "hotfire-7"});
    let created = call("POST", &runs, Some(body), &[]).await;
    ok("create", &created);
    let id = created.1["run"]["runId"].as_str().unwrap().to_string();
    let update = json!({"run": {"runId": id, "name": "renamed"}, "updateMask": "name"});
    ok("update", &call("PATCH", &runs, Some(update), &[]).await);
    ok("list", &call("GET", &format!("{runs}?pageSize=1"), None, &[]).await);
    ok("get", &call("GET", &format!("{runs}/{id}"), None, &[]).await);
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn jobs_v1_flow_answers_only_what_the_spec_allows() {
    let server = bundled_server("sift-jobs-v1.yaml").start().await.unwrap();
    let jobs = format!("{}/api/v1/jobs", server.url());
    ok("retry", &call("POST", &format!("{jobs}/job-failed-1:retry"), None, &[]).await);
    ok("cancel", &call("POST", &format!("{jobs}/job-running-1:cancel"), None, &[]).await);
    ok("list", &call("GET", &format!("{jobs}?pageSize=10"), None, &[]).await);
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn lineage_runs_flow_answers_only_what_the_spec_allows() {
    let server = bundled_server("marquez-runs.yaml").start().await.unwrap();
    let base = server.url();
    let id = "3f1e2d3c-4b5a-4c6d-8e7f-8a9b0c1d2e3f";
    let create = json!({"id": id, "args": {"retries": "1"}});
    ok("create", &call("POST", &format!("{base}/api/v1/namespaces/demo/jobs/demo-job/runs"), Some(create), &[]).await);
    ok("start", &call("POST", &format!("{base}/api/v1/jobs/runs/{id}/start?at=2026-01-01T09:00:00Z"), None, &[]).await);
    ok("complete", &call("POST", &format!("{base}/api/v1/jobs/runs/{id}/complete?at=2026-01-01T09:30:00Z"), None, &[]).await);
    ok("list", &call("GET", &format!("{base}/api/v1/namespaces/demo/jobs/demo-job/runs?limit=10&offset=0"), None, &[]).await);
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn fielding_runs_flow_answers_only_what_the_spec_allows() {
    let server = bundled_server("cint-fielding-runs.yaml").start().await.unwrap();
    let list = format!("{}/v1/demand/accounts/1/projects/demo-project/target-groups/demo-target-group/fielding-runs", server.url());
    let run = format!("{list}/01BTGNYV6HRNK8K8VKZASZCFP1");
    let version = [("cint-api-version", "2025-02-17")];
    ok("get", &call("GET", &run, None, &version).await);
    let update = json!({"start_fielding_at": "2036-01-05T08:00:00Z", "end_fielding_at": "2036-01-20T20:00:00Z"});
    ok("update", &call("PUT", &run, Some(update), &[version[0], ("if-match", "W/\"1234\"")]).await);
    ok("launch", &call("POST", &format!("{run}/launch-now"), None, &version).await);
    ok("list", &call("GET", &list, None, &version).await);
    ok("get again", &call("GET", &run, None, &version).await);
    assert_no_violations(&server).await;
}
