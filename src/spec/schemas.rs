//! Compiles validators for schemas inside a loaded document. The translated document sits once in
//! a registry that both flows share, so a validator is built from a one-line `$ref` to the
//! schema's pointer and never copies the document; the two flows differ only in the `required`
//! lists of schemas with required `readOnly`/`writeOnly` properties, which a response validator
//! reads from their own keyword ([`ResponseRequired`]). Validators are
//! compiled on first use and shared by every place whose schema is a bare `$ref` to the same
//! target: in big documents thousands of operations name a handful of component schemas, and each
//! compiled validator holds its schema's whole reference closure.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, PatternOptions, Registry, Validator};
use serde_json::{Value, json};

use super::dialect::{FINITE, RESPONSE_REQUIRED};
use super::problem::{Problem, join, lookup_mut};
use super::walk::Flow;

/// A validator, or why the schema does not compile.
pub type Compiled = Result<Arc<Validator>, String>;

/// One flow's validators by schema pointer: the slot compiled once, and when it was last used.
type Cache = Mutex<HashMap<String, (Arc<OnceLock<Compiled>>, u64)>>;

pub struct SchemaSet {
    registry: Registry<'static>,
    uri: String,
    /// The translated document, read by both flows.
    doc: Arc<Value>,
    /// Per flow, by the pointer of the schema a validator checks (after bare `$ref`s): one
    /// compile per target, done outside the lock so that different schemas compile in parallel.
    /// Each entry carries when it was last used, for [`SchemaSet::keep_at_most`].
    validators: [Cache; 2],
    /// Per flow, 0: every validator is kept. Otherwise at most this many, the least recently
    /// used dropped first (`verify` reaches every operation once, and keeping all of Graph's
    /// would take gigabytes).
    bound: [AtomicUsize; 2],
    uses: AtomicU64,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet").field("uri", &self.uri).finish_non_exhaustive()
    }
}

impl SchemaSet {
    /// Indexes `doc`, translated, with both flows' `required` lists (`dialect::split_required`).
    pub fn new(id: usize, doc: Value) -> Result<Self, String> {
        let doc = Arc::new(doc);
        let uri = format!("urn:specstub:spec-{id}");
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(&uri, Arc::clone(&doc))
            .and_then(|b| b.prepare())
            .map_err(|e| format!("cannot index the document's schemas: {e}"))?;
        Ok(Self { registry, uri, doc, validators: Default::default(), bound: Default::default(), uses: AtomicU64::new(0) })
    }

