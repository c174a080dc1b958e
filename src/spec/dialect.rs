//! Turns OpenAPI schemas into plain JSON Schema (draft 2020-12) for the validator and the data
//! generator: OpenAPI 3.0's dialect (`nullable`, boolean `exclusiveMinimum`...) is translated,
//! 3.1 is kept as is, and each flow drops the requirements that do not apply to it (`readOnly`
//! properties are not required in requests, `writeOnly` ones not in responses), in one document
//! that records both flows' `required` lists ([`split_required`]). Numeric formats
//! become what the validator checks: ranges for `int32`/`int64`, a marker for `double`/`float`.

use serde_json::{Map, Value, json};

use super::problem::{lookup, lookup_mut};
use super::source::deref;
use super::walk::Flow;
pub use crate::generate::RESPONSE_REQUIRED;

/// Rewrites, in place, every schema found at `schemas` (JSON pointers into `doc`): the
/// flow-independent part.
pub fn translate_nodes(doc: &mut Value, schemas: &[String], openapi_30: bool) {
    for ptr in schemas {
        if let Some(Value::Object(obj)) = lookup_mut(doc, ptr) {
            translate_node(obj, openapi_30);
        }
    }
}

/// Records each flow's `required` list in the one document both flows read: `required` keeps
/// the names a request must carry (without `readOnly` properties; removed when none is left),
/// and where a response's list differs (without `writeOnly` ones) it sits beside it under
/// [`RESPONSE_REQUIRED`], which response validators and the response generator read instead.
/// Requests read exactly the lists they read when each flow had its own copy of the document.
pub fn split_required(doc: &mut Value, schemas: &[String]) {
    // Decide with the document unchanged, then patch: the required lists depend on other schemas.
    let mut patches = Vec::new();
    for ptr in schemas {
        let Some(schema) = lookup(doc, ptr) else {
            continue;
        };
        let request = relaxed_required(doc, schema, ptr, Flow::Request);
        let response = relaxed_required(doc, schema, ptr, Flow::Response);
        if request.is_none() && response.is_none() {
            continue;
        }
        let original = || schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
        let response = response.unwrap_or_else(original);
        patches.push((ptr.clone(), request, response));
    }
    for (ptr, request, response) in patches {
        if let Some(Value::Object(obj)) = lookup_mut(doc, &ptr) {
            match request {
                Some(req) if req.is_empty() => {
                    obj.remove("required");
                }
                Some(req) => {
                    obj.insert("required".into(), Value::Array(req));
                }
                None => {}
            }
            obj.insert(RESPONSE_REQUIRED.into(), Value::Array(response));
        }
    }
}

/// The `required` list without the properties this flow never carries, or None if unchanged.
fn relaxed_required(doc: &Value, schema: &Value, ptr: &str, flow: Flow) -> Option<Vec<Value>> {
    let required = schema.get("required")?.as_array()?;
    let props = schema.get("properties")?.as_object()?;
    let skip = match flow {
        Flow::Request => "readOnly",
        Flow::Response => "writeOnly",
    };
    let kept: Vec<Value> = required
        .iter()
        .filter(|name| {
            let Some(n) = name.as_str() else { return true };
            let Some(prop) = props.get(n) else {
                return true;
            };
            let (target, _) = deref(doc, prop, ptr);
            let flagged = |s: &Value| s.get(skip).and_then(Value::as_bool) == Some(true);
            !(flagged(prop) || flagged(target))
        })
        .cloned()
        .collect();
    (kept.len() != required.len()).then_some(kept)
}

