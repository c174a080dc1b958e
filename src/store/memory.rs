//! The in-memory store: one collection per (session, resource), each behind its own lock so
//! that a compare-and-set on a version or a unique key is atomic, while different collections
//! never contend. A session's collections start as the fixtures, shared rather than copied: a
//! collection is copied on its first write, and then only its index (records are shared until
//! they change).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;

use super::{Change, Declined, Expect, Ns, Page, Record, Store, StoreError};

#[derive(Debug, Default, Clone)]
struct Collection {
    next_seq: u64,
    by_id: HashMap<String, Arc<Record>>,
    order: BTreeMap<u64, String>,
    /// (field, value as JSON text) → id
    unique: HashMap<(String, String), String>,
    /// The fields that have entries in `unique`, so a record's entries can be found by key
    /// instead of by a scan of the whole index.
    unique_fields: Vec<String>,
}

impl Collection {
    fn insert(&mut self, mut record: Record) {
        // The unique index is kept by `index_unique`, called before this.
        if let Some(old) = self.by_id.remove(&record.id) {
            self.order.remove(&old.seq);
        }
        self.next_seq += 1;
        record.seq = self.next_seq;
        self.order.insert(record.seq, record.id.clone());
        self.by_id.insert(record.id.clone(), Arc::new(record));
    }

    fn unique_conflict(&self, record: &Record, fields: &[String]) -> Option<(String, String)> {
        for f in fields {
            let Some(v) = record.data.get(f).filter(|v| !v.is_null() && *v != "") else { continue };
            let key = (f.clone(), v.to_string());
            if let Some(holder) = self.unique.get(&key) {
                if *holder != record.id {
                    return Some((f.clone(), v.to_string()));
                }
            }
        }
        None
    }

    fn index_unique(&mut self, record: &Record, fields: &[String]) {
        if let Some(old) = self.by_id.get(&record.id) {
            unindex(&mut self.unique, fields, old);
        }
        for f in fields {
            if !self.unique_fields.contains(f) {
                self.unique_fields.push(f.clone());
            }
        }
        for f in fields {
            if let Some(v) = record.data.get(f).filter(|v| !v.is_null() && *v != "") {
                self.unique.insert((f.clone(), v.to_string()), record.id.clone());
            }
        }
    }
}

/// Drops the unique entries `old` holds, found by key rather than by scanning the index.
fn unindex(unique: &mut HashMap<(String, String), String>, fields: &[String], old: &Record) {
    for f in fields {
        let Some(v) = old.data.get(f) else { continue };
        let key = (f.clone(), v.to_string());
        if unique.get(&key) == Some(&old.id) {
            unique.remove(&key);
        }
    }
}

/// A collection still equal to the fixtures shares them (the inner `Arc`); the first write copies.
type Shared = Arc<RwLock<Arc<Collection>>>;

pub struct MemoryStore {
    collections: DashMap<Ns, Shared>,
    /// resource → the collection every session starts with (indexed once, shared)
    fixtures: HashMap<String, Arc<Collection>>,
    /// resource → fields whose values are unique (so fixtures are indexed too)
    unique_fields: HashMap<String, Vec<String>>,
    dirty: AtomicBool,
}

impl MemoryStore {
    pub fn new(fixtures: HashMap<String, Vec<Record>>, unique_fields: HashMap<String, Vec<String>>) -> Self {
        let fixtures = fixtures
            .into_iter()
            .map(|(resource, records)| {
                let mut c = Collection::default();
                let fields = unique_fields.get(&resource).map(Vec::as_slice).unwrap_or_default();
                for r in records {
                    c.index_unique(&r, fields);
                    c.insert(r);
                }
                (resource, Arc::new(c))
            })
            .collect();
        Self { collections: DashMap::new(), fixtures, unique_fields, dirty: AtomicBool::new(false) }
    }

