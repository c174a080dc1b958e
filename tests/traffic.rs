//! Traffic control over real HTTP: rate limits (429, Retry-After, RateLimit headers, per-key
//! buckets, reset), injected latency and faults as a real client sees them (status, reset, empty
//! answer, cut body, stall), seeded chaos, and W3C trace context.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{builder, client, data, json};
use reqwest::StatusCode;
use serde_json::Value;
use specstub::{Latency, RateLimitRule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SPEC: &str = "traffic.yaml";
const CALLER_TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn rule(s: &str) -> RateLimitRule {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Sends requests until one is refused (at most `max`); returns how many passed and the refusal.
async fn exhaust(c: &reqwest::Client, url: &str, token: &str, max: usize) -> (usize, reqwest::Response) {
    for passed in 0..max {
        let r = c.get(url).bearer_auth(token).send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            return (passed, r);
        }
        assert_eq!(r.status(), StatusCode::OK);
    }
    panic!("no 429 after {max} requests");
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers().get(name).unwrap_or_else(|| panic!("no {name} header: {:?}", r.headers())).to_str().unwrap()
}

/// The `r` and `t` parameters of a `RateLimit` value such as `"quota";r=0;t=1`.
fn remaining_and_reset(value: &str) -> (u64, u64) {
    let param = |k: &str| value.split(';').find_map(|p| p.strip_prefix(k)).and_then(|v| v.parse().ok()).unwrap();
    (param("r="), param("t="))
}

async fn journal(url: &str, operation: &str) -> Vec<Value> {
    let r = client().get(format!("{url}/__specstub/journal?operation={operation}")).send().await.unwrap();
    json(r).await.as_array().unwrap().clone()
}

fn injected(entry: &Value) -> Vec<String> {
    entry["injected"].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

/// Writes a raw HTTP/1.1 request and reads until the server closes: the bytes received, and the
/// error that ended the read (None for a clean close).
async fn raw(addr: SocketAddr, path: &str, prefer: &str) -> (Vec<u8>, Option<std::io::Error>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: test\r\nprefer: {prefer}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk)).await.expect("the server must close within 5s") {
            Ok(0) => return (got, None),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) => return (got, Some(e)),
        }
    }
}

/// Splits a raw answer into its head (lowercased) and body.
fn split_answer(bytes: &[u8]) -> (String, Vec<u8>) {
    let at = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head") + 4;
    (String::from_utf8_lossy(&bytes[..at]).to_ascii_lowercase(), bytes[at..].to_vec())
}

fn content_length(head: &str) -> usize {
    head.lines().find_map(|l| l.strip_prefix("content-length: ")).and_then(|v| v.trim().parse().ok()).expect("content-length")
}

