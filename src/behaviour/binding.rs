//! What an operation does to the store: read from its `x-specstub` extension, or inferred from
//! plain REST paths (`POST /things` creates, `GET /things/{id}` reads...). Parsed once at load;
//! a malformed extension is a load problem with its pointer, never a request-time surprise.

use std::collections::HashMap;

use http::Method;
use serde_json::{Map, Value};

use crate::spec::walk::Flow;
use crate::spec::{Operation, ParamIn, Problem, SpecSet, source::deref};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Get,
    List,
    Update,
    Replace,
    Delete,
    /// A state change or custom action (`/start`, `:retry`, `:stop`).
    Transition,
}

/// Where the resource id comes from in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSource {
    Path(String),
    Query(String),
    /// JSON pointer into the request body.
    Body(String),
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFormat {
    Uuid,
    Ulid,
    Integer,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Literal(Value),
    /// Now, or the date-time in this query parameter when given.
    Now {
        query: Option<String>,
    },
    /// Milliseconds between two date-time fields of the record.
    MillisBetween(String, String),
    /// The caller's identity.
    Caller,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub pointer: String,
    /// "now" or a JSON pointer into the same body.
    pub after: String,
    pub status: u16,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListConfig {
    pub items: Option<String>,
    pub page_size: Option<String>,
    pub page_token: Option<String>,
    pub next_page_token: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub total: Option<String>,
    /// boolean field that says whether another page follows
    pub has_more: Option<String>,
    pub default_page_size: usize,
    pub max_page_size: usize,
    /// query parameter → record field that must equal it
    pub filters: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MaskConfig {
    /// Name of the body field (or query parameter) with the comma-separated paths.
    pub field: String,
    pub in_query: bool,
    /// mask path → record field; empty means any field of the resource.
    pub paths: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub grpc_code: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub resource: String,
    pub action: Action,
    pub id: IdSource,
    /// The record field that holds the id.
    pub key: String,
    pub id_format: IdFormat,
    /// Path parameters that place records inside a parent.
    pub scope: Vec<String>,
    pub request_envelope: Option<String>,
    pub response_envelope: Option<String>,
    pub list: ListConfig,
    pub mask: Option<MaskConfig>,
    pub set_once: Vec<String>,
    pub unique: Vec<String>,
    /// Record field that mirrors the version (the ETag's number).
    pub version_field: Option<String>,
    pub if_match_required: bool,
    pub defaults: Map<String, Value>,
    pub set: Vec<(String, SetValue)>,
    /// Transition guard: field and the values it may have before.
    pub state_field: Option<String>,
    pub from: Vec<Value>,
    pub to: Option<Value>,
    pub illegal: Refusal,
    pub conflict: Refusal,
    pub checks: Vec<Check>,
    /// (resource, id template with {param}s) that must exist.
    pub parent: Option<(String, String)>,
    /// Pointer (in the response document) of the resource's schema, for server-filled fields.
    pub schema: Option<String>,
    /// Pointer of the whole record's schema (the get operation's), for stamps and server fields.
    pub record_schema: Option<String>,
    /// The answer's shape, worked out on first use from `schema`.
    pub projection: std::sync::OnceLock<super::fill::Projection>,
    /// `record_schema` resolved, on first use.
    pub record_shape: std::sync::OnceLock<super::fill::RecordShape>,
    /// Response status to answer with, when not the operation's lowest 2xx.
    pub status: Option<u16>,
    /// For a create: the served path of the resource's get operation and the name of its id
    /// parameter, so the answer's `Location` names the new record.
    pub item_path: Option<(String, String)>,
}

impl Binding {
    fn new(resource: String, action: Action) -> Self {
        Binding {
            resource,
            action,
            id: IdSource::None,
            key: "id".into(),
            id_format: IdFormat::Uuid,
            scope: Vec::new(),
            request_envelope: None,
            response_envelope: None,
            list: ListConfig { default_page_size: 50, max_page_size: 1000, ..ListConfig::default() },
            mask: None,
            set_once: Vec::new(),
            unique: Vec::new(),
            version_field: None,
            if_match_required: false,
            defaults: Map::new(),
            set: Vec::new(),
            state_field: None,
            from: Vec::new(),
            to: None,
            illegal: Refusal { status: 409, grpc_code: Some(9), message: None },
            conflict: Refusal { status: 409, grpc_code: Some(6), message: None },
            checks: Vec::new(),
            parent: None,
            schema: None,
            status: None,
            item_path: None,
            record_schema: None,
            projection: std::sync::OnceLock::new(),
            record_shape: std::sync::OnceLock::new(),
        }
    }
}

/// Bindings for every operation (None: answered from the spec alone), and load problems.
pub fn bind_all(set: &SpecSet, infer: bool) -> (Vec<Option<Binding>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(set.operations.len());
    for op in &set.operations {
        let spec = &set.specs[op.spec];
        let binding = if op.extension.get("resource").is_some() || op.extension.get("action").is_some() {
            match explicit(op, &op.extension) {
                Ok(b) => Some(b),
                Err(msg) => {
                    problems.push(Problem::error(&spec.file, format!("{}/x-specstub", op.pointer), msg));
                    None
                }
            }
        } else if infer && op.extension.get("stateful") != Some(&Value::Bool(false)) {
            infer_binding(op, &set.operations)
        } else {
            None
        };
        out.push(binding.map(|mut b| {
            if b.action == Action::List {
                infer_list_fields(set, op, &mut b.list);
            }
            b.schema = resource_schema(set, op, &b);
            if b.action == Action::Create && op.extension.get("key").is_none() {
                b.id_format = id_format(set, op, &b);
            }
            b
        }));
    }
    // An operation that names no key (a list, a create) shares its resource's key.
    let mut keys: HashMap<String, String> = HashMap::new();
    for b in out.iter().flatten().filter(|b| !b.key.is_empty()) {
        keys.entry(b.resource.clone()).or_insert_with(|| b.key.clone());
    }
    for b in out.iter_mut().flatten().filter(|b| b.key.is_empty()) {
        b.key = keys.get(&b.resource).cloned().unwrap_or_else(|| "id".into());
    }
    let item_paths: HashMap<String, (String, String)> = out
        .iter()
        .zip(&set.operations)
        .filter_map(|(b, op)| match b {
            Some(Binding { action: Action::Get, id: IdSource::Path(param), resource, .. }) => {
                Some((resource.clone(), (op.served_path.clone(), param.clone())))
            }
            _ => None,
        })
        .collect();
    for b in out.iter_mut().flatten().filter(|b| b.action == Action::Create) {
        b.item_path = item_paths.get(&b.resource).cloned();
    }
    // An operation that answers no body, or only part of the record (a 204 action, launch-now's
    // period), still stamps the whole record: with the schema its get operation answers.
    let mut schemas: HashMap<(usize, String), String> = HashMap::new();
    for (b, op) in out.iter().zip(&set.operations) {
        if let Some(b @ Binding { schema: Some(ptr), .. }) = b {
            let slot = schemas.entry((op.spec, b.resource.clone())).or_insert_with(|| ptr.clone());
            if b.action == Action::Get {
                *slot = ptr.clone();
            }
        }
    }
    for (b, op) in out.iter_mut().zip(&set.operations) {
        if let Some(b) = b.as_mut() {
            b.record_schema = schemas.get(&(op.spec, b.resource.clone())).cloned().or_else(|| b.schema.clone());
        }
    }
    (out, problems)
}

/// The resource names and their unique fields, for the store.
pub fn unique_fields(bindings: &[Option<Binding>]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for b in bindings.iter().flatten() {
        let e = out.entry(b.resource.clone()).or_default();
        for u in &b.unique {
            if !e.contains(u) {
                e.push(u.clone());
            }
        }
    }
    out
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(String::from)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
        Some(Value::String(x)) => vec![x.clone()],
        _ => Vec::new(),
    }
}

fn refusal(v: Option<&Value>, default: Refusal) -> Result<Refusal, String> {
    let Some(v) = v else { return Ok(default) };
    let status = match v.get("status") {
        Some(s) => s.as_u64().filter(|s| (400..600).contains(s)).ok_or("an error `status` must be 400..599")? as u16,
        None => default.status,
    };
    Ok(Refusal { status, grpc_code: v.get("grpcCode").and_then(Value::as_i64).or(default.grpc_code), message: s(v, "message") })
}

fn explicit(op: &Operation, x: &Value) -> Result<Binding, String> {
    let resource = s(x, "resource").ok_or("`resource` (the collection name) is required")?;
    let action = match x.get("action").and_then(Value::as_str) {
        Some("create") => Action::Create,
        Some("get") => Action::Get,
        Some("list") => Action::List,
        Some("update") => Action::Update,
        Some("replace") => Action::Replace,
        Some("delete") => Action::Delete,
        Some("transition") | Some("action") => Action::Transition,
        Some(other) => {
            return Err(format!("unknown action {other:?}: use create, get, list, update, replace, delete, transition or action"));
        }
        None => return Err("`action` is required".into()),
    };
    let mut b = Binding::new(resource, action);
    b.key = s(x, "key").unwrap_or_default();
    b.id = match x.get("id") {
        None => match action {
            Action::Create | Action::List => IdSource::None,
            _ => {
                // Default: the last path parameter.
                let p = op
                    .parameters
                    .iter()
                    .rev()
                    .find(|p| p.location == ParamIn::Path)
                    .ok_or("`id` is required: no path parameter to take it from")?;
                IdSource::Path(p.name.clone())
            }
        },
        Some(Value::String(name)) => IdSource::Path(name.clone()),
        Some(v) => match (s(v, "in").as_deref(), s(v, "name"), s(v, "pointer")) {
            (Some("path"), Some(n), _) => IdSource::Path(n),
            (Some("query"), Some(n), _) => IdSource::Query(n),
            (Some("body"), _, Some(p)) if p.starts_with('/') => IdSource::Body(p),
            _ => return Err("`id` must be a path parameter name or {in: path|query, name: N} or {in: body, pointer: /json/pointer}".into()),
        },
    };
    if let (IdSource::Path(name), true) = (&b.id, b.key.is_empty()) {
        b.key = name.clone();
    }
    if let IdSource::Path(name) = &b.id {
        if !op.parameters.iter().any(|p| p.location == ParamIn::Path && p.name == *name) {
            return Err(format!("`id` names path parameter {name:?}, which the operation does not declare"));
        }
    }
    b.id_format = match s(x, "idFormat").as_deref() {
        None | Some("uuid") => IdFormat::Uuid,
        Some("ulid") => IdFormat::Ulid,
        Some("integer") => IdFormat::Integer,
        Some(f) => return Err(format!("unknown idFormat {f:?}: use uuid, ulid or integer")),
    };
    b.scope = strings(x.get("scope"));
    for name in &b.scope {
        if !op.parameters.iter().any(|p| p.location == ParamIn::Path && p.name == *name) {
            return Err(format!("`scope` names path parameter {name:?}, which the operation does not declare"));
        }
    }
    let envelope = s(x, "envelope");
    b.request_envelope = s(x, "requestEnvelope").or_else(|| envelope.clone());
    b.response_envelope = s(x, "responseEnvelope").or(envelope);
    if let Some(l) = x.get("list") {
        b.list.items = s(l, "items");
        b.list.page_size = s(l, "pageSize");
        b.list.page_token = s(l, "pageToken");
        b.list.next_page_token = s(l, "nextPageToken");
        b.list.limit = s(l, "limit");
        b.list.offset = s(l, "offset");
        b.list.total = s(l, "total");
        b.list.has_more = s(l, "hasMore");
        if let Some(n) = l.get("defaultPageSize").and_then(Value::as_u64) {
            b.list.default_page_size = n.max(1) as usize;
        }
        if let Some(n) = l.get("maxPageSize").and_then(Value::as_u64) {
            b.list.max_page_size = n.max(1) as usize;
        }
        for (q, field) in l.get("filters").and_then(Value::as_object).into_iter().flatten() {
            b.list.filters.push((q.clone(), field.as_str().unwrap_or(q).to_string()));
        }
    }
    if let Some(m) = x.get("updateMask") {
        let (field, in_query) = match m {
            Value::String(f) => (f.clone(), false),
            _ => (s(m, "field").ok_or("`updateMask.field` is required")?, s(m, "in").as_deref() == Some("query")),
        };
        let mut paths = Vec::new();
        match m.get("paths") {
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    paths.push((k.clone(), v.as_str().unwrap_or(k).to_string()));
                }
            }
            Some(Value::Array(list)) => {
                for p in list.iter().filter_map(Value::as_str) {
                    paths.push((p.to_string(), camel(p)));
                }
            }
            _ => {}
        }
        b.mask = Some(MaskConfig { field, in_query, paths });
    }
    b.set_once = strings(x.get("setOnce"));
    b.unique = strings(x.get("unique"));
    if let Some(v) = x.get("version") {
        b.version_field = s(v, "field");
        b.if_match_required = s(v, "ifMatch").as_deref() == Some("required");
    }
    if let Some(d) = x.get("defaults") {
        b.defaults = d.as_object().cloned().ok_or("`defaults` must be a mapping of field → value")?;
    }
    let transition = x.get("transition").unwrap_or(&Value::Null);
    b.state_field = s(transition, "field");
    b.from = match transition.get("from") {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    b.to = transition.get("to").cloned();
    let set = transition.get("set").or_else(|| x.get("set"));
    for (field, v) in set.and_then(Value::as_object).into_iter().flatten() {
        b.set.push((field.clone(), set_value(v)?));
    }
    b.illegal = refusal(transition.get("error"), b.illegal.clone())?;
    b.conflict = refusal(x.get("conflict"), b.conflict.clone())?;
    for c in x.get("checks").and_then(Value::as_array).into_iter().flatten() {
        let pointer = s(c, "pointer").filter(|p| p.starts_with('/')).ok_or("a check needs `pointer: /field`")?;
        let after = s(c, "after").ok_or("a check needs `after: now` or `after: /other-field`")?;
        b.checks.push(Check {
            message: s(c, "message").unwrap_or_else(|| format!("{pointer} must be after {after}")),
            pointer,
            after,
            status: c.get("status").and_then(Value::as_u64).unwrap_or(400) as u16,
        });
    }
    if let Some(p) = x.get("parent") {
        b.parent = Some((s(p, "resource").ok_or("`parent.resource` is required")?, s(p, "id").ok_or("`parent.id` is required")?));
    }
    b.status = x.get("status").and_then(Value::as_u64).map(|s| s as u16);
    if action == Action::Update && b.mask.is_none() {
        // Merge-patch update: fine without a mask.
    }
    Ok(b)
}

