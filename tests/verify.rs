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

/// Against a server that already saw writes, verify fails nothing and gives the same verdicts:
/// for each bundled document, two runs in a row, the README tour's writes (creates, a masked
/// PATCH, actions, an `If-Match` update), a third run, `POST /__specstub/reset` and a fourth. The
/// server's own self-check counts no answer that breaks its document.
///
/// Where verify can create what it acts on (runs), every run gives the same verdicts. The jobs and
/// fielding runs it acts on are fixture records with no create: a run moves them through their
/// state machine and the next finds them in other states, so an action or update that passed
/// may be refused there (a declared 4xx, INCONCLUSIVE, never FAIL); after the reset, the
/// verdicts are the first run's again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_twice_then_after_writes_and_a_reset_gives_the_same_verdicts() {
    let (mut failed, mut differ) = (Vec::new(), Vec::new());
    for spec in bundled_specs() {
        let name = spec.file_name().unwrap().to_string_lossy().into_owned();
        let server = common::bundled_server(&name).start().await.expect("serves");
        let set = Config { specs: vec![spec.clone()], ..Default::default() };
        let mut options = Options::new(server.url());
        options.token = Some("contract-test".into());
        let mut runs = Vec::new();
        for step in ["first run", "second run", "after the tour's writes", "after a reset"] {
            match step {
                "after the tour's writes" => tour(&name, &server.url()).await,
                "after a reset" => {
                    let reset = common::client()
                        .post(format!("{}/__specstub/reset", server.url()))
                        .header("content-type", "application/json")
                        .send()
                        .await
                        .unwrap();
                    assert!(reset.status().is_success(), "{name}: reset answered {}", reset.status());
                }
                _ => {}
            }
            let report = verify_provider(&set, &options).await.unwrap();
            failed.extend(failures(&report).into_iter().map(|f| format!("{name} ({step}): {f}")));
            runs.push((step, report));
        }
        let (_, first) = &runs[0];
        assert!(first.summary.passed > 0, "{name}:\n{}", first.to_text());
        let fixture_states = matches!(name.as_str(), "sift-jobs-v1.yaml" | "cint-fielding-runs.yaml");
        for (step, other) in &runs[1..] {
            let same = outcomes(first) == outcomes(other);
            if !same && (*step == "after a reset" || !fixture_states || !only_state_refusals(first, other)) {
                differ.push(format!("{name}, {step}:\n{}\n{}", first.to_text(), other.to_text()));
            }
        }
        common::assert_no_violations(&server).await;
    }
    assert!(failed.is_empty(), "verify FAILs against specstub serving the bundled specs:\n{}", failed.join("\n"));
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
}

/// Whether every verdict that differs between the runs is an action or update on a record that
/// passed in one and was refused for its state (a declared 4xx, inconclusive) in the other.
fn only_state_refusals(a: &specstub::Report, b: &specstub::Report) -> bool {
    a.operations.len() == b.operations.len()
        && a.operations.iter().zip(&b.operations).all(|(x, y)| {
            if x.outcome == y.outcome {
                return true;
            }
            let refused = |o: &specstub::OperationReport| {
                o.outcome == Outcome::Inconclusive && o.cases.iter().all(|c| c.status.is_some_and(|s| (400..500).contains(&s) && s != 404))
            };
            x.operation == y.operation
                && matches!(x.kind.as_str(), "action" | "update")
                && matches!((x.outcome, y.outcome), (Outcome::Passed, Outcome::Inconclusive) | (Outcome::Inconclusive, Outcome::Passed))
                && (refused(x) || refused(y))
        })
}

