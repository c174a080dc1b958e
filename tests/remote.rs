//! Documents fetched over HTTP: a root document by URL with a remote `$ref` to a second document
//! and relative references resolved against each document's URL, each fetched once; a missing
//! or unreachable document refuses to start with an error naming its URL; `lint` takes a URL;
//! an overlay by URL is fetched once and applied.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use specstub::Server;

const ROOT: &str = r#"
openapi: 3.0.3
info: {title: Remote pets, version: "1"}
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      operationId: getPet
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema: {$ref: "BASE/shared/common.yaml#/components/schemas/Pet"}
        "404":
          description: none
          content:
            application/json:
              schema: {$ref: "parts/error.yaml#/Error"}
  /pets:
    post:
      operationId: createPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "BASE/shared/common.yaml#/components/schemas/Pet"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "BASE/shared/common.yaml#/components/schemas/Pet"}
"#;

const COMMON: &str = r#"
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string, enum: [remote-rex]}
        tag: {$ref: "./tag.yaml#/Tag"}
"#;

const TAG: &str = "Tag: {type: string, enum: [good-dog]}\n";
const ERROR: &str = "Error: {type: object, properties: {message: {type: string}}}\n";

/// Serves the documents at BASE; counts how often each path is asked for.
async fn host(hits: Arc<[AtomicUsize; 4]>) -> String {
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let b = Arc::clone(&base);
    let url = common::fake_server(move |req| {
        let (hits, base) = (Arc::clone(&hits), Arc::clone(&b));
        async move {
            let path = req.uri().path().to_string();
            let (i, text) = match path.as_str() {
                "/api/openapi.yaml" => (0, ROOT.replace("BASE", base.get().unwrap())),
                "/shared/common.yaml" => (1, COMMON.to_string()),
                "/shared/tag.yaml" => (2, TAG.to_string()),
                "/api/parts/error.yaml" => (3, ERROR.to_string()),
                _ => return http::Response::builder().status(404).body(Full::new(Bytes::from("not here"))).unwrap(),
            };
            hits[i].fetch_add(1, Ordering::SeqCst);
            http::Response::new(Full::new(Bytes::from(text)))
        }
    })
    .await;
    base.set(url.clone()).unwrap();
    url
}

fn hits() -> Arc<[AtomicUsize; 4]> {
    Arc::new([AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_by_url_with_remote_and_relative_refs_is_served() {
    // Arrange
    let hits = hits();
    let base = host(Arc::clone(&hits)).await;
    // Act
    let server = Server::builder(format!("{base}/api/openapi.yaml")).stateless(true).start().await.expect("starts from a URL");
    let client = common::client();
    let got = client.get(format!("{}/pets/3", server.url())).send().await.unwrap();
    let bad = client.post(format!("{}/pets", server.url())).json(&serde_json::json!({"id": 1})).send().await.unwrap();
    // Assert
    assert_eq!(got.status(), 200);
    let body = common::json(got).await;
    assert_eq!(body["name"], "remote-rex", "{body}");
    if let Some(tag) = body.get("tag") {
        assert_eq!(tag, "good-dog", "the relative ref inside the remote document: {body}");
    }
    assert!(bad.status().is_client_error(), "the remote schema validates requests: {}", bad.status());
    let counts: Vec<usize> = hits.iter().map(|h| h.load(Ordering::SeqCst)).collect();
    assert_eq!(counts, [1, 1, 1, 1], "each document fetched once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_document_refuses_to_start_naming_its_url_and_status() {
    // Arrange
    let base = host(hits()).await;
    let url = format!("{base}/nothing/openapi.yaml");
    // Act
    let err = Server::builder(url.clone()).start().await.expect_err("a 404 does not serve");
    // Assert
    let text = err.to_string();
    assert!(text.contains(&url) && text.contains("404"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_document_refuses_to_start_naming_its_url() {
    // Arrange
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/openapi.yaml");
    // Act
    let started = std::time::Instant::now();
    let err = Server::builder(url.clone()).start().await.expect_err("nothing listens");
    // Assert
    let text = err.to_string();
    assert!(text.contains(&format!("cannot fetch {url}")), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "bounded: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_remote_ref_names_the_referring_document_and_pointer() {
    // Arrange
    let base = host(hits()).await;
    let text = format!(
        "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {{$ref: '{base}/gone.yaml#/X'}}\n"
    );
    let dir = std::env::temp_dir().join(format!("specstub-remote-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken-ref.yaml");
    std::fs::write(&file, text).unwrap();
    // Act
    let err = Server::builder(file.clone()).start().await.expect_err("the ref does not load");
    // Assert
    let text = err.to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(text.contains(&file.display().to_string()), "the referring file: {text}");
    assert!(text.contains("/paths/~1a/get/responses/200/content/application~1json/schema"), "the pointer: {text}");
    assert!(text.contains(&format!("{base}/gone.yaml")) && text.contains("404"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lint_reads_a_url() {
    // Arrange
    let base = host(hits()).await;
    let url = format!("{base}/api/openapi.yaml");
    // Act
    let out = tokio::task::spawn_blocking(move || common::bin().args(["lint", &url]).output().unwrap()).await.unwrap();
    // Assert
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 document(s) checked"), "{stdout}");
}

/// An overlay given by URL is fetched at start (once) and applied like a local one; one that
/// cannot be fetched refuses to start naming its URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlay_by_url_is_fetched_and_applied() {
    // Arrange
    const OVERLAY: &str = r#"
overlay: 1.0.0
info: {title: Remote renames, version: "1"}
actions:
  - target: "$.paths['/pets/{id}'].get.responses['200'].content['application/json']"
    update: {example: {id: 3, name: overlaid-rex}}
"#;
    let fetched = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&fetched);
    let base = common::fake_server(move |req| {
        let count = Arc::clone(&count);
        async move {
            if req.uri().path() != "/overlay.yaml" {
                return http::Response::builder().status(404).body(Full::new(Bytes::from("not here"))).unwrap();
            }
            count.fetch_add(1, Ordering::SeqCst);
            http::Response::new(Full::new(Bytes::from(OVERLAY)))
        }
    })
    .await;
    let dir = std::env::temp_dir().join(format!("specstub-remote-overlay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let doc = dir.join("pets.yaml");
    std::fs::write(&doc, COMMON.replace("tag: {$ref: \"./tag.yaml#/Tag\"}", "tag: {type: string}").replace("enum: [remote-rex]", "minLength: 1").replace(
        "components:",
        "openapi: 3.0.3\ninfo: {title: Local pets, version: \"1\"}\npaths:\n  /pets/{id}:\n    get:\n      operationId: getPet\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: integer}}\n      responses:\n        \"200\":\n          description: a pet\n          content:\n            application/json:\n              schema: {$ref: \"#/components/schemas/Pet\"}\ncomponents:",
    ))
    .unwrap();
    // Act
    let server = Server::builder(&doc).overlay(format!("{base}/overlay.yaml")).stateless(true).start().await.expect("starts");
    let got = common::client().get(format!("{}/pets/3", server.url())).send().await.unwrap();
    let missing = Server::builder(&doc).overlay(format!("{base}/gone.yaml")).start().await.expect_err("a 404 overlay does not serve");
    // Assert
    assert_eq!(got.status(), 200);
    assert_eq!(common::json(got).await["name"], "overlaid-rex");
    assert_eq!(fetched.load(Ordering::SeqCst), 1, "fetched once");
    let text = missing.to_string();
    assert!(text.contains(&format!("{base}/gone.yaml")) && text.contains("404"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
