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

    options.include = vec!["gadgets".into(), "createWidget".into()];
    options.exclude.clear();
    let result = verify_provider(&set, &options).await.unwrap();
    assert!(result.ok, "an inconclusive result beside a pass does not fail a run");
    options.fail_on_inconclusive = true;
    let result = verify_provider(&set, &options).await.unwrap();
    assert!(!result.ok);

    // Nothing but inconclusive results prove nothing.
    options.include = vec!["gadgets".into()];
    options.fail_on_inconclusive = false;
    let result = verify_provider(&set, &options).await.unwrap();
    assert!(!result.ok);
    assert!(result.vacuous.as_deref().unwrap().starts_with("nothing passed"), "{:?}", result.vacuous);
    assert!(result.to_text().contains("hint: let an earlier operation produce gadgetId"), "{}", result.to_text());
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

/// (operation, outcome) of every operation of a report, in report order.
fn outcomes(result: &specstub::Report) -> Vec<(String, Outcome)> {
    result.operations.iter().map(|o| (o.operation.clone(), o.outcome)).collect()
}

/// Every FAIL of a report, one line each: operation, then its violations or reason.
fn failures(result: &specstub::Report) -> Vec<String> {
    let mut out = Vec::new();
    for op in result.operations.iter().filter(|o| o.outcome == Outcome::Failed) {
        for c in op.cases.iter().filter(|c| c.outcome == Outcome::Failed) {
            let why: Vec<String> = if c.violations.is_empty() {
                vec![c.reason.clone().unwrap_or_default()]
            } else {
                c.violations.iter().map(ToString::to_string).collect()
            };
            out.push(format!("{} ({}): {}", op.operation, c.name, why.join("; ")));
        }
    }
    out
}

/// A server that already saw verify's writes (a second run, a run after a reset) gets the same
/// verdicts: verify's stateful sequences hold up against a provider that is not fresh.
#[tokio::test]
async fn verify_twice_in_a_row_and_after_a_reset_gives_the_same_verdicts() {
    same_verdicts_when_run_again(&["marquez-runs.yaml", "sift-runs-v2.yaml"]).await;
}

/// The documents whose actions only act on fixture records: the first run moves those records
/// through their state machine, so the second finds other states.
#[tokio::test]
#[ignore = "state machines on fixture records: sift-jobs-v1 JobService_CancelJob/RetryJob and cint-fielding-runs' \
            actions are refused (400/422) on the second run for the states the first left, and the fixtures' \
            start_fielding_at is in the past by then; verify has no create to start these from"]
async fn verify_twice_against_state_machines_on_fixtures() {
    same_verdicts_when_run_again(&["cint-fielding-runs.yaml", "sift-jobs-v1.yaml"]).await;
}

async fn same_verdicts_when_run_again(names: &[&str]) {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let (mut report, mut differ) = (Vec::new(), Vec::new());
    for spec in bundled_specs().into_iter().filter(|s| names.iter().any(|n| s.ends_with(n))) {
        let server = specstub::Server::builder(&spec).fixtures(&fixtures).start().await.expect("serves");
        let set = Config { specs: vec![spec.clone()], ..Default::default() };
        let mut options = Options::new(server.url());
        options.token = Some("contract-test".into());
        let first = verify_provider(&set, &options).await.unwrap();
        let second = verify_provider(&set, &options).await.unwrap();
        server.reset().expect("resets");
        let third = verify_provider(&set, &options).await.unwrap();
        let name = spec.file_name().unwrap().to_string_lossy().into_owned();
        assert!(first.summary.passed > 0, "{name}:\n{}", first.to_text());
        for (run, other) in [("second run", &second), ("after a reset", &third)] {
            if outcomes(&first) != outcomes(other) {
                differ.push(format!("{name}, {run}:\n{}\n{}", first.to_text(), other.to_text()));
            }
        }
        for (run, r) in [("first run", &first), ("second run", &second), ("after a reset", &third)] {
            report.extend(failures(r).into_iter().map(|f| format!("{name} ({run}): {f}")));
        }
    }
    // specstub's own answers that break its bundled documents, for whoever fixes the engine.
    if !report.is_empty() {
        eprintln!("verify FAILs against specstub serving the bundled specs:\n{}", report.join("\n"));
    }
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
}

