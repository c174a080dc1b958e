//! What Prism users rely on, over real HTTP: the `__code`, `__example` and `__dynamic` query
//! overrides steer the answer as `Prefer` does and are no parameters of the operation, and
//! `--dynamic` makes generated data the default answer while `dynamic=false` still asks for the
//! example.

mod common;

use common::{builder, client, data, json, start};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn two() -> Value {
    json!([{"id": 1, "name": "Rex"}, {"id": 2, "name": "Tom"}])
}

/// Generated from the schema: of its shape, and neither example (the schema itself has none).
fn assert_generated(body: &Value) {
    let pets = body.as_array().unwrap_or_else(|| panic!("not an array: {body}"));
    assert!(!pets.is_empty(), "{body}");
    for pet in pets {
        assert!(pet["id"].is_i64() && pet["name"].is_string(), "{body}");
    }
    assert!(*body != two() && *body != json!([{"id": 3, "name": "Ann"}]), "an example, not generated: {body}");
}

#[tokio::test]
async fn the_code_query_override_answers_the_declared_status_in_strict_mode() {
    // Arrange
    let server = start("prism.yaml").await;
    // Act
    let r = client().get(format!("{}/pets?limit=2&__code=404", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await, json!({"message": "no pets"}));
}

#[tokio::test]
async fn the_example_query_override_picks_the_named_example() {
    // Arrange
    let server = start("prism.yaml").await;
    // Act
    let r = client().get(format!("{}/pets?__example=one", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await, json!([{"id": 3, "name": "Ann"}]));
}

#[tokio::test]
async fn the_dynamic_query_override_answers_with_data_generated_from_the_schema() {
    // Arrange
    let server = start("prism.yaml").await;
    // Act
    let r = client().get(format!("{}/pets?__dynamic=true", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::OK);
    assert_generated(&json(r).await);
}

#[tokio::test]
async fn an_undeclared_code_in_the_query_is_refused_like_the_prefer_header_refuses_it() {
    // Arrange
    let server = start("prism.yaml").await;
    // Act
    let r = client().get(format!("{}/pets?__code=418", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = json(r).await;
    assert!(body["detail"].as_str().unwrap().contains("404"), "the declared codes are listed: {body}");
}

#[tokio::test]
async fn the_query_override_wins_over_the_prefer_header() {
    // Arrange
    let server = start("prism.yaml").await;
    // Act
    let r = client().get(format!("{}/pets?__code=200", server.url())).header("prefer", "code=404").send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await, two());
}

#[tokio::test]
async fn the_overrides_are_journaled_as_sent_but_never_validated_as_parameters() {
    // Arrange
    let server = start("prism.yaml").await;
    // Act
    let steered = client().get(format!("{}/pets?__example=one&limit=1", server.url())).send().await.unwrap();
    let unknown = client().get(format!("{}/pets?__nope=1", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(steered.status(), StatusCode::OK);
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY, "only Prism's three are steering");
    let received = server.received();
    assert_eq!(received[0].validation, "valid");
    assert_eq!(received[0].query.get("__example"), Some(&json!(["one"])));
    assert_eq!(received[0].query.get("limit"), Some(&json!(["1"])));
}

#[tokio::test]
async fn with_dynamic_on_generated_data_is_the_default_and_dynamic_false_asks_for_the_example() {
    // Arrange
    let server = builder("prism.yaml").dynamic(true).start().await.unwrap();
    let url = format!("{}/pets", server.url());
    // Act
    let default = client().get(&url).send().await.unwrap();
    let by_header = client().get(&url).header("prefer", "dynamic=false").send().await.unwrap();
    let by_query = client().get(format!("{url}?__dynamic=false")).send().await.unwrap();
    let named = client().get(format!("{url}?__example=one")).send().await.unwrap();
    // Assert
    assert_generated(&json(default).await);
    assert_eq!(json(by_header).await, two());
    assert_eq!(json(by_query).await, two());
    assert_eq!(json(named).await, json!([{"id": 3, "name": "Ann"}]));
}

#[tokio::test]
async fn with_dynamic_on_a_stateful_operation_still_answers_from_the_store() {
    // Arrange
    let server = common::stateful("crud.yaml").dynamic(true).start().await.unwrap();
    let things = format!("{}/api/things", server.url());
    let created = json(client().post(&things).json(&json!({"name": "kettle"})).send().await.unwrap()).await;
    let id = created["thingId"].as_str().unwrap();
    // Act
    let read = client().get(format!("{things}/{id}")).send().await.unwrap();
    // Assert
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(json(read).await, created);
}

#[tokio::test]
async fn serve_dash_d_is_prisms_dynamic_flag() {
    // Arrange
    let spec = data("prism.yaml");
    let (mut child, url) = common::serve_bin(&["serve", "-d", "--stateless", "--port", "0", spec.to_str().unwrap()]);
    // Act
    let r = client().get(format!("{url}/pets")).send().await;
    child.kill().unwrap();
    child.wait().unwrap();
    // Assert
    let r = r.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_generated(&json(r).await);
}
