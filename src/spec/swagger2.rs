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
            "definitions" | "parameters" | "responses" | "securityDefinitions" if !v.is_object() => {
                c.warn(join("", k), format!("`{k}` should be a mapping: ignored"));
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
                    None => {
                        self.warn(join(at, "items"), "`items` should be a mapping: ignored");
                        continue;
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(doc: Value) -> (Value, Vec<Problem>) {
        let mut problems = Vec::new();
        let out = convert(&doc, Path::new("api.yaml"), &mut problems).expect("converts");
        (out, problems)
    }

    fn warnings_at(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.pointer.as_str()).collect()
    }

    fn with_op(op: Value) -> Value {
        json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {"/pets": {"post": op}}})
    }

    #[test]
    fn recognises_only_swagger_2_0() {
        assert!(is_swagger2(&json!({"swagger": "2.0"})));
        assert!(is_swagger2(&json!({"swagger": 2.0})));
        assert!(!is_swagger2(&json!({"swagger": "1.2"})));
        assert!(!is_swagger2(&json!({"swagger": "2.0", "openapi": "3.0.0"})));
        assert!(!is_swagger2(&json!({"openapi": "3.0.0"})));
    }

    #[test]
    fn an_unquoted_version_converts_with_a_warning() {
        let (out, problems) = converted(json!({"swagger": 2.0, "paths": {}}));
        assert_eq!(out["openapi"], "3.0.3");
        assert_eq!(warnings_at(&problems), vec!["/swagger"]);
    }

    #[test]
    fn definitions_become_component_schemas_and_every_reference_follows() {
        let (out, problems) = converted(json!({
            "swagger": "2.0",
            "definitions": {
                "Pet": {"type": "object", "properties": {"owner": {"$ref": "#/definitions/Owner"}, "$ref": {"type": "string"}},
                        "example": {"$ref": "#/definitions/Owner"}},
                "Owner": {"type": "object"}
            },
            "parameters": {"limit": {"name": "limit", "in": "query", "type": "integer"}},
            "responses": {"Gone": {"description": "gone", "schema": {"$ref": "#/definitions/Owner"}}},
            "paths": {"/pets": {"get": {
                "parameters": [{"$ref": "#/parameters/limit"}],
                "responses": {"200": {"description": "ok", "schema": {"items": {"$ref": "#/definitions/Pet"}, "type": "array"}},
                              "410": {"$ref": "#/responses/Gone"}}
            }}}
        }));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(out["components"]["schemas"]["Pet"]["properties"]["owner"]["$ref"], "#/components/schemas/Owner");
        // A property named `$ref` is a name, and an example is data: neither is a reference.
        assert_eq!(out["components"]["schemas"]["Pet"]["properties"]["$ref"], json!({"type": "string"}));
        assert_eq!(out["components"]["schemas"]["Pet"]["example"]["$ref"], "#/definitions/Owner");
        let op = &out["paths"]["/pets"]["get"];
        assert_eq!(op["parameters"][0]["$ref"], "#/components/parameters/limit");
        assert_eq!(out["components"]["parameters"]["limit"]["schema"], json!({"type": "integer"}));
        assert_eq!(op["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"], "#/components/schemas/Pet");
        assert_eq!(op["responses"]["410"]["$ref"], "#/components/responses/Gone");
        assert_eq!(out["components"]["responses"]["Gone"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Owner");
    }

    #[test]
    fn a_body_parameter_becomes_a_request_body_per_consumed_media_type() {
        let doc = with_op(json!({
            "consumes": ["application/json", "application/xml"],
            "parameters": [{"name": "pet", "in": "body", "required": true, "description": "the pet",
                            "schema": {"$ref": "#/definitions/Pet"},
                            "x-examples": {"application/json": {"name": "Rex"}, "named": {"name": "Tom"}}}],
            "responses": {"201": {"description": "created"}}
        }));
        let (out, problems) = converted(doc);
        assert!(problems.is_empty(), "{problems:?}");
        let op = &out["paths"]["/pets"]["post"];
        assert!(op.get("parameters").is_none());
        let body = &op["requestBody"];
        assert_eq!((&body["required"], &body["description"]), (&json!(true), &json!("the pet")));
        assert_eq!(body["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Pet");
        assert_eq!(body["content"]["application/json"]["example"], json!({"name": "Rex"}));
        assert_eq!(body["content"]["application/xml"]["schema"]["$ref"], "#/components/schemas/Pet");
        assert_eq!(body["content"]["application/xml"]["examples"]["named"]["value"], json!({"name": "Tom"}));
        assert!(body["content"]["application/xml"].get("example").is_none());
    }

    #[test]
    fn a_body_is_json_when_nothing_says_what_is_consumed_and_global_consumes_apply() {
        let op = json!({"parameters": [{"name": "b", "in": "body", "schema": {"type": "object"}}], "responses": {}});
        let (out, _) = converted(with_op(op.clone()));
        let content = out["paths"]["/pets"]["post"]["requestBody"]["content"].as_object().unwrap().clone();
        assert_eq!(content.keys().collect::<Vec<_>>(), vec!["application/json"]);
        let mut doc = with_op(op);
        doc["consumes"] = json!(["text/plain"]);
        let (out, _) = converted(doc);
        assert!(out["paths"]["/pets"]["post"]["requestBody"]["content"]["text/plain"]["schema"].is_object());
    }

    #[test]
    fn form_fields_become_a_url_encoded_object_body() {
        let (out, problems) = converted(with_op(json!({
            "parameters": [
                {"name": "owner", "in": "formData", "type": "string", "required": true, "description": "who", "minLength": 1},
                {"name": "tags", "in": "formData", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"},
                {"name": "age", "in": "formData", "type": "integer", "x-example": 3}
            ],
            "responses": {}
        })));
        assert!(problems.is_empty(), "{problems:?}");
        let body = &out["paths"]["/pets"]["post"]["requestBody"];
        assert_eq!(body["required"], true);
        let media = &body["content"][FORM];
        assert_eq!(
            media["schema"],
            json!({"type": "object", "required": ["owner"], "properties": {
                "owner": {"type": "string", "minLength": 1, "description": "who"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "age": {"type": "integer", "example": 3}
            }})
        );
        assert_eq!(media["encoding"], json!({"tags": {"style": "form", "explode": true}}));
        assert_eq!(body["content"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn a_file_field_or_multipart_consumes_makes_the_form_multipart() {
        let file = json!({"parameters": [{"name": "f", "in": "formData", "type": "file"}], "responses": {}});
        let (out, _) = converted(with_op(file));
        let content = &out["paths"]["/pets"]["post"]["requestBody"]["content"];
        assert_eq!(content.as_object().unwrap().keys().collect::<Vec<_>>(), vec![MULTIPART]);
        assert_eq!(content[MULTIPART]["schema"]["properties"]["f"], json!({"type": "string", "format": "binary"}));
        assert_eq!(out["paths"]["/pets"]["post"]["requestBody"]["required"], false);

        let declared = json!({"consumes": [MULTIPART], "parameters": [{"name": "n", "in": "formData", "type": "string"}], "responses": {}});
        let (out, _) = converted(with_op(declared));
        assert!(out["paths"]["/pets"]["post"]["requestBody"]["content"][MULTIPART].is_object());
    }

    #[test]
    fn plain_parameters_move_their_type_keys_into_a_schema() {
        let (out, problems) = converted(json!({"swagger": "2.0", "paths": {"/pets/{id}": {
            "parameters": [{"name": "id", "in": "path", "type": "integer", "format": "int64", "minimum": 1}],
            "get": {"parameters": [
                {"name": "status", "in": "query", "type": "string", "enum": ["a", "b"], "default": "a", "description": "d",
                 "allowEmptyValue": true, "x-example": "b", "x-nullable": true, "x-internal": 1},
                {"name": "X-Trace", "in": "header", "type": "string", "pattern": "^[a-f0-9]+$", "maxLength": 32, "required": true},
                {"name": "n", "in": "query", "type": "number", "maximum": 9, "exclusiveMaximum": true, "multipleOf": 0.5}
            ], "responses": {}}
        }}}));
        assert!(problems.is_empty(), "{problems:?}");
        let item = &out["paths"]["/pets/{id}"];
        assert_eq!(
            item["parameters"][0],
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64", "minimum": 1}})
        );
        let params = &item["get"]["parameters"];
        assert_eq!(
            params[0],
            json!({"name": "status", "in": "query", "description": "d", "allowEmptyValue": true, "example": "b", "x-internal": 1,
                   "schema": {"type": "string", "enum": ["a", "b"], "default": "a", "nullable": true}})
        );
        assert_eq!(
            params[1],
            json!({"name": "X-Trace", "in": "header", "required": true, "schema": {"type": "string", "pattern": "^[a-f0-9]+$", "maxLength": 32}})
        );
        assert_eq!(params[2]["schema"], json!({"type": "number", "maximum": 9, "exclusiveMaximum": true, "multipleOf": 0.5}));
    }

    #[test]
    fn collection_formats_become_styles() {
        let param = |location: &str, format: Option<&str>| {
            let mut p = json!({"name": "a", "in": location, "type": "array", "items": {"type": "integer"}});
            if let Some(f) = format {
                p["collectionFormat"] = f.into();
            }
            let path = if location == "path" { "/x/{a}" } else { "/x" };
            let (out, problems) = converted(json!({"swagger": "2.0", "paths": {path: {"get": {"parameters": [p], "responses": {}}}}}));
            let p = out["paths"][path]["get"]["parameters"][0].clone();
            (p["style"].as_str().unwrap().to_string(), p["explode"].as_bool().unwrap(), problems.len())
        };
        let s = |style: &str, explode: bool, warnings: usize| (style.to_string(), explode, warnings);
        assert_eq!(param("query", None), s("form", false, 0), "csv is Swagger 2.0's default");
        assert_eq!(param("query", Some("csv")), s("form", false, 0));
        assert_eq!(param("path", Some("csv")), s("simple", false, 0));
        assert_eq!(param("header", None), s("simple", false, 0));
        assert_eq!(param("query", Some("ssv")), s("spaceDelimited", false, 0));
        assert_eq!(param("query", Some("pipes")), s("pipeDelimited", false, 0));
        assert_eq!(param("query", Some("multi")), s("form", true, 0));
        assert_eq!(param("query", Some("tsv")), s("form", false, 1));
        assert_eq!(param("header", Some("pipes")), s("simple", false, 1));
        assert_eq!(param("query", Some("bogus")), s("form", false, 1));
    }

    #[test]
    fn lossy_conversions_warn_at_the_original_pointer() {
        let (_, problems) = converted(with_op(json!({
            "parameters": [
                {"name": "a", "in": "query", "type": "array", "items": {"type": "string"}, "collectionFormat": "tsv", "bogus": 1},
                {"name": "c", "in": "cookie", "type": "string"}
            ],
            "responses": {"200": {"description": "ok", "headers": {"X-List": {"type": "array", "items": {"type": "string"}, "collectionFormat": "pipes"}}}},
            "callbacks": {}
        })));
        let mut got = warnings_at(&problems);
        got.sort();
        assert_eq!(
            got,
            vec![
                "/paths/~1pets/post/callbacks",
                "/paths/~1pets/post/parameters/0/bogus",
                "/paths/~1pets/post/parameters/0/collectionFormat",
                "/paths/~1pets/post/parameters/1/in",
                "/paths/~1pets/post/responses/200/headers/X-List/collectionFormat",
            ]
        );
        assert!(problems.iter().all(|p| !p.is_error() && p.file == Path::new("api.yaml")));
        assert!(problems.iter().any(|p| p.message.contains("tab-separated")), "{problems:?}");
    }

    #[test]
    fn responses_carry_schema_examples_and_headers_per_produced_media_type() {
        let mut doc = with_op(json!({
            "responses": {"200": {
                "description": "ok",
                "schema": {"type": "object"},
                "examples": {"application/json": {"id": 1}, "text/csv": "id\n1"},
                "headers": {"X-Rate": {"type": "integer", "format": "int32", "description": "left", "x-example": 9}},
                "x-note": "kept"
            }}
        }));
        doc["produces"] = json!(["application/json", "application/xml"]);
        let (out, problems) = converted(doc);
        assert!(problems.is_empty(), "{problems:?}");
        let r = &out["paths"]["/pets"]["post"]["responses"]["200"];
        assert_eq!(r["content"]["application/json"], json!({"schema": {"type": "object"}, "example": {"id": 1}}));
        assert_eq!(r["content"]["application/xml"], json!({"schema": {"type": "object"}}));
        assert_eq!(r["content"]["text/csv"]["example"], "id\n1");
        assert_eq!(r["headers"]["X-Rate"], json!({"description": "left", "example": 9, "schema": {"type": "integer", "format": "int32"}}));
        assert_eq!((&r["description"], &r["x-note"]), (&json!("ok"), &json!("kept")));
    }

    #[test]
    fn an_operations_produces_overrides_the_documents_and_inlines_shared_responses() {
        let (out, _) = converted(json!({
            "swagger": "2.0",
            "produces": ["application/xml"],
            "responses": {"Err": {"description": "e", "schema": {"type": "string"}}},
            "paths": {"/a": {"get": {"produces": ["text/plain"], "responses": {
                "200": {"description": "ok", "schema": {"type": "string"}},
                "500": {"$ref": "#/responses/Err"}
            }}}, "/b": {"get": {"responses": {"200": {"description": "ok", "schema": {"type": "string"}}, "500": {"$ref": "#/responses/Err"}}}}}
        }));
        let a = &out["paths"]["/a"]["get"]["responses"];
        assert_eq!(a["200"]["content"], json!({"text/plain": {"schema": {"type": "string"}}}));
        assert_eq!(a["500"], json!({"description": "e", "content": {"text/plain": {"schema": {"type": "string"}}}}));
        let b = &out["paths"]["/b"]["get"]["responses"];
        assert_eq!(b["200"]["content"], json!({"application/xml": {"schema": {"type": "string"}}}));
        assert_eq!(b["500"]["$ref"], "#/components/responses/Err");
        assert_eq!(out["components"]["responses"]["Err"]["content"], json!({"application/xml": {"schema": {"type": "string"}}}));
    }

    #[test]
    fn security_definitions_become_security_schemes() {
        let (out, problems) = converted(json!({"swagger": "2.0", "paths": {}, "securityDefinitions": {
            "basic": {"type": "basic", "description": "users"},
            "key": {"type": "apiKey", "in": "query", "name": "api_key"},
            "imp": {"type": "oauth2", "flow": "implicit", "authorizationUrl": "https://a/auth", "scopes": {"read": "r"}},
            "pw": {"type": "oauth2", "flow": "password", "tokenUrl": "https://a/token", "scopes": {}},
            "app": {"type": "oauth2", "flow": "application", "tokenUrl": "https://a/token"},
            "code": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token", "scopes": {}},
            "odd": {"type": "oauth2", "flow": "device"}
        }}));
        let s = &out["components"]["securitySchemes"];
        assert_eq!(s["basic"], json!({"type": "http", "scheme": "basic", "description": "users"}));
        assert_eq!(s["key"], json!({"type": "apiKey", "in": "query", "name": "api_key"}));
        assert_eq!(s["imp"]["flows"], json!({"implicit": {"authorizationUrl": "https://a/auth", "scopes": {"read": "r"}}}));
        assert_eq!(s["pw"]["flows"], json!({"password": {"tokenUrl": "https://a/token", "scopes": {}}}));
        assert_eq!(s["app"]["flows"], json!({"clientCredentials": {"tokenUrl": "https://a/token", "scopes": {}}}));
        assert_eq!(
            s["code"]["flows"],
            json!({"authorizationCode": {"authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token", "scopes": {}}})
        );
        assert_eq!(s["odd"], json!({"type": "oauth2", "flows": {}}));
        assert_eq!(warnings_at(&problems), vec!["/securityDefinitions/odd/flow"]);
    }

    #[test]
    fn host_base_path_and_schemes_become_servers() {
        let servers = |extra: Value| {
            let mut doc = json!({"swagger": "2.0", "paths": {}});
            doc.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            converted(doc).0.get("servers").cloned()
        };
        assert_eq!(
            servers(json!({"host": "api.example.com", "basePath": "/v2", "schemes": ["http", "https"]})),
            Some(json!([{"url": "http://api.example.com/v2"}, {"url": "https://api.example.com/v2"}]))
        );
        assert_eq!(servers(json!({"host": "api.example.com:8080"})), Some(json!([{"url": "https://api.example.com:8080"}])));
        assert_eq!(servers(json!({"basePath": "/api/"})), Some(json!([{"url": "/api"}])));
        assert_eq!(servers(json!({"basePath": "/"})), Some(json!([{"url": "/"}])));
        assert_eq!(servers(json!({})), None);
    }

    #[test]
    fn swagger_only_schema_keywords_are_translated() {
        let (out, _) = converted(json!({"swagger": "2.0", "paths": {}, "definitions": {
            "Pet": {"type": "object", "discriminator": "kind", "properties": {
                "tag": {"type": "string", "x-nullable": true},
                "kind": {"type": "string", "x-nullable": false},
                "photo": {"type": "file"},
                "x-nullable": {"type": "boolean"}
            }}
        }}));
        let pet = &out["components"]["schemas"]["Pet"];
        assert_eq!(pet["discriminator"], json!({"propertyName": "kind"}));
        assert_eq!(pet["properties"]["tag"], json!({"type": "string", "nullable": true}));
        assert_eq!(pet["properties"]["kind"], json!({"type": "string"}));
        assert_eq!(pet["properties"]["photo"], json!({"type": "string", "format": "binary"}));
        assert_eq!(pet["properties"]["x-nullable"], json!({"type": "boolean"}), "a property name, not a keyword");
    }

    #[test]
    fn document_fields_and_extensions_are_kept_as_written() {
        let (out, problems) = converted(json!({
            "swagger": "2.0",
            "info": {"title": "t", "version": "1", "x-logo": "l"},
            "tags": [{"name": "pets"}],
            "security": [{"key": []}],
            "externalDocs": {"url": "https://docs"},
            "x-specstub": {"errors": {"validationStatus": 400}},
            "x-other": {"$ref": "#/definitions/Kept"},
            "paths": {"/a": {"x-path": 1, "get": {"operationId": "a", "tags": ["pets"], "summary": "s", "deprecated": true,
                                                  "security": [], "x-specstub": {"delay": 5}, "schemes": ["http"], "responses": {}}}}
        }));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(out["info"], json!({"title": "t", "version": "1", "x-logo": "l"}));
        assert_eq!(out["tags"], json!([{"name": "pets"}]));
        assert_eq!(out["security"], json!([{"key": []}]));
        assert_eq!(out["externalDocs"], json!({"url": "https://docs"}));
        assert_eq!(out["x-specstub"], json!({"errors": {"validationStatus": 400}}));
        assert_eq!(out["x-other"], json!({"$ref": "#/definitions/Kept"}));
        assert!(out.get("swagger").is_none());
        let item = &out["paths"]["/a"];
        assert_eq!(item["x-path"], 1);
        assert_eq!(
            item["get"],
            json!({"operationId": "a", "tags": ["pets"], "summary": "s", "deprecated": true, "security": [],
                   "x-specstub": {"delay": 5}, "responses": {}})
        );
    }

    #[test]
    fn path_item_bodies_apply_to_each_operation_unless_overridden() {
        let (out, _) = converted(json!({"swagger": "2.0", "paths": {"/a": {
            "parameters": [{"name": "shared", "in": "body", "schema": {"type": "object"}},
                           {"name": "q", "in": "query", "type": "string"}],
            "put": {"responses": {}},
            "post": {"parameters": [{"name": "own", "in": "body", "schema": {"type": "array"}}], "responses": {}}
        }}}));
        let item = &out["paths"]["/a"];
        assert_eq!(item["parameters"], json!([{"name": "q", "in": "query", "schema": {"type": "string"}}]));
        assert_eq!(item["put"]["requestBody"]["content"]["application/json"]["schema"], json!({"type": "object"}));
        assert_eq!(item["post"]["requestBody"]["content"]["application/json"]["schema"], json!({"type": "array"}));
    }

    #[test]
    fn a_second_body_or_a_body_with_form_fields_is_reported() {
        let (out, problems) = converted(with_op(json!({"parameters": [
            {"name": "a", "in": "body", "schema": {"type": "object"}},
            {"name": "b", "in": "body", "schema": {"type": "array"}},
            {"name": "f", "in": "formData", "type": "string"}
        ], "responses": {}})));
        assert_eq!(out["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"], json!({"type": "object"}));
        let mut got = warnings_at(&problems);
        got.sort();
        assert_eq!(got, vec!["/paths/~1pets/post/parameters/1", "/paths/~1pets/post/parameters/2"]);
    }

    #[test]
    fn body_and_form_parameters_are_inlined_from_shared_definitions() {
        let (out, _) = converted(json!({"swagger": "2.0",
            "parameters": {"pet": {"name": "pet", "in": "body", "schema": {"$ref": "#/definitions/Pet"}}},
            "definitions": {"Pet": {"type": "object"}},
            "paths": {"/a": {"post": {"parameters": [{"$ref": "#/parameters/pet"}], "responses": {}}}}
        }));
        assert!(out["components"].get("parameters").is_none(), "a body is not an OpenAPI 3 parameter");
        assert_eq!(out["paths"]["/a"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Pet");
        assert!(out["paths"]["/a"]["post"].get("parameters").is_none());
    }

    #[test]
    fn unresolved_references_are_kept_for_the_load_to_report() {
        let (out, problems) =
            converted(with_op(json!({"parameters": [{"$ref": "#/parameters/nope"}], "responses": {"200": {"$ref": "#/responses/nope"}}})));
        assert!(problems.is_empty(), "{problems:?}");
        let op = &out["paths"]["/pets"]["post"];
        assert_eq!(op["parameters"][0]["$ref"], "#/components/parameters/nope");
        assert_eq!(op["responses"]["200"]["$ref"], "#/components/responses/nope");
    }

    #[test]
    fn malformed_documents_convert_with_warnings_and_never_panic() {
        let mut problems = Vec::new();
        assert!(convert(&json!(["not", "a", "mapping"]), Path::new("a.yaml"), &mut problems).is_none());
        assert!(problems[0].is_error());
        let shapes = [
            json!({"swagger": "2.0", "paths": 5}),
            json!({"swagger": "2.0", "paths": {"/a": 1}}),
            json!({"swagger": "2.0", "paths": {"/a": {"get": 1, "parameters": "x"}}}),
            json!({"swagger": "2.0", "paths": {"/a": {"get": {"parameters": [1, {"in": "query"}, {"name": "x", "in": "body"}], "responses": []}}}}),
            json!({"swagger": "2.0", "paths": {"/a": {"get": {"responses": {"200": 7, "201": {"headers": {"h": 1}, "examples": 3}}}}}}),
            json!({"swagger": "2.0", "consumes": "json", "produces": {}, "parameters": [1], "responses": 2, "definitions": 3}),
            json!({"swagger": "2.0", "securityDefinitions": {"a": 1, "b": {"type": "magic"}, "c": {}}, "host": 5, "schemes": "http"}),
            json!({"swagger": "2.0", "paths": {"/a": {"get": {"parameters": [{"name": "f", "in": "formData", "items": 3, "type": "array"}]}}}}),
            json!({"swagger": "2.0", "host": "h/x", "basePath": "v1", "bogus": true}),
        ];
        for doc in shapes {
            let mut problems = Vec::new();
            let out = convert(&doc, Path::new("a.yaml"), &mut problems).expect("a mapping converts");
            assert_eq!(out["openapi"], "3.0.3");
            assert!(!problems.is_empty(), "{doc}: every shape here deserves a warning");
            assert!(problems.iter().all(|p| !p.is_error()), "{doc}: {problems:?}");
        }
    }

    #[test]
    fn a_converted_document_loads_and_other_swagger_versions_are_refused() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/petstore-swagger2.yaml");
        let (set, problems) = super::super::load(&[data], &super::super::LoadOptions::default());
        assert!(problems.is_empty(), "{problems:?}");
        let set = set.expect("loads");
        assert!(set.operations.iter().all(|o| o.served_path.starts_with("/v2/")), "served under basePath");
        assert_eq!(set.operations.len(), 5);

        let old = std::env::temp_dir().join(format!("specstub-swagger-1-2-{}.yaml", std::process::id()));
        std::fs::write(&old, "swagger: \"1.2\"\npaths: {}\n").unwrap();
        let (set, problems) = super::super::load(std::slice::from_ref(&old), &super::super::LoadOptions::default());
        std::fs::remove_file(&old).ok();
        assert!(set.is_none());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].is_error() && problems[0].pointer == "/swagger", "{problems:?}");
    }

    #[test]
    fn parameters_and_schemas_in_other_swagger_files_are_converted_too() {
        let dir = std::env::temp_dir().join(format!("specstub-swagger2-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("common.yaml"),
            "parameters:\n  limit: {name: limit, in: query, type: integer, maximum: 5}\n  pet: {name: pet, in: body, schema: {$ref: '#/definitions/Pet'}}\ndefinitions:\n  Pet: {type: object, properties: {tag: {type: string, x-nullable: true}}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("main.yaml"),
            "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths:\n  /pets:\n    post:\n      parameters:\n        - $ref: 'common.yaml#/parameters/limit'\n        - $ref: 'common.yaml#/parameters/pet'\n      responses:\n        '200': {description: ok, schema: {$ref: 'common.yaml#/definitions/Pet'}, examples: {application/json: {tag: null}}}\n",
        )
        .unwrap();
        let (set, problems) = super::super::load(&[dir.join("main.yaml")], &super::super::LoadOptions::default());
        std::fs::remove_dir_all(&dir).ok();
        assert!(problems.is_empty(), "{problems:?}");
        let set = set.expect("loads");
        let op = &set.operations[0];
        assert_eq!(op.parameters.len(), 1);
        assert_eq!(op.parameters[0].name, "limit");
        assert!(op.parameters[0].schema.is_some());
        let body = op.body.as_ref().expect("the body parameter became a request body");
        assert_eq!(body.content[0].media_type, "application/json");
    }
}
