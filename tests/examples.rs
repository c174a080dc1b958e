//! Documents whose examples contradict their schemas, and patterns only a backtracking regex
//! engine reads, over real HTTP: they serve (lint still warns, naming each example), answers
//! send generated data that matches the schema, and a client that asks for a wrong example by
//! name gets it, flagged in the violations header.

mod common;

use common::{bin, builder, client, json, stateful};
use reqwest::StatusCode;
use serde_json::{Value, json};

const VIOLATIONS: &str = "specstub-violations";

/// A pet as the schema says: an integer id and a string name.
#[track_caller]
fn assert_pet(v: &Value) {
    assert!(v["id"].is_i64() && v["name"].is_string(), "not a Pet: {v}");
}

#[test]
fn lint_warns_at_each_contradicting_example_and_exits_1_without_errors() {
    // Act
    let out = bin().args(["lint", "tests/data/examples.yaml"]).output().expect("binary runs");
    // Assert
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for pointer in [
        "/paths/~1pets/get/parameters/0/example",
        "/paths/~1pets/get/responses/200/content/application~1json/example",
        "/paths/~1pets/get/responses/200/content/application~1json/examples/bad/value",
        "/paths/~1pets/get/responses/400/content/application~1json/example",
        "/paths/~1pets/post/requestBody/content/application~1json/example",
        "/paths/~1pets/post/responses/201/content/application~1json/examples/bad/value",
        "/paths/~1pets~1{id}/delete/responses/200/content/application~1json/example",
    ] {
        let want = format!("tests/data/examples.yaml: {pointer}: warning: example does not match its schema");
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    assert!(text.contains(" 0 error(s)"), "{text}");
}

#[tokio::test]
async fn default_answers_send_data_that_matches_the_schema() {
    // Arrange
    let server = builder("examples.yaml").start().await.expect("serves despite its examples");
    let pets = format!("{}/pets", server.url());
    // Act
    let listed = client().get(&pets).send().await.unwrap();
    let created = client().post(&pets).json(&json!({"id": 1, "name": "Rex"})).send().await.unwrap();
    // Assert: no valid example, so generated data; a valid one after a wrong one, so that one.
    assert_eq!(listed.status(), StatusCode::OK);
    assert!(listed.headers().get(VIOLATIONS).is_none());
    assert_pet(&json(listed).await);
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(json(created).await, json!({"id": 3, "name": "Rex"}));
}

#[tokio::test]
async fn a_wrong_example_asked_for_by_name_is_sent_with_the_violations_header() {
    let server = builder("examples.yaml").start().await.unwrap();
    let r = client().get(format!("{}/pets", server.url())).header("prefer", "example=bad").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let why = r.headers()[VIOLATIONS].to_str().unwrap().to_string();
    assert!(why.contains("/paths/~1pets/get/responses/200/content/application~1json/examples/bad/value at /id"), "{why}");
    assert_eq!(json(r).await, json!({"id": "eight", "name": 8}));
}

#[tokio::test]
async fn error_and_delete_bodies_pass_over_wrong_examples_too() {
    // Arrange
    let server = stateful("examples.yaml").start().await.unwrap();
    let pets = format!("{}/pets", server.url());
    // Act
    let refused = client().get(format!("{pets}?limit=ten")).send().await.unwrap();
    let created = json(client().post(&pets).json(&json!({"id": 5, "name": "Tom"})).send().await.unwrap()).await;
    let id = created["id"].to_string();
    let deleted = client().delete(format!("{pets}/{id}")).send().await.unwrap();
    // Assert: the API's error shape with the schema's types, the delete's declared shape.
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error = json(refused).await;
    assert!(error["code"].is_number() && error["message"].is_string(), "{error}");
    assert_eq!(deleted.status(), StatusCode::OK);
    let body = json(deleted).await;
    assert!(body["deleted"].is_boolean(), "{body}");
}

#[tokio::test]
async fn a_lookahead_pattern_validates_requests_and_answers() {
    // Arrange
    let server = builder("lookahead.yaml").start().await.expect("a lookahead pattern serves");
    let users = format!("{}/users", server.url());
    // Act
    let admin = client().post(&users).json(&json!({"login": "admin-root"})).send().await.unwrap();
    let alice = client().post(&users).json(&json!({"login": "alice"})).send().await.unwrap();
    // Assert
    assert_eq!(admin.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = json(admin).await;
    assert!(problem["errors"][0]["pointer"] == "/login", "{problem}");
    assert_eq!(alice.status(), StatusCode::CREATED);
    let user = json(alice).await;
    let login = user["login"].as_str().unwrap_or_else(|| panic!("no login: {user}"));
    assert!(!login.starts_with("admin"), "{user}");
}
