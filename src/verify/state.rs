//! What `verify` learned from earlier answers: identifiers of the resources it created or read
//! (for later path parameters and ids in bodies), the last `ETag` of each item (for `If-Match`),
//! and values that OpenAPI `links` carry to the operations they name.

use std::collections::HashMap;

use http::HeaderMap;
use serde_json::{Map, Value};

use super::order::{is_id_like, stem};

/// A value taken from an earlier answer, and where from.
#[derive(Debug, Clone, PartialEq)]
pub struct Produced {
    pub value: Value,
    /// The operation whose answer held it.
    pub from: String,
    /// Where in that answer: a JSON pointer, `Location`, or a link's runtime expression.
    pub at: String,
    /// Created (2) beats read (1): the resource verify made itself is the one it may change. Links
    /// count 3 (4 from a create).
    pub strength: u8,
    /// The resource (stem) whose answer held it; empty for values a link carried.
    pub resource: String,
    /// The path parameters of the request whose answer held it: an item made under
    /// `/orgs/acme/hooks` is found under `acme` only, so the parents go with the id.
    pub scope: Vec<(String, String)>,
    /// The literal path segment before the producer's collection (see `order::qualifier`):
    /// Stripe's checkout sessions are not its financial-connections sessions.
    pub qualifier: String,
}

impl Produced {
    /// A value a link carried: it names no resource, scope or qualifier of its own.
    fn linked(value: Value, from: &str, at: String, strength: u8) -> Self {
        Self { value, from: from.to_string(), at, strength, resource: String::new(), scope: Vec::new(), qualifier: String::new() }
    }
}

/// Cloned per lane at the start of each wave (see `verify_spec`), so that what a lane reads never
/// depends on how far the other lanes of its wave have got.
#[derive(Debug, Default, Clone)]
pub struct State {
    /// Resource stem → field name → value.
    resources: HashMap<String, HashMap<String, Produced>>,
    /// Identifier fields of created resources, by name, whatever the resource.
    global: HashMap<String, Produced>,
    /// Concrete item path → its last `ETag`.
    etags: HashMap<String, String>,
    /// Target operation id → parameter name → value, from links.
    link_params: HashMap<String, HashMap<String, Produced>>,
    /// Target operation id → request body, from links.
    link_bodies: HashMap<String, Produced>,
}

/// Where an answer came from, for [`State::harvest`].
#[derive(Clone, Copy)]
pub struct Origin<'a> {
    pub op_id: &'a str,
    /// The resource (stem) the answer is about, and the literal segment before its collection.
    pub resource: &'a str,
    pub qualifier: &'a str,
    /// Created (not read): what verify made itself is the one it may change.
    pub created: bool,
    /// The request's path parameters.
    pub scope: &'a [(String, String)],
}

/// One finished exchange, as links' runtime expressions see it.
pub struct Exchange<'a> {
    pub url: &'a str,
    pub method: &'a str,
    pub path_params: &'a [(String, String)],
    pub query: &'a str,
    pub request_headers: &'a HeaderMap,
    pub request_body: Option<&'a Value>,
    pub status: u16,
    pub response_headers: &'a HeaderMap,
    pub response_body: Option<&'a Value>,
}

impl State {
    /// The value for path parameter `name` that follows the literal segment `collection`: the
    /// first of [`State::candidates`].
    #[cfg(test)]
    pub fn path_param(&self, op_id: &str, name: &str, collection: &str) -> Option<Produced> {
        self.candidates(op_id, name, collection, None).into_iter().next()
    }

    /// Every value earlier answers offer for path parameter `name` after the literal segment
    /// `collection`, best first: a link's, then identifiers of the resource the parameter
    /// addresses. An identifier of another resource never stands in, whatever its field name: a
    /// `runId` inside a job's answer may name a run that does not exist, and a 404 for it would
    /// read as the provider's fault. With a `qualifier` (see `order::qualifier`), identifiers
    /// of the addressed collection come only from a collection of that name under the same
    /// literal segment. The caller keeps the first that its schema accepts.
    pub fn candidates(&self, op_id: &str, name: &str, collection: &str, qualifier: Option<&str>) -> Vec<Produced> {
        let mut out: Vec<Produced> = Vec::new();
        let mut push = |p: &Produced| {
            if !out.iter().any(|o| o.value == p.value) {
                out.push(p.clone());
            }
        };
        if let Some(p) = self.link_param(op_id, name) {
            push(&p);
        }
        let own = stem(name);
        let addressed = stem(collection);
        let same_collection = |p: &Produced| qualifier.is_none_or(|q| p.qualifier == q);
        let of_resource = |fields: &HashMap<String, Produced>, strict: bool, push: &mut dyn FnMut(&Produced)| {
            let mut named: Vec<(&String, &Produced)> = fields.iter().filter(|(f, _)| is_id_like(f) && stem(f) == own).collect();
            // HashMap order is arbitrary: sort so that the same answers always give the same id.
            named.sort_by(|a, b| a.0.cmp(b.0));
            for p in fields.get(name).into_iter().chain(fields.get("id")).chain(named.into_iter().map(|(_, p)| p)) {
                if !strict || same_collection(p) {
                    push(p);
                }
            }
        };
        if !addressed.is_empty() {
            if let Some(fields) = self.resources.get(&addressed) {
                of_resource(fields, true, &mut push);
            }
        }
        // A parameter that names its resource (`{customer}` after `/subscriptions`) says which.
        if !own.is_empty() && own != "id" && own != addressed {
            if let Some(fields) = self.resources.get(&own) {
                of_resource(fields, false, &mut push);
            }
        }
        if name != "id" && is_id_like(name) {
            let fits = |p: &&Produced| p.resource == own || (!addressed.is_empty() && p.resource == addressed && same_collection(p));
            if let Some(p) = self.global.get(name).filter(fits) {
                push(p);
            }
        }
        out
    }

