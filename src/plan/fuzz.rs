//! Property tests of what reads outside input on the way to an answer: the document loader and
//! compiler (byte and tree mutations of the bundled and test documents), the router (random
//! methods, paths and queries against every compiled test document) and the request validator
//! (random parameters, headers and bodies against every compiled operation). Each case must
//! answer, with a result or a clear error, within the shared deadline: no panic, no hang.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

use super::{Api, build};
use crate::config::Config;
use crate::fuzz::{Scratch, config, json, mutate, mutation, nasty_string, pointers, within};
use crate::validate::{self, Incoming, Mode, Policy};

/// A document to start from: its path, bytes and JSON tree.
struct Seed {
    path: PathBuf,
    bytes: Vec<u8>,
    tree: Value,
}

/// Every document under specs/ and tests/data (not its subdirectories, whose files refer to
/// each other).
fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for dir in ["specs", "tests/data"] {
            let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir)).unwrap().flatten().map(|e| e.path()).collect();
            files.sort();
            for path in files.into_iter().filter(|p| p.is_file() && !p.to_string_lossy().contains("overlay")) {
                let bytes = std::fs::read(&path).unwrap();
                let tree = serde_norway::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
                out.push(Seed { path, bytes, tree });
            }
        }
        out
    })
}

/// The seed documents' paths, for properties that compile them their own way.
pub(crate) fn seed_paths() -> Vec<PathBuf> {
    seeds().iter().map(|s| s.path.clone()).collect()
}

/// Every seed that compiles, compiled once.
fn apis() -> &'static [Api] {
    static APIS: OnceLock<Vec<Api>> = OnceLock::new();
    APIS.get_or_init(|| {
        seeds().iter().filter_map(|s| build(Config { specs: vec![s.path.clone()], ..Config::default() }).ok().map(|(api, _)| api)).collect()
    })
}

/// `specstub lint` on `bytes` written as a file named like `like`: problems or an API, never a
/// panic or a hang.
fn lint(bytes: Vec<u8>, like: &Path) -> usize {
    let ext = like.extension().and_then(|e| e.to_str()).unwrap_or("yaml").to_string();
    within("load + compile", move || {
        let scratch = Scratch::new();
        let file = scratch.file(&format!("api.{ext}"), bytes);
        // Thorough, as `lint` loads: the strict 3.0 model is where a bound beyond f64 panicked.
        let load = crate::spec::LoadOptions { thorough: true, ..Default::default() };
        match build(Config { specs: vec![file], load, ..Config::default() }) {
            Ok((api, problems)) => api.operations.len() + problems.len(),
            Err(problems) => {
                assert!(!problems.is_empty(), "a document refused without a reason");
                problems.len()
            }
        }
    })
}

/// Values that mean something to the loader, put where they do not belong.
fn hostile() -> impl Strategy<Value = Value> {
    let chosen = prop::sample::select(vec![
        r##"{"$ref": "#"}"##,
        r##"{"$ref": "#/paths"}"##,
        r##"{"$ref": "#/components/schemas/Missing"}"##,
        r##"{"$ref": "#/components/schemas"}"##,
        r##"{"$ref": 5}"##,
        r##"{"$ref": "other.yaml#/x"}"##,
        r##"{"allOf": [{"$ref": "#"}, {"$ref": "#"}]}"##,
        r##"{"type": 5, "items": [], "properties": []}"##,
        r##"{"type": ["integer", "null"], "format": "double", "minimum": "x"}"##,
        r##"{"pattern": "(a+)+$", "type": "string"}"##,
        r##"{"pattern": "(?<=a+)b"}"##,
        r##"{"discriminator": {"propertyName": "kind", "mapping": {"a": "#/nowhere"}}, "oneOf": []}"##,
        r##"{"x-specstub": {"resource": "", "action": "transition", "rateLimit": {"limit": 0}}}"##,
        r##"{"x-specstub": {"latency": "-1s", "faults": [{"status": 99}]}}"##,
        r##"{"in": "path", "name": "", "style": "matrix", "explode": 3}"##,
        r##"{"content": {"*/*": {"schema": {"type": "object"}}, "application/xml": {}}}"##,
        r##"{"/{a}{b}": {"get": {"responses": {}}}, "/x/{": {"post": null}}"##,
        r#"{"default": {"description": 5}, "600": {}, "2XX": {"content": 1}}"#,
        r#"{"example": 1e400, "examples": {"a": {"value": null, "externalValue": "x"}}}"#,
        "null",
        "[]",
        "\"\"",
        "1e400",
    ]);
    prop_oneof![chosen.prop_map(|t| serde_json::from_str(t).unwrap()), json()]
}

/// Keywords the loader reads, for inserting where they are not expected.
const KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "items",
    "properties",
    "allOf",
    "oneOf",
    "anyOf",
    "pattern",
    "format",
    "enum",
    "x-specstub",
    "parameters",
    "requestBody",
    "responses",
    "content",
    "schema",
    "example",
    "examples",
    "discriminator",
    "required",
    "minimum",
    "maxLength",
    "style",
    "explode",
    "in",
    "name",
    "nullable",
    "readOnly",
    "servers",
    "security",
    "securitySchemes",
    "xml",
    "encoding",
];

