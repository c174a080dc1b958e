//! Routing and spec-driven responses over real HTTP: which operation answers, with what status,
//! media type, body and headers, and how `Prefer` steers it.

mod common;

use common::{assert_no_violations, client, json, start, stateful};
use reqwest::StatusCode;
use serde_json::json;

const AUTH: &str = "Bearer test-token";

#[tokio::test]
async fn answers_the_first_named_example_at_the_server_url_path() {
    // Arrange
    let server = start("petstore.yaml").await;
    // Act
    let r = client().get(format!("{}/v1/pets", server.url())).header("authorization", AUTH).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(json(r).await, json!([{"id": 1, "name": "Rex", "status": "available"}, {"id": 2, "name": "Tom", "status": "sold"}]));
}

#[tokio::test]
async fn returns_404_for_unknown_path_and_for_path_without_server_prefix() {
    let server = start("petstore.yaml").await;
    for path in ["/v1/nothing", "/pets"] {
        let r = client().get(format!("{}{path}", server.url())).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(json(r).await["status"], 404);
    }
}

#[tokio::test]
async fn returns_405_with_allow_header_for_wrong_method_including_trace() {
    let server = start("petstore.yaml").await;
    for method in ["TRACE", "PUT"] {
        let r = client()
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}/v1/pets", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(r.headers()["allow"], "GET, POST, HEAD, OPTIONS");
    }
}

#[tokio::test]
async fn concrete_path_beats_templated_and_custom_verbs_route() {
    let server = start("petstore.yaml").await;
    let c = client();
    let mine = c.get(format!("{}/v1/pets/mine", server.url())).header("authorization", AUTH).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::OK);
    assert_eq!(json(mine).await, json!([]));
    let adopt = c
        .post(format!("{}/v1/pets/7:adopt", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("owner=Ann&age=3")
        .send()
        .await
        .unwrap();
    assert_eq!(adopt.status(), StatusCode::OK);
    // The path parameter echoes into the generated body's same-named field? Pet has `id`, not
    // `petId`, so the body is generated from the schema and still valid.
    let body = json(adopt).await;
    assert!(body["name"].is_string(), "{body}");
}

#[tokio::test]
async fn head_answers_as_get_without_a_body() {
    let server = start("petstore.yaml").await;
    let r = client().head(format!("{}/v1/pets", server.url())).header("authorization", AUTH).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.bytes().await.unwrap().len(), 0);
}

#[tokio::test]
async fn prefer_code_picks_a_declared_response_and_refuses_an_undeclared_one() {
    let server = start("petstore.yaml").await;
    let c = client();
    let r = c.get(format!("{}/v1/pets/5", server.url())).header("authorization", AUTH).header("prefer", "code=404").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await, json!({"code": 404, "message": "no such pet"}));
    let r = c.get(format!("{}/v1/pets/5", server.url())).header("authorization", AUTH).header("prefer", "code=418").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = json(r).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("418") && detail.contains("200") && detail.contains("404"), "{detail}");
}