fn set_value(v: &Value) -> Result<SetValue, String> {
    Ok(match v {
        Value::String(t) if t == "$now" => SetValue::Now { query: None },
        Value::String(t) if t == "$caller" => SetValue::Caller,
        Value::Object(o) if o.contains_key("now") => SetValue::Now { query: o.get("query").and_then(Value::as_str).map(String::from) },
        Value::Object(o) if o.contains_key("millisBetween") => {
            let pair = strings(o.get("millisBetween"));
            match pair.as_slice() {
                [a, b] => SetValue::MillisBetween(a.clone(), b.clone()),
                _ => return Err("`millisBetween` takes two field names".into()),
            }
        }
        Value::Object(o) if o.contains_key("value") => SetValue::Literal(o["value"].clone()),
        other => SetValue::Literal(other.clone()),
    })
}

/// snake_case → camelCase (update masks may name either).
pub fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in s.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Plain REST: a collection path and an item path one parameter deeper.
fn infer_binding(op: &Operation, all: &[Operation]) -> Option<Binding> {
    let path = op.served_path.as_str();
    let last_is_param = path.rsplit('/').next().is_some_and(|seg| seg.starts_with('{') && seg.ends_with('}'));
    let path_params: Vec<String> = crate::spec::template_names(path);
    if last_is_param {
        let collection = path.rsplit_once('/')?.0.to_string();
        if collection.is_empty() || collection.ends_with('}') {
            return None;
        }
        let has_create = all.iter().any(|o| o.method == Method::POST && o.served_path == collection && o.spec == op.spec);
        if !has_create {
            return None;
        }
        let action = match op.method {
            Method::GET => Action::Get,
            Method::PUT => Action::Replace,
            Method::PATCH => Action::Update,
            Method::DELETE => Action::Delete,
            _ => return None,
        };
        let mut b = Binding::new(collection.clone(), action);
        let id = path_params.last()?.clone();
        b.id = IdSource::Path(id.clone());
        b.key = id;
        b.scope = path_params[..path_params.len() - 1].to_vec();
        b.illegal.grpc_code = None;
        b.conflict.grpc_code = None;
        Some(b)
    } else {
        let item_prefix = format!("{path}/{{");
        let item = all.iter().find(|o| {
            o.spec == op.spec && o.served_path.starts_with(&item_prefix) && o.served_path[item_prefix.len()..].find('/').is_none()
        })?;
        let action = match op.method {
            Method::POST => Action::Create,
            Method::GET => Action::List,
            _ => return None,
        };
        let mut b = Binding::new(path.to_string(), action);
        let item_params = crate::spec::template_names(&item.served_path);
        b.key = item_params.last()?.clone();
        b.scope = path_params;
        b.illegal.grpc_code = None;
        b.conflict.grpc_code = None;
        Some(b)
    }
}