    /// Loads saved state (from the state file) over the fixtures.
    pub fn restore(&self, saved: Vec<(Ns, Vec<Record>)>) {
        for (ns, records) in saved {
            let mut c = Collection::default();
            let fields = self.unique_fields.get(&ns.resource).cloned().unwrap_or_default();
            for r in records {
                c.index_unique(&r, &fields);
                let seq = r.seq;
                c.insert(r);
                // Keep saved creation order.
                if let Some(id) = c.order.remove(&c.next_seq) {
                    c.order.insert(seq, id.clone());
                    if let Some(rec) = c.by_id.get_mut(&id) {
                        Arc::make_mut(rec).seq = seq;
                    }
                    c.next_seq = c.next_seq.max(seq);
                }
            }
            self.collections.insert(ns, Arc::new(RwLock::new(Arc::new(c))));
        }
    }

    fn collection(&self, ns: &Ns) -> Shared {
        if let Some(c) = self.collections.get(ns) {
            return Arc::clone(&c);
        }
        let entry = self.collections.entry(ns.clone()).or_insert_with(|| {
            let c = self.fixtures.get(&ns.resource).cloned().unwrap_or_default();
            Arc::new(RwLock::new(c))
        });
        Arc::clone(&entry)
    }

    fn touch(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }
}

fn read(c: &Shared) -> std::sync::RwLockReadGuard<'_, Arc<Collection>> {
    c.read().unwrap_or_else(|p| p.into_inner())
}

fn write(c: &Shared) -> std::sync::RwLockWriteGuard<'_, Arc<Collection>> {
    c.write().unwrap_or_else(|p| p.into_inner())
}

impl Store for MemoryStore {
    fn get(&self, ns: &Ns, id: &str) -> Result<Option<Record>, StoreError> {
        let c = self.collection(ns);
        Ok(read(&c).by_id.get(id).map(|r| Record::clone(r)))
    }

    fn create(&self, ns: &Ns, mut record: Record, unique: &[String]) -> Result<Record, StoreError> {
        let c = self.collection(ns);
        let mut guard = write(&c);
        let c = Arc::make_mut(&mut guard);
        if c.by_id.contains_key(&record.id) {
            return Err(StoreError::IdTaken);
        }
        if let Some((field, value)) = c.unique_conflict(&record, unique) {
            return Err(StoreError::Duplicate { field, value });
        }
        record.version = 1;
        c.index_unique(&record, unique);
        c.insert(record.clone());
        let seq = c.next_seq;
        drop(guard);
        self.touch();
        record.seq = seq;
        Ok(record)
    }

    fn update(&self, ns: &Ns, id: &str, expect: Expect, unique: &[String], change: Change<'_>) -> Result<Record, StoreError> {
        let c = self.collection(ns);
        let mut guard = write(&c);
        let c = Arc::make_mut(&mut guard);
        let Some(current) = c.by_id.get(id) else { return Err(StoreError::NotFound) };
        expect.admits(current)?;
        let mut next = Record::clone(current);
        change(&mut next).map_err(|Declined| StoreError::Declined)?;
        if let Some((field, value)) = c.unique_conflict(&next, unique) {
            return Err(StoreError::Duplicate { field, value });
        }
        next.version = current.version + 1;
        next.id = id.to_string();
        c.index_unique(&next, unique);
        c.by_id.insert(id.to_string(), Arc::new(next.clone()));
        drop(guard);
        self.touch();
        Ok(next)
    }

    fn delete(&self, ns: &Ns, id: &str, expect: Expect) -> Result<Record, StoreError> {
        let c = self.collection(ns);
        let mut guard = write(&c);
        let c = Arc::make_mut(&mut guard);
        let Some(current) = c.by_id.get(id) else { return Err(StoreError::NotFound) };
        expect.admits(current)?;
        let Some(removed) = c.by_id.remove(id) else { return Err(StoreError::NotFound) };
        c.order.remove(&removed.seq);
        unindex(&mut c.unique, &c.unique_fields, &removed);
        drop(guard);
        self.touch();
        Ok(Arc::unwrap_or_clone(removed))
    }

    fn list(&self, ns: &Ns, keep: &dyn Fn(&Record) -> bool, offset: usize, limit: usize) -> Result<Page, StoreError> {
        let c = self.collection(ns);
        let c = read(&c);
        let in_order = c.order.values().filter_map(|id| c.by_id.get(id)).map(|r| &**r);
        Ok(super::page(in_order, keep, offset, limit))
    }