    /// A value a link gives for parameter `name` (`runId` or `path.runId`) of `op_id`.
    pub fn link_param(&self, op_id: &str, name: &str) -> Option<Produced> {
        self.link_params.get(op_id).and_then(|m| m.get(name)).cloned()
    }

    pub fn link_body(&self, op_id: &str) -> Option<Produced> {
        self.link_bodies.get(op_id).cloned()
    }

    /// The identifier field `field` of `resource`, for ids inside request bodies.
    pub fn field(&self, resource: &str, field: &str) -> Option<Produced> {
        let fields = self.resources.get(resource)?;
        fields.get(field).cloned().or_else(|| if is_id_like(field) { self.global.get(field).cloned() } else { None })
    }

    pub fn etag(&self, item_path: &str) -> Option<&str> {
        self.etags.get(item_path).map(String::as_str)
    }

    pub fn set_etag(&mut self, item_path: String, etag: String) {
        self.etags.insert(item_path, etag);
    }

    /// Records the identifiers an answer holds: the resource itself, the single object in an
    /// envelope (`{"run": {...}}`), or the first item of a list.
    pub fn harvest(&mut self, origin: &Origin, headers: &HeaderMap, body: Option<&Value>) {
        let Origin { op_id, resource, qualifier, created, scope } = *origin;
        let scope = scope.to_vec();
        let found = body.and_then(entity);
        let strength = if created && !found.as_ref().is_some_and(|(_, _, list)| *list) { 2 } else { 1 };
        let mut fields: Vec<(String, Produced)> = Vec::new();
        if let Some((obj, pointer, _)) = &found {
            for (k, v) in obj.iter() {
                if matches!(v, Value::String(_) | Value::Number(_)) {
                    let at = format!("{pointer}/{}", crate::spec::escape_token(k));
                    fields.push((
                        k.clone(),
                        Produced {
                            value: v.clone(),
                            from: op_id.to_string(),
                            at,
                            strength,
                            resource: resource.to_string(),
                            scope: scope.clone(),
                            qualifier: qualifier.to_string(),
                        },
                    ));
                }
            }
        }
        if !fields.iter().any(|(k, _)| k == "id") {
            if let Some(id) = location_id(headers) {
                let resource = resource.to_string();
                fields.push((
                    "id".into(),
                    Produced {
                        value: Value::String(id),
                        from: op_id.to_string(),
                        at: "Location".into(),
                        strength,
                        resource,
                        scope,
                        qualifier: qualifier.to_string(),
                    },
                ));
            }
        }
        let slot = self.resources.entry(resource.to_string()).or_default();
        // The first producer wins unless a later one is stronger: the resource the primary create
        // made stays the one later requests use.
        for (k, p) in fields {
            if strength == 2 && is_id_like(&k) && k != "id" {
                self.global.entry(k.clone()).or_insert_with(|| p.clone());
            }
            if slot.get(&k).is_none_or(|old| old.strength < p.strength) {
                slot.insert(k, p);
            }
        }
    }