/// The ids verify reuses, and so the verdicts, do not depend on which request finished first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_and_inputs_are_the_same_at_any_concurrency() {
    for spec in bundled_specs() {
        let mut runs = Vec::new();
        for concurrency in [1, 8] {
            let server = specstub::Server::builder(&spec).start().await.expect("serves");
            let set = Config { specs: vec![spec.clone()], ..Default::default() };
            let mut options = Options::new(server.url());
            options.token = Some("contract-test".into());
            options.concurrency = concurrency;
            let result = verify_provider(&set, &options).await.unwrap();
            // Generated ids differ between servers; where each input came from must not.
            let sources = common::verdict_sources(&result);
            runs.push((sources, result.to_text()));
        }
        assert_eq!(runs[0].0, runs[1].0, "{}:\n{}\n{}", spec.display(), runs[0].1, runs[1].1);
    }
}

/// A credential the documents require that is missing or empty (`--token "$TOKEN"` with the
/// variable unset) fails the run, with one line on stderr saying why; so does an `--include`
/// that selects nothing. With the credential, the README's CI command passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_proves_nothing_exits_1() {
    let server = specstub::Server::builder(common::bundled("sift-runs-v2.yaml")).start().await.expect("serves");
    let target = server.url();
    let run =
        |args: Vec<String>| async move { tokio::task::spawn_blocking(move || common::bin().args(&args).output().unwrap()).await.unwrap() };
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = ["verify", "specs/sift-runs-v2.yaml", "--target", &target].iter().map(|s| s.to_string()).collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };

    let out = run(args(&["--token", ""])).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("proves nothing")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("require a credential") && lines[0].contains("--token is missing or empty"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("\ninconclusive (") && stdout.contains("hint: no credential was given"), "{stdout}");

    let out = run(args(&["--include", "NoSuchOperation", "--token", "T"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no operation selected"), "{}", String::from_utf8_lossy(&out.stderr));

    // The README's CI step, with its secret set.
    let dir = std::env::temp_dir().join(format!("specstub-verify-{}", uuid::Uuid::new_v4()));
    let junit = dir.join("reports/contract.xml").display().to_string();
    let out = run(args(&["--token", "ci-secret", "--junit", &junit])).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&junit).unwrap().contains("<testsuites"));
    let _ = std::fs::remove_dir_all(dir);
}

/// The library gives the same verdict: an `--include` that matches nothing is not a pass.
#[tokio::test]
async fn selecting_nothing_is_not_a_pass() {
    let server = common::start("verify-widgets.yaml").await;
    let mut options = Options::new(server.url());
    options.include = vec!["noSuchTag".into()];
    let result = verify_provider(&widgets(), &options).await.unwrap();
    assert!(!result.ok);
    assert_eq!(result.summary.excluded, 7);
    assert!(result.vacuous.as_deref().unwrap().starts_with("no operation selected"), "{:?}", result.vacuous);
}

/// Form bodies are sent as their `encoding` says (deepObject brackets, non-exploded lists), so
/// specstub's own form reader takes them as the JSON tree the schema describes.
#[tokio::test]
async fn form_bodies_are_encoded_as_the_media_type_says() {
    let server = common::start("forms.yaml").await;
    let set = Config { specs: vec![common::data("forms.yaml")], ..Default::default() };
    let mut options = Options::new(server.url());
    options.include = vec!["createCustomer".into()];
    let result = verify_provider(&set, &options).await.unwrap();
    let text = result.to_text();
    let case = &result.operations[0].cases[0];
    assert_eq!(case.outcome, Outcome::Passed, "{text}");
    assert!(case.notes.is_empty(), "{:?}", case.notes);
}

/// `text/plain` described by an object: specstub answers JSON text and verify judges what it
/// says, so a provider sending the right JSON passes and one missing a required field fails.
#[tokio::test]
async fn a_text_answer_with_an_object_schema_is_judged_as_json() {
    let set = Config { specs: vec![common::data("text-object.yaml")], ..Default::default() };
    let server = common::start("text-object.yaml").await;
    let result = verify_provider(&set, &Options::new(server.url())).await.expect("runs");
    assert!(result.ok && result.summary.failed == 0, "{}", result.to_text());

    let wrong = common::fake_server(|_req| async {
        Response::builder().header("content-type", "text/plain").body(Full::new(Bytes::from_static(b"{\"exists\":\"yes\"}"))).unwrap()
    })
    .await;
    let result = verify_provider(&set, &Options::new(&wrong)).await.expect("runs");
    assert_eq!(result.summary.failed, 1, "{}", result.to_text());
    assert!(result.to_text().contains("/exists"), "{}", result.to_text());
}
