//! Runs an operation against the stateful store: create, get, list with the API's pagination,
//! update with an update mask or merge patch, replace, delete, and state transitions, with
//! ETag/If-Match optimistic locking. It returns domain results or a [`BehaviourError`]; turning
//! those into HTTP is the responder's and `problem`'s job.

pub mod binding;
pub mod fill;

use base64::Engine;
use http::HeaderMap;
use serde_json::{Map, Value};

use crate::spec::Spec;
use crate::spec::walk::Flow;
use crate::store::{Declined, Expect, Ns, Query, Record, Start, Store, StoreError, in_scope};
pub use binding::{Action, Binding, IdFormat, IdSource, SetValue};
use fill::Caller;

/// Why the behaviour refused. Statuses the spec chose (a conflict's, a transition's) travel as
/// [`ErrorAs`]; the rest are mapped to HTTP where errors are rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BehaviourError {
    /// The record, or the parent it needs, does not exist.
    #[error("{0}")]
    NotFound(String),
    /// `If-Match` named another version than the current one.
    #[error("If-Match {sent} does not match the current version {}: the resource changed since it was read", etag(*current))]
    PreconditionFailed { current: u64, sent: String },
    /// A write without the `If-Match` the spec requires.
    #[error("this write requires an If-Match header with the resource's current ETag")]
    PreconditionRequired,
    /// A duplicate id or unique value.
    #[error("{message}")]
    Conflict { message: String, answer: ErrorAs },
    /// The record's state does not allow this action.
    #[error("{message}")]
    IllegalTransition { message: String, answer: ErrorAs },
    /// The request cannot be applied: a missing id, a bad update mask, a failed check.
    #[error("{message}")]
    BadInput { message: String, answer: ErrorAs },
    #[error("the state store is unavailable: {0}")]
    StoreUnavailable(String),
    /// The store is at its record cap or byte budget; the message names the flag.
    #[error("{message}")]
    StoreFull { message: String, answer: ErrorAs },
    /// A stored record that is not what behaviour wrote (edited by hand through admin).
    #[error("{0}")]
    Internal(String),
}

/// The status (and gRPC code, for APIs whose errors carry one) an error answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorAs {
    pub status: u16,
    pub grpc_code: Option<i64>,
}

impl BehaviourError {
    fn bad(message: impl Into<String>) -> Self {
        BehaviourError::BadInput { message: message.into(), answer: ErrorAs { status: 400, grpc_code: Some(3) } }
    }
}

/// What the operation produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: Option<u16>,
    /// The JSON body; None answers with the operation's declared response.
    pub body: Option<Value>,
    pub etag: Option<String>,
    /// `If-None-Match` matched: answer 304.
    pub not_modified: bool,
    /// Path of a record just created, for a declared `Location` header.
    pub location: Option<String>,
    /// A list's `Link` header (RFC 8288 `next`/`prev`/`first`/`last`, relative to the request's
    /// path), for a list response that declares one.
    pub link: Option<String>,
}

/// Everything the behaviour reads from a request.
pub struct Ctx<'a> {
    pub spec: &'a Spec,
    pub binding: &'a Binding,
    pub path_params: &'a [(String, String)],
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: Option<&'a Value>,
    pub caller: Caller,
    pub session: String,
    /// Plausible values where records are completed from their schema (`--data realistic`).
    pub realistic: Option<crate::generate::Realistic>,
}

impl Ctx<'_> {
    fn ns(&self) -> Ns {
        Ns { session: self.session.clone(), resource: self.binding.resource.clone() }
    }

    fn tombstones(&self) -> Ns {
        Ns { session: self.session.clone(), resource: tombstones_of(&self.binding.resource) }
    }

    fn ns_of(&self, resource: &str) -> Ns {
        Ns { session: self.session.clone(), resource: resource.to_string() }
    }

    fn path(&self, name: &str) -> Option<&str> {
        self.path_params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn scope(&self) -> Vec<(String, String)> {
        self.binding.scope.iter().map(|n| (n.clone(), self.path(n).unwrap_or_default().to_string())).collect()
    }

    fn doc(&self) -> &Value {
        self.spec.schemas.doc(Flow::Response)
    }

    fn projection(&self) -> &fill::Projection {
        &self.binding.projection
    }

    fn record_shape(&self) -> &fill::RecordShape {
        &self.binding.record_shape
    }

    fn kind(&self) -> &str {
        self.binding.resource.trim_start_matches('/').rsplit('/').next().unwrap_or("resource")
    }

    fn id(&self) -> Result<String, BehaviourError> {
        let found = match &self.binding.id {
            IdSource::Path(n) => self.path(n).map(String::from),
            IdSource::Query(n) => self.query(n).map(String::from),
            IdSource::Body(p) => self.body.and_then(|b| b.pointer(p)).and_then(id_text),
            IdSource::None => None,
        };
        found.filter(|s| !s.is_empty()).ok_or_else(|| {
            let place = match &self.binding.id {
                IdSource::Body(p) => format!("the body at {p}"),
                IdSource::Query(n) => format!("query parameter {n:?}"),
                IdSource::Path(n) => format!("path parameter {n:?}"),
                IdSource::None => "the request".into(),
            };
            BehaviourError::bad(format!("the {} id is missing from {place}", self.kind()))
        })
    }

    /// The resource as the request carries it (inside its envelope, if any).
    fn incoming(&self) -> Result<Map<String, Value>, BehaviourError> {
        let body = self.body.cloned().unwrap_or(Value::Object(Map::new()));
        let inner = match &self.binding.request_envelope {
            Some(env) => body.get(env).cloned().unwrap_or(Value::Object(Map::new())),
            None => body,
        };
        match inner {
            Value::Object(mut m) => {
                fill::drop_disagreeing(&mut m, self.doc(), self.record_shape());
                Ok(m)
            }
            _ => Err(BehaviourError::bad(format!("the {} must be a JSON object", self.kind()))),
        }
    }

    fn expect(&self, current: Option<&Record>) -> Result<Expect, BehaviourError> {
        let header = self.headers.get(http::header::IF_MATCH).and_then(|v| v.to_str().ok());
        match header {
            None if self.binding.if_match_required => Err(BehaviourError::PreconditionRequired),
            None => Ok(Expect::Any),
            Some(h) if h.trim() == "*" => Ok(Expect::Any),
            Some(h) => match h.split(',').find_map(parse_etag) {
                Some(v) => Ok(Expect::Version(v)),
                None => {
                    // An ETag we never issued cannot match the current version.
                    let current = current.map(|r| r.version).unwrap_or(0);
                    Err(precondition_failed(current, h))
                }
            },
        }
    }

    /// The answer showing `record`, which it takes: the fields it shows move into the body
    /// instead of being copied.
    fn outcome(&self, record: Record) -> Outcome {
        let projected = self.projection().apply_owned(record.data);
        let body = match &self.binding.response_envelope {
            Some(env) => {
                let mut m = Map::new();
                m.insert(env.clone(), projected);
                Value::Object(m)
            }
            None => projected,
        };
        Outcome {
            status: self.binding.status,
            body: Some(body),
            etag: Some(etag(record.version)),
            not_modified: false,
            location: None,
            link: None,
        }
    }

    fn not_found(&self, id: &str) -> BehaviourError {
        BehaviourError::NotFound(format!("{} {id:?} not found", singular(self.kind())))
    }
}