    fn put(&self, ns: &Ns, mut record: Record) -> Result<Record, StoreError> {
        let c = self.collection(ns);
        let mut guard = write(&c);
        let c = Arc::make_mut(&mut guard);
        let fields = self.unique_fields.get(&ns.resource).cloned().unwrap_or_default();
        record.version = c.by_id.get(&record.id).map(|r| r.version + 1).unwrap_or(1);
        c.index_unique(&record, &fields);
        c.insert(record.clone());
        record.seq = c.next_seq;
        drop(guard);
        self.touch();
        Ok(record)
    }

    fn reset(&self, session: Option<&str>, resource: Option<&str>) -> Result<(), StoreError> {
        self.collections.retain(|ns, _| {
            let session_hit = session.is_none_or(|s| ns.session == s);
            let resource_hit = resource.is_none_or(|r| ns.resource == r);
            !(session_hit && resource_hit)
        });
        self.touch();
        Ok(())
    }

    fn collections(&self, session: &str) -> Result<Vec<(String, usize)>, StoreError> {
        let mut names: Vec<String> = self.fixtures.keys().cloned().collect();
        for e in self.collections.iter() {
            if e.key().session == session && !names.contains(&e.key().resource) {
                names.push(e.key().resource.clone());
            }
        }
        names.sort();
        Ok(names
            .into_iter()
            .map(|r| {
                let ns = Ns { session: session.to_string(), resource: r.clone() };
                let n = read(&self.collection(&ns)).by_id.len();
                (r, n)
            })
            .collect())
    }