#[tokio::test]
async fn burst_over_the_limit_gets_429_with_retry_after_and_ratelimit_headers_then_succeeds_after_waiting() {
    // Arrange: the spec allows 2 requests per second per credential on /quota.
    let server = builder(SPEC).start().await.unwrap();
    let url = format!("{}/api/quota", server.url());
    let c = client();
    let first = c.get(&url).bearer_auth("alice").send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(header(&first, "ratelimit-policy"), "\"quota\";q=2;w=1");
    let (r, t) = remaining_and_reset(header(&first, "ratelimit"));
    assert!(r <= 1 && t <= 1, "{r} {t}");
    // Act
    let (passed, limited) = exhaust(&c, &url, "alice", 10).await;
    // Assert
    assert!(passed <= 2, "{passed} more passed after the first");
    let retry_after: u64 = header(&limited, "retry-after").parse().unwrap();
    assert_eq!(retry_after, 1, "the next token comes within a second, and Retry-After is never 0");
    assert_eq!(header(&limited, "ratelimit-policy"), "\"quota\";q=2;w=1");
    let (r, t) = remaining_and_reset(header(&limited, "ratelimit"));
    assert_eq!(r, 0);
    assert!(t >= retry_after, "reset {t} before retry-after {retry_after}");
    assert_eq!(header(&limited, "content-type"), "application/json");
    let request_id = header(&limited, "x-request-id").to_string();
    assert_eq!(json(limited).await["error"]["code"], 429, "the API's own 429 shape");
    let entry = journal(&server.url(), "getQuota").await.into_iter().find(|e| e["request_id"] == request_id.as_str()).unwrap();
    assert_eq!(entry["status"], 429);
    assert_eq!(injected(&entry), ["rate-limit=429 (policy quota, retry after 1s)"]);
    // The client that waits as told gets in.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let again = c.get(&url).bearer_auth("alice").send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_credentials_have_separate_buckets_and_the_admin_reset_empties_them() {
    // Arrange: 2 per 10 s, so that no token comes back during the test.
    let server = builder(SPEC).rate_limit(rule("GET /quota=2/10s")).start().await.unwrap();
    let url = format!("{}/api/quota", server.url());
    let c = client();
    let (passed, limited) = exhaust(&c, &url, "token-a", 5).await;
    assert_eq!(passed, 2);
    // The next token comes 5 s after the first request.
    assert!((1..=5).contains(&header(&limited, "retry-after").parse::<u64>().unwrap()));
    // Act + Assert: another credential has its own bucket; the first stays empty.
    let b = c.get(&url).bearer_auth("token-b").send().await.unwrap();
    assert_eq!(b.status(), StatusCode::OK);
    assert_eq!(remaining_and_reset(header(&b, "ratelimit")).0, 1);
    assert_eq!(c.get(&url).bearer_auth("token-a").send().await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // The admin reset refills every bucket.
    let reset = c.post(format!("{}/__specstub/reset", server.url())).header("content-type", "application/json").send().await.unwrap();
    assert_eq!(reset.status(), StatusCode::OK);
    let a = c.get(&url).bearer_auth("token-a").send().await.unwrap();
    assert_eq!(a.status(), StatusCode::OK);
    assert_eq!(remaining_and_reset(header(&a, "ratelimit")).0, 1);
}

#[tokio::test]
async fn the_document_limit_covers_every_route_except_an_exempt_one() {
    let server = builder(SPEC).start().await.unwrap();
    let c = client();
    let items = c.get(format!("{}/api/items", server.url())).send().await.unwrap();
    assert_eq!(header(&items, "ratelimit-policy"), "\"global\";q=1000;w=1");
    let open = c.get(format!("{}/api/open", server.url())).send().await.unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    assert!(open.headers().get("ratelimit").is_none() && open.headers().get("ratelimit-policy").is_none());
}

#[tokio::test]
async fn a_command_line_limit_keyed_by_ip_replaces_the_spec_limit_and_problem_json_answers_without_a_declared_429() {
    let server = builder(SPEC).rate_limit(rule("GET /items=1/10s,key=ip")).start().await.unwrap();
    let url = format!("{}/api/items", server.url());
    let c = client();
    let ok = c.get(&url).bearer_auth("one").send().await.unwrap();
    assert_eq!(header(&ok, "ratelimit-policy"), "\"default\";q=1;w=10");
    // A different credential from the same IP shares the bucket.
    let limited = c.get(&url).bearer_auth("two").send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "content-type"), "application/problem+json");
    let body = json(limited).await;
    assert_eq!(body["status"], 429);
    assert!(body["detail"].as_str().unwrap().contains("1 per 10s for each client IP"), "{body}");
}

#[tokio::test]
async fn prefer_fault_answers_a_declared_status_with_retry_after_and_the_journal_shows_it() {
    let server = builder(SPEC).start().await.unwrap();
    let r = client().get(format!("{}/api/items", server.url())).header("prefer", "fault=503").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&r, "retry-after"), "1");
    let request_id = header(&r, "x-request-id").to_string();
    let body = json(r).await;
    assert!(body["message"].as_str().unwrap().contains("injected fault: 503"), "{body}");
    let entries = journal(&server.url(), "listItems").await;
    let entry = entries.iter().find(|e| e["request_id"] == request_id.as_str()).unwrap();
    assert_eq!(injected(entry), ["fault=503 (prefer)"]);
    // 500 is declared too, and has no Retry-After.
    let r = client().get(format!("{}/api/items", server.url())).header("prefer", "fault=500").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn prefer_fault_or_latency_that_cannot_be_served_is_a_clear_400() {
    let server = builder(SPEC).start().await.unwrap();
    let c = client();
    for (prefer, says) in [
        ("fault=502", "Prefer: fault=502 is not declared by this operation; declared: 200, 500, 503"),
        ("fault=explode", "unknown fault \"explode\""),
        ("latency=soon", "Prefer: latency=soon is not a latency"),
    ] {
        let r = c.get(format!("{}/api/items", server.url())).header("prefer", prefer).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{prefer}");
        let body = json(r).await;
        assert!(body["detail"].as_str().unwrap().contains(says), "{prefer}: {body}");
    }
}

#[tokio::test]
async fn a_reset_fault_closes_the_connection_without_an_answer() {
    let server = builder(SPEC).start().await.unwrap();
    // A raw socket sees the reset itself.
    let (got, err) = raw(server.addr(), "/api/items", "fault=reset").await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert_eq!(err.map(|e| e.kind()), Some(std::io::ErrorKind::ConnectionReset));
    // An HTTP client gets a transport error, not a status.
    let c = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let e = c.get(format!("{}/api/items", server.url())).header("prefer", "fault=reset").send().await.unwrap_err();
    assert!(e.status().is_none() && !e.is_timeout(), "{e:?}");
    // The journal says what happened.
    let entries = journal(&server.url(), "listItems").await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| injected(e) == ["fault=reset (prefer)"]), "{entries:?}");
}

