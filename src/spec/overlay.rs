//! OpenAPI Overlay 1.0: documents of `actions`, each a JSONPath `target` with an `update` to
//! merge in or `remove: true`, applied to a spec before it is read. This is how users add
//! `x-specstub` behaviour to a third-party spec they cannot edit.

use std::path::{Path, PathBuf};

use serde_json::Value;
use serde_json_path::JsonPath;

use super::problem::Problem;
use super::source::{Fetched, fetch_document, is_remote, read_document};

#[derive(Debug, Clone)]
pub struct Overlay {
    pub file: PathBuf,
    /// The `extends` document's file name, when the overlay names one.
    extends: Option<String>,
    actions: Vec<Action>,
}

#[derive(Debug, Clone)]
struct Action {
    pointer: String,
    target: JsonPath,
    update: Option<Value>,
    remove: bool,
}

pub fn read(file: &Path, fetcher: &mut crate::client::Fetcher, fetched: &Fetched, problems: &mut Vec<Problem>) -> Option<Overlay> {
    // An overlay by URL is fetched like a document by URL: once, bounded, kept for reloads.
    let read = match file.to_str().filter(|_| is_remote(file)) {
        Some(url) => fetch_document(url, fetcher, fetched, problems),
        None => read_document(file, problems),
    };
    let doc = match read {
        Ok(d) => d,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    match doc.get("overlay").and_then(Value::as_str) {
        Some(v) if v.starts_with("1.") => {}
        Some(v) => problems.push(Problem::warning(file, "/overlay", format!("overlay version {v} is read as 1.0"))),
        None => {
            problems.push(Problem::error(file, "", "not an Overlay document: the `overlay: 1.0.0` field is missing"));
            return None;
        }
    }
    let extends = doc.get("extends").and_then(Value::as_str).map(|e| e.rsplit('/').next().unwrap_or(e).to_string());
    let mut actions = Vec::new();
    let Some(list) = doc.get("actions").and_then(Value::as_array) else {
        problems.push(Problem::error(file, "/actions", "an overlay needs a list of `actions`"));
        return None;
    };
    for (i, a) in list.iter().enumerate() {
        let pointer = format!("/actions/{i}");
        let Some(target) = a.get("target").and_then(Value::as_str) else {
            problems.push(Problem::error(file, pointer, "an action needs a `target` JSONPath"));
            continue;
        };
        match JsonPath::parse(target) {
            Ok(path) => actions.push(Action {
                pointer,
                target: path,
                update: a.get("update").cloned(),
                remove: a.get("remove").and_then(Value::as_bool).unwrap_or(false),
            }),
            Err(e) => problems.push(Problem::error(file, format!("{pointer}/target"), format!("invalid JSONPath {target:?}: {e}"))),
        }
    }
    Some(Overlay { file: file.to_path_buf(), extends, actions })
}

/// Applies the overlays that concern `file` to its document, in order.
pub fn apply(overlays: &[Overlay], file: &Path, doc: &mut Value, problems: &mut Vec<Problem>) {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    for o in overlays {
        if o.extends.as_deref().is_some_and(|e| e != name) {
            continue;
        }
        for a in &o.actions {
            let pointers: Vec<String> = a.target.query_located(doc).locations().map(|l| l.to_json_pointer()).collect();
            if pointers.is_empty() {
                problems.push(Problem::warning(
                    &o.file,
                    format!("{}/target", a.pointer),
                    format!("the target matches nothing in {}", file.display()),
                ));
            }
            for ptr in pointers {
                if a.remove {
                    remove(doc, &ptr);
                } else if let (Some(update), Some(node)) = (&a.update, doc.pointer_mut(&ptr)) {
                    merge(node, update);
                }
            }
        }
    }
}

/// Overlay merge: objects merge recursively, arrays gain the update's items, the rest replaces.
fn merge(node: &mut Value, update: &Value) {
    match (node, update) {
        (Value::Object(n), Value::Object(u)) => {
            for (k, v) in u {
                match n.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        n.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(n), Value::Array(u)) => n.extend(u.iter().cloned()),
        (Value::Array(n), u) => n.push(u.clone()),
        (n, u) => *n = u.clone(),
    }
}

fn remove(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else { return };
    let key = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&key);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = key.parse::<usize>() {
                if i < a.len() {
                    a.remove(i);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_follows_overlay_rules() {
        let mut v = json!({"a": {"b": 1}, "list": [1]});
        merge(&mut v, &json!({"a": {"c": 2}, "list": [2]}));
        assert_eq!(v, json!({"a": {"b": 1, "c": 2}, "list": [1, 2]}));
    }

    #[test]
    fn actions_update_and_remove_by_jsonpath() {
        let overlay = Overlay {
            file: "o.yaml".into(),
            extends: None,
            actions: vec![
                Action {
                    pointer: String::new(),
                    target: JsonPath::parse("$.paths['/pets'].post").unwrap(),
                    update: Some(json!({"x-specstub": {"resource": "pets"}})),
                    remove: false,
                },
                Action { pointer: String::new(), target: JsonPath::parse("$.paths['/pets'].get").unwrap(), update: None, remove: true },
            ],
        };
        let mut doc = json!({"paths": {"/pets": {"get": {}, "post": {"operationId": "create"}}}});
        let mut problems = Vec::new();
        apply(&[overlay], Path::new("api.yaml"), &mut doc, &mut problems);
        assert_eq!(doc, json!({"paths": {"/pets": {"post": {"operationId": "create", "x-specstub": {"resource": "pets"}}}}}));
        assert!(problems.is_empty());
    }
}
