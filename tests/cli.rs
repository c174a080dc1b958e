//! The binary: lint output and exit codes, serve's refusals, the printed address and start-up
//! banner (plain without a terminal or with NO_COLOR, JSON logs kept JSON), graceful shutdown on
//! SIGTERM, the generated completions and man page, and the health check.

mod common;

use common::bin;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("binary runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn lint_reports_each_problem_with_file_and_pointer() {
    let (code, out, _) = run(&["lint", "tests/data/broken/refs.yaml"]);
    assert_eq!(code, 1, "{out}");
    for want in [
        "tests/data/broken/refs.yaml: /paths/~1a/get/responses/200/content/application~1json/schema: error: $ref \"#/components/schemas/Missing\" does not resolve",
        "tests/data/broken/refs.yaml: /paths/~1b/get: error: duplicate operationId \"same\"",
        "/paths/~1b/get/responses/200/content/application~1json/example: warning: example does not match its schema at /n",
        "/properties/n/minLenght: warning: unknown schema keyword `minLenght` (did you mean `minLength`?)",
        "/paths/~1c/get/responses/200/content/application~1json/schema: error: $ref \"nowhere.yaml#/components/schemas/X\" cannot be loaded",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("panicked"));
}

#[test]
fn lint_names_both_files_of_a_route_conflict() {
    let (code, out, _) = run(&["lint", "tests/data/broken/conflict-a.yaml", "tests/data/broken/conflict-b.yaml"]);
    assert_eq!(code, 1);
    assert!(out.contains("conflict-a.yaml") && out.contains("conflict-b.yaml") && out.contains("GET /items/{itemId}"), "{out}");
}

#[test]
fn lint_reports_unparsable_files_with_position() {
    let (code, out, _) = run(&["lint", "tests/data/broken/not-yaml.yaml"]);
    assert_eq!(code, 1);
    assert!(out.contains("not-yaml.yaml: /: error: cannot parse YAML/JSON at line 3, column 1"), "{out}");
}

