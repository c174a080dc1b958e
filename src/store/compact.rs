//! How the in-memory store keeps a record: one byte string instead of a `serde_json::Value`
//! tree (whose maps, keys and `arbitrary_precision` numbers cost several times the JSON text),
//! with object keys written as numbers into a table shared by every record of the store. A
//! read decodes the record into a `Value` again; a list's field filter looks at one top-level
//! field without decoding the rest.
//!
//! Layout: a value is a tag byte, then for numbers and strings a length and the bytes (a number
//! keeps its exact text), for arrays a count and the items, for objects a count and
//! (key, value) pairs. A key is its table number + 1, or 0 and the key's text: the table is
//! capped, so keys a client makes up (any number of them) never grow it past that.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Number, Value};

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const NUMBER: u8 = 3;
const STRING: u8 = 4;
const ARRAY: u8 = 5;
const OBJECT: u8 = 6;

/// Keys kept in the table at most; later new keys are written out in each record.
const MAX_KEYS: usize = 16 * 1024;
/// Longer keys are written out: they are rarely field names.
const MAX_KEY_LEN: usize = 64;

/// The store's table of object keys.
#[derive(Default)]
pub(super) struct Keys {
    table: RwLock<Table>,
}

#[derive(Default)]
struct Table {
    names: Vec<Arc<str>>,
    numbers: HashMap<Arc<str>, u32>,
}

impl Table {
    fn number(&self, key: &str) -> Option<u32> {
        self.numbers.get(key).copied()
    }

    fn add(&mut self, key: &str) -> Option<u32> {
        if let Some(n) = self.number(key) {
            return Some(n);
        }
        if self.names.len() >= MAX_KEYS || key.len() > MAX_KEY_LEN {
            return None;
        }
        let name: Arc<str> = Arc::from(key);
        let n = self.names.len() as u32;
        self.names.push(Arc::clone(&name));
        self.numbers.insert(name, n);
        Some(n)
    }
}

/// Something that becomes part of a stored record.
pub(super) enum Part<'a> {
    Value(&'a Value),
    /// Name/value pairs, as an object of strings.
    Pairs(&'a [(String, String)]),
}

impl Keys {
    /// The parts, one after the other, as bytes.
    pub fn encode(&self, parts: &[Part<'_>]) -> Box<[u8]> {
        let mut out = Vec::with_capacity(256);
        let table = self.table.read().unwrap_or_else(|p| p.into_inner());
        let mut missing = false;
        for part in parts {
            write_part(&mut out, part, &mut |k| {
                let n = table.number(k);
                missing |= n.is_none() && table.names.len() < MAX_KEYS && k.len() <= MAX_KEY_LEN;
                n
            });
        }
        drop(table);
        if missing {
            // New keys: encode again while adding them (rare once the store has seen its API).
            out.clear();
            let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
            for part in parts {
                write_part(&mut out, part, &mut |k| table.add(k));
            }
        }
        out.into_boxed_slice()
    }

    /// Reads the parts written by [`encode`](Self::encode): `n` values.
    pub fn decode(&self, bytes: &[u8], n: usize) -> Result<Vec<Value>, Damaged> {
        let table = self.table.read().unwrap_or_else(|p| p.into_inner());
        let mut r = Reader { bytes, at: 0, names: &table.names };
        (0..n).map(|_| r.value()).collect()
    }

    /// The top-level field `name` of the object that is the `skip`-th value (0-based) in
    /// `bytes`, decoding only that field. None: no such field (or not an object).
    pub fn field(&self, bytes: &[u8], skip: usize, name: &str) -> Result<Option<Value>, Damaged> {
        let table = self.table.read().unwrap_or_else(|p| p.into_inner());
        let mut r = Reader { bytes, at: 0, names: &table.names };
        for _ in 0..skip {
            r.skip()?;
        }
        if r.byte()? != OBJECT {
            return Ok(None);
        }
        for _ in 0..r.len()? {
            let key = r.key()?;
            if key == name {
                return r.value().map(Some);
            }
            r.skip()?;
        }
        Ok(None)
    }
}

/// A stored record that does not decode: memory was damaged or the code has a bug; never a
/// client's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Damaged;

fn write_part(out: &mut Vec<u8>, part: &Part<'_>, key: &mut dyn FnMut(&str) -> Option<u32>) {
    match part {
        Part::Value(v) => write_value(out, v, key),
        Part::Pairs(pairs) => {
            out.push(OBJECT);
            write_len(out, pairs.len());
            for (k, v) in pairs.iter() {
                write_key(out, k, key);
                write_text(out, STRING, v);
            }
        }
    }
}

fn write_value(out: &mut Vec<u8>, v: &Value, key: &mut dyn FnMut(&str) -> Option<u32>) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => write_text(out, NUMBER, &n.to_string()),
        Value::String(s) => write_text(out, STRING, s),
        Value::Array(items) => {
            out.push(ARRAY);
            write_len(out, items.len());
            for item in items {
                write_value(out, item, key);
            }
        }
        Value::Object(map) => {
            out.push(OBJECT);
            write_len(out, map.len());
            for (k, item) in map {
                write_key(out, k, key);
                write_value(out, item, key);
            }
        }
    }
}

