//! What the journal and the log must not keep: values of secret names, replaced by
//! `[redacted]`. Compiled once from the documents (query and header names of `apiKey` schemes,
//! parameters and body properties declared `format: password` or `writeOnly: true`) and the
//! settings (built-in names such as `password` and `access_token`, `--redact NAME`); applied to
//! query pairs, parsed bodies (JSON, forms) at any depth, request URIs in the access log, and
//! messages that quote a redacted value.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::config::Config;
use crate::spec::source::deref;
use crate::spec::{ParamIn, SecurityScheme, SpecSet};

/// What a redacted value becomes.
pub const MARKER: &str = "[redacted]";

/// Names that hold secrets wherever they appear, compared without case, `_`, `-` or `.`.
const BUILT_IN: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "x-api-key",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "private_key",
    "authorization",
];

/// Normalized names, looked up for every key of every journaled body: hashed with foldhash, not
/// the default SipHash (the names come from the documents and settings, not from requests).
type Names = HashSet<String, foldhash::fast::RandomState>;

/// The compiled rules.
#[derive(Debug, Default)]
pub struct Redaction {
    /// Normalized names redacted in any query, form or JSON body.
    names: Names,
    /// Per operation (by index): normalized property names its request body declares secret.
    declared: Vec<Names>,
    /// Neither names nor declared properties: every request skips the walk.
    empty: bool,
}

/// Values taken out of one request, to keep them out of messages that quote them.
#[derive(Debug, Default)]
pub struct Secrets(Vec<String>);

impl Redaction {
    pub fn compile(set: &SpecSet, config: &Config) -> Self {
        let mut names: Names = config.redact.iter().map(|n| normalize(n)).collect();
        if config.redact_names {
            names.extend(BUILT_IN.iter().map(|n| normalize(n)));
        }
        for spec in &set.specs {
            for scheme in spec.security_schemes.values() {
                if let SecurityScheme::ApiKey { location: ParamIn::Query | ParamIn::Header, name } = scheme {
                    names.insert(normalize(name));
                }
            }
        }
        let mut declared = Vec::with_capacity(set.operations.len());
        // Per (document, schema): thousands of operations share a few body schemas, and each
        // walk covers its schema's whole reference closure.
        let mut walked: HashMap<(usize, String), Names> = HashMap::new();
        for op in &set.operations {
            let doc = set.specs[op.spec].schemas.doc(crate::spec::walk::Flow::Request);
            for p in &op.parameters {
                if p.schema.as_ref().and_then(|s| doc.pointer(&s.pointer)).is_some_and(|s| is_secret(doc, s)) {
                    names.insert(normalize(&p.name));
                }
            }
            let mut found = Names::default();
            for media in op.body.iter().flat_map(|b| &b.content) {
                if let Some((schema, at)) = media.schema.as_ref().and_then(|s| doc.pointer(&s.pointer).map(|v| deref(doc, v, &s.pointer))) {
                    let names = walked.entry((op.spec, at.clone())).or_insert_with(|| {
                        let mut names = Names::default();
                        secret_properties(doc, schema, &at, &mut HashSet::new(), &mut names, 0);
                        names
                    });
                    found.extend(names.iter().cloned());
                }
            }
            declared.push(found);
        }
        let empty = names.is_empty() && declared.iter().all(Names::is_empty);
        Self { names, declared, empty }
    }

    /// Nothing to redact at all (`--no-redact-names` and documents that declare no secret).
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    fn hides(&self, op: Option<usize>, name: &str, buf: &mut String) -> bool {
        normalize_into(name, buf);
        self.names.contains(buf.as_str()) || op.and_then(|i| self.declared.get(i)).is_some_and(|d| d.contains(buf.as_str()))
    }

    /// A query name is secret as a whole or by its last part (`user[password]`, `user.password`).
    fn hides_query(&self, op: Option<usize>, name: &str, buf: &mut String) -> bool {
        if self.hides(op, name, buf) {
            return true;
        }
        let last = name.trim_end_matches(']').rsplit(['[', '.']).next().unwrap_or(name);
        last.len() != name.len() && self.hides(op, last, buf)
    }

