//! Binds each operation to what it does to the store: from its typed `x-specstub` (see
//! [`super::ext`]) or, for plain REST paths, inferred (`POST /things` creates, `GET
//! /things/{id}` reads...), then completed from the response schemas: the list's array field,
//! the resource's schema, the id format and the schemas a new id must satisfy, the list
//! envelope's other required fields, the `Location` of a create, and whether a read of an
//! unknown id may answer anything but a record (it may not when the spec declares no 404).

use std::collections::HashMap;

use http::Method;
use serde_json::Value;

use super::ext::{ActionName, IdExt, IdFormatName, IdIn, IfMatch, MaskExt, MaskIn, OneOrMany, OperationExt, RefusalExt, TransitionExt};
use crate::behaviour::binding::camel;
use crate::behaviour::binding::{Check, ListConfig, ListExtra, MaskConfig, Refusal};
use crate::behaviour::{Action, Binding, IdFormat, IdSource, SetValue, fill};
use crate::generate::{GenOptions, Realistic};
use crate::spec::walk::Flow;
use crate::spec::{Operation, ParamIn, Problem, SpecSet, source::deref};

/// Bindings for every operation (None: answered from the spec alone), and load problems.
/// `realistic`: what values generated here once (completions, list extras) look like.
pub fn bind_all(set: &SpecSet, exts: &[OperationExt], infer: bool, realistic: Option<Realistic>) -> (Vec<Option<Binding>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(set.operations.len());
    let paths = Paths::index(&set.operations);
    for (op, ext) in set.operations.iter().zip(exts) {
        let spec = &set.specs[op.spec];
        let binding = if ext.declares_behaviour() {
            match explicit(op, ext) {
                Ok(b) => Some(b),
                Err(msg) => {
                    problems.push(Problem::error(&spec.file, format!("{}/x-specstub", op.pointer), msg));
                    None
                }
            }
        } else if infer && ext.stateful != Some(false) {
            infer_binding(op, &paths)
        } else {
            None
        };
        out.push(binding.map(|mut b| {
            if b.action == Action::List {
                infer_list_fields(set, op, &mut b.list, realistic);
            }
            // A state machine's transition needs a state the client brought about: an unknown
            // id stays unknown there.
            if matches!(b.action, Action::Get | Action::Update | Action::Replace | Action::Delete) {
                b.invent_missing = !op.responses.iter().any(|r| matches!(r.code.as_str(), "404" | "4XX" | "default"));
            }
            b.full.status = full_status(set, op);
            b.schema = resource_schema(set, op, &b);
            b
        }));
    }
    one_name_per_collection(set, exts, &mut out);
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
    let mut checks = HashMap::new();
    for (b, op) in out.iter_mut().zip(&set.operations) {
        if let Some(b) = b.as_mut() {
            b.record_schema = schemas.get(&(op.spec, b.resource.clone())).cloned().or_else(|| b.schema.clone());
            // Resolved once here: doing it per write was a fifth of a stateful request's work.
            let doc = set.specs[op.spec].schemas.doc(Flow::Response);
            b.projection = fill::Projection::of(doc, b.schema.as_ref().and_then(|p| doc.pointer(p)), realistic);
            b.record_shape = fill::RecordShape::of(doc, b.record_schema.as_ref().and_then(|p| doc.pointer(p)));
            if b.record_shape.is_empty() {
                b.record_shape = fill::RecordShape::of(doc, b.schema.as_ref().and_then(|p| doc.pointer(p)));
            }
            if let Some(ptr) = b.record_schema.as_ref().or(b.schema.as_ref()) {
                let ptr = record_branch(doc, ptr);
                let check = checks.entry((op.spec, ptr.clone())).or_insert_with(|| fill::Check::new(ptr));
                b.record_shape.check = Some(check.clone());
            }
        }
    }
    keys_the_schema_has(exts, &mut out);
    // Once the key is known (a create names none of its own, it takes its resource's): ids are
    // made as the key field's schema says, an integer where GitHub's `id` is one.
    for ((b, op), ext) in out.iter_mut().zip(&set.operations).zip(exts) {
        if let Some(b) = b.as_mut().filter(|b| b.action == Action::Create && ext.id_format.is_none()) {
            b.id_format = id_format(set, op, b);
        }
    }
    let invents: std::collections::HashSet<String> =
        out.iter().flatten().filter(|b| b.invent_missing).map(|b| b.resource.clone()).collect();
    for b in out.iter_mut().flatten() {
        b.tombstones = invents.contains(&b.resource);
    }
    id_schemas(set, exts, &mut out);
    (out, problems)
}