/// The collection where the ids deleted from `resource` are remembered, beside it.
pub fn tombstones_of(resource: &str) -> String {
    format!("{resource}#deleted")
}

/// Whether a collection name is one of those marks rather than a resource.
pub fn is_tombstones(collection: &str) -> bool {
    collection.ends_with("#deleted")
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn singular(kind: &str) -> String {
    let k = kind.trim_end_matches('s');
    k.replace('-', " ")
}

pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version in one entity tag we issued (`W/"7"` or `"7"`).
fn parse_etag(tag: &str) -> Option<u64> {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"').parse().ok()
}

fn precondition_failed(current: u64, sent: &str) -> BehaviourError {
    BehaviourError::PreconditionFailed { current, sent: sent.to_string() }
}

fn store_error(ctx: &Ctx, e: StoreError, id: &str) -> BehaviourError {
    let conflict = &ctx.binding.conflict;
    let answer = ErrorAs { status: conflict.status, grpc_code: conflict.grpc_code };
    match e {
        StoreError::NotFound => ctx.not_found(id),
        StoreError::IdTaken => BehaviourError::Conflict { message: format!("{} {id:?} already exists", singular(ctx.kind())), answer },
        StoreError::Duplicate { field, value } => BehaviourError::Conflict {
            message: conflict.message.clone().unwrap_or_else(|| format!("a {} with {field} {value} already exists", singular(ctx.kind()))),
            answer,
        },
        StoreError::VersionMismatch { current } => {
            precondition_failed(current, ctx.headers.get(http::header::IF_MATCH).and_then(|v| v.to_str().ok()).unwrap_or(""))
        }
        // The change reported its reason before it declined; this is only a fallback.
        StoreError::Declined => BehaviourError::Internal("the change was declined".into()),
        StoreError::Unavailable(why) => BehaviourError::StoreUnavailable(why),
        e @ StoreError::Full(_) => {
            let full = &ctx.binding.full;
            BehaviourError::StoreFull { message: e.to_string(), answer: ErrorAs { status: full.status, grpc_code: full.grpc_code } }
        }
    }
}

pub fn run(store: &dyn Store, ctx: &Ctx) -> Result<Outcome, BehaviourError> {
    // An operation that cannot say "not found" takes the parent for granted, as it does the id.
    if let Some((resource, template)) = ctx.binding.parent.as_ref().filter(|_| !ctx.binding.invent_missing) {
        let id = fill_template(template, ctx.path_params);
        let found = store.get(&ctx.ns_of(resource), &id).map_err(|e| store_error(ctx, e, &id))?;
        if found.is_none() {
            return Err(BehaviourError::NotFound(format!(
                "{} {id:?} not found",
                singular(resource.rsplit('/').next().unwrap_or(resource))
            )));
        }
    }
    match ctx.binding.action {
        Action::Create => create(store, ctx),
        Action::Get => get(store, ctx),
        Action::List => list(store, ctx),
        Action::Update | Action::Replace | Action::Transition => change(store, ctx),
        Action::Delete => delete(store, ctx),
    }
}

fn fill_template(template: &str, params: &[(String, String)]) -> String {
    crate::template::fill(template, |name| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

fn check_rules(ctx: &Ctx, data: &Map<String, Value>, now: &str) -> Result<(), BehaviourError> {
    for c in &ctx.binding.checks {
        let Some(value) = field(data, &c.pointer).and_then(Value::as_str) else { continue };
        let bound = if c.after == "now" { Some(now.to_string()) } else { field(data, &c.after).and_then(Value::as_str).map(String::from) };
        let Some(bound) = bound else { continue };
        if let (Some(a), Some(b)) = (parse_time(value), parse_time(&bound)) {
            if a <= b {
                return Err(BehaviourError::BadInput {
                    message: c.message.clone(),
                    answer: ErrorAs { status: c.status, grpc_code: Some(3) },
                });
            }
        }
    }
    Ok(())
}

/// What a JSON pointer names inside a record's fields, read in place: the record is not copied
/// into a `Value` to look it up (this runs on every create and change with `checks`).
fn field<'a>(data: &'a Map<String, Value>, pointer: &str) -> Option<&'a Value> {
    let tail = pointer.strip_prefix('/')?;
    let (first, rest) = tail.find('/').map_or((tail, ""), |i| tail.split_at(i));
    let found = if first.contains('~') { data.get(&first.replace("~1", "/").replace("~0", "~")) } else { data.get(first) };
    found?.pointer(rest)
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

fn new_id(b: &Binding, doc: &Value, store: &dyn Store, ns: &Ns) -> String {
    match b.id_format {
        IdFormat::Uuid => schema_id(&b.id_schemas, doc).unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        IdFormat::Ulid => ulid(),
        IdFormat::Integer => {
            // One more than the largest integer id so far.
            let page = store.list(ns, &|_| true, 0, usize::MAX).map(|p| p.records).unwrap_or_default();
            (page.iter().filter_map(|r| r.id.parse::<u64>().ok()).max().unwrap_or(0) + 1).to_string()
        }
    }
}

/// An id that every schema in `schemas` admits, made the way the first one describes: from its
/// `pattern`, as its examples look (`cus_NffrFeUfNV2Hib` → `cus_` and 14 random letters and
/// digits), as its format says, else a uuid when that fits. None: nothing made fits.
fn schema_id(schemas: &[Value], doc: &Value) -> Option<String> {
    let first = schemas.first()?;
    let fits_all = |id: &str| schemas.iter().all(|s| fill::fits(doc, s, &Value::String(id.to_string())));
    let uuid = uuid::Uuid::new_v4().to_string();
    let plain = ["pattern", "minLength", "maxLength"].iter().all(|k| first.get(*k).is_none());
    let format = first.get("format").and_then(Value::as_str);
    if plain && (format.is_none() || format == Some("uuid")) && example_prefix(first).is_none() && fits_all(&uuid) {
        return Some(uuid);
    }
    // Examples and defaults are one fixed value: ids must differ, so only the keywords that
    // describe every id are generated from.
    let mut keywords = first.clone();
    if let Value::Object(m) = &mut keywords {
        for k in ["example", "examples", "default", "const", "enum"] {
            m.remove(k);
        }
    }
    let generated = |seed: u64| {
        let opts = crate::generate::GenOptions { mode: crate::generate::Mode::Random { seed }, ..Default::default() };
        match crate::generate::generate(&keywords, doc, &opts) {
            Value::String(s) => Some(s),
            _ => None,
        }
    };
    let count = |k: &str| first.get(k).and_then(Value::as_u64).map(|n| n as usize);
    for _ in 0..8 {
        let seed = u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or_default());
        let mut candidates: Vec<String> = Vec::new();
        if first.get("pattern").is_some() {
            candidates.extend(generated(seed));
        }
        if let Some((prefix, len)) = example_prefix(first) {
            candidates.push(format!("{prefix}{}", random_alnum(seed, len)));
        }
        match format {
            Some("int32" | "int64" | "integer") => candidates.push((seed % 1_000_000_000 + 1).to_string()),
            Some("ulid") => candidates.push(ulid()),
            _ => {}
        }
        candidates.push(uuid::Uuid::new_v4().to_string());
        // Letters and digits of an allowed length read as an id, where generated text of that
        // length may hold spaces: it comes before the generator's own string.
        let len = 16usize.max(count("minLength").unwrap_or(0)).min(count("maxLength").unwrap_or(usize::MAX));
        candidates.push(random_alnum(seed, len));
        candidates.extend(generated(seed));
        if let Some(id) = candidates.into_iter().find(|c| !c.is_empty() && fits_all(c)) {
            return Some(id);
        }
    }
    None
}

/// The `prefix_` and the length of the rest of an example id (`cus_NffrFeUfNV2Hib`).
fn example_prefix(schema: &Value) -> Option<(String, usize)> {
    let example = match schema.get("examples") {
        Some(Value::Array(a)) => a.first(),
        _ => schema.get("example"),
    }?
    .as_str()?;
    let (prefix, rest) = example.split_once('_')?;
    let word = !prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_alphanumeric());
    (word && rest.len() >= 4 && rest.chars().all(|c| c.is_ascii_alphanumeric())).then(|| (format!("{prefix}_"), rest.len()))
}

