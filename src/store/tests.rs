//! The stores against each other and against a real `redis-server` (skipped without one,
//! except under CI): unique keys, sessions, paging, prefixes and TTLs, and the memory and Redis
//! stores giving the same answers to one script.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::{Declined, Expect, MemoryStore, Ns, Pool, Record, RedisOptions, RedisStore, Store, StoreError};

// The integration tests' Redis helper; not all of it is used here.
#[allow(dead_code)]
#[path = "../../tests/common/redis.rs"]
mod server;
use server::Redis;

fn rec(id: &str, data: serde_json::Value) -> Record {
    Record { id: id.into(), version: 0, seq: 0, scope: vec![], data }
}

fn store_on(redis: &Redis, fixtures: HashMap<String, Vec<Record>>) -> RedisStore {
    let pool = std::sync::Arc::new(Pool::connect(&redis.url(), std::time::Duration::from_secs(1)).expect("Redis answers"));
    let unique = HashMap::from([("runs".to_string(), vec!["clientKey".to_string()])]);
    RedisStore::new(pool, &RedisOptions { prefix: "unit".into(), ttl: None }, fixtures, unique)
}

fn ns(session: &str) -> Ns {
    Ns { session: session.into(), resource: "runs".into() }
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
    let pool = std::sync::Arc::new(Pool::connect(&redis.url(), std::time::Duration::from_secs(1)).unwrap());
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
    let memory = MemoryStore::new(fixtures.clone(), unique);
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
            log("update refused", &s.update(&n, "a", Expect::Any, &u, &mut |_| Err(Declined)));
            log("put replaces", &s.put(&n, rec("a", json!({"clientKey": "k", "n": 9}))));
            log("key kept by put", &s.create(&n, rec("c", json!({"clientKey": "k"})), &u));
            log("put new", &s.put(&n, rec("p", json!({"clientKey": "pk"}))));
            log("delete stale", &s.delete(&n, "a", Expect::Version(1)));
            log("delete", &s.delete(&n, "b", Expect::Any));
            log("delete missing", &s.delete(&n, "b", Expect::Any));
            let page = s.list(&n, &|_| true, 1, 2).map(|p| (p.total, p.records));
            log("list", &page);
            for start in [super::Start::Offset(1), super::Start::After(1), super::Start::Offset(9)] {
                let q = super::Query { scope: &[], fields: &[], start, limit: 2 };
                log("query", &s.query(&n, &q).map(|p| (p.total, p.offset, p.more(), p.records)));
            }
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

fn limited(limits: super::Limits) -> MemoryStore {
    MemoryStore::new(HashMap::new(), HashMap::from([("runs".to_string(), vec!["clientKey".to_string()])])).with_limits(limits)
}

#[test]
fn the_record_cap_refuses_creates_naming_the_flag_and_a_delete_makes_room() {
    let s = limited(super::Limits { max_records: 2, ..Default::default() });
    s.create(&ns(""), rec("a", json!({})), &[]).unwrap();
    s.create(&ns("s"), rec("b", json!({})), &[]).unwrap();
    let full = s.create(&ns(""), rec("c", json!({})), &[]);
    assert!(matches!(&full, Err(StoreError::Full(why)) if why.contains("--store-max-records")), "{full:?}");
    // Changing or replacing a record needs no new room.
    s.update(&ns(""), "a", Expect::Any, &[], &mut |r| {
        r.data["n"] = json!(1);
        Ok(())
    })
    .unwrap();
    s.put(&ns(""), rec("a", json!({"n": 2}))).unwrap();
    s.delete(&ns("s"), "b", Expect::Any).unwrap();
    s.create(&ns(""), rec("c", json!({})), &[]).unwrap();
    assert_eq!(s.usage().0, 2);
    // A reset frees what the session held.
    s.reset(None, None).unwrap();
    assert_eq!(s.usage(), (0, 0));
}

#[test]
fn the_byte_budget_counts_what_records_take_and_refuses_growth_past_it() {
    let s = limited(super::Limits { max_bytes: 2000, ..Default::default() });
    s.create(&ns(""), rec("a", json!({"text": "x".repeat(500)})), &[]).unwrap();
    let (_, one) = s.usage();
    assert!((500..1000).contains(&one), "{one} bytes for a 500-byte field");
    let big = s.create(&ns(""), rec("b", json!({"text": "x".repeat(3000)})), &[]);
    assert!(matches!(&big, Err(StoreError::Full(why)) if why.contains("--store-max-bytes")), "{big:?}");
    let grow = s.update(&ns(""), "a", Expect::Any, &[], &mut |r| {
        r.data["more"] = json!("y".repeat(3000));
        Ok(())
    });
    assert!(matches!(grow, Err(StoreError::Full(_))), "an update may not grow past the budget either: {grow:?}");
    assert_eq!(s.get(&ns(""), "a").unwrap().unwrap().version, 1, "a refused write changes nothing");
    assert_eq!(s.usage().1, one);
}

#[test]
fn eviction_drops_the_oldest_session_but_never_the_shared_namespace_or_the_writer() {
    let s = limited(super::Limits { max_records: 3, eviction: super::Eviction::OldestSession, ..Default::default() });
    s.create(&ns(""), rec("shared", json!({})), &[]).unwrap();
    s.create(&ns("old"), rec("o", json!({})), &[]).unwrap();
    s.create(&ns("new"), rec("n", json!({})), &[]).unwrap();
    s.create(&ns("new"), rec("n2", json!({})), &[]).unwrap();
    assert!(s.get(&ns("old"), "o").unwrap().is_none(), "the oldest session went");
    assert!(s.get(&ns(""), "shared").unwrap().is_some());
    // Only the shared namespace and the writer's own session are left: nothing to evict.
    let full = s.create(&ns("new"), rec("n3", json!({})), &[]);
    assert!(matches!(full, Err(StoreError::Full(_))), "{full:?}");
    assert_eq!(s.usage().0, 3);
}

#[test]
fn idle_sessions_are_swept_and_the_shared_namespace_stays() {
    let s = limited(super::Limits { session_ttl: Some(Duration::from_millis(300)), ..Default::default() });
    s.create(&ns(""), rec("shared", json!({})), &[]).unwrap();
    s.create(&ns("idle"), rec("i", json!({})), &[]).unwrap();
    assert_eq!(s.sweep(), 0, "not idle yet");
    std::thread::sleep(Duration::from_millis(350));
    s.get(&ns("busy"), "nothing").unwrap();
    assert_eq!(s.sweep(), 1);
    assert!(s.get(&ns("idle"), "i").unwrap().is_none());
    assert!(s.get(&ns(""), "shared").unwrap().is_some());
    assert_eq!(s.usage().0, 1);
}

/// Every way of listing (the index, the scope index, the filtered walk; by offset and by
/// position) agrees with filtering a plain list, through deletes and a mixed-scope record.
#[test]
fn indexed_listing_agrees_with_a_walk() {
    use super::{Query, Start};
    let s = MemoryStore::new(HashMap::new(), HashMap::new());
    let scoped = |i: usize| vec![("ns".to_string(), format!("n{}", i % 3)), ("job".to_string(), "j".to_string())];
    for i in 0..300 {
        let r = Record { scope: scoped(i), ..rec(&format!("r{i}"), json!({"i": i, "even": i % 2 == 0})) };
        s.create(&ns(""), r, &[]).unwrap();
    }
    for i in (0..300).step_by(7) {
        s.delete(&ns(""), &format!("r{i}"), Expect::Any).unwrap();
    }
    let check = |s: &MemoryStore| {
        let all = s.list(&ns(""), &|_| true, 0, usize::MAX).unwrap().records;
        let scope = [("job".to_string(), "j".to_string()), ("ns".to_string(), "n1".to_string())];
        let fields = [("even".to_string(), "true".to_string())];
        for (scope, fields) in [(&[][..], &[][..]), (&scope[..], &[][..]), (&scope[..], &fields[..])] {
            let q0 = Query { scope, fields, start: Start::Offset(0), limit: 0 };
            let want: Vec<&Record> = all.iter().filter(|r| q0.keeps(r)).collect();
            for (offset, limit) in [(0, 10), (5, 40), (want.len() - 1, 5), (want.len() + 3, 5)] {
                let page = s.query(&ns(""), &Query { start: Start::Offset(offset), limit, ..q0 }).unwrap();
                let expect: Vec<&Record> = want.iter().skip(offset).take(limit).copied().collect();
                assert_eq!(page.records.iter().collect::<Vec<_>>(), expect, "offset {offset} of {scope:?} {fields:?}");
                assert_eq!((page.total, page.offset), (want.len(), offset));
                let after = want[offset.min(want.len() - 1)].seq;
                let page = s.query(&ns(""), &Query { start: Start::After(after), limit, ..q0 }).unwrap();
                let expect: Vec<&Record> = want.iter().filter(|r| r.seq > after).take(limit).copied().collect();
                assert_eq!(page.records.iter().collect::<Vec<_>>(), expect, "after {after}");
                assert_eq!(page.more(), want.iter().filter(|r| r.seq > after).count() > limit);
            }
        }
    };
    check(&s);
    // A record with other scope names: scoped lists walk, with the same answers.
    let odd = Record { scope: vec![("ns".to_string(), "n1".to_string())], ..rec("odd", json!({"even": true})) };
    s.create(&ns(""), odd, &[]).unwrap();
    check(&s);
}

#[test]
fn restored_state_keeps_versions_and_order_and_counts_against_the_cap() {
    let s = limited(super::Limits { max_records: 3, ..Default::default() });
    let saved = vec![(
        ns("s"),
        vec![
            Record { version: 4, seq: 9, ..rec("late", json!({})) },
            Record { version: 2, seq: 3, ..rec("early", json!({"clientKey": "k"})) },
        ],
    )];
    s.restore(saved);
    let page = s.list(&ns("s"), &|_| true, 0, 10).unwrap();
    let got: Vec<(&str, u64, u64)> = page.records.iter().map(|r| (r.id.as_str(), r.version, r.seq)).collect();
    assert_eq!(got, [("early", 2, 3), ("late", 4, 9)]);
    assert_eq!(s.create(&ns("s"), rec("x", json!({})), &[]).unwrap().seq, 10);
    assert!(matches!(
        s.create(&ns("s"), rec("y", json!({"clientKey": "k"})), &["clientKey".to_string()]),
        Err(StoreError::Duplicate { .. })
    ));
    assert!(matches!(s.create(&ns("s"), rec("z", json!({})), &[]), Err(StoreError::Full(_))));
}
