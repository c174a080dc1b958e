//! Numbers at the edges of their declared formats, over real HTTP: a value that `format: double`
//! or `float` cannot hold is unreadable input (400, with the field's pointer) wherever it sits
//! (body, query, path, header), never stored or echoed; integer formats are ranges (422); values
//! inside the ranges, and numbers without a format, are kept exactly as sent.

mod common;

use common::{client, json, pointers};
use reqwest::StatusCode;
use serde_json::Value;

async fn server() -> specstub::Server {
    common::stateful("numbers.yaml").start().await.expect("starts")
}

async fn create(server: &specstub::Server, body: &str) -> (StatusCode, Value) {
    let r = client()
        .post(format!("{}/measurements", server.url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, json(r).await)
}

fn at(body: &Value, location: &str, pointer: &str) -> bool {
    pointers(body).contains(&(location.to_string(), pointer.to_string()))
}

#[tokio::test]
async fn a_double_beyond_f64_is_a_400_with_the_fields_pointer_and_is_not_stored() {
    // Arrange
    let server = server().await;
    for (body, pointer) in [
        (r#"{"numberValue": 1e400}"#, "/numberValue"),
        (r#"{"numberValue": -1e400}"#, "/numberValue"),
        (r#"{"numberValue": 1.8e308}"#, "/numberValue"),
        (r#"{"readings": [1.5, 2e308]}"#, "/readings/1"),
    ] {
        // Act
        let (status, problem) = create(&server, body).await;
        // Assert
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
        assert!(at(&problem, "body", pointer), "{body}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("cannot be represented as a double"), "{problem}");
    }
    let list = json(client().get(format!("{}/measurements", server.url())).send().await.unwrap()).await;
    assert_eq!(list, Value::Array(vec![]), "nothing unrepresentable was stored");
}

#[tokio::test]
async fn a_float_beyond_f32_is_a_400_and_other_violations_are_still_listed() {
    let server = server().await;
    let (status, problem) = create(&server, r#"{"floatValue": 1e39, "intValue": "many"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(at(&problem, "body", "/floatValue") && at(&problem, "body", "/intValue"), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("cannot be represented as a float"), "{problem}");
    // Within the range, and a tiny value that rounds towards zero as any client's would.
    let (status, created) = create(&server, r#"{"floatValue": 3.4e38, "numberValue": 1e-400}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["floatValue"].to_string(), "3.4e+38");
}

#[tokio::test]
async fn integer_formats_are_ranges_answered_with_422() {
    let server = server().await;
    for (body, pointer) in [
        (r#"{"intValue": 2147483648}"#, "/intValue"),
        (r#"{"intValue": -2147483649}"#, "/intValue"),
        (r#"{"longValue": 9223372036854775808}"#, "/longValue"),
        (r#"{"longValue": 1e19}"#, "/longValue"),
    ] {
        let (status, problem) = create(&server, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert!(at(&problem, "body", pointer), "{body}: {problem}");
    }
    let (status, created) = create(&server, r#"{"intValue": 2147483647, "longValue": -9223372036854775808}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["intValue"].to_string().as_str(), created["longValue"].to_string().as_str()),
        ("2147483647", "-9223372036854775808")
    );
}

#[tokio::test]
async fn numeric_query_path_and_header_parameters_are_held_to_their_formats() {
    let server = server().await;
    let c = client();
    let r = c.get(format!("{}/measurements?above=1e400&ratio=-1e39", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let problem = json(r).await;
    assert!(at(&problem, "query", "/above") && at(&problem, "query", "/ratio"), "{problem}");
    let r = c.get(format!("{}/measurements?page=2147483648&cursor=9223372036854775808", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = json(r).await;
    assert!(at(&problem, "query", "/page") && at(&problem, "query", "/cursor"), "{problem}");
    let r = c.get(format!("{}/measurements", server.url())).header("x-scale", "-1e309").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(at(&json(r).await, "header", "/x-scale"));
    // A path parameter would be echoed into the answer: refused rather than sent back as 1e+400.
    let r = c.get(format!("{}/scales/1e400", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(at(&json(r).await, "path", "/factor"));
    let r =
        c.get(format!("{}/measurements?above=1.5e300&ratio=0.25&page=7&cursor=-9223372036854775808", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn numbers_without_a_binary_format_are_kept_exactly_as_sent() {
    let server = server().await;
    let (status, created) = create(&server, r#"{"plain": 1e400, "numberValue": 0.10000000000000000000001}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["measurementId"].as_str().unwrap();
    let read = client().get(format!("{}/measurements/{id}", server.url())).send().await.unwrap().text().await.unwrap();
    assert!(read.contains("\"plain\":1e+400") && read.contains("0.10000000000000000000001"), "{read}");
}