/// `tree` with the node at `at` replaced by `value`, or `value` added under `key` when the node
/// is an object and `insert`.
fn graft(mut tree: Value, at: &str, value: Value, key: &str, insert: bool) -> Value {
    if let Some(node) = tree.pointer_mut(at) {
        match node {
            Value::Object(m) if insert => {
                m.insert(key.to_string(), value);
            }
            _ => *node = value,
        }
    }
    tree
}

pub(crate) const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "QUERY", "PROPFIND", "get"];

/// A path near the ones an API serves: a served template with its parameters filled by
/// `fill`, then changed by `mutations`.
pub(crate) fn near_path(api: &Api, op: Index, fill: &[String], mutations: &[crate::fuzz::Mutation]) -> String {
    let Some(planned) = api.operations.get(op.index(api.operations.len().max(1))) else { return "/".into() };
    let mut values = fill.iter().cycle();
    let mut path = String::new();
    let mut rest = planned.op.served_path.as_str();
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        path.push_str(values.next().map(String::as_str).unwrap_or("x"));
        rest = &rest[close..];
    }
    path.push_str(rest);
    let bytes = mutate(path.into_bytes(), mutations);
    let path = String::from_utf8_lossy(&bytes).into_owned();
    if path.starts_with('/') { path } else { format!("/{path}") }
}

fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            headers.append(k, v);
        }
    }
    headers
}

/// Header names a validator reads, and any other.
pub(crate) fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["content-type", "accept", "authorization", "cookie", "x-api-key", "x-request-id", "if-match", "prefer"])
            .prop_map(String::from),
        "[a-z][a-z0-9-]{0,12}",
    ]
}

pub(crate) fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "application/json",
            "application/merge-patch+json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=XyZ",
            "multipart/form-data",
            "application/xml",
            "text/plain; charset=utf-8",
            "application/octet-stream",
            "*/*",
            ";",
        ])
        .prop_map(String::from),
        ".{0,24}",
    ]
}

/// A request body of any kind: JSON, form, multipart, XML or bytes.
pub(crate) fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec((nasty_string(), nasty_string()), 0..6).prop_map(|kv| kv
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()),
        (nasty_string(), nasty_string())
            .prop_map(|(n, v)| { format!("--XyZ\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n{v}\r\n--XyZ--\r\n").into_bytes() }),
        (nasty_string(), nasty_string()).prop_map(|(n, v)| format!("<{n}><a x=\"{v}\">{v}</a></{n}>").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_document_with_mutated_bytes_is_served_or_refused_with_problems(
        seed in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let seed = seed.get(seeds());
        lint(mutate(seed.bytes.clone(), &mutations), &seed.path);
    }

    #[test]
    fn a_document_with_a_mutated_tree_is_served_or_refused_with_problems(
        seed in any::<Index>(),
        at in any::<Index>(),
        value in hostile(),
        key in prop::sample::select(KEYWORDS),
        insert in any::<bool>(),
    ) {
        let seed = seed.get(seeds());
        let all = pointers(&seed.tree);
        let tree = graft(seed.tree.clone(), at.get::<String>(&all), value, key, insert);
        lint(serde_json::to_vec(&tree).unwrap(), Path::new("api.json"));
    }

    #[test]
    fn random_yaml_or_json_is_refused_with_problems(doc in json(), text in ".{0,200}") {
        lint(serde_json::to_vec(&doc).unwrap(), Path::new("api.json"));
        lint(text.into_bytes(), Path::new("api.yaml"));
    }

    #[test]
    fn the_router_answers_any_method_path_and_query(
        api in any::<Index>(),
        op in any::<Index>(),
        method in prop_oneof![prop::sample::select(METHODS).prop_map(String::from), "[A-Z]{1,10}"],
        fill in prop::collection::vec(nasty_string(), 1..4),
        mutations in prop::collection::vec(mutation(), 0..3),
        query in prop::option::of(".{0,40}"),
        headers in prop::collection::vec((header_name(), nasty_string()), 0..4),
    ) {
        within("router", move || {
            let api = api.get(apis());
            let path = near_path(api, op, &fill, &mutations);
            let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
            let headers = header_map(&headers);
            let found = api.router.find_request(&method, &path, query.as_deref(), &headers);
            if let Ok(m) = found {
                assert!(m.op < api.operations.len());
            }
            let _ = api.router.allowed(&path);
        });
    }

    #[test]
    fn the_validator_answers_any_request_to_any_operation(
        api in any::<Index>(),
        op in any::<Index>(),
        fill in prop::collection::vec(nasty_string(), 1..4),
        query in prop::collection::vec((prop_oneof![Just(None), any::<Index>().prop_map(Some)], nasty_string(), nasty_string()), 0..6),
        headers in prop::collection::vec((header_name(), nasty_string()), 0..4),
        content_type in prop::option::of(content_type()),
        body in any_body(),
        warn in any::<bool>(),
    ) {
        within("validator", move || {
            let api = api.get(apis());
            let planned = op.get(&api.operations);
            let (spec, op) = (api.spec_of(&planned.op), &planned.op);
            let mut values = fill.iter().cycle();
            let path_params: Vec<(String, String)> = crate::template::split_key(&op.path)
                .0
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(|n| (n.to_string(), values.next().cloned().unwrap_or_default()))
                .collect();
            // Query names the operation declares (by index) or any other.
            let query: Vec<(String, String)> = query
                .into_iter()
                .map(|(declared, other, v)| match declared.filter(|_| !op.parameters.is_empty()) {
                    Some(i) => (i.get(&op.parameters).name.clone(), v),
                    None => (other, v),
                })
                .collect();
            let mut headers = header_map(&headers);
            if let Some(ct) = content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
                headers.insert(http::header::CONTENT_TYPE, ct);
            }
            let body = Bytes::from(body);
            let incoming = Incoming { path_params: &path_params, query: &query, headers: &headers, body: &body };
            let policy = Policy { mode: if warn { Mode::Warn } else { Mode::Strict }, tokens: &[] };
            let _ = validate::check(spec, op, &incoming, &policy);
        });
    }
}

