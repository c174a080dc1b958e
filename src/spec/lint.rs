//! Checks a loaded document for what would make it serve wrongly: unknown fields and schema
//! keywords (usually typos), examples that contradict their schema, duplicate operationIds, and
//! routes that can never be reached (a method + path claimed twice, or shadowed by an earlier
//! template of the same shape). The same checks run for `lint` and at `serve` start.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::SecurityScheme;
use super::model::{Operation, ParamIn};
use super::problem::{Problem, join};
use super::schemas::{SchemaSet, violations};
use super::walk::{ExampleSite, METHODS};

const SCHEMA_KEYWORDS: &[&str] = &[
    // JSON Schema 2020-12 (and earlier drafts' names still common in documents)
    "$schema",
    "$id",
    "$ref",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$defs",
    "$comment",
    "$vocabulary",
    "definitions",
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxContains",
    "minContains",
    "contains",
    "items",
    "prefixItems",
    "additionalItems",
    "unevaluatedItems",
    "maxProperties",
    "minProperties",
    "required",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "properties",
    "patternProperties",
    "additionalProperties",
    "unevaluatedProperties",
    "propertyNames",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "format",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
    // OpenAPI's additions
    "nullable",
    "discriminator",
    "xml",
    "externalDocs",
    "example",
];

const OPERATION_FIELDS: &[&str] = &[
    "tags",
    "summary",
    "description",
    "externalDocs",
    "operationId",
    "parameters",
    "requestBody",
    "responses",
    "callbacks",
    "deprecated",
    "security",
    "servers",
];

const PATH_ITEM_FIELDS: &[&str] = &["$ref", "summary", "description", "servers", "parameters", "additionalOperations"];

const DOCUMENT_FIELDS: &[&str] =
    &["openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks", "components", "security", "tags", "externalDocs", "$self"];

fn is_extension(k: &str) -> bool {
    k.starts_with("x-")
}

fn suggestion(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (edit_distance(&word.to_ascii_lowercase(), &k.to_ascii_lowercase()), k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The document's own fields; `strict_30` adds the strict OpenAPI 3.0 model's verdict.
pub fn document_fields(file: &Path, doc: &Value, strict_30: bool, problems: &mut Vec<Problem>) {
    let Some(obj) = doc.as_object() else { return };
    if !obj.contains_key("info") {
        problems.push(Problem::warning(file, "", "no `info` object (title and version)"));
    }
    if !obj.contains_key("paths") {
        problems.push(Problem::warning(file, "", "no `paths`: nothing to serve"));
    }
    for k in obj.keys() {
        if !DOCUMENT_FIELDS.contains(&k.as_str()) && !is_extension(k) {
            problems.push(Problem::warning(file, join("", k), format!("unknown field `{k}`{}", suggestion(k, DOCUMENT_FIELDS))));
        }
    }
    for (path, item) in obj.get("paths").and_then(Value::as_object).into_iter().flatten() {
        let ptr = join("/paths", path);
        for (k, v) in item.as_object().into_iter().flatten() {
            let known = METHODS.contains(&k.as_str()) || PATH_ITEM_FIELDS.contains(&k.as_str()) || is_extension(k);
            if !known {
                let all: Vec<&str> = METHODS.iter().chain(PATH_ITEM_FIELDS).copied().collect();
                problems.push(Problem::warning(file, join(&ptr, k), format!("unknown field `{k}` in a path item{}", suggestion(k, &all))));
                continue;
            }
            if !METHODS.contains(&k.as_str()) {
                continue;
            }
            let op_ptr = join(&ptr, k);
            for field in v.as_object().into_iter().flatten().map(|(f, _)| f) {
                if !OPERATION_FIELDS.contains(&field.as_str()) && !is_extension(field) {
                    problems.push(Problem::warning(
                        file,
                        join(&op_ptr, field),
                        format!("unknown field `{field}` in an operation{}: ignored", suggestion(field, OPERATION_FIELDS)),
                    ));
                }
            }
            if v.get("responses").is_none() {
                problems.push(Problem::warning(file, op_ptr, "no `responses`: answers 200 with no body"));
            }
        }
    }
    if strict_30 {
        // The strict model reads these bounds as f64 and panics on one beyond its range.
        if let Some((at, n)) = unrepresentable_bound(doc, "") {
            problems.push(Problem::warning(
                file,
                at,
                format!("{n} is beyond a 64-bit float's range: kept exactly, but the strict OpenAPI 3.0 check is skipped"),
            ));
            return;
        }
        // The strict 3.0 model catches structural mistakes the loose reader lets through.
        // Deserialized from the borrowed tree: copying a big document first doubled this step.
        if let Err(e) = <openapiv3::OpenAPI as serde::Deserialize>::deserialize(doc) {
            problems.push(Problem::warning(file, "", format!("not a strictly valid OpenAPI 3.0 document: {e}")));
        }
    }
}

/// The first `minimum`, `maximum` or `multipleOf` whose number no f64 holds (`1e400`), with
/// its pointer.
fn unrepresentable_bound(v: &Value, at: &str) -> Option<(String, String)> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, c)| {
            let here = join(at, k);
            match c {
                Value::Number(n) if matches!(k.as_str(), "minimum" | "maximum" | "multipleOf") && n.as_f64().is_none() => {
                    Some((here, n.to_string()))
                }
                _ => unrepresentable_bound(c, &here),
            }
        }),
        Value::Array(a) => a.iter().enumerate().find_map(|(i, c)| unrepresentable_bound(c, &format!("{at}/{i}"))),
        _ => None,
    }
}

