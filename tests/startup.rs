//! Start-up of big documents: `serve` listens before it compiles the validators requests are
//! checked against (they compile on first use, and in the background after listening, which
//! logs a schema that does not compile), while `lint` still compiles and reports every one.

mod common;

use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

use common::{bin, client, serve_cmd};

const BROKEN: &str = "tests/data/broken/schema.yaml";
const POINTER: &str = "/paths/~1things/post/requestBody/content/application~1json/schema";

#[test]
fn lint_reports_a_schema_that_does_not_compile() {
    // Act
    let out = bin().args(["lint", BROKEN]).output().expect("binary runs");
    // Assert
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("schema.yaml: {POINTER}: error: invalid schema")), "{text}");
}

#[tokio::test]
async fn serve_listens_logs_a_schema_that_does_not_compile_and_answers_the_rest() {
    // Arrange
    let mut cmd = bin();
    cmd.args(["serve", "--port", "0", BROKEN]).stderr(std::process::Stdio::piped());
    let (mut child, url) = serve_cmd(cmd);
    let stderr = child.stderr.take().expect("piped");
    let (lines, logged) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    // Act
    let ok = client().get(format!("{url}/ok")).send().await.unwrap();
    let bad = client().post(format!("{url}/things")).json(&serde_json::json!({"n": 1})).send().await.unwrap();
    let status = bad.status().as_u16();
    let body = bad.text().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut found = None;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match logged.recv_timeout(left) {
            Ok(line) if line.contains("invalid schema") => {
                found = Some(line);
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    // Assert
    assert_eq!(ok.status(), 200);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("the spec's schema is invalid"), "{body}");
    let line = found.expect("the background check logs the schema");
    assert!(line.contains("ERROR") && line.contains(POINTER), "{line}");
}