fn random_alnum(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut n = seed;
    (0..len)
        .map(|i| {
            if i % 8 == 0 && i > 0 {
                n = u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or_default());
            }
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// A ULID: 48-bit milliseconds then 80 random bits, in Crockford base32.
fn ulid() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let random = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes()) & ((1u128 << 80) - 1);
    let mut n = (millis << 80) | random;
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn apply_set(ctx: &Ctx, data: &mut Map<String, Value>, now: &str) {
    for (field, value) in &ctx.binding.set {
        let v = match value {
            SetValue::Literal(v) => v.clone(),
            SetValue::Now { query } => {
                Value::String(query.as_deref().and_then(|q| ctx.query(q)).map(String::from).unwrap_or_else(|| now.to_string()))
            }
            SetValue::Caller => {
                let prop = ctx.record_shape().props.get(field);
                match ctx.caller.user.as_deref().and_then(|u| fill::caller_value(u, prop, ctx.doc())) {
                    Some(v) => v,
                    // Anonymous, or a field that cannot hold an identity: it keeps what it has.
                    None => continue,
                }
            }
            SetValue::MillisBetween(a, b) => {
                let t = |f: &str| data.get(f).and_then(Value::as_str).and_then(parse_time);
                match (t(a), t(b)) {
                    (Some(x), Some(y)) => Value::from(((y - x).whole_milliseconds()).max(0) as i64),
                    _ => Value::Null,
                }
            }
        };
        data.insert(field.clone(), v);
    }
}

fn create(store: &dyn Store, ctx: &Ctx) -> Result<Outcome, BehaviourError> {
    let b = ctx.binding;
    let now = crate::clock::now_rfc3339();
    let mut data = ctx.incoming()?;
    check_rules(ctx, &data, &now)?;
    let ns = ctx.ns();
    let id = match data.get(&b.key).and_then(id_text).filter(|s| !s.is_empty()) {
        Some(id) => id,
        None => new_id(b, ctx.doc(), store, &ns),
    };
    let id_value = match (b.id_format, id.parse::<u64>()) {
        (IdFormat::Integer, Ok(n)) => Value::from(n),
        _ => Value::String(id.clone()),
    };
    data.insert(b.key.clone(), id_value);
    for (k, v) in &b.defaults {
        data.entry(k.clone()).or_insert_with(|| v.clone());
    }
    apply_set(ctx, &mut data, &now);
    fill::on_create(&mut data, ctx.doc(), ctx.record_shape(), &ctx.caller, &now, ctx.realistic);
    fill::conform(&mut data, &ctx.spec.schemas, ctx.record_shape(), &b.key, ctx.realistic);
    if let Some(f) = &b.version_field {
        data.insert(f.clone(), Value::from(1));
    }
    let record = Record { id: id.clone(), version: 1, seq: 0, scope: ctx.scope(), data: Value::Object(data) };
    let record = store.create(&ns, record, &b.unique).map_err(|e| store_error(ctx, e, &id))?;
    if b.tombstones {
        let _ = store.delete(&ctx.tombstones(), &id, Expect::Any);
    }
    let mut out = ctx.outcome(record);
    out.location = b.item_path.as_ref().map(|(path, param)| item_location(path, param, &id, ctx.path_params));
    Ok(out)
}

/// The get operation's path with the new id and the request's own path parameters filled in.
fn item_location(template: &str, id_param: &str, id: &str, params: &[(String, String)]) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b':').remove(b'@');
    let encode = |v: &str| percent_encoding::utf8_percent_encode(v, SEGMENT).to_string();
    crate::template::fill(template, |name| {
        let value = if name == id_param { Some(id) } else { params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()) };
        value.map(encode)
    })
}

