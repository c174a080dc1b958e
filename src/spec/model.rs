//! The served form of a document: operations with their parameters, bodies and responses, each
//! schema already compiled. Built once at load from the loose JSON document, so a document that
//! strict OpenAPI models reject still serves as long as its intent is clear.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use http::Method;
use jsonschema::Validator;
use serde_json::{Map, Value};

use super::problem::{join, lookup_tokens, tokens};
use super::schemas::SchemaSet;
use super::source::deref;
use super::walk::Flow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamIn {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamIn {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamIn::Path => "path",
            ParamIn::Query => "query",
            ParamIn::Header => "header",
            ParamIn::Cookie => "cookie",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Simple,
    Form,
    Label,
    Matrix,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

/// The JSON type a raw string parameter is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Scalar,
    Array,
    Object,
}

/// A compiled schema: where it lives (for the generator) and its validator.
#[derive(Debug)]
pub struct SchemaRef {
    pub pointer: String,
    pub flow: Flow,
    compiled: OnceLock<Result<Arc<Validator>, String>>,
    /// `pointer` split and unescaped, once: answers look their schema up on every request, and
    /// unescaping each token again cost two `String`s per token per lookup.
    tokens: OnceLock<Option<Vec<String>>>,
}

impl SchemaRef {
    pub fn new(pointer: String, flow: Flow) -> Self {
        Self { pointer, flow, compiled: OnceLock::new(), tokens: OnceLock::new() }
    }

    /// The validator, built on first use (at `serve`, a request's schemas compile when the first
    /// request needs them; response schemas are needed only by proxy and verify) and shared with
    /// every other place naming the same schema.
    pub fn validator(&self, schemas: &SchemaSet) -> Result<Arc<Validator>, String> {
        if let Some(v) = self.compiled.get() {
            return v.clone();
        }
        if schemas.bounded(self.flow) {
            return schemas.validator(self.flow, &self.pointer);
        }
        self.compiled.get_or_init(|| schemas.validator(self.flow, &self.pointer)).clone()
    }

    /// The schema itself, in the translated document of its flow.
    pub fn schema<'a>(&self, schemas: &'a SchemaSet) -> Option<&'a Value> {
        let tokens = self.tokens.get_or_init(|| tokens(&self.pointer)).as_deref()?;
        lookup_tokens(schemas.doc(self.flow), tokens)
    }
}

#[derive(Debug)]
pub struct Parameter {
    pub name: String,
    pub location: ParamIn,
    pub required: bool,
    pub style: Style,
    pub explode: bool,
    pub shape: Shape,
    /// For each property of an object parameter, or the items of an array: is it a string? Numbers
    /// and booleans in a query string are read as such only where the schema says so.
    pub item_types: ItemTypes,
    pub schema: Option<SchemaRef>,
    pub example: Option<Value>,
}

/// What JSON types the scalar parts of a parameter may take, from its schema.
#[derive(Debug, Clone, Default)]
pub struct ItemTypes {
    pub scalar: Vec<String>,
    pub items: Vec<String>,
    pub properties: Map<String, Value>,
}

/// One example of a media type, with the verdict load gave it against the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub name: String,
    pub value: Value,
    /// Why it contradicts its schema (`pointer at instance-path: message`), when it does. Load
    /// validates every example once; answers read this instead of validating again.
    pub invalid: Option<String>,
}

impl Example {
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Self { name: name.into(), value, invalid: None }
    }
}

/// What an answer sends for a media type, by [`Media::example`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Choice<'a> {
    /// This example, as declared. It is invalid only when it was asked for by name.
    Example(&'a Example),
    /// No example fits: data generated from the schema.
    Generate,
    /// The name asked for is not one of the declared examples.
    Unknown,
}

#[derive(Debug)]
pub struct Media {
    pub media_type: String,
    /// Where the media type object is in the document (its key as written), for record mode's
    /// overlay targets.
    pub pointer: String,
    pub schema: Option<SchemaRef>,
    /// Named examples in declaration order; an unnamed `example` is named "default".
    pub examples: Vec<Example>,
    /// The example sent when none is asked for, serialized once: most answers send it unchanged.
    pub default_encoded: OnceLock<bytes::Bytes>,
    /// The answer's fields a path parameter may be echoed into, each with its JSON types:
    /// collected from the schema on the first answer with parameters (`respond::mock`), not on
    /// every one.
    pub echo_fields: OnceLock<Vec<(String, Vec<String>, Value)>>,
    /// Per-property `encoding` of a form or multipart body, in declaration order.
    pub encoding: Vec<(String, Encoding)>,
}

