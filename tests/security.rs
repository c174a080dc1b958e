//! Security schemes over real HTTP: Digest answering its challenge, an `http` scheme checked by
//! its own name, OpenID Connect tokens as bearer, an API key in a cookie, and the
//! `WWW-Authenticate` challenges a 401 lists for an operation that takes any of them.

mod common;

use common::{builder, client, json, start};
use reqwest::StatusCode;

const RESPONSE: &str = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

fn challenges(r: &reqwest::Response) -> Vec<String> {
    r.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

/// The nonce of a Digest challenge, as a client reads it to answer.
fn nonce(challenge: &str) -> String {
    challenge.split("nonce=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a nonce").to_string()
}

/// What a Digest client sends back (RFC 7616 §3.4); the hash is not checked, only its shape.
fn digest_answer(user: &str, nonce: &str) -> String {
    format!(
        "Digest username=\"{user}\", realm=\"specstub\", uri=\"/digest\", algorithm=SHA-256, nonce=\"{nonce}\", \
         nc=00000001, cnonce=\"0a4f113b\", qop=auth, response=\"{RESPONSE}\""
    )
}

#[tokio::test]
async fn a_request_without_credentials_is_challenged_for_digest_with_sha_256_then_md5() {
    // Arrange
    let server = start("security.yaml").await;
    // Act
    let r = client().get(format!("{}/digest", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let offered = challenges(&r);
    assert_eq!(offered.len(), 2, "{offered:?}");
    assert!(offered[0].starts_with("Digest realm=\"specstub\", qop=\"auth\", algorithm=SHA-256, nonce=\""), "{}", offered[0]);
    assert!(offered[1].contains("algorithm=MD5"), "{}", offered[1]);
    assert!(!nonce(&offered[0]).is_empty());
}

#[tokio::test]
async fn a_digest_credential_answering_the_challenge_is_accepted() {
    // Arrange
    let server = start("security.yaml").await;
    let url = format!("{}/digest", server.url());
    let challenged = client().get(&url).send().await.unwrap();
    let nonce = nonce(&challenges(&challenged)[0]);
    // Act
    let r = client().get(&url).header("authorization", digest_answer("Mufasa", &nonce)).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["ok"], true);
}

#[tokio::test]
async fn a_malformed_digest_credential_is_challenged_again_with_the_reason() {
    // Arrange
    let server = start("security.yaml").await;
    let broken = digest_answer("Mufasa", "n1").replace(", nc=00000001", "");
    // Act
    let r = client().get(format!("{}/digest", server.url())).header("authorization", broken).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&r).len(), 2);
    let body = json(r).await;
    assert!(body["detail"].as_str().unwrap().contains("no nc"), "{body}");
}

#[tokio::test]
async fn with_an_allow_list_the_digest_username_must_be_on_it() {
    // Arrange
    let server = builder("security.yaml").token("ann").start().await.unwrap();
    let url = format!("{}/digest", server.url());
    // Act
    let ann = client().get(&url).header("authorization", digest_answer("ann", "any-nonce")).send().await.unwrap();
    let bob = client().get(&url).header("authorization", digest_answer("bob", "any-nonce")).send().await.unwrap();
    // Assert
    assert_eq!(ann.status(), StatusCode::OK);
    assert_eq!(bob.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_custom_http_scheme_is_accepted_by_its_own_name_and_no_other() {
    // Arrange
    let server = start("security.yaml").await;
    let url = format!("{}/vapid", server.url());
    // Act
    let vapid = client()
        .get(&url)
        .header("authorization", "vapid t=eyJ0eXAiOiJKV1QifQ.e30.c2ln, k=BA1Hxzyi1RUM1b5wjxsn7nGxAs")
        .send()
        .await
        .unwrap();
    let bearer = client().get(&url).header("authorization", "Bearer eyJ0eXAiOiJKV1QifQ.e30.c2ln").send().await.unwrap();
    // Assert
    assert_eq!(vapid.status(), StatusCode::NO_CONTENT);
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED, "a bearer token is not a vapid credential");
    assert_eq!(challenges(&bearer), ["vapid realm=\"specstub\""]);
}

#[tokio::test]
async fn an_openid_connect_operation_takes_a_bearer_token() {
    // Arrange
    let server = start("security.yaml").await;
    let url = format!("{}/oidc", server.url());
    // Act
    let with_token = client().get(&url).bearer_auth("id-token").send().await.unwrap();
    let without = client().get(&url).send().await.unwrap();
    // Assert
    assert_eq!(with_token.status(), StatusCode::NO_CONTENT);
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&without), ["Bearer realm=\"specstub\""]);
}

#[tokio::test]
async fn an_api_key_in_a_cookie_is_accepted_and_its_absence_gets_no_challenge() {
    // Arrange
    let server = start("security.yaml").await;
    let url = format!("{}/cookie", server.url());
    // Act
    let with_key = client().get(&url).header("cookie", "theme=dark; SESSIONID=abc123").send().await.unwrap();
    let without = client().get(&url).send().await.unwrap();
    // Assert
    assert_eq!(with_key.status(), StatusCode::NO_CONTENT);
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED);
    assert!(challenges(&without).is_empty(), "{:?}", challenges(&without));
    let body = json(without).await;
    assert!(body["detail"].as_str().unwrap().contains("\"SESSIONID\" in the cookie"), "{body}");
}

#[tokio::test]
async fn an_operation_taking_any_scheme_lists_one_challenge_per_line_in_the_documents_order() {
    // Arrange
    let server = start("security.yaml").await;
    let url = format!("{}/any", server.url());
    // Act
    let r = client().get(&url).send().await.unwrap();
    let basic = client().get(&url).basic_auth("ann", Some("pw")).send().await.unwrap();
    // Assert
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let offered = challenges(&r);
    let schemes: Vec<&str> = offered.iter().map(|c| c.split(' ').next().unwrap()).collect();
    assert_eq!(schemes, ["Bearer", "Basic", "Digest", "Digest", "vapid"], "{offered:?}");
    assert_eq!(offered[1], "Basic realm=\"specstub\", charset=\"UTF-8\"");
    assert_eq!(basic.status(), StatusCode::NO_CONTENT);
}