fn write_key(out: &mut Vec<u8>, k: &str, key: &mut dyn FnMut(&str) -> Option<u32>) {
    match key(k) {
        Some(n) => write_len(out, n as usize + 1),
        None => {
            write_len(out, 0);
            write_len(out, k.len());
            out.extend_from_slice(k.as_bytes());
        }
    }
}

fn write_text(out: &mut Vec<u8>, tag: u8, s: &str) {
    out.push(tag);
    write_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// LEB128: seven bits a byte, low bits first.
fn write_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    names: &'a [Arc<str>],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, Damaged> {
        let b = *self.bytes.get(self.at).ok_or(Damaged)?;
        self.at += 1;
        Ok(b)
    }

    fn len(&mut self) -> Result<usize, Damaged> {
        let mut n = 0usize;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(Damaged)
    }

    fn text(&mut self) -> Result<&'a str, Damaged> {
        let n = self.len()?;
        let end = self.at.checked_add(n).ok_or(Damaged)?;
        let raw = self.bytes.get(self.at..end).ok_or(Damaged)?;
        self.at = end;
        std::str::from_utf8(raw).map_err(|_| Damaged)
    }

    fn key(&mut self) -> Result<&'a str, Damaged> {
        match self.len()? {
            0 => self.text(),
            n => self.names.get(n - 1).map(|s| &**s).ok_or(Damaged),
        }
    }

    fn value(&mut self) -> Result<Value, Damaged> {
        Ok(match self.byte()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            NUMBER => Value::Number(self.text()?.parse::<Number>().map_err(|_| Damaged)?),
            STRING => Value::String(self.text()?.to_string()),
            ARRAY => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(self.value()?);
                }
                Value::Array(items)
            }
            OBJECT => {
                let n = self.len()?;
                let mut map = Map::with_capacity(n.min(1024));
                for _ in 0..n {
                    let k = self.key()?.to_string();
                    map.insert(k, self.value()?);
                }
                Value::Object(map)
            }
            _ => return Err(Damaged),
        })
    }

    fn skip(&mut self) -> Result<(), Damaged> {
        match self.byte()? {
            NULL | FALSE | TRUE => {}
            NUMBER | STRING => {
                self.text()?;
            }
            ARRAY => {
                for _ in 0..self.len()? {
                    self.skip()?;
                }
            }
            OBJECT => {
                for _ in 0..self.len()? {
                    self.key()?;
                    self.skip()?;
                }
            }
            _ => return Err(Damaged),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip_exactly_in_their_key_order() {
        let keys = Keys::default();
        let v = json!({
            "z": 1, "a": [1.50, -0, 12345678901234567890123_u128, "é\u{0}\"", null, true, false, {}],
            "nested": {"k": {"deep": []}}, "": "empty key", "a very long key that is never put in the key table because it is longer than sixty-four bytes": 1
        });
        let scope = vec![("ns".to_string(), "a:b".to_string())];
        let bytes = keys.encode(&[Part::Pairs(&scope), Part::Value(&v)]);
        let back = keys.decode(&bytes, 2).unwrap();
        assert_eq!(back[1], v);
        assert_eq!(serde_json::to_string(&back[1]).unwrap(), serde_json::to_string(&v).unwrap(), "same text, same key order");
        assert_eq!(back[0], json!({"ns": "a:b"}));
        assert_eq!(keys.field(&bytes, 1, "nested").unwrap(), Some(json!({"k": {"deep": []}})));
        assert_eq!(keys.field(&bytes, 1, "missing").unwrap(), None);
        // Keys are shared: a second record with the same fields is smaller than its JSON text.
        let again = keys.encode(&[Part::Value(&json!({"nested": "x", "z": 2}))]);
        assert!(again.len() * 3 < r#"{"nested":"x","z":2}"#.len() * 2, "{again:?}");
    }

    #[test]
    fn the_key_table_is_capped_and_later_keys_are_written_out() {
        let keys = Keys::default();
        let mut all = Vec::new();
        for i in 0..(MAX_KEYS + 10) {
            let v = json!({ format!("k{i}"): i });
            all.push((keys.encode(&[Part::Value(&v)]), v));
        }
        assert_eq!(keys.table.read().unwrap().names.len(), MAX_KEYS);
        for (bytes, v) in &all {
            assert_eq!(&keys.decode(bytes, 1).unwrap()[0], v);
        }
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let keys = Keys::default();
        let good = keys.encode(&[Part::Value(&json!({"a": [1, "two"]}))]);
        for cut in 0..good.len() {
            assert_eq!(keys.decode(&good[..cut], 1), Err(Damaged));
        }
        assert_eq!(keys.decode(&[OBJECT, 1, 9], 1), Err(Damaged), "an unknown key number");
        assert_eq!(keys.decode(&[ARRAY, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 1), Err(Damaged));
    }
}
