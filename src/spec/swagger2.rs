//! Reads Swagger 2.0 documents by converting them, at load, into the OpenAPI 3.0.3 form the rest
//! of the engine serves: bodies and form fields become request bodies, `produces` and `consumes`
//! become content maps, definitions become components. What cannot be carried over exactly is
//! reported as a warning that points into the original document.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::problem::{Problem, join};
use super::source::{BUNDLE_KEY, deref};

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Keys of a non-body parameter, a form field, an `items` object or a header that describe the
/// value, and so move into its `schema`.
const SCHEMA_KEYS: [&str; 16] = [
    "type",
    "format",
    "items",
    "default",
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
    "enum",
    "multipleOf",
];

/// Keys whose values are data, not document structure: nothing inside them is rewritten.
const DATA_KEYS: [&str; 7] = ["example", "examples", "default", "enum", "const", "x-example", "x-examples"];

/// Keys whose values map names to objects: there a key is a name, never a keyword.
const NAME_MAPS: [&str; 9] =
    ["properties", "patternProperties", "definitions", "schemas", "responses", "parameters", "headers", "paths", "securitySchemes"];

const FORM: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data";
const JSON: &str = "application/json";

/// Whether `doc` is a Swagger 2.0 document (the version written as a string or, unquoted in YAML,
/// as a number).
pub(crate) fn is_swagger2(doc: &Value) -> bool {
    doc.get("openapi").is_none()
        && match doc.get("swagger") {
            Some(Value::String(v)) => v == "2.0",
            Some(Value::Number(n)) => n.as_f64() == Some(2.0),
            _ => false,
        }
}

/// Converts a Swagger 2.0 document to OpenAPI 3.0.3. Only a document that is not a mapping cannot
/// be converted; everything else converts, with a warning for each part that is dropped or changed
/// in meaning.
pub(crate) fn convert(doc: &Value, file: &Path, problems: &mut Vec<Problem>) -> Option<Value> {
    let Some(obj) = doc.as_object() else {
        problems.push(Problem::error(file, "", "the document is not a mapping of Swagger fields"));
        return None;
    };
    if obj.get("swagger").is_some_and(Value::is_number) {
        problems.push(Problem::warning(file, "/swagger", "the version should be a string (quote it)"));
    }
    let mut c = Converter { root: doc, file, problems, consumes: Vec::new(), produces: Vec::new() };
    c.consumes = c.media_types(obj.get("consumes"), "/consumes").unwrap_or_default();
    c.produces = c.media_types(obj.get("produces"), "/produces").unwrap_or_default();

    let mut out = Map::new();
    out.insert("openapi".into(), "3.0.3".into());
    let mut components = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "swagger" | "host" | "basePath" | "schemes" | "consumes" | "produces" => {}
            "info" | "tags" | "security" | "externalDocs" => {
                out.insert(k.clone(), v.clone());
            }
            "paths" => {
                let paths = c.paths(v);
                out.insert("paths".into(), paths);
            }
            "definitions" => {
                let mut schemas = v.clone();
                fix_schemas_in(&mut schemas, true);
                components.insert("schemas".into(), schemas);
            }
            "parameters" => {
                let params = c.global_parameters(v);
                if !params.is_empty() {
                    components.insert("parameters".into(), Value::Object(params));
                }
            }
            "responses" => {
                let mut responses = Map::new();
                for (name, raw) in v.as_object().into_iter().flatten() {
                    let (r, at) = deref(c.root, raw, &join("/responses", name));
                    let produces = c.produces.clone();
                    responses.insert(name.clone(), c.response(r, &at, &produces));
                }
                components.insert("responses".into(), Value::Object(responses));
            }
            "securityDefinitions" => {
                let mut schemes = Map::new();
                for (name, raw) in v.as_object().into_iter().flatten() {
                    let (s, at) = deref(c.root, raw, &join("/securityDefinitions", name));
                    schemes.insert(name.clone(), c.security_scheme(s, &at));
                }
                components.insert("securitySchemes".into(), Value::Object(schemes));
            }
            _ if k.starts_with("x-") => {
                let mut ext = v.clone();
                if k == BUNDLE_KEY {
                    // Files referenced from this one are written in Swagger 2.0 too.
                    fix_schemas_in(&mut ext, true);
                }
                out.insert(k.clone(), ext);
            }
            _ => c.warn(join("", k), format!("unknown Swagger 2.0 field `{k}`: ignored")),
        }
    }
    if let Some(servers) = c.servers(obj) {
        out.insert("servers".into(), servers);
    }
    if !components.is_empty() {
        out.insert("components".into(), Value::Object(components));
    }
    let mut out = Value::Object(out);
    rewrite_refs(&mut out, false);
    Some(out)
}

