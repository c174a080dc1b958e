//! Server-set fields of a new or changed record, found by their names in the resource schema:
//! the id, creation and modification timestamps, who created or changed it, the organisation,
//! defaults and enum starting states, as the real APIs fill them.

use std::hash::{Hash, Hasher};

use serde_json::{Map, Value};

use crate::generate::{self, GenOptions};
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
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
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
}

impl RecordShape {
    pub fn of(doc: &Value, schema: Option<&Value>) -> Self {
        let Some(schema) = schema else { return RecordShape::default() };
        let (props, required) = properties(doc, schema);
        let stamps = props.keys().filter_map(|k| stamp_of(k).map(|s| (k.clone(), s))).collect();
        RecordShape { props, required, stamps }
    }

    fn stamp(&self, name: &str) -> Option<Stamp> {
        self.stamps.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }
}

/// Fills what the server sets on creation: stamps, defaults, and whatever the response schema
/// requires that the client did not send.
pub fn on_create(data: &mut Map<String, Value>, doc: &Value, shape: &RecordShape, caller: &Caller, now: &str) {
    let required = &shape.required;
    for (name, prop) in &shape.props {
        if data.contains_key(name) {
            continue;
        }
        let value = match shape.stamp(name) {
            Some(Stamp::Created | Stamp::Modified) if is_date_time(prop) || prop.get("type") == Some(&Value::String("string".into())) => {
                Some(Value::String(now.to_string()))
            }
            Some(Stamp::Creator | Stamp::Modifier) => caller.user.clone().map(Value::String),
            Some(Stamp::Org) => caller.org.clone().map(Value::String),
            _ => None,
        };
        let value = value.or_else(|| prop.get("default").cloned()).or_else(|| {
            // Optional server fields stay absent rather than filled with made-up data; a
            // nullable one reads as null, which is what a real server shows before it is set.
            let read_only = prop.get("readOnly") == Some(&Value::Bool(true));
            if (read_only || required.contains(name)) && is_nullable(doc, prop) {
                return Some(Value::Null);
            }
            if !required.contains(name) {
                return None;
            }
            Some(generate::generate(prop, doc, &GenOptions::default()))
        });
        if let Some(v) = value {
            data.insert(name.clone(), v);
        }
    }
}

/// Refreshes the modification stamps after a change.
pub fn on_change(data: &mut Map<String, Value>, shape: &RecordShape, caller: &Caller, now: &str) {
    for (name, stamp) in &shape.stamps {
        match stamp {
            Stamp::Modified => {
                data.insert(name.clone(), Value::String(now.to_string()));
            }
            Stamp::Modifier => {
                if let Some(u) = &caller.user {
                    data.insert(name.clone(), Value::String(u.clone()));
                }
            }
            _ => {}
        }
    }
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
    /// The declared properties (writeOnly ones left out), and whether others pass too.
    Fields { keep: std::collections::HashSet<String>, hide: std::collections::HashSet<String>, open: bool },
}

impl Projection {
    pub fn of(doc: &Value, schema: Option<&Value>) -> Self {
        let Some(schema) = schema else { return Projection::All };
        let (props, _) = properties(doc, schema);
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
        Projection::Fields { keep, hide, open }
    }

    pub fn apply(&self, data: &Value) -> Value {
        let (Projection::Fields { keep, hide, open }, Value::Object(obj)) = (self, data) else {
            return match self {
                Projection::Empty if data.is_object() => Value::Object(Map::new()),
                _ => data.clone(),
            };
        };
        let shown = obj.iter().filter(|(k, _)| keep.contains(k.as_str()) || (*open && !hide.contains(k.as_str())));
        Value::Object(shown.map(|(k, v)| (k.clone(), v.clone())).collect())
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
        on_create(&mut data, &doc, &RecordShape::of(&doc, Some(&schema)), &caller, "2026-01-01T00:00:00Z");
        assert_eq!(
            Value::Object(data),
            json!({"createdAt": "2026-01-01T00:00:00Z", "createdByUserId": "u1", "state": "NEW", "endedAt": null, "pinned": false})
        );
    }

    #[test]
    fn project_drops_undeclared_and_write_only_fields() {
        let schema = json!({"type": "object", "properties": {"id": {"type": "string"}, "pw": {"type": "string", "writeOnly": true}}});
        assert_eq!(Projection::of(&json!({}), Some(&schema)).apply(&json!({"id": "1", "pw": "x", "extra": 1})), json!({"id": "1"}));
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
