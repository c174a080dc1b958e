//! Reads OpenAPI documents from disk or over HTTP(S), YAML or JSON, and bundles every document
//! they reference into one whose `$ref`s are all local (`#/...`), so the rest of the engine
//! resolves references with a JSON pointer and never touches the file system or the network
//! again. A fetched document's relative references resolve against its URL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::problem::{Problem, join};
use crate::client::{Fetcher, is_url};

/// Where bundled external files live inside the root document.
pub const BUNDLE_KEY: &str = "x-specstub-bundled";

/// Parses one file into JSON. JSON files keep exact numbers; YAML keys that are not strings
/// (such as unquoted `200:` status codes) become strings, with a warning.
pub fn read_document(path: &Path, warnings: &mut Vec<Problem>) -> Result<Value, Problem> {
    let bytes = std::fs::read(path).map_err(|e| Problem::error(path, "", format!("cannot read file: {e}")))?;
    parse_document(&bytes, path, warnings)
}

/// Whether a document name (a `PathBuf`, as `Config.specs` holds them) is a URL.
pub fn is_remote(name: &Path) -> bool {
    name.to_str().is_some_and(is_url)
}

/// Fetches one document; the problem names the URL and why (offline, a status, too large).
/// What `fetched` already holds is not fetched again: a reload reads documents given by URL as
/// they were at start.
pub fn fetch_document(url: &str, fetcher: &mut Fetcher, fetched: &Fetched, warnings: &mut Vec<Problem>) -> Result<Value, Problem> {
    let kept = fetched.0.lock().unwrap_or_else(|p| p.into_inner()).get(url).cloned();
    let bytes = match kept {
        Some(bytes) => bytes,
        None => {
            let bytes = fetcher.get(url).map_err(|e| Problem::error(url, "", format!("cannot fetch {url}: {e}")))?;
            fetched.0.lock().unwrap_or_else(|p| p.into_inner()).insert(url.to_string(), bytes.clone());
            bytes
        }
    };
    parse_document(&bytes, Path::new(url), warnings)
}

/// The documents fetched by URL, by URL, shared by every load made from one configuration (its
/// clones share it too), so that only the first load fetches.
#[derive(Debug, Clone, Default)]
pub struct Fetched(std::sync::Arc<std::sync::Mutex<HashMap<String, bytes::Bytes>>>);

/// Open brackets a document may nest; the YAML parser gives up at 128 levels anyway, but only
/// after a scan whose cost grows with the square of the nesting (a 200 kB line of `[` took
/// minutes).
const MAX_BRACKETS: usize = 1000;

/// Where the unclosed `[`/`{` first pass [`MAX_BRACKETS`], counted without regard to quoting:
/// a bound no real document comes near, even with brackets in its prose.
fn nested_too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_BRACKETS {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Parses a document's bytes; `path` names it in problems.
pub fn parse_document(bytes: &[u8], path: &Path, warnings: &mut Vec<Problem>) -> Result<Value, Problem> {
    let text = std::str::from_utf8(bytes).map_err(|e| Problem::error(path, "", format!("file is not UTF-8: {e}")))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            return Ok(v);
        }
    }
    if let Some(at) = nested_too_deep(trimmed) {
        return Err(Problem::error(
            path,
            "",
            format!("cannot parse YAML/JSON: brackets nest more than {MAX_BRACKETS} deep (at byte {at})"),
        ));
    }
    let yaml: serde_norway::Value = serde_norway::from_str(trimmed).map_err(|e| {
        let at = e.location().map(|l| format!(" at line {}, column {}", l.line(), l.column())).unwrap_or_default();
        Problem::error(path, "", format!("cannot parse YAML/JSON{at}: {e}"))
    })?;
    let mut yaml = yaml;
    if let Err(e) = yaml.apply_merge() {
        return Err(Problem::error(path, "", format!("bad YAML merge key: {e}")));
    }
    let mut keys_fixed = Vec::new();
    let value = yaml_to_json(yaml, "", &mut keys_fixed);
    for pointer in keys_fixed.into_iter().take(20) {
        warnings.push(Problem::warning(path, pointer, "non-string key read as a string (quote it)"));
    }
    Ok(value)
}