/// A parameter as the document writes it (`raw`, maybe a `$ref`) and as it resolves.
struct Param<'a> {
    raw: &'a Value,
    p: &'a Map<String, Value>,
    at: String,
    name: String,
    location: String,
}

struct Converter<'a> {
    root: &'a Value,
    file: &'a Path,
    problems: &'a mut Vec<Problem>,
    consumes: Vec<String>,
    produces: Vec<String>,
}

impl<'a> Converter<'a> {
    fn warn(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::warning(self.file, pointer, message));
    }

    fn media_types(&mut self, v: Option<&Value>, ptr: &str) -> Option<Vec<String>> {
        let v = v?;
        match v.as_array() {
            Some(list) => Some(list.iter().filter_map(Value::as_str).map(String::from).collect()),
            None => {
                self.warn(ptr, "should be a list of media types: ignored");
                None
            }
        }
    }

    /// `host`, `basePath` and `schemes` as server URLs; only the path part decides where
    /// operations are served.
    fn servers(&mut self, obj: &Map<String, Value>) -> Option<Value> {
        let host = obj.get("host").and_then(Value::as_str).filter(|h| !h.is_empty());
        let mut base = obj.get("basePath").and_then(Value::as_str).unwrap_or("").trim_end_matches('/').to_string();
        if !base.is_empty() && !base.starts_with('/') {
            self.warn("/basePath", "the base path should start with '/': served with one added");
            base.insert(0, '/');
        }
        let Some(host) = host else {
            return obj.contains_key("basePath").then(|| json!([{"url": if base.is_empty() { "/" } else { &base }}]));
        };
        let host = host.trim_end_matches('/');
        if host.contains('/') {
            self.warn("/host", "the host should be a name and port only, without scheme or path");
        }
        let schemes: Vec<&str> = obj.get("schemes").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let schemes = if schemes.is_empty() { vec!["https"] } else { schemes };
        Some(Value::Array(schemes.iter().map(|s| json!({"url": format!("{s}://{host}{base}")})).collect()))
    }

    fn paths(&mut self, paths: &'a Value) -> Value {
        let Some(obj) = paths.as_object() else {
            self.warn("/paths", "`paths` should be a mapping: nothing is served");
            return json!({});
        };
        let mut out = Map::new();
        for (path, raw) in obj {
            if path.starts_with("x-") {
                out.insert(path.clone(), raw.clone());
                continue;
            }
            let (item, at) = deref(self.root, raw, &join("/paths", path));
            out.insert(path.clone(), self.path_item(item, &at));
        }
        Value::Object(out)
    }

    fn path_item(&mut self, item: &'a Value, at: &str) -> Value {
        let Some(obj) = item.as_object() else {
            self.warn(at, "a path item should be a mapping: ignored");
            return json!({});
        };
        let shared = self.parameters(obj.get("parameters"), &join(at, "parameters"));
        let mut out = Map::new();
        for (k, v) in obj {
            match k.as_str() {
                "parameters" => {
                    let list = self.plain_parameters(&shared);
                    if !list.is_empty() {
                        out.insert(k.clone(), Value::Array(list));
                    }
                }
                // Still a reference: it did not resolve, which the load reports.
                "$ref" => {
                    out.insert(k.clone(), v.clone());
                }
                m if METHODS.contains(&m) => {
                    if let Some(op) = v.as_object() {
                        let op = self.operation(op, &join(at, m), &shared);
                        out.insert(k.clone(), op);
                    } else {
                        self.warn(join(at, m), "an operation should be a mapping: ignored");
                    }
                }
                _ if k.starts_with("x-") => {
                    out.insert(k.clone(), v.clone());
                }
                _ => self.warn(join(at, k), format!("unknown field `{k}` in a path item: ignored")),
            }
        }
        Value::Object(out)
    }

    fn parameters(&mut self, list: Option<&'a Value>, base: &str) -> Vec<Param<'a>> {
        let Some(list) = list else { return Vec::new() };
        let Some(items) = list.as_array() else {
            self.warn(base, "`parameters` should be a list: ignored");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, raw) in items.iter().enumerate() {
            let (p, at) = deref(self.root, raw, &format!("{base}/{i}"));
            let named = p.as_object().and_then(|o| Some((o, o.get("name")?.as_str()?, o.get("in")?.as_str()?)));
            let Some((p, name, location)) = named else {
                match p.as_object().filter(|o| o.contains_key("$ref")) {
                    // An unresolved reference is kept so that the load reports it.
                    Some(p) => out.push(Param { raw, p, at, name: String::new(), location: String::new() }),
                    None => self.warn(at, "a parameter needs a `name` and an `in`: ignored"),
                }
                continue;
            };
            if !matches!(location, "query" | "header" | "path" | "body" | "formData") {
                self.warn(join(&at, "in"), format!("Swagger 2.0 has no `in: {location}` parameters: ignored"));
                continue;
            }
            out.push(Param { raw, p, at, name: name.to_string(), location: location.to_string() });
        }
        out
    }

    /// The parameters that stay parameters in OpenAPI 3 (query, header, path).
    fn plain_parameters(&mut self, params: &[Param]) -> Vec<Value> {
        let mut out = Vec::new();
        for prm in params.iter().filter(|p| !matches!(p.location.as_str(), "body" | "formData")) {
            let local_ref = prm.raw.get("$ref").and_then(Value::as_str).is_some_and(|r| r.starts_with("#/parameters/"));
            if local_ref || prm.location.is_empty() {
                out.push(prm.raw.clone());
            } else {
                out.push(self.plain_parameter(prm));
            }
        }
        out
    }

    fn global_parameters(&mut self, v: &'a Value) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, raw) in v.as_object().into_iter().flatten() {
            let (p, at) = deref(self.root, raw, &join("/parameters", name));
            let Some(obj) = p.as_object() else { continue };
            let (Some(pname), Some(location)) = (obj.get("name").and_then(Value::as_str), obj.get("in").and_then(Value::as_str)) else {
                self.warn(at, "a parameter needs a `name` and an `in`: ignored");
                continue;
            };
            // Bodies and form fields become request bodies where they are used.
            if matches!(location, "query" | "header" | "path") {
                let prm = Param { raw, p: obj, at, name: pname.to_string(), location: location.to_string() };
                out.insert(name.clone(), self.plain_parameter(&prm));
            }
        }
        out
    }

    fn plain_parameter(&mut self, prm: &Param) -> Value {
        let mut out = Map::new();
        out.insert("name".into(), prm.name.clone().into());
        out.insert("in".into(), prm.location.clone().into());
        let mut schema = self.simple_schema(prm.p, &prm.at);
        for (k, v) in prm.p {
            match k.as_str() {
                "name" | "in" | "collectionFormat" | "x-nullable" => {}
                "description" | "required" | "deprecated" => {
                    out.insert(k.clone(), v.clone());
                }
                "allowEmptyValue" if prm.location == "query" => {
                    out.insert(k.clone(), v.clone());
                }
                "allowEmptyValue" => {}
                "x-example" => {
                    out.insert("example".into(), v.clone());
                }
                // Not Swagger 2.0, but its meaning is plain.
                "schema" => {
                    schema = v.clone();
                    fix_schemas_in(&mut schema, false);
                }
                _ if SCHEMA_KEYS.contains(&k.as_str()) => {}
                _ if k.starts_with("x-") => {
                    out.insert(k.clone(), v.clone());
                }
                _ => self.warn(join(&prm.at, k), format!("unknown field `{k}` in a parameter: ignored")),
            }
        }
        if prm.p.get("type").and_then(Value::as_str) == Some("file") {
            self.warn(join(&prm.at, "type"), "`type: file` is only for formData parameters: read as a binary string");
        }
        if prm.location == "path" {
            out.insert("required".into(), true.into());
        }
        if schema.get("type").and_then(Value::as_str) == Some("array") {
            let format = prm.p.get("collectionFormat").and_then(Value::as_str);
            let (style, explode) = self.style(format, &prm.location, &join(&prm.at, "collectionFormat"));
            out.insert("style".into(), style.into());
            out.insert("explode".into(), explode.into());
        }
        out.insert("schema".into(), schema);
        Value::Object(out)
    }

    /// The schema that the type keys of a parameter, form field, header or `items` describe.
    fn simple_schema(&mut self, p: &Map<String, Value>, at: &str) -> Value {
        let mut schema = Map::new();
        for k in SCHEMA_KEYS {
            let Some(v) = p.get(k) else { continue };
            let v = match k {
                "items" => match v.as_object() {
                    Some(items) => {
                        let items_at = join(at, "items");
                        if items.get("collectionFormat").and_then(Value::as_str).is_some_and(|f| f != "csv") {
                            self.warn(join(&items_at, "collectionFormat"), "nested arrays are read with comma-separated inner values only");
                        }
                        self.simple_schema(items, &items_at)
                    }
                    None => v.clone(),
                },
                "type" if v.as_str() == Some("file") => {
                    schema.insert("format".into(), "binary".into());
                    "string".into()
                }
                _ => v.clone(),
            };
            schema.insert(k.to_string(), v);
        }
        if p.get("x-nullable").and_then(Value::as_bool) == Some(true) {
            schema.insert("nullable".into(), true.into());
        }
        Value::Object(schema)
    }

    /// OpenAPI 3's `style` and `explode` for a Swagger 2.0 `collectionFormat` (csv when absent).
    fn style(&mut self, format: Option<&str>, location: &str, ptr: &str) -> (&'static str, bool) {
        let repeated_ok = matches!(location, "query" | "formData");
        let plain = if repeated_ok { ("form", false) } else { ("simple", false) };
        match format.unwrap_or("csv") {
            "csv" => plain,
            "multi" if repeated_ok => ("form", true),
            "ssv" if repeated_ok => ("spaceDelimited", false),
            "pipes" if repeated_ok => ("pipeDelimited", false),
            "tsv" => {
                self.warn(ptr, "tab-separated values have no OpenAPI 3 style: read as comma-separated");
                plain
            }
            f @ ("multi" | "ssv" | "pipes") => {
                self.warn(ptr, format!("`{f}` is only possible in the query in OpenAPI 3: read as comma-separated"));
                plain
            }
            other => {
                self.warn(ptr, format!("unknown collectionFormat {other:?}: read as comma-separated"));
                plain
            }
        }
    }

    fn operation(&mut self, obj: &'a Map<String, Value>, ptr: &str, shared: &[Param<'a>]) -> Value {
        let own_consumes = self.media_types(obj.get("consumes"), &join(ptr, "consumes"));
        let own_produces = self.media_types(obj.get("produces"), &join(ptr, "produces"));
        let consumes = own_consumes.unwrap_or_else(|| self.consumes.clone());
        let inline_responses = own_produces.as_ref().is_some_and(|p| *p != self.produces);
        let produces = own_produces.unwrap_or_else(|| self.produces.clone());
        let own = self.parameters(obj.get("parameters"), &join(ptr, "parameters"));

        // An operation's parameter overrides the path item's of the same name and place; a body
        // parameter overrides the path item's body whatever their names.
        let own_body = own.iter().any(|p| p.location == "body");
        let inherited = shared.iter().filter(|p| {
            matches!(p.location.as_str(), "body" | "formData")
                && !(p.location == "body" && own_body)
                && !own.iter().any(|q| q.name == p.name && q.location == p.location)
        });
        let payload: Vec<&Param> = inherited.chain(own.iter().filter(|p| matches!(p.location.as_str(), "body" | "formData"))).collect();
        let bodies: Vec<&Param> = payload.iter().copied().filter(|p| p.location == "body").collect();
        let fields: Vec<&Param> = payload.iter().copied().filter(|p| p.location == "formData").collect();
        for extra in bodies.iter().skip(1) {
            self.warn(extra.at.clone(), "only one body parameter is allowed: this one is ignored");
        }
        let body = match (bodies.first(), fields.is_empty()) {
            (Some(b), empty) => {
                if !empty {
                    self.warn(fields[0].at.clone(), "body and formData parameters exclude each other: the formData ones are ignored");
                }
                Some(self.body_request(b, &consumes))
            }
            (None, false) => Some(self.form_request(&fields, &consumes)),
            (None, true) => None,
        };

        let mut out = Map::new();
        for (k, v) in obj {
            match k.as_str() {
                "tags" | "summary" | "description" | "externalDocs" | "operationId" | "deprecated" | "security" => {
                    out.insert(k.clone(), v.clone());
                }
                "parameters" => {
                    let list = self.plain_parameters(&own);
                    if !list.is_empty() {
                        out.insert(k.clone(), Value::Array(list));
                    }
                }
                "responses" => {
                    let responses = self.responses(v, &join(ptr, k), &produces, inline_responses);
                    out.insert(k.clone(), responses);
                }
                // Per-operation schemes only change the URL scheme, which a mock does not serve by.
                "consumes" | "produces" | "schemes" => {}
                _ if k.starts_with("x-") => {
                    out.insert(k.clone(), v.clone());
                }
                _ => self.warn(join(ptr, k), format!("unknown field `{k}` in an operation: ignored")),
            }
        }
        if let Some(body) = body {
            out.insert("requestBody".into(), body);
        }
        Value::Object(out)
    }

    fn body_request(&mut self, prm: &Param, consumes: &[String]) -> Value {
        let mut out = Map::new();
        let mut schema = None;
        for (k, v) in prm.p {
            match k.as_str() {
                "name" | "in" | "x-examples" | "x-example" => {}
                "description" | "required" => {
                    out.insert(k.clone(), v.clone());
                }
                "schema" => {
                    let mut s = v.clone();
                    fix_schemas_in(&mut s, false);
                    schema = Some(s);
                }
                _ if k.starts_with("x-") => {
                    out.insert(k.clone(), v.clone());
                }
                _ => self.warn(join(&prm.at, k), format!("unknown field `{k}` in a body parameter: ignored")),
            }
        }
        if schema.is_none() {
            self.warn(prm.at.clone(), "a body parameter without a `schema`: any body is accepted");
        }
        let types = if consumes.is_empty() { vec![JSON.to_string()] } else { consumes.to_vec() };
        let mut content = Map::new();
        for mt in &types {
            let mut media = Map::new();
            if let Some(s) = &schema {
                media.insert("schema".into(), s.clone());
            }
            if let Some(ex) = prm.p.get("x-example") {
                media.insert("example".into(), ex.clone());
            }
            content.insert(mt.clone(), Value::Object(media));
        }
        for (key, ex) in prm.p.get("x-examples").and_then(Value::as_object).into_iter().flatten() {
            if key.contains('/') {
                match content.get_mut(key).and_then(Value::as_object_mut) {
                    Some(media) => {
                        media.insert("example".into(), ex.clone());
                    }
                    None => self.warn(
                        join(&join(&prm.at, "x-examples"), key),
                        "an example for a media type the operation does not consume: ignored",
                    ),
                }
            } else {
                // Not keyed by media type: named examples of every media type.
                for media in content.values_mut().filter_map(Value::as_object_mut) {
                    let named = media.entry("examples").or_insert_with(|| json!({}));
                    named[key] = json!({"value": ex});
                }
            }
        }
        out.insert("content".into(), Value::Object(content));
        Value::Object(out)
    }

    fn form_request(&mut self, fields: &[&Param], consumes: &[String]) -> Value {
        let has_file = fields.iter().any(|f| f.p.get("type").and_then(Value::as_str) == Some("file"));
        let mut types: Vec<&str> = if has_file {
            vec![MULTIPART]
        } else {
            consumes.iter().map(String::as_str).filter(|m| matches!(*m, FORM | MULTIPART)).collect()
        };
        if types.is_empty() {
            types.push(FORM);
        }
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut encoding = Map::new();
        for f in fields {
            let mut schema = self.simple_schema(f.p, &f.at);
            for (k, v) in f.p {
                match k.as_str() {
                    "name" | "in" | "collectionFormat" | "x-nullable" | "allowEmptyValue" => {}
                    "description" => schema["description"] = v.clone(),
                    "x-example" => schema["example"] = v.clone(),
                    "required" => {
                        if v.as_bool() == Some(true) {
                            required.push(Value::from(f.name.clone()));
                        }
                    }
                    _ if SCHEMA_KEYS.contains(&k.as_str()) || k.starts_with("x-") => {}
                    _ => self.warn(join(&f.at, k), format!("unknown field `{k}` in a formData parameter: ignored")),
                }
            }
            if schema.get("type").and_then(Value::as_str) == Some("array") {
                let format = f.p.get("collectionFormat").and_then(Value::as_str);
                let (style, explode) = self.style(format, "formData", &join(&f.at, "collectionFormat"));
                encoding.insert(f.name.clone(), json!({"style": style, "explode": explode}));
            }
            properties.insert(f.name.clone(), schema);
        }
        let mut schema = json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            schema["required"] = Value::Array(required.clone());
        }
        let mut content = Map::new();
        for mt in types {
            let mut media = json!({"schema": schema});
            // `style` in an encoding applies to url-encoded forms only.
            if mt == FORM && !encoding.is_empty() {
                media["encoding"] = Value::Object(encoding.clone());
            }
            content.insert(mt.to_string(), media);
        }
        json!({"required": !required.is_empty(), "content": content})
    }

    fn responses(&mut self, v: &'a Value, ptr: &str, produces: &[String], inline_refs: bool) -> Value {
        let Some(obj) = v.as_object() else {
            self.warn(ptr, "`responses` should be a mapping: ignored");
            return json!({});
        };
        let mut out = Map::new();
        for (code, raw) in obj {
            if code.starts_with("x-") {
                out.insert(code.clone(), raw.clone());
                continue;
            }
            let local_ref = raw.get("$ref").and_then(Value::as_str).is_some_and(|r| r.starts_with("#/responses/"));
            let (r, at) = deref(self.root, raw, &join(ptr, code));
            // A shared response was converted with the document's media types; another list
            // needs its own copy.
            let value = if (local_ref && !inline_refs) || r.get("$ref").is_some() { raw.clone() } else { self.response(r, &at, produces) };
            out.insert(code.clone(), value);
        }
        Value::Object(out)
    }

    fn response(&mut self, r: &Value, at: &str, produces: &[String]) -> Value {
        let Some(obj) = r.as_object() else {
            self.warn(at, "a response should be a mapping: ignored");
            return json!({"description": ""});
        };
        let types = if produces.is_empty() { vec![JSON.to_string()] } else { produces.to_vec() };
        let schema = obj.get("schema").map(|s| {
            let mut s = s.clone();
            fix_schemas_in(&mut s, false);
            s
        });
        let mut out = Map::new();
        let mut content = Map::new();
        if let Some(s) = &schema {
            for mt in &types {
                content.insert(mt.clone(), json!({"schema": s}));
            }
        }
        for (k, v) in obj {
            match k.as_str() {
                "schema" => {}
                "description" => {
                    out.insert(k.clone(), v.clone());
                }
                "examples" => {
                    for (mt, ex) in v.as_object().into_iter().flatten() {
                        let media = content.entry(mt.clone()).or_insert_with(|| match &schema {
                            Some(s) => json!({"schema": s}),
                            None => json!({}),
                        });
                        media["example"] = ex.clone();
                    }
                }
                "headers" => {
                    let mut headers = Map::new();
                    for (name, h) in v.as_object().into_iter().flatten() {
                        let header = self.header(h, &join(&join(at, "headers"), name));
                        headers.insert(name.clone(), header);
                    }
                    out.insert(k.clone(), Value::Object(headers));
                }
                _ if k.starts_with("x-") => {
                    out.insert(k.clone(), v.clone());
                }
                _ => self.warn(join(at, k), format!("unknown field `{k}` in a response: ignored")),
            }
        }
        if !content.is_empty() {
            out.insert("content".into(), Value::Object(content));
        }
        Value::Object(out)
    }

    fn header(&mut self, h: &Value, at: &str) -> Value {
        let Some(obj) = h.as_object() else {
            self.warn(at, "a header should be a mapping: ignored");
            return json!({"schema": {}});
        };
        let mut out = Map::new();
        for (k, v) in obj {
            match k.as_str() {
                "description" => {
                    out.insert(k.clone(), v.clone());
                }
                "x-example" => {
                    out.insert("example".into(), v.clone());
                }
                "collectionFormat" => {
                    if v.as_str() != Some("csv") {
                        self.warn(join(at, k), "headers are comma-separated in OpenAPI 3: read as csv");
                    }
                }
                "x-nullable" => {}
                _ if SCHEMA_KEYS.contains(&k.as_str()) => {}
                _ if k.starts_with("x-") => {
                    out.insert(k.clone(), v.clone());
                }
                _ => self.warn(join(at, k), format!("unknown field `{k}` in a header: ignored")),
            }
        }
        out.insert("schema".into(), self.simple_schema(obj, at));
        Value::Object(out)
    }

    fn security_scheme(&mut self, s: &Value, at: &str) -> Value {
        let Some(obj) = s.as_object() else {
            self.warn(at, "a security scheme should be a mapping: ignored");
            return json!({});
        };
        let mut out = Map::new();
        for (k, v) in obj {
            if k == "description" || k.starts_with("x-") {
                out.insert(k.clone(), v.clone());
            }
        }
        match obj.get("type").and_then(Value::as_str) {
            Some("basic") => {
                out.insert("type".into(), "http".into());
                out.insert("scheme".into(), "basic".into());
            }
            Some("apiKey") => {
                for k in ["type", "name", "in"] {
                    if let Some(v) = obj.get(k) {
                        out.insert(k.into(), v.clone());
                    }
                }
            }
            Some("oauth2") => {
                out.insert("type".into(), "oauth2".into());
                let flow = obj.get("flow").and_then(Value::as_str);
                let (name, urls): (&str, &[&str]) = match flow {
                    Some("implicit") => ("implicit", &["authorizationUrl"]),
                    Some("password") => ("password", &["tokenUrl"]),
                    Some("application") => ("clientCredentials", &["tokenUrl"]),
                    Some("accessCode") => ("authorizationCode", &["authorizationUrl", "tokenUrl"]),
                    other => {
                        self.warn(join(at, "flow"), format!("unknown OAuth2 flow {other:?}: no flow is described"));
                        out.insert("flows".into(), json!({}));
                        return Value::Object(out);
                    }
                };
                let mut f = Map::new();
                for u in urls {
                    f.insert(u.to_string(), obj.get(*u).cloned().unwrap_or_else(|| "".into()));
                }
                f.insert("scopes".into(), obj.get("scopes").cloned().unwrap_or_else(|| json!({})));
                out.insert("flows".into(), json!({ name: f }));
            }
            other => {
                self.warn(join(at, "type"), format!("unknown security scheme type {other:?}: kept as written"));
                return s.clone();
            }
        }
        Value::Object(out)
    }
}