/// Translates one schema object (not its children: the caller visits every schema).
pub fn translate_node(obj: &mut Map<String, Value>, openapi_30: bool) {
    // An empty `type:` in YAML means no type constraint.
    if obj.get("type").is_some_and(Value::is_null) {
        obj.remove("type");
    }
    // Swagger 2 leftovers that are clear in intent.
    if obj.get("type").and_then(Value::as_str) == Some("file") {
        obj.insert("type".into(), json!("string"));
        obj.insert("format".into(), json!("binary"));
    }
    for (bound, limit) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(Value::Bool(exclusive)) = obj.get(bound).cloned() {
            obj.remove(bound);
            if exclusive {
                if let Some(n) = obj.remove(limit) {
                    obj.insert(bound.into(), n);
                }
            }
        }
    }
    integer_format_bounds(obj);
    finite_format_marker(obj);
    // 3.1 documents may still carry `nullable` (a common leftover); its intent is unambiguous.
    match obj.remove("nullable") {
        Some(Value::Bool(true)) => make_nullable(obj),
        Some(other) if !openapi_30 && !other.is_boolean() => {
            obj.insert("nullable".into(), other);
        }
        _ => {}
    }
}

fn make_nullable(obj: &mut Map<String, Value>) {
    match obj.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            obj.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(ts)) => {
            if !ts.iter().any(|t| t == "null") {
                ts.push(json!("null"));
            }
        }
        _ => {
            if obj.contains_key("$ref") || obj.contains_key("allOf") || obj.contains_key("oneOf") || obj.contains_key("anyOf") {
                // `nullable` beside a composition: null or whatever the composition accepts.
                let mut inner = Map::new();
                for k in ["$ref", "allOf", "oneOf", "anyOf"] {
                    if let Some(v) = obj.remove(k) {
                        inner.insert(k.into(), v);
                    }
                }
                obj.insert("anyOf".into(), json!([Value::Object(inner), {"type": "null"}]));
            }
            return;
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        if !values.iter().any(Value::is_null) {
            values.push(Value::Null);
        }
    }
}

/// The keyword that [`finite_format_marker`] adds for the validator to check.
pub const FINITE: &str = "x-specstub-finite";

/// `format: int32/int64` on an integer is a range the validator would otherwise not check.
fn integer_format_bounds(obj: &mut Map<String, Value>) {
    // `type: number, format: int32` is common in the wild and means the same range.
    let is_numeric = match obj.get("type") {
        Some(Value::String(t)) => t == "integer" || t == "number",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer" || t == "number"),
        _ => false,
    };
    if !is_numeric {
        return;
    }
    let (min, max): (Value, Value) = match obj.get("format").and_then(Value::as_str) {
        Some("int32") => (json!(i32::MIN), json!(i32::MAX)),
        Some("int64") => (json!(i64::MIN), json!(i64::MAX)),
        Some("uint32") => (json!(0), json!(u32::MAX)),
        Some("uint64") => (json!(0), json!(u64::MAX)),
        _ => return,
    };
    if !obj.contains_key("minimum") && !obj.contains_key("exclusiveMinimum") {
        obj.insert("minimum".into(), min);
    }
    if !obj.contains_key("maximum") && !obj.contains_key("exclusiveMaximum") {
        obj.insert("maximum".into(), max);
    }
}