fn load(store: &dyn Store, ctx: &Ctx, id: &str) -> Result<Record, BehaviourError> {
    let record = store.get(&ctx.ns(), id).map_err(|e| store_error(ctx, e, id))?;
    match record {
        Some(r) if in_scope(&r, &ctx.scope()) => Ok(r),
        None if ctx.binding.invent_missing => invent(store, ctx, id),
        _ => Err(ctx.not_found(id)),
    }
}

/// Keeps as records the items an answer from the document showed (a list or a create whose
/// stored outcome did not fit the declared response): every object in `shown` that carries the
/// collection's key field, under an id the store does not hold yet, is stored as it was shown,
/// so that a read of an id the mock gave out finds it.
pub fn adopt(store: &dyn Store, ctx: &Ctx, shown: &Value) -> Result<usize, BehaviourError> {
    let mut items = Vec::new();
    keyed(shown, &ctx.binding.key, 0, &mut items);
    let mut adopted = 0;
    for item in items.into_iter().take(100) {
        let Some(id) = item.get(&ctx.binding.key).and_then(id_text).filter(|id| !id.is_empty()) else { continue };
        if store.get(&ctx.ns(), &id).map_err(|e| store_error(ctx, e, &id))?.is_some() {
            continue;
        }
        let record = Record { id: id.clone(), version: 1, seq: 0, scope: ctx.scope(), data: item.clone() };
        match store.create(&ctx.ns(), record, &[]) {
            Ok(_) => adopted += 1,
            Err(StoreError::IdTaken) => {}
            Err(e) => return Err(store_error(ctx, e, &id)),
        }
    }
    Ok(adopted)
}

/// The objects in `v` (itself, the items of its arrays, those of an envelope) with a scalar `key`.
fn keyed<'v>(v: &'v Value, key: &str, depth: usize, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) if m.get(key).is_some_and(|k| k.is_string() || k.is_number()) => out.push(v),
        Value::Object(m) if depth < 3 => m.values().for_each(|c| keyed(c, key, depth + 1, out)),
        Value::Array(items) if depth < 3 => items.iter().for_each(|c| keyed(c, key, depth + 1, out)),
        _ => {}
    }
}