/// How one property of a form or multipart body is serialized (the OpenAPI Encoding Object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// As declared, possibly a comma-separated list of media ranges.
    pub content_type: Option<String>,
    pub style: Style,
    pub explode: bool,
    pub allow_reserved: bool,
}

impl Default for Encoding {
    fn default() -> Self {
        Self { content_type: None, style: Style::Form, explode: true, allow_reserved: false }
    }
}

impl Media {
    /// The one rule every answer (success, error, stateful) applies to pick its body: the example
    /// named by the client, even one that contradicts its schema (it was asked for); else the
    /// first example that matches its schema; else generated data, so that a document with a
    /// wrong example still answers with data its clients can read.
    pub fn example(&self, name: Option<&str>) -> Choice<'_> {
        match name {
            Some(n) => self.examples.iter().find(|e| e.name == n).map_or(Choice::Unknown, Choice::Example),
            None => self.examples.iter().find(|e| e.invalid.is_none()).map_or(Choice::Generate, Choice::Example),
        }
    }

    pub fn example_names(&self) -> Vec<String> {
        self.examples.iter().map(|e| e.name.clone()).collect()
    }
}

fn encoding_of(media: &Value) -> Vec<(String, Encoding)> {
    let mut out = Vec::new();
    for (name, e) in media.get("encoding").and_then(Value::as_object).into_iter().flatten() {
        // Only the styles a form body can carry; anything else reads as the default.
        let style = match e.get("style").and_then(Value::as_str) {
            Some("spaceDelimited") => Style::SpaceDelimited,
            Some("pipeDelimited") => Style::PipeDelimited,
            Some("deepObject") => Style::DeepObject,
            _ => Style::Form,
        };
        out.push((
            name.clone(),
            Encoding {
                content_type: e.get("contentType").and_then(Value::as_str).map(String::from),
                style,
                explode: e.get("explode").and_then(Value::as_bool).unwrap_or(style == Style::Form),
                allow_reserved: e.get("allowReserved").and_then(Value::as_bool).unwrap_or(false),
            },
        ));
    }
    out
}

#[derive(Debug)]
pub struct RequestBody {
    pub required: bool,
    pub content: Vec<Media>,
}

#[derive(Debug)]
pub struct Header {
    pub name: String,
    pub required: bool,
    pub schema: Option<SchemaRef>,
    pub example: Option<Value>,
}

#[derive(Debug)]
pub struct Response {
    /// As declared: "200", "2XX" or "default".
    pub code: String,
    pub headers: Vec<Header>,
    pub content: Vec<Media>,
}

impl Response {
    /// The status this response answers with; `default` and ranges take a representative code.
    pub fn status(&self, fallback: u16) -> u16 {
        match self.code.as_str() {
            "default" => fallback,
            c if c.len() == 3 && c.ends_with("XX") => c[..1].parse::<u16>().map(|h| h * 100).unwrap_or(fallback),
            c => c.parse().unwrap_or(fallback),
        }
    }

    pub fn matches(&self, status: u16) -> bool {
        let s = status.to_string();
        self.code == s || (self.code.len() == 3 && self.code.ends_with("XX") && self.code[..1] == s[..1])
    }
}

/// One alternative of a security requirement: every named scheme must be satisfied.
pub type SecurityAlternative = Vec<String>;

#[derive(Debug)]
pub struct Operation {
    pub spec: usize,
    /// `operationId`, or "METHOD /path" when the document gives none.
    pub id: String,
    pub method: Method,
    /// The path template as the document writes it.
    pub path: String,
    /// Where it is served: mount prefix + server path + path.
    pub served_path: String,
    pub pointer: String,
    pub tags: Vec<String>,
    pub parameters: Vec<Parameter>,
    pub body: Option<RequestBody>,
    pub responses: Vec<Response>,
    /// Empty: no security. An empty alternative means anonymous access is allowed.
    pub security: Vec<SecurityAlternative>,
    /// The operation's `x-specstub` extension, if any.
    pub extension: Value,
    /// Its `callbacks`: requests the API makes after answering, in declaration order.
    pub callbacks: Vec<Hook>,
}

/// One request the API itself sends: an operation of a callback (its URL a runtime expression
/// such as `{$request.body#/callbackUrl}`) or of a 3.1 webhook (no URL: configuration gives it).
#[derive(Debug)]
pub struct Hook {
    /// The callback's or webhook's name (the key under `callbacks` or `webhooks`).
    pub name: String,
    /// For a callback, the URL expression as written; None for a webhook.
    pub url: Option<String>,
    pub method: Method,
    pub pointer: String,
    pub body: Option<RequestBody>,
    /// The hook operation's `x-specstub` extension, if any.
    pub extension: Value,
}