/// The README tour's writes for the bundled document `name`: each is answered with a status
/// its operation declares (an action refused for the state a run left is one of them).
async fn tour(name: &str, url: &str) {
    let c = common::client();
    let bearer = "Bearer dev";
    let mut sent: Vec<(String, reqwest::Response)> = Vec::new();
    macro_rules! send {
        ($label:expr, $req:expr) => {
            sent.push(($label.to_string(), $req.send().await.unwrap()))
        };
    }
    match name {
        "sift-runs-v2.yaml" => {
            let runs = format!("{url}/api/v2/runs");
            let fixture = "0f2f1e36-6a0c-4b43-9d68-0d4c1b2a3e01";
            let key = format!("tour-{}", uuid::Uuid::new_v4().simple());
            send!(
                "create",
                c.post(&runs)
                    .header("authorization", bearer)
                    .json(&json!({"name": "hotfire-7", "description": "engine test", "clientKey": key}))
            );
            let masked = json!({"run": {"runId": fixture, "name": "renamed", "description": "not in the mask"}, "updateMask": "name"});
            send!("masked PATCH", c.patch(&runs).header("authorization", bearer).json(&masked));
            let again = json!({"run": {"runId": fixture, "clientKey": "again"}, "updateMask": "client_key"});
            send!("client_key twice", c.patch(&runs).header("authorization", bearer).json(&again));
        }
        "sift-jobs-v1.yaml" => {
            send!("retry", c.post(format!("{url}/api/v1/jobs/job-failed-1:retry")).header("authorization", bearer));
            send!("cancel", c.post(format!("{url}/api/v1/jobs/job-running-1:cancel")).header("authorization", bearer));
        }
        "marquez-runs.yaml" => {
            let id = uuid::Uuid::new_v4().to_string();
            let body = json!({"id": id, "args": {"retries": "1"}});
            send!("create", c.post(format!("{url}/api/v1/namespaces/demo/jobs/demo-job/runs")).json(&body));
            for (action, at) in [("start", "?at=2026-01-01T09:00:00Z"), ("complete", "?at=2026-01-01T09:30:00Z"), ("abort", "")] {
                send!(action, c.post(format!("{url}/api/v1/jobs/runs/{id}/{action}{at}")));
            }
        }
        "cint-fielding-runs.yaml" => {
            let fr = format!(
                "{url}/v1/demand/accounts/1/projects/demo-project/target-groups/demo-target-group/fielding-runs/01BTGNYV6HRNK8K8VKZASZCFP1"
            );
            let version = ("cint-api-version", "2025-02-17");
            let read = c.get(&fr).header("authorization", bearer).header(version.0, version.1).send().await.unwrap();
            let etag = read.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            sent.push(("read".into(), read));
            let dates = json!({"start_fielding_at": "2036-01-05T08:00:00Z", "end_fielding_at": "2036-01-20T20:00:00Z"});
            send!(
                "If-Match PUT",
                c.put(&fr).header("authorization", bearer).header(version.0, version.1).header("if-match", etag).json(&dates)
            );
            for action in ["pause", "launch-now"] {
                send!(action, c.post(format!("{fr}/{action}")).header("authorization", bearer).header(version.0, version.1));
            }
        }
        other => panic!("no tour for {other}: add one"),
    }
    for (label, r) in sent {
        assert!(r.status().as_u16() < 500, "{name} tour, {label}: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
}

/// The ids verify reuses, and so the verdicts, do not depend on which request finished first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_and_inputs_are_the_same_at_any_concurrency() {
    for spec in bundled_specs() {
        let mut runs = Vec::new();
        for concurrency in [1, 4, 8] {
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
        for other in &runs[1..] {
            assert_eq!(runs[0].0, other.0, "{}:\n{}\n{}", spec.display(), runs[0].1, other.1);
        }
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

/// A provider where ids have a scope: hooks live under the team they were made in, the checkout's
/// sessions are not the reports' sessions, and `/orgs/{org}` wants a login.
async fn scoped_provider() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let url = common::fake_server(move |req: Request<Incoming>| {
        let (method, path) = (req.method().to_string(), req.uri().path().to_string());
        log.lock().unwrap().push(format!("{method} {path}"));
        async move {
            let json = |status: u16, body: Value| {
                Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.to_string())))
                    .unwrap()
            };
            let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
            match (method.as_str(), parts.as_slice()) {
                ("GET", ["orgs"]) => json(200, json!([{"id": 1, "login": "acme"}])),
                ("GET", ["orgs", login]) => json(200, json!({"id": 1, "login": login})),
                ("GET", ["teams"]) => json(200, json!([{"teamId": 77}])),
                ("POST", ["teams", team, "hooks"]) => json(201, json!({"id": format!("h-{team}"), "name": "web"})),
                ("GET", ["teams", team, "hooks", hook]) if *hook == format!("h-{team}") => json(200, json!({"id": hook, "name": "web"})),
                ("POST", ["checkout", "sessions"]) => json(201, json!({"id": "cs_1", "mode": "payment"})),
                _ => Response::builder().status(404).body(Full::new(Bytes::new())).unwrap(),
            }
        }
    })
    .await;
    (url, seen)
}