/// The record a real server would have had for an id the client never created, when the spec
/// gives no way to say "not found": generated from the record's schema, with the id in its key
/// field, stamped as a create, and stored so every later read agrees.
fn invent(store: &dyn Store, ctx: &Ctx, id: &str) -> Result<Record, BehaviourError> {
    let b = ctx.binding;
    if b.tombstones && store.get(&ctx.tombstones(), id).map_err(|e| store_error(ctx, e, id))?.is_some() {
        return Err(ctx.not_found(id));
    }
    let shape = ctx.record_shape();
    let opts = crate::generate::GenOptions { realistic: ctx.realistic, ..Default::default() };
    let generated = shape.schema.as_ref().map(|s| crate::generate::generate(s, ctx.doc(), &opts));
    let mut data = match generated {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let key_value = match id.parse::<u64>() {
        Ok(n) if shape.props.get(&b.key).is_some_and(|p| fill::fits(ctx.doc(), p, &Value::from(n))) => Value::from(n),
        _ => Value::String(id.to_string()),
    };
    if shape.props.get(&b.key).is_none_or(|p| fill::fits(ctx.doc(), p, &key_value)) {
        data.insert(b.key.clone(), key_value);
    }
    // Generated stamps read as data; a made-up record was "created" now, by this caller.
    let now = crate::clock::now_rfc3339();
    for name in shape.props.keys().filter(|k| fill::stamp_of(k).is_some()) {
        data.remove(name);
    }
    fill::on_create(&mut data, ctx.doc(), shape, &ctx.caller, &now, ctx.realistic);
    if let Some(f) = &b.version_field {
        data.insert(f.clone(), Value::from(1));
    }
    let record = Record { id: id.to_string(), version: 1, seq: 0, scope: ctx.scope(), data: Value::Object(data) };
    match store.create(&ctx.ns(), record, &[]) {
        Ok(r) => Ok(r),
        // Another request invented it first: theirs is the record.
        Err(StoreError::IdTaken) => match store.get(&ctx.ns(), id).map_err(|e| store_error(ctx, e, id))? {
            Some(r) if in_scope(&r, &ctx.scope()) => Ok(r),
            _ => Err(ctx.not_found(id)),
        },
        Err(e) => Err(store_error(ctx, e, id)),
    }
}

fn get(store: &dyn Store, ctx: &Ctx) -> Result<Outcome, BehaviourError> {
    let id = ctx.id()?;
    let record = load(store, ctx, &id)?;
    let version = record.version;
    let mut out = ctx.outcome(record);
    if let Some(inm) = ctx.headers.get(http::header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        if inm.trim() == "*" || inm.split(',').filter_map(parse_etag).any(|v| v == version) {
            out.not_modified = true;
        }
    }
    Ok(out)
}

fn list(store: &dyn Store, ctx: &Ctx) -> Result<Outcome, BehaviourError> {
    let l = &ctx.binding.list;
    let bad = |what: &str| BehaviourError::bad(what);
    let number = |name: &Option<String>| -> Result<Option<usize>, BehaviourError> {
        match name.as_deref().and_then(|n| ctx.query(n)) {
            None | Some("") => Ok(None),
            Some(v) => {
                v.parse::<usize>().map(Some).map_err(|_| bad(&format!("{} must be a non-negative integer", name.as_deref().unwrap_or(""))))
            }
        }
    };
    let size = number(&l.page_size)?.or(number(&l.limit)?).filter(|n| *n > 0).unwrap_or(l.default_page_size).min(l.max_page_size);
    let start = match l.page_token.as_deref().and_then(|n| ctx.query(n)).filter(|t| !t.is_empty()) {
        Some(token) => decode_token(token).ok_or_else(|| bad("the page token is not one this server issued"))?,
        None => match number(&l.page)? {
            Some(page) => Start::Offset(page.max(1).saturating_sub(1).saturating_mul(size)),
            None => Start::Offset(number(&l.offset)?.unwrap_or(0)),
        },
    };
    let scope = ctx.scope();
    let filters: Vec<(String, String)> =
        l.filters.iter().filter_map(|(q, field)| ctx.query(q).filter(|v| !v.is_empty()).map(|v| (field.clone(), v.to_string()))).collect();
    let query = Query { scope: &scope, fields: &filters, start, limit: size };
    let page = store.query(&ctx.ns(), &query).map_err(|e| store_error(ctx, e, ""))?;
    let projection = ctx.projection();
    let items: Vec<Value> = page.records.iter().map(|r| projection.apply(&r.data)).collect();
    let more = page.more();
    let body = match &l.items {
        None => Value::Array(items),
        Some(field) => {
            let mut m = Map::new();
            for (name, extra) in &l.extras {
                let value = match extra {
                    binding::ListExtra::Value(v) => v.clone(),
                    binding::ListExtra::Path(template) => Value::String(fill_template(template, ctx.path_params)),
                };
                m.insert(name.clone(), value);
            }
            m.insert(field.clone(), Value::Array(items));
            if let Some(t) = &l.next_page_token {
                let token = match page.records.last() {
                    Some(last) if more => encode_token(last.seq),
                    _ => String::new(),
                };
                m.insert(t.clone(), Value::String(token));
            }
            if let Some(t) = &l.total {
                m.insert(t.clone(), Value::from(page.total));
            }
            if let Some(t) = &l.has_more {
                m.insert(t.clone(), Value::Bool(more));
            }
            Value::Object(m)
        }
    };
    let link = page_links(ctx, size, start, &page, more);
    Ok(Outcome { status: ctx.binding.status, body: Some(body), etag: None, not_modified: false, location: None, link })
}

/// The list's `Link` header over the stored records: `next` and `last` while more follow,
/// `prev` and `first` after the first page, each the request's own query with the paging
/// parameter changed. Paging by token links `next` only (a token names no page).
fn page_links(ctx: &Ctx, size: usize, start: Start, page: &crate::store::Page, more: bool) -> Option<String> {
    let l = &ctx.binding.list;
    let with = |name: &str, value: String| {
        let mut pairs: Vec<(String, String)> = ctx.query.iter().filter(|(k, _)| k != name).cloned().collect();
        pairs.push((name.to_string(), value));
        let query = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        // A query-only reference keeps the request's path (RFC 3986 5.2.2); the server makes
        // it absolute with the request's host.
        format!("<?{query}>")
    };
    let mut links = Vec::new();
    match (&l.page_token, &l.page, &l.offset, start) {
        (Some(token), _, _, _) => {
            if let (true, Some(last)) = (more, page.records.last()) {
                links.push(format!("{}; rel=\"next\"", with(token, encode_token(last.seq))));
            }
        }
        (None, Some(name), _, Start::Offset(offset)) => {
            let (current, last) = (offset / size + 1, (page.total.max(1) - 1) / size + 1);
            if more {
                links.push(format!("{}; rel=\"next\"", with(name, (current + 1).to_string())));
                links.push(format!("{}; rel=\"last\"", with(name, last.max(current + 1).to_string())));
            }
            if current > 1 {
                links.push(format!("{}; rel=\"prev\"", with(name, (current - 1).min(last).to_string())));
                links.push(format!("{}; rel=\"first\"", with(name, "1".to_string())));
            }
        }
        (None, None, Some(name), Start::Offset(offset)) => {
            if more {
                links.push(format!("{}; rel=\"next\"", with(name, (offset + size).to_string())));
                let last = (page.total.max(1) - 1) / size * size;
                links.push(format!("{}; rel=\"last\"", with(name, last.max(offset + size).to_string())));
            }
            if offset > 0 {
                links.push(format!("{}; rel=\"prev\"", with(name, offset.saturating_sub(size).to_string())));
                links.push(format!("{}; rel=\"first\"", with(name, "0".to_string())));
            }
        }
        _ => {}
    }
    Some(links.join(", "))
}

/// A query component as a URL carries it.
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A page token: the creation sequence of the page's last record, so the next page starts
/// right after it (found in O(log n), and stable while records before it are deleted).
fn encode_token(after: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("specstub:after:{after}"))
}

/// A token of ours: `after:SEQ`, or a bare offset (what tokens were before).
fn decode_token(token: &str) -> Option<Start> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("specstub:")?;
    match rest.strip_prefix("after:") {
        Some(seq) => seq.parse().ok().map(Start::After),
        None => rest.parse().ok().map(Start::Offset),
    }
}

/// The mask's paths, from the body field or query parameter (comma-separated, a list, or
/// `{paths: [...]}`).
fn mask_paths(ctx: &Ctx, mask: &binding::MaskConfig) -> Option<Vec<String>> {
    let raw = if mask.in_query { Value::String(ctx.query(&mask.field)?.to_string()) } else { ctx.body?.get(&mask.field)?.clone() };
    let list: Vec<String> = match raw {
        Value::String(s) => s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
        Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        Value::Object(o) => o.get("paths")?.as_array()?.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => return None,
    };
    Some(list)
}

fn resolve_mask_path(mask: &binding::MaskConfig, path: &str, incoming: &Map<String, Value>) -> Option<String> {
    if mask.paths.is_empty() {
        let c = binding::camel(path);
        return Some(if incoming.contains_key(path) { path.to_string() } else { c });
    }
    mask.paths
        .iter()
        .find(|(k, v)| k == path || v == path || binding::camel(k) == path || binding::camel(path) == *v)
        .map(|(_, field)| field.clone())
}

