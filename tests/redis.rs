//! The Redis store against a real `redis-server` (never a mock): two specstub instances on one
//! Redis act as one API (records, versions, unique keys, sessions, rate limits), and losing
//! Redis gives 503s that heal when it returns. Each test starts its own Redis on a free port.
//!
//! Without `redis-server` on the machine the tests say they were skipped and pass, except when
//! the CI variable is set, where a missing Redis is a failure.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{client, data, json};
use reqwest::StatusCode;
use serde_json::json;
use specstub::store::{Expect, Ns, Pool, Record, RedisOptions, RedisStore, Store, StoreError};

/// A `redis-server` of this test's own, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// A fresh Redis on a free port, or None (after saying so) when none is installed.
    fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        match Self::on(port) {
            Ok(r) => Some(r),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // CI must run these tests, so a missing server there is a failure, not a skip.
                assert!(std::env::var_os("CI").is_none(), "redis-server is not installed and CI is set: apt-get install -y redis-server");
                eprintln!("skipped: redis-server not installed");
                None
            }
            Err(e) => panic!("cannot start redis-server: {e}"),
        }
    }

    /// Starts Redis on `port` and waits (bounded) until it answers PING.
    fn on(port: u16) -> std::io::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.answers() {
            assert!(Instant::now() < deadline, "redis-server on port {port} did not answer PING within 10s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn orders_on(redis: &Redis) -> specstub::Running {
    common::stateful("orders.yaml").fixtures(data("fixtures")).store(redis.url()).start().await.expect("starts on Redis")
}

fn rec(id: &str, data: serde_json::Value) -> Record {
    Record { id: id.into(), version: 0, seq: 0, scope: vec![], data }
}

fn store_on(redis: &Redis, fixtures: HashMap<String, Vec<Record>>) -> RedisStore {
    let pool = std::sync::Arc::new(Pool::connect(&redis.url()).expect("Redis answers"));
    let unique = HashMap::from([("runs".to_string(), vec!["clientKey".to_string()])]);
    RedisStore::new(pool, &RedisOptions { prefix: "unit".into(), ttl: None }, fixtures, unique)
}

fn ns(session: &str) -> Ns {
    Ns { session: session.into(), resource: "runs".into() }
}

#[tokio::test]
async fn two_instances_share_records_and_seed_fixtures_once() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (orders_on(&redis).await, orders_on(&redis).await);
    let c = client();
    let r = c.post(format!("{}/orders", a.url())).json(&json!({"order": {"item": "pen", "quantity": 3}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = json(r).await["order"]["orderId"].as_str().unwrap().to_string();
    let r = c.get(format!("{}/orders/{id}", b.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "W/\"1\"");
    assert_eq!(json(r).await["order"]["item"], "pen");
    // Both instances list the two fixtures once, then the new order, in creation order.
    for url in [a.url(), b.url()] {
        let list = json(c.get(format!("{url}/orders")).send().await.unwrap()).await;
        let ids: Vec<&str> = list["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap()).collect();
        assert_eq!(ids, ["seed-1", "seed-2", id.as_str()]);
    }
    // Unique keys hold across instances.
    let body = json!({"order": {"item": "cup", "quantity": 1, "clientKey": "k-1"}});
    assert_eq!(c.post(format!("{}/orders", a.url())).json(&body).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(c.post(format!("{}/orders", b.url())).json(&body).send().await.unwrap().status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_if_match_writers_across_instances_have_exactly_one_winner() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (orders_on(&redis).await, orders_on(&redis).await);
    let c = client();
    let writers = (0..64).map(|i| {
        let (c, url) = (c.clone(), if i % 2 == 0 { a.url() } else { b.url() });
        tokio::spawn(async move {
            let body = json!({"order": {"item": format!("writer-{i}"), "quantity": 1}});
            c.put(format!("{url}/orders/seed-1")).header("if-match", "W/\"1\"").json(&body).send().await.unwrap().status()
        })
    });
    let mut statuses = Vec::new();
    for w in writers.collect::<Vec<_>>() {
        statuses.push(w.await.unwrap());
    }
    let won = statuses.iter().filter(|s| s.is_success()).count();
    let lost = statuses.iter().filter(|s| **s == StatusCode::PRECONDITION_FAILED).count();
    assert_eq!((won, lost), (1, 63), "{statuses:?}");
    let r = c.get(format!("{}/orders/seed-1", b.url())).send().await.unwrap();
    assert_eq!(r.headers()["etag"], "W/\"2\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_without_if_match_all_land_and_racing_creates_keep_a_unique_key_once() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (orders_on(&redis).await, orders_on(&redis).await);
    let c = client();
    // Masked updates without If-Match: a lost compare-and-set is retried, never seen by callers.
    let updates = (0..32).map(|i| {
        let (c, url) = (c.clone(), if i % 2 == 0 { a.url() } else { b.url() });
        tokio::spawn(async move {
            let body = json!({"order": {"orderId": "seed-2", "item": "lamp", "quantity": i + 1}, "updateMask": "quantity"});
            c.patch(format!("{url}/orders")).json(&body).send().await.unwrap().status()
        })
    });
    for u in updates.collect::<Vec<_>>() {
        assert_eq!(u.await.unwrap(), StatusCode::OK);
    }
    let r = c.get(format!("{}/orders/seed-2", a.url())).send().await.unwrap();
    assert_eq!(r.headers()["etag"], "W/\"33\"", "every one of the 32 updates counted once");
    // Creates with the same unique key on both instances at once: exactly one succeeds.
    let creates = (0..32).map(|i| {
        let (c, url) = (c.clone(), if i % 2 == 0 { a.url() } else { b.url() });
        tokio::spawn(async move {
            let body = json!({"order": {"item": "race", "quantity": 1, "clientKey": "same-key"}});
            c.post(format!("{url}/orders")).json(&body).send().await.unwrap().status()
        })
    });
    let mut statuses = Vec::new();
    for cr in creates.collect::<Vec<_>>() {
        statuses.push(cr.await.unwrap());
    }
    let won = statuses.iter().filter(|s| s.is_success()).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((won, refused), (1, 31), "{statuses:?}");
}

#[tokio::test]
async fn a_session_reset_on_one_instance_clears_that_session_for_both_and_no_other() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (orders_on(&redis).await, orders_on(&redis).await);
    let c = client();
    let mut ids = HashMap::new();
    for session in ["s1", "s2"] {
        let body = json!({"order": {"item": session, "quantity": 1}});
        let r = c.post(format!("{}/orders", a.url())).header("x-specstub-session", session).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        ids.insert(session, json(r).await["order"]["orderId"].as_str().unwrap().to_string());
    }
    let r = c.delete(format!("{}/orders/seed-1", b.url())).header("x-specstub-session", "s1").send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let get = |url: String, session: &'static str, id: &str| {
        let req = c.get(format!("{url}/orders/{id}")).header("x-specstub-session", session);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(get(b.url(), "s1", &ids["s1"]).await, StatusCode::OK, "B sees what A created in s1");
    assert_eq!(get(b.url(), "s2", &ids["s1"]).await, StatusCode::NOT_FOUND, "sessions stay apart");
    assert_eq!(get(a.url(), "", &ids["s1"]).await, StatusCode::NOT_FOUND);
    let r = c.post(format!("{}/__specstub/reset", b.url())).header("x-specstub-session", "s1").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for url in [a.url(), b.url()] {
        assert_eq!(get(url.clone(), "s1", &ids["s1"]).await, StatusCode::NOT_FOUND, "s1 reset for every instance");
        assert_eq!(get(url.clone(), "s1", "seed-1").await, StatusCode::OK, "s1 starts from the fixtures again");
        assert_eq!(get(url, "s2", &ids["s2"]).await, StatusCode::OK, "s2 keeps its records");
    }
}

#[tokio::test]
async fn a_burst_split_across_instances_hits_the_shared_rate_limit() {
    let Some(redis) = Redis::start() else { return };
    let start = || common::builder("traffic.yaml").rate_limit("GET /quota=4/10s".parse().unwrap()).store(redis.url()).start();
    let (a, b) = (start().await.unwrap(), start().await.unwrap());
    let c = client();
    let mut statuses = Vec::new();
    let mut retry_after = Vec::new();
    for i in 0..8 {
        let url = if i % 2 == 0 { a.url() } else { b.url() };
        let r = c.get(format!("{url}/api/quota")).bearer_auth("alice").send().await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after.push(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap());
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429, 429], "4 per 10s in all, not per instance");
    assert!(retry_after.iter().all(|s| (1..=10).contains(s)), "{retry_after:?}");
    // An admin reset on one instance empties the buckets for both.
    let r = c.post(format!("{}/__specstub/reset", a.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(format!("{}/api/quota", b.url())).bearer_auth("alice").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Without Redis a limit cannot be checked: 503, never a request let through unchecked.
    let mut redis = redis;
    redis.stop();
    let r = c.get(format!("{}/api/quota", a.url())).bearer_auth("alice").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "1");
    let body = r.text().await.unwrap();
    assert!(body.contains("redis at redis://127.0.0.1"), "{body}");
}

#[tokio::test]
async fn losing_redis_gives_503_naming_the_store_and_recovers_when_it_returns() {
    let Some(mut redis) = Redis::start() else { return };
    let a = orders_on(&redis).await;
    let c = client();
    let url = format!("{}/orders/seed-1", a.url());
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::OK);
    redis.stop();
    for _ in 0..3 {
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["retry-after"], "1");
        let body = r.text().await.unwrap();
        assert!(body.contains("store is unavailable") && body.contains("redis"), "{body}");
    }
    let r = c.post(format!("{}/__specstub/reset", a.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "an admin reset never claims success without its store");
    let port = redis.port;
    let _back = Redis::on(port).expect("redis-server restarts on the same port");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = c.get(&url).send().await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "still {status} 10s after Redis came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_unreachable_or_malformed_store_refuses_to_start_with_exit_2() {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let e = common::stateful("orders.yaml").store(format!("redis://127.0.0.1:{port}/0")).start().await.err().expect("no Redis there");
    assert!(e.to_string().contains(&format!("cannot reach the store: redis at redis://127.0.0.1:{port}/0")), "{e}");
    let e = common::stateful("orders.yaml").store("redis://127.0.0.1:1/0").state_file("state.json").start().await.err().unwrap();
    assert!(e.to_string().contains("--state-file and --store redis:// exclude each other"), "{e}");
    for store in [format!("redis://127.0.0.1:{port}/0"), "postgres://x".to_string(), "redis://:99999999".to_string()] {
        let out = common::bin().args(["serve", "tests/data/orders.yaml", "--port", "0", "--store", &store]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{store}: {stderr}");
        assert!(stderr.contains("redis"), "{store}: {stderr}");
    }
}

#[test]
fn unique_keys_are_checked_on_create_and_update_and_freed_on_delete() {
    let Some(redis) = Redis::start() else { return };
    let s = store_on(&redis, HashMap::new());
    let u = vec!["clientKey".to_string()];
    s.create(&ns(""), rec("a", json!({"clientKey": "k"})), &u).unwrap();
    assert_eq!(s.create(&ns(""), rec("a", json!({})), &u), Err(StoreError::IdTaken));
    let dup = s.create(&ns(""), rec("b", json!({"clientKey": "k"})), &u);
    assert_eq!(dup, Err(StoreError::Duplicate { field: "clientKey".into(), value: "\"k\"".into() }));
    s.create(&ns(""), rec("b", json!({})), &u).unwrap();
    let dup = s.update(&ns(""), "b", Expect::Any, &u, &mut |r| {
        r.data["clientKey"] = json!("k");
        Ok(())
    });
    assert!(matches!(dup, Err(StoreError::Duplicate { .. })), "{dup:?}");
    // Changing a's key frees the old one.
    let a = s.update(&ns(""), "a", Expect::Version(1), &u, &mut |r| {
        r.data["clientKey"] = json!("k2");
        Ok(())
    });
    assert_eq!(a.unwrap().version, 2);
    let stale = s.update(&ns(""), "a", Expect::Version(1), &u, &mut |_| Ok(()));
    assert_eq!(stale, Err(StoreError::VersionMismatch { current: 2 }));
    s.create(&ns(""), rec("c", json!({"clientKey": "k"})), &u).unwrap();
    // Deleting frees the key; a stale delete is refused.
    assert_eq!(s.delete(&ns(""), "a", Expect::Version(1)), Err(StoreError::VersionMismatch { current: 2 }));
    s.delete(&ns(""), "a", Expect::Any).unwrap();
    s.create(&ns(""), rec("d", json!({"clientKey": "k2"})), &u).unwrap();
    // Another session has its own keys.
    s.create(&ns("other"), rec("e", json!({"clientKey": "k"})), &u).unwrap();
}

#[test]
fn session_reset_touches_only_that_session_and_reseeds_its_fixtures() {
    let Some(redis) = Redis::start() else { return };
    let fixtures = HashMap::from([("runs".to_string(), vec![Record { version: 1, ..rec("f1", json!({"clientKey": "fk"})) }])]);
    let s = store_on(&redis, fixtures.clone());
    let other = store_on(&redis, fixtures);
    s.create(&ns("a"), rec("x", json!({})), &[]).unwrap();
    s.create(&ns("b"), rec("y", json!({})), &[]).unwrap();
    assert!(other.get(&ns("a"), "f1").unwrap().is_some(), "fixtures seeded once, seen by every instance");
    other.delete(&ns("a"), "f1", Expect::Any).unwrap();
    s.reset(Some("a"), None).unwrap();
    assert!(s.get(&ns("a"), "x").unwrap().is_none());
    assert_eq!(other.get(&ns("a"), "f1").unwrap().map(|r| r.version), Some(1), "the reset session starts from the fixtures again");
    assert!(s.get(&ns("b"), "y").unwrap().is_some(), "another session keeps its records");
    // Fixture unique keys are indexed too.
    let dup = s.create(&ns("a"), rec("z", json!({"clientKey": "fk"})), &["clientKey".to_string()]);
    assert!(matches!(dup, Err(StoreError::Duplicate { .. })), "{dup:?}");
    assert_eq!(s.collections("b").unwrap(), vec![("runs".to_string(), 2)]);
    // Everything: both sessions back to the fixtures.
    s.reset(None, None).unwrap();
    assert!(s.get(&ns("b"), "y").unwrap().is_none());
}

#[test]
fn list_pages_in_creation_order_and_replace_keeps_the_place() {
    let Some(redis) = Redis::start() else { return };
    let s = store_on(&redis, HashMap::new());
    for i in 0..5 {
        s.create(&ns(""), rec(&format!("r{i}"), json!({"i": i})), &[]).unwrap();
    }
    s.update(&ns(""), "r0", Expect::Any, &[], &mut |r| {
        r.data["touched"] = json!(true);
        Ok(())
    })
    .unwrap();
    let page = s.list(&ns(""), &|r| r.data["i"].as_i64() != Some(2), 0, 2).unwrap();
    let ids: Vec<_> = page.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!((ids, page.total), (vec!["r0", "r1"], 4));
    let page = s.list(&ns(""), &|_| true, 3, 10).unwrap();
    assert_eq!(page.records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["r3", "r4"]);
    assert_eq!(page.records[0].seq, 4);
}

#[test]
fn prefixes_keep_teams_apart_and_keys_expire_with_the_ttl() {
    let Some(redis) = Redis::start() else { return };
    let pool = std::sync::Arc::new(Pool::connect(&redis.url()).unwrap());
    let team =
        |prefix: &str, ttl| RedisStore::new(pool.clone(), &RedisOptions { prefix: prefix.into(), ttl }, HashMap::new(), HashMap::new());
    let (a, b) = (team("team-a", Some(Duration::from_secs(3600))), team("team-b", None));
    a.create(&ns(""), rec("x", json!({})), &[]).unwrap();
    assert!(b.get(&ns(""), "x").unwrap().is_none());
    b.create(&ns(""), rec("x", json!({})), &[]).unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut con = client.get_connection().unwrap();
    let ttl = |key: &str, con: &mut redis::Connection| redis::cmd("PTTL").arg(key).query::<i64>(con).unwrap();
    let a_ttl = ttl("team-a:c::runs:rec", &mut con);
    assert!((1..=3_600_000).contains(&a_ttl), "team-a keys expire within the TTL: {a_ttl}");
    assert_eq!(ttl("team-b:c::runs:rec", &mut con), -1, "without --store-ttl keys stay");
    // A reset of one team leaves the other's keys alone.
    a.reset(None, None).unwrap();
    assert!(a.get(&ns(""), "x").unwrap().is_none());
    assert!(b.get(&ns(""), "x").unwrap().is_some());
}

/// The same operations on the in-memory store and on Redis give the same results: the Redis
/// store is a drop-in replacement, down to versions, sequences and error values.
#[test]
fn redis_and_memory_stores_answer_alike() {
    let Some(redis) = Redis::start() else { return };
    let fixtures = HashMap::from([("runs".to_string(), vec![Record { version: 3, ..rec("f1", json!({"clientKey": "fk"})) }])]);
    let unique = HashMap::from([("runs".to_string(), vec!["clientKey".to_string()])]);
    let memory = specstub::store::MemoryStore::new(fixtures.clone(), unique);
    let on_redis = store_on(&redis, fixtures);
    let u = vec!["clientKey".to_string()];
    let script = |s: &dyn Store| {
        let mut out: Vec<String> = Vec::new();
        let mut log = |what: &str, r: &dyn std::fmt::Debug| out.push(format!("{what}: {r:?}"));
        for session in ["", "s"] {
            let n = ns(session);
            log("get fixture", &s.get(&n, "f1"));
            log("create", &s.create(&n, rec("a", json!({"clientKey": "k", "n": 1})), &u));
            log("create same id", &s.create(&n, rec("a", json!({})), &u));
            log("create same key", &s.create(&n, rec("b", json!({"clientKey": "k"})), &u));
            log("create fixture key", &s.create(&n, rec("b", json!({"clientKey": "fk"})), &u));
            log("create b", &s.create(&n, rec("b", json!({"clientKey": ""})), &u));
            log(
                "update if-match",
                &s.update(&n, "a", Expect::Version(1), &u, &mut |r| {
                    r.data["n"] = json!(2);
                    Ok(())
                }),
            );
            log("update stale", &s.update(&n, "a", Expect::Version(1), &u, &mut |_| Ok(())));
            log("update missing", &s.update(&n, "zz", Expect::Any, &u, &mut |_| Ok(())));
            log("update refused", &s.update(&n, "a", Expect::Any, &u, &mut |_| Err(specstub::behaviour::BehaviourError::new(409, "no"))));
            log("put replaces", &s.put(&n, rec("a", json!({"clientKey": "k", "n": 9}))));
            log("key kept by put", &s.create(&n, rec("c", json!({"clientKey": "k"})), &u));
            log("put new", &s.put(&n, rec("p", json!({"clientKey": "pk"}))));
            log("delete stale", &s.delete(&n, "a", Expect::Version(1)));
            log("delete", &s.delete(&n, "b", Expect::Any));
            log("delete missing", &s.delete(&n, "b", Expect::Any));
            let page = s.list(&n, &|_| true, 1, 2).map(|p| (p.total, p.records));
            log("list", &page);
            log("collections", &s.collections(session));
        }
        log("reset s", &s.reset(Some("s"), None));
        log("after reset s", &s.list(&ns("s"), &|_| true, 0, 10).map(|p| p.records));
        log("other session kept", &s.get(&ns(""), "p"));
        log("reset all", &s.reset(None, None));
        log("after reset all", &s.list(&ns(""), &|_| true, 0, 10).map(|p| p.records));
        out
    };
    let (m, r) = (script(&memory), script(&on_redis));
    for (m, r) in m.iter().zip(&r) {
        assert_eq!(m, r);
    }
    assert_eq!(m.len(), r.len());
}