/// An id is reused only where it fits the parameter's schema and names the same resource: the
/// org's integer `id` is not sent as `{org}`, a hook is read under the team it was made in (not
/// under the team a list offered), and a checkout session's id is not sent for a report session.
#[tokio::test]
async fn ids_are_reused_only_in_their_own_scope_and_collection() {
    let (url, seen) = scoped_provider().await;
    let set = Config { specs: vec![common::data("verify-scopes.yaml")], ..Default::default() };
    let report = verify_provider(&set, &Options::new(&url)).await.unwrap();
    let text = report.to_text();
    let outcome = |id: &str| report.operations.iter().find(|o| o.operation == id).map(|o| o.outcome).unwrap();
    assert_eq!(report.summary.failed, 0, "{text}");
    assert_eq!(outcome("getHook"), Outcome::Passed, "{text}");
    assert_eq!(outcome("getReportSession"), Outcome::Inconclusive, "{text}");
    let seen = seen.lock().unwrap();
    assert!(!seen.iter().any(|r| r == "GET /orgs/1"), "the org's integer id was sent as its login: {seen:?}\n{text}");
    assert!(!seen.iter().any(|r| r == "GET /reports/sessions/cs_1"), "{seen:?}\n{text}");
}

/// A provider that refuses every request with 400, a status no operation declares.
async fn refusing_provider() -> String {
    common::fake_server(|_req: Request<Incoming>| async {
        Response::builder()
            .status(400)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(r#"{"message": "bad request"}"#)))
            .unwrap()
    })
    .await
}

/// A request verify cannot make valid (the document's schema allows no value) refused with an
/// undeclared 400 is inconclusive, with the reason; a valid one refused so is still a FAIL.
#[tokio::test]
async fn a_refused_request_that_breaks_the_document_is_inconclusive() {
    let url = refusing_provider().await;
    let set = Config { specs: vec![common::data("verify-impossible.yaml")], ..Default::default() };
    let report = verify_provider(&set, &Options::new(&url)).await.unwrap();
    let text = report.to_text();
    let op = |id: &str| report.operations.iter().find(|o| o.operation == id).unwrap();
    let impossible = op("search");
    assert_eq!(impossible.outcome, Outcome::Inconclusive, "{text}");
    let case = &impossible.cases[0];
    assert!(case.reason.as_deref().unwrap_or("").contains("a request that breaks the document"), "{text}");
    assert!(case.hint.as_deref().is_some_and(|h| h.contains("request example")), "{text}");
    assert!(case.violations.is_empty(), "{text}");
    assert_eq!(op("ping").outcome, Outcome::Failed, "{text}");
}

/// An example the document got wrong, served by specstub because the request named it
/// (`Prefer: example=bad`), is the document's error: inconclusive, saying so. The same body from
/// a provider that does not say so is judged by the schema: a FAIL.
#[tokio::test]
async fn an_example_that_contradicts_its_schema_is_the_documents_error() {
    let server = common::start("examples.yaml").await;
    let set = Config { specs: vec![common::data("examples.yaml")], ..Default::default() };
    let mut options = Options::new(server.url());
    options.include = vec!["listPets".into()];
    options.headers = vec![("Prefer".into(), "example=bad".into())];
    let report = verify_provider(&set, &options).await.unwrap();
    let text = report.to_text();
    let case = &report.operations[0].cases[0];
    assert_eq!(report.operations[0].outcome, Outcome::Inconclusive, "{text}");
    assert!(case.reason.as_deref().unwrap_or("").contains("the example \"bad\" does not match its schema"), "{text}");
    assert!(case.reason.as_deref().unwrap_or("").contains("the document's error"), "{text}");

    let plain = common::fake_server(|_req: Request<Incoming>| async {
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(r#"{"id": "eight", "name": 8}"#)))
            .unwrap()
    })
    .await;
    let mut options = Options::new(plain);
    options.include = vec!["listPets".into()];
    let report = verify_provider(&set, &options).await.unwrap();
    assert_eq!(report.operations[0].outcome, Outcome::Failed, "{}", report.to_text());
}