fn change(store: &dyn Store, ctx: &Ctx) -> Result<Outcome, BehaviourError> {
    let b = ctx.binding;
    let id = ctx.id()?;
    let current = load(store, ctx, &id)?;
    let expect = ctx.expect(Some(&current))?;
    let now = crate::clock::now_rfc3339();
    let incoming = if b.action == Action::Transition { Map::new() } else { ctx.incoming()? };
    check_rules(ctx, &incoming, &now)?;
    let masked = match (&b.mask, b.action) {
        (Some(mask), Action::Update) => Some(masked_fields(ctx, mask, &incoming)?),
        _ => None,
    };
    let edit = |r: &mut Record| -> Result<(), BehaviourError> {
        let version = r.version;
        let Value::Object(data) = &mut r.data else { return Err(BehaviourError::Internal("the stored record is not an object".into())) };
        match (b.action, &masked) {
            (Action::Transition, _) => transition(ctx, &id, data)?,
            (Action::Update, Some(fields)) => update_masked(ctx, &id, data, &incoming, fields)?,
            (Action::Update, None) => merge_patch(data, &incoming, &b.set_once).map_err(|f| set_once(&f, ctx, &id))?,
            (Action::Replace, _) => replace(ctx, data, incoming.clone()),
            _ => {}
        }
        stamp(ctx, data, version, &now);
        fill::conform(data, &ctx.spec.schemas, ctx.record_shape(), &b.key, ctx.realistic);
        Ok(())
    };
    // The store only learns that the change declined; the reason stays here.
    let mut refused = None;
    let mut change = |r: &mut Record| edit(r).map_err(|e| refused = Some(e)).map_err(|()| Declined);
    let record = store.update(&ctx.ns(), &id, expect, &b.unique, &mut change).map_err(|e| match (e, refused.take()) {
        (StoreError::Declined, Some(reason)) => reason,
        (e, _) => store_error(ctx, e, &id),
    })?;
    Ok(ctx.outcome(record))
}

/// The update mask's paths and the record field each names.
fn masked_fields(ctx: &Ctx, mask: &binding::MaskConfig, incoming: &Map<String, Value>) -> Result<Vec<(String, String)>, BehaviourError> {
    let paths = mask_paths(ctx, mask).ok_or_else(|| BehaviourError::bad(format!("the update mask {:?} is missing", mask.field)))?;
    if paths.is_empty() {
        return Err(BehaviourError::bad("the update mask names no fields"));
    }
    paths
        .into_iter()
        .map(|p| match resolve_mask_path(mask, &p, incoming) {
            Some(f) => Ok((p, f)),
            None => {
                let allowed: Vec<&str> = mask.paths.iter().map(|(k, _)| k.as_str()).collect();
                Err(BehaviourError::bad(format!("invalid update mask path {p:?}: updatable fields are {}", allowed.join(", "))))
            }
        })
        .collect()
}

/// A state change: refused unless the state field holds one of the `from` values.
fn transition(ctx: &Ctx, id: &str, data: &mut Map<String, Value>) -> Result<(), BehaviourError> {
    let b = ctx.binding;
    let Some(field) = &b.state_field else { return Ok(()) };
    let state = data.get(field).cloned().unwrap_or(Value::Null);
    if !b.from.is_empty() && !b.from.contains(&state) {
        let text = state.as_str().map(String::from).unwrap_or_else(|| state.to_string());
        let message = b.illegal.message.clone().unwrap_or_else(|| {
            format!("{} {id:?} is {text}: this action needs it to be one of {}", singular(ctx.kind()), list_values(&b.from))
        });
        let answer = ErrorAs { status: b.illegal.status, grpc_code: b.illegal.grpc_code };
        return Err(BehaviourError::IllegalTransition { message, answer });
    }
    if let Some(to) = &b.to {
        data.insert(field.clone(), to.clone());
    }
    Ok(())
}

/// Only the masked fields change: to the request's value, or removed when it sends none.
fn update_masked(
    ctx: &Ctx,
    id: &str,
    data: &mut Map<String, Value>,
    incoming: &Map<String, Value>,
    fields: &[(String, String)],
) -> Result<(), BehaviourError> {
    for (path, field) in fields {
        let new = incoming.get(field).cloned();
        if ctx.binding.set_once.contains(field) {
            let old = data.get(field).filter(|v| !v.is_null() && **v != "");
            if old.is_some() && new.as_ref() != old {
                return Err(set_once(path, ctx, id));
            }
        }
        match new {
            Some(v) => data.insert(field.clone(), v),
            None => data.remove(field),
        };
    }
    Ok(())
}

/// The request's resource replaces the record; fields the client cannot write survive.
fn replace(ctx: &Ctx, data: &mut Map<String, Value>, mut next: Map<String, Value>) {
    let b = ctx.binding;
    let shape = ctx.record_shape();
    for (k, v) in data.iter() {
        let server_owned = *k == b.key
            || shape.props.get(k).is_some_and(|p| p.get("readOnly") == Some(&Value::Bool(true)))
            || fill::stamp_of(k).is_some()
            || b.version_field.as_deref() == Some(k.as_str());
        if server_owned {
            next.insert(k.clone(), v.clone());
        }
    }
    *data = next;
}

/// What every write stamps: the operation's `set`, modification stamps, the version field.
fn stamp(ctx: &Ctx, data: &mut Map<String, Value>, version: u64, now: &str) {
    apply_set(ctx, data, now);
    fill::on_change(data, ctx.doc(), ctx.record_shape(), &ctx.caller, now);
    if let Some(f) = &ctx.binding.version_field {
        data.insert(f.clone(), Value::from(version + 1));
    }
}

fn set_once(field: &str, ctx: &Ctx, id: &str) -> BehaviourError {
    let message = format!("{field} can only be set once; it is already set on {} {id:?}", singular(ctx.kind()));
    BehaviourError::BadInput { message, answer: ErrorAs { status: 400, grpc_code: Some(9) } }
}

fn list_values(values: &[Value]) -> String {
    values.iter().map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string())).collect::<Vec<_>>().join(", ")
}

/// RFC 7396 merge patch, refusing to change a set-once field that already has a value.
fn merge_patch(data: &mut Map<String, Value>, patch: &Map<String, Value>, set_once: &[String]) -> Result<(), String> {
    for (k, v) in patch {
        if set_once.contains(k) && data.get(k).is_some_and(|old| !old.is_null() && *old != "" && old != v) {
            return Err(k.clone());
        }
        match v {
            Value::Null => {
                data.remove(k);
            }
            Value::Object(p) => {
                let target = data.entry(k.clone()).or_insert_with(|| Value::Object(Map::new()));
                if !target.is_object() {
                    *target = Value::Object(Map::new());
                }
                if let Value::Object(t) = target {
                    merge_patch(t, p, &[])?;
                }
            }
            other => {
                data.insert(k.clone(), other.clone());
            }
        }
    }
    Ok(())
}

