//! Stateful answers over real HTTP never contradict their schemas: every body below is checked
//! against the schema its operation declares, with a validator built in the test from the
//! document itself (tests/data/conform.yaml).

mod common;

use common::{client, data, json, stateful};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The test document as JSON, for its schemas.
fn document() -> Value {
    let text = std::fs::read_to_string(data("conform.yaml")).expect("readable");
    serde_norway::from_str(&text).expect("YAML")
}

/// Panics with every violation when `body` does not validate against the schema at `pointer`
/// (a JSON pointer into `doc`), with the document's `$ref`s resolvable.
fn assert_valid(doc: &Value, pointer: &str, body: &Value) {
    let mut root = doc.clone();
    let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
    root.as_object_mut().unwrap().insert("$ref".into(), json!(format!("#{fragment}")));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema at {pointer} compiles: {e}"));
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{body} against {pointer}: {errors:?}");
}

const CUSTOMER: &str = "/components/schemas/customer";

#[tokio::test]
async fn a_customer_created_by_form_or_json_has_every_required_server_field_and_reads_back_the_same() {
    let server = stateful("conform.yaml").start().await.unwrap();
    let (c, base, doc) = (client(), server.url(), document());
    let form = c
        .post(format!("{base}/v1/customers"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=jenny%40example.com&name=Jenny+Rosen")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let created = json(form).await;
    assert_valid(&doc, CUSTOMER, &created);
    assert_eq!((created["object"].as_str(), created["email"].as_str()), (Some("customer"), Some("jenny@example.com")));
    assert!(created["created"].is_i64() && created["livemode"].is_boolean(), "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("cus_") && id.len() == 18 && id.chars().skip(4).all(|c| c.is_ascii_alphanumeric()), "{id}");

    let read = json(c.get(format!("{base}/v1/customers/{id}")).send().await.unwrap()).await;
    assert_valid(&doc, CUSTOMER, &read);
    assert_eq!(read, created, "stored as answered");

    let by_json = json(c.post(format!("{base}/v1/customers")).json(&json!({"name": "Ada"})).send().await.unwrap()).await;
    assert_valid(&doc, CUSTOMER, &by_json);
    assert_ne!(by_json["id"], created["id"]);

    let unknown = c.get(format!("{base}/v1/customers/cus_AAAAAAAAAAAAAA")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "a declared error status keeps the 404");

    let deleted = c.delete(format!("{base}/v1/customers/{id}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = json(deleted).await;
    assert_valid(&doc, "/components/schemas/deleted_customer", &gone);
    assert_eq!((gone["id"].as_str(), gone["deleted"].as_bool()), (Some(id.as_str()), Some(true)));
}

#[tokio::test]
async fn a_list_answers_its_declared_envelope_with_the_array_under_all_of() {
    let server = stateful("conform.yaml").start().await.unwrap();
    let (c, base, doc) = (client(), server.url(), document());
    let empty = json(c.get(format!("{base}/v1/customers")).send().await.unwrap()).await;
    assert_valid(&doc, "/components/schemas/CustomerList", &empty);
    assert_eq!(empty["data"], json!([]));
    for name in ["a", "b"] {
        c.post(format!("{base}/v1/customers")).json(&json!({"name": name})).send().await.unwrap();
    }
    let page = json(c.get(format!("{base}/v1/customers?limit=1")).send().await.unwrap()).await;
    assert_valid(&doc, "/components/schemas/CustomerList", &page);
    assert_eq!((page["object"].as_str(), page["url"].as_str()), (Some("list"), Some("/v1/customers")));
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn a_path_parameter_never_replaces_an_object_field() {
    let server = stateful("conform.yaml").start().await.unwrap();
    let (c, base, doc) = (client(), server.url(), document());
    let repo = json(c.get(format!("{base}/repos/octocat/hello")).send().await.unwrap()).await;
    assert_valid(&doc, "/components/schemas/repository", &repo);
    assert!(repo["owner"].is_object(), "{repo}");
}

#[tokio::test]
async fn without_a_declared_404_an_unknown_id_reads_as_a_stored_record() {
    let server = stateful("conform.yaml").start().await.unwrap();
    let (c, base, doc) = (client(), server.url(), document());
    let url = format!("{base}/orgs/acme/widgets/3f1e2d3c-4b5a-4c6d-8e7f-8a9b0c1d2e3f");
    let first = c.get(&url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first = json(first).await;
    assert_valid(&doc, "/components/schemas/widget", &first);
    assert_eq!(first["widgetId"], "3f1e2d3c-4b5a-4c6d-8e7f-8a9b0c1d2e3f");
    assert_eq!(json(c.get(&url).send().await.unwrap()).await, first, "the next read agrees");

    let created = c.post(format!("{base}/orgs/acme/widgets")).bearer_auth("tok").json(&json!({"name": "w"})).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    assert_valid(&doc, "/components/schemas/widget", &created);
    assert!(created["owner"].is_object() && created["created_by"].as_str().unwrap().contains('@'), "{created}");

    let deleted = c.delete(&url).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let schema = "/paths/~1orgs~1{org}~1widgets~1{widgetId}/delete/responses/200/content/application~1json/schema";
    assert_valid(&doc, schema, &json(deleted).await);
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND, "a deleted record is not invented again");
}
