//! The change log of `--state-file` (`STATE.log`): one line per change to the store, in the order
//! the changes were applied, and its replay over the snapshot at start.
//!
//! A line is `CRC32 JSON\n`: eight hex digits of the CRC-32 of the JSON, a space, then
//! `{"n":SEQ,"c":CHANGE}` where SEQ numbers the changes 1, 2, 3... without gaps and CHANGE is
//! `{"put":{"s":SESSION,"r":RESOURCE,"rec":RECORD}}` (the record as it now is),
//! `{"del":{"s":..,"r":..,"id":ID}}` or `{"reset":{"s":SESSION|null,"r":RESOURCE|null}}`. Every
//! change states a result rather than a step, so replaying one that the snapshot already holds
//! changes nothing: a snapshot may be taken while writes go on.
//!
//! Bytes after the last newline are a line torn by a crash in the middle of an append: it was never
//! acknowledged (its fsync had not finished), so it is dropped with a warning. Anything wrong
//! before that is damage: the log is refused, naming the line.

use std::collections::HashMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use super::{Ns, Record};

/// A change as the log writes it, borrowing what it names.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change<'a> {
    Put { s: &'a str, r: &'a str, rec: &'a Record },
    Del { s: &'a str, r: &'a str, id: &'a str },
    Reset { s: Option<&'a str>, r: Option<&'a str> },
}

/// A change as the log reads it back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entry {
    Put { s: String, r: String, rec: Record },
    Del { s: String, r: String, id: String },
    Reset { s: Option<String>, r: Option<String> },
}

#[derive(Deserialize)]
struct Line {
    n: u64,
    c: Entry,
}

/// Appends change number `seq`, whose JSON is `change`, to `out` as one line.
pub fn encode(seq: u64, change: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(b"00000000 ");
    let json = out.len();
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{{\"n\":{seq},\"c\":");
    out.extend_from_slice(change);
    out.push(b'}');
    let crc = crc32fast::hash(&out[json..]);
    for (i, slot) in out[start..start + 8].iter_mut().enumerate() {
        *slot = b"0123456789abcdef"[(crc >> (28 - 4 * i) & 0xf) as usize];
    }
    out.push(b'\n');
}

/// A log read from its bytes.
#[derive(Debug, Default)]
pub struct Read {
    /// (seq, change), in order.
    pub entries: Vec<(u64, Entry)>,
    /// Bytes up to the end of the last whole line: where the next append goes.
    pub whole: usize,
    /// Bytes of a torn last line, dropped.
    pub torn: usize,
}

/// What is wrong with a log, and where (1-based line).
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    pub line: usize,
    pub why: String,
}

/// Reads a log: every whole line must be sound and follow the one before it.
pub fn read(bytes: &[u8]) -> Result<Read, Damage> {
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut entries: Vec<(u64, Entry)> = Vec::new();
    let lines = if whole == 0 { None } else { Some(bytes[..whole - 1].split(|&b| b == b'\n')) };
    for (i, line) in lines.into_iter().flatten().enumerate() {
        let at = i + 1;
        let (n, entry) = decode(line).map_err(|why| Damage { line: at, why })?;
        if let Some((prev, _)) = entries.last() {
            if n != prev + 1 {
                return Err(Damage { line: at, why: format!("change {n} follows change {prev}: changes are missing or out of order") });
            }
        }
        entries.push((n, entry));
    }
    Ok(Read { entries, whole, torn: bytes.len() - whole })
}

fn decode(line: &[u8]) -> Result<(u64, Entry), String> {
    let (crc, json) = match line.iter().position(|&b| b == b' ') {
        Some(8) => (&line[..8], &line[9..]),
        _ => return Err("not a log line (expected 8 hex digits of checksum, a space, then JSON)".into()),
    };
    let crc = std::str::from_utf8(crc).ok().and_then(|c| u32::from_str_radix(c, 16).ok()).ok_or("the checksum is not hexadecimal")?;
    if crc32fast::hash(json) != crc {
        return Err("the checksum does not match the line".into());
    }
    let line: Line = serde_json::from_slice(json).map_err(|e| format!("the change is not readable: {e}"))?;
    Ok((line.n, line.c))
}