fn delete(store: &dyn Store, ctx: &Ctx) -> Result<Outcome, BehaviourError> {
    let id = ctx.id()?;
    let current = load(store, ctx, &id)?;
    let expect = ctx.expect(Some(&current))?;
    let gone = store.delete(&ctx.ns(), &id, expect).map_err(|e| store_error(ctx, e, &id))?;
    if ctx.binding.tombstones {
        let mark = Record { id: id.clone(), version: 1, seq: 0, scope: Vec::new(), data: Value::Object(Map::new()) };
        let _ = store.create(&ctx.tombstones(), mark, &[]);
    }
    Ok(Outcome { status: ctx.binding.status, body: deleted_body(ctx, &gone), etag: None, not_modified: false, location: None, link: None })
}

/// What a delete answers when it declares an object body: the declared shape generated, with
/// the deleted record's own values wherever a field of the same name can hold them (Stripe's
/// `{id, object, deleted: true}` names the customer that went). None: the declared response's
/// own default body.
fn deleted_body(ctx: &Ctx, gone: &Record) -> Option<Value> {
    let doc = ctx.doc();
    let schema = doc.pointer(ctx.binding.schema.as_deref()?)?;
    let (props, _) = fill::properties(doc, schema);
    if props.is_empty() {
        return None;
    }
    let opts = crate::generate::GenOptions { realistic: ctx.realistic, ..Default::default() };
    let Value::Object(mut body) = crate::generate::generate(schema, doc, &opts) else { return None };
    let Value::Object(record) = &gone.data else { return Some(Value::Object(body)) };
    for (name, prop) in &props {
        if let Some(v) = record.get(name).filter(|v| fill::fits(doc, prop, v)) {
            body.insert(name.clone(), v.clone());
        }
    }
    Some(ctx.projection().apply(&Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn location_fills_the_get_path_with_the_new_id_and_the_request_scope() {
        let params = vec![("namespace".to_string(), "my ns".to_string()), ("job".to_string(), "j1".to_string())];
        assert_eq!(item_location("/api/v1/jobs/runs/{id}", "id", "3f1e-2d", &params), "/api/v1/jobs/runs/3f1e-2d");
        assert_eq!(item_location("/ns/{namespace}/jobs/{job}/runs/{runId}", "runId", "r/1", &params), "/ns/my%20ns/jobs/j1/runs/r%2F1");
        assert_eq!(item_location("/a/{unknown}/{id}", "id", "7", &[]), "/a/{unknown}/7");
    }

    #[test]
    fn page_tokens_round_trip_and_reject_strangers() {
        assert_eq!(decode_token(&encode_token(150)), Some(Start::After(150)));
        let old = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("specstub:40");
        assert_eq!(decode_token(&old), Some(Start::Offset(40)), "tokens issued before stay good");
        assert_eq!(decode_token("garbage"), None);
    }

    #[test]
    fn etags_parse_weak_and_strong() {
        assert_eq!(parse_etag("W/\"12\""), Some(12));
        assert_eq!(parse_etag(" \"3\" "), Some(3));
        assert_eq!(parse_etag("abc"), None);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut data = json!({"a": 1, "b": {"c": 2, "d": 3}, "k": "x"}).as_object().cloned().unwrap();
        let patch = json!({"a": null, "b": {"c": 5}, "e": [1]}).as_object().cloned().unwrap();
        merge_patch(&mut data, &patch, &[]).unwrap();
        assert_eq!(Value::Object(data.clone()), json!({"b": {"c": 5, "d": 3}, "k": "x", "e": [1]}));
        let again = json!({"k": "y"}).as_object().cloned().unwrap();
        assert_eq!(merge_patch(&mut data, &again, &["k".to_string()]), Err("k".to_string()));
    }

    /// The conformance document's compiled plan and an empty store for it.
    fn conform() -> (crate::plan::Api, crate::store::MemoryStore) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conform.yaml");
        let api = crate::plan::build(crate::config::Config { specs: vec![path], ..Default::default() }).expect("compiles").0;
        let store = crate::store::MemoryStore::new(Default::default(), Default::default());
        (api, store)
    }

    /// Runs operation `id` statefully, as the engine would for this request.
    fn run_op(
        api: &crate::plan::Api,
        store: &dyn Store,
        id: &str,
        params: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Outcome, BehaviourError> {
        let planned = api.operations.iter().find(|p| p.op.id == id).expect("declared");
        let crate::plan::Answer::Stateful(binding) = &planned.answer else { panic!("{id} is not stateful") };
        let params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let ctx = Ctx {
            spec: api.spec_of(&planned.op),
            binding,
            path_params: &params,
            query: &[],
            headers: &HeaderMap::new(),
            body: body.as_ref(),
            caller: Caller { user: Some("user-8874f3490fc9aa81".into()), org: None },
            session: String::new(),
            realistic: None,
        };
        run(store, &ctx)
    }

    /// Every violation of the outcome's body against the response schema the operation declares
    /// for its status, checked by the document's own compiled validator.
    fn violations_of(api: &crate::plan::Api, id: &str, outcome: &Outcome) -> Vec<(String, String)> {
        let op = &api.operations.iter().find(|p| p.op.id == id).expect("declared").op;
        let response = match outcome.status {
            Some(s) => op.response_for(s),
            None => op.default_response(),
        }
        .expect("a declared response");
        let media = response.content.iter().find(|m| crate::negotiate::is_json(&m.media_type)).expect("a JSON answer");
        let validator = media.schema.as_ref().expect("a schema").validator(&api.spec_of(op).schemas).expect("compiles");
        crate::spec::schemas::violations(&validator, outcome.body.as_ref().expect("a body"))
    }

    fn assert_conforms(api: &crate::plan::Api, id: &str, outcome: &Outcome) {
        let found = violations_of(api, id, outcome);
        assert!(found.is_empty(), "{id} answered {:?}: {found:?}", outcome.body);
    }

    #[test]
    fn a_created_customer_is_completed_from_its_schema_and_read_back_the_same() {
        let (api, store) = conform();
        let created = run_op(&api, &store, "createCustomer", &[], Some(json!({"email": "a@example.com", "name": "Ada"}))).unwrap();
        assert_conforms(&api, "createCustomer", &created);
        let body = created.body.clone().unwrap();
        let id = body["id"].as_str().unwrap();
        assert!(id.starts_with("cus_") && id.len() == 18, "{id}");
        assert_eq!((body["object"].as_str(), body["livemode"].is_boolean(), body["created"].is_i64()), (Some("customer"), true, true));
        let read = run_op(&api, &store, "getCustomer", &[("customer", id)], None).unwrap();
        assert_conforms(&api, "getCustomer", &read);
        assert_eq!(read.body, created.body);
    }

    #[test]
    fn the_items_a_document_answer_showed_are_kept_and_read_back() {
        let (api, store) = conform();
        let planned = api.operations.iter().find(|p| p.op.id == "listCustomers").expect("declared");
        let crate::plan::Answer::Stateful(binding) = &planned.answer else { panic!("listCustomers is not stateful") };
        let ctx = Ctx {
            spec: api.spec_of(&planned.op),
            binding,
            path_params: &[],
            query: &[],
            headers: &HeaderMap::new(),
            body: None,
            caller: Caller::default(),
            session: String::new(),
            realistic: None,
        };
        let shown = json!({"object": "list", "data": [{"id": "cus_shown", "name": "Shown"}, {"name": "no id"}]});
        assert_eq!(adopt(&store, &ctx, &shown).unwrap(), 1);
        assert_eq!(adopt(&store, &ctx, &shown).unwrap(), 0, "kept once");
        let read = run_op(&api, &store, "getCustomer", &[("customer", "cus_shown")], None).unwrap();
        assert_eq!(read.body.unwrap()["name"], "Shown");
    }

    #[test]
    fn a_list_envelope_under_all_of_has_every_required_field() {
        let (api, store) = conform();
        run_op(&api, &store, "createCustomer", &[], Some(json!({"name": "Ada"}))).unwrap();
        let list = run_op(&api, &store, "listCustomers", &[], None).unwrap();
        assert_conforms(&api, "listCustomers", &list);
        let body = list.body.unwrap();
        assert_eq!(
            (body["object"].as_str(), body["url"].as_str(), body["has_more"].as_bool()),
            (Some("list"), Some("/v1/customers"), Some(false))
        );
        assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn an_unknown_id_is_a_record_where_no_404_is_declared_and_a_404_where_one_is() {
        let (api, store) = conform();
        let id = "3f1e2d3c-4b5a-4c6d-8e7f-8a9b0c1d2e3f";
        let params = [("org", "acme"), ("widgetId", id)];
        let first = run_op(&api, &store, "getWidget", &params, None).unwrap();
        assert_conforms(&api, "getWidget", &first);
        assert_eq!(first.body.as_ref().unwrap()["widgetId"], id);
        assert!(first.body.as_ref().unwrap()["owner"].is_object());
        let again = run_op(&api, &store, "getWidget", &params, None).unwrap();
        assert_eq!(again.body, first.body);
        let deleted = run_op(&api, &store, "deleteWidget", &params, None).unwrap();
        assert_conforms(&api, "deleteWidget", &deleted);
        assert_eq!(deleted.body.as_ref().unwrap()["widgetId"], id, "the answer names the record that went");
        assert!(matches!(run_op(&api, &store, "getWidget", &params, None), Err(BehaviourError::NotFound(_))), "deleted stays deleted");
        let missing = run_op(&api, &store, "getCustomer", &[("customer", "cus_AAAAAAAAAAAAAA")], None);
        assert!(matches!(missing, Err(BehaviourError::NotFound(_))));
    }

    #[test]
    fn caller_stamps_take_the_field_format() {
        let (api, store) = conform();
        let created = run_op(&api, &store, "createWidget", &[("org", "acme")], Some(json!({"name": "w"}))).unwrap();
        assert_conforms(&api, "createWidget", &created);
        let body = created.body.unwrap();
        assert!(body["created_by"].as_str().unwrap().ends_with("@example.com"), "{body}");
        assert!(uuid::Uuid::parse_str(body["modified_by"].as_str().unwrap()).is_ok(), "{body}");
        assert!(body["owner"]["login"].is_string(), "an object owner is generated, not stamped: {body}");
    }

    #[test]
    fn new_ids_follow_pattern_examples_and_the_stricter_path_parameter() {
        let doc = json!({});
        let pattern = json!({"type": "string", "pattern": "^cus_[A-Za-z0-9]{14}$"});
        let id = schema_id(&[pattern], &doc).unwrap();
        assert!(id.starts_with("cus_") && id.len() == 18, "{id}");
        let example = json!({"type": "string", "example": "pi_3MtwBwLkdIwHu7ix28a3tqPa"});
        let id = schema_id(&[example], &doc).unwrap();
        assert!(id.starts_with("pi_") && id.len() == 27 && id != "pi_3MtwBwLkdIwHu7ix28a3tqPa", "{id}");
        let short = json!({"type": "string", "minLength": 4, "maxLength": 8});
        let id = schema_id(&[short], &doc).unwrap();
        assert!((4..=8).contains(&id.chars().count()), "{id}");
        // The item path's parameter is stricter than the field: the id satisfies both.
        let both = [json!({"type": "string", "pattern": "^w-[0-9]{4}$"}), json!({"type": "string", "maxLength": 6})];
        let id = schema_id(&both, &doc).unwrap();
        assert!(id.starts_with("w-") && id.len() == 6, "{id}");
        assert!(uuid::Uuid::parse_str(&schema_id(&[json!({"type": "string"})], &doc).unwrap()).is_ok());
        let roomy = json!({"type": "string", "maxLength": 5000});
        assert!(uuid::Uuid::parse_str(&schema_id(&[roomy], &doc).unwrap()).is_ok(), "a length that admits a uuid keeps it");
        assert_eq!(example_prefix(&json!({"example": "plain"})), None);
    }

    #[test]
    fn ulids_are_26_crockford_characters() {
        let u = ulid();
        assert_eq!(u.len(), 26);
        assert!(u.chars().all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c)));
    }
}