/// The default response's JSON schema, `$ref`s resolved, with the response document and the
/// schema's pointer in it.
fn response_schema<'a>(set: &'a SpecSet, op: &Operation) -> Option<(&'a Value, &'a Value, String)> {
    let doc = set.specs[op.spec].schemas.doc(Flow::Response);
    let response = crate::respond::default_response(op)?;
    let media = response.content.iter().find(|m| crate::negotiate::is_json(&m.media_type))?;
    let ptr = &media.schema.as_ref()?.pointer;
    let (schema, at) = deref(doc, doc.pointer(ptr)?, ptr);
    Some((doc, schema, at))
}

/// Property `name` of `schema` (found at `at`), `$ref`s resolved, and its pointer.
fn property<'a>(doc: &'a Value, schema: &'a Value, at: &str, name: &str) -> Option<(&'a Value, String)> {
    let p = schema.get("properties")?.get(name)?;
    Some(deref(doc, p, &format!("{at}/properties/{}", crate::spec::escape_token(name))))
}

/// The resource's schema in the response document: the default response's schema, unwrapped
/// from the envelope (or the list's items, whose field `infer_list_fields` has named by now).
fn resource_schema(set: &SpecSet, op: &Operation, b: &Binding) -> Option<String> {
    let (doc, schema, at) = response_schema(set, op)?;
    if b.action == Action::List {
        let (array, array_at) = match &b.list.items {
            Some(field) => property(doc, schema, &at, field)?,
            None => (schema, at),
        };
        return Some(deref(doc, array.get("items")?, &format!("{array_at}/items")).1);
    }
    match &b.response_envelope {
        Some(envelope) => property(doc, schema, &at, envelope).map(|(_, at)| at),
        None => Some(at),
    }
}

