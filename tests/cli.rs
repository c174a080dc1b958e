//! The binary: lint output and exit codes, serve's refusals, the printed address, graceful
//! shutdown on SIGTERM, the generated completions and man page, and the health check.

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