#[test]
fn every_seed_is_read_and_most_compile() {
    assert!(seeds().len() >= 20, "{} documents", seeds().len());
    assert!(apis().len() >= seeds().len() - 8, "{} of {} compile", apis().len(), seeds().len());
}

/// The problems `build` finds in `text`, within the deadline.
fn problems_of(text: String, name: &'static str) -> Vec<String> {
    within("load + compile", move || {
        let scratch = Scratch::new();
        let file = scratch.file(name, text);
        // Thorough, as `lint` loads: the strict 3.0 model is where a bound beyond f64 panicked.
        let load = crate::spec::LoadOptions { thorough: true, ..Default::default() };
        match build(Config { specs: vec![file], load, ..Config::default() }) {
            Ok((_, p)) | Err(p) => p.iter().map(ToString::to_string).collect(),
        }
    })
}

const HEAD: &str = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n";

#[test]
fn brackets_nested_a_hundred_thousand_deep_are_refused_at_once() {
    // Found by probing the loader: the YAML parser's cost grows with the square of the nesting,
    // so a 200 kB line of `[` held `lint` (and startup) for minutes before it refused.
    for (text, name) in [
        (format!("{HEAD}x-deep: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)), "api.yaml"),
        (format!("{{\"openapi\": \"3.1.0\", \"paths\": {{}}, \"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000)), "api.json"),
    ] {
        let problems = problems_of(text, name);
        assert!(problems.iter().any(|p| p.contains("brackets nest more than 1000 deep")), "{problems:?}");
    }
    // Real documents nest far less, with brackets in their prose too.
    assert!(problems_of(format!("{HEAD}x-list: {}{}\n", "[".repeat(100), "]".repeat(100)), "api.yaml").iter().all(|p| !p.contains("nest")));
}

#[test]
fn a_yaml_alias_bomb_is_refused_within_the_deadline() {
    let mut bomb = format!("{HEAD}a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    let problems = problems_of(bomb, "api.yaml");
    assert!(problems.iter().any(|p| p.contains("cannot parse")), "{problems:?}");
}

#[test]
fn backtracking_patterns_give_up_within_the_deadline_and_refuse_the_value() {
    // Lookaround and backreferences need the backtracking engine; its step limit (fancy-regex's
    // default, 1,000,000) ends a catastrophic match, which counts as a violation.
    for pattern in ["^(?=a)(a+)+$", "^(a+)+\\1$", "^(?!b)(a|aa)+$", "^((a+)+)(?<=a)$"] {
        let doc = format!("{HEAD}components:\n  schemas:\n    S: {{type: string, pattern: '{pattern}'}}\n");
        let found = within("a backtracking pattern", move || {
            let scratch = Scratch::new();
            let (set, problems) = crate::spec::load(&[scratch.file("api.yaml", doc)], &Default::default());
            let set = set.unwrap_or_else(|| panic!("{problems:?}"));
            let v = set.specs[0].schemas.compile(crate::spec::walk::Flow::Request, "/components/schemas/S").unwrap();
            crate::spec::schemas::violations(&v, &Value::String(format!("{}!", "a".repeat(5000))))
        });
        assert_eq!(found.len(), 1, "{pattern}: {found:?}");
    }
}

#[test]
fn a_bound_beyond_f64_in_a_30_document_is_a_warning_not_a_panic() {
    // Found by the tree mutations (`minimum: 1e400`): the strict 3.0 model reads bounds as f64
    // and unwraps, so `specstub lint` panicked.
    let doc = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": {"N": {"type": "number", "minimum": 1e400}}}}"#;
    let problems = problems_of(doc.to_string(), "api.json");
    assert!(problems.iter().any(|p| p.contains("/components/schemas/N/minimum") && p.contains("beyond a 64-bit float")), "{problems:?}");
}