/// The first array property of a list response, which is where its records go when the
/// binding does not name the field.
fn array_field(doc: &Value, schema: &Value) -> Option<String> {
    schema
        .get("properties")?
        .as_object()?
        .iter()
        .find(|(_, v)| deref(doc, v, "").0.get("type") == Some(&Value::String("array".into())))
        .map(|(k, _)| k.clone())
}

/// Fills the list fields the binding leaves out from the list response's schema: its array,
/// and a total count or has-more flag under a conventional name.
fn infer_list_fields(set: &SpecSet, op: &Operation, list: &mut ListConfig) {
    let Some((doc, schema, _)) = response_schema(set, op) else { return };
    if list.items.is_none() {
        list.items = array_field(doc, schema);
    }
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return };
    let typed = |names: &[&str], ty: &str| {
        names
            .iter()
            .find(|n| props.get(**n).is_some_and(|p| deref(doc, p, "").0.get("type") == Some(&Value::String(ty.into()))))
            .map(|n| n.to_string())
    };
    if list.total.is_none() {
        list.total = typed(&["total", "totalCount", "total_count", "totalSize", "total_size"], "integer");
    }
    if list.has_more.is_none() {
        list.has_more = typed(&["has_more", "hasMore"], "boolean");
    }
}

/// How a created record's id looks, from the key field's schema (integer, uuid, or else uuid).
fn id_format(set: &SpecSet, op: &Operation, b: &Binding) -> IdFormat {
    let spec = &set.specs[op.spec];
    let doc = spec.schemas.doc(Flow::Response);
    let Some(schema) = b.schema.as_ref().and_then(|p| doc.pointer(p)) else { return IdFormat::Uuid };
    let Some(prop) = schema.get("properties").and_then(|p| p.get(&b.key)) else { return IdFormat::Uuid };
    let (prop, _) = deref(doc, prop, "");
    let types = crate::spec::model::types_of(doc, prop);
    if types.iter().any(|t| t == "integer") {
        IdFormat::Integer
    } else if prop.get("pattern").and_then(Value::as_str).is_some_and(|p| p.contains("0-9A-HJKMNP-TV-Z")) {
        IdFormat::Ulid
    } else {
        IdFormat::Uuid
    }
}
