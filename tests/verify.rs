//! `specstub verify`: it passes against specstub itself serving each bundled document, and it
//! fails against a deliberately wrong provider with exactly that provider's violations, in the
//! text, JSON and JUnit reports and the exit code.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use specstub::{Config, VerifyOptions as Options, VerifyOutcome as Outcome, verify_provider};

/// A provider of `tests/data/verify-widgets.yaml` that gets some things wrong: a wrong type in
/// the list, a missing required field and a missing required header on read, an undeclared
/// status on update, HTML on the health check. Create and delete are right. It records the
/// requests it saw.
async fn wrong_provider() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let url = common::fake_server(move |req| {
        let answer = wrong_answer(&req, &log);
        async move { answer }
    })
    .await;
    (url, seen)
}

fn wrong_answer(req: &Request<Incoming>, log: &Mutex<Vec<String>>) -> Response<Full<Bytes>> {
    let (method, path) = (req.method().as_str(), req.uri().path());
    log.lock().unwrap().push(format!("{method} {path}"));
    let json = |status: u16, body: Value| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    match (method, path) {
        ("POST", "/api/widgets") => json(201, json!({"key": "w-1", "name": "gear", "size": 3})),
        ("GET", "/api/widgets") => json(200, json!({"items": [{"key": "w-1", "name": 5, "size": 3}]})),
        ("GET", "/api/widgets/w-1") => json(200, json!({"key": "w-1", "name": "gear"})),
        ("PATCH", "/api/widgets/w-1") => json(418, json!({"message": "I'm a teapot"})),
        ("DELETE", "/api/widgets/w-1") => Response::builder().status(204).body(Full::new(Bytes::new())).unwrap(),
        ("GET", "/api/health") => {
            Response::builder().status(200).header("content-type", "text/html").body(Full::new(Bytes::from("<p>ok</p>"))).unwrap()
        }
        _ => json(404, json!({"message": "not found"})),
    }
}

fn widgets() -> Config {
    Config { specs: vec![common::data("verify-widgets.yaml")], ..Default::default() }
}

/// (in, pointer, message) of a violation.
type Violation = (String, String, String);

