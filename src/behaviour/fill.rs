//! Server-set fields of a new or changed record, found by their names in the resource schema:
//! the id, creation and modification timestamps, who created or changed it, the organisation,
//! defaults and enum starting states, as the real APIs fill them. Every value it makes has the
//! field's declared type and format, so a stored record always answers what the spec allows.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::generate::{self, GenOptions, Realistic};
use crate::spec::model::types_of;
use crate::spec::source::deref;
use crate::validate::Credential;

/// Who is calling, as far as a mock can tell from the credential.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: Option<String>,
    pub org: Option<String>,
}

impl Caller {
    /// A JWT's `sub` and organisation claims when the token is one; else a stable id derived
    /// from the credential, so the same token always maps to the same user.
    pub fn from_credential(c: Option<&Credential>) -> Self {
        let Some(c) = c else { return Caller::default() };
        if let Some(claims) = jwt_claims(&c.secret) {
            let pick = |names: &[&str]| names.iter().find_map(|n| claims.get(*n).and_then(Value::as_str).map(String::from));
            let user = pick(&["sub", "user_id", "userId"]);
            let org = pick(&["org_id", "organizationId", "organization_id", "org", "tenant"]);
            if user.is_some() || org.is_some() {
                return Caller { user, org };
            }
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        c.subject().hash(&mut h);
        let n = h.finish();
        Caller { user: Some(format!("user-{n:016x}")), org: Some(format!("org-{:08x}", n >> 32)) }
    }
}

fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?.as_object().cloned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    Created,
    Modified,
    Creator,
    Modifier,
    Org,
}

/// Which server-set role a field plays, from its name.
pub fn stamp_of(name: &str) -> Option<Stamp> {
    let n = name.to_ascii_lowercase().replace('_', "");
    match n.as_str() {
        "createddate" | "createdat" | "createtime" | "creationtime" | "created" | "createdon" => Some(Stamp::Created),
        "modifieddate" | "modifiedat" | "updatedat" | "updateddate" | "updatetime" | "lastchangedat" | "lastmodified" | "lastupdated"
        | "updated" | "modified" => Some(Stamp::Modified),
        "createdbyuserid" | "createdby" | "creatorid" | "owner" => Some(Stamp::Creator),
        "modifiedbyuserid" | "modifiedby" | "updatedby" | "lastchangedby" | "updatedbyuserid" => Some(Stamp::Modifier),
        "organizationid" | "orgid" | "organisationid" | "tenantid" => Some(Stamp::Org),
        _ => None,
    }
}

/// The resolved object schema: its properties (allOf branches merged) and required names.
pub fn properties(doc: &Value, schema: &Value) -> (Map<String, Value>, Vec<String>) {
    let (schema, _) = deref(doc, schema, "");
    let mut props = Map::new();
    let mut required = Vec::new();
    let mut visit = |s: &Value| {
        for (k, v) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            props.insert(k.clone(), deref(doc, v, "").0.clone());
        }
        for r in crate::generate::required_names(s, crate::generate::Direction::Response) {
            required.push(r.to_string());
        }
    };
    visit(schema);
    for b in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        visit(deref(doc, b, "").0);
    }
    (props, required)
}

fn is_nullable(doc: &Value, s: &Value) -> bool {
    types_of(doc, s).iter().any(|t| t == "null")
}

fn is_date_time(s: &Value) -> bool {
    s.get("format").and_then(Value::as_str) == Some("date-time")
}

/// The whole record's schema, resolved once per binding: its properties (each with the stamp
/// its name makes it) and required names. Resolving it on every write was a fifth of a stateful
/// request's work.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordShape {
    pub props: Map<String, Value>,
    pub required: Vec<String>,
    stamps: Vec<(String, Stamp)>,
    /// The object schema the properties come from, to generate a whole record from.
    pub schema: Option<Value>,
    /// The record's schema, which stored fields must pass (the compiler sets it).
    pub check: Option<Check>,
}

/// The record schema's pointer and its validator, compiled on the first write that needs it
/// (compiling every resource's at start doubled the start-up of Stripe's description), shared
/// by the bindings of one resource.
#[derive(Clone)]
pub struct Check {
    pub pointer: String,
    compiled: std::sync::Arc<std::sync::OnceLock<Option<jsonschema::Validator>>>,
}

impl Check {
    pub fn new(pointer: String) -> Self {
        Check { pointer, compiled: Default::default() }
    }