impl Operation {
    /// The response it answers with when nothing else is asked: the lowest 2xx, else the first
    /// declared.
    pub fn default_response(&self) -> Option<&Response> {
        self.responses.iter().filter(|r| r.code.starts_with('2')).min_by_key(|r| r.status(200)).or_else(|| self.responses.first())
    }

    /// The declared response for `status`: exact code, then a range like `4XX`, then `default`.
    pub fn response_for(&self, status: u16) -> Option<&Response> {
        let s = status.to_string();
        self.responses
            .iter()
            .find(|r| r.code == s)
            .or_else(|| self.responses.iter().find(|r| r.matches(status)))
            .or_else(|| self.responses.iter().find(|r| r.code == "default"))
    }
}

/// Builds parameters, bodies and responses of one operation object.
pub struct OperationBuilder<'a> {
    pub doc: &'a Value,
    pub schemas: &'a SchemaSet,
    /// Examples that contradict their schema, by the pointer of the value: load's one verdict.
    pub invalid: &'a HashMap<String, String>,
}

impl OperationBuilder<'_> {
    pub fn parameters(&self, path_item: &Value, path_ptr: &str, op: &Value, op_ptr: &str) -> Vec<Parameter> {
        let mut out: Vec<Parameter> = Vec::new();
        let lists = [(path_item.get("parameters"), join(path_ptr, "parameters")), (op.get("parameters"), join(op_ptr, "parameters"))];
        for (list, base) in lists {
            for (i, raw) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
                let Some(p) = self.parameter(raw, &format!("{base}/{i}")) else {
                    continue;
                };
                // An operation's parameter overrides the path item's with the same name and place.
                out.retain(|q| !(q.name == p.name && q.location == p.location));
                out.push(p);
            }
        }
        out
    }

    fn parameter(&self, raw: &Value, ptr: &str) -> Option<Parameter> {
        let (p, at) = deref(self.doc, raw, ptr);
        let name = p.get("name")?.as_str()?.to_string();
        let location = match p.get("in")?.as_str()? {
            "path" => ParamIn::Path,
            "query" => ParamIn::Query,
            "header" => ParamIn::Header,
            "cookie" => ParamIn::Cookie,
            _ => return None,
        };
        // OpenAPI 3 says these three header parameters "SHALL be ignored": content negotiation
        // and security describe them. Real documents still declare them `required`, and a mock
        // that enforced them would refuse what the real API takes.
        if location == ParamIn::Header && ["accept", "content-type", "authorization"].contains(&name.to_ascii_lowercase().as_str()) {
            return None;
        }
        let style = match p.get("style").and_then(Value::as_str) {
            Some("form") => Style::Form,
            Some("simple") => Style::Simple,
            Some("label") => Style::Label,
            Some("matrix") => Style::Matrix,
            Some("spaceDelimited") => Style::SpaceDelimited,
            Some("pipeDelimited") => Style::PipeDelimited,
            Some("deepObject") => Style::DeepObject,
            _ => match location {
                ParamIn::Query | ParamIn::Cookie => Style::Form,
                ParamIn::Path | ParamIn::Header => Style::Simple,
            },
        };
        let explode = p.get("explode").and_then(Value::as_bool).unwrap_or(style == Style::Form);
        // `content` instead of `schema`: the first media type's schema describes the value.
        let (schema_ptr, schema_val) = match p.get("schema") {
            Some(s) => (Some(join(&at, "schema")), Some(s)),
            None => match p.get("content").and_then(Value::as_object).and_then(|c| c.iter().next()) {
                Some((mt, media)) => (media.get("schema").map(|_| join(&join(&join(&at, "content"), mt), "schema")), media.get("schema")),
                None => (None, None),
            },
        };
        let (shape, item_types) = match schema_val {
            Some(s) => shape_of(self.schemas.doc(Flow::Request), s, &at),
            None => (Shape::Scalar, ItemTypes::default()),
        };
        Some(Parameter {
            name,
            location,
            required: location == ParamIn::Path || p.get("required").and_then(Value::as_bool).unwrap_or(false),
            style,
            explode,
            shape,
            item_types,
            schema: schema_ptr.map(|ptr| SchemaRef::new(ptr, Flow::Request)),
            example: self
                .valid_at(p.get("example"), &join(&at, "example"))
                .or_else(|| self.first_valid_example(p.get("examples"), &join(&at, "examples"))),
        })
    }

    pub fn request_body(&self, op: &Value, op_ptr: &str) -> Option<RequestBody> {
        let raw = op.get("requestBody")?;
        let (b, at) = deref(self.doc, raw, &join(op_ptr, "requestBody"));
        Some(RequestBody {
            required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
            content: self.content(b, &at, Flow::Request),
        })
    }

    pub fn responses(&self, op: &Value, op_ptr: &str) -> Vec<Response> {
        let mut out = Vec::new();
        let base = join(op_ptr, "responses");
        for (key, raw) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
            let code = key.trim().to_ascii_uppercase();
            let code = if code == "DEFAULT" { "default".to_string() } else { code };
            if code.starts_with("X-") {
                continue;
            }
            // The pointer keeps the key as written: it names the examples load checked.
            let (r, at) = deref(self.doc, raw, &join(&base, key));
            let mut headers = Vec::new();
            for (name, h) in r.get("headers").and_then(Value::as_object).into_iter().flatten() {
                let (h, hat) = deref(self.doc, h, &join(&join(&at, "headers"), name));
                headers.push(Header {
                    name: name.clone(),
                    required: h.get("required").and_then(Value::as_bool).unwrap_or(false),
                    schema: h.get("schema").map(|_| SchemaRef::new(join(&hat, "schema"), Flow::Response)),
                    // An example that contradicts the schema is not sent: the value is generated.
                    example: self
                        .valid_at(h.get("example"), &join(&hat, "example"))
                        .or_else(|| self.first_valid_example(h.get("examples"), &join(&hat, "examples")))
                        .or_else(|| h.get("schema").and_then(|s| schema_example(self.doc, s, &hat))),
                });
            }
            out.push(Response { code, headers, content: self.content(r, &at, Flow::Response) });
        }
        out
    }

    fn content(&self, holder: &Value, at: &str, flow: Flow) -> Vec<Media> {
        let mut out = Vec::new();
        let base = join(at, "content");
        for (mt, media) in holder.get("content").and_then(Value::as_object).into_iter().flatten() {
            let mptr = join(&base, mt);
            let mut examples = Vec::new();
            if let Some(v) = media.get("example") {
                examples.push(self.example("default", v, &join(&mptr, "example")));
            }
            let named = join(&mptr, "examples");
            for (name, ex) in media.get("examples").and_then(Value::as_object).into_iter().flatten() {
                let (ex, at) = deref(self.doc, ex, &join(&named, name));
                if let Some(v) = ex.get("value") {
                    examples.push(self.example(name, v, &join(&at, "value")));
                }
            }
            out.push(Media {
                media_type: mt.to_ascii_lowercase(),
                pointer: mptr.clone(),
                schema: media.get("schema").map(|_| SchemaRef::new(join(&mptr, "schema"), flow)),
                examples,
                default_encoded: OnceLock::new(),
                echo_fields: OnceLock::new(),
                encoding: encoding_of(media),
            });
        }
        out
    }
}

