//! The stateful store over real HTTP: inferred CRUD on a plain spec, declared behaviour
//! (envelopes, update masks, set-once and unique fields, ETag locking, transitions), sessions,
//! the admin API, concurrency, the state file and overlays.

mod common;

use common::{client, data, json};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn orders() -> specstub::Server {
    common::stateful("orders.yaml").fixtures(data("fixtures")).start().await.unwrap()
}

async fn create_order(url: &str, body: Value) -> reqwest::Response {
    client().post(format!("{url}/orders")).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn plain_rest_spec_gets_inferred_crud() {
    let server = common::stateful("crud.yaml").start().await.unwrap();
    let (c, base) = (client(), format!("{}/api/things", server.url()));
    // Create
    let r = c.post(&base).json(&json!({"name": "kettle", "color": "red"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created = json(r).await;
    let id = created["thingId"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{created}");
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    // Get
    let r = c.get(format!("{base}/{id}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, "W/\"1\"");
    assert_eq!(json(r).await, created);
    // Conditional get
    let r = c.get(format!("{base}/{id}")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    // List
    let list = json(c.get(&base).send().await.unwrap()).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Merge patch
    let r = c
        .patch(format!("{base}/{id}"))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"color": null, "name": "big kettle"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let patched = json(r).await;
    assert_eq!((patched["name"].as_str(), patched.get("color")), (Some("big kettle"), None));
    // Replace keeps the server's fields, drops what the client left out
    let r = c.put(format!("{base}/{id}")).json(&json!({"name": "pot", "color": "blue"})).send().await.unwrap();
    let replaced = json(r).await;
    assert_eq!((replaced["thingId"].as_str(), replaced["createdAt"].clone()), (Some(id.as_str()), created["createdAt"].clone()));
    assert_eq!(replaced["color"], "blue");
    // A stale If-Match is refused
    let r = c.put(format!("{base}/{id}")).header("if-match", &etag).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.headers()["etag"], "W/\"3\"");
    // Delete, then it is gone
    assert_eq!(c.delete(format!("{base}/{id}")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let r = c.get(format!("{base}/{id}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(json(r).await["message"].as_str().unwrap().contains(&id));
}

#[tokio::test]
async fn stateless_flag_answers_from_the_spec() {
    let server = common::builder("crud.yaml").start().await.unwrap();
    let id = "0b0f0e52-3c3a-4b8e-9d5e-1f6c2a7b8c9d";
    let r = client().get(format!("{}/api/things/{id}", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["thingId"], id);
    // A path value the field's `uuid` does not take is not echoed: the field keeps its own.
    let r = client().get(format!("{}/api/things/abc", server.url())).send().await.unwrap();
    let thing = json(r).await;
    assert!(thing["thingId"].as_str().is_some_and(|t| uuid::Uuid::parse_str(t).is_ok()), "{thing}");
}

#[tokio::test]
async fn fixtures_answer_out_of_the_box_and_reset_restores_them() {
    let server = orders().await;
    let c = client();
    let r = c.get(format!("{}/orders/seed-1", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["order"]["item"], "book");
    assert_eq!(c.delete(format!("{}/orders/seed-1", server.url())).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(c.get(format!("{}/orders/seed-1", server.url())).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let r = c.post(format!("{}/__specstub/reset", server.url())).header("content-type", "application/json").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(c.get(format!("{}/orders/seed-1", server.url())).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn create_fills_server_fields_and_refuses_a_duplicate_unique_key() {
    let server = orders().await;
    let r = create_order(&server.url(), json!({"order": {"item": "pen", "clientKey": "k-1"}})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let order = json(r).await["order"].clone();
    assert_eq!(order["status"], "NEW");
    assert_eq!(order["revision"], Value::Null, "revision is set only by replace's version field: {order}");
    assert!(order["createdDate"].is_string() && order["createdByUserId"].is_null());
    let r = create_order(&server.url(), json!({"order": {"item": "pen", "clientKey": "k-1"}})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body = json(r).await;
    assert_eq!(body["code"], 409);
    assert!(body["message"].as_str().unwrap().contains("clientKey"), "{body}");
}

#[tokio::test]
async fn update_mask_changes_only_masked_fields() {
    let server = orders().await;
    let c = client();
    let order = json(create_order(&server.url(), json!({"order": {"item": "pen", "quantity": 1}})).await).await["order"].clone();
    let id = order["orderId"].as_str().unwrap();
    let r = c
        .patch(format!("{}/orders", server.url()))
        .json(&json!({"order": {"orderId": id, "item": "pencil", "quantity": 9}, "updateMask": "item"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let updated = json(r).await["order"].clone();
    assert_eq!((updated["item"].as_str(), updated["quantity"].as_i64()), (Some("pencil"), Some(1)));
    assert!(updated["modifiedDate"].as_str().unwrap() > order["modifiedDate"].as_str().unwrap());
    // Unknown mask path
    let r = c
        .patch(format!("{}/orders", server.url()))
        .json(&json!({"order": {"orderId": id, "item": "x"}, "updateMask": "item,colour"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await["message"].as_str().unwrap().contains("colour"));
    // client_key once, then never again
    let set = |key: &'static str| {
        c.patch(format!("{}/orders", server.url()))
            .json(&json!({"order": {"orderId": id, "item": "x", "clientKey": key}, "updateMask": "client_key"}))
            .send()
    };
    assert_eq!(set("first").await.unwrap().status(), StatusCode::OK);
    let r = set("second").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await["message"].as_str().unwrap().contains("only be set once"));
    // Missing id
    let r = c
        .patch(format!("{}/orders", server.url()))
        .json(&json!({"order": {"orderId": "nope", "item": "x"}, "updateMask": "item"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["code"], 404, "`default` gives undeclared statuses their shape");
}

#[tokio::test]
async fn replace_requires_if_match_and_refuses_stale_versions() {
    let server = orders().await;
    let c = client();
    let url = format!("{}/orders/seed-1", server.url());
    let r = c.put(&url).json(&json!({"order": {"item": "x"}})).send().await.unwrap();
    // 428 is what a missing If-Match calls for; the operation declares only 412 of the two.
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert!(json(r).await["message"].as_str().unwrap().contains("requires an If-Match"));
    let etag = c.get(&url).send().await.unwrap().headers()["etag"].to_str().unwrap().to_string();
    let r = c.put(&url).header("if-match", &etag).json(&json!({"order": {"item": "x"}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let new_etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    assert_eq!(json(r).await["order"]["revision"], 2);
    let r = c.put(&url).header("if-match", &etag).json(&json!({"order": {"item": "y"}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        json(r).await,
        json!({"code": 412, "message": format!("If-Match {etag} does not match the current version {new_etag}: the resource changed since it was read")})
    );
}

#[tokio::test]
async fn transitions_follow_the_state_machine() {
    let server = orders().await;
    let c = client();
    let r = c.post(format!("{}/orders/seed-1/ship?at=2026-05-01T10:00:00Z", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let order = json(r).await["order"].clone();
    assert_eq!((order["status"].as_str(), order["shippedAt"].as_str()), (Some("SHIPPED"), Some("2026-05-01T10:00:00Z")));
    let r = c.post(format!("{}/orders/seed-1/ship", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(json(r).await["message"].as_str().unwrap().contains("SHIPPED"));
    // Not found, on an operation that declares 409 and no 404: the nearest declared 4xx.
    let unknown = c.post(format!("{}/orders/none/ship", server.url())).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::CONFLICT);
    assert!(json(unknown).await["message"].as_str().unwrap().contains("none"));
}

#[tokio::test]
async fn list_pages_with_tokens_and_filters() {
    let server = orders().await;
    let c = client();
    for i in 0..3 {
        create_order(&server.url(), json!({"order": {"item": format!("i{i}")}})).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    for _ in 0..10 {
        let page = json(c.get(format!("{}/orders?pageSize=2&pageToken={token}", server.url())).send().await.unwrap()).await;
        seen.extend(page["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap().to_string()));
        token = page["nextPageToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(&seen[..2], &["seed-1".to_string(), "seed-2".to_string()]);
    let shipped = json(c.get(format!("{}/orders?status=SHIPPED", server.url())).send().await.unwrap()).await;
    assert_eq!(shipped["orders"].as_array().unwrap().len(), 1);
    let r = c.get(format!("{}/orders?pageToken=forged", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY.min(r.status()).max(StatusCode::BAD_REQUEST));
}

#[tokio::test]
async fn sessions_are_isolated_and_reset_alone() {
    let server = orders().await;
    let c = client();
    let r = c
        .post(format!("{}/orders", server.url()))
        .header("x-specstub-session", "a")
        .json(&json!({"order": {"item": "mine"}}))
        .send()
        .await
        .unwrap();
    let id = json(r).await["order"]["orderId"].as_str().unwrap().to_string();
    let get = |session: &'static str| c.get(format!("{}/orders/{id}", server.url())).header("x-specstub-session", session).send();
    assert_eq!(get("a").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("b").await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(c.get(format!("{}/orders/{id}", server.url())).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // Each session starts from the fixtures.
    let r = c.get(format!("{}/orders/seed-2", server.url())).header("x-specstub-session", "b").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    c.post(format!("{}/__specstub/reset", server.url()))
        .header("content-type", "application/json")
        .header("x-specstub-session", "a")
        .send()
        .await
        .unwrap();
    assert_eq!(get("a").await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_api_reads_and_writes_records_and_verifies_calls() {
    let server = orders().await;
    let (c, admin) = (client(), format!("{}/__specstub", server.url()));
    let doc = json(c.get(format!("{admin}/openapi.json")).send().await.unwrap()).await;
    assert_eq!(doc["info"]["title"], "specstub admin API");
    let resources = json(c.get(format!("{admin}/resources")).send().await.unwrap()).await;
    assert_eq!(resources, json!([{"name": "orders", "count": 2}]));
    let r = c
        .put(format!("{admin}/resources/orders/manual"))
        .json(&json!({"orderId": "manual", "item": "kite", "status": "NEW"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let order = json(c.get(format!("{}/orders/manual", server.url())).send().await.unwrap()).await;
    assert_eq!(order["order"]["item"], "kite");
    let rec = json(c.get(format!("{admin}/resources/orders/manual")).send().await.unwrap()).await;
    assert_eq!(rec["version"], 1);
    assert_eq!(c.delete(format!("{admin}/resources/orders/manual")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(c.get(format!("{admin}/resources/orders/manual")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // Journal and verify
    c.patch(format!("{}/orders", server.url()))
        .json(&json!({"order": {"orderId": "seed-1", "item": "x"}, "updateMask": "item"}))
        .send()
        .await
        .unwrap();
    let journal = json(c.get(format!("{admin}/journal?operation=updateOrder")).send().await.unwrap()).await;
    let entry = &journal.as_array().unwrap()[0];
    assert_eq!(
        (entry["method"].as_str(), entry["status"].as_u64(), entry["validation"].as_str()),
        (Some("PATCH"), Some(200), Some("valid"))
    );
    let yes = c
        .post(format!("{admin}/verify"))
        .json(&json!({"method": "PATCH", "path": "/orders", "body": {"/updateMask": "item"}, "atLeast": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(yes.status(), StatusCode::OK);
    assert_eq!(json(yes).await["matched"], 1);
    let no = c
        .post(format!("{admin}/verify"))
        .json(&json!({"method": "PATCH", "path": "/orders", "body": {"/updateMask": "quantity"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(no.status(), StatusCode::EXPECTATION_FAILED);
    assert_eq!(json(no).await["recent"][0]["path"], "/orders");
}

#[tokio::test]
async fn concurrent_writers_with_one_etag_have_exactly_one_winner() {
    let server = orders().await;
    let url = format!("{}/orders/seed-1", server.url());
    let c = client();
    let etag = c.get(&url).send().await.unwrap().headers()["etag"].to_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (c, url, etag) = (c.clone(), url.clone(), etag.clone());
        tasks.push(tokio::spawn(async move {
            let r = c.put(&url).header("if-match", etag).json(&json!({"order": {"item": format!("writer-{i}")}})).send().await.unwrap();
            (r.status(), i)
        }));
    }
    let mut winners = Vec::new();
    let mut stale = 0;
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::OK, i) => winners.push(i),
            (StatusCode::PRECONDITION_FAILED, _) => stale += 1,
            (s, _) => panic!("unexpected status {s}"),
        }
    }
    assert_eq!((winners.len(), stale), (1, 63));
    let final_state = json(c.get(&url).send().await.unwrap()).await;
    assert_eq!(final_state["order"]["item"], format!("writer-{}", winners[0]));
}

#[tokio::test]
async fn concurrent_creates_with_one_client_key_have_exactly_one_winner() {
    let server = orders().await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let url = server.url();
        tasks.push(tokio::spawn(async move { create_order(&url, json!({"order": {"item": "x", "clientKey": "same"}})).await.status() }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {}
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn state_file_keeps_records_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("specstub-state-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let server = common::stateful("orders.yaml").state_file(&file).start().await.unwrap();
    let id =
        json(create_order(&server.url(), json!({"order": {"item": "kept"}})).await).await["order"]["orderId"].as_str().unwrap().to_string();
    server.shutdown().await;
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["format"], 2);
    let again = common::stateful("orders.yaml").state_file(&file).start().await.unwrap();
    let r = client().get(format!("{}/orders/{id}", again.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["order"]["item"], "kept");
    again.shutdown().await;
    // A damaged file is refused, never overwritten.
    std::fs::write(&file, b"{not json").unwrap();
    let err = common::stateful("orders.yaml").state_file(&file).start().await.expect_err("refused");
    assert!(err.to_string().contains("damaged"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn overlay_adds_behaviour_to_a_spec_without_editing_it() {
    let server = common::stateful("crud.yaml").overlay(data("crud.overlay.yaml")).start().await.unwrap();
    let r = client().post(format!("{}/api/things", server.url())).json(&json!({"name": "leaf"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(json(r).await["color"], "green");
}

#[tokio::test]
async fn an_overlay_naming_the_resource_shares_it_with_the_inferred_operations() {
    // Arrange: the overlay calls the collection `things`; inference calls it `/api/things`.
    let server = common::stateful("crud.yaml").overlay(data("crud.named.overlay.yaml")).start().await.unwrap();
    // Act
    let created = json(client().post(format!("{}/api/things", server.url())).json(&json!({"name": "leaf"})).send().await.unwrap()).await;
    let id = created["thingId"].as_str().expect("an id");
    let read = client().get(format!("{}/api/things/{id}", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(read.status(), StatusCode::OK, "the inferred read sees what the declared create stored");
    assert_eq!(json(read).await["color"], "green");
}
