//! Compiles validators for schemas inside a loaded document. Both translated copies of the
//! document (request flow and response flow) sit in one shared registry, so a validator is built
//! from a one-line `$ref` to the schema's pointer and never copies the document.

use std::sync::Arc;

use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};

use super::walk::Flow;

pub struct SchemaSet {
    registry: Registry<'static>,
    uri: [String; 2],
    pub request_doc: Arc<Value>,
    pub response_doc: Arc<Value>,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet").field("uri", &self.uri).finish_non_exhaustive()
    }
}

impl SchemaSet {
    pub fn new(id: usize, request_doc: Value, response_doc: Value) -> Result<Self, String> {
        let request_doc = Arc::new(request_doc);
        let response_doc = Arc::new(response_doc);
        let uri = [format!("urn:specstub:spec-{id}:request"), format!("urn:specstub:spec-{id}:response")];
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(&uri[0], Arc::clone(&request_doc))
            .and_then(|b| b.add(&uri[1], Arc::clone(&response_doc)))
            .and_then(|b| b.prepare())
            .map_err(|e| format!("cannot index the document's schemas: {e}"))?;
        Ok(Self { registry, uri, request_doc, response_doc })
    }

    pub fn doc(&self, flow: Flow) -> &Value {
        match flow {
            Flow::Request => &self.request_doc,
            Flow::Response => &self.response_doc,
        }
    }

    /// Builds a validator for the schema at `pointer`. The error names what is wrong with the schema.
    pub fn compile(&self, flow: Flow, pointer: &str) -> Result<Validator, String> {
        let base = &self.uri[matches!(flow, Flow::Response) as usize];
        let fragment: String = pointer
            .bytes()
            .map(|b| match b {
                b'%' => "%25".to_string(),
                b' ' => "%20".to_string(),
                b'"' => "%22".to_string(),
                b'{' => "%7B".to_string(),
                b'}' => "%7D".to_string(),
                b'<' => "%3C".to_string(),
                b'>' => "%3E".to_string(),
                b'\\' => "%5C".to_string(),
                b'^' => "%5E".to_string(),
                b'`' => "%60".to_string(),
                b'|' => "%7C".to_string(),
                b'[' => "%5B".to_string(),
                b']' => "%5D".to_string(),
                b'#' => "%23".to_string(),
                b if b >= 0x80 => format!("%{b:02X}"),
                b => (b as char).to_string(),
            })
            .collect();
        let wrapper = json!({ "$ref": format!("{base}#{fragment}") });
        options().with_registry(&self.registry).build(&wrapper).map_err(|e| e.to_string())
    }
}

fn options() -> jsonschema::ValidationOptions<'static> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .with_format("int32", |s: &str| s.parse::<i32>().is_ok())
        .with_format("int64", |s: &str| s.parse::<i64>().is_ok())
        .with_format("uint32", |s: &str| s.parse::<u32>().is_ok())
        .with_format("uint64", |s: &str| s.parse::<u64>().is_ok())
        .with_format("float", |s: &str| s.parse::<f32>().is_ok())
        .with_format("double", |s: &str| s.parse::<f64>().is_ok())
}

/// Validates `instance`, collecting every violation as (JSON pointer into the instance, message).
/// A format complaint about a value of the wrong type says nothing new, so it is dropped.
pub fn violations(validator: &Validator, instance: &Value) -> Vec<(String, String)> {
    // Most instances are valid; `is_valid` answers that without building any error.
    if validator.is_valid(instance) {
        return Vec::new();
    }
    let all: Vec<(String, String, &'static str)> = validator
        .iter_errors(instance)
        .map(|e| {
            let keyword = match e.kind() {
                jsonschema::error::ValidationErrorKind::Type { .. } => "type",
                jsonschema::error::ValidationErrorKind::Format { .. } => "format",
                _ => "",
            };
            (e.instance_path().to_string(), e.to_string(), keyword)
        })
        .collect();
    all.iter()
        .filter(|(at, _, k)| *k != "format" || !all.iter().any(|(a, _, k2)| a == at && *k2 == "type"))
        .map(|(at, m, _)| (at.clone(), m.clone()))
        .collect()
}
