//! What Stripe's clients rely on, against a small document written the way Stripe's description
//! is (tests/data/stripe-mini.yaml): a POST to the item updates it, `livemode` reads false,
//! `expand[0]=…` is an array, errors come as `{error: {type, code, message, param}}` without
//! placeholder fields, and a stored record never answers a field in its request shape.
//! benches/stripe.sh runs Stripe's own Python client against the full description.

mod common;

use common::{assert_no_violations, client, json, stateful};
use reqwest::StatusCode;
use serde_json::{Value, json};

const FORM: &str = "application/x-www-form-urlencoded";
const KEY: &str = "Bearer sk_test_specstub";

async fn post(url: &str, body: &str) -> (StatusCode, Value) {
    let r = client().post(url).header("authorization", KEY).header("content-type", FORM).body(body.to_string()).send().await.unwrap();
    (r.status(), json(r).await)
}

async fn get(url: &str) -> (StatusCode, Value) {
    let r = client().get(url).header("authorization", KEY).header("stripe-version", "2025-09-30.clover").send().await.unwrap();
    (r.status(), json(r).await)
}

#[tokio::test]
async fn a_post_to_the_item_updates_the_record_and_the_read_shows_it() {
    let server = stateful("stripe-mini.yaml").start().await.unwrap();
    let base = format!("{}/v1/customers", server.url());

    let (status, created) = post(&base, "email=ada%40example.com&name=Ada&metadata[order]=1").await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap_or_else(|| panic!("an id: {created}")).to_string();
    assert_eq!((created["object"].as_str(), created["livemode"].as_bool()), (Some("customer"), Some(false)), "{created}");
    assert!(created["created"].is_i64(), "{created}");
    let (status, updated) = post(&format!("{base}/{id}"), "name=Ada+King&metadata[order]=2").await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, read) = get(&format!("{base}/{id}")).await;

    assert_eq!(read["name"], "Ada King");
    assert_eq!(read["email"], "ada@example.com", "the update keeps what it did not send: {read}");
    assert_eq!(read["metadata"], json!({"order": "2"}));
    assert_eq!(read, updated);
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn the_list_is_stripes_envelope_with_the_created_records() {
    let server = stateful("stripe-mini.yaml").start().await.unwrap();
    let base = format!("{}/v1/customers", server.url());
    let (_, created) = post(&base, "email=ada%40example.com").await;

    let (status, page) = get(&format!("{base}?limit=10")).await;

    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        (page["object"].as_str(), page["url"].as_str(), page["has_more"].as_bool()),
        (Some("list"), Some("/v1/customers"), Some(false))
    );
    assert_eq!(page["data"], json!([created]));
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn expand_sent_as_an_indexed_deep_object_is_an_array() {
    let server = stateful("stripe-mini.yaml").start().await.unwrap();
    let base = format!("{}/v1/customers", server.url());
    let (_, created) = post(&base, "email=ada%40example.com").await;
    let item = format!("{base}/{}", created["id"].as_str().unwrap());

    for query in ["expand[0]=cash_balance&expand[1]=metadata", "expand%5B0%5D=cash_balance", "expand[]=cash_balance"] {
        let (status, body) = get(&format!("{item}?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
    }
    let (status, body) = get(&format!("{item}?expand[0]={}", "x".repeat(5001))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an item is still checked: {body}");
}

#[tokio::test]
async fn an_unknown_customer_is_an_invalid_request_error_saying_what_is_missing() {
    let server = stateful("stripe-mini.yaml").start().await.unwrap();

    let (status, body) = get(&format!("{}/v1/customers/cus_missing", server.url())).await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    let error = &body["error"];
    assert_eq!(error["type"], "invalid_request_error", "{body}");
    let message = error["message"].as_str().unwrap_or_else(|| panic!("a message: {body}"));
    assert!(message.contains("cus_missing"), "{message}");
    // Only what explains the error: no placeholder charge, doc_url or whole payment intent.
    let mut fields: Vec<&str> = error.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(fields, ["code", "message", "type"], "{body}");
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn a_bad_parameter_names_itself_in_param() {
    let server = stateful("stripe-mini.yaml").start().await.unwrap();

    let (status, body) = post(&format!("{}/v1/customers", server.url()), "metadata[order][deep]=1").await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["param"], "metadata", "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("/metadata"), "{body}");
}

#[tokio::test]
async fn a_field_sent_in_its_create_shape_is_not_answered_against_the_resource_schema() {
    let server = stateful("stripe-mini.yaml").start().await.unwrap();
    let base = format!("{}/v1/customers", server.url());

    // The create parameter `cash_balance` is `{settings: {reconciliation_mode}}`; the customer's
    // `cash_balance` is a whole cash balance object, which the request does not make.
    let (status, created) = post(&base, "email=ada%40example.com&cash_balance[settings][reconciliation_mode]=manual").await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (_, read) = get(&format!("{base}/{}", created["id"].as_str().unwrap())).await;

    assert_eq!(read["email"], "ada@example.com");
    assert!(read.get("cash_balance").is_none(), "{read}");
    assert_no_violations(&server).await;
}