    fn validator(&self, schemas: &crate::spec::schemas::SchemaSet) -> Option<&jsonschema::Validator> {
        self.compiled.get_or_init(|| schemas.compile(crate::spec::walk::Flow::Response, &self.pointer).ok()).as_ref()
    }
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Check({})", self.pointer)
    }
}

impl PartialEq for Check {
    fn eq(&self, other: &Self) -> bool {
        self.pointer == other.pointer
    }
}

impl RecordShape {
    pub fn of(doc: &Value, schema: Option<&Value>) -> Self {
        let Some(schema) = schema else { return RecordShape::default() };
        let (mut props, mut required) = properties(doc, schema);
        let mut chosen = deref(doc, schema, "").0.clone();
        if props.is_empty() {
            // A read that answers one of several shapes (Stripe's customer or deleted customer)
            // stores the first one that has fields: otherwise nothing would be filled at all.
            let resolved = deref(doc, schema, "").0;
            let branches = ["anyOf", "oneOf"].iter().filter_map(|k| resolved.get(*k).and_then(Value::as_array)).flatten();
            for b in branches {
                let (p, r) = properties(doc, b);
                if !p.is_empty() {
                    (props, required, chosen) = (p, r, deref(doc, b, "").0.clone());
                    break;
                }
            }
        }
        let stamps = props.keys().filter_map(|k| stamp_of(k).map(|s| (k.clone(), s))).collect();
        RecordShape { props, required, stamps, schema: Some(chosen), check: None }
    }

    pub fn is_empty(&self) -> bool {
        self.props.is_empty()
    }

    fn stamp(&self, name: &str) -> Option<Stamp> {
        self.stamps.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }
}

/// Fills what the server sets on creation: stamps, defaults, and whatever the response schema
/// requires that the client did not send.
/// Generated values are realistic with `realistic` (`--data realistic`).
pub fn on_create(
    data: &mut Map<String, Value>,
    doc: &Value,
    shape: &RecordShape,
    caller: &Caller,
    now: &str,
    realistic: Option<Realistic>,
) {
    let required = &shape.required;
    for (name, prop) in &shape.props {
        if data.contains_key(name) {
            continue;
        }
        let value = match shape.stamp(name) {
            Some(Stamp::Created | Stamp::Modified) => time_value(doc, prop, now),
            Some(Stamp::Creator | Stamp::Modifier) => caller.user.as_deref().and_then(|u| caller_value(u, Some(prop), doc)),
            Some(Stamp::Org) => caller.org.as_deref().and_then(|o| caller_value(o, Some(prop), doc)),
            _ => None,
        };
        let value = value.or_else(|| prop.get("default").cloned()).or_else(|| live_mode(doc, name, prop)).or_else(|| {
            // Optional server fields stay absent rather than filled with made-up data; a
            // nullable one reads as null, which is what a real server shows before it is set.
            let read_only = prop.get("readOnly") == Some(&Value::Bool(true));
            if (read_only || required.contains(name)) && is_nullable(doc, prop) {
                return Some(Value::Null);
            }
            if !required.contains(name) {
                return None;
            }
            let opts = GenOptions { realistic: realistic.map(|r| r.fork(name)), name: Some(name), ..GenOptions::default() };
            Some(generate::generate(prop, doc, &opts))
        });
        if let Some(v) = value {
            data.insert(name.clone(), v);
        }
    }
}

/// Keeps a record to what its schema allows: a field the request sent in the shape of a create
/// parameter (Stripe's `cash_balance: {settings: …}`, a `cardholder` id where the resource
/// expands the object) would otherwise be answered as it came, against the spec. Such a field is
/// dropped when optional and generated anew when required; the key field is left alone.
pub fn conform(
    data: &mut Map<String, Value>,
    schemas: &crate::spec::schemas::SchemaSet,
    shape: &RecordShape,
    key: &str,
    realistic: Option<Realistic>,
) {
    let Some(check) = shape.check.as_ref().and_then(|c| c.validator(schemas)) else { return };
    let doc = schemas.doc(crate::spec::walk::Flow::Response);
    for _ in 0..3 {
        // Checked in place: the record moves into a `Value` and back rather than being copied.
        let whole = Value::Object(std::mem::take(data));
        let found = crate::spec::schemas::violations(check, &whole);
        if let Value::Object(back) = whole {
            *data = back;
        }
        let mut fields: Vec<String> = found
            .iter()
            .filter_map(|(at, _)| at.split('/').nth(1))
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .filter(|name| name != key && data.contains_key(name))
            .collect();
        fields.sort();
        fields.dedup();
        if fields.is_empty() {
            return;
        }
        for name in fields {
            match shape.props.get(&name).filter(|_| shape.required.contains(&name)) {
                Some(prop) => {
                    let opts = GenOptions { realistic: realistic.map(|r| r.fork(&name)), name: Some(&name), ..GenOptions::default() };
                    let value = if is_nullable(doc, prop) { Value::Null } else { generate::generate(prop, doc, &opts) };
                    data.insert(name, value);
                }
                None => {
                    data.remove(&name);
                }
            }
        }
    }
}

