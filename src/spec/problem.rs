//! Problems found while loading a document: what `lint` prints and what makes `serve` refuse to
//! start. Each names the file and the JSON pointer of the offending node.

use serde_json::Value;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The document loads and serves; the author should still fix it.
    Warning,
    /// The document cannot be served as written.
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub file: PathBuf,
    /// JSON pointer (RFC 6901) into the file's document; empty for the whole file.
    pub pointer: String,
    pub message: String,
}

impl Problem {
    pub fn error(file: impl Into<PathBuf>, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, file: file.into(), pointer: pointer.into(), message: message.into() }
    }

    pub fn warning(file: impl Into<PathBuf>, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, file: file.into(), pointer: pointer.into(), message: message.into() }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let pointer = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "{}: {pointer}: {level}: {}", self.file.display(), self.message)
    }
}

/// Escapes one reference token for a JSON pointer (RFC 6901).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Appends one token to a pointer.
pub fn join(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + 1 + token.len());
    out.push_str(pointer);
    out.push('/');
    if token.contains(['~', '/']) {
        out.push_str(&escape_token(token));
    } else {
        out.push_str(token);
    }
    out
}

/// What `Value::pointer` finds, without its two `String`s per token (start-up looks up
/// millions of pointers in big documents): a token is unescaped only when it has a `~`.
pub fn lookup<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(doc);
    }
    pointer.strip_prefix('/')?.split('/').try_fold(doc, |target, token| match target {
        Value::Object(map) => map.get(&*unescape_token(token)),
        Value::Array(list) => array_index(token).and_then(|i| list.get(i)),
        _ => None,
    })
}

/// A pointer's tokens, unescaped (None when it is neither empty nor starts with `/`), for
/// [`lookup_tokens`]: a pointer looked up again and again is split once.
pub fn tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    Some(pointer.strip_prefix('/')?.split('/').map(|t| unescape_token(t).into_owned()).collect())
}

/// [`lookup`] with the pointer already split by [`tokens`].
pub fn lookup_tokens<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |target, token| match target {
        Value::Object(map) => map.get(token.as_str()),
        Value::Array(list) => array_index(token).and_then(|i| list.get(i)),
        _ => None,
    })
}

/// [`lookup`] for `Value::pointer_mut`.
pub fn lookup_mut<'a>(doc: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    if pointer.is_empty() {
        return Some(doc);
    }
    pointer.strip_prefix('/')?.split('/').try_fold(doc, |target, token| match target {
        Value::Object(map) => map.get_mut(&*unescape_token(token)),
        Value::Array(list) => array_index(token).and_then(move |i| list.get_mut(i)),
        _ => None,
    })
}

fn unescape_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') { token.replace("~1", "/").replace("~0", "~").into() } else { token.into() }
}

/// An array index as `Value::pointer` reads one: no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_finds_what_value_pointer_finds() {
        let mut doc = json!({"a/b": {"c~d": [1, {"": "empty", "x": [true]}]}, "n": {"0": "zero", "01": "one"}, "": 5});
        let pointers = [
            "",
            "/",
            "/a~1b",
            "/a~1b/c~0d",
            "/a~1b/c~0d/0",
            "/a~1b/c~0d/1/",
            "/a~1b/c~0d/1/x/0",
            "/a~1b/c~0d/01",
            "/a~1b/c~0d/+1",
            "/a~1b/c~0d/-",
            "/a~1b/c~0d/9",
            "/n/0",
            "/n/01",
            "/n/1",
            "a",
            "/a/b",
            "/a~1b/c~0d/1/x/0/deeper",
            "/a~01b",
        ];
        for p in pointers {
            assert_eq!(lookup(&doc, p), doc.pointer(p), "{p}");
            assert_eq!(tokens(p).and_then(|t| lookup_tokens(&doc, &t)), doc.pointer(p), "{p}");
            let expected = doc.clone().pointer_mut(p).cloned();
            assert_eq!(lookup_mut(&mut doc, p).cloned(), expected, "{p}");
        }
        assert_eq!(join("/a", "b/c~d"), "/a/b~1c~0d");
        assert_eq!(join("", "plain"), "/plain");
    }
}