#[tokio::test]
async fn prefer_example_picks_a_named_example_and_lists_names_when_unknown() {
    let server = start("petstore.yaml").await;
    let c = client();
    let r = c.get(format!("{}/v1/pets", server.url())).header("authorization", AUTH).header("prefer", "example=none").send().await.unwrap();
    assert_eq!(json(r).await, json!([]));
    let r = c.get(format!("{}/v1/pets", server.url())).header("authorization", AUTH).header("prefer", "example=nope").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let detail = json(r).await["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("two") && detail.contains("none"), "{detail}");
}

#[tokio::test]
async fn prefer_dynamic_generates_schema_valid_data() {
    let server = start("petstore.yaml").await;
    let r = client()
        .get(format!("{}/v1/pets/9", server.url()))
        .header("authorization", AUTH)
        .header("prefer", "dynamic=true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let pet = json(r).await;
    assert!(pet["name"].is_string(), "{pet}");
    assert!(pet.get("secret").is_none(), "writeOnly fields never appear in responses: {pet}");
}

#[tokio::test]
async fn generated_body_echoes_path_parameters_and_sends_declared_headers() {
    let server = start("petstore.yaml").await;
    let r = client().get(format!("{}/v1/pets/42", server.url())).header("authorization", AUTH).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "W/\"1\"");
    let pet = json(r).await;
    assert!(pet["name"].is_string(), "{pet}");
    assert!(pet.get("secret").is_none(), "{pet}");
}

#[tokio::test]
async fn accept_picks_the_media_type_and_406_when_none_fits() {
    let server = start("petstore.yaml").await;
    let c = client();
    let r =
        c.get(format!("{}/v1/pets", server.url())).header("authorization", AUTH).header("accept", "application/xml").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/xml");
    assert_eq!(r.text().await.unwrap(), "<pets/>");
    let r = c.get(format!("{}/v1/pets", server.url())).header("authorization", AUTH).header("accept", "text/csv").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn recursive_schema_generates_a_bounded_body() {
    let server = start("petstore.yaml").await;
    let r = client().get(format!("{}/v1/tree", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let tree = json(r).await;
    assert!(tree["name"].is_string(), "{tree}");
}

#[tokio::test]
async fn cors_preflight_is_answered_and_responses_carry_cors_headers() {
    let server = start("petstore.yaml").await;
    let c = client();
    let r = c
        .request(reqwest::Method::OPTIONS, format!("{}/v1/pets", server.url()))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:3000");
    assert!(r.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert_eq!(r.headers()["access-control-allow-headers"], "authorization, content-type");
    let r = c
        .get(format!("{}/v1/pets/1", server.url()))
        .header("origin", "http://localhost:3000")
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:3000");
    assert!(r.headers()["access-control-expose-headers"].to_str().unwrap().contains("etag"));
}

#[tokio::test]
async fn cors_can_be_turned_off() {
    let server = common::builder("petstore.yaml").cors(false).start().await.unwrap();
    let r = client()
        .request(reqwest::Method::OPTIONS, format!("{}/v1/pets", server.url()))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.headers()["allow"].to_str().unwrap().contains("POST"));
}

#[tokio::test]
async fn relative_file_refs_and_31_documents_are_served() {
    let server = start("split/main.yaml").await;
    let r = client().get(format!("{}/runs/run-7", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let run = json(r).await;
    assert_eq!(run["runId"], "run-7", "path parameter echoes into the body: {run}");
    assert_eq!(run["state"], "NEW");
    let r = client().get(format!("{}/runs/ab", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "minLength from the referenced file applies");
}

#[tokio::test]
async fn loose_documents_load_with_integer_codes_and_no_info() {
    let server = start("loose.yaml").await;
    let r = client().get(format!("{}/things/abc", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["id"], "abc");
}

#[tokio::test]
async fn mount_serves_a_document_under_a_prefix() {
    let server = specstub::Server::builder(common::data("broken/conflict-a.yaml"))
        .spec(common::data("broken/conflict-b.yaml"))
        .mount(common::data("broken/conflict-b.yaml"), "/b")
        .start()
        .await
        .unwrap();
    let c = client();
    assert_eq!(c.get(format!("{}/items/1", server.url())).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(c.get(format!("{}/b/items/1", server.url())).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn two_documents_claiming_one_route_refuse_to_start_naming_both_files() {
    let err = specstub::Server::builder(common::data("broken/conflict-a.yaml"))
        .spec(common::data("broken/conflict-b.yaml"))
        .start()
        .await
        .expect_err("start must fail");
    let text = err.to_string();
    assert!(text.contains("conflict-a.yaml") && text.contains("conflict-b.yaml") && text.contains("--mount"), "{text}");
}

#[tokio::test]
async fn links_to_the_real_api_point_at_the_mock() {
    // Arrange
    let server = start("links.yaml").await;
    let here = format!("{}/v3", server.url());
    // Act
    let r = client().get(format!("{here}/repos/octo/hello")).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["link"].to_str().unwrap(), format!("<{here}/repos/octo/hello/issues?page=2>; rel=\"next\""));
    let body = json(r).await;
    assert_eq!(body["url"], format!("{here}/repos/octo/hello"));
    assert_eq!(body["issues_url"], format!("{here}/repos/octo/hello/issues"));
    assert_eq!(body["homepage"], "https://example.org/hello", "links to other hosts stay");
    // The rewritten link is one the mock serves.
    let followed = client().get(body["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(followed.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stored_list_that_declares_link_pages_by_it_over_the_records() {
    // Arrange: five issues, pages of two
    let server = stateful("links.yaml").start().await.unwrap();
    let issues = format!("{}/v3/repos/octo/hello/issues", server.url());
    for i in 0..5 {
        let r = client().post(&issues).json(&json!({"title": format!("issue {i}")})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let link = |r: &reqwest::Response| r.headers().get("link").map(|v| v.to_str().unwrap().to_string());
    // Act
    let first = client().get(format!("{issues}?per_page=2&state=open")).send().await.unwrap();
    let next = link(&first).expect("a Link header on the first page");
    let second_url = next.split(">; rel=\"next\"").next().unwrap().trim_start_matches('<').to_string();
    let second = client().get(&second_url).send().await.unwrap();
    let second_link = link(&second).expect("a Link header on the second page");
    let last_url = format!("{issues}?per_page=2&state=open&page=3");
    let last = client().get(&last_url).send().await.unwrap();
    let last_link = link(&last).expect("a Link header on the last page");
    // Assert: absolute links to the mock, the other query parameters kept, RFC 8288 relations
    assert_eq!(
        next,
        format!("<{issues}?per_page=2&state=open&page=2>; rel=\"next\", <{issues}?per_page=2&state=open&page=3>; rel=\"last\"")
    );
    let titles = |v: serde_json::Value| v.as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(titles(json(second).await), ["issue 2", "issue 3"]);
    assert_eq!(
        second_link,
        format!(
            "<{issues}?per_page=2&state=open&page=3>; rel=\"next\", <{issues}?per_page=2&state=open&page=3>; rel=\"last\", \
             <{issues}?per_page=2&state=open&page=1>; rel=\"prev\", <{issues}?per_page=2&state=open&page=1>; rel=\"first\""
        )
    );
    assert_eq!(
        last_link,
        format!("<{issues}?per_page=2&state=open&page=2>; rel=\"prev\", <{issues}?per_page=2&state=open&page=1>; rel=\"first\"")
    );
    assert_eq!(titles(json(last).await), ["issue 4"]);
    assert_no_violations(&server).await;
}