/// The status a write answers when the store is full: a declared 507; else a declared error
/// whose description speaks of a limit, a quota or storage; else a declared 503, then 429; else
/// 507 (in the `default` response's shape when there is one).
fn full_status(set: &SpecSet, op: &Operation) -> u16 {
    let declared = |code: &str| op.responses.iter().any(|r| r.code == code);
    if declared("507") {
        return 507;
    }
    // These mean something else to a client: a full store must not read as "fix your request".
    let taken = ["400", "401", "403", "404", "405", "409", "412", "415", "422", "428"];
    let speaks_of_room = op.responses.iter().find(|r| {
        // The whole document, where the response's description still is.
        let doc = set.specs[op.spec].schemas.doc(Flow::Response);
        let at = format!("{}/responses/{}", op.pointer, r.code.replace('~', "~0").replace('/', "~1"));
        let response = doc.pointer(&at).map(|v| deref(doc, v, &at).0);
        let text = response.and_then(|v| v.get("description")).and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
        let code = r.code.parse::<u16>().unwrap_or(0);
        (400..=599).contains(&code)
            && !taken.contains(&r.code.as_str())
            && ["limit", "quota", "storage", "capacity", "too many", "full"].iter().any(|w| text.contains(w))
    });
    if let Some(r) = speaks_of_room {
        return r.code.parse().unwrap_or(507);
    }
    ["503", "429"].iter().find(|c| declared(c)).and_then(|c| c.parse().ok()).unwrap_or(507)
}

/// An inferred key is the item path's parameter name (`/v1/customers/{customer}`), but a record
/// whose schema has no such field keeps its id in the field that names it otherwise: the
/// parameter's name in another case (`ContentDefinitionID` for `{contentDefinitionID}`), else
/// `id`, else `ID`. Otherwise the stored id is projected away and the answer shows another value
/// in that field (generated, or the client's), which a read by it does not find.
fn keys_the_schema_has(exts: &[OperationExt], out: &mut [Option<Binding>]) {
    let mut renamed: HashMap<String, (String, String)> = HashMap::new();
    for (b, ext) in out.iter().zip(exts) {
        let Some(b) = b.as_ref().filter(|_| ext.key.is_none() && !ext.declares_behaviour()) else { continue };
        let props = &b.record_shape.props;
        if props.is_empty() || props.contains_key(&b.key) {
            continue;
        }
        let named = |name: &str| props.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned();
        let field = named(&b.key).or_else(|| props.contains_key("id").then(|| "id".to_string())).or_else(|| named("id"));
        if let Some(field) = field {
            renamed.entry(b.resource.clone()).or_insert_with(|| (b.key.clone(), field));
        }
    }
    for (b, ext) in out.iter_mut().zip(exts) {
        if let Some(b) = b.as_mut().filter(|_| ext.key.is_none() && !ext.declares_behaviour()) {
            if let Some((_, field)) = renamed.get(&b.resource).filter(|(old, _)| *old == b.key) {
                b.key = field.clone();
            }
        }
    }
}

/// The schemas a created id must satisfy: the key field's, and the item operation's path
/// parameter's (a get whose `{id}` has a pattern refuses any other id), the stricter first.
fn id_schemas(set: &SpecSet, exts: &[OperationExt], out: &mut [Option<Binding>]) {
    let mut params: HashMap<String, Value> = HashMap::new();
    for (b, op) in out.iter().zip(&set.operations) {
        let Some(Binding { action: Action::Get, id: IdSource::Path(name), resource, .. }) = b else { continue };
        let param = op.parameters.iter().find(|p| p.location == ParamIn::Path && p.name == *name);
        let spec = &set.specs[op.spec];
        if let Some(schema) = param.and_then(|p| p.schema.as_ref()).and_then(|s| s.schema(&spec.schemas)) {
            let doc = spec.schemas.doc(param.and_then(|p| p.schema.as_ref()).map(|s| s.flow).unwrap_or(Flow::Request));
            params.entry(resource.clone()).or_insert_with(|| deref(doc, schema, "").0.clone());
        }
    }
    for ((b, _op), ext) in out.iter_mut().zip(&set.operations).zip(exts) {
        let Some(b) = b.as_mut().filter(|b| b.action == Action::Create && ext.id_format.is_none() && b.id_format == IdFormat::Uuid) else {
            continue;
        };
        let mut schemas: Vec<Value> = b.record_shape.props.get(&b.key).cloned().into_iter().collect();
        if let Some(p) = params.get(&b.resource) {
            if strictness(p) > schemas.first().map(strictness).unwrap_or(0) {
                schemas.insert(0, p.clone());
            } else {
                schemas.push(p.clone());
            }
        }
        b.id_schemas = schemas;
    }
}