    /// Evaluates the `links` of the declared response that answered (`links` is that map) and
    /// keeps their values for the operations they name (`target` maps a link to an operation id).
    pub fn follow_links(
        &mut self,
        op_id: &str,
        created: bool,
        links: &Map<String, Value>,
        target: impl Fn(&Value) -> Option<String>,
        ex: &Exchange,
    ) {
        let strength = if created { 4 } else { 3 };
        for (name, link) in links {
            let Some(to) = target(link) else { continue };
            for (param, expr) in link.get("parameters").and_then(Value::as_object).into_iter().flatten() {
                let Some(value) = evaluate(expr, ex) else { continue };
                let param = param
                    .split_once('.')
                    .filter(|(l, _)| matches!(*l, "path" | "query" | "header" | "cookie"))
                    .map_or(param.as_str(), |(_, n)| n);
                let at = format!("link {name}: {}", expr.as_str().map(String::from).unwrap_or_else(|| expr.to_string()));
                let p = Produced::linked(value, op_id, at, strength);
                let slot = self.link_params.entry(to.clone()).or_default();
                if slot.get(param).is_none_or(|old| old.strength <= strength) {
                    slot.insert(param.to_string(), p);
                }
            }
            if let Some(expr) = link.get("requestBody") {
                if let Some(value) = evaluate(expr, ex) {
                    self.link_bodies.insert(to, Produced::linked(value, op_id, format!("link {name}: requestBody"), strength));
                }
            }
        }
    }
}

/// The object an answer is about, the pointer to it, and whether it is the first item of a list.
fn entity(body: &Value) -> Option<(&Map<String, Value>, String, bool)> {
    match body {
        Value::Object(top) => {
            if top.keys().any(|k| is_id_like(k)) {
                return Some((top, String::new(), false));
            }
            let envelopes: Vec<(&String, &Map<String, Value>)> =
                top.iter().filter_map(|(k, v)| v.as_object().map(|o| (k, o))).filter(|(_, o)| o.keys().any(|k| is_id_like(k))).collect();
            if let [(k, inner)] = envelopes.as_slice() {
                return Some((inner, format!("/{}", crate::spec::escape_token(k)), false));
            }
            for (k, v) in top {
                if let Some(first) = v.as_array().and_then(|a| a.first()).and_then(Value::as_object) {
                    if first.keys().any(|f| is_id_like(f)) {
                        return Some((first, format!("/{}/0", crate::spec::escape_token(k)), true));
                    }
                }
            }
            Some((top, String::new(), false))
        }
        Value::Array(items) => items.first().and_then(Value::as_object).map(|o| (o, "/0".to_string(), true)),
        _ => None,
    }
}

/// The last segment of a `Location` header: `/jobs/runs/4f8a` → `4f8a`.
fn location_id(headers: &HeaderMap) -> Option<String> {
    let loc = headers.get(http::header::LOCATION)?.to_str().ok()?;
    let path = loc.split(['?', '#']).next()?;
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && !last.contains(':')).then(|| percent_encoding::percent_decode_str(last).decode_utf8_lossy().into_owned())
}

/// An OpenAPI runtime expression (`$response.body#/run/runId`, `$request.path.id`, a constant, or
/// text with `{$...}` parts).
pub fn evaluate(expr: &Value, ex: &Exchange) -> Option<Value> {
    let Value::String(s) = expr else {
        return Some(expr.clone());
    };
    if s.starts_with('$') {
        return expression(s, ex);
    }
    if !s.contains("{$") {
        return Some(expr.clone());
    }
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(start) = rest.find("{$") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}')?;
        let value = expression(&after[..end], ex)?;
        out.push_str(&match value {
            Value::String(v) => v,
            v => v.to_string(),
        });
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(Value::String(out))
}