    fn dump(&self) -> Vec<(Ns, Vec<Record>)> {
        let mut out: Vec<(Ns, Vec<Record>)> = self
            .collections
            .iter()
            .map(|e| {
                let c = read(e.value());
                let records = c.order.values().filter_map(|id| c.by_id.get(id).map(|r| Record::clone(r))).collect();
                (e.key().clone(), records)
            })
            .collect();
        out.sort_by(|a, b| (&a.0.session, &a.0.resource).cmp(&(&b.0.session, &b.0.resource)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(session: &str) -> Ns {
        Ns { session: session.into(), resource: "runs".into() }
    }

    fn rec(id: &str, data: serde_json::Value) -> Record {
        Record { id: id.into(), version: 0, seq: 0, scope: vec![], data }
    }

    #[test]
    fn sessions_start_from_fixtures_and_stay_apart() {
        let fixtures = HashMap::from([("runs".to_string(), vec![rec("f1", json!({"id": "f1"}))])]);
        let s = MemoryStore::new(fixtures, HashMap::new());
        s.create(&ns("a"), rec("x", json!({})), &[]).unwrap();
        assert!(s.get(&ns("a"), "f1").unwrap().is_some());
        assert!(s.get(&ns("a"), "x").unwrap().is_some());
        assert!(s.get(&ns("b"), "x").unwrap().is_none());
        s.reset(Some("a"), None).unwrap();
        assert!(s.get(&ns("a"), "x").unwrap().is_none());
        assert!(s.get(&ns("a"), "f1").unwrap().is_some());
    }

    #[test]
    fn a_write_to_a_shared_fixture_stays_in_its_session() {
        let u = vec!["clientKey".to_string()];
        let fixtures = HashMap::from([("runs".to_string(), vec![rec("f1", json!({"clientKey": "k"}))])]);
        let s = MemoryStore::new(fixtures, HashMap::from([("runs".to_string(), u.clone())]));
        let changed = s.update(&ns("a"), "f1", Expect::Any, &u, &mut |r| {
            r.data["clientKey"] = json!("k2");
            Ok(())
        });
        assert_eq!(changed.unwrap().version, 1);
        s.delete(&ns("b"), "f1", Expect::Any).unwrap();
        assert_eq!(s.get(&ns("a"), "f1").unwrap().unwrap().data, json!({"clientKey": "k2"}));
        assert!(s.get(&ns("b"), "f1").unwrap().is_none());
        let fresh = s.get(&ns("c"), "f1").unwrap().unwrap();
        assert_eq!((fresh.version, fresh.seq, fresh.data), (0, 1, json!({"clientKey": "k"})));
        // The fixture's unique value is held in a fresh session, and freed in session a.
        assert!(matches!(s.create(&ns("c"), rec("x", json!({"clientKey": "k"})), &u), Err(StoreError::Duplicate { .. })));
        s.create(&ns("a"), rec("x", json!({"clientKey": "k"})), &u).unwrap();
    }

    #[test]
    fn update_checks_the_version_and_bumps_it() {
        let s = MemoryStore::new(HashMap::new(), HashMap::new());
        s.create(&ns(""), rec("x", json!({"n": 1})), &[]).unwrap();
        let r = s.update(&ns(""), "x", Expect::Version(1), &[], &mut |r| {
            r.data["n"] = json!(2);
            Ok(())
        });
        assert_eq!(r.unwrap().version, 2);
        let stale = s.update(&ns(""), "x", Expect::Version(1), &[], &mut |_| Ok(()));
        assert_eq!(stale, Err(StoreError::VersionMismatch { current: 2 }));
    }

    #[test]
    fn unique_fields_refuse_duplicates_on_create_and_update() {
        let s = MemoryStore::new(HashMap::new(), HashMap::new());
        let u = vec!["clientKey".to_string()];
        s.create(&ns(""), rec("a", json!({"clientKey": "k"})), &u).unwrap();
        let dup = s.create(&ns(""), rec("b", json!({"clientKey": "k"})), &u);
        assert!(matches!(dup, Err(StoreError::Duplicate { .. })));
        s.create(&ns(""), rec("b", json!({})), &u).unwrap();
        let dup = s.update(&ns(""), "b", Expect::Any, &u, &mut |r| {
            r.data["clientKey"] = json!("k");
            Ok(())
        });
        assert!(matches!(dup, Err(StoreError::Duplicate { .. })));
        // A put that replaces a record keeps its unique key held.
        let s = MemoryStore::new(HashMap::new(), HashMap::from([("runs".to_string(), u.clone())]));
        s.create(&ns(""), rec("a", json!({"clientKey": "k"})), &u).unwrap();
        s.put(&ns(""), rec("a", json!({"clientKey": "k"}))).unwrap();
        assert!(matches!(s.create(&ns(""), rec("b", json!({"clientKey": "k"})), &u), Err(StoreError::Duplicate { .. })));
        // Deleting frees the key.
        s.delete(&ns(""), "a", Expect::Any).unwrap();
        s.create(&ns(""), rec("c", json!({"clientKey": "k"})), &u).unwrap();
    }

    #[test]
    fn a_changed_unique_value_frees_the_old_one_and_a_put_keeps_the_new_one() {
        let u = vec!["clientKey".to_string()];
        let s = MemoryStore::new(HashMap::new(), [("things".to_string(), u.clone())].into_iter().collect());
        let things = Ns { session: String::new(), resource: "things".into() };
        s.create(&things, rec("a", json!({"clientKey": "k1"})), &u).unwrap();
        s.update(&things, "a", Expect::Any, &u, &mut |r| {
            r.data["clientKey"] = json!("k2");
            Ok(())
        })
        .unwrap();
        s.create(&things, rec("b", json!({"clientKey": "k1"})), &u).expect("k1 is free again");
        s.put(&things, rec("a", json!({"clientKey": "k3"}))).unwrap();
        let dup = s.create(&things, rec("c", json!({"clientKey": "k3"})), &u);
        assert!(matches!(dup, Err(StoreError::Duplicate { .. })), "the put's value is held: {dup:?}");
        s.create(&things, rec("d", json!({"clientKey": "k2"})), &u).expect("the put freed k2");
    }

    #[test]
    fn list_pages_in_creation_order() {
        let s = MemoryStore::new(HashMap::new(), HashMap::new());
        for i in 0..5 {
            s.create(&ns(""), rec(&format!("r{i}"), json!({"i": i})), &[]).unwrap();
        }
        let page = s.list(&ns(""), &|r| r.data["i"].as_i64() != Some(2), 1, 2).unwrap();
        let ids: Vec<_> = page.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!((ids, page.total), (vec!["r1", "r3"], 4));
    }
}
