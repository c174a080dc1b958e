//! Routing over real HTTP for the shapes real documents use: sibling templates that name their
//! parameters differently, many operations on one path told apart by a header or query
//! discriminator in the path key, and vendor media types. Each answer's example names the
//! operation that produced it.

mod common;

use common::{bin, builder, client, json, start};
use reqwest::StatusCode;
use serde_json::Value;

const DOC: &str = "routing.yaml";

/// The operation named by the example of the answer, with the status.
async fn reached(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let body = json(r).await;
    (status, body["operation"].clone())
}

/// Where each reported violation is, as (`in`, pointer).
fn violations(body: Value) -> Vec<(String, String)> {
    let errors = body["errors"].as_array().unwrap_or_else(|| panic!("errors array expected: {body}"));
    errors.iter().map(|e| (e["in"].as_str().unwrap().to_string(), e["pointer"].as_str().unwrap().to_string())).collect()
}

#[tokio::test]
async fn a_sibling_template_binds_its_own_parameter_name() {
    // Arrange
    let server = start(DOC).await;
    let c = client();

    // Act
    let user = c.get(format!("{}/users/octocat", server.url())).send().await.unwrap();
    let project = c.get(format!("{}/users/42/projectsV2/7", server.url())).send().await.unwrap();

    // Assert
    assert_eq!(reached(user).await, (StatusCode::OK, "getUser".into()));
    assert_eq!(reached(project).await, (StatusCode::OK, "getUserProject".into()));
}

#[tokio::test]
async fn path_parameters_are_validated_under_the_matched_operations_names() {
    // Arrange
    let server = start(DOC).await;
    let c = client();

    // Act
    let bad_user = c.get(format!("{}/users/Octo-Cat", server.url())).send().await.unwrap();
    let bad_project = c.get(format!("{}/users/octocat/projectsV2/7", server.url())).send().await.unwrap();

    // Assert
    assert_eq!(bad_user.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(violations(json(bad_user).await), vec![("path".to_string(), "/username".to_string())]);
    assert_eq!(bad_project.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(bad_project).await;
    // Present under its own name, so wrong by type rather than missing.
    assert!(!body.to_string().contains("missing"), "{body}");
    assert_eq!(violations(body), vec![("path".to_string(), "/user_id".to_string())]);
}

#[tokio::test]
async fn each_amz_target_on_post_root_reaches_its_own_operation() {
    // Arrange
    let server = start(DOC).await;
    let c = client();
    let post = |target: &str| c.post(format!("{}/", server.url())).header("X-Amz-Target", target).send();

    // Act
    let delete = post("AWSCUR.DeleteReportDefinition").await.unwrap();
    let describe = post("AWSCUR.DescribeReportDefinitions").await.unwrap();
    let unknown = post("AWSCUR.Explode").await.unwrap();
    let bare = c.post(format!("{}/", server.url())).send().await.unwrap();

    // Assert
    assert_eq!(reached(delete).await, (StatusCode::OK, "DeleteReportDefinition".into()));
    assert_eq!(reached(describe).await, (StatusCode::OK, "DescribeReportDefinitions".into()));
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(bare.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_action_in_the_query_reaches_its_own_operation() {
    // Arrange
    let server = start(DOC).await;
    let c = client();
    let get = |query: &str| c.get(format!("{}/?{query}", server.url())).send();

    // Act
    let describe = get("Action=DescribeInstances&Version=2016-11-15").await.unwrap();
    let run = get("Version=2016-11-15&Action=RunInstances").await.unwrap();
    let unknown = get("Action=TerminateInstances&Version=2016-11-15").await.unwrap();
    let wrong_method = c.delete(format!("{}/?Action=RunInstances&Version=2016-11-15", server.url())).send().await.unwrap();

    // Assert
    assert_eq!(reached(describe).await, (StatusCode::OK, "DescribeInstances".into()));
    assert_eq!(reached(run).await, (StatusCode::OK, "RunInstances".into()));
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_query_flag_picks_its_operation_and_the_plain_path_is_the_fallback() {
    // Arrange
    let server = start(DOC).await;
    let c = client();

    // Act
    let acl = c.get(format!("{}/photos?acl", server.url())).send().await.unwrap();
    let list = c.get(format!("{}/photos", server.url())).send().await.unwrap();

    // Assert
    assert_eq!(reached(acl).await, (StatusCode::OK, "GetBucketAcl".into()));
    assert_eq!(reached(list).await, (StatusCode::OK, "ListObjects".into()));
}

#[tokio::test]
async fn a_vendor_json_accept_is_answered_with_the_declared_json() {
    // Arrange
    let server = start(DOC).await;

    // Act
    let r = client().get(format!("{}/users/octocat", server.url())).header("accept", "application/vnd.github+json").send().await.unwrap();

    // Assert
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(json(r).await["operation"], "getUser");
}

#[tokio::test]
async fn a_document_with_a_shadowed_template_is_served_by_the_first_declared() {
    // Arrange
    let server = builder("routing-shadowed.yaml").start().await.expect("a warning does not refuse the document");

    // Act
    let r = client().get(format!("{}/things/x", server.url())).send().await.unwrap();

    // Assert
    assert_eq!(reached(r).await, (StatusCode::OK, "getThingById".into()));
}

#[test]
fn lint_warns_of_a_shadowed_template_naming_both_operations() {
    // Act
    let out = bin().args(["lint", "tests/data/routing-shadowed.yaml"]).output().expect("binary runs");

    // Assert
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "routing-shadowed.yaml: /paths/~1things~1{name}/get: warning: GET /things/{name} is never reached: \
             GET /things/{id} at /paths/~1things~1{id}/get takes its requests (first declared wins)"
        ),
        "{text}"
    );
    assert!(text.contains("0 error(s), 1 warning(s)"), "{text}");
}

#[test]
fn lint_passes_the_routing_document_clean() {
    // Act
    let out = bin().args(["lint", "tests/data/routing.yaml"]).output().expect("binary runs");

    // Assert
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!((out.status.code(), text.trim()), (Some(0), "1 document(s) checked: no problems"));
}
