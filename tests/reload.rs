//! Hot reload over real HTTP: documents and fixtures written to a temporary directory by each
//! test, edited while the server runs, and the changes seen through the served answers, the admin
//! reload endpoint, health and the journal. Every wait polls a condition with a deadline.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{client, json};
use serde_json::Value;
use specstub::Server;

/// A directory removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("specstub-reload-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A document with one `GET` per (path, example message) pair.
fn document(ops: &[(&str, &str)]) -> String {
    let mut out = String::from("openapi: 3.0.3\ninfo: {title: Reloaded, version: '1'}\npaths:\n");
    for (path, message) in ops {
        out.push_str(&format!(
            "  {path}:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              example: {{message: {message}}}\n"
        ));
    }
    out
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let r = client().get(format!("{}{path}", server.url())).send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn reload(server: &Server) -> (u16, Value) {
    let r = client()
        .post(format!("{}/__specstub/reload", server.url()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("reload");
    let status = r.status().as_u16();
    (status, json(r).await)
}

async fn health(server: &Server) -> Value {
    json(client().get(format!("{}/__specstub/health", server.url())).send().await.unwrap()).await
}

/// Polls `check` every 20 ms until it holds, for at most 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn watched(file: &Path) -> Server {
    Server::builder(file).stateless(true).watch(true).start().await.expect("starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_operation_is_served_without_a_restart() {
    // Arrange
    let dir = Dir::new();
    let file = dir.write("api.yaml", &document(&[("/a", "a")]));
    let server = watched(&file).await;
    assert_eq!(get(&server, "/b").await.0, 404);
    // Act
    dir.write("api.yaml", &document(&[("/a", "a"), ("/b", "b")]));
    // Assert
    eventually("GET /b is served", || async { get(&server, "/b").await.0 == 200 }).await;
    assert_eq!(get(&server, "/b").await.1["message"], "b");
    let h = health(&server).await;
    assert_eq!(h["plan"]["generation"], 2, "{h}");
    assert_eq!(h["plan"]["watching"], true, "{h}");
    assert_eq!(h["plan"]["lastReload"]["outcome"], "reloaded", "{h}");
    assert_eq!(h["plan"]["lastReload"]["trigger"], "watch", "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_example_gives_the_new_answer_and_a_ref_file_is_watched_too() {
    // Arrange: the answer lives in a file the document references.
    let dir = Dir::new();
    dir.write("answer.yaml", "{type: object, example: {message: first}}\n");
    let text = document(&[("/a", "x")]).replace("example: {message: x}", "schema: {$ref: './answer.yaml'}");
    let file = dir.write("api.yaml", &text);
    let server = watched(&file).await;
    assert_eq!(get(&server, "/a").await.1["message"], "first");
    // Act
    dir.write("answer.yaml", "{type: object, example: {message: second}}\n");
    // Assert
    eventually("the new example is answered", || async { get(&server, "/a").await.1["message"] == "second" }).await;
}

#[tokio::test]
async fn a_broken_edit_keeps_the_old_plan_reports_the_problem_and_a_fix_reloads() {
    // Arrange
    let dir = Dir::new();
    let file = dir.write("api.yaml", &document(&[("/a", "old")]));
    let server = Server::builder(&file).stateless(true).start().await.unwrap();
    // Act: a latency that is not a duration.
    dir.write("api.yaml", &document(&[("/a", "new")]).replace("    get:\n", "    get:\n      x-specstub: {latency: soon}\n"));
    let (status, broken) = reload(&server).await;
    // Assert
    assert_eq!(status, 422, "{broken}");
    assert_eq!(broken["outcome"], "kept", "{broken}");
    let problems = broken["problems"].as_array().unwrap();
    assert!(!problems.is_empty(), "{broken}");
    let first = problems[0].as_str().unwrap();
    assert!(first.contains("api.yaml") && first.contains("/paths/~1a/get/x-specstub/latency"), "file and pointer in {first}");
    assert_eq!(get(&server, "/a").await.1["message"], "old", "the old plan answers");
    assert_eq!(health(&server).await["plan"]["lastReload"]["outcome"], "kept");

    // Act: fixed.
    dir.write("api.yaml", &document(&[("/a", "new")]));
    let (status, fixed) = reload(&server).await;
    // Assert
    assert_eq!((status, fixed["outcome"].as_str()), (200, Some("reloaded")), "{fixed}");
    assert_eq!(fixed["generation"], 2);
    assert_eq!(get(&server, "/a").await.1["message"], "new");
    let (_, again) = reload(&server).await;
    assert_eq!(again["outcome"], "unchanged", "{again}");

    // The journal marks both reloads, the failed one with its problems.
    let journal = json(client().get(format!("{}/__specstub/journal?direction=reload", server.url())).send().await.unwrap()).await;
    let marks: Vec<(&str, u64)> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["reload"]["outcome"].as_str().unwrap(), e["reload"]["generation"].as_u64().unwrap()))
        .collect();
    assert_eq!(marks, [("kept", 1), ("reloaded", 2)], "{journal}");
    let kept = &journal[0];
    assert!(kept["reload"]["files"][0].as_str().unwrap().ends_with("api.yaml"), "{kept}");
    assert!(!kept["reload"]["problems"].as_array().unwrap().is_empty(), "{kept}");
}

const STORE: &str = r#"openapi: 3.0.3
info: {title: Store, version: '1'}
paths:
  /things:
    get:
      operationId: listThings
      responses:
        '200': {description: all, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Thing'}}}}}
    post:
      operationId: createThing
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
      responses:
        '201': {description: made, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
  /things/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getThing
      responses:
        '200': {description: one, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
        '404': {description: none}
  /gadgets:
    get:
      operationId: listGadgets
      responses:
        '200': {description: all, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Gadget'}}}}}
    post:
      operationId: createGadget
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/Gadget'}}}}
      responses:
        '201': {description: made, content: {application/json: {schema: {$ref: '#/components/schemas/Gadget'}}}}
  /gadgets/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getGadget
      responses:
        '200': {description: one, content: {application/json: {schema: {$ref: '#/components/schemas/Gadget'}}}}
        '404': {description: none}
components:
  schemas:
    Thing:
      type: object
      required: [id, name]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string}
    Gadget:
      type: object
      required: [id, name]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string}
"#;

async fn create(server: &Server, collection: &str, name: &str) -> String {
    let r = client().post(format!("{}/{collection}", server.url())).json(&serde_json::json!({"name": name})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    json(r).await["id"].as_str().unwrap().to_string()
}

/// The names a collection's list answers.
async fn names(server: &Server, collection: &str) -> Vec<String> {
    let (status, list) = get(server, &format!("/{collection}")).await;
    assert_eq!(status, 200, "{list}");
    let items = list.as_array().unwrap_or_else(|| panic!("{list}"));
    let mut out: Vec<String> = items.iter().map(|r| r["name"].as_str().unwrap_or_else(|| panic!("{list}")).to_string()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn records_survive_a_reload_and_a_changed_fixture_file_reseeds_only_its_collection() {
    // Arrange
    let dir = Dir::new();
    let file = dir.write("api.yaml", STORE);
    let fixtures = dir.0.join("fixtures");
    dir.write("fixtures/things.yaml", "/things:\n- {id: t1, name: fixture-thing}\n");
    dir.write("fixtures/gadgets.yaml", "/gadgets:\n- {id: g1, name: fixture-gadget}\n");
    let server = Server::builder(&file).fixtures(&fixtures).start().await.unwrap();
    assert_eq!(names(&server, "things").await, ["fixture-thing"]);
    let thing = create(&server, "things", "made-thing").await;
    create(&server, "gadgets", "made-gadget").await;
    assert_eq!(names(&server, "things").await, ["fixture-thing", "made-thing"]);

    // Act: the document changes (one more operation); the store keeps its records.
    dir.write("api.yaml", &STORE.replacen("        '404': {description: none}", "        '404': {description: none}\n    delete:\n      operationId: deleteThing\n      responses:\n        '204': {description: gone}", 1));
    let (status, outcome) = reload(&server).await;
    // Assert
    assert_eq!((status, outcome["outcome"].as_str()), (200, Some("reloaded")), "{outcome}");
    assert_eq!(get(&server, &format!("/things/{thing}")).await.0, 200, "a record made before the reload is still there");
    assert_eq!(names(&server, "things").await, ["fixture-thing", "made-thing"], "{outcome}");

    // Act: one fixture file changes.
    dir.write("fixtures/things.yaml", "/things:\n- {id: t1, name: fixture-thing}\n- {id: t2, name: second-fixture}\n");
    let (status, outcome) = reload(&server).await;
    // Assert: its collection is back to the new fixtures; the other keeps what was made.
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["reseeded"], serde_json::json!(["/things"]), "{outcome}");
    assert_eq!(outcome["generation"], 2, "a fixture change alone keeps the plan: {outcome}");
    assert_eq!(names(&server, "things").await, ["fixture-thing", "second-fixture"]);
    assert_eq!(names(&server, "gadgets").await, ["fixture-gadget", "made-gadget"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_watch_a_change_waits_for_the_reload_endpoint() {
    // Arrange: two servers over one file, one watching; the watching one shows when the change
    // has been seen, so the other's not reloading is checked after that, not after a sleep.
    let dir = Dir::new();
    let file = dir.write("api.yaml", &document(&[("/a", "old")]));
    let still = Server::builder(&file).stateless(true).start().await.unwrap();
    let watching = watched(&file).await;
    // Act
    dir.write("api.yaml", &document(&[("/a", "new")]));
    eventually("the watching server reloads", || async { get(&watching, "/a").await.1["message"] == "new" }).await;
    // Assert
    assert_eq!(get(&still, "/a").await.1["message"], "old");
    assert_eq!(health(&still).await["plan"]["generation"], 1);
    assert_eq!(health(&still).await["plan"]["watching"], false);
    let (status, outcome) = reload(&still).await;
    assert_eq!((status, outcome["outcome"].as_str(), outcome["trigger"].as_str()), (200, Some("reloaded"), Some("admin")), "{outcome}");
    assert_eq!(get(&still, "/a").await.1["message"], "new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_finishes_on_the_old_plan() {
    // Arrange: the old plan delays its answer by 1.5 s; the new one answers at once.
    let dir = Dir::new();
    let slow = document(&[("/slow", "old")]).replace("    get:\n", "    get:\n      x-specstub: {latency: 1500ms}\n");
    let file = dir.write("api.yaml", &slow);
    let server = Server::builder(&file).stateless(true).start().await.unwrap();
    let watcher = client();
    let open = |c: reqwest::Client, url: String| async move {
        let h = json(c.get(format!("{url}/__specstub/health")).send().await.unwrap()).await;
        h["connections"]["open"].as_u64().unwrap()
    };
    let before = open(watcher.clone(), server.url()).await;
    let url = server.url();
    let in_flight = tokio::spawn(async move {
        let r = client().get(format!("{url}/slow")).send().await.unwrap();
        json(r).await
    });
    eventually("the slow request is in", || open(watcher.clone(), server.url()).map_above(before)).await;
    // Act
    dir.write("api.yaml", &document(&[("/slow", "new")]));
    let (status, outcome) = reload(&server).await;
    // Assert
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(get(&server, "/slow").await.1["message"], "new", "the next request is on the new plan");
    assert!(!in_flight.is_finished(), "the slow request was still in flight during the reload");
    assert_eq!(in_flight.await.unwrap()["message"], "old");
}

/// `future resolves to a count above n`, for `eventually`.
trait Above {
    fn map_above(self, n: u64) -> impl std::future::Future<Output = bool>;
}

impl<F: std::future::Future<Output = u64>> Above for F {
    async fn map_above(self, n: u64) -> bool {
        self.await > n
    }
}