#[tokio::test]
async fn an_empty_fault_sends_the_head_then_closes_before_the_body() {
    let server = builder(SPEC).start().await.unwrap();
    let (got, err) = raw(server.addr(), "/api/items", "fault=empty").await;
    assert!(err.is_none(), "{err:?}");
    let (head, body) = split_answer(&got);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(content_length(&head) > 0);
    assert!(body.is_empty());
    // An HTTP client gets the status, then fails reading the body.
    let r = client().get(format!("{}/api/items", server.url())).header("prefer", "fault=empty").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.is_err());
}

#[tokio::test]
async fn a_cut_fault_sends_part_of_the_body_then_closes() {
    let server = builder(SPEC).start().await.unwrap();
    let (got, err) = raw(server.addr(), "/api/items", "fault=cut").await;
    assert!(err.is_none(), "{err:?}");
    let (head, body) = split_answer(&got);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let announced = content_length(&head);
    assert!(!body.is_empty() && body.len() < announced, "{} of {announced}", body.len());
    assert!(serde_json::from_slice::<Value>(&body).is_err(), "a cut body is not whole JSON");
    let r = client().get(format!("{}/api/items", server.url())).header("prefer", "fault=cut").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let e = r.bytes().await.unwrap_err();
    assert!(e.is_body() || e.is_decode(), "{e:?}");
}

