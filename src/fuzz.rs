//! What the property tests that fuzz every reader of outside input (documents, requests, bodies,
//! the state file) share: their budget, a deadline on every case, and generators of hostile
//! input. The budget is small by default so that `cargo test` stays fast; `PROPTEST_CASES` and
//! `PROPTEST_RNG_SEED` make a longer or different run (`benches/fuzz.sh`). No regression files
//! are written: a case found becomes a named regression test beside its property.

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;

/// Cases per property in a plain `cargo test`.
const DEFAULT_CASES: u32 = 48;

/// Longest any one case may take before it counts as a hang. Generous: a case takes
/// milliseconds, and the machine may be busy with other builds.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The budget of one property: `PROPTEST_CASES` when set, else a few dozen cases.
pub fn config() -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    config.failure_persistence = None;
    config
}

/// Runs `f` on a thread of its own and returns what it returns; a panic in it is a panic here,
/// and no answer within [`DEADLINE`] fails the case (the stuck thread is left behind) rather
/// than stalling the suite.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    // The stack of a tokio worker (2 MiB), where requests are read: deep input must fit there.
    let spawned = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    spawned.expect("a thread for the case");
    match rx.recv_timeout(DEADLINE) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what}: no answer within {DEADLINE:?} (a hang)"),
    }
}

/// A directory of its own under the system's temporary directory, removed when dropped (also
/// while a failed case unwinds).
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("specstub-fuzz-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self(dir)
    }

    /// Writes `bytes` as `name` inside it, and returns its path.
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> std::path::PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("a scratch file");
        path
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Number texts at the edges: beyond f64 and i64, below f64's precision, negative zero.
pub fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec!["1e400", "-1e400", "1e-400", "-0", "0.0", "123456789012345678901234567890", "3.5e38", "1.5"])
            .prop_map(|t| serde_json::from_str::<Value>(t).unwrap_or(Value::Null)),
    ]
}

/// Strings a client might send by mistake or on purpose: empty, unicode, escapes, markup.
pub fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        "[a-z0-9_-]{0,12}",
        prop::sample::select(vec![
            "", " ", "%", "%zz", "%00", "%ff", "..", "/", "//", "{id}", "[", "]", "a[b]", "a[]", "&", "=", "\u{0}", "\u{feff}", "é", "💥",
            "<x>", "]]>", "null", "true", "1e400", "-1", "NaN", "$ref", "#/", "\\",
        ])
        .prop_map(String::from),
    ]
}

/// Any JSON value, a few levels deep, with edge numbers and nasty strings.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), edge_number(), nasty_string().prop_map(Value::String),];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((nasty_string(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// One change to a byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    Truncate(prop::sample::Index),
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Repeat(prop::sample::Index, usize),
}

/// Snippets that mean something to a YAML, JSON, XML or multipart reader.
const SNIPPETS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "'",
    "\n",
    "\n  ",
    "- ",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "? ",
    "|",
    ">",
    "#",
    "$ref: '#/'",
    "\"$ref\": \"#/components\"",
    "~",
    "null",
    "1e400",
    "<",
    "</",
    "/>",
    "<!--",
    "<![CDATA[",
    "&amp;",
    "&#0;",
    "\r\n--",
    "\r\n\r\n",
    "\u{0}",
    "\u{feff}",
    "\u{ff}",
];

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<prop::sample::Index>;
    prop_oneof![
        index().prop_map(Mutation::Truncate),
        (index(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (index(), prop::sample::select(SNIPPETS)).prop_map(|(i, s)| Mutation::Insert(i, s.as_bytes().to_vec())),
        (index(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (index(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (index(), 1usize..64).prop_map(|(i, n)| Mutation::Repeat(i, n)),
    ]
}

/// `bytes` with the mutations applied in turn.
pub fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let at = |i: &prop::sample::Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
        match m {
            Mutation::Truncate(i) => bytes.truncate(at(i, bytes.len())),
            Mutation::Flip(i, b) if !bytes.is_empty() => {
                let k = i.index(bytes.len());
                bytes[k] ^= b.max(&1);
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(i, s) => {
                let k = at(i, bytes.len());
                bytes.splice(k..k, s.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let k = at(i, bytes.len());
                bytes.drain(k..(k + n).min(bytes.len()));
            }
            Mutation::Repeat(i, n) => {
                let k = at(i, bytes.len());
                let piece = bytes[k..(k + n).min(bytes.len())].to_vec();
                bytes.splice(k..k, piece);
            }
        }
    }
    bytes
}

/// Every JSON pointer in `doc`, the root first.
pub fn pointers(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => m.iter().for_each(|(k, c)| walk(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| walk(c, format!("{at}/{i}"), out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, String::new(), &mut out);
    out
}
