//! Answers stay inside what the operation declares, over real HTTP: the status an error is sent
//! with, its body (none where the response declares no content), its media type (text, XML) and
//! the response's required headers. Self-check counts no violation on any of them but the refusal
//! of an operation that declares no error at all.

mod common;

use common::{assert_no_violations, builder, client, json, stateful};
use reqwest::StatusCode;
use serde_json::json;

const DOC: &str = "statuses.yaml";

#[tokio::test]
async fn an_operation_declaring_only_a_success_still_refuses_and_self_check_names_the_status() {
    let server = builder(DOC).start().await.expect("starts");
    let r = client().post(format!("{}/only-ok", server.url())).json(&json!({"name": 7})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "its success would be as wrong");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let why = r.headers()["specstub-violations"].to_str().unwrap().to_string();
    assert!(why.contains("status 422 is not declared"), "{why}");
    assert!(json(r).await["errors"][0]["pointer"] == "/name");
    assert_eq!(common::self_check(&server).await.1, 1);
}

#[tokio::test]
async fn an_operation_declaring_only_default_answers_the_precise_status_in_its_shape() {
    let server = builder(DOC).start().await.expect("starts");
    let r = client().post(format!("{}/only-default", server.url())).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body = json(r).await;
    assert!(body["message"].as_str().unwrap().contains("name"), "{body}");
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn a_not_found_without_content_has_no_body_and_a_text_error_is_text() {
    let server = stateful(DOC).start().await.expect("starts");
    let missing = client().get(format!("{}/things/never-made", server.url())).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get("content-type").is_none());
    assert!(missing.bytes().await.unwrap().is_empty());
    let invalid = client().post(format!("{}/things", server.url())).json(&json!({"name": 7})).send().await.unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST, "the declared 400 for a 422");
    assert_eq!(invalid.headers()["content-type"], "text/plain");
    let text = invalid.text().await.unwrap();
    assert!(text.contains("does not match the spec") && text.contains("/name"), "{text}");
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn required_response_headers_come_with_errors_too_and_xml_errors_are_xml() {
    let server = builder(DOC).start().await.expect("starts");
    let url = format!("{}/headed", server.url());
    let ok = client().post(&url).json(&json!({"name": "n"})).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers()["x-trace-id"].to_str().unwrap().starts_with("t-"));
    let invalid = client().post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.headers()["x-trace-id"].to_str().unwrap().starts_with("t-"));
    assert_eq!(invalid.headers()["content-type"], "application/xml");
    let xml = invalid.text().await.unwrap();
    assert!(xml.contains("<Error>") && xml.contains("<message>"), "{xml}");
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn an_answer_no_value_satisfies_takes_the_declared_server_error() {
    let server = builder(DOC).start().await.expect("starts");
    let r = client().get(format!("{}/broken", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "the declared 5xx nearest to 500");
    assert_eq!(r.headers()["content-type"], "text/plain");
    let text = r.text().await.unwrap();
    assert!(text.contains("no value satisfies"), "{text}");
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn a_key_field_named_in_another_case_holds_the_stored_id() {
    let server = stateful(DOC).start().await.expect("starts");
    let created = json(client().post(format!("{}/gadgets", server.url())).json(&json!({"name": "g"})).send().await.unwrap()).await;
    let id = created["ID"].as_str().unwrap_or_else(|| panic!("{created}")).to_string();
    let read = client().get(format!("{}/gadgets/{id}", server.url())).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK, "the id the create gave out reads back");
    assert_eq!(json(read).await["name"], "g");
    assert_no_violations(&server).await;
}