/// The state after `entries` (those after change `from`) over `snapshot`; a collection a change
/// touches first starts as `base` gives it (the fixtures, as the store starts it). Collections in
/// creation order of their records.
pub fn replay(
    snapshot: Vec<(Ns, Vec<Record>)>,
    entries: impl IntoIterator<Item = (u64, Entry)>,
    from: u64,
    base: &dyn Fn(&Ns) -> Vec<Record>,
) -> Vec<(Ns, Vec<Record>)> {
    let index = |records: Vec<Record>| records.into_iter().map(|r| (r.id.clone(), r)).collect::<HashMap<_, _>>();
    let mut state: HashMap<Ns, HashMap<String, Record>> = snapshot.into_iter().map(|(ns, records)| (ns, index(records))).collect();
    for (n, entry) in entries {
        if n <= from {
            continue;
        }
        match entry {
            Entry::Put { s, r, rec } => {
                let ns = Ns { session: s, resource: r };
                let c = state.entry(ns).or_insert_with_key(|ns| index(base(ns)));
                c.insert(rec.id.clone(), rec);
            }
            Entry::Del { s, r, id } => {
                let ns = Ns { session: s, resource: r };
                state.entry(ns).or_insert_with_key(|ns| index(base(ns))).remove(&id);
            }
            Entry::Reset { s, r } => {
                state.retain(|ns, _| !(s.as_ref().is_none_or(|s| *s == ns.session) && r.as_ref().is_none_or(|r| *r == ns.resource)))
            }
        }
    }
    let mut out: Vec<(Ns, Vec<Record>)> = state
        .into_iter()
        .map(|(ns, records)| {
            let mut records: Vec<Record> = records.into_values().collect();
            records.sort_by_key(|r| r.seq);
            (ns, records)
        })
        .collect();
    out.sort_by(|a, b| (&a.0.session, &a.0.resource).cmp(&(&b.0.session, &b.0.resource)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn rec(id: &str, seq: u64, n: i64) -> Record {
        Record { id: id.into(), version: 1, seq, scope: vec![], data: json!({"n": n}) }
    }

    fn line(seq: u64, change: &Change) -> Vec<u8> {
        let mut out = Vec::new();
        encode(seq, &serde_json::to_vec(change).unwrap(), &mut out);
        out
    }

    fn sample() -> Vec<u8> {
        let (a, b) = (rec("a", 1, 1), rec("b", 2, 2));
        let mut log = Vec::new();
        log.extend(line(1, &Change::Put { s: "", r: "things", rec: &a }));
        log.extend(line(2, &Change::Put { s: "", r: "things", rec: &b }));
        log.extend(line(3, &Change::Del { s: "", r: "things", id: "a" }));
        log.extend(line(4, &Change::Put { s: "t", r: "things", rec: &a }));
        log.extend(line(5, &Change::Reset { s: Some("t"), r: None }));
        log
    }

    fn no_base(_: &Ns) -> Vec<Record> {
        Vec::new()
    }

    #[test]
    fn a_line_is_a_checksum_and_json_and_reads_back() {
        let bytes = line(7, &Change::Del { s: "s", r: "r", id: "x" });
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.ends_with("{\"n\":7,\"c\":{\"del\":{\"s\":\"s\",\"r\":\"r\",\"id\":\"x\"}}}\n"), "{text}");
        let read = read(&bytes).unwrap();
        assert_eq!(read.entries, vec![(7, Entry::Del { s: "s".into(), r: "r".into(), id: "x".into() })]);
        assert_eq!((read.whole, read.torn), (bytes.len(), 0));
    }

    #[test]
    fn replay_applies_puts_deletes_and_resets_in_order() {
        let read = read(&sample()).unwrap();
        let state = replay(Vec::new(), read.entries, 0, &no_base);
        let things = Ns { session: "".into(), resource: "things".into() };
        assert_eq!(state, vec![(things, vec![rec("b", 2, 2)])]);
    }

    #[test]
    fn replay_skips_what_the_snapshot_holds_and_starts_new_collections_from_the_base() {
        let things = Ns { session: "".into(), resource: "things".into() };
        let snapshot = vec![(things.clone(), vec![rec("b", 2, 20)])];
        let base = |ns: &Ns| if ns.session == "t" { vec![rec("f", 1, 0)] } else { Vec::new() };
        // Changes 1 and 2 are in the snapshot; a replayed change the snapshot already holds (2)
        // would change nothing, a skipped one (1) must not come back.
        let state = replay(snapshot, read(&sample()).unwrap().entries, 2, &base);
        assert_eq!(state, vec![(things, vec![rec("b", 2, 20)])]);
        let mut log = Vec::new();
        log.extend(line(1, &Change::Put { s: "t", r: "things", rec: &rec("x", 5, 1) }));
        let t = Ns { session: "t".into(), resource: "things".into() };
        assert_eq!(replay(Vec::new(), read(&log).unwrap().entries, 0, &base), vec![(t, vec![rec("f", 1, 0), rec("x", 5, 1)])]);
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_damage_before_it_is_named() {
        let log = sample();
        let cut = log.len() - 10;
        let torn = read(&log[..cut]).unwrap();
        assert_eq!(torn.entries.len(), 4);
        assert_eq!(torn.whole + torn.torn, cut);
        // A byte changed in line 2, the JSON still valid: the checksum catches it.
        let mut flipped = log.clone();
        let second = log.iter().position(|&b| b == b'\n').unwrap() + 1;
        let digit = second + log[second..].iter().position(|&b| b == b'2').unwrap();
        flipped[digit] = b'3';
        assert_eq!(read(&flipped).unwrap_err().line, 2);
        // A line missing in the middle.
        let first_two = second + log[second..].iter().position(|&b| b == b'\n').unwrap() + 1;
        let mut gap = log[..second].to_vec();
        gap.extend(&log[first_two..]);
        let damage = read(&gap).unwrap_err();
        assert_eq!(damage.line, 2);
        assert!(damage.why.contains("change 3 follows change 1"), "{}", damage.why);
        assert!(read(b"\n").unwrap_err().why.contains("not a log line"));
    }

    #[test]
    fn an_empty_log_is_empty() {
        let read = read(b"").unwrap();
        assert!(read.entries.is_empty());
        assert_eq!((read.whole, read.torn), (0, 0));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_the_replay(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok(read) = read(&bytes) {
                let _ = replay(Vec::new(), read.entries, 0, &no_base);
            }
        }

        #[test]
        fn a_cut_or_changed_log_reads_a_prefix_or_names_the_damage(cut in 0usize..4096, at in 0usize..4096, byte in any::<u8>()) {
            let log = sample();
            let cut = cut % (log.len() + 1);
            let cut_read = read(&log[..cut]).expect("a cut log is a torn last line, never damage");
            prop_assert!(cut_read.entries.len() <= 5);
            let mut changed = log.clone();
            let at = at % log.len();
            changed[at] = byte;
            match read(&changed) {
                Ok(r) => { let _ = replay(Vec::new(), r.entries, 0, &no_base); }
                // A byte turned into a newline splits a line in two.
                Err(d) => prop_assert!(d.line >= 1 && d.line <= 6),
            }
        }
    }
}
