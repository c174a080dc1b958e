//! Request validation over real HTTP: every violation is reported, in the operation's declared
//! error shape when it has one and as problem+json otherwise.

mod common;

use common::{client, json, pointers, start};
use reqwest::StatusCode;
use serde_json::json;

const AUTH: &str = "Bearer test-token";

#[tokio::test]
async fn reports_every_parameter_violation_not_only_the_first() {
    let server = start("petstore.yaml").await;
    let r = client()
        .get(format!("{}/v1/pets?limit=0&ids=1,x&typo=1", server.url()))
        .header("authorization", AUTH)
        .header("x-request-id", "not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body = json(r).await;
    let got = pointers(&body);
    for want in [("query", "/limit"), ("query", "/ids/1"), ("query", "/typo"), ("header", "/X-Request-Id")] {
        assert!(got.contains(&(want.0.to_string(), want.1.to_string())), "missing {want:?} in {body}");
    }
}

#[tokio::test]
async fn query_arrays_and_typed_coercion_accept_valid_input() {
    let server = start("petstore.yaml").await;
    let r = client()
        .get(format!("{}/v1/pets?limit=10&tags=a&tags=b&ids=1,2,3", server.url()))
        .header("authorization", AUTH)
        .header("x-request-id", "0f2f1e36-6a0c-4b43-9d68-0d4c1b2a3e01")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn path_parameters_are_typed_and_checked() {
    let server = start("petstore.yaml").await;
    let r = client().get(format!("{}/v1/pets/abc", server.url())).header("authorization", AUTH).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&json(r).await), vec![("path".to_string(), "/petId".to_string())]);
}