    /// The validator for the schema at `pointer`, compiled once for every pointer that leads to
    /// the same schema through bare `$ref`s.
    pub fn validator(&self, flow: Flow, pointer: &str) -> Compiled {
        let target = self.target(flow, pointer);
        let slot = {
            let mut cache = self.validators[flow as usize].lock().unwrap_or_else(|p| p.into_inner());
            let now = self.uses.fetch_add(1, Ordering::Relaxed);
            let bound = self.bound[flow as usize].load(Ordering::Relaxed);
            if bound > 0 && cache.len() >= bound && !cache.contains_key(&target) {
                if let Some(oldest) = cache.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) {
                    cache.remove(&oldest);
                }
            }
            let entry = cache.entry(target.clone()).or_default();
            entry.1 = now;
            Arc::clone(&entry.0)
        };
        slot.get_or_init(|| self.compile(flow, &target).map(Arc::new)).clone()
    }

    /// From now on, keeps at most `n` validators per flow, the least recently used dropped first
    /// (and [`super::model::SchemaRef`] keeps none of its own). For a run that visits every
    /// operation once, such as `verify`, whose neighbouring operations share their schemas.
    pub fn keep_at_most(&self, n: usize) {
        for flow in [Flow::Request, Flow::Response] {
            self.keep_at_most_for(flow, n);
        }
    }

    /// [`SchemaSet::keep_at_most`] for one flow: `serve --self-check` bounds the response
    /// validators it checks answers with (one per response schema, megabytes each on Stripe's
    /// document: kept, a verify run took that server to 1.6 GB), not the request ones every
    /// request needs.
    pub fn keep_at_most_for(&self, flow: Flow, n: usize) {
        self.bound[flow as usize].store(n.max(1), Ordering::Relaxed);
    }

    /// Whether [`SchemaSet::keep_at_most`] bounds the validators kept for `flow`.
    pub fn bounded(&self, flow: Flow) -> bool {
        self.bound[flow as usize].load(Ordering::Relaxed) > 0
    }

    /// Where a chain of bare `{"$ref": "#/..."}` objects starting at `pointer` ends (bounded, so a
    /// cycle ends too). A `$ref` with siblings is a schema of its own: the chain stops there.
    pub fn target(&self, flow: Flow, pointer: &str) -> String {
        let doc = self.doc(flow);
        let mut at = pointer.to_string();
        for _ in 0..32 {
            let Some(Value::Object(obj)) = super::problem::lookup(doc, &at) else { break };
            let Some(Value::String(r)) = obj.get("$ref").filter(|_| obj.len() == 1) else { break };
            let Some(fragment) = r.strip_prefix('#') else { break };
            let Ok(next) = percent_encoding::percent_decode_str(fragment).decode_utf8() else { break };
            if super::problem::lookup(doc, &next).is_none() {
                break;
            }
            at = next.into_owned();
        }
        at
    }

    /// The translated document. Both flows read the same one; a reader of `required` lists
    /// tells them apart with [`crate::generate::required_names`] (the response's list is under
    /// [`RESPONSE_REQUIRED`] where it differs).
    pub fn doc(&self, _flow: Flow) -> &Value {
        &self.doc
    }

    /// Builds a validator for the schema at `pointer`. The error names what is wrong with the schema.
    pub fn compile(&self, flow: Flow, pointer: &str) -> Result<Validator, String> {
        let base = &self.uri;
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
        // Requests keep the built-in `required` (and its fused validators): their violations,
        // order included, are what answers list.
        let options = match flow {
            Flow::Request => options(),
            Flow::Response => {
                options().with_keyword("required", ResponseRequired::required).with_keyword(RESPONSE_REQUIRED, ResponseRequired::own)
            }
        };
        options.with_registry(&self.registry).build(&wrapper).map_err(|e| e.to_string())
    }
}

fn options() -> jsonschema::ValidationOptions<'static> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        // The backtracking engine, named rather than left to the default: documents use
        // lookaround and backreferences (`^(?!admin).*$`), which a linear-time engine refuses.
        .with_pattern_options(PatternOptions::fancy_regex())
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .with_format("int32", |s: &str| s.parse::<i32>().is_ok())
        .with_format("int64", |s: &str| s.parse::<i64>().is_ok())
        .with_format("uint32", |s: &str| s.parse::<u32>().is_ok())
        .with_format("uint64", |s: &str| s.parse::<u64>().is_ok())
        .with_format("float", |s: &str| s.parse::<f32>().is_ok())
        .with_format("double", |s: &str| s.parse::<f64>().is_ok())
        .with_keyword(FINITE, |_, value, _| Ok(Box::new(Finite { single: value.as_str() == Some("float") })))
}

/// Refuses a number that its binary format cannot hold: beyond ±f64::MAX for `double`, beyond
/// ±f32::MAX for `float`. Numbers arrive as their exact text (arbitrary precision), so without
/// this `1e400` would be accepted and echoed. Underflow rounds to zero, as it does in any
/// client, and is accepted.
struct Finite {
    single: bool,
}

impl Finite {
    fn holds(&self, instance: &Value) -> bool {
        let Value::Number(n) = instance else { return true };
        let text = n.to_string();
        if self.single { text.parse::<f32>().is_ok_and(f32::is_finite) } else { text.parse::<f64>().is_ok_and(f64::is_finite) }
    }
}

impl<'i> jsonschema::Keyword<'i> for Finite {
    fn validate(&self, instance: &'i Value) -> Result<(), jsonschema::ValidationError<'i>> {
        if self.holds(instance) {
            return Ok(());
        }
        let (format, max) = if self.single { ("float", format!("{:e}", f32::MAX)) } else { ("double", format!("{:e}", f64::MAX)) };
        Err(jsonschema::ValidationError::custom(format!(
            "{instance} cannot be represented as a {format}: its magnitude must be at most {max}"
        )))
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        self.holds(instance)
    }
}

/// `required` in a response: the schema's [`RESPONSE_REQUIRED`] list where it has one, else its
/// `required` list. It reports as the built-in keyword does, one violation per missing name.
struct ResponseRequired {
    names: Vec<String>,
}

type Factory<'a> = Result<Box<dyn for<'i> jsonschema::Keyword<'i>>, jsonschema::ValidationError<'a>>;

impl ResponseRequired {
    /// For `required`: checked here with the response's list when the schema has one.
    fn required<'a>(schema: &'a serde_json::Map<String, Value>, value: &'a Value, _: jsonschema::paths::Location) -> Factory<'a> {
        Self::of(schema.get(RESPONSE_REQUIRED).unwrap_or(value))
    }

