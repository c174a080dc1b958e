//! `--state-file` against real crashes: the binary under a concurrent write load is SIGKILLed at a
//! random point and restarted on the same files, and every create it had answered must be there.
//! Also what a start makes of a torn last line (a warning, the rest loaded), a damaged line in the
//! middle (a clear error naming file and line, the file untouched), and a state file named
//! `x.tmp`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

const SPEC: &str = "tests/data/crud.yaml";

struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("specstub-durable-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server on `state`, its stderr going to `stderr`; its URL.
fn serve(state: &Path, extra: &[&str], stderr: Stdio) -> (Child, String) {
    let mut cmd = common::bin();
    cmd.args(["serve", SPEC, "--port", "0", "--state-file"]).arg(state).args(extra).stderr(stderr);
    common::serve_cmd(cmd)
}

/// A start on `state` that must fail: its exit status and what it said on stderr.
fn refused(state: &Path) -> (std::process::ExitStatus, String) {
    let mut child = common::bin()
        .args(["serve", SPEC, "--port", "0", "--state-file"])
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = exit_of(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

fn exit_of(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

async fn create(client: &reqwest::Client, url: &str, name: &str) -> Option<String> {
    let r = client.post(format!("{url}/api/things")).json(&json!({"name": name})).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    let body: serde_json::Value = r.json().await.ok()?;
    body["thingId"].as_str().map(str::to_string)
}

/// The ids in `ids` that the server at `url` does not have.
async fn missing(url: &str, ids: &[String]) -> Vec<String> {
    let client = common::client();
    let checks = futures_util::stream::iter(ids.iter().cloned()).map(|id| {
        let (client, url) = (client.clone(), url.to_string());
        async move {
            let r = client.get(format!("{url}/api/things/{id}")).send().await.expect("the restarted server answers");
            (r.status() != reqwest::StatusCode::OK).then_some(id)
        }
    });
    checks.buffer_unordered(16).filter_map(|m| async move { m }).collect().await
}

/// Creates from 8 tasks until `acks` creates were answered, then SIGKILLs the server; every id
/// whose create was answered 2xx, including answers that raced the kill.
async fn creates_until_killed(mut child: Child, url: &str, acks: usize, round: usize) -> Vec<String> {
    let (stop, answered) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let client = common::client();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (stop, answered, client, url) = (Arc::clone(&stop), Arc::clone(&answered), client.clone(), url.to_string());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match create(&client, &url, &format!("r{round}-t{t}-{i}")).await {
                        Some(id) => {
                            ids.push(id);
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        None => break,
                    }
                }
                ids
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while answered.load(Ordering::Relaxed) < acks {
        assert!(Instant::now() < deadline, "only {} creates answered in 10 s", answered.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_create_survives_sigkill_at_a_random_point() {
    let dir = Dir::new();
    let state = dir.0.join("state.json");
    // A small compaction threshold, so that kills also land during compactions.
    let extra = ["--state-compact-at", "16KiB"];
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..3 {
        let (child, url) = serve(&state, &extra, Stdio::null());
        let acks = rand::random_range(50..250);
        let ids = creates_until_killed(child, &url, acks, round).await;
        assert!(ids.len() >= acks, "round {round}: {} acknowledged", ids.len());
        acknowledged.extend(ids);
        let (mut again, url) = serve(&state, &extra, Stdio::null());
        let lost = missing(&url, &acknowledged).await;
        again.kill().unwrap();
        again.wait().unwrap();
        assert!(lost.is_empty(), "round {round}: {} of {} acknowledged creates lost: {lost:?}", lost.len(), acknowledged.len());
    }
    // Compaction ran: the snapshot names the changes it holds.
    let snapshot: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(snapshot["format"], 2);
    assert!(snapshot["log_seq"].as_u64().unwrap() > 0, "no compaction ran");
}

/// Creates `n` things on a fresh server on `state` and kills it; their ids.
async fn seeded(state: &Path, n: usize) -> Vec<String> {
    let (mut child, url) = serve(state, &[], Stdio::null());
    let client = common::client();
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(create(&client, &url, &format!("seed-{i}")).await.expect("created"));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    ids
}

#[tokio::test]
async fn a_torn_last_line_is_dropped_with_a_warning_and_the_rest_loads() {
    let dir = Dir::new();
    let state = dir.0.join("state.json");
    let ids = seeded(&state, 3).await;
    let log = dir.0.join("state.json.log");
    let whole = std::fs::read(&log).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(b"1f2e3d4c {\"n\":4,\"c\":{\"put\":{\"s\":\"\",\"r\"");
    std::fs::write(&log, &torn).unwrap();
    let errors = dir.0.join("stderr.txt");
    let (mut child, url) = serve(&state, &[], Stdio::from(std::fs::File::create(&errors).unwrap()));
    assert!(missing(&url, &ids).await.is_empty());
    // The torn bytes are gone, so the next append starts a line of its own.
    assert_eq!(std::fs::read(&log).unwrap(), whole);
    let more = create(&common::client(), &url, "after").await.expect("created");
    child.kill().unwrap();
    child.wait().unwrap();
    let warning = std::fs::read_to_string(&errors).unwrap();
    assert!(warning.contains("torn by a crash"), "no warning in {warning:?}");
    let (mut child, url) = serve(&state, &[], Stdio::null());
    assert!(missing(&url, &[ids, vec![more]].concat()).await.is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_damaged_line_in_the_middle_is_a_clear_error_and_the_file_is_kept() {
    let dir = Dir::new();
    let state = dir.0.join("state.json");
    seeded(&state, 3).await;
    let log = dir.0.join("state.json.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let at = second + bytes[second..].windows(6).position(|w| w == b"\"name\"").unwrap() + 1;
    bytes[at] = b'N';
    std::fs::write(&log, &bytes).unwrap();
    let (status, stderr) = refused(&state);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("state.json.log is damaged at line 2: the checksum does not match"), "{stderr}");
    assert_eq!(std::fs::read(&log).unwrap(), bytes, "the log was changed");
}

#[tokio::test]
async fn a_state_file_named_x_tmp_works_and_a_clean_stop_leaves_one_snapshot() {
    let dir = Dir::new();
    let state = dir.0.join("x.tmp");
    let ids = seeded(&state, 3).await;
    let (mut child, url) = serve(&state, &[], Stdio::null());
    assert!(missing(&url, &ids).await.is_empty());
    // SIGTERM: a graceful stop folds the log into the snapshot.
    // SAFETY: a plain signal to the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    assert!(exit_of(&mut child).success());
    let mut files: Vec<String> =
        std::fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files, ["x.tmp", "x.tmp.lock", "x.tmp.log"]);
    assert_eq!(std::fs::metadata(dir.0.join("x.tmp.log")).unwrap().len(), 0);
    let snapshot: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(snapshot["format"], 2);
    let (mut child, url) = serve(&state, &[], Stdio::null());
    assert!(missing(&url, &ids).await.is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_second_server_on_the_same_state_file_is_refused() {
    let dir = Dir::new();
    let state = dir.0.join("state.json");
    let (mut first, _) = serve(&state, &[], Stdio::null());
    let (status, stderr) = refused(&state);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is in use by another specstub"), "{stderr}");
}

#[tokio::test]
async fn admin_writes_and_resets_are_on_disk_when_answered() {
    let dir = Dir::new();
    let state = dir.0.join("state.json");
    let client = common::client();
    let record = |url: &str| format!("{url}/__specstub/resources/%2Fapi%2Fthings/a");
    let status_after_restart = |path: &'static str| {
        let (state, client) = (state.clone(), client.clone());
        async move {
            let (child, url) = serve(&state, &[], Stdio::null());
            let status = client.get(format!("{url}{path}")).send().await.unwrap().status();
            (child, url, status)
        }
    };
    // Each answer is followed at once by a SIGKILL.
    let (mut child, url) = serve(&state, &[], Stdio::null());
    let put = client.put(record(&url)).json(&json!({"thingId": "a", "name": "kept"})).send().await.unwrap();
    assert_eq!(put.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, url, status) = status_after_restart("/api/things/a").await;
    assert_eq!(status, 200, "the admin PUT was lost");
    assert_eq!(client.delete(record(&url)).send().await.unwrap().status(), 204);
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, url, status) = status_after_restart("/api/things/a").await;
    assert_eq!(status, 404, "the admin DELETE was lost");
    let id = create(&client, &url, "reset me").await.unwrap();
    assert_eq!(
        client.post(format!("{url}/__specstub/reset")).header("content-type", "application/json").send().await.unwrap().status(),
        200
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, url) = serve(&state, &[], Stdio::null());
    let status = client.get(format!("{url}/api/things/{id}")).send().await.unwrap().status();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 404, "the reset was lost");
}
