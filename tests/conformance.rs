//! Answers checked against the schemas they claim, over real HTTP, with an independent
//! validator built here from the test document (tests/data/conformance.json): generated bodies
//! honour every keyword the document uses (counts, uniqueness, multiples, consts, nulls,
//! patterns, discriminators), a schema nothing satisfies answers a 500 problem that names it,
//! `Prefer: code` asks only for declared final statuses, and a declared 429 body says the wait
//! its `Retry-After` header gives.

mod common;

use common::{builder, client, data, json};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DOC: &str = "conformance.json";

/// A validator for the schema at `pointer` in the test document, resolving its `$ref`s there.
fn validator(pointer: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(data(DOC)).expect("test document");
    let mut doc: Value = serde_json::from_str(&text).expect("JSON");
    doc["$ref"] = json!(format!("#{pointer}"));
    jsonschema::options().should_validate_formats(true).build(&doc).expect("schema compiles")
}

#[track_caller]
fn assert_conforms(pointer: &str, body: &Value) {
    let v = validator(pointer);
    let errors: Vec<String> = v.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{body} breaks {pointer}: {errors:?}");
}

fn schema_of(path: &str, status: &str) -> String {
    format!("/paths/{}/get/responses/{status}/content/application~1json/schema", path.replace('/', "~1"))
}

#[tokio::test]
async fn generated_answers_conform_to_their_schemas_deterministic_and_dynamic() {
    let server = builder(DOC).start().await.expect("server starts");
    let c = client();
    for path in ["/bulk", "/things", "/pets"] {
        for prefer in [None, Some("dynamic=true")] {
            for _ in 0..if prefer.is_some() { 5 } else { 1 } {
                let mut req = c.get(format!("{}{path}", server.url()));
                if let Some(p) = prefer {
                    req = req.header("prefer", p);
                }
                let r = req.send().await.expect("answer");
                assert_eq!(r.status(), StatusCode::OK, "{path} {prefer:?}");
                let body = json(r).await;
                assert_conforms(&schema_of(path, "200"), &body);
            }
        }
    }
    let bulk = json(c.get(format!("{}/bulk", server.url())).send().await.unwrap()).await;
    assert_eq!(bulk.as_array().map(Vec::len), Some(3000), "minItems is honoured, not cut at a small cap");
    let thing = json(c.get(format!("{}/things", server.url())).send().await.unwrap()).await;
    assert_eq!(thing["nothing"], Value::Null, "default: null where null is allowed: {thing}");
    assert!(thing.get("secret").is_none(), "writeOnly never answers: {thing}");
    assert_ne!(thing["step"], json!(3), "an example that breaks the schema is not used: {thing}");
    let pets = json(c.get(format!("{}/pets", server.url())).header("prefer", "dynamic=true").send().await.unwrap()).await;
    for pet in pets.as_array().unwrap() {
        let expected = if pet.get("barks").is_some() { "dog" } else { "cat" };
        assert_eq!(pet["petType"], json!(expected), "the tag names the branch: {pet}");
    }
}

#[tokio::test]
async fn an_unsatisfiable_schema_answers_a_500_in_the_declared_error_shape_naming_it() {
    let server = builder(DOC).start().await.expect("server starts");
    let r = client().get(format!("{}/broken", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR, "`default` covers the 500");
    assert_eq!(r.headers()["content-type"], "application/json");
    let body = json(r).await;
    assert_conforms(&schema_of("/broken", "default"), &body);
    let detail = body["error"]["message"].as_str().unwrap_or_default();
    assert!(detail.contains("/components/schemas/Impossible/properties/age/minimum"), "{body}");
}

#[tokio::test]
async fn prefer_code_asks_only_for_declared_final_statuses() {
    let server = builder(DOC).start().await.expect("server starts");
    let c = client();
    for (code, status) in [("101", 400), ("100", 400), ("999", 400), ("600", 400), ("abc", 400), ("404", 404), ("503", 503)] {
        for how in ["header", "query"] {
            let url = format!("{}/broken", server.url());
            let req = match how {
                "header" => c.get(&url).header("prefer", format!("code={code}")),
                _ => c.get(format!("{url}?__code={code}")),
            };
            let r = req.send().await.unwrap_or_else(|e| panic!("code={code} ({how}): {e}"));
            assert_eq!(r.status().as_u16(), status, "code={code} ({how})");
            let body = json(r).await;
            if status == 400 {
                // In the operation's declared error shape, with the explanation in its message.
                assert_conforms(&schema_of("/broken", "default"), &body);
                let message = body["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains("declared: 200, default"), "{body}");
            } else {
                assert_conforms(&schema_of("/broken", "default"), &body);
            }
        }
    }
}

#[tokio::test]
async fn a_declared_429_body_names_the_wait_its_header_gives() {
    let server = builder(DOC).start().await.expect("server starts");
    let c = client();
    let url = format!("{}/limited", server.url());
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::OK);
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = r.headers()["retry-after"].to_str().unwrap().to_string();
    let body = json(r).await;
    assert_conforms(&schema_of("/limited", "429"), &body);
    let details = body["details"].as_str().unwrap_or_default();
    assert!(!details.contains("30 seconds"), "the example's stale sentence is replaced: {body}");
    assert!(details.contains(&format!("retry after {wait} second")), "{body} beside Retry-After: {wait}");
    // An injected fault answers in the declared shape for its status (here `default`), valid.
    let r = c.get(format!("{}/broken", server.url())).header("prefer", "fault=503").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let wait = r.headers()["retry-after"].to_str().unwrap().to_string();
    let body = json(r).await;
    assert_conforms(&schema_of("/broken", "default"), &body);
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("retry after {wait} second")) && message != "string", "{body}");
}

/// A document whose create answers a receipt and whose list answers a count: the store still
/// keeps the widget (its Location leads to it), but each answer is the one the document declares.
#[tokio::test]
async fn stateful_answers_the_declared_response_does_not_allow_come_from_the_document() {
    let server = common::stateful("misfit.yaml").self_check(true).start().await.expect("starts");
    let base = server.url();
    let r = client().post(format!("{base}/widgets")).json(&json!({"name": "gear"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).expect("Location of the stored widget");
    assert!(r.headers().get("specstub-violations").is_none(), "{:?}", r.headers());
    assert_eq!(json(r).await, json!("accepted"));

    let r = client().get(format!("{base}/widgets")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("specstub-violations").is_none(), "{:?}", r.headers());
    let listed = json(r).await;
    assert!(listed["count"].is_i64() && listed.as_object().unwrap().len() == 1, "{listed}");

    // The record itself fits its own read, so that one answers from the store.
    let url = if location.starts_with("http") { location } else { format!("{base}{location}") };
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["name"], "gear");
    common::assert_no_violations(&server).await;
}