/// A mock's records are never live: Stripe's `livemode` (and the like) reads false, as it does
/// for a test key.
fn live_mode(doc: &Value, name: &str, prop: &Value) -> Option<Value> {
    let n = name.to_ascii_lowercase().replace('_', "");
    let boolean = types_of(doc, prop).iter().any(|t| t == "boolean");
    (boolean && matches!(n.as_str(), "livemode" | "islive")).then_some(Value::Bool(false))
}

/// Refreshes the modification stamps after a change.
pub fn on_change(data: &mut Map<String, Value>, doc: &Value, shape: &RecordShape, caller: &Caller, now: &str) {
    for (name, stamp) in &shape.stamps {
        let prop = shape.props.get(name);
        let value = match stamp {
            Stamp::Modified => prop.and_then(|p| time_value(doc, p, now)),
            Stamp::Modifier => caller.user.as_deref().and_then(|u| caller_value(u, prop, doc)),
            _ => None,
        };
        if let Some(v) = value {
            data.insert(name.clone(), v);
        }
    }
}

/// `now` as the field declares time: an RFC 3339 string, or Unix seconds for an integer field
/// (Stripe's `created`). None for a field of any other type, which a name alone does not make a
/// timestamp.
fn time_value(doc: &Value, prop: &Value, now: &str) -> Option<Value> {
    let types = types_of(doc, prop);
    if is_date_time(prop) || types.iter().any(|t| t == "string") {
        return Some(Value::String(now.to_string()));
    }
    if types.iter().any(|t| t == "integer" || t == "number") {
        let at = time::OffsetDateTime::parse(now, &time::format_description::well_known::Rfc3339).ok()?;
        return Some(Value::from(at.unix_timestamp()));
    }
    None
}

/// The caller's identity as a value of the field's type and format: a uuid derived stably from
/// it for `format: uuid`, an address for `format: email`, a number for an integer field, the id
/// itself for a plain string. None when the field cannot hold an identity (an object `owner`):
/// the field is then filled like any other.
pub fn caller_value(user: &str, prop: Option<&Value>, doc: &Value) -> Option<Value> {
    let Some(prop) = prop else { return Some(Value::String(user.to_string())) };
    let types = types_of(doc, prop);
    let string = types.is_empty() || types.iter().any(|t| t == "string");
    let value = if string {
        let text = match prop.get("format").and_then(Value::as_str) {
            Some("uuid") if uuid::Uuid::parse_str(user).is_err() => stable_uuid(user),
            Some("email" | "idn-email") if !user.contains('@') => {
                let local: String = user.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')).collect();
                format!("{}@example.com", if local.is_empty() { "user" } else { &local })
            }
            _ => user.to_string(),
        };
        Value::String(text)
    } else if types.iter().any(|t| t == "integer" || t == "number") {
        Value::from(stable_hash(user) % 1_000_000_000 + 1)
    } else {
        return None;
    };
    fits(doc, prop, &value).then_some(value)
}

