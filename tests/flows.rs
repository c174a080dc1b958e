//! Requests and responses read one document: a required `readOnly` property is required in
//! answers only, a required `writeOnly` one in requests only, with the validator's usual
//! messages, and the server's own answers meet the response's list (self-check).

mod common;

use common::{client, json, self_check, stateful};
use reqwest::StatusCode;
use serde_json::json;

const FLAGS: &str = "specstub-violations";

#[tokio::test]
async fn read_only_is_required_in_answers_only_and_write_only_in_requests_only() {
    // Arrange
    let server = stateful("flows.yaml").start().await.unwrap();
    let accounts = format!("{}/accounts", server.url());
    // Act
    let created = client().post(&accounts).json(&json!({"name": "ada", "password": "pw"})).send().await.unwrap();
    let created_status = created.status();
    let created_flags = created.headers().get(FLAGS).cloned();
    let account = json(created).await;
    let refused = client().post(&accounts).json(&json!({"name": "ada", "id": "1"})).send().await.unwrap();
    let refused_status = refused.status();
    let problem = json(refused).await;
    let read = client().get(format!("{accounts}/{}", account["id"].as_str().unwrap_or("none"))).send().await.unwrap();
    let read_status = read.status();
    let read_flags = read.headers().get(FLAGS).cloned();
    let token = client().post(format!("{}/tokens", server.url())).json(&json!({})).send().await.unwrap();
    // Assert
    assert_eq!(created_status, StatusCode::CREATED, "no id needed in a request: {account}");
    assert!(account["id"].is_string() && account.get("password").is_none(), "{account}");
    assert_eq!(refused_status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains(r#"\"password\" is a required property"#), "{problem}");
    assert!(!problem.to_string().contains(r#"\"id\" is a required property"#), "{problem}");
    assert_eq!(read_status, StatusCode::OK);
    assert_eq!((created_flags, read_flags), (None, None), "the answers meet the response's list");
    assert_eq!(token.status(), StatusCode::CREATED, "a request that requires nothing once readOnly is set aside");
    assert_eq!(self_check(&server).await, (4, 1), "one flagged: the 422, which the document does not declare");
}

#[tokio::test]
async fn an_answer_without_a_required_read_only_property_is_flagged() {
    // Arrange
    let server = stateful("flows.yaml").start().await.unwrap();
    // Act
    let stale = client().get(format!("{}/stale", server.url())).header("prefer", "example=old").send().await.unwrap();
    let flags: Vec<String> = stale.headers().get_all(FLAGS).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    // Assert
    assert_eq!(stale.status(), StatusCode::OK);
    assert!(flags.iter().any(|f| f.contains(r#""id" is a required property"#)), "{flags:?}");
    assert_eq!(self_check(&server).await, (1, 1));
}