fn yaml_to_json(v: serde_norway::Value, pointer: &str, fixed: &mut Vec<String>) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().and_then(serde_json::Number::from_f64).map(Value::Number).unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().enumerate().map(|(i, x)| yaml_to_json(x, &format!("{pointer}/{i}"), fixed)).collect())
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => {
                        let s = match &other {
                            Y::Number(n) => n.to_string(),
                            Y::Bool(b) => b.to_string(),
                            Y::Null => "null".to_string(),
                            _ => serde_norway::to_string(&other).unwrap_or_default().trim().to_string(),
                        };
                        // Status codes are the common case and entirely clear; only flag others.
                        if !(s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())) {
                            fixed.push(join(pointer, &s));
                        }
                        s
                    }
                };
                let child = join(pointer, &key);
                out.insert(key, yaml_to_json(val, &child, fixed));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value, pointer, fixed),
    }
}

/// Loads `path` (a file or a URL) and every document it references, rewriting references so
/// they all point into the returned document. Problems (unreadable files, failed fetches) are
/// collected, not fatal.
/// Local files read on the way (the document and those its `$ref`s name, found or not) are
/// added to `read`, for a watcher.
pub fn load_bundled(
    path: &Path,
    overlays: &[super::overlay::Overlay],
    fetcher: &mut Fetcher,
    fetched: &Fetched,
    read: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
) -> Result<Value, Problem> {
    let mut root = match path.to_str().filter(|p| is_url(p)) {
        Some(url) => fetch_document(url, fetcher, fetched, problems)?,
        None => {
            read.push(path.to_path_buf());
            read_document(path, problems)?
        }
    };
    super::overlay::apply(overlays, path, &mut root, problems);
    let mut bundler = Bundler { files: HashMap::new(), bundled: Map::new(), fetcher, fetched, read, problems };
    let base = path.to_path_buf();
    bundler.rewrite(&mut root, &base, "", &mut String::new());
    if !bundler.bundled.is_empty() {
        if let Value::Object(obj) = &mut root {
            obj.insert(BUNDLE_KEY.to_string(), Value::Object(std::mem::take(&mut bundler.bundled)));
        }
    }
    Ok(root)
}

struct Bundler<'p> {
    /// canonical path or URL (no fragment) → pointer prefix of its bundled copy (None when it
    /// failed to load), so each document is read or fetched once
    files: HashMap<PathBuf, Option<String>>,
    bundled: Map<String, Value>,
    fetcher: &'p mut Fetcher,
    fetched: &'p Fetched,
    read: &'p mut Vec<PathBuf>,
    problems: &'p mut Vec<Problem>,
}