/// (operation, outcome, violations) of each operation of a JSON report.
fn summary(report: &Value) -> Vec<(String, String, Vec<Violation>)> {
    report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| {
            let violations = op["cases"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["violations"].as_array().cloned().unwrap_or_default())
                .map(|v| {
                    (
                        v["in"].as_str().unwrap().to_string(),
                        v["pointer"].as_str().unwrap().to_string(),
                        v["message"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (op["operation"].as_str().unwrap().to_string(), op["outcome"].as_str().unwrap().to_string(), violations)
        })
        .collect()
}

#[tokio::test]
async fn a_wrong_provider_fails_with_exactly_its_violations() {
    let (url, seen) = wrong_provider().await;
    let set = widgets();
    let result = verify_provider(&set, &Options::new(&url)).await.expect("runs");
    let text = result.to_text();
    let json: Value = serde_json::from_str(&result.to_json()).unwrap();
    let got = summary(&json);
    let s = |x: &str| x.to_string();
    let want = vec![
        (s("createWidget"), s("passed"), vec![]),
        (s("listWidgets"), s("failed"), vec![(s("body"), s("/items/0/name"), s("5 is not of type \"string\""))]),
        (
            s("getHealth"),
            s("failed"),
            vec![(s("content-type"), s(""), s("Content-Type text/html is not declared for status 200; declared: application/json"))],
        ),
        (
            s("getWidget"),
            s("failed"),
            vec![(s("header"), s("/ETag"), s("required header ETag is missing")), (s("body"), s(""), s("\"size\" is a required property"))],
        ),
        (s("getGadget"), s("inconclusive"), vec![]),
        (s("updateWidget"), s("failed"), vec![(s("status"), s(""), s("status 418 is not declared (declared: 200, 404)"))]),
        (s("deleteWidget"), s("passed"), vec![]),
    ];
    assert_eq!(got, want, "{text}");
    assert!(!result.ok);
    assert_eq!((result.summary.passed, result.summary.failed, result.summary.inconclusive), (2, 4, 1), "{text}");

    // The link of createWidget's answer gave the id to read, change and delete, in that order.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.first().map(String::as_str), Some("POST /api/widgets"), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("DELETE /api/widgets/w-1"), "{seen:?}");
    let at = |r: &str| seen.iter().position(|s| s == r).unwrap_or_else(|| panic!("{r} not sent: {seen:?}"));
    assert!(at("GET /api/widgets/w-1") < at("PATCH /api/widgets/w-1"), "{seen:?}");
    let get = &result.operations.iter().find(|o| o.operation == "getWidget").unwrap().cases[0];
    assert!(get.inputs.iter().any(|i| i == "widgetId = w-1 (from createWidget link read: $response.body#/key)"), "{:?}", get.inputs);

    // A 404 for an id the spec's example gave says nothing about the contract.
    let gadget = &result.operations.iter().find(|o| o.operation == "getGadget").unwrap().cases[0];
    assert_eq!(gadget.status, Some(404));
    assert!(gadget.reason.as_deref().unwrap().contains("gadgetId from the spec"), "{:?}", gadget.reason);

    // The readable report names each violation under its operation, and sums up.
    assert!(text.contains("FAIL         updateWidget"), "{text}");
    assert!(text.contains("- header /ETag: required header ETag is missing"), "{text}");
    assert!(text.contains("verify: 2 passed, 4 failed, 1 inconclusive of 7 operation(s)"), "{text}");
}

#[tokio::test]
async fn include_exclude_and_inconclusive_as_failure() {
    let (url, _) = wrong_provider().await;
    let set = widgets();
    let mut options = Options::new(&url);
    options.include = vec!["widgets".into(), "getGadget".into()];
    options.exclude = vec!["listWidgets".into(), "updateWidget".into()];
    let result = verify_provider(&set, &options).await.unwrap();
    let ids: Vec<&str> = result.operations.iter().map(|o| o.operation.as_str()).collect();
    assert_eq!(ids, ["createWidget", "getWidget", "getGadget", "deleteWidget"]);
    assert_eq!(result.summary.excluded, 3);

    options.include = vec!["gadgets".into()];
    options.exclude.clear();
    let result = verify_provider(&set, &options).await.unwrap();
    assert!(result.ok, "inconclusive alone does not fail a run");
    options.fail_on_inconclusive = true;
    let result = verify_provider(&set, &options).await.unwrap();
    assert!(!result.ok);
}

#[tokio::test]
async fn a_target_that_does_not_answer_is_an_error_per_request() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let set = widgets();
    let mut options = Options::new(&url);
    options.include = vec!["getHealth".into()];
    let result = verify_provider(&set, &options).await.unwrap();
    let case = &result.operations[0].cases[0];
    assert!(case.error && case.outcome == Outcome::Failed && case.status.is_none(), "{case:?}");
    assert!(case.reason.as_deref().unwrap().starts_with("no answer: "), "{:?}", case.reason);
    assert!(result.to_junit().contains("<error message=\"no answer: "), "{}", result.to_junit());
    assert!(verify_provider(&set, &Options::new("127.0.0.1:4010")).await.is_err(), "a target without a scheme is refused");
}

/// Every bundled document, served by specstub with its store, verifies clean: nothing fails.
#[tokio::test]
async fn verify_passes_against_specstub_serving_each_bundled_spec() {
    for spec in bundled_specs() {
        let server = specstub::Server::builder(&spec).start().await.expect("serves");
        let set = Config { specs: vec![spec.clone()], ..Default::default() };
        let mut options = Options::new(server.url());
        options.token = Some("contract-test".into());
        let result = verify_provider(&set, &options).await.unwrap();
        let text = result.to_text();
        assert!(result.ok && result.summary.failed == 0, "{}:\n{text}", spec.display());
        assert!(result.summary.passed > 0, "{}:\n{text}", spec.display());
    }
}

/// Answering from the spec alone, every operation of every bundled document passes outright.
#[tokio::test]
async fn every_operation_passes_against_specstub_answering_from_the_spec() {
    for spec in bundled_specs() {
        let server = specstub::Server::builder(&spec).stateless(true).start().await.expect("serves");
        let set = Config { specs: vec![spec.clone()], ..Default::default() };
        let mut options = Options::new(server.url());
        options.token = Some("contract-test".into());
        let result = verify_provider(&set, &options).await.unwrap();
        let text = result.to_text();
        assert_eq!(result.summary.passed, result.summary.operations, "{}:\n{text}", spec.display());
    }
}

fn bundled_specs() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut specs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    specs.sort();
    assert!(!specs.is_empty());
    specs
}

/// The binary prints the report, writes JUnit and JSON, and exits 1 on failures, 0 without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_writes_junit_and_json_and_sets_the_exit_code() {
    let (url, _) = wrong_provider().await;
    let dir = std::env::temp_dir().join(format!("specstub-verify-{}", uuid::Uuid::new_v4()));
    let (junit, json) = (dir.join("reports/contract.xml"), dir.join("reports/contract.json"));
    let args: Vec<String> = vec![
        "verify".into(),
        "--spec".into(),
        "tests/data/verify-widgets.yaml".into(),
        "--target".into(),
        url.clone(),
        "--junit".into(),
        junit.display().to_string(),
        "--json".into(),
        json.display().to_string(),
        "--header".into(),
        "X-Contract-Test: 1".into(),
    ];
    let out = tokio::task::spawn_blocking(move || common::bin().args(&args).output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("verify: 2 passed, 4 failed, 1 inconclusive"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("<testsuites name=\"specstub verify\" tests=\"7\" failures=\"4\" errors=\"0\" skipped=\"1\""), "{xml}");
    assert!(xml.contains("<testcase classname=\"Widgets.widgets\" name=\"updateWidget PATCH /api/widgets/{widgetId}\""), "{xml}");
    assert!(xml.contains("status: status 418 is not declared (declared: 200, 404)"), "{xml}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["ok"], json!(false));
    assert_eq!(report["summary"]["failed"], json!(4));

    // Against specstub serving the same document, nothing fails.
    let server = common::start("verify-widgets.yaml").await;
    let target = server.url();
    let out = tokio::task::spawn_blocking(move || {
        common::bin().args(["verify", "tests/data/verify-widgets.yaml", "--target", &target, "--concurrency", "1"]).output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("verify: 7 passed, 0 failed, 0 inconclusive"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_cli_refuses_a_bad_target_with_exit_2() {
    let out = common::bin().args(["verify", "tests/data/verify-widgets.yaml", "--target", "localhost:1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http:// or https://"));
}
