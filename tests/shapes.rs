//! Body shapes: each operation of `tests/data/shapes.yaml` is one shape specstub once answered
//! against its own schema (a path value in a field that does not take it, a pattern with a length,
//! a closed object, XML of a string, a map or a prefixed name, JSON as `text/plain`). Every answer
//! must pass the server's self-check, and a schema nothing meets is a 500 naming its pointer.

mod common;

use common::{assert_no_violations, builder, client, json};
use serde_json::Value;

async fn get(url: &str) -> (u16, String, String) {
    let r = client().get(url).send().await.expect("answer");
    let status = r.status().as_u16();
    let media = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (status, media, r.text().await.expect("body"))
}

#[tokio::test]
async fn every_shape_is_answered_as_its_schema_allows() {
    // Arrange
    let server = builder("shapes.yaml").start().await.expect("starts");
    let url = server.url();
    // Act
    let account = get(&format!("{url}/accounts/string")).await;
    let bot = get(&format!("{url}/bots/6/profiles/string")).await;
    let image = get(&format!("{url}/images")).await;
    let config = get(&format!("{url}/config")).await;
    let summary = get(&format!("{url}/summary")).await;
    let keystore = get(&format!("{url}/keystore")).await;
    let avatar = get(&format!("{url}/avatar")).await;
    // Assert
    let account: Value = serde_json::from_str(&account.2).expect("JSON");
    assert!(uuid::Uuid::parse_str(account["id"].as_str().unwrap()).is_ok(), "a path's text is no uuid: {account}");
    let digits = account["accountId"].as_str().unwrap();
    assert!(digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()), "{account}");
    assert!(account["ref"].as_str().is_some_and(|r| r == r.to_uppercase()), "{account}");
    let bot: Value = serde_json::from_str(&bot.2).expect("JSON");
    assert_ne!(bot["botVersion"], "6", "shorter than the field allows: {bot}");
    assert!(bot["profileId"].as_str().is_some_and(|p| p.parse::<i64>().is_ok()), "{bot}");
    let image: Value = serde_json::from_str(&image.2).expect("JSON");
    assert!(image.get("legacy").is_none() && image["template_url"].is_string(), "{image}");
    assert_eq!(config.1, "text/xml");
    assert!(config.2.starts_with("<?xml") && config.2.ends_with(">"), "a whole document: {}", config.2);
    assert!(summary.2.contains("<xsi:type>") && summary.2.contains("<SummaryMap>"), "{}", summary.2);
    assert_eq!(keystore.1, "text/plain");
    let keystore: Value = serde_json::from_str(&keystore.2).expect("JSON text");
    assert!(keystore["exists"].is_boolean(), "{keystore}");
    assert_eq!(avatar.1, "application/json");
    assert!(avatar.2.contains("\"size\""), "the JSON media's body: {}", avatar.2);
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn a_schema_nothing_meets_is_a_500_naming_its_pointer() {
    let server = builder("shapes.yaml").start().await.expect("starts");
    let r = client().get(format!("{}/streams", server.url())).send().await.expect("answer");
    assert_eq!(r.status(), 500);
    let problem = json(r).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("/schema/additionalProperties") && detail.contains("\"json_schema\" is required"), "{problem}");
}
