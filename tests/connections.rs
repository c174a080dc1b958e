//! Connection limits over real sockets: slow headers, slow and short bodies, idle keep-alive and
//! silent connections closed by their deadlines; a flood above --max-connections while a normal
//! client is still served; HTTP/2 (prior knowledge) with the limits on, and its keep-alive pings.
//! Every wait is a read until the server closes, bounded by a timeout ten or more times the
//! deadline under test.

mod common;

use std::time::{Duration, Instant};

use common::{client, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MS: fn(u64) -> Duration = Duration::from_millis;
const LIST: &[u8] = b"GET /v1/pets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\n\r\n";

/// Reads until the server closes the connection (EOF or reset), for at most `bound`. Returns what
/// arrived and when the connection closed, measured from `since`; None if it was still open.
async fn read_until_closed(s: &mut TcpStream, since: Instant, bound: Duration) -> (Vec<u8>, Option<Duration>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return (got, None),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Some(since.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one whole HTTP/1 answer (headers and a Content-Length body) from a keep-alive connection.
async fn read_answer(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.expect("an answer within 5 s").expect("read");
        assert!(n > 0, "closed before a whole answer: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// Writes `bytes` one at a time, `every` apart, until done or the server closes.
fn trickle(mut w: tokio::net::tcp::OwnedWriteHalf, bytes: &'static [u8], every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for b in bytes {
            if w.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    })
}

async fn health(url: &str) -> serde_json::Value {
    json(client().get(format!("{url}/__specstub/health")).send().await.expect("health")).await
}

fn assert_closed_between(closed: Option<Duration>, low: Duration, high: Duration, what: &str) {
    let at = closed.unwrap_or_else(|| panic!("{what}: still open after {high:?}"));
    assert!(at >= low, "{what}: closed after {at:?}, before its deadline of {low:?}");
    assert!(at < high, "{what}: closed after {at:?}");
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_the_header_timeout() {
    // Arrange
    let server = common::builder("petstore.yaml").header_timeout(MS(300)).idle_timeout(MS(10_000)).start().await.unwrap();
    // Act: connect, send nothing.
    let since = Instant::now();
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    let (got, closed) = read_until_closed(&mut s, since, MS(3000)).await;
    // Assert
    assert_closed_between(closed, MS(300), MS(3000), "silent connection");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert_eq!(health(&server.url()).await["connections"]["closed"]["headerTimeout"], 1);
}

#[tokio::test]
async fn a_client_trickling_its_first_headers_is_cut_off_at_the_header_timeout() {
    // Arrange: one byte every 100 ms, so fewer than the 24 that tell HTTP/1 from HTTP/2 arrive
    // before the deadline.
    let server = common::builder("petstore.yaml").header_timeout(MS(500)).idle_timeout(MS(10_000)).start().await.unwrap();
    let since = Instant::now();
    let (mut r, w) = TcpStream::connect(server.addr()).await.unwrap().into_split();
    // Act
    let writer = trickle(w, LIST, MS(100));
    let mut got = Vec::new();
    let closed = tokio::time::timeout(MS(5000), r.read_to_end(&mut got)).await.ok().map(|_| since.elapsed());
    // Assert
    assert_closed_between(closed, MS(500), MS(5000), "trickling client");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    writer.abort();
}

#[tokio::test]
async fn the_next_request_on_a_keep_alive_connection_must_send_its_headers_within_the_header_timeout() {
    // Arrange: a long idle timeout, so that only the header deadline can close it.
    let server = common::builder("petstore.yaml").header_timeout(MS(500)).idle_timeout(MS(10_000)).start().await.unwrap();
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(LIST).await.unwrap();
    assert!(read_answer(&mut s).await.starts_with("HTTP/1.1 200"));
    // Act: the second request trickles in.
    let since = Instant::now();
    let (mut r, w) = s.into_split();
    let writer = trickle(w, LIST, MS(100));
    let mut got = Vec::new();
    let closed = tokio::time::timeout(MS(5000), r.read_to_end(&mut got)).await.ok().map(|_| since.elapsed());
    // Assert
    assert_closed_between(closed, MS(500), MS(5000), "trickled second request");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    writer.abort();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout_not_the_header_timeout() {
    // Arrange
    let server = common::builder("petstore.yaml").header_timeout(MS(200)).idle_timeout(MS(1000)).start().await.unwrap();
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    // The server's idle clock starts when it has written the answer: after this, before the
    // answer is read here.
    let since = Instant::now();
    s.write_all(LIST).await.unwrap();
    let answer = read_answer(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Act: nothing more.
    let (got, closed) = read_until_closed(&mut s, since, MS(10_000)).await;
    // Assert: open past the 200 ms header timeout, closed at the 1 s idle timeout.
    assert_closed_between(closed, MS(1000), MS(10_000), "idle keep-alive connection");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    let counts = health(&server.url()).await;
    assert_eq!(counts["connections"]["closed"]["idleTimeout"], 1, "{counts}");
    assert_eq!(counts["connections"]["closed"]["headerTimeout"], 0, "{counts}");
}

#[tokio::test]
async fn a_short_body_gets_408_and_the_connection_closes() {
    // Arrange
    let server = common::builder("petstore.yaml").body_timeout(MS(500)).idle_timeout(MS(10_000)).start().await.unwrap();
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    // Act: 100 bytes announced, 10 sent.
    s.write_all(b"POST /v1/pets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"name\":\"")
        .await
        .unwrap();
    let since = Instant::now();
    let (got, closed) = read_until_closed(&mut s, since, MS(5000)).await;
    // Assert
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert_closed_between(closed, MS(500), MS(5000), "short body");
    assert!(text.starts_with("http/1.1 408"), "{text}");
    assert!(text.contains("connection: close") && text.contains("content-type: application/problem+json"), "{text}");
    assert!(text.contains("--body-timeout"), "{text}");
    assert_eq!(health(&server.url()).await["connections"]["closed"]["bodyTimeout"], 1);
}

#[tokio::test]
async fn a_slow_body_gets_408_at_the_body_timeout() {
    // Arrange
    let server = common::builder("petstore.yaml").body_timeout(MS(500)).idle_timeout(MS(10_000)).start().await.unwrap();
    let (mut r, mut w) = TcpStream::connect(server.addr()).await.unwrap().into_split();
    w.write_all(
        b"POST /v1/pets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\ncontent-type: application/json\r\ncontent-length: 60\r\n\r\n",
    )
    .await
    .unwrap();
    // Act: the body, one byte every 100 ms (6 s in all).
    let since = Instant::now();
    let writer = trickle(w, b"{\"id\": 1, \"name\": \"Rex\", \"status\": \"available\", \"tag\": \"x\"}", MS(100));
    let mut got = Vec::new();
    let closed = tokio::time::timeout(MS(5000), r.read_to_end(&mut got)).await.ok().map(|_| since.elapsed());
    // Assert
    assert_closed_between(closed, MS(500), MS(5000), "slow body");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    writer.abort();
}

#[tokio::test]
async fn a_slow_answer_is_not_cut_by_the_idle_or_header_timeouts() {
    // Arrange: the answer takes longer than both connection deadlines.
    let server = common::builder("petstore.yaml")
        .header_timeout(MS(200))
        .idle_timeout(MS(300))
        .latency("1200ms".parse().unwrap())
        .start()
        .await
        .unwrap();
    // Act
    let r = client().get(format!("{}/v1/pets", server.url())).bearer_auth("t").send().await.unwrap();
    // Assert
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Rex"));
}

#[tokio::test]
async fn a_flood_above_the_connection_cap_does_not_lock_out_a_normal_client() {
    // Arrange: deadlines far away, so that only the cap closes connections.
    let server =
        common::builder("petstore.yaml").max_connections(20).header_timeout(MS(20_000)).idle_timeout(MS(20_000)).start().await.unwrap();
    let mut flood = Vec::new();
    // 20 idle keep-alive connections, 20 silent ones, 20 halfway through their headers.
    for _ in 0..20 {
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(LIST).await.unwrap();
        assert!(read_answer(&mut s).await.starts_with("HTTP/1.1 200"));
        flood.push(s);
    }
    for i in 0..40 {
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        if i >= 20 {
            s.write_all(b"GET /v1/pets HTTP/1.1\r\nhost: x\r\n").await.unwrap();
        }
        flood.push(s);
    }
    // Act: a normal client, on a real route and on the health route.
    let listed = client().get(format!("{}/v1/pets", server.url())).bearer_auth("t").send().await.unwrap();
    let counts = health(&server.url()).await;
    let mut fresh = TcpStream::connect(server.addr()).await.unwrap();
    fresh.write_all(b"GET /__specstub/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    let (raw_health, _) = read_until_closed(&mut fresh, Instant::now(), MS(5000)).await;
    // Assert
    assert_eq!(listed.status(), 200);
    assert!(String::from_utf8_lossy(&raw_health).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&raw_health));
    let connections = &counts["connections"];
    assert_eq!(connections["max"], 20, "{counts}");
    assert!(connections["open"].as_u64().unwrap() <= 22, "{counts}");
    assert!(connections["closed"]["shed"].as_u64().unwrap() >= 41, "{counts}");
    // The oldest 41 of the flood were closed to make room: each sees its connection end.
    let mut closed = 0;
    for s in &mut flood {
        if read_until_closed(s, Instant::now(), MS(50)).await.1.is_some() {
            closed += 1;
        }
    }
    assert!(closed >= 41, "only {closed} of the 60 flood connections were closed");
}

#[tokio::test]
async fn at_the_cap_with_every_connection_busy_a_new_client_gets_503_and_health_still_answers() {
    // Arrange: two uploads in flight (the server asked for their bodies) fill a cap of 2.
    let server = common::builder("petstore.yaml").max_connections(2).body_timeout(MS(10_000)).start().await.unwrap();
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(
            b"POST /v1/pets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\ncontent-type: application/json\r\ncontent-length: 50\r\nexpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(MS(5000), s.read(&mut buf)).await.expect("100 Continue within 5 s").unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&buf[..n]));
        busy.push(s);
    }
    // Act
    let mut refused = TcpStream::connect(server.addr()).await.unwrap();
    refused.write_all(LIST).await.unwrap();
    let (answer, closed) = read_until_closed(&mut refused, Instant::now(), MS(5000)).await;
    let mut probe = TcpStream::connect(server.addr()).await.unwrap();
    probe.write_all(b"GET /__specstub/health HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let (probed, _) = read_until_closed(&mut probe, Instant::now(), MS(5000)).await;
    // Assert
    let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(closed.is_some(), "the refused connection stayed open");
    assert!(text.starts_with("http/1.1 503"), "{text}");
    assert!(text.contains("retry-after: 1") && text.contains("connection: close") && text.contains("--max-connections"), "{text}");
    let probed = String::from_utf8_lossy(&probed);
    assert!(probed.starts_with("HTTP/1.1 200"), "{probed}");
    let counts: serde_json::Value = serde_json::from_str(probed.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    // Both connections beyond the cap count, the one answered 503 and the health probe.
    assert_eq!(counts["connections"]["refused"], 2, "{counts}");
    assert_eq!(counts["connections"]["open"], 2, "{counts}");
    // Once the uploads end, new clients are served again.
    drop(busy);
    let deadline = Instant::now() + MS(5000);
    loop {
        let r = client().get(format!("{}/v1/pets", server.url())).bearer_auth("t").send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still {} 5 s after the uploads ended", r.status());
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served_with_the_limits_on() {
    // Arrange
    let server = common::builder("petstore.yaml")
        .max_connections(20)
        .header_timeout(MS(300))
        .idle_timeout(MS(1000))
        .body_timeout(MS(500))
        .http2_keepalive(MS(200), MS(1000))
        .http2_max_streams(8)
        .start()
        .await
        .unwrap();
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    // Act: more requests at once than the stream limit, on one connection, then a body.
    let list = format!("{}/v1/pets", server.url());
    let answers = futures_util::future::join_all((0..20).map(|_| h2.get(&list).bearer_auth("t").send())).await;
    let created = h2.post(&list).bearer_auth("t").json(&serde_json::json!({"id": 3, "name": "Kit"})).send().await.unwrap();
    let health = h2.get(format!("{}/__specstub/health", server.url())).send().await.unwrap();
    // Assert
    for a in answers {
        let a = a.unwrap();
        assert_eq!((a.status().as_u16(), a.version()), (200, reqwest::Version::HTTP_2));
    }
    assert_eq!((created.status().as_u16(), created.version()), (201, reqwest::Version::HTTP_2));
    assert_eq!(health.status(), 200);
    let counts = json(health).await;
    assert_eq!(counts["connections"]["closed"]["bodyTimeout"], 0, "{counts}");
}

/// HTTP/2 frames by hand: the preface, empty SETTINGS, and one GET of the health route.
fn h2_request() -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend_from_slice(&[0, 0, 0, 0x04, 0, 0, 0, 0, 0]);
    let path = b"/__specstub/health";
    // :method GET, :scheme http (static table), :path as a literal with an indexed name.
    let mut block = vec![0x82, 0x86, 0x04, path.len() as u8];
    block.extend_from_slice(path);
    out.extend_from_slice(&[0, 0, block.len() as u8, 0x01, 0x05, 0, 0, 0, 1]);
    out.extend_from_slice(&block);
    out
}

/// Reads HTTP/2 frames until the server answers stream 1 (a HEADERS frame), then until it
/// closes; the close's time is measured from `since`. Pings are left unanswered.
async fn h2_answer_then_close(s: &mut TcpStream, since: Instant, bound: Duration) -> (bool, Option<Duration>) {
    let (got, closed) = read_until_closed(s, since, bound).await;
    let mut at = 0;
    let mut answered = false;
    while at + 9 <= got.len() {
        let len = usize::from(got[at]) << 16 | usize::from(got[at + 1]) << 8 | usize::from(got[at + 2]);
        let stream = u32::from_be_bytes([got[at + 5], got[at + 6], got[at + 7], got[at + 8]]) & 0x7fff_ffff;
        answered |= got[at + 3] == 0x01 && stream == 1;
        at += 9 + len;
    }
    (answered, closed)
}

#[tokio::test]
async fn an_http2_peer_that_does_not_answer_pings_is_dropped() {
    // Arrange: a ping every 200 ms, 300 ms to answer; the idle timeout is far away.
    let server = common::builder("petstore.yaml").http2_keepalive(MS(200), MS(300)).idle_timeout(MS(20_000)).start().await.unwrap();
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    // Act
    s.write_all(&h2_request()).await.unwrap();
    let since = Instant::now();
    let (answered, closed) = h2_answer_then_close(&mut s, since, MS(5000)).await;
    // Assert
    assert!(answered, "no answer on stream 1");
    assert_closed_between(closed, MS(500), MS(5000), "unresponsive HTTP/2 peer");
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_at_the_idle_timeout() {
    // Arrange: pings far apart, so that only the idle timeout can close it.
    let server = common::builder("petstore.yaml")
        .header_timeout(MS(200))
        .http2_keepalive(MS(20_000), MS(20_000))
        .idle_timeout(MS(1000))
        .start()
        .await
        .unwrap();
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    // Act
    s.write_all(&h2_request()).await.unwrap();
    let since = Instant::now();
    let (answered, closed) = h2_answer_then_close(&mut s, since, MS(10_000)).await;
    // Assert
    assert!(answered, "no answer on stream 1");
    assert_closed_between(closed, MS(1000), MS(10_000), "idle HTTP/2 connection");
}

#[tokio::test]
async fn the_serve_flags_set_the_limits() {
    // Arrange
    let (mut child, url) = common::serve_bin(&[
        "serve",
        "tests/data/petstore.yaml",
        "--port",
        "0",
        "--max-connections",
        "7",
        "--header-timeout",
        "300ms",
        "--idle-timeout",
        "30s",
    ]);
    // Act
    let addr = url.trim_start_matches("http://").to_string();
    let since = Instant::now();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut silent, since, MS(3000)).await;
    let counts = health(&url).await;
    child.kill().unwrap();
    let _ = child.wait();
    // Assert
    assert_closed_between(closed, MS(300), MS(3000), "silent connection");
    assert_eq!(counts["connections"]["max"], 7, "{counts}");
}