fn expression(e: &str, ex: &Exchange) -> Option<Value> {
    let text = |s: &str| Some(Value::String(s.to_string()));
    match e {
        "$url" => return text(ex.url),
        "$method" => return text(ex.method),
        "$statusCode" => return Some(Value::from(ex.status)),
        _ => {}
    }
    let body_at = |body: Option<&Value>, rest: &str| -> Option<Value> {
        let body = body?;
        match rest.strip_prefix('#') {
            Some(ptr) => {
                let ptr = percent_encoding::percent_decode_str(ptr).decode_utf8_lossy();
                body.pointer(&ptr).cloned()
            }
            None if rest.is_empty() => Some(body.clone()),
            None => None,
        }
    };
    let header = |h: &HeaderMap, name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(|v| Value::String(v.to_string()));
    if let Some(rest) = e.strip_prefix("$response.") {
        if let Some(name) = rest.strip_prefix("header.") {
            return header(ex.response_headers, name);
        }
        return rest.strip_prefix("body").and_then(|r| body_at(ex.response_body, r));
    }
    if let Some(rest) = e.strip_prefix("$request.") {
        if let Some(name) = rest.strip_prefix("header.") {
            return header(ex.request_headers, name);
        }
        if let Some(name) = rest.strip_prefix("path.") {
            return ex.path_params.iter().find(|(k, _)| k == name).map(|(_, v)| Value::String(v.clone()));
        }
        if let Some(name) = rest.strip_prefix("query.") {
            return crate::validate::params::parse_query(ex.query).into_iter().find(|(k, _)| k == name).map(|(_, v)| Value::String(v));
        }
        return rest.strip_prefix("body").and_then(|r| body_at(ex.request_body, r));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange<'a>(body: &'a Value, headers: &'a HeaderMap) -> Exchange<'a> {
        Exchange {
            url: "http://x/runs",
            method: "POST",
            path_params: &[],
            query: "view=full",
            request_headers: headers,
            request_body: None,
            status: 201,
            response_headers: headers,
            response_body: Some(body),
        }
    }

    #[test]
    fn harvests_envelopes_lists_and_locations() {
        let mut s = State::default();
        let h = HeaderMap::new();
        s.harvest(
            &Origin { op_id: "CreateRun", resource: "run", qualifier: "v2", created: true, scope: &[] },
            &h,
            Some(&json!({"run": {"runId": "r-1", "name": "a"}})),
        );
        assert_eq!(s.path_param("GetRun", "runId", "runs").unwrap().value, json!("r-1"));
        assert_eq!(s.path_param("GetRun", "runId", "runs").unwrap().at, "/run/runId");
        // A list read does not replace what verify created.
        s.harvest(
            &Origin { op_id: "ListRuns", resource: "run", qualifier: "v2", created: false, scope: &[] },
            &h,
            Some(&json!({"runs": [{"runId": "r-0"}]})),
        );
        assert_eq!(s.path_param("GetRun", "runId", "runs").unwrap().value, json!("r-1"));
        assert_eq!(s.field("run", "runId").unwrap().value, json!("r-1"));
        // Lists give ids where nothing was created.
        let origin = Origin { op_id: "ListFieldingRuns", resource: "fieldingrun", qualifier: "targetgroup", created: false, scope: &[] };
        s.harvest(&origin, &h, Some(&json!({"data": [{"id": "01B"}], "has_more": false})));
        assert_eq!(s.path_param("GetFieldingRun", "fielding_run_id", "fielding-runs").unwrap().value, json!("01B"));
        let mut h = HeaderMap::new();
        h.insert(http::header::LOCATION, "http://host/api/v1/jobs/runs/4f8a".parse().unwrap());
        s.harvest(
            &Origin { op_id: "createRun", resource: "job", qualifier: "v1", created: true, scope: &[] },
            &h,
            Some(&json!({"state": "NEW"})),
        );
        assert_eq!(s.path_param("getJob", "jobId", "jobs").unwrap().value, json!("4f8a"));
        assert!(s.path_param("getThing", "thingId", "things").is_none());
    }

    #[test]
    fn an_id_stays_with_its_collection_and_scope() {
        let mut s = State::default();
        let h = HeaderMap::new();
        let scope = [("account".to_string(), "acct-1".to_string())];
        let origin = Origin { op_id: "PostCheckoutSessions", resource: "session", qualifier: "checkout", created: true, scope: &scope };
        s.harvest(&origin, &h, Some(&json!({"id": "cs_1"})));
        let got = |q: &str| s.candidates("GetSession", "session", "sessions", Some(q)).into_iter().map(|p| p.value).collect::<Vec<_>>();
        assert_eq!(got("checkout"), vec![json!("cs_1")]);
        assert!(got("financialconnection").is_empty());
        assert_eq!(s.path_param("GetSession", "session", "sessions").unwrap().scope, scope.to_vec());
    }

    #[test]
    fn runtime_expressions() {
        let body = json!({"run": {"runId": "r-1"}, "n": 3});
        let mut h = HeaderMap::new();
        h.insert("etag", "W/\"1\"".parse().unwrap());
        let ex = exchange(&body, &h);
        assert_eq!(evaluate(&json!("$response.body#/run/runId"), &ex), Some(json!("r-1")));
        assert_eq!(evaluate(&json!("$response.header.ETag"), &ex), Some(json!("W/\"1\"")));
        assert_eq!(evaluate(&json!("$request.query.view"), &ex), Some(json!("full")));
        assert_eq!(evaluate(&json!("$statusCode"), &ex), Some(json!(201)));
        assert_eq!(evaluate(&json!("runs/{$response.body#/n}"), &ex), Some(json!("runs/3")));
        assert_eq!(evaluate(&json!(7), &ex), Some(json!(7)));
        assert_eq!(evaluate(&json!("$response.body#/missing"), &ex), None);
    }

    #[test]
    fn links_feed_named_operations() {
        let body = json!({"key": "w-9"});
        let h = HeaderMap::new();
        let ex = exchange(&body, &h);
        let links = json!({"get": {"operationId": "getWidget", "parameters": {"path.widgetId": "$response.body#/key"}}});
        let mut s = State::default();
        s.follow_links(
            "createWidget",
            true,
            links.as_object().unwrap(),
            |l| l.get("operationId").and_then(Value::as_str).map(String::from),
            &ex,
        );
        let p = s.path_param("getWidget", "widgetId", "widgets").unwrap();
        assert_eq!((p.value, p.from.as_str()), (json!("w-9"), "createWidget"));
    }
}