#[tokio::test]
async fn body_violations_carry_json_pointers_and_read_only_fields_are_not_required() {
    let server = start("petstore.yaml").await;
    let r = client()
        .post(format!("{}/v1/pets", server.url()))
        .header("authorization", AUTH)
        .json(&json!({"name": "", "status": "lost", "born": "yesterday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(r).await;
    let got = pointers(&body);
    for want in ["/name", "/status", "/born"] {
        assert!(got.contains(&("body".to_string(), want.to_string())), "missing {want} in {body}");
    }
    assert!(!got.iter().any(|(_, p)| p == "/id" || p.is_empty()), "readOnly id must not be required: {body}");
    // A valid body without the readOnly id is accepted.
    let r = client()
        .post(format!("{}/v1/pets", server.url()))
        .header("authorization", AUTH)
        .json(&json!({"name": "Rex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["location"], "/v1/pets/1");
}

#[tokio::test]
async fn formats_and_openapi_30_keywords_are_enforced() {
    let server = start("petstore.yaml").await;
    let bad = json!({"when": "nope", "email": "not-mail", "site": "::", "id": "123", "score": 0});
    let r = client().post(format!("{}/v1/echo", server.url())).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let got = pointers(&json(r).await);
    for want in ["/when", "/email", "/site", "/id", "/score"] {
        assert!(got.iter().any(|(_, p)| p == want), "missing {want} in {got:?}");
    }
    let good = json!({"when": "2024-01-01T00:00:00Z", "email": "a@b.example", "site": "https://x.example/a", "id": "0f2f1e36-6a0c-4b43-9d68-0d4c1b2a3e01", "score": 0.5, "nick": null});
    let r = client().post(format!("{}/v1/echo", server.url())).json(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "nullable accepts null, exclusiveMinimum true accepts 0.5");
    assert_eq!(r.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn malformed_json_gets_400_with_line_and_column() {
    let server = start("petstore.yaml").await;
    let r = client()
        .post(format!("{}/v1/pets", server.url()))
        .header("authorization", AUTH)
        .header("content-type", "application/json")
        .body("{\n  \"name\": \"Rex\",\n  oops\n}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let detail = json(r).await["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("line 3, column 3"), "{detail}");
}

#[tokio::test]
async fn non_utf8_body_gets_400() {
    let server = start("petstore.yaml").await;
    let r = client()
        .post(format!("{}/v1/pets", server.url()))
        .header("authorization", AUTH)
        .header("content-type", "application/json")
        .body(vec![b'{', 0xff, 0xfe, b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await["detail"].as_str().unwrap().contains("UTF-8"));
}

#[tokio::test]
async fn wrong_or_missing_content_type_gets_415() {
    let server = start("petstore.yaml").await;
    for ct in [Some("text/plain"), None] {
        let mut req = client().post(format!("{}/v1/pets", server.url())).header("authorization", AUTH).body("{\"name\":\"x\"}");
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert!(json(r).await["detail"].as_str().unwrap().contains("application/json"));
    }
}

#[tokio::test]
async fn missing_required_body_is_a_violation() {
    let server = start("petstore.yaml").await;
    let r = client().post(format!("{}/v1/pets", server.url())).header("authorization", AUTH).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn body_over_the_limit_gets_413() {
    let server = common::builder("petstore.yaml").max_body(64).start().await.unwrap();
    let big = json!({"name": "x".repeat(100)});
    let r = client().post(format!("{}/v1/pets", server.url())).header("authorization", AUTH).json(&big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Without a Content-Length (chunked), the limit still holds.
    let stream = futures_body(vec![b"{\"name\":\"".to_vec(), vec![b'x'; 100], b"\"}".to_vec()]);
    let r = client()
        .post(format!("{}/v1/pets", server.url()))
        .header("authorization", AUTH)
        .header("content-type", "application/json")
        .body(stream)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

fn futures_body(chunks: Vec<Vec<u8>>) -> reqwest::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::spawn(async move {
        for c in chunks {
            let _ = tx.send(Ok(c)).await;
        }
    });
    reqwest::Body::wrap_stream(ReceiverStream(rx))
}

struct ReceiverStream(tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>);

impl futures_core::Stream for ReceiverStream {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[tokio::test]
async fn declared_400_shape_is_used_for_violations() {
    let server = start("petstore.yaml").await;
    let r = client()
        .post(format!("{}/v1/pets/1:adopt", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("owner=A&age=old")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body = json(r).await;
    assert_eq!(body["code"], 400);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("/owner") && message.contains("/age"), "{message}");
}

#[tokio::test]
async fn big_integers_keep_their_exact_value() {
    let server = start("petstore.yaml").await;
    // Accepted as an integer, not rounded through a float.
    let r = client()
        .post(format!("{}/v1/echo", server.url()))
        .header("content-type", "application/json")
        .body(r#"{"big": 123456789012345678901}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client()
        .post(format!("{}/v1/echo", server.url()))
        .header("content-type", "application/json")
        .body(r#"{"big": 1.5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn missing_credentials_get_401_with_www_authenticate() {
    let server = start("petstore.yaml").await;
    let r = client().get(format!("{}/v1/pets", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"specstub\"");
    let r = client().get(format!("{}/v1/pets", server.url())).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "wrong scheme is not a bearer token");
}

#[tokio::test]
async fn basic_and_api_keys_in_header_query_and_cookie_are_accepted() {
    let server = start("petstore.yaml").await;
    let url = format!("{}/v1/pets/3", server.url());
    let c = client();
    let none = c.delete(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = none.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert_eq!(challenges, ["Basic realm=\"specstub\", charset=\"UTF-8\""], "API keys have no challenge");
    assert_eq!(c.delete(&url).basic_auth("ann", Some("pw")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(c.delete(&url).header("authorization", "Basic !!!").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(c.delete(&url).header("x-api-key", "k1").send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(c.delete(format!("{url}?api_key=k1")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(c.delete(&url).header("cookie", "session=k1").send().await.unwrap().status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn token_allow_list_answers_403_for_other_credentials() {
    let server = common::builder("petstore.yaml").token("good").start().await.unwrap();
    let c = client();
    let ok = c.get(format!("{}/v1/pets", server.url())).header("authorization", "Bearer good").send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let bad = c.get(format!("{}/v1/pets", server.url())).header("authorization", "Bearer other").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn warn_mode_answers_and_reports_violations_in_a_header() {
    let server = common::builder("petstore.yaml").validation(specstub::Mode::Warn).start().await.unwrap();
    let r = client().get(format!("{}/v1/pets?limit=0", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = r.headers()["specstub-violations"].to_str().unwrap().to_string();
    assert!(v.contains("Bearer") || v.contains("authorization") || v.contains("Authorization"), "{v}");
}

#[tokio::test]
async fn off_mode_skips_request_checks() {
    let server = common::builder("petstore.yaml").validation(specstub::Mode::Off).start().await.unwrap();
    let r = client().get(format!("{}/v1/pets?limit=0&zzz=1", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("specstub-violations").is_none());
}

/// Sends raw HTTP/1.1 bytes and returns the status line.
async fn raw_status(server: &specstub::Server, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn http_1_1_without_host_and_an_unreadable_session_header_are_400() {
    // Arrange
    let server = start("petstore.yaml").await;
    // Act
    let no_host = raw_status(&server, b"GET /v1/pets HTTP/1.1\r\nauthorization: Bearer t\r\n\r\n").await;
    let bad_session =
        raw_status(&server, b"GET /v1/pets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\nx-specstub-session: caf\xe9\r\n\r\n").await;
    let fine = raw_status(&server, b"GET /v1/pets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\n\r\n").await;
    // Assert
    assert!(no_host.starts_with("HTTP/1.1 400"), "{no_host}");
    assert!(bad_session.starts_with("HTTP/1.1 400"), "{bad_session}");
    assert!(fine.starts_with("HTTP/1.1 200"), "{fine}");
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off_at_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Arrange
    let server = common::builder("petstore.yaml").header_timeout(std::time::Duration::from_millis(200)).start().await.unwrap();
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    // Act: half a request, then nothing.
    s.write_all(b"GET /v1/pets HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    let mut rest = Vec::new();
    // A bound on the test, not a synchronisation: the server closes well before it.
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut rest)).await;
    // Assert: the server closed the connection (possibly after a 408).
    assert!(read.is_ok(), "the connection was still open after 10 s");
    let text = String::from_utf8_lossy(&rest);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    // A normal client is still served.
    let r = client().get(format!("{}/v1/pets", server.url())).header("authorization", "Bearer t").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn accept_content_type_and_authorization_header_parameters_are_ignored_as_openapi_says() {
    let server = start("ignored-headers.yaml").await;
    let url = format!("{}/things", server.url());
    // None of the three ignored headers sent, and the one real header present: served.
    let r = client().get(&url).header("x-tenant", "t1").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    // The real header parameter is still required.
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
