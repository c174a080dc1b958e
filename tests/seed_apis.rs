//! The four bundled APIs, served together with the bundled fixtures as `specstub serve` does,
//! driven through their documented lifecycles over real HTTP.
mod common;

use std::path::PathBuf;

use common::{client, json};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use specstub::Server;

const RUN: &str = "0f2f1e36-6a0c-4b43-9d68-0d4c1b2a3e01";
const FAILED_JOB: &str = "job-failed-1";
const RUNNING_JOB: &str = "job-running-1";
const FIELDING_RUN: &str = "01BTGNYV6HRNK8K8VKZASZCFP1";
const FIELDING: &str = "/v1/demand/accounts/1/projects/demo-project/target-groups/demo-target-group/fielding-runs";

async fn serve() -> Server {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Server::builder(root.join("specs")).fixtures(root.join("fixtures")).start().await.expect("bundled specs serve")
}

/// A request with the bearer token every telemetry and fielding operation needs.
fn authed(rb: RequestBuilder, token: &str) -> RequestBuilder {
    rb.bearer_auth(token)
}

fn fielding(rb: RequestBuilder, token: &str) -> RequestBuilder {
    rb.bearer_auth(token).header("Cint-API-Version", "2025-02-17")
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// The google.rpc.Status body the telemetry API answers errors with.
async fn grpc_status(r: reqwest::Response, status: StatusCode, code: i64) -> Value {
    assert_eq!(r.status(), status);
    let body = json(r).await;
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body["details"], json!([]), "{body}");
    body
}

