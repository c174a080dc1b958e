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

/// GitHub's shapes (tests/data/github-shapes.yaml): what specstub once answered against them broke
/// the document it served.
mod github {
    use super::*;

    const DOC: &str = "github-shapes.yaml";

    fn document() -> Value {
        serde_norway::from_str(&std::fs::read_to_string(data(DOC)).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn created_ids_are_integers_where_the_key_field_is_one_and_read_back_through_the_integer_parameter() {
        let server = stateful(DOC).start().await.unwrap();
        let (c, base, doc) = (client(), server.url(), document());
        // The body's own string id disagrees with the record's integer id: the store assigns one.
        let created = c.post(format!("{base}/orgs/acme/hooks")).json(&json!({"name": "web", "id": "abc"})).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let hook = json(created).await;
        assert_valid(&doc, "/components/schemas/hook", &hook);
        let id = hook["id"].as_u64().unwrap_or_else(|| panic!("an integer id: {hook}"));
        let read = c.get(format!("{base}/orgs/acme/hooks/{id}")).send().await.unwrap();
        assert_eq!(read.status(), StatusCode::OK);
        assert_eq!(json(read).await, hook);
        let listed = json(c.get(format!("{base}/orgs/acme/hooks")).send().await.unwrap()).await;
        assert_valid(&doc, "/paths/~1orgs~1{org}~1hooks/get/responses/200/content/application~1json/schema", &listed);
        common::assert_no_violations(&server).await;
    }

    #[tokio::test]
    async fn request_fields_typed_otherwise_than_the_answer_stay_out_of_the_record() {
        let server = stateful(DOC).start().await.unwrap();
        let (c, base, doc) = (client(), server.url(), document());
        let body = json!({"title": "Fix", "base": "master", "assignees": ["octocat"]});
        let created = c.post(format!("{base}/repos/o/r/pulls")).json(&body).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let pull = json(created).await;
        assert_valid(&doc, "/components/schemas/pull", &pull);
        assert_eq!(pull["title"], "Fix", "a field that agrees is kept");
        assert!(pull["base"].is_object(), "{pull}");
        let id = pull["id"].as_u64().unwrap();
        let patched =
            c.patch(format!("{base}/repos/o/r/pulls/{id}")).json(&json!({"base": "main", "title": "Fixed"})).send().await.unwrap();
        assert_eq!(patched.status(), StatusCode::OK);
        let patched = json(patched).await;
        assert_valid(&doc, "/components/schemas/pull", &patched);
        assert_eq!(patched["title"], "Fixed");
        common::assert_no_violations(&server).await;
    }

    #[tokio::test]
    async fn without_a_declared_404_an_unknown_name_reads_as_a_generated_record_and_with_one_it_stays_404() {
        let server = stateful(DOC).start().await.unwrap();
        let (c, base, doc) = (client(), server.url(), document());
        let read = c.get(format!("{base}/orgs/acme/variables/NEVER_SET")).send().await.unwrap();
        assert_eq!(read.status(), StatusCode::OK, "the operation declares only 200");
        let variable = json(read).await;
        assert_valid(&doc, "/components/schemas/variable", &variable);
        assert_eq!(variable["name"], "NEVER_SET");
        let again = json(c.get(format!("{base}/orgs/acme/variables/NEVER_SET")).send().await.unwrap()).await;
        assert_eq!(again, variable, "stored: every later read agrees");
        let updated = c.patch(format!("{base}/orgs/acme/variables/OTHER")).json(&json!({"value": "v"})).send().await.unwrap();
        assert_eq!(updated.status(), StatusCode::NO_CONTENT);
        assert_eq!(c.delete(format!("{base}/orgs/acme/variables/THIRD")).send().await.unwrap().status(), StatusCode::NO_CONTENT);

        let missing = c.get(format!("{base}/orgs/acme/hooks/987654")).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "a declared 404 stays");
        let error = json(missing).await;
        assert_valid(&doc, "/components/schemas/basic-error", &error);
        common::assert_no_violations(&server).await;
    }

    #[tokio::test]
    async fn a_generated_one_of_body_matches_exactly_one_branch() {
        let server = stateful(DOC).start().await.unwrap();
        let doc = document();
        let events = json(client().get(format!("{}/events", server.url())).send().await.unwrap()).await;
        assert_valid(&doc, "/paths/~1events/get/responses/200/content/application~1json/schema", &events);
        common::assert_no_violations(&server).await;
    }

    #[tokio::test]
    async fn an_undeclared_error_status_gives_way_to_a_declared_one() {
        let server = stateful(DOC).start().await.unwrap();
        let (c, base, doc) = (client(), server.url(), document());
        // 422 is what validation wants; the operation declares 400 only.
        let label = c.post(format!("{base}/labels")).json(&json!({"name": 7})).send().await.unwrap();
        assert_eq!(label.status(), StatusCode::BAD_REQUEST);
        assert_valid(&doc, "/components/schemas/basic-error", &json(label).await);
        // Only 403 is declared, with no content: the nearest 4xx, and no body.
        let gist = c.post(format!("{base}/gists")).json(&json!({"files": 1})).send().await.unwrap();
        assert_eq!(gist.status(), StatusCode::FORBIDDEN);
        assert!(gist.headers().get("content-type").is_none());
        assert!(gist.bytes().await.unwrap().is_empty(), "the response declares no body");
        // A 404 for an unknown pull request on its update, which declares 403 and no 404.
        let patched = c.patch(format!("{base}/repos/o/r/pulls/424242")).json(&json!({"title": "x"})).send().await.unwrap();
        assert_eq!(patched.status(), StatusCode::OK, "no declared not-found: the record is generated for the id");
        common::assert_no_violations(&server).await;
    }

    #[tokio::test]
    async fn an_operation_declaring_no_error_status_answers_problem_json_and_the_self_check_says_so() {
        let server = stateful(DOC).start().await.unwrap();
        let r = client().post(format!("{}/markdown", server.url())).json(&json!({"text": 1})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let said =
            r.headers().get_all("specstub-violations").iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>().join("; ");
        assert!(said.contains("status 422 is not declared"), "{said}");
        assert_eq!(common::self_check(&server).await.1, 1);
    }
}