fn stable_hash(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The same text always gives the same uuid, so one credential is one user across writes.
fn stable_uuid(text: &str) -> String {
    let (a, b) = (stable_hash(text), stable_hash(&format!("{text}#2")));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Whether `value` may stand in a field of schema `prop`: its type, and the scalar keywords
/// (pattern, format, lengths, enum) checked by a validator built once per schema.
pub fn fits(doc: &Value, prop: &Value, value: &Value) -> bool {
    let types = types_of(doc, prop);
    let typed = types.is_empty()
        || types.iter().any(|t| match t.as_str() {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            "null" => value.is_null(),
            _ => true,
        });
    typed && scalar_validator(prop).is_none_or(|v| v.is_valid(value))
}

/// Whether a value the client sent may be stored in a field of schema `prop`: it [`fits`], and
/// an array's items have the items' type (GitHub's request takes `assignees: ["octocat"]` where its
/// answers hold user objects). What does not agree is left out of the record, which the
/// response's own schema then completes.
pub fn agrees(doc: &Value, prop: &Value, value: &Value) -> bool {
    if !fits(doc, prop, value) {
        return false;
    }
    let (resolved, _) = deref(doc, prop, "");
    match (value, resolved.get("items")) {
        (Value::Array(items), Some(schema)) => {
            let schema = deref(doc, schema, "").0;
            items.iter().all(|item| fits(doc, schema, item))
        }
        _ => true,
    }
}

/// Removes from `data` the fields the record's schema types otherwise (see [`agrees`]).
pub fn drop_disagreeing(data: &mut Map<String, Value>, doc: &Value, shape: &RecordShape) {
    data.retain(|name, value| value.is_null() || shape.props.get(name).is_none_or(|prop| agrees(doc, prop, value)));
}

thread_local! {
    static VALIDATORS: RefCell<HashMap<String, Option<Rc<jsonschema::Validator>>>> = RefCell::new(HashMap::new());
}

/// A validator for the scalar keywords of `prop` alone: references and nested schemas are left
/// out, since they point into a document a standalone validator cannot see.
fn scalar_validator(prop: &Value) -> Option<Rc<jsonschema::Validator>> {
    const KEYS: [&str; 8] = ["pattern", "format", "minLength", "maxLength", "enum", "const", "minimum", "maximum"];
    let obj = prop.as_object()?;
    let kept: Map<String, Value> = obj.iter().filter(|(k, _)| KEYS.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if kept.is_empty() {
        return None;
    }
    let schema = Value::Object(kept);
    let key = schema.to_string();
    VALIDATORS.with(|cache| {
        if let Some(hit) = cache.borrow().get(&key) {
            return hit.clone();
        }
        let built = generate::with_openapi_formats(jsonschema::options())
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .with_pattern_options(jsonschema::PatternOptions::fancy_regex())
            .build(&schema)
            .ok()
            .map(Rc::new);
        let mut cache = cache.borrow_mut();
        if cache.len() >= 512 {
            cache.clear();
        }
        cache.insert(key, built.clone());
        built
    })
}

/// Which fields an answer shows (those the response schema declares, never writeOnly ones), so
/// a stored record answers in the shape each operation promises. Worked out once per response
/// schema: resolving the schema's
/// `$ref`s and `allOf`s on every answer was a fifth of a stateful request's work.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// No schema, or one that does not list properties: the record as stored.
    All,
    /// An object schema that declares nothing (`StopRunResponse: {type: object}`): `{}`.
    Empty,
    /// The declared properties (writeOnly ones left out), whether others pass too, and a value
    /// for each required one a record lacks (a fixture written before the field, a response
    /// that requires more than the record's schema): made once, so every answer agrees.
    Fields { keep: std::collections::HashSet<String>, hide: std::collections::HashSet<String>, open: bool, complete: Vec<(String, Value)> },
}

impl Projection {
    /// `realistic`: what values completing a record look like (`--data realistic`).
    pub fn of(doc: &Value, schema: Option<&Value>, realistic: Option<Realistic>) -> Self {
        let Some(schema) = schema else { return Projection::All };
        let (props, required) = properties(doc, schema);
        let resolved = deref(doc, schema, "").0;
        if props.is_empty() {
            let declares_nothing = ["allOf", "anyOf", "oneOf", "additionalProperties", "patternProperties", "items"]
                .iter()
                .all(|k| resolved.get(*k).is_none());
            let object = resolved.get("type") == Some(&Value::String("object".into()));
            return if declares_nothing && object { Projection::Empty } else { Projection::All };
        }
        let open = matches!(resolved.get("additionalProperties"), Some(Value::Object(_)) | Some(Value::Bool(true)));
        let write_only = |p: &Value| p.get("writeOnly") == Some(&Value::Bool(true));
        let keep = props.iter().filter(|(_, p)| !write_only(p)).map(|(k, _)| k.clone()).collect();
        let hide = props.iter().filter(|(_, p)| write_only(p)).map(|(k, _)| k.clone()).collect();
        let complete = required
            .iter()
            .filter_map(|name| props.get(name).filter(|p| !write_only(p)).map(|p| (name, p)))
            .map(|(name, p)| {
                let opts = GenOptions { realistic: realistic.map(|r| r.fork(name)), name: Some(name), ..GenOptions::default() };
                let value = if is_nullable(doc, p) { Value::Null } else { generate::generate(p, doc, &opts) };
                (name.clone(), value)
            })
            .collect();
        Projection::Fields { keep, hide, open, complete }
    }

    pub fn apply(&self, data: &Value) -> Value {
        let (Projection::Fields { keep, hide, open, complete }, Value::Object(obj)) = (self, data) else {
            return match self {
                Projection::Empty if data.is_object() => Value::Object(Map::new()),
                _ => data.clone(),
            };
        };
        let shown = obj.iter().filter(|(k, _)| keep.contains(k.as_str()) || (*open && !hide.contains(k.as_str())));
        let mut out: Map<String, Value> = shown.map(|(k, v)| (k.clone(), v.clone())).collect();
        for (name, value) in complete {
            if !out.contains_key(name) {
                out.insert(name.clone(), value.clone());
            }
        }
        Value::Object(out)
    }

    /// [`Projection::apply`] on a value the caller gives up: the shown fields are kept in place,
    /// not copied (a stateful answer's record is its own).
    pub fn apply_owned(&self, data: Value) -> Value {
        match (self, data) {
            (Projection::Fields { keep, hide, open, complete }, Value::Object(mut obj)) => {
                obj.retain(|k, _| keep.contains(k.as_str()) || (*open && !hide.contains(k.as_str())));
                for (name, value) in complete {
                    if !obj.contains_key(name) {
                        obj.insert(name.clone(), value.clone());
                    }
                }
                Value::Object(obj)
            }
            (Projection::Empty, Value::Object(_)) => Value::Object(Map::new()),
            (_, data) => data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stamps_are_recognised_by_name() {
        assert_eq!(stamp_of("createdDate"), Some(Stamp::Created));
        assert_eq!(stamp_of("last_changed_at"), Some(Stamp::Modified));
        assert_eq!(stamp_of("createdByUserId"), Some(Stamp::Creator));
        assert_eq!(stamp_of("organizationId"), Some(Stamp::Org));
        assert_eq!(stamp_of("name"), None);
    }

    #[test]
    fn create_fills_stamps_defaults_and_required_server_fields() {
        let doc = json!({});
        let schema = json!({"type": "object", "required": ["state"], "properties": {
            "createdAt": {"type": "string", "format": "date-time"},
            "createdByUserId": {"type": "string"},
            "state": {"type": "string", "enum": ["NEW", "RUNNING"]},
            "endedAt": {"type": ["string", "null"], "readOnly": true},
            "pinned": {"type": "boolean", "default": false},
            "note": {"type": "string"}
        }});
        let mut data = Map::new();
        let caller = Caller { user: Some("u1".into()), org: None };
        on_create(&mut data, &doc, &RecordShape::of(&doc, Some(&schema)), &caller, "2026-01-01T00:00:00Z", None);
        assert_eq!(
            Value::Object(data),
            json!({"createdAt": "2026-01-01T00:00:00Z", "createdByUserId": "u1", "state": "NEW", "endedAt": null, "pinned": false})
        );
    }

    #[test]
    fn the_caller_takes_the_type_and_format_of_its_field() {
        let doc = json!({});
        let user = "user-8874f3490fc9aa81";
        let uuid_field = json!({"type": "string", "format": "uuid"});
        let a = caller_value(user, Some(&uuid_field), &doc).unwrap();
        assert!(uuid::Uuid::parse_str(a.as_str().unwrap()).is_ok(), "{a}");
        assert_eq!(caller_value(user, Some(&uuid_field), &doc), Some(a), "stable for one credential");
        let email = caller_value(user, Some(&json!({"type": "string", "format": "email"})), &doc).unwrap();
        assert_eq!(email, json!("user-8874f3490fc9aa81@example.com"));
        assert_eq!(caller_value(user, Some(&json!({"type": "string"})), &doc), Some(json!(user)));
        assert!(caller_value(user, Some(&json!({"type": "integer"})), &doc).unwrap().is_u64());
        assert_eq!(caller_value(user, Some(&json!({"type": "object", "properties": {"login": {"type": "string"}}})), &doc), None);
        assert_eq!(caller_value(user, Some(&json!({"type": "string", "maxLength": 4})), &doc), None);
    }

    #[test]
    fn create_completes_required_server_fields_in_their_types() {
        let doc = json!({"components": {"schemas": {
            "customer": {"type": "object", "required": ["id", "object", "created", "livemode", "owner"], "properties": {
                "id": {"type": "string"},
                "object": {"type": "string", "enum": ["customer"]},
                "created": {"type": "integer"},
                "livemode": {"type": "boolean"},
                "owner": {"type": "object", "required": ["login"], "properties": {"login": {"type": "string"}}}
            }},
            "deleted": {"type": "object", "properties": {"deleted": {"type": "boolean"}}}
        }}});
        let read = json!({"anyOf": [{"$ref": "#/components/schemas/customer"}, {"$ref": "#/components/schemas/deleted"}]});
        let shape = RecordShape::of(&doc, Some(&read));
        let mut data = json!({"id": "cus_1", "email": "a@b.c"}).as_object().cloned().unwrap();
        on_create(&mut data, &doc, &shape, &Caller { user: Some("u1".into()), org: None }, "2026-01-01T00:00:00Z", None);
        assert_eq!(data["object"], "customer");
        assert_eq!(data["created"], 1_767_225_600);
        assert!(data["livemode"].is_boolean());
        assert!(data["owner"]["login"].is_string(), "{data:?}");
    }

    #[test]
    fn a_projection_completes_the_required_fields_a_record_lacks() {
        let schema = json!({"type": "object", "required": ["id", "kind", "note"], "properties": {
            "id": {"type": "string"}, "kind": {"type": "string", "enum": ["a"]}, "note": {"type": ["string", "null"]}
        }});
        let shown = Projection::of(&json!({}), Some(&schema), None).apply(&json!({"id": "1"}));
        assert_eq!(shown, json!({"id": "1", "kind": "a", "note": null}));
    }

    #[test]
    fn fits_checks_type_and_scalar_keywords() {
        let doc = json!({});
        assert!(fits(&doc, &json!({"type": "string", "pattern": "^cus_"}), &json!("cus_1")));
        assert!(!fits(&doc, &json!({"type": "string", "pattern": "^cus_"}), &json!("x")));
        assert!(!fits(&doc, &json!({"type": "object"}), &json!("octocat")));
        assert!(!fits(&doc, &json!({"type": "string", "format": "uuid"}), &json!("user-1")));
    }

    #[test]
    fn project_drops_undeclared_and_write_only_fields() {
        let schema = json!({"type": "object", "properties": {"id": {"type": "string"}, "pw": {"type": "string", "writeOnly": true}}});
        assert_eq!(Projection::of(&json!({}), Some(&schema), None).apply(&json!({"id": "1", "pw": "x", "extra": 1})), json!({"id": "1"}));
    }

    #[test]
    fn apply_owned_shows_what_apply_shows() {
        let closed = json!({"type": "object", "required": ["kind"], "properties": {
            "id": {"type": "string"}, "pw": {"type": "string", "writeOnly": true}, "kind": {"type": "string", "enum": ["a"]}
        }});
        let open = json!({"type": "object", "additionalProperties": true, "properties": {"pw": {"type": "string", "writeOnly": true}}});
        let schemas = [closed, open, json!({"type": "object"}), json!({"type": "string"})];
        let records = [json!({"id": "1", "pw": "x", "extra": 1, "kind": "a"}), json!({"extra": [1]}), json!("text"), json!({})];
        for schema in &schemas {
            let p = Projection::of(&json!({}), Some(schema), None);
            for r in &records {
                assert_eq!(p.apply_owned(r.clone()), p.apply(r), "{schema} on {r}");
            }
        }
    }

    #[test]
    fn jwt_claims_name_the_caller() {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"user-7","org_id":"org-1"}"#);
        let c = Credential { scheme: "bearer".into(), secret: format!("h.{payload}.s"), user: None };
        let caller = Caller::from_credential(Some(&c));
        assert_eq!((caller.user.as_deref(), caller.org.as_deref()), (Some("user-7"), Some("org-1")));
        let plain = Caller::from_credential(Some(&Credential { scheme: "bearer".into(), secret: "abc".into(), user: None }));
        assert!(plain.user.unwrap().starts_with("user-"));
    }
}