#[test]
fn lint_reports_behaviour_and_traffic_mistakes_as_serve_would() {
    let (code, out, _) = run(&["lint", "tests/data/broken/behaviour.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("behaviour.yaml: /x-specstub/rateLimit: error: the limit must be at least 1"), "{out}");
    assert!(out.contains("behaviour.yaml: /paths/~1things/post/x-specstub/action: error: unknown value \"explode\""), "{out}");
    let serve = bin().args(["serve", "--port", "0", "tests/data/broken/behaviour.yaml"]).output().unwrap();
    assert_eq!(serve.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&serve.stderr).contains("unknown value \"explode\""));
}

#[test]
fn misspelled_extension_keys_fail_lint_and_serve_with_pointer_and_suggestion() {
    // Arrange: `ratelimit`, `latancy` and `lst` are typos of rateLimit, latency and list's keys.
    let file = "tests/data/broken/typos.yaml";
    // Act
    let (code, out, _) = run(&["lint", file]);
    let serve = bin().args(["serve", "--port", "0", file]).output().unwrap();
    // Assert
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("typos.yaml: /x-specstub/ratelimit: error: unknown key `ratelimit` (did you mean `rateLimit`?)"), "{out}");
    assert!(out.contains("/paths/~1things/get/x-specstub/latancy: error: unknown key `latancy` (did you mean `latency`?)"), "{out}");
    assert!(out.contains("/paths/~1things/get/x-specstub/list/lst: error: unknown key `lst`"), "{out}");
    assert_eq!(serve.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(stderr.contains("/x-specstub/ratelimit") && stderr.contains("did you mean `rateLimit`?"), "{stderr}");
}

#[test]
fn lint_passes_clean_documents_and_lists_warnings_of_loose_ones() {
    let (code, out, _) = run(&["lint", "tests/data/petstore.yaml", "tests/data/split/main.yaml"]);
    assert_eq!((code, out.trim()), (0, "2 document(s) checked: no problems"));
    let (code, out, _) = run(&["lint", "tests/data/loose.yaml"]);
    assert_eq!(code, 1);
    assert!(out.contains("warning: unknown field `paramteters` in an operation (did you mean `parameters`?)"), "{out}");
    assert!(out.contains("warning: OpenAPI 3.2.0 is served with the rules of 3.1"), "{out}");
    assert!(out.contains("0 error(s), 3 warning(s)"), "{out}");
}

#[test]
fn lint_of_a_missing_file_exits_2() {
    let (code, _, err) = run(&["lint", "tests/data/no-such.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("no-such.yaml") && err.contains("no such file"), "{err}");
}

#[test]
fn bundled_specs_lint_clean() {
    let (code, out, _) = run(&["lint", "specs"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn serve_refuses_a_broken_spec_with_the_lint_messages_and_exit_2() {
    let (code, _, err) = run(&["serve", "tests/data/broken/refs.yaml", "--port", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error: $ref \"#/components/schemas/Missing\" does not resolve"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
}

#[test]
fn serve_reports_a_port_in_use_in_one_line_and_exits_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, _, err) = run(&["serve", "tests/data/petstore.yaml", "--port", &port]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("already in use"), "{err}");
}

#[cfg(unix)]
#[test]
fn serve_prints_the_bound_address_and_stops_gracefully_on_sigterm() {
    let (mut child, url) = common::serve_bin(&["serve", "tests/data/petstore.yaml", "--port", "0", "--log-format", "json"]);
    let addr = url.strip_prefix("http://").unwrap();
    // A raw request proves the address is live.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /v1/tree HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn help_explains_every_flag_with_an_example() {
    for cmd in ["serve", "lint"] {
        let (code, out, _) = run(&[cmd, "--help"]);
        assert_eq!(code, 0);
        let flags: Vec<&str> =
            out.lines().map(str::trim).filter(|l| l.starts_with("--") && !l.starts_with("--help") && !l.starts_with("--version")).collect();
        assert!(!flags.is_empty(), "{out}");
        for section in out.split("\n\n").filter(|s| s.trim_start().starts_with("--") && !s.trim_start().starts_with("--help")) {
            assert!(section.contains("Example"), "flag without an example in `{cmd} --help`:\n{section}");
        }
    }
}

#[test]
fn completions_and_man_page_are_printed_from_the_flag_definitions() {
    let (code, bash, _) = run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(bash.contains("specstub") && bash.contains("serve") && bash.contains("--port"), "{bash}");
    for shell in ["zsh", "fish"] {
        let (code, script, _) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(script.contains("--port"), "{shell}: {script}");
    }
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
    let (code, man, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(man.contains(".TH specstub 1") && man.contains("serve"), "{man}");
}

#[cfg(unix)]
#[test]
fn health_passes_against_a_running_server_and_fails_once_it_stopped() {
    let (mut child, url) = common::serve_bin(&["serve", "tests/data/petstore.yaml", "--port", "0"]);
    let health = format!("{url}/__specstub/health");
    let (code, _, err) = run(&["health", &health]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["health", &format!("{url}/__specstub/no-such-route")]);
    assert_eq!(code, 1, "{err}");
    child.kill().unwrap();
    child.wait().unwrap();
    let (code, _, err) = run(&["health", &health]);
    assert_eq!(code, 1);
    assert!(err.contains(&health), "{err}");
}

/// Starts `specstub ARGS` with NO_COLOR set and both streams piped, read line by line on threads
/// so that a test waits for a line with a deadline instead of blocking on it.
fn serve_piped(args: &[&str]) -> (std::process::Child, Lines, Lines) {
    use std::process::Stdio;
    let mut child = bin().args(args).env("NO_COLOR", "1").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let out = Lines::read(child.stdout.take().unwrap());
    let err = Lines::read(child.stderr.take().unwrap());
    (child, out, err)
}

struct Lines(std::sync::mpsc::Receiver<String>);

impl Lines {
    fn read(stream: impl std::io::Read + Send + 'static) -> Self {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines(rx)
    }

    /// Lines up to and including the first that `last` accepts, within 10 s.
    fn until(&self, last: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.0.recv_timeout(left) {
                Ok(line) => {
                    let done = last(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(e) => panic!("{e:?} before the expected line; read so far:\n{}", seen.join("\n")),
            }
        }
    }

    /// Every line left once the stream closes (the process ended), within 10 s.
    fn rest(&self) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut seen = Vec::new();
        while let Ok(line) = self.0.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            seen.push(line);
        }
        seen
    }
}

/// (title, operation count) of a document, read from its YAML.
fn title_and_operations(path: &std::path::Path) -> (String, usize) {
    let doc: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let operations = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, _)| !p.starts_with("x-"))
        .map(|(_, item)| methods.iter().filter(|m| item.get(**m).is_some()).count())
        .sum();
    (doc["info"]["title"].as_str().unwrap().to_string(), operations)
}

#[test]
fn serve_prints_a_banner_with_each_document_the_admin_url_and_the_features_without_colour() {
    // Arrange: the bundled specs, NO_COLOR set, stdout and stderr pipes.
    let (mut child, out, err) = serve_piped(&["serve", "--port", "0"]);
    // Act
    let banner = out.until(|l| l.trim_start().starts_with("checks"));
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = err.rest();
    // Assert: the first line is still the one scripts parse.
    let addr = banner[0].strip_prefix("listening on http://").unwrap_or_else(|| panic!("first line {:?}", banner[0]));
    addr.parse::<std::net::SocketAddr>().unwrap_or_else(|e| panic!("{addr:?}: {e}"));
    let text = banner.join("\n");
    let mut documents = 0;
    for entry in std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")).unwrap() {
        let (title, operations) = title_and_operations(&entry.unwrap().path());
        let line = banner.iter().find(|l| l.contains(&title)).unwrap_or_else(|| panic!("{title} missing:\n{text}"));
        assert!(line.contains(&format!(" {operations} operations ")), "{title} has {operations} operations:\n{text}");
        documents += 1;
    }
    assert_eq!(documents, 4, "the bundled documents");
    let admin = banner.iter().find(|l| l.trim_start().starts_with("admin")).unwrap_or_else(|| panic!("no admin line:\n{text}"));
    assert!(admin.ends_with(&format!("http://{addr}/__specstub/")), "{admin}");
    assert!(banner.iter().any(|l| l.trim_start().starts_with("store") && l.contains("memory")), "{text}");
    assert!(banner.iter().any(|l| l.trim_start().starts_with("data") && l.contains("static")), "{text}");
    assert!(banner.iter().any(|l| l.trim_start().starts_with("watch") && l.contains("on")), "hot reload is on by default:\n{text}");
    let everything = format!("{text}\n{}", logs.join("\n"));
    assert!(!everything.contains("\x1b["), "an escape sequence despite NO_COLOR and pipes:\n{everything:?}");
}

#[test]
fn the_banner_names_the_features_that_are_on() {
    let (mut child, out, _err) = serve_piped(&[
        "serve",
        "tests/data/realistic.yaml",
        "--port",
        "0",
        "--stateless",
        "--data",
        "realistic",
        "--seed",
        "9",
        "--self-check",
        "--chaos",
        "0.1",
        "--latency",
        "5ms",
        "--rate-limit",
        "100/s",
        "--proxy",
        "http://127.0.0.1:9",
    ]);
    let banner = out.until(|l| l.trim_start().starts_with("checks"));
    child.kill().unwrap();
    child.wait().unwrap();
    let text = banner.join("\n");
    let line = |label: &str| {
        banner.iter().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("no {label} line:\n{text}")).clone()
    };
    assert!(line("Contacts for realistic data").contains(" 4 operations "), "{text}");
    assert!(line("store").contains("stateless"), "{text}");
    assert!(line("data").contains("realistic, seed 9"), "{text}");
    let traffic = line("traffic");
    for part in ["rate limits on 4 operations", "latency 5ms", "chaos 10% (seed 9)"] {
        assert!(traffic.contains(part), "{part:?} missing: {traffic}");
    }
    assert!(line("proxy").contains("http://127.0.0.1:9"), "{text}");
    assert!(line("checks").contains("self-check on"), "{text}");
    assert!(line("watch").contains("on, a saved change is served at once"), "{text}");
}

#[test]
fn with_json_logs_stdout_keeps_only_the_url_line_and_stderr_stays_json() {
    // Arrange
    let args = ["serve", "tests/data/realistic.yaml", "--port", "0", "--log-format", "json", "--data", "realistic"];
    let (mut child, out, err) = serve_piped(&args);
    // Act
    let first = out.until(|_| true);
    let logs = err.until(|l| l.contains("\"message\":\"listening\""));
    child.kill().unwrap();
    child.wait().unwrap();
    let more = out.rest();
    // Assert
    assert!(first[0].starts_with("listening on http://127.0.0.1:"), "{first:?}");
    assert!(more.is_empty(), "stdout has only the URL line with JSON logs: {more:?}");
    let events: Vec<serde_json::Value> =
        logs.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let serving = events.iter().find(|e| e["fields"]["message"] == "serving").expect("a serving event");
    assert_eq!(serving["fields"]["title"], "Contacts for realistic data");
    assert_eq!(serving["fields"]["operations"], 4);
    let listening = events.last().unwrap();
    assert_eq!(listening["fields"]["data"], "realistic");
    assert!(listening["fields"]["admin"].as_str().is_some_and(|a| a.ends_with("/__specstub/")), "{listening}");
}
