//! The Redis store against a real `redis-server` (never a mock): two specstub instances on one
//! Redis act as one API (records, versions, unique keys, sessions, rate limits), and losing
//! Redis gives 503s that heal when it returns. Each test starts its own Redis on a free port.
//!
//! Without `redis-server` on the machine the tests say they were skipped and pass, except when
//! the CI variable is set, where a missing Redis is a failure.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;

use std::time::{Duration, Instant};

use common::redis::Redis;
use common::{client, data, json};
use reqwest::StatusCode;
use serde_json::json;

async fn orders_on(redis: &Redis) -> specstub::Server {
    common::stateful("orders.yaml").fixtures(data("fixtures")).store(redis.url()).start().await.expect("starts on Redis")
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
    let r = c
        .post(format!("{}/__specstub/reset", b.url()))
        .header("content-type", "application/json")
        .header("x-specstub-session", "s1")
        .send()
        .await
        .unwrap();
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
    let r = c.post(format!("{}/__specstub/reset", a.url())).header("content-type", "application/json").send().await.unwrap();
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
    let r = c.post(format!("{}/__specstub/reset", a.url())).header("content-type", "application/json").send().await.unwrap();
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
    let e = common::stateful("orders.yaml").store(format!("redis://127.0.0.1:{port}/0")).start().await.expect_err("no Redis there");
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

/// Polls `GET url` until its status is `want`, for at most `within`; the last answer's body.
async fn until_status(c: &reqwest::Client, url: &str, want: StatusCode, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let r = c.get(url).send().await.unwrap();
        let status = r.status();
        let body = json(r).await;
        if status == want {
            return body;
        }
        assert!(Instant::now() < deadline, "still {status} ({body}) after {within:?}, waiting for {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_holds_up_neither_stateless_routes_nor_health_and_everything_recovers() {
    // Arrange: stateful orders and a stateless route on one server; each wait on Redis may last 3s.
    let Some(redis) = Redis::start() else { return };
    let server = common::stateful("orders.yaml")
        .spec(data("traffic.yaml"))
        .fixtures(data("fixtures"))
        .store(redis.url())
        .store_timeout(Duration::from_secs(3))
        .start()
        .await
        .expect("starts on Redis");
    // A bound on every call, so that a hang fails the test instead of stalling the suite.
    let c = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let (health, order, open) =
        (format!("{}/__specstub/health", server.url()), format!("{}/orders/seed-1", server.url()), format!("{}/api/open", server.url()));
    let up = until_status(&c, &health, StatusCode::OK, Duration::from_secs(5)).await;
    assert_eq!(up["store"], json!({"kind": "redis", "state": "available"}), "{up}");
    assert_eq!(c.get(&order).send().await.unwrap().status(), StatusCode::OK);

    // Act: freeze Redis, and keep both workers' worth of stateful requests waiting on it.
    let paused = redis.pause();
    let waiting: Vec<_> = (0..4)
        .map(|_| {
            let (c, order) = (c.clone(), order.clone());
            tokio::spawn(async move { c.get(&order).send().await.map(|r| r.status()) })
        })
        .collect();
    let down = until_status(&c, &health, StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(10)).await;
    let open_status = c.get(&open).send().await.unwrap().status();

    // Assert: health said why at once and the stateless route answered, while the stateful
    // requests were still waiting out their 3s on the frozen Redis.
    assert_eq!(
        (down["status"].as_str(), down["store"]["kind"].as_str(), down["store"]["state"].as_str()),
        (Some("unavailable"), Some("redis"), Some("unavailable")),
        "{down}"
    );
    assert!(down["store"]["error"].as_str().is_some_and(|e| e.contains("redis at redis://127.0.0.1")), "{down}");
    assert_eq!(open_status, StatusCode::OK);
    assert!(waiting.iter().all(|w| !w.is_finished()), "the answers above came only after stateful requests gave up on Redis");
    for w in waiting {
        let status = w.await.unwrap().expect("an answer, not a hang");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a request that needs the frozen store gets a clear 503");
    }

    // Recovery: Redis resumes, health and the stateful route come back by themselves.
    paused.resume();
    let back = until_status(&c, &health, StatusCode::OK, Duration::from_secs(10)).await;
    assert_eq!(back["store"]["state"], "available", "{back}");
    until_status(&c, &order, StatusCode::OK, Duration::from_secs(10)).await;
}
