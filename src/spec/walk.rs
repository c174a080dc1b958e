//! Finds every schema and every example in an OpenAPI document by walking the places the
//! OpenAPI structure allows them (following `$ref`s into components and bundled files), so that
//! translation, validation and lint all agree on what is a schema.

use std::collections::HashSet;

use serde_json::Value;

use super::problem::join;
use super::source::resolve_local;

pub const METHODS: [&str; 9] = ["get", "put", "post", "delete", "options", "head", "patch", "trace", "query"];

/// Which way a payload travels: requests ignore `readOnly` requirements, responses `writeOnly` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    Request,
    Response,
}

/// An example value and the schema it must satisfy.
#[derive(Debug, Clone)]
pub struct ExampleSite {
    pub example: String,
    pub schema: String,
    pub flow: Flow,
    /// A response body example is served verbatim; other examples only illustrate.
    pub served: bool,
}

#[derive(Debug, Default)]
pub struct Positions {
    pub schemas: Vec<String>,
    pub examples: Vec<ExampleSite>,
    /// `$ref`s that point nowhere: (pointer of the `$ref` holder, reference text).
    pub broken_refs: Vec<(String, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    PathItem,
    Operation,
    Parameter,
    RequestBody,
    Response,
    Header,
    Media(Flow),
    Schema,
}

pub fn positions(doc: &Value) -> Positions {
    let mut w = Walker { doc, seen: HashSet::new(), out: Positions::default() };
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (p, item) in paths {
            w.visit(item, &join("/paths", p), Kind::PathItem, Flow::Request);
        }
    }
    if let Some(comp) = doc.get("components").and_then(Value::as_object) {
        let groups = [
            ("schemas", Kind::Schema),
            ("parameters", Kind::Parameter),
            ("requestBodies", Kind::RequestBody),
            ("responses", Kind::Response),
            ("headers", Kind::Header),
            ("pathItems", Kind::PathItem),
        ];
        for (name, kind) in groups {
            if let Some(map) = comp.get(name).and_then(Value::as_object) {
                let base = join("/components", name);
                for (k, v) in map {
                    let flow = if kind == Kind::Response || kind == Kind::Header { Flow::Response } else { Flow::Request };
                    w.visit(v, &join(&base, k), kind, flow);
                }
            }
        }
    }
    w.out
}

struct Walker<'a> {
    doc: &'a Value,
    seen: HashSet<(String, Kind)>,
    out: Positions,
}

impl<'a> Walker<'a> {
    fn visit(&mut self, v: &'a Value, pointer: &str, kind: Kind, flow: Flow) {
        if !self.seen.insert((pointer.to_string(), kind)) {
            return;
        }
        if let Some(r) = v.get("$ref").and_then(Value::as_str) {
            match resolve_local(self.doc, r) {
                Some(target) => {
                    let target_ptr = percent_encoding::percent_decode_str(r.trim_start_matches('#')).decode_utf8_lossy().into_owned();
                    if kind == Kind::Schema {
                        // A schema with a $ref is still a schema (siblings may constrain it).
                        self.out.schemas.push(pointer.to_string());
                    }
                    self.visit(target, &target_ptr, kind, flow);
                    if kind != Kind::Schema {
                        return;
                    }
                }
                None => {
                    self.out.broken_refs.push((pointer.to_string(), r.to_string()));
                    return;
                }
            }
            if kind == Kind::Schema {
                self.schema_children(v, pointer, flow);
            }
            return;
        }
        if !v.is_object() {
            if kind == Kind::Schema && v.is_boolean() {
                self.out.schemas.push(pointer.to_string());
            }
            return;
        }
        match kind {
            Kind::PathItem => {
                self.each(v.get("parameters"), &join(pointer, "parameters"), Kind::Parameter, Flow::Request);
                for m in METHODS {
                    if let Some(op) = v.get(m) {
                        self.visit(op, &join(pointer, m), Kind::Operation, flow);
                    }
                }
            }
            Kind::Operation => {
                self.each(v.get("parameters"), &join(pointer, "parameters"), Kind::Parameter, Flow::Request);
                if let Some(b) = v.get("requestBody") {
                    self.visit(b, &join(pointer, "requestBody"), Kind::RequestBody, Flow::Request);
                }
                if let Some(rs) = v.get("responses").and_then(Value::as_object) {
                    let base = join(pointer, "responses");
                    for (code, r) in rs {
                        if code.starts_with("x-") {
                            continue;
                        }
                        self.visit(r, &join(&base, code), Kind::Response, Flow::Response);
                    }
                }
            }
            Kind::Parameter | Kind::Header => {
                let f = if kind == Kind::Header { Flow::Response } else { Flow::Request };
                self.media_like(v, pointer, f);
            }
            Kind::RequestBody => self.content(v, pointer, Flow::Request),
            Kind::Response => {
                if let Some(hs) = v.get("headers").and_then(Value::as_object) {
                    let base = join(pointer, "headers");
                    for (h, hv) in hs {
                        self.visit(hv, &join(&base, h), Kind::Header, Flow::Response);
                    }
                }
                self.content(v, pointer, Flow::Response);
            }
            Kind::Media(f) => self.media_like(v, pointer, f),
            Kind::Schema => {
                self.out.schemas.push(pointer.to_string());
                self.schema_children(v, pointer, flow);
            }
        }
    }