#[tokio::test]
async fn a_stall_holds_the_body_until_the_client_times_out_and_shutdown_ends_it() {
    let server = builder(SPEC).start().await.unwrap();
    // Act: the head arrives, the body never completes, the client's timeout fires.
    let c = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().unwrap();
    let started = Instant::now();
    let r = c.get(format!("{}/api/items", server.url())).header("prefer", "fault=stall").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let e = r.bytes().await.unwrap_err();
    // Assert
    assert!(e.is_timeout(), "{e:?}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    // A client that never gives up is released when the server stops.
    let addr = server.addr();
    let waiting = tokio::spawn(async move { raw(addr, "/api/items", "fault=stall").await });
    let entries = async {
        for _ in 0..200 {
            if journal(&format!("http://{addr}"), "listItems").await.len() == 2 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the second stall never reached the server");
    };
    entries.await;
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await.expect("shutdown is not held by a stall");
    assert!(stopping.elapsed() < Duration::from_secs(5));
    let (got, _) = waiting.await.unwrap();
    let (head, body) = split_answer(&got);
    assert!(body.len() < content_length(&head), "{head}");
}

#[tokio::test]
async fn a_declared_fault_fires_at_its_rate_with_its_retry_after() {
    let server = builder(SPEC).start().await.unwrap();
    let r = client().get(format!("{}/api/flaky", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&r, "retry-after"), "2");
    let entries = journal(&server.url(), "getFlaky").await;
    assert_eq!(injected(&entries[0]), ["fault=503 (spec)"]);
}

#[tokio::test]
async fn latency_from_prefer_and_from_the_spec_delays_the_answer_and_is_journaled() {
    let server = builder(SPEC).start().await.unwrap();
    let c = client();
    let started = Instant::now();
    let r = c.get(format!("{}/api/open", server.url())).header("prefer", "latency=300ms").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(injected(&journal(&server.url(), "getOpen").await[0]), ["latency=300ms (prefer)"]);
    let started = Instant::now();
    assert_eq!(c.get(format!("{}/api/slow", server.url())).send().await.unwrap().status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let slow = injected(&journal(&server.url(), "getSlow").await[0]);
    assert!(slow.len() == 1 && slow[0].starts_with("latency=2") && slow[0].ends_with("ms (spec)"), "{slow:?}");
    // A request may ask for none.
    assert_eq!(c.get(format!("{}/api/slow", server.url())).header("prefer", "latency=0ms").send().await.unwrap().status(), StatusCode::OK);
    assert!(injected(&journal(&server.url(), "getSlow").await[1]).is_empty());
}

#[tokio::test]
async fn command_line_latency_applies_to_every_route() {
    let server = builder(SPEC).latency("50ms".parse::<Latency>().unwrap()).start().await.unwrap();
    let started = Instant::now();
    assert_eq!(client().get(format!("{}/api/open", server.url())).send().await.unwrap().status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(injected(&journal(&server.url(), "getOpen").await[0]), ["latency=50ms (config)"]);
}

/// What a client saw for each of `n` requests under chaos, and what the journal says was injected.
async fn chaos_run(seed: u64, n: usize) -> (Vec<String>, Vec<Vec<String>>) {
    let server = builder(SPEC).chaos(0.5).seed(seed).start().await.unwrap();
    // A new connection per request, so that a broken one never affects the next request.
    let c = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_millis(300)).build().unwrap();
    let mut seen = Vec::new();
    for _ in 0..n {
        let outcome = match c.get(format!("{}/api/items", server.url())).send().await {
            Err(_) => "no answer".to_string(),
            Ok(r) => {
                let status = r.status().as_u16();
                match r.bytes().await {
                    Ok(_) => status.to_string(),
                    Err(_) => format!("{status} broken body"),
                }
            }
        };
        seen.push(outcome);
    }
    let injected = journal(&server.url(), "listItems").await.iter().map(injected).collect();
    (seen, injected)
}

#[tokio::test]
async fn seeded_chaos_gives_the_same_sequence_twice() {
    let (seen_a, injected_a) = chaos_run(42, 24).await;
    let (seen_b, injected_b) = chaos_run(42, 24).await;
    assert_eq!(seen_a, seen_b);
    assert_eq!(injected_a, injected_b);
    assert_eq!(injected_a.len(), 24);
    let faults: Vec<&String> = injected_a.iter().flatten().collect();
    assert!(faults.len() >= 4 && faults.len() <= 20, "about half of 24 requests fail: {injected_a:?}");
    assert!(faults.iter().all(|f| f.starts_with("fault=") && f.ends_with("(chaos)")), "{faults:?}");
    assert!(seen_a.iter().any(|s| s == "200") && seen_a.iter().any(|s| s != "200"), "{seen_a:?}");
    let (_, injected_c) = chaos_run(7, 24).await;
    assert_ne!(injected_a, injected_c, "another seed, another sequence");
}

#[tokio::test]
async fn traceparent_continues_the_callers_trace_with_a_new_span_and_echoes_tracestate() {
    let server = builder(SPEC).start().await.unwrap();
    let c = client();
    // A routed request, an unknown path and the admin API all carry trace context.
    for path in ["/api/open", "/nowhere", "/__specstub/health"] {
        let r = c
            .get(format!("{}{path}", server.url()))
            .header("traceparent", CALLER_TRACE)
            .header("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
            .send()
            .await
            .unwrap();
        let tp = header(&r, "traceparent");
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts.len(), 4, "{path}: {tp}");
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736", "{path}: the caller's trace id");
        assert_ne!(parts[2], "00f067aa0ba902b7", "{path}: a new span id");
        assert!(parts[2].len() == 16 && parts[2] != "0000000000000000");
        assert_eq!(parts[3], "01");
        assert_eq!(header(&r, "tracestate"), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    }
}

#[tokio::test]
async fn traceparent_is_fresh_and_valid_without_a_valid_one_from_the_caller() {
    let server = builder(SPEC).start().await.unwrap();
    let c = client();
    let mut trace_ids = Vec::new();
    for sent in [None, Some("00-not-a-trace-01")] {
        let mut req = c.get(format!("{}/api/open", server.url()));
        if let Some(tp) = sent {
            req = req.header("traceparent", tp).header("tracestate", "congo=t61rcWkgMzE");
        }
        let r = req.send().await.unwrap();
        let tp = header(&r, "traceparent").to_string();
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts.len(), 4, "{tp}");
        assert_eq!((parts[0], parts[1].len(), parts[2].len(), parts[3]), ("00", 32, 16, "01"), "{tp}");
        assert!(parts[1].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(r.headers().get("tracestate").is_none(), "tracestate is dropped with an invalid traceparent");
        trace_ids.push(parts[1].to_string());
    }
    assert_ne!(trace_ids[0], trace_ids[1]);
}

#[tokio::test]
async fn a_malformed_traffic_declaration_refuses_to_start_with_its_pointer() {
    let dir = std::env::temp_dir().join(format!("specstub-traffic-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    let text = std::fs::read_to_string(data(SPEC))
        .unwrap()
        .replace("rateLimit: {limit: 1000, period: 1s, name: global}", "rateLimit: {limit: 10, period: 100ms}");
    std::fs::write(&file, text).unwrap();
    let err = specstub::Server::builder(&file).start().await.expect_err("refused");
    let _ = std::fs::remove_dir_all(&dir);
    let message = err.to_string();
    assert!(message.contains("/x-specstub/rateLimit") && message.contains("whole number of seconds"), "{message}");
}

#[cfg(unix)]
#[test]
fn the_command_line_flags_configure_traffic_control() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = common::bin()
        .args(["serve", "tests/data/traffic.yaml", "--port", "0", "--rate-limit", "GET /open=1/10s", "--chaos", "0", "--seed", "1"])
        .args(["--latency", "1ms..2ms"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
    let get = || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET /api/open HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        resp.to_ascii_lowercase()
    };
    let first = get();
    let second = get();
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    assert!(first.starts_with("http/1.1 200") && first.contains("ratelimit-policy: \"default\";q=1;w=10"), "{first}");
    assert!(second.starts_with("http/1.1 429") && second.contains("retry-after: "), "{second}");
}