    /// For [`RESPONSE_REQUIRED`]: checked by `required` when the schema has both (a request that
    /// requires nothing has no `required` left), so that the list is checked once.
    fn own<'a>(schema: &'a serde_json::Map<String, Value>, value: &'a Value, _: jsonschema::paths::Location) -> Factory<'a> {
        if schema.contains_key("required") { Ok(Box::new(ResponseRequired { names: Vec::new() })) } else { Self::of(value) }
    }

    fn of(list: &Value) -> Factory<'_> {
        match list.as_array().map(|l| l.iter().map(|n| n.as_str().map(String::from)).collect::<Option<Vec<_>>>()) {
            Some(Some(names)) => Ok(Box::new(ResponseRequired { names })),
            // The built-in keyword's own error for a list that is not one of names.
            _ => Err(jsonschema::options()
                .build(&json!({ "required": list }))
                .err()
                .unwrap_or_else(|| jsonschema::ValidationError::custom(format!("{list} is not a list of property names")))),
        }
    }

    fn missing<'a>(&'a self, instance: &'a Value) -> impl Iterator<Item = &'a str> + 'a {
        let object = instance.as_object();
        self.names.iter().filter(move |n| object.is_some_and(|o| !o.contains_key(n.as_str()))).map(String::as_str)
    }
}