pub fn schema_keywords(file: &Path, doc: &Value, schemas: &[String], problems: &mut Vec<Problem>) {
    for ptr in schemas {
        let Some(obj) = super::problem::lookup(doc, ptr).and_then(Value::as_object) else {
            continue;
        };
        if obj.get("type").is_some_and(Value::is_null) {
            problems.push(Problem::warning(file, join(ptr, "type"), "empty `type`: any type is accepted"));
        }
        for k in obj.keys() {
            if !SCHEMA_KEYWORDS.contains(&k.as_str()) && !is_extension(k) {
                problems.push(Problem::warning(
                    file,
                    join(ptr, k),
                    format!("unknown schema keyword `{k}`{}: ignored by validation", suggestion(k, SCHEMA_KEYWORDS)),
                ));
            }
        }
    }
}

/// Validates every example against its schema, once per load. A contradiction is a warning, not
/// a refusal: published documents carry hundreds of stale examples and still describe their API.
/// The verdicts are returned by the example's pointer, so the model can mark each example and
/// answers send generated data instead of a wrong example, without validating again.
pub fn examples(file: &Path, schemas: &SchemaSet, sites: &[ExampleSite], problems: &mut Vec<Problem>) -> HashMap<String, String> {
    let mut invalid: HashMap<String, String> = HashMap::new();
    for site in sites {
        let doc = schemas.doc(site.flow);
        let Some(example) = super::problem::lookup(doc, &site.example) else {
            continue;
        };
        // A request body's or parameter's schema is compiled into the shared cache, where its
        // requests will find it. Other validators are dropped after: response schemas serve
        // only proxy, verify and --self-check, and kept they took GitHub's RSS up by 100 MB.
        let compiled = if site.flow == super::walk::Flow::Request && site.schema.ends_with("/schema") {
            schemas.validator(site.flow, &site.schema)
        } else {
            schemas.compile(site.flow, &site.schema).map(std::sync::Arc::new)
        };
        let validator = match compiled {
            Ok(v) => v,
            Err(e) => {
                problems.push(Problem::error(file, site.schema.clone(), format!("invalid schema: {e}")));
                continue;
            }
        };
        let found = violations(&validator, example);
        if found.is_empty() {
            continue;
        }
        let instead = if site.served { "; answers send generated data unless a client asks for it by name" } else { "" };
        let mut why = Vec::new();
        for (at, message) in found {
            let at = if at.is_empty() { String::new() } else { format!(" at {at}") };
            problems.push(Problem::warning(
                file,
                site.example.clone(),
                format!("example does not match its schema{at}: {message}{instead}"),
            ));
            why.push(format!("{}{at}: {message}", site.example));
        }
        invalid.insert(site.example.clone(), why.join("; "));
    }
    invalid
}

pub fn operations(file: &Path, ops: &[Operation], security: &HashMap<String, SecurityScheme>, problems: &mut Vec<Problem>) {
    let mut ids: HashMap<&str, &str> = HashMap::new();
    for op in ops {
        if let Some(first) = ids.insert(&op.id, &op.pointer) {
            if !op.id.contains(' ') {
                problems.push(Problem::error(file, op.pointer.clone(), format!("duplicate operationId {:?} (also at {first})", op.id)));
            }
        }
        let template_params = crate::template::names(&op.path);
        for name in &template_params {
            if !op.parameters.iter().any(|p| p.location == ParamIn::Path && &p.name == name) {
                problems.push(Problem::warning(
                    file,
                    op.pointer.clone(),
                    format!("path parameter {{{name}}} is not declared: read as a string"),
                ));
            }
        }
        for p in &op.parameters {
            if p.location == ParamIn::Path && !template_params.contains(&p.name) {
                problems.push(Problem::warning(
                    file,
                    op.pointer.clone(),
                    format!("path parameter {:?} is not in the path template", p.name),
                ));
            }
        }
        for alt in &op.security {
            for name in alt {
                if !security.contains_key(name) {
                    problems.push(Problem::error(
                        file,
                        op.pointer.clone(),
                        format!("security scheme {name:?} is not defined in components.securitySchemes"),
                    ));
                }
            }
        }
    }
}

/// Compiles the validator of every parameter and request body of `ops` (what requests are
/// checked against), each schema once (`seen`) and dropped after, and reports those that do not
/// compile. `serve` compiles them on first use instead, so that a big document starts at once;
/// `lint` runs this, and `serve` runs it in the background after it listens, logging what it finds.
pub fn request_schemas(
    file: &Path,
    ops: &[&Operation],
    schemas: &SchemaSet,
    seen: &mut std::collections::HashSet<(usize, String)>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for op in ops {
        let params = op.parameters.iter().filter_map(|p| p.schema.as_ref());
        let bodies = op.body.iter().flat_map(|b| &b.content).filter_map(|m| m.schema.as_ref());
        for s in params.chain(bodies) {
            let target = schemas.target(s.flow, &s.pointer);
            if !seen.insert((op.spec, target.clone())) {
                continue;
            }
            if let Err(e) = schemas.compile(s.flow, &target) {
                problems.push(Problem::error(file, s.pointer.clone(), format!("invalid schema: {e}")));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_known_field() {
        assert_eq!(suggestion("paramteters", OPERATION_FIELDS), " (did you mean `parameters`?)");
        assert_eq!(suggestion("minLenght", SCHEMA_KEYWORDS), " (did you mean `minLength`?)");
        assert_eq!(suggestion("zzzzzzzz", SCHEMA_KEYWORDS), "");
    }
}