    /// Replaces secret query values (of operation `op`, when the request routed to one).
    pub fn query(&self, op: Option<usize>, pairs: &mut [(String, String)], secrets: &mut Secrets) {
        let mut buf = String::new();
        for (name, value) in pairs.iter_mut() {
            if value != MARKER && self.hides_query(op, name, &mut buf) {
                secrets.keep(&Value::String(std::mem::replace(value, MARKER.to_string())));
            }
        }
    }

    /// Replaces secret values in a parsed body, at any depth.
    pub fn body(&self, op: Option<usize>, body: &mut Value, secrets: &mut Secrets) {
        let mut buf = String::new();
        self.walk(op, body, secrets, &mut buf, 0);
    }

    fn walk(&self, op: Option<usize>, v: &mut Value, secrets: &mut Secrets, buf: &mut String, depth: usize) {
        // Parsed bodies are bounded in depth by the parser; this is for values built otherwise.
        if depth > 256 {
            return;
        }
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.hides(op, k, buf) {
                        if v.as_str() != Some(MARKER) {
                            secrets.keep(&std::mem::replace(v, Value::String(MARKER.to_string())));
                        }
                    } else {
                        self.walk(op, v, secrets, buf, depth + 1);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.walk(op, v, secrets, buf, depth + 1)),
            _ => {}
        }
    }

    /// The values `body` and `pairs` would have redacted, without changing them (for a log line
    /// written before the journal entry).
    pub fn secrets_of(&self, op: Option<usize>, body: Option<&Value>, pairs: &[(String, String)]) -> Secrets {
        let mut secrets = Secrets::default();
        if self.is_empty() {
            return secrets;
        }
        let mut pairs = pairs.to_vec();
        self.query(op, &mut pairs, &mut secrets);
        if let Some(body) = body {
            let mut body = body.clone();
            self.body(op, &mut body, &mut secrets);
        }
        secrets
    }

    /// A request URI for the log, with secret query values replaced (borrowed when none is).
    pub fn uri<'u>(&self, uri: &'u http::Uri) -> Cow<'u, str> {
        let whole = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let Some(query) = uri.query() else { return Cow::Borrowed(whole) };
        let mut buf = String::new();
        let mut changed = false;
        let mut parts: Vec<Cow<str>> = Vec::new();
        for pair in query.split('&') {
            let name = pair.split('=').next().unwrap_or("");
            let decoded = crate::query::decode(name);
            if pair.contains('=') && self.hides_query(None, &decoded, &mut buf) {
                changed = true;
                parts.push(Cow::Owned(format!("{name}={MARKER}")));
            } else {
                parts.push(Cow::Borrowed(pair));
            }
        }
        if !changed {
            return Cow::Borrowed(whole);
        }
        Cow::Owned(format!("{}?{}", uri.path(), parts.join("&")))
    }
}

impl Secrets {
    fn keep(&mut self, v: &Value) {
        let text = match v {
            Value::String(s) if s.is_empty() => return,
            Value::String(s) => s.clone(),
            Value::Null => return,
            other => other.to_string(),
        };
        self.0.push(text);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every quoted secret (`"hunter2"`, as validation messages quote values) and
    /// every unquoted one of 8 characters or more replaced by the marker; shorter unquoted ones
    /// stay, as replacing them would rewrite ordinary words.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.0 {
            let quoted = serde_json::to_string(s).unwrap_or_default();
            if out.contains(&quoted) {
                out = out.replace(&quoted, &format!("\"{MARKER}\""));
            }
            if s.len() >= 8 && out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MARKER);
            }
        }
        out
    }
}

/// Lowercase, without `_`, `-` and `.`: `apiKey`, `api_key` and `API-KEY` are one name.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    normalize_into(name, &mut out);
    out
}

