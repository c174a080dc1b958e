//! Seed records for the store: every YAML or JSON file in the fixtures directory maps resource
//! names to lists of records. A record is the resource as the API shows it; one that lives
//! inside a parent is written `{scope: {param: value}, record: {...}}`.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::spec::Problem;
use crate::spec::source::read_document;
use crate::store::Record;

/// Reads every fixture file under `dir`. Ids come from each resource's key field (`keys`:
/// collection → key field; "id" for collections not in it).
pub fn load(dir: &Path, keys: &HashMap<String, String>) -> Result<HashMap<String, Vec<Record>>, Vec<Problem>> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
            .collect(),
        Err(e) => return Err(vec![Problem::error(dir, "", format!("cannot read the fixtures directory: {e}"))]),
    };
    files.sort();
    let mut problems = Vec::new();
    let mut out: HashMap<String, Vec<Record>> = HashMap::new();
    for file in files {
        let mut warnings = Vec::new();
        let doc = match read_document(&file, &mut warnings) {
            Ok(d) => d,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let Some(map) = doc.as_object() else {
            problems.push(Problem::error(&file, "", "a fixtures file maps resource names to lists of records"));
            continue;
        };
        for (resource, list) in map {
            let Some(items) = list.as_array() else {
                problems.push(Problem::error(&file, format!("/{resource}"), "expected a list of records"));
                continue;
            };
            let key = keys.get(resource.as_str()).map(String::as_str).unwrap_or("id");
            for (i, item) in items.iter().enumerate() {
                let pointer = format!("/{resource}/{i}");
                let (scope, data) = match (item.get("scope"), item.get("record")) {
                    (Some(Value::Object(s)), Some(r)) => (
                        s.iter().map(|(k, v)| (k.clone(), v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))).collect(),
                        r.clone(),
                    ),
                    _ => (Vec::new(), item.clone()),
                };
                let id = match data.get(key) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => {
                        problems.push(Problem::warning(
                            &file,
                            pointer,
                            format!("skipped: the record has no {key:?} field to take its id from"),
                        ));
                        continue;
                    }
                };
                // A wrapped record may start at a given version, so its ETag can match the
                // version field the record shows (`W/"1234"`).
                let version = item.get("record").and(item.get("version")).and_then(Value::as_u64).filter(|v| *v > 0).unwrap_or(1);
                out.entry(resource.clone()).or_default().push(Record { id, version, seq: 0, scope, data });
            }
        }
    }
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }
    for p in &problems {
        tracing::warn!("{p}");
    }
    Ok(out)
}
