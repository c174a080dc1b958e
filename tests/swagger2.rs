//! Swagger 2.0 documents over real HTTP: served and validated like their OpenAPI 3.0
//! equivalents, under the base path, with bodies, form fields, media types and security carried
//! over by the conversion.

mod common;

use common::{bin, client, json, pointers, start};
use reqwest::StatusCode;
use serde_json::json;

const SPEC: &str = "petstore-swagger2.yaml";
const API_KEY: (&str, &str) = ("x-api-key", "secret-key");

#[tokio::test]
async fn a_valid_json_body_is_accepted_and_answered_from_the_converted_example() {
    // Arrange
    let server = start(SPEC).await;
    // Act
    let r = client()
        .post(format!("{}/v2/pets", server.url()))
        .header(API_KEY.0, API_KEY.1)
        .json(&json!({"name": "Rex", "tag": null}))
        .send()
        .await
        .unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["location"], "/v2/pets/1");
    assert_eq!(json(r).await, json!({"id": 1, "name": "Rex", "tag": "dog"}));
}

#[tokio::test]
async fn an_invalid_body_is_refused_with_the_pointer_of_each_violation() {
    // Arrange
    let server = start(SPEC).await;
    // Act
    let r = client()
        .post(format!("{}/v2/pets", server.url()))
        .header(API_KEY.0, API_KEY.1)
        .json(&json!({"name": "", "tag": 5}))
        .send()
        .await
        .unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the document's x-specstub error status is kept");
    let body = json(r).await;
    let got = pointers(&body);
    for want in ["/name", "/tag"] {
        assert!(got.contains(&("body".to_string(), want.to_string())), "missing {want} in {body}");
    }
}

#[tokio::test]
async fn a_missing_body_is_refused_because_the_body_parameter_is_required() {
    let server = start(SPEC).await;
    let r = client().post(format!("{}/v2/pets", server.url())).header(API_KEY.0, API_KEY.1).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn form_fields_are_validated_as_a_url_encoded_body() {
    // Arrange
    let server = start(SPEC).await;
    let post = |body: &'static str| {
        client()
            .post(format!("{}/v2/pets/7/adopt", server.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // Act
    let good = post("owner=Ann&age=3").await.unwrap();
    let bad = post("owner=&age=old").await.unwrap();
    // Assert
    assert_eq!(good.status(), StatusCode::OK);
    assert_eq!(json(good).await, json!({"id": 7, "name": "Tom", "tag": "adopted"}));
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body = json(bad).await;
    let got = pointers(&body);
    for want in ["/owner", "/age"] {
        assert!(got.contains(&("body".to_string(), want.to_string())), "missing {want} in {body}");
    }
}

#[tokio::test]
async fn a_file_upload_is_accepted_as_multipart_and_other_media_types_are_refused() {
    // Arrange
    let server = start(SPEC).await;
    let multipart = "--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nPNG\r\n--b--\r\n";
    // Act
    let upload = client()
        .post(format!("{}/v2/pets/7/photo", server.url()))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(multipart)
        .send()
        .await
        .unwrap();
    let as_json = client().post(format!("{}/v2/pets/7/photo", server.url())).json(&json!({"file": "x"})).send().await.unwrap();
    // Assert
    assert_eq!(upload.status(), StatusCode::NO_CONTENT);
    assert_eq!(as_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn requests_without_credentials_get_401_and_basic_or_api_key_pass() {
    // Arrange
    let server = start(SPEC).await;
    let url = format!("{}/v2/pets", server.url());
    // Act
    let anonymous = client().get(&url).send().await.unwrap();
    let basic = client().get(&url).basic_auth("ann", Some("pw")).send().await.unwrap();
    let key = client().get(&url).header(API_KEY.0, API_KEY.1).send().await.unwrap();
    // Assert
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(basic.status(), StatusCode::OK);
    assert_eq!(key.status(), StatusCode::OK);
    assert_eq!(json(key).await, json!([{"id": 1, "name": "Rex", "tag": "dog"}]));
}

#[tokio::test]
async fn a_query_parameter_of_the_wrong_type_gets_400() {
    // Arrange
    let server = start(SPEC).await;
    // Act
    let r = client().get(format!("{}/v2/pets?limit=many", server.url())).header(API_KEY.0, API_KEY.1).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(pointers(&json(r).await), vec![("query".to_string(), "/limit".to_string())]);
}

#[tokio::test]
async fn a_multi_collection_query_parameter_accepts_repeated_values() {
    let server = start(SPEC).await;
    let r = client().get(format!("{}/v2/pets?limit=10&tags=a&tags=b", server.url())).header(API_KEY.0, API_KEY.1).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_response_uses_the_operations_own_produces_media_type_under_the_base_path() {
    // Arrange
    let server = start(SPEC).await;
    // Act
    let r = client().get(format!("{}/v2/pets/7", server.url())).header(API_KEY.0, API_KEY.1).send().await.unwrap();
    let outside = client().get(format!("{}/pets/7", server.url())).header(API_KEY.0, API_KEY.1).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/vnd.pet+json");
    assert_eq!(json(r).await, json!({"id": 7, "name": "Tom", "tag": null}));
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_path_parameter_from_a_shared_definition_is_typed_and_checked() {
    let server = start(SPEC).await;
    let r = client().get(format!("{}/v2/pets/0", server.url())).header(API_KEY.0, API_KEY.1).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(pointers(&json(r).await), vec![("path".to_string(), "/petId".to_string())]);
}

#[tokio::test]
async fn a_shared_response_is_served_through_its_component() {
    // Arrange
    let server = start(SPEC).await;
    // Act
    let r =
        client().get(format!("{}/v2/pets", server.url())).header(API_KEY.0, API_KEY.1).header("prefer", "code=404").send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await, json!({"message": "no such pet"}));
}

#[test]
fn lint_of_a_swagger_2_document_exits_0() {
    let out = bin().args(["lint", "tests/data/petstore-swagger2.yaml"]).output().expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!((out.status.code(), stdout.trim()), (Some(0), "1 document(s) checked: no problems"));
}