impl OperationBuilder<'_> {
    fn example(&self, name: &str, value: &Value, pointer: &str) -> Example {
        Example { name: name.to_string(), value: value.clone(), invalid: self.invalid.get(pointer).cloned() }
    }

    fn valid_at(&self, value: Option<&Value>, pointer: &str) -> Option<Value> {
        value.filter(|_| !self.invalid.contains_key(pointer)).cloned()
    }

    /// The first of named `examples` whose value matches the schema.
    fn first_valid_example(&self, examples: Option<&Value>, pointer: &str) -> Option<Value> {
        examples?.as_object()?.iter().find_map(|(name, ex)| {
            let (ex, at) = deref(self.doc, ex, &join(pointer, name));
            self.valid_at(ex.get("value"), &join(&at, "value"))
        })
    }
}

fn schema_example(doc: &Value, schema: &Value, at: &str) -> Option<Value> {
    let (s, _) = deref(doc, schema, at);
    s.get("example").cloned().or_else(|| s.get("examples")?.as_array()?.first().cloned()).or_else(|| s.get("default").cloned())
}

/// Reads what a parameter's schema says about its raw text: is it an array, an object, and which
/// JSON types its parts take.
fn shape_of(doc: &Value, schema: &Value, at: &str) -> (Shape, ItemTypes) {
    let (s, _) = deref(doc, schema, at);
    let s = flatten_composition(doc, s);
    let types = types_of(doc, &s);
    let mut it = ItemTypes::default();
    if types.iter().any(|t| t == "array") {
        if let Some(items) = s.get("items") {
            let (items, _) = deref(doc, items, at);
            it.items = types_of(doc, items);
        }
        return (Shape::Array, it);
    }
    if types.iter().any(|t| t == "object") {
        for (k, v) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let (v, _) = deref(doc, v, at);
            it.properties.insert(k.clone(), Value::from(types_of(doc, v)));
        }
        return (Shape::Object, it);
    }
    it.scalar = types;
    (Shape::Scalar, it)
}