impl Bundler<'_> {
    /// `prefix` is where this file's content lives in the root document ("" for the root file).
    /// `pointer` is where `v` sits: one buffer, grown and cut back on the way, since a big
    /// document has millions of nodes and a new string for each was a quarter of its loading.
    fn rewrite(&mut self, v: &mut Value, file: &Path, prefix: &str, pointer: &mut String) {
        let len = pointer.len();
        match v {
            Value::Object(obj) => {
                for (k, child) in obj.iter_mut() {
                    if k == "$ref" {
                        if let Value::String(r) = child {
                            if let Some(new) = self.rewrite_ref(r, file, prefix, pointer) {
                                *r = new;
                            }
                        }
                        continue;
                    }
                    if is_data(k, child, pointer) || !(child.is_object() || child.is_array()) {
                        continue;
                    }
                    pointer.push('/');
                    if k.contains(['~', '/']) {
                        pointer.push_str(&super::problem::escape_token(k));
                    } else {
                        pointer.push_str(k);
                    }
                    self.rewrite(child, file, prefix, pointer);
                    pointer.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate().filter(|(_, c)| c.is_object() || c.is_array()) {
                    use std::fmt::Write as _;
                    let _ = write!(pointer, "/{i}");
                    self.rewrite(child, file, prefix, pointer);
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
    }

    fn rewrite_ref(&mut self, r: &str, file: &Path, prefix: &str, pointer: &str) -> Option<String> {
        let (target, fragment) = match r.split_once('#') {
            Some((t, f)) => (t, f),
            None => (r, ""),
        };
        if target.is_empty() {
            // Local to this file: relocate under its bundle prefix.
            return if prefix.is_empty() { None } else { Some(format!("#{prefix}{fragment}")) };
        }
        // A reference from a fetched document is remote even when relative.
        let remote = is_url(target) || is_remote(file);
        let (canonical, target_path) = if remote {
            let resolved = if is_url(target) {
                url::Url::parse(target)
            } else {
                url::Url::parse(&file.to_string_lossy()).and_then(|base| base.join(target))
            };
            match resolved {
                Ok(mut u) => {
                    u.set_fragment(None);
                    (PathBuf::from(u.as_str()), PathBuf::from(u.as_str()))
                }
                Err(e) => {
                    self.problems.push(Problem::error(file, pointer, format!("$ref {r:?} is not a usable URL: {e}")));
                    return None;
                }
            }
        } else {
            let dir = file.parent().unwrap_or(Path::new("."));
            let target_path = dir.join(percent_encoding::percent_decode_str(target).decode_utf8_lossy().as_ref());
            (std::fs::canonicalize(&target_path).unwrap_or(target_path.clone()), target_path)
        };
        let file_prefix = match self.files.get(&canonical) {
            Some(Some(p)) => p.clone(),
            Some(None) => return None,
            None => {
                let mut warnings = Vec::new();
                let read = if remote {
                    fetch_document(&target_path.to_string_lossy(), self.fetcher, self.fetched, &mut warnings)
                } else {
                    self.read.push(target_path.clone());
                    read_document(&target_path, &mut warnings)
                };
                match read {
                    Ok(mut doc) => {
                        let key = self.bundled.len().to_string();
                        let p = format!("/{BUNDLE_KEY}/{key}");
                        self.files.insert(canonical, Some(p.clone()));
                        self.problems.extend(warnings);
                        // Reserve the slot first so that cycles between files terminate.
                        self.bundled.insert(key.clone(), Value::Null);
                        self.rewrite(&mut doc, &target_path, &p, &mut String::new());
                        self.bundled.insert(key, doc);
                        p
                    }
                    Err(e) => {
                        let message = if remote {
                            format!("$ref {r:?} cannot be loaded: {}", e.message)
                        } else {
                            format!("$ref {r:?} cannot be loaded from {}: {}", target_path.display(), e.message)
                        };
                        self.problems.push(Problem::error(file, pointer, message));
                        self.files.insert(canonical, None);
                        return None;
                    }
                }
            }
        };
        Some(format!("#{file_prefix}{fragment}"))
    }
}

/// Example payloads are data: a `$ref` key inside them is not a reference.
fn is_data(key: &str, child: &Value, pointer: &str) -> bool {
    // Inside a map of names (properties, responses...) a key is a name, never a keyword.
    let parent = pointer.rsplit('/').next().unwrap_or("");
    if matches!(parent, "properties" | "patternProperties" | "responses" | "schemas" | "$defs" | "definitions" | "headers" | "paths") {
        return false;
    }
    match key {
        "example" | "const" | "default" | "enum" => true,
        "examples" => child.is_array(),
        "value" => pointer.rsplit('/').nth(1) == Some("examples"),
        _ => false,
    }
}

/// Resolves a local reference (`#/a/b`) against `root`.
pub fn resolve_local<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8().ok()?;
    if decoded.is_empty() {
        return Some(root);
    }
    super::problem::lookup(root, &decoded)
}

/// What `deref` reaches, without building its pointer: for the paths that run per request.
pub fn target<'a>(root: &'a Value, v: &'a Value) -> &'a Value {
    let mut cur = v;
    for _ in 0..32 {
        match cur.get("$ref").and_then(Value::as_str).and_then(|r| resolve_local(root, r)) {
            Some(next) => cur = next,
            None => break,
        }
    }
    cur
}

/// Follows `$ref` chains from `v` (bounded, so a cycle of references ends) and returns the target
/// together with its pointer. `pointer` is where `v` itself sits.
pub fn deref<'a>(root: &'a Value, v: &'a Value, pointer: &str) -> (&'a Value, String) {
    let mut cur = v;
    let mut at = pointer.to_string();
    for _ in 0..32 {
        match cur.get("$ref").and_then(Value::as_str) {
            Some(r) => match resolve_local(root, r) {
                Some(next) => {
                    at = percent_encoding::percent_decode_str(r.trim_start_matches('#')).decode_utf8_lossy().into_owned();
                    cur = next;
                }
                None => break,
            },
            None => break,
        }
    }
    (cur, at)
}