#[tokio::test]
async fn runs_v2_create_read_list_update_stop_and_delete() {
    let server = serve().await;
    let (c, base, t) = (client(), server.url(), "tok-runs");
    let runs = format!("{base}/api/v2/runs");

    let r = authed(c.post(&runs), t).json(&json!({"name": "hotfire-1", "description": "first", "clientKey": "hf-1"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let run = json(r).await["run"].clone();
    let id = run["runId"].as_str().expect("a run id").to_string();
    assert_eq!((run["name"].as_str(), run["isAdhoc"].as_bool(), run["isPinned"].as_bool()), (Some("hotfire-1"), Some(false), Some(false)));
    assert!(run["createdDate"].is_string() && run["createdByUserId"].is_string() && run["organizationId"].is_string(), "{run}");

    let dup = authed(c.post(&runs), t).json(&json!({"name": "again", "description": "d", "clientKey": "hf-1"})).send().await.unwrap();
    grpc_status(dup, StatusCode::CONFLICT, 6).await;

    let r = authed(c.get(format!("{runs}/{id}")), t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let etag = header(&r, "etag");
    assert_eq!(json(r).await["run"]["name"], "hotfire-1");

    // The fixture run and ours, one page at a time.
    let r = authed(c.get(format!("{runs}?pageSize=1")), t).send().await.unwrap();
    let page = json(r).await;
    assert_eq!(page["runs"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["runs"][0]["runId"], RUN);
    let token = page["nextPageToken"].as_str().unwrap();
    let page = json(authed(c.get(format!("{runs}?pageSize=1&pageToken={token}")), t).send().await.unwrap()).await;
    assert_eq!(page["runs"][0]["runId"], id.as_str());
    assert_eq!(page["nextPageToken"], "");

    // Only the masked field changes, whatever else the run in the body says.
    let body = json!({"run": {"runId": id, "name": "hotfire-1b", "description": "ignored"}, "updateMask": "name"});
    let r = authed(c.patch(&runs), t).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(header(&r, "etag"), etag);
    let run = json(r).await["run"].clone();
    assert_eq!((run["name"].as_str(), run["description"].as_str()), (Some("hotfire-1b"), Some("first")));

    let stale = authed(c.patch(&runs), t).header("If-Match", &etag).json(&body).send().await.unwrap();
    grpc_status(stale, StatusCode::PRECONDITION_FAILED, 9).await;
    let bad_mask = json!({"run": {"runId": id}, "updateMask": "created_date"});
    grpc_status(authed(c.patch(&runs), t).json(&bad_mask).send().await.unwrap(), StatusCode::BAD_REQUEST, 3).await;
    let set_key = json!({"run": {"runId": id, "clientKey": "other"}, "updateMask": "client_key"});
    let body = grpc_status(authed(c.patch(&runs), t).json(&set_key).send().await.unwrap(), StatusCode::BAD_REQUEST, 9).await;
    assert!(body["message"].as_str().unwrap().contains("client_key"), "{body}");

    let r = authed(c.patch(format!("{runs}:stop")), t).json(&json!({"runId": id})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await, json!({}));
    let run = json(authed(c.get(format!("{runs}/{id}")), t).send().await.unwrap()).await["run"].clone();
    assert!(run["stopTime"].is_string(), "StopRun sets stopTime: {run}");

    let r = authed(c.delete(format!("{runs}/{id}")), t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await, json!({}));
    let gone = grpc_status(authed(c.get(format!("{runs}/{id}")), t).send().await.unwrap(), StatusCode::NOT_FOUND, 5).await;
    assert!(gone["message"].as_str().unwrap().contains(&id), "{gone}");
}

#[tokio::test]
async fn runs_v2_adhoc_runs_and_refusals() {
    let server = serve().await;
    let (c, base, t) = (client(), server.url(), "tok-adhoc");
    let adhoc = format!("{base}/api/v2/runs:adhoc");
    let body = json!({"name": "taxi", "description": "d", "startTime": "2024-05-12T10:00:00Z", "stopTime": "2024-05-12T11:00:00Z", "assetIds": ["a1"]});
    let r = authed(c.post(&adhoc), t).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let run = json(r).await["run"].clone();
    assert_eq!((run["isAdhoc"].as_bool(), run["assetIds"].clone()), (Some(true), json!(["a1"])));

    let backwards =
        json!({"name": "x", "description": "d", "startTime": "2024-05-12T11:00:00Z", "stopTime": "2024-05-12T10:00:00Z", "assetIds": []});
    grpc_status(authed(c.post(&adhoc), t).json(&backwards).send().await.unwrap(), StatusCode::BAD_REQUEST, 3).await;
    let missing = json!({"name": "x"});
    grpc_status(authed(c.post(&adhoc), t).json(&missing).send().await.unwrap(), StatusCode::BAD_REQUEST, 3).await;
    grpc_status(c.post(&adhoc).json(&body).send().await.unwrap(), StatusCode::UNAUTHORIZED, 16).await;
}

#[tokio::test]
async fn jobs_v1_retry_a_failed_job_and_cancel_a_running_one() {
    let server = serve().await;
    let (c, base, t) = (client(), server.url(), "tok-jobs");
    let jobs = format!("{base}/api/v1/jobs");

    let list = json(authed(c.get(&jobs), t).send().await.unwrap()).await;
    let ids: Vec<&str> = list["jobs"].as_array().unwrap().iter().filter_map(|j| j["jobId"].as_str()).collect();
    assert!(ids.contains(&FAILED_JOB) && ids.contains(&RUNNING_JOB), "{list}");
    let org = list["jobs"][0]["organizationId"].as_str().unwrap();
    let mine = json(authed(c.get(format!("{jobs}?organizationId={org}")), t).send().await.unwrap()).await;
    assert_eq!(mine["jobs"].as_array().map(Vec::len), Some(3), "{mine}");
    let none = json(authed(c.get(format!("{jobs}?organizationId=someone-else")), t).send().await.unwrap()).await;
    assert_eq!(none, json!({"jobs": [], "nextPageToken": ""}));

    let r = authed(c.post(format!("{jobs}/{FAILED_JOB}:retry")), t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["job"]["jobStatus"], "JOB_STATUS_CREATED");
    let again =
        grpc_status(authed(c.post(format!("{jobs}/{FAILED_JOB}:retry")), t).send().await.unwrap(), StatusCode::BAD_REQUEST, 9).await;
    assert!(again["message"].as_str().unwrap().contains("JOB_STATUS_CREATED"), "{again}");

    let r = authed(c.post(format!("{jobs}/{RUNNING_JOB}:cancel")), t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await, json!({}));
    let list = json(authed(c.get(&jobs), t).send().await.unwrap()).await;
    let running = list["jobs"].as_array().unwrap().iter().find(|j| j["jobId"] == RUNNING_JOB).unwrap();
    assert_eq!(running["jobStatus"], "JOB_STATUS_CANCEL_REQUESTED");

    grpc_status(authed(c.post(format!("{jobs}/no-such-job:retry")), t).send().await.unwrap(), StatusCode::NOT_FOUND, 5).await;
}

#[tokio::test]
async fn lineage_runs_move_through_their_states() {
    let server = serve().await;
    let (c, base) = (client(), server.url());
    let api = format!("{base}/api/v1");
    let runs = format!("{api}/namespaces/demo/jobs/demo-job/runs");

    let chosen = "5b0c8e1a-2f3d-4c5e-8a7b-9c0d1e2f3a4b";
    let r = c.post(&runs).json(&json!({"id": chosen, "args": {"email": "me@example.com"}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(header(&r, "location"), format!("/api/v1/jobs/runs/{chosen}"));
    let run = json(r).await;
    assert_eq!((run["id"].as_str(), run["state"].as_str()), (Some(chosen), Some("NEW")));
    assert_eq!(run["startedAt"], Value::Null);

    let r = c.post(&runs).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "the body is optional");
    let other = json(r).await["id"].as_str().unwrap().to_string();

    let page = json(c.get(format!("{runs}?limit=2&offset=1")).send().await.unwrap()).await;
    assert_eq!(page["totalCount"], 3, "the fixture run and two new ones: {page}");
    assert_eq!(page["runs"].as_array().map(Vec::len), Some(2));
    let elsewhere = json(c.get(format!("{api}/namespaces/demo/jobs/other-job/runs")).send().await.unwrap()).await;
    assert_eq!(elsewhere, json!({"runs": [], "totalCount": 0}));

    let r = c.post(format!("{api}/jobs/runs/{chosen}/start?at=2026-01-01T00:00:00Z")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let run = json(r).await;
    assert_eq!((run["state"].as_str(), run["startedAt"].as_str()), (Some("RUNNING"), Some("2026-01-01T00:00:00Z")));
    let run = json(c.post(format!("{api}/jobs/runs/{chosen}/complete?at=2026-01-01T00:00:01.5Z")).send().await.unwrap()).await;
    assert_eq!((run["state"].as_str(), run["durationMs"].as_i64()), (Some("COMPLETED"), Some(1500)), "{run}");
    assert_eq!(json(c.get(format!("{api}/jobs/runs/{chosen}")).send().await.unwrap()).await["state"], "COMPLETED");

    let r = c.post(format!("{api}/jobs/runs/{chosen}/abort")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = json(r).await;
    assert_eq!(body["code"], 400);
    assert!(body["message"].as_str().unwrap().contains("COMPLETED"), "{body}");

    assert_eq!(json(c.post(format!("{api}/jobs/runs/{other}/fail")).send().await.unwrap()).await["state"], "FAILED");
    let r = c.get(format!("{api}/jobs/runs/7d3c3a0e-0000-4000-8000-000000000000")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["code"], 404);
    let r = c.get(format!("{api}/jobs/runs/{chosen}/facets")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "facets need ?type=");
}

#[tokio::test]
async fn fielding_runs_use_etags_and_a_state_machine() {
    let server = serve().await;
    let (c, base, t) = (client(), server.url(), "tok-fielding");
    let run = format!("{base}{FIELDING}/{FIELDING_RUN}");

    let r = fielding(c.get(&run), t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "etag"), r#"W/"1234""#);
    assert_eq!(json(r).await["status"], "Scheduled");

    let period = json!({"start_fielding_at": "2036-01-01T00:00:00Z", "end_fielding_at": "2036-02-01T00:00:00Z"});
    let r = fielding(c.put(&run), t).header("If-Match", r#"W/"1234""#).json(&period).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&r, "etag"), r#"W/"1235""#);
    assert_eq!(json(r).await, json!({"id": FIELDING_RUN}));

    let r = fielding(c.put(&run), t).header("If-Match", r#"W/"1234""#).json(&period).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let body = json(r).await;
    assert_eq!(body["object"], "precondition_failed_error");
    assert!(body["id"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("1235"), "{body}");

    let past = json!({"start_fielding_at": "2020-01-01T00:00:00Z", "end_fielding_at": "2036-02-01T00:00:00Z"});
    let r = fielding(c.put(&run), t).header("If-Match", r#"W/"1235""#).json(&past).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["object"], "bad_request_error");
    let backwards = json!({"start_fielding_at": "2036-03-01T00:00:00Z", "end_fielding_at": "2036-02-01T00:00:00Z"});
    let r = fielding(c.put(&run), t).header("If-Match", r#"W/"1235""#).json(&backwards).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = fielding(c.get(&run), t).send().await.unwrap();
    let current = json(r).await;
    assert_eq!((current["version"].as_i64(), current["start_fielding_at"].as_str()), (Some(1235), Some("2036-01-01T00:00:00Z")));
    // The spec says `format: uuid`: the caller is named by a uuid derived from its credential.
    let by = current["last_changed_by"].as_str().unwrap_or_else(|| panic!("{current}"));
    assert!(uuid::Uuid::parse_str(by).is_ok() && by != "5d3c2b1a-9e8f-4a7b-8c6d-1e2f3a4b5c6d", "{by}");
    // As the vendor declares them: If-Match optional, the id any string.
    let r = fielding(c.put(&run), t).json(&period).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED, "If-Match is optional");
    assert_eq!(header(&r, "etag"), r#"W/"1236""#);
    let r = fielding(c.get(format!("{base}{FIELDING}/fr-42")), t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "an id in another format is looked up, not refused");

    // A second credential for the state machine: one credential's 20-request burst (the spec's
    // rate limit) is about what this test sends in all.
    let t = "tok-fielding-states";
    let r = fielding(c.post(format!("{run}/pause")), t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a scheduled run cannot be paused");
    assert_eq!(json(r).await["object"], "invalid_state_error");

    let r = fielding(c.post(format!("{run}/launch-now")), t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["end_fielding_at"], "2036-02-01T00:00:00Z");
    for (action, status) in [("pause", "Paused"), ("resume", "Live"), ("complete", "Completed")] {
        let r = fielding(c.post(format!("{run}/{action}")), t).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{action}");
        assert_eq!(json(fielding(c.get(&run), t).send().await.unwrap()).await["status"], status, "after {action}");
    }
    let list = json(fielding(c.get(format!("{base}{FIELDING}")), t).send().await.unwrap()).await;
    assert_eq!((list["data"][0]["status"].as_str(), list["has_more"].as_bool()), (Some("Completed"), Some(false)), "{list}");
    let other_group = format!("{base}/v1/demand/accounts/1/projects/demo-project/target-groups/other/fielding-runs/{FIELDING_RUN}");
    assert_eq!(fielding(c.get(other_group), t).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    let r = c.get(&run).bearer_auth(t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "Cint-API-Version is required");
    let r = c.get(&run).header("Cint-API-Version", "2025-02-17").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(r).await["object"], "authorization_error");
}

#[tokio::test]
async fn fielding_runs_rate_limit_a_fast_client_with_retry_after() {
    let server = serve().await;
    let (c, t) = (client(), "tok-fast");
    let run = format!("{}{FIELDING}/{FIELDING_RUN}", server.url());
    let mut limited = None;
    // The spec allows 20 requests at once per credential; the next ones within the second wait.
    for _ in 0..40 {
        let r = fielding(c.get(&run), t).send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = limited.expect("a 429 within 40 requests");
    let wait: u64 = header(&r, "retry-after").parse().expect("Retry-After in whole seconds");
    assert!(wait >= 1, "{wait}");
    let body = json(r).await;
    assert_eq!(body["object"], "too_many_requests_problem_details", "{body}");
    // Another credential has a bucket of its own.
    assert_eq!(fielding(c.get(&run), "tok-other").send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_racing_fielding_run_writers_have_one_winner() {
    let server = serve().await;
    let c = client();
    let run = format!("{}{FIELDING}/{FIELDING_RUN}", server.url());
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (c, run) = (c.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let day = format!("2036-01-{:02}T00:00:00Z", i % 28 + 1);
            let period = json!({"start_fielding_at": day, "end_fielding_at": "2036-06-01T00:00:00Z"});
            // A credential each: the spec's rate limit counts per credential.
            let r = fielding(c.put(&run), &format!("tok-writer-{i}")).header("If-Match", r#"W/"1234""#).json(&period).send().await.unwrap();
            (r.status(), day)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let winners: Vec<&String> = results.iter().filter(|(s, _)| *s == StatusCode::ACCEPTED).map(|(_, d)| d).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(results.iter().filter(|(s, _)| *s == StatusCode::PRECONDITION_FAILED).count(), 63);
    let r = fielding(c.get(&run), "tok-reader").send().await.unwrap();
    assert_eq!(header(&r, "etag"), r#"W/"1235""#);
    assert_eq!(json(r).await["start_fielding_at"], winners[0].as_str());
}