/// Merges the direct `allOf` branches so that their types and properties count.
fn flatten_composition(doc: &Value, s: &Value) -> Value {
    let mut merged = s.clone();
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for branch in all {
            let (b, _) = deref(doc, branch, "");
            if let (Value::Object(m), Value::Object(bo)) = (&mut merged, b) {
                for (k, v) in bo {
                    if k == "properties" {
                        let props = m.entry("properties").or_insert_with(|| Value::Object(Map::new()));
                        if let (Value::Object(pm), Value::Object(bp)) = (props, v) {
                            for (pk, pv) in bp {
                                pm.insert(pk.clone(), pv.clone());
                            }
                        }
                    } else {
                        m.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    }
    merged
}

/// The JSON types a schema allows, through its compositions (each schema visited once, so a
/// composition that refers back to itself ends).
pub fn types_of(doc: &Value, s: &Value) -> Vec<String> {
    types_within(doc, s, &mut Vec::new())
}

fn types_within(doc: &Value, s: &Value, seen: &mut Vec<*const Value>) -> Vec<String> {
    // A media's schema is often a bare `$ref` (adobe's `text/plain` answers of `KeystoreInfo`).
    let (s, _) = deref(doc, s, "");
    if seen.contains(&(s as *const Value)) || seen.len() >= 256 {
        return Vec::new();
    }
    seen.push(s);
    match s.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str().map(String::from)).collect(),
        _ => {
            let mut out = Vec::new();
            for key in ["oneOf", "anyOf", "allOf"] {
                for b in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                    let (b, _) = deref(doc, b, "");
                    for t in types_within(doc, b, seen) {
                        if !out.contains(&t) {
                            out.push(t);
                        }
                    }
                }
            }
            if out.is_empty() {
                if let Some(e) = s.get("enum").and_then(Value::as_array) {
                    for v in e {
                        let t = match v {
                            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
                            Value::Number(_) => "number",
                            Value::Bool(_) => "boolean",
                            _ => "string",
                        };
                        if !out.iter().any(|x| x == t) {
                            out.push(t.to_string());
                        }
                    }
                } else if s.get("properties").is_some() {
                    out.push("object".into());
                } else if s.get("items").is_some() {
                    out.push("array".into());
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_of_a_composition_that_refers_back_to_itself_ends() {
        let doc = json!({"S": {"anyOf": [{"$ref": "#/S"}, {"$ref": "#/S"}, {"type": "integer"}]}});
        assert_eq!(types_of(&doc, &doc["S"]), vec!["integer".to_string()]);
    }

    fn media(examples: Vec<Example>) -> Media {
        Media {
            media_type: "application/json".into(),
            pointer: String::new(),
            schema: None,
            examples,
            default_encoded: OnceLock::new(),
            echo_fields: OnceLock::new(),
            encoding: Vec::new(),
        }
    }

    fn invalid(name: &str) -> Example {
        Example { invalid: Some("/x: wrong".into()), ..Example::new(name, json!({"bad": true})) }
    }

    #[test]
    fn by_default_the_first_valid_example_is_chosen() {
        let m = media(vec![invalid("bad"), Example::new("good", json!(1)), Example::new("later", json!(2))]);
        assert_eq!(m.example(None), Choice::Example(&m.examples[1]));
    }

    #[test]
    fn without_a_valid_example_data_is_generated() {
        assert_eq!(media(vec![invalid("bad")]).example(None), Choice::Generate);
        assert_eq!(media(Vec::new()).example(None), Choice::Generate);
    }

    #[test]
    fn an_example_asked_by_name_is_chosen_even_when_invalid() {
        let m = media(vec![invalid("bad"), Example::new("good", json!(1))]);
        assert_eq!(m.example(Some("bad")), Choice::Example(&m.examples[0]));
        assert_eq!(m.example(Some("good")), Choice::Example(&m.examples[1]));
        assert_eq!(m.example(Some("none")), Choice::Unknown);
        assert_eq!(m.example_names(), ["bad", "good"]);
    }
}
