//! The library as an embedder sees it: only the crate's re-exported API (no module paths), a
//! server started from Rust, requests over real HTTP, and the journal, expectations, reset and
//! seeding read and driven from Rust without calling the admin API.

use serde_json::{Value, json};
use specstub::{Expectation, Server, StartError};

fn crud() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/crud.yaml")
}

#[tokio::test]
async fn a_test_reads_the_journal_and_checks_expectations_from_rust() {
    // Arrange
    let server = Server::builder(crud()).start().await.expect("starts");
    let client = reqwest::Client::new();
    // Act
    let created: Value = client
        .post(format!("{}/api/things", server.url()))
        .json(&json!({"name": "lamp", "color": "red"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let missing = client.get(format!("{}/api/things/nope", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(missing.status(), 404);
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!((received[0].method.as_str(), received[0].operation.as_deref()), ("POST", Some("createThing")));
    assert_eq!(received[0].body, Some(json!({"name": "lamp", "color": "red"})));
    assert_eq!(received[1].status, 404);
    assert!(server.verify(&Expectation::new().method("POST").path("/api/things").body("/color", "red").times(1)).ok);
    let wrong = server.verify(&Expectation::new().operation("deleteThing"));
    assert!(!wrong.ok && wrong.matched == 0);
    assert_eq!(wrong.recent.len(), 2, "a failed expectation shows what did arrive");
    assert!(created["thingId"].is_string(), "{created}");
}

#[tokio::test]
#[should_panic(expected = "expected exactly 2 request(s) POST /api/things, matched 0")]
async fn assert_panics_with_what_arrived() {
    let server = Server::builder(crud()).start().await.expect("starts");
    server.assert(&Expectation::new().method("POST").path("/api/things").times(2));
}

#[tokio::test]
async fn seeded_records_are_served_and_reset_returns_to_the_start() {
    // Arrange
    let server = Server::builder(crud()).start().await.expect("starts");
    let client = reqwest::Client::new();
    let id = "3f1c9a52-8c7e-4a43-9d2b-6f0e5b1d2c11";
    // Act
    server.seed("/api/things", json!({"thingId": id, "name": "planted"})).expect("seeds");
    let read = client.get(format!("{}/api/things/{id}", server.url())).send().await.unwrap();
    let body: Value = read.json().await.unwrap();
    server.reset().expect("resets");
    let after = client.get(format!("{}/api/things/{id}", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(body["name"], "planted");
    assert_eq!(after.status(), 404, "reset returns to the fixtures, which do not hold it");
    assert_eq!(server.received().len(), 2, "reset keeps the journal");
    server.clear_received();
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_document_given_as_text_is_served() {
    let server = Server::builder_str(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /ping:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              example: {pong: true}\n",
    )
    .start()
    .await
    .expect("starts");
    let body: Value = reqwest::get(format!("{}/ping", server.url())).await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"pong": true}));
}

#[tokio::test]
async fn a_failed_start_says_what_is_wrong_in_debug_form_too() {
    let e: StartError = Server::builder("/no/such/spec.yaml").start().await.expect_err("refused");
    let debug = format!("{e:?}");
    assert!(debug.contains("/no/such/spec.yaml") && debug.contains("no such file"), "{debug}");
    assert!(!debug.contains("Specs(["), "{debug}");
}

#[tokio::test]
async fn the_overview_lists_each_document_the_admin_url_and_the_features_in_force() {
    // Arrange
    let server = Server::builder(crud())
        .data(specstub::DataMode::Realistic)
        .seed(3)
        .self_check(true)
        .mount(crud(), "/team")
        .start()
        .await
        .expect("starts");
    // Act
    let o = server.overview();
    // Assert
    assert_eq!(o.url, server.url());
    assert_eq!(o.admin_url, format!("{}/__specstub/", server.url()));
    let [doc] = o.documents.as_slice() else { panic!("one document: {:?}", o.documents) };
    assert!(!doc.title.is_empty() && !doc.version.is_empty(), "{doc:?}");
    assert!(doc.operations > 0, "{doc:?}");
    assert_eq!(doc.base_url, format!("{}/team/api", server.url()), "the mount and the server path: {doc:?}");
    let f = &o.features;
    assert_eq!(f.store, specstub::StoreKind::Memory);
    assert_eq!((f.data, f.seed, f.self_check, f.proxy.as_deref()), (specstub::DataMode::Realistic, Some(3), true, None));
}