/// `format: double` and `format: float` name a binary type with a finite range, but JSON Schema
/// checks formats on strings only, and numbers arrive as their exact text (`1e400`): the marker
/// lets the validator refuse one that the format's type cannot hold, instead of echoing it.
fn finite_format_marker(obj: &mut Map<String, Value>) {
    if let Some(f @ ("double" | "float")) = obj.get("format").and_then(Value::as_str) {
        let f = f.to_string();
        obj.insert(FINITE.into(), Value::String(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(v: Value, is_30: bool) -> Value {
        let Value::Object(mut m) = v else { panic!("object expected") };
        translate_node(&mut m, is_30);
        Value::Object(m)
    }

    #[test]
    fn nullable_adds_null_to_type_and_enum() {
        let out = node(json!({"type": "string", "nullable": true, "enum": ["a"]}), true);
        assert_eq!(out, json!({"type": ["string", "null"], "enum": ["a", null]}));
    }

    #[test]
    fn nullable_beside_a_ref_accepts_null_or_the_ref() {
        let out = node(json!({"nullable": true, "allOf": [{"$ref": "#/x"}], "description": "d"}), true);
        assert_eq!(out, json!({"description": "d", "anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]}));
    }

    #[test]
    fn nullable_false_is_dropped() {
        assert_eq!(node(json!({"type": "integer", "nullable": false}), true), json!({"type": "integer"}));
    }

    #[test]
    fn boolean_exclusive_bounds_become_numeric() {
        let out = node(json!({"type": "number", "minimum": 1, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false}), true);
        assert_eq!(out, json!({"type": "number", "maximum": 9, "exclusiveMinimum": 1}));
    }

    #[test]
    fn numeric_exclusive_bounds_of_31_are_kept() {
        let v = json!({"type": "number", "exclusiveMinimum": 0});
        assert_eq!(node(v.clone(), false), v);
    }

    #[test]
    fn int32_format_adds_range() {
        let out = node(json!({"type": "integer", "format": "int32"}), true);
        assert_eq!(out["maximum"], json!(i32::MAX));
        assert_eq!(out["minimum"], json!(i32::MIN));
    }

    #[test]
    fn integer_formats_bound_numbers_too_and_binary_float_formats_are_marked() {
        let out = node(json!({"type": "number", "format": "int64"}), true);
        assert_eq!((&out["minimum"], &out["maximum"]), (&json!(i64::MIN), &json!(i64::MAX)));
        assert_eq!(node(json!({"type": "number", "format": "double"}), true)[FINITE], "double");
        assert_eq!(node(json!({"format": "float"}), false)[FINITE], "float");
        assert!(node(json!({"type": "string", "format": "date"}), false).get(FINITE).is_none());
    }

    #[test]
    fn swagger_file_type_becomes_binary_string() {
        assert_eq!(node(json!({"type": "file"}), true), json!({"type": "string", "format": "binary"}));
    }

    #[test]
    fn read_only_properties_are_not_required_in_requests_and_write_only_ones_not_in_responses() {
        // Arrange
        let mut doc = json!({"components": {"schemas": {
            "Id": {"type": "string", "readOnly": true},
            "Run": {"type": "object", "required": ["id", "name", "ref", "secret"], "properties": {
                "id": {"type": "string", "readOnly": true},
                "ref": {"$ref": "#/components/schemas/Id"},
                "name": {"type": "string"},
                "secret": {"type": "string", "writeOnly": true}
            }},
            "Login": {"type": "object", "required": ["password"], "properties": {"password": {"type": "string", "writeOnly": true}}},
            "IdOnly": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "readOnly": true}}},
            "Plain": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
        }}});
        let ptrs: Vec<String> = ["Run", "Login", "IdOnly", "Plain"].iter().map(|n| format!("/components/schemas/{n}")).collect();
        // Act
        translate_nodes(&mut doc, &ptrs, true);
        split_required(&mut doc, &ptrs);
        // Assert
        let run = &doc["components"]["schemas"]["Run"];
        assert_eq!((&run["required"], &run[RESPONSE_REQUIRED]), (&json!(["name", "secret"]), &json!(["id", "name", "ref"])));
        let login = &doc["components"]["schemas"]["Login"];
        assert_eq!((&login["required"], &login[RESPONSE_REQUIRED]), (&json!(["password"]), &json!([])));
        let id = &doc["components"]["schemas"]["IdOnly"];
        assert_eq!((id.get("required"), &id[RESPONSE_REQUIRED]), (None, &json!(["id"])), "a request requires nothing: no list, as before");
        let plain = &doc["components"]["schemas"]["Plain"];
        assert_eq!((&plain["required"], plain.get(RESPONSE_REQUIRED)), (&json!(["name"]), None), "the same in both flows: one list");
    }
}