/// How much a string schema says about its values, to choose the schema an id is made from.
fn strictness(schema: &Value) -> usize {
    ["pattern", "format", "minLength", "maxLength", "enum", "const"].iter().filter(|k| schema.get(**k).is_some()).count()
}

/// An explicit `resource` name also names the collection that inference found on the same
/// path: `x-specstub: {resource: things}` on `POST /things` would otherwise store into `things`
/// while the inferred `GET /things/{id}` reads `/things`, and every created record would 404.
fn one_name_per_collection(set: &SpecSet, exts: &[OperationExt], out: &mut [Option<Binding>]) {
    let mut alias: HashMap<String, String> = HashMap::new();
    for ((b, op), ext) in out.iter().zip(&set.operations).zip(exts) {
        let Some(b) = b.as_ref().filter(|_| ext.declares_behaviour()) else { continue };
        let path = crate::template::split_key(&op.served_path).0;
        let collection = match b.action {
            Action::Create | Action::List => path.to_string(),
            _ => path.rsplit_once('/').map(|(c, _)| c.to_string()).unwrap_or_default(),
        };
        if !collection.is_empty() && collection != b.resource {
            alias.entry(collection).or_insert_with(|| b.resource.clone());
        }
    }
    for (b, ext) in out.iter_mut().zip(exts) {
        if let Some(b) = b.as_mut().filter(|_| !ext.declares_behaviour()) {
            if let Some(name) = alias.get(&b.resource) {
                b.resource = name.clone();
            }
        }
    }
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

fn refusal(v: Option<&RefusalExt>, default: Refusal) -> Result<Refusal, String> {
    let Some(v) = v else { return Ok(default) };
    let status = match v.status {
        Some(s) if (400..600).contains(&s) => s,
        Some(_) => return Err("an error `status` must be 400..599".into()),
        None => default.status,
    };
    Ok(Refusal { status, grpc_code: v.grpc_code.or(default.grpc_code), message: v.message.clone() })
}

/// The binding an operation declares; the extension's keys and types are already checked, so
/// what is left are the rules between keys and the operation.
fn explicit(op: &Operation, x: &OperationExt) -> Result<Binding, String> {
    let resource = x.resource.clone().ok_or("`resource` (the collection name) is required")?;
    let action = match x.action.ok_or("`action` is required")? {
        ActionName::Create => Action::Create,
        ActionName::Get => Action::Get,
        ActionName::List => Action::List,
        ActionName::Update => Action::Update,
        ActionName::Replace => Action::Replace,
        ActionName::Delete => Action::Delete,
        ActionName::Transition => Action::Transition,
    };
    let mut b = Binding::new(resource, action);
    b.key = x.key.clone().unwrap_or_default();
    b.id = match &x.id {
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
        Some(IdExt::Name(name)) => IdSource::Path(name.clone()),
        Some(IdExt::Place(place)) => match (place.location, &place.name, &place.pointer) {
            (IdIn::Path, Some(n), _) => IdSource::Path(n.clone()),
            (IdIn::Query, Some(n), _) => IdSource::Query(n.clone()),
            (IdIn::Body, _, Some(p)) if p.starts_with('/') => IdSource::Body(p.clone()),
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
    b.id_format = match x.id_format {
        None | Some(IdFormatName::Uuid) => IdFormat::Uuid,
        Some(IdFormatName::Ulid) => IdFormat::Ulid,
        Some(IdFormatName::Integer) => IdFormat::Integer,
    };
    b.scope = x.scope.clone().map(OneOrMany::into_vec).unwrap_or_default();
    for name in &b.scope {
        if !op.parameters.iter().any(|p| p.location == ParamIn::Path && p.name == *name) {
            return Err(format!("`scope` names path parameter {name:?}, which the operation does not declare"));
        }
    }
    b.request_envelope = x.request_envelope.clone().or_else(|| x.envelope.clone());
    b.response_envelope = x.response_envelope.clone().or_else(|| x.envelope.clone());
    if let Some(l) = &x.list {
        b.list.items = l.items.clone();
        b.list.page_size = l.page_size.clone();
        b.list.page_token = l.page_token.clone();
        b.list.next_page_token = l.next_page_token.clone();
        b.list.limit = l.limit.clone();
        b.list.offset = l.offset.clone();
        b.list.page = l.page.clone();
        b.list.total = l.total.clone();
        b.list.has_more = l.has_more.clone();
        if let Some(n) = l.default_page_size {
            b.list.default_page_size = n.max(1) as usize;
        }
        if let Some(n) = l.max_page_size {
            b.list.max_page_size = n.max(1) as usize;
        }
        for (q, field) in &l.filters {
            b.list.filters.push((q.clone(), field.as_str().unwrap_or(q).to_string()));
        }
    }
    if let Some(m) = &x.update_mask {
        let (field, in_query, declared) = match m {
            MaskExt::Field(f) => (f.clone(), false, None),
            MaskExt::Full(full) => (full.field.clone(), full.location == Some(MaskIn::Query), full.paths.as_ref()),
        };
        let mut paths = Vec::new();
        match declared {
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
            Some(_) => return Err("`updateMask.paths` is a mapping of mask path → field, or a list of paths".into()),
            None => {}
        }
        b.mask = Some(MaskConfig { field, in_query, paths });
    }
    b.set_once = x.set_once.clone().map(OneOrMany::into_vec).unwrap_or_default();
    b.unique = x.unique.clone().map(OneOrMany::into_vec).unwrap_or_default();
    if let Some(v) = &x.version {
        b.version_field = v.field.clone();
        b.if_match_required = v.if_match == Some(IfMatch::Required);
    }
    if let Some(d) = &x.defaults {
        b.defaults = d.clone();
    }
    let no_transition = TransitionExt::default();
    let transition = x.transition.as_ref().unwrap_or(&no_transition);
    b.state_field = transition.field.clone();
    b.from = match &transition.from {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    b.to = transition.to.clone();
    let set = transition.set.as_ref().or(x.set.as_ref());
    for (field, v) in set.into_iter().flatten() {
        b.set.push((field.clone(), set_value(v)?));
    }
    b.illegal = refusal(transition.error.as_ref(), b.illegal.clone())?;
    b.conflict = refusal(x.conflict.as_ref(), b.conflict.clone())?;
    for c in x.checks.iter().flatten() {
        if !c.pointer.starts_with('/') {
            return Err("a check needs `pointer: /field`".into());
        }
        b.checks.push(Check {
            message: c.message.clone().unwrap_or_else(|| format!("{} must be after {}", c.pointer, c.after)),
            pointer: c.pointer.clone(),
            after: c.after.clone(),
            status: c.status.unwrap_or(400),
        });
    }
    if let Some(p) = &x.parent {
        b.parent = Some((p.resource.clone(), p.id.clone()));
    }
    b.status = x.status;
    Ok(b)
}

fn set_value(v: &Value) -> Result<SetValue, String> {
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
            _ => Vec::new(),
        }
    };
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

/// What inference asks of the other operations, indexed once: scanning them all for each
/// operation took minutes on Microsoft Graph's 22,361.
struct Paths<'a> {
    /// (document, served path) of every POST.
    creates: std::collections::HashSet<(usize, &'a str)>,
    /// (document, served path) of every PUT or PATCH.
    updates: std::collections::HashSet<(usize, &'a str)>,
    /// (document, served path of a collection) → the first operation on a path one parameter
    /// segment (`/{…`, with no further `/`) below it.
    items: HashMap<(usize, &'a str), &'a Operation>,
}

impl<'a> Paths<'a> {
    fn index(all: &'a [Operation]) -> Self {
        let mut paths = Paths { creates: Default::default(), updates: Default::default(), items: HashMap::new() };
        for o in all {
            if o.method == Method::POST {
                paths.creates.insert((o.spec, o.served_path.as_str()));
            }
            if matches!(o.method, Method::PUT | Method::PATCH) {
                paths.updates.insert((o.spec, o.served_path.as_str()));
            }
            if let Some((parent, last)) = o.served_path.rsplit_once('/') {
                if last.starts_with('{') {
                    paths.items.entry((o.spec, parent)).or_insert(o);
                }
            }
        }
        paths
    }
}

/// The pointer of the schema a record is kept to: the schema at `ptr`, or, when that is only a
/// choice of shapes (Stripe's customer or deleted customer), the first one with fields, as
/// `RecordShape::of` chooses.
fn record_branch(doc: &Value, ptr: &str) -> String {
    let Some(schema) = doc.pointer(ptr) else { return ptr.to_string() };
    let (resolved, at) = deref(doc, schema, ptr);
    if !fill::properties(doc, resolved).0.is_empty() {
        return at;
    }
    for k in ["anyOf", "oneOf"] {
        for (i, b) in resolved.get(k).and_then(Value::as_array).into_iter().flatten().enumerate() {
            if !fill::properties(doc, b).0.is_empty() {
                return format!("{at}/{k}/{i}");
            }
        }
    }
    at
}

/// Plain REST: a collection path and an item path one parameter deeper.
fn infer_binding(op: &Operation, paths: &Paths) -> Option<Binding> {
    let path = op.served_path.as_str();
    let last_is_param = path.rsplit('/').next().is_some_and(|seg| seg.starts_with('{') && seg.ends_with('}'));
    let path_params: Vec<String> = crate::template::names(path);
    if last_is_param {
        let collection = path.rsplit_once('/')?.0.to_string();
        if collection.is_empty() || collection.ends_with('}') {
            return None;
        }
        let has_create = paths.creates.contains(&(op.spec, collection.as_str()));
        if !has_create {
            return None;
        }
        let action = match op.method {
            Method::GET => Action::Get,
            Method::PUT => Action::Replace,
            Method::PATCH => Action::Update,
            Method::DELETE => Action::Delete,
            // Stripe's (and form-based APIs') update: a POST to the item, where no PUT or PATCH
            // is declared for it.
            Method::POST if !paths.updates.contains(&(op.spec, path)) => Action::Update,
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
        let item = *paths.items.get(&(op.spec, path))?;
        let action = match op.method {
            Method::POST => Action::Create,
            Method::GET => Action::List,
            _ => return None,
        };
        let mut b = Binding::new(path.to_string(), action);
        let item_params = crate::template::names(&item.served_path);
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
    let response = op.default_response()?;
    let media = response.content.iter().find(|m| crate::negotiate::is_json(&m.media_type))?;
    let ptr = &media.schema.as_ref()?.pointer;
    let (schema, at) = deref(doc, doc.pointer(ptr)?, ptr);
    Some((doc, schema, at))
}

/// Property `name` of `schema` (found at `at`), its own or an `allOf` member's, `$ref`s
/// resolved, and its pointer.
fn property<'a>(doc: &'a Value, schema: &'a Value, at: &str, name: &str) -> Option<(&'a Value, String)> {
    all_properties(doc, schema, at).into_iter().find(|(n, _, _)| n == name).map(|(_, v, at)| (v, at))
}

/// Every property of `schema` (found at `at`), its own then its `allOf` members' (nested), with
/// `$ref`s resolved and each one's pointer.
fn all_properties<'a>(doc: &'a Value, schema: &'a Value, at: &str) -> Vec<(String, &'a Value, String)> {
    let mut out = Vec::new();
    for (k, v) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let (v, ptr) = deref(doc, v, &format!("{at}/properties/{}", crate::spec::escape_token(k)));
        out.push((k.clone(), v, ptr));
    }
    for (i, member) in schema.get("allOf").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let (member, member_at) = deref(doc, member, &format!("{at}/allOf/{i}"));
        if member_at.matches("/allOf/").count() < 8 {
            out.extend(all_properties(doc, member, &member_at));
        }
    }
    out
}

fn all_required(doc: &Value, schema: &Value) -> Vec<String> {
    let mut out: Vec<String> = crate::generate::required_names(schema, crate::generate::Direction::Response).map(String::from).collect();
    for member in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        out.extend(all_required(doc, deref(doc, member, "").0));
    }
    out
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
        return items_of(doc, array, &array_at, 0);
    }
    match &b.response_envelope {
        Some(envelope) => property(doc, schema, &at, envelope).map(|(_, at)| at),
        None => Some(at),
    }
}

/// Where the item schema of `array` (found at `at`) is: its `items`, or those of an `allOf`
/// member (AWS's `allOf: [{$ref: ListOfX}, {description}]` around every property).
fn items_of(doc: &Value, array: &Value, at: &str, depth: usize) -> Option<String> {
    if let Some(items) = array.get("items") {
        return Some(deref(doc, items, &format!("{at}/items")).1);
    }
    if depth >= 8 {
        return None;
    }
    array.get("allOf").and_then(Value::as_array).into_iter().flatten().enumerate().find_map(|(i, member)| {
        let (member, member_at) = deref(doc, member, &format!("{at}/allOf/{i}"));
        items_of(doc, member, &member_at, depth + 1)
    })
}

/// The first array property of a list response, which is where its records go when the
/// binding does not name the field.
fn array_field(doc: &Value, schema: &Value, at: &str) -> Option<String> {
    all_properties(doc, schema, at)
        .into_iter()
        .find(|(_, v, _)| crate::spec::model::types_of(doc, v).iter().any(|t| t == "array"))
        .map(|(k, _, _)| k)
}

/// Fills the list fields the binding leaves out from the list response's schema: its array,
/// a total count or has-more flag under a conventional name, and a value for every other
/// required field (Stripe's `object: list` and `url`).
fn infer_list_fields(set: &SpecSet, op: &Operation, list: &mut ListConfig, realistic: Option<Realistic>) {
    let Some((doc, schema, at)) = response_schema(set, op) else { return };
    if list.items.is_none() {
        list.items = array_field(doc, schema, &at);
    }
    // Paging by the operation's conventionally named query parameters, so `has_more` and
    // totals tell the truth about a page.
    let query = |names: &[&str]| {
        names.iter().find(|n| op.parameters.iter().any(|p| p.location == ParamIn::Query && p.name == **n)).map(|n| n.to_string())
    };
    if list.limit.is_none() && list.page_size.is_none() {
        list.page_size = query(&["pageSize", "page_size"]);
        if list.page_size.is_none() {
            list.limit = query(&["limit", "per_page"]);
        }
    }
    if list.offset.is_none() && list.page_token.is_none() && list.page.is_none() {
        list.offset = query(&["offset"]);
        if list.offset.is_none() {
            list.page = query(&["page"]);
        }
    }
    let found = all_properties(doc, schema, &at);
    let typed = |names: &[&str], ty: &str| {
        names
            .iter()
            .find(|n| found.iter().any(|(k, p, _)| k == *n && crate::spec::model::types_of(doc, p).iter().any(|t| t == ty)))
            .map(|n| n.to_string())
    };
    if list.total.is_none() {
        list.total = typed(&["total", "totalCount", "total_count", "totalSize", "total_size"], "integer");
    }
    if list.has_more.is_none() {
        list.has_more = typed(&["has_more", "hasMore"], "boolean");
    }
    if list.items.is_none() {
        return;
    }
    let computed = [&list.items, &list.total, &list.has_more, &list.next_page_token];
    for name in all_required(doc, schema) {
        let Some((_, prop, _)) = found.iter().find(|(k, _, _)| *k == name) else { continue };
        if computed.iter().any(|c| c.as_deref() == Some(name.as_str())) || list.extras.iter().any(|(k, _)| *k == name) {
            continue;
        }
        let is_string = crate::spec::model::types_of(doc, prop).iter().any(|t| t == "string");
        let fixed = prop.get("const").is_some() || prop.get("enum").and_then(Value::as_array).is_some_and(|e| e.len() == 1);
        let path_fits = fill::fits(doc, prop, &Value::String(op.served_path.clone()));
        let extra = if name == "url" && is_string && !fixed && path_fits {
            ListExtra::Path(op.served_path.clone())
        } else {
            let opts = GenOptions { realistic: realistic.map(|r| r.fork(&name)), name: Some(&name), ..GenOptions::default() };
            ListExtra::Value(crate::generate::generate(prop, doc, &opts))
        };
        list.extras.push((name, extra));
    }
}

/// How a created record's id looks, from the key field's schema (integer, uuid, or else uuid).
fn id_format(set: &SpecSet, op: &Operation, b: &Binding) -> IdFormat {
    let spec = &set.specs[op.spec];
    let doc = spec.schemas.doc(Flow::Response);
    let prop = match b.record_shape.props.get(&b.key) {
        Some(prop) => prop,
        None => {
            let Some(schema) = b.schema.as_ref().and_then(|p| doc.pointer(p)) else { return IdFormat::Uuid };
            let (schema, at) = deref(doc, schema, "");
            let Some((prop, _)) = property(doc, schema, &at, &b.key) else { return IdFormat::Uuid };
            prop
        }
    };
    let types = crate::spec::model::types_of(doc, prop);
    if types.iter().any(|t| t == "integer") {
        IdFormat::Integer
    } else if prop.get("pattern").and_then(Value::as_str).is_some_and(|p| p.contains("0-9A-HJKMNP-TV-Z")) {
        IdFormat::Ulid
    } else {
        IdFormat::Uuid
    }
}