/// Rewrites what Swagger 2.0 schemas say differently from OpenAPI 3.0 ones, everywhere under `v`
/// (`names`: the keys of `v` are names, not keywords).
fn fix_schemas_in(v: &mut Value, names: bool) {
    match v {
        Value::Object(obj) => {
            if !names {
                if let Some(nullable) = obj.remove("x-nullable") {
                    if nullable.as_bool() == Some(true) {
                        obj.insert("nullable".into(), true.into());
                    }
                }
                if obj.get("type").and_then(Value::as_str) == Some("file") {
                    obj.insert("type".into(), "string".into());
                    obj.insert("format".into(), "binary".into());
                }
                if let Some(Value::String(property)) = obj.get("discriminator") {
                    let object = json!({"propertyName": property});
                    obj.insert("discriminator".into(), object);
                }
            }
            for (k, child) in obj.iter_mut() {
                if !names && (DATA_KEYS.contains(&k.as_str()) || (k.starts_with("x-") && k != BUNDLE_KEY)) {
                    continue;
                }
                fix_schemas_in(child, !names && NAME_MAPS.contains(&k.as_str()));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| fix_schemas_in(i, false)),
        _ => {}
    }
}

/// Points references to Swagger 2.0's shared sections at their OpenAPI 3 components.
fn rewrite_refs(v: &mut Value, names: bool) {
    match v {
        Value::Object(obj) => {
            for (k, child) in obj.iter_mut() {
                if !names && k == "$ref" {
                    if let Value::String(r) = child {
                        if let Some(new) = component_ref(r) {
                            *r = new;
                        }
                    }
                    continue;
                }
                if !names && (DATA_KEYS.contains(&k.as_str()) || (k.starts_with("x-") && k != BUNDLE_KEY)) {
                    continue;
                }
                rewrite_refs(child, !names && NAME_MAPS.contains(&k.as_str()));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_refs(i, false)),
        _ => {}
    }
}

fn component_ref(r: &str) -> Option<String> {
    [
        ("#/definitions/", "#/components/schemas/"),
        ("#/parameters/", "#/components/parameters/"),
        ("#/responses/", "#/components/responses/"),
    ]
    .iter()
    .find_map(|(from, to)| r.strip_prefix(from).map(|rest| format!("{to}{rest}")))
}