impl<'i> jsonschema::Keyword<'i> for ResponseRequired {
    fn validate(&self, instance: &'i Value) -> Result<(), jsonschema::ValidationError<'i>> {
        match self.missing(instance).next() {
            Some(name) => Err(jsonschema::ValidationError::custom(format!("{} is a required property", Value::from(name)))),
            None => Ok(()),
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        self.missing(instance).next().is_none()
    }

    fn iter_errors(&self, instance: &'i Value) -> Box<dyn Iterator<Item = jsonschema::ValidationError<'i>> + 'i> {
        let errors: Vec<_> = self
            .missing(instance)
            .map(|name| jsonschema::ValidationError::custom(format!("{} is a required property", Value::from(name))))
            .collect();
        Box::new(errors.into_iter())
    }
}

/// Removes each `pattern` the regex engine cannot compile (a lookbehind of variable length, a class
/// range ECMA-262 allows and Rust does not), with a warning naming it. One bad keyword would
/// otherwise make its whole schema, and so the document, unusable; without it the schema still
/// checks everything else.
pub fn drop_unusable_patterns(file: &Path, doc: &mut Value, schemas: &[String], problems: &mut Vec<Problem>) {
    let mut usable: HashMap<String, bool> = HashMap::new();
    for ptr in schemas {
        let Some(Value::Object(schema)) = lookup_mut(doc, ptr) else {
            continue;
        };
        let Some(Value::String(pattern)) = schema.get("pattern") else {
            continue;
        };
        if !*usable.entry(pattern.clone()).or_insert_with(|| compiles(pattern)) {
            problems.push(Problem::warning(
                file,
                join(ptr, "pattern"),
                format!("pattern {pattern:?} is not a regular expression the validator can compile: ignored, the rest of the schema still applies"),
            ));
            schema.remove("pattern");
        }
    }
}

/// Whether the validator's engine, with its ECMA-262 translation, accepts `pattern`.
fn compiles(pattern: &str) -> bool {
    options().build(&json!({ "pattern": pattern })).is_ok()
}

/// Validates `instance`, collecting every violation as (JSON pointer into the instance, message).
/// A format complaint about a value of the wrong type says nothing new, so it is dropped.
pub fn violations(validator: &Validator, instance: &Value) -> Vec<(String, String)> {
    classified(validator, instance).into_iter().map(|f| (f.at, f.message)).collect()
}

/// One violation found by [`classified`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// JSON pointer into the instance.
    pub at: String,
    pub message: String,
    /// The value cannot be read as its format's type at all (a number no `double` holds):
    /// unreadable input rather than a mismatch with the schema.
    pub unreadable: bool,
}

/// Like [`violations`], telling unreadable values apart.
pub fn classified(validator: &Validator, instance: &Value) -> Vec<Found> {
    // Most instances are valid; `is_valid` answers that without building any error.
    if validator.is_valid(instance) {
        return Vec::new();
    }
    use jsonschema::error::ValidationErrorKind as Kind;
    let all: Vec<(Found, &'static str)> = validator
        .iter_errors(instance)
        .map(|e| {
            let keyword = match e.kind() {
                Kind::Type { .. } => "type",
                Kind::Format { .. } => "format",
                Kind::Custom { keyword, .. } if keyword == FINITE => FINITE,
                _ => "",
            };
            let found = Found { at: e.instance_path().to_string(), message: e.to_string(), unreadable: keyword == FINITE };
            (found, keyword)
        })
        .collect();
    all.iter()
        .filter(|(f, k)| *k != "format" || !all.iter().any(|(f2, k2)| f2.at == f.at && *k2 == "type"))
        .map(|(f, _)| f.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(doc: Value) -> SchemaSet {
        SchemaSet::new(0, doc).expect("indexes")
    }

    #[test]
    fn places_naming_one_schema_share_one_validator_and_a_ref_with_siblings_is_its_own() {
        // Arrange
        let schemas = set(json!({
            "components": {"schemas": {"Pet": {"type": "object", "required": ["name"]}, "Alias": {"$ref": "#/components/schemas/Pet"}}},
            "a": {"schema": {"$ref": "#/components/schemas/Pet"}},
            "b": {"schema": {"$ref": "#/components/schemas/Alias"}},
            "c": {"schema": {"$ref": "#/components/schemas/Pet", "maxProperties": 1}},
        }));
        // Act
        let a = schemas.validator(Flow::Request, "/a/schema").unwrap();
        let b = schemas.validator(Flow::Request, "/b/schema").unwrap();
        let c = schemas.validator(Flow::Request, "/c/schema").unwrap();
        let response = schemas.validator(Flow::Response, "/a/schema").unwrap();
        // Assert
        assert!(Arc::ptr_eq(&a, &b), "a chain of bare $refs ends at one compiled schema");
        assert!(!Arc::ptr_eq(&a, &c) && !Arc::ptr_eq(&a, &response));
        assert_eq!(schemas.target(Flow::Request, "/b/schema"), "/components/schemas/Pet");
        assert!(!c.is_valid(&json!({"name": "x", "age": 1})) && a.is_valid(&json!({"name": "x", "age": 1})));
    }

    #[test]
    fn one_document_gives_each_flow_its_own_required_list_with_the_built_in_messages() {
        // Arrange: `id` is readOnly, `password` writeOnly, as `dialect::split_required` records them
        let schemas = set(json!({"components": {"schemas": {
            "User": {"type": "object", "required": ["name", "password"], RESPONSE_REQUIRED: ["id", "name"], "properties": {
                "id": {"type": "string", "readOnly": true}, "name": {"type": "string"}, "password": {"type": "string", "writeOnly": true}
            }},
            "Created": {"type": "object", RESPONSE_REQUIRED: ["id"], "properties": {"id": {"type": "string", "readOnly": true}}},
            "Plain": {"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "integer"}}}
        }}}));
        let user = "/components/schemas/User";
        // Act
        let request = schemas.validator(Flow::Request, user).unwrap();
        let response = schemas.validator(Flow::Response, user).unwrap();
        let created = schemas.validator(Flow::Response, "/components/schemas/Created").unwrap();
        let plain = schemas.validator(Flow::Response, "/components/schemas/Plain").unwrap();
        // Assert
        assert!(request.is_valid(&json!({"name": "n", "password": "p"})) && !request.is_valid(&json!({"name": "n", "id": "1"})));
        assert!(response.is_valid(&json!({"name": "n", "id": "1"})) && !response.is_valid(&json!({"name": "n", "password": "p"})));
        let missing = |name: &str| (String::new(), format!("\"{name}\" is a required property"));
        assert_eq!(violations(&response, &json!({})), [missing("id"), missing("name")]);
        assert_eq!(violations(&request, &json!({})), [missing("name"), missing("password")]);
        assert_eq!(violations(&created, &json!({})), [missing("id")]);
        assert!(schemas.validator(Flow::Request, "/components/schemas/Created").unwrap().is_valid(&json!({})));
        let both: Vec<_> = violations(&plain, &json!({"a": "x"}));
        assert!(both.contains(&missing("b")) && both.len() == 2, "{both:?}");
        assert!(set(json!({"s": {"required": ["a"]}})).compile(Flow::Response, "/s").unwrap().is_valid(&json!("x")), "objects only");
        assert!(set(json!({"s": {"required": [1]}})).compile(Flow::Response, "/s").is_err(), "a list of non-names is refused, as before");
    }

    #[test]
    fn a_bounded_set_drops_the_least_recently_used_validator() {
        // Arrange
        let schemas = set(json!({"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "boolean"}}));
        schemas.keep_at_most(2);
        let a = schemas.validator(Flow::Request, "/a").unwrap();
        let b = schemas.validator(Flow::Request, "/b").unwrap();
        // Act: a is used again, so c pushes b out
        assert!(Arc::ptr_eq(&a, &schemas.validator(Flow::Request, "/a").unwrap()));
        schemas.validator(Flow::Request, "/c").unwrap();
        // Assert
        assert!(Arc::ptr_eq(&a, &schemas.validator(Flow::Request, "/a").unwrap()), "recently used: kept");
        assert!(!Arc::ptr_eq(&b, &schemas.validator(Flow::Request, "/b").unwrap()), "least recently used: compiled again");
    }

    #[test]
    fn a_bound_on_the_response_flow_leaves_request_validators_kept() {
        // Arrange: what serve --self-check sets
        let schemas = set(json!({"a": {"type": "string"}, "b": {"type": "integer"}}));
        schemas.keep_at_most_for(Flow::Response, 1);
        let request_a = schemas.validator(Flow::Request, "/a").unwrap();
        let response_a = schemas.validator(Flow::Response, "/a").unwrap();
        // Act
        schemas.validator(Flow::Request, "/b").unwrap();
        schemas.validator(Flow::Response, "/b").unwrap();
        // Assert
        assert!(schemas.bounded(Flow::Response) && !schemas.bounded(Flow::Request));
        assert!(Arc::ptr_eq(&request_a, &schemas.validator(Flow::Request, "/a").unwrap()), "requests: every validator kept");
        assert!(!Arc::ptr_eq(&response_a, &schemas.validator(Flow::Response, "/a").unwrap()), "responses: only the last one");
    }

    #[test]
    fn lookaround_and_backreferences_compile_and_validate() {
        let schemas = set(json!({"s": {"type": "string", "pattern": "^(?!admin).*$"}, "b": {"pattern": "^(a)\\1$"}}));
        let not_admin = schemas.compile(Flow::Request, "/s").expect("lookahead compiles");
        assert!(not_admin.is_valid(&json!("alice")));
        assert!(!not_admin.is_valid(&json!("admin-1")));
        let twice = schemas.compile(Flow::Request, "/b").expect("backreference compiles");
        assert!(twice.is_valid(&json!("aa")) && !twice.is_valid(&json!("ab")));
    }

    #[test]
    fn an_uncompilable_pattern_is_dropped_with_a_warning_and_the_rest_still_validates() {
        // Arrange: `-` after a class escape, which ECMA-262 reads as a literal and Rust refuses.
        let mut doc = json!({"s": {"type": "string", "maxLength": 3, "pattern": "^[\\w-.]+$"}, "ok": {"pattern": "^x$"}});
        let mut problems = Vec::new();
        // Act
        drop_unusable_patterns(Path::new("api.yaml"), &mut doc, &["/s".into(), "/ok".into()], &mut problems);
        // Assert
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].pointer.as_str(), problems[0].is_error()), ("/s/pattern", false));
        assert!(doc["s"].get("pattern").is_none() && doc["ok"]["pattern"] == "^x$");
        let validator = set(doc).compile(Flow::Request, "/s").expect("compiles without it");
        assert!(validator.is_valid(&json!("a-b")));
        assert!(!validator.is_valid(&json!("abcd")) && !validator.is_valid(&json!(1)));
    }
}
