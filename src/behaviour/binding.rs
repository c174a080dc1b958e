//! What an operation does to the store, as the compiler built it (from the operation's
//! `x-specstub`, or inferred from plain REST paths): which collection, which action, where the
//! id is, how lists page, which fields a write stamps. Behaviour only reads it.

use serde_json::{Map, Value};

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
    /// query parameter with a 1-based page number (GitHub's `page`, next to `per_page`)
    pub page: Option<String>,
    pub total: Option<String>,
    /// boolean field that says whether another page follows
    pub has_more: Option<String>,
    pub default_page_size: usize,
    pub max_page_size: usize,
    /// query parameter → record field that must equal it
    pub filters: Vec<(String, String)>,
    /// The list answer's other required fields, so the envelope is always the declared shape.
    pub extras: Vec<(String, ListExtra)>,
}

/// A required field of a list answer that holds no records.
#[derive(Debug, Clone, PartialEq)]
pub enum ListExtra {
    /// A `const`, a single `enum` value or example, or data generated from the field's schema.
    Value(Value),
    /// The request's path (Stripe's `url`), from this served-path template.
    Path(String),
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
    /// How a write answers when the store is full: a status the operation declares for it
    /// (507, a "limit"/"quota" response, 503, 429), else 507.
    pub full: Refusal,
    pub checks: Vec<Check>,
    /// (resource, id template with {param}s) that must exist.
    pub parent: Option<(String, String)>,
    /// Pointer (in the response document) of the resource's schema, for server-filled fields.
    pub schema: Option<String>,
    /// Pointer of the whole record's schema (the get operation's), for stamps and server fields.
    pub record_schema: Option<String>,
    /// The answer's shape, from `schema` (the compiler fills it).
    pub projection: super::fill::Projection,
    /// `record_schema` resolved (the compiler fills it).
    pub record_shape: super::fill::RecordShape,
    /// Response status to answer with, when not the operation's lowest 2xx.
    pub status: Option<u16>,
    /// For a create: the served path of the resource's get operation and the name of its id
    /// parameter, so the answer's `Location` names the new record.
    pub item_path: Option<(String, String)>,
    /// For a create: the schemas a new id must satisfy, the one to generate from first (the id
    /// field's, or the item path parameter's when that is stricter). Empty: `id_format` alone.
    pub id_schemas: Vec<Value>,
    /// A read or change of an id never created answers a record made for it: the operation
    /// declares no status for "not found" (no 404, 4XX or default).
    pub invent_missing: bool,
    /// Deletes leave a mark, so an invented record does not come back after it was deleted.
    pub tombstones: bool,
}

impl Binding {
    pub fn new(resource: String, action: Action) -> Self {
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
            full: Refusal { status: 507, grpc_code: Some(8), message: None },
            checks: Vec::new(),
            parent: None,
            schema: None,
            status: None,
            item_path: None,
            id_schemas: Vec::new(),
            invent_missing: false,
            tombstones: false,
            record_schema: None,
            projection: super::fill::Projection::All,
            record_shape: super::fill::RecordShape::default(),
        }
    }
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