fn normalize_into(name: &str, out: &mut String) {
    out.clear();
    if name.is_ascii() {
        // Nearly every key: byte by byte, without the Unicode case tables.
        out.extend(name.bytes().filter(|b| !matches!(b, b'_' | b'-' | b'.')).map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.extend(name.chars().filter(|c| !matches!(c, '_' | '-' | '.')).flat_map(char::to_lowercase));
    }
}

fn is_secret(doc: &Value, schema: &Value) -> bool {
    let (schema, _) = deref(doc, schema, "");
    schema.get("format").and_then(Value::as_str) == Some("password") || schema.get("writeOnly").and_then(Value::as_bool) == Some(true)
}

/// Collects the names of properties declared secret anywhere under `schema` (through `$ref`s,
/// compositions, items and additional properties).
fn secret_properties(doc: &Value, schema: &Value, at: &str, seen: &mut HashSet<String>, out: &mut Names, depth: usize) {
    let (schema, at) = deref(doc, schema, at);
    if depth > 64 || !seen.insert(at.clone()) {
        return;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            if is_secret(doc, sub) {
                out.insert(normalize(name));
            }
            secret_properties(doc, sub, &format!("{at}/properties/{}", crate::spec::escape_token(name)), seen, out, depth + 1);
        }
    }
    for key in ["items", "additionalProperties", "unevaluatedProperties", "not", "if", "then", "else", "contains"] {
        if let Some(sub) = schema.get(key).filter(|s| s.is_object()) {
            secret_properties(doc, sub, &format!("{at}/{key}"), seen, out, depth + 1);
        }
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        for (i, sub) in schema.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            secret_properties(doc, sub, &format!("{at}/{key}/{i}"), seen, out, depth + 1);
        }
    }
    for (name, sub) in schema.get("patternProperties").and_then(Value::as_object).into_iter().flatten() {
        secret_properties(doc, sub, &format!("{at}/patternProperties/{}", crate::spec::escape_token(name)), seen, out, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(extra: &[&str], names: bool) -> Redaction {
        let config = Config { redact: extra.iter().map(|s| s.to_string()).collect(), redact_names: names, ..Config::default() };
        Redaction::compile(&SpecSet::default(), &config)
    }

    #[test]
    fn built_in_names_are_redacted_at_any_depth_whatever_their_spelling() {
        let r = rules(&[], true);
        let mut body = json!({"user": {"Password": "hunter2", "name": "ann"}, "items": [{"apiKey": 42}], "pageToken": "p1"});
        let mut secrets = Secrets::default();
        r.body(None, &mut body, &mut secrets);
        assert_eq!(body, json!({"user": {"Password": MARKER, "name": "ann"}, "items": [{"apiKey": MARKER}], "pageToken": "p1"}));
        assert_eq!(secrets.scrub(r#"body /user/Password: "hunter2" is too short"#), r#"body /user/Password: "[redacted]" is too short"#);
    }

    #[test]
    fn ascii_names_normalize_as_the_unicode_rule_does() {
        let unicode = |n: &str| n.chars().filter(|c| !matches!(c, '_' | '-' | '.')).flat_map(char::to_lowercase).collect::<String>();
        for name in ["Client_Secret", "X-API-Key", "a.b-c_d", "", "___", "ÄPI_Key", "İd", "plain"] {
            assert_eq!(normalize(name), unicode(name), "{name}");
        }
    }

    #[test]
    fn query_names_match_whole_or_by_their_last_part_and_the_rule_can_be_turned_off() {
        let r = rules(&["session_key"], true);
        let mut pairs =
            vec![("access_token".to_string(), "t1".to_string()), ("user[password]".into(), "p".into()), ("q".into(), "x".into())];
        r.query(None, &mut pairs, &mut Secrets::default());
        assert_eq!(pairs.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(), [MARKER, MARKER, "x"]);
        let off = rules(&["session_key"], false);
        let mut pairs = vec![("access_token".to_string(), "t1".to_string()), ("sessionKey".into(), "k".into())];
        off.query(None, &mut pairs, &mut Secrets::default());
        assert_eq!(pairs.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(), ["t1", MARKER]);
    }

    #[test]
    fn uris_in_the_log_lose_secret_values_only() {
        let r = rules(&[], true);
        let uri: http::Uri = "/api/runs?access_token=abc&page=2&client%5Fsecret=s".parse().unwrap();
        assert_eq!(r.uri(&uri), "/api/runs?access_token=[redacted]&page=2&client%5Fsecret=[redacted]");
        let plain: http::Uri = "/api/runs?page=2".parse().unwrap();
        assert!(matches!(r.uri(&plain), Cow::Borrowed("/api/runs?page=2")));
    }
}