    fn each(&mut self, list: Option<&'a Value>, pointer: &str, kind: Kind, flow: Flow) {
        if let Some(items) = list.and_then(Value::as_array) {
            for (i, item) in items.iter().enumerate() {
                self.visit(item, &format!("{pointer}/{i}"), kind, flow);
            }
        }
    }

    fn content(&mut self, v: &'a Value, pointer: &str, flow: Flow) {
        if let Some(content) = v.get("content").and_then(Value::as_object) {
            let base = join(pointer, "content");
            for (mt, media) in content {
                self.visit(media, &join(&base, mt), Kind::Media(flow), flow);
            }
        }
    }

    /// Media types, parameters and headers share `schema`, `example`, `examples` and `content`.
    fn media_like(&mut self, v: &'a Value, pointer: &str, flow: Flow) {
        self.content(v, pointer, flow);
        let Some(schema) = v.get("schema") else {
            return;
        };
        let schema_ptr = join(pointer, "schema");
        self.visit(schema, &schema_ptr, Kind::Schema, flow);
        let served = flow == Flow::Response && pointer.contains("/content/");
        if v.get("example").is_some() {
            self.out.examples.push(ExampleSite { example: join(pointer, "example"), schema: schema_ptr.clone(), flow, served });
        }
        if let Some(named) = v.get("examples").and_then(Value::as_object) {
            let base = join(pointer, "examples");
            for (name, ex) in named {
                let ex_ptr = join(&base, name);
                let (target, at) = super::source::deref(self.doc, ex, &ex_ptr);
                if target.get("value").is_some() {
                    self.out.examples.push(ExampleSite { example: join(&at, "value"), schema: schema_ptr.clone(), flow, served });
                }
            }
        }
    }

    fn schema_children(&mut self, v: &'a Value, pointer: &str, flow: Flow) {
        let Some(obj) = v.as_object() else { return };
        for key in ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"] {
            if let Some(map) = obj.get(key).and_then(Value::as_object) {
                let base = join(pointer, key);
                for (k, s) in map {
                    self.visit(s, &join(&base, k), Kind::Schema, flow);
                }
            }
        }
        for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
            self.each(obj.get(key), &join(pointer, key), Kind::Schema, flow);
        }
        for key in [
            "items",
            "additionalProperties",
            "additionalItems",
            "not",
            "if",
            "then",
            "else",
            "contains",
            "propertyNames",
            "unevaluatedItems",
            "unevaluatedProperties",
        ] {
            match obj.get(key) {
                Some(s @ Value::Object(_)) => self.visit(s, &join(pointer, key), Kind::Schema, flow),
                Some(Value::Array(_)) if key == "items" => self.each(obj.get(key), &join(pointer, key), Kind::Schema, flow),
                _ => {}
            }
        }
        if obj.get("example").is_some() {
            // A schema-level example depicts the whole resource, as a response carries it.
            self.out.examples.push(ExampleSite {
                example: join(pointer, "example"),
                schema: pointer.to_string(),
                flow: Flow::Response,
                served: false,
            });
        }
    }
}
