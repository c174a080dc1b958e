//! Loads OpenAPI documents (3.0, 3.1, 3.2; YAML or JSON; several files joined by `$ref`) into an
//! immutable [`SpecSet`]: every operation with compiled validators, ready to serve. Loading never
//! panics on a bad document: it returns every [`Problem`] it found, each with file and pointer.

mod dialect;
mod lint;
pub mod model;
pub mod overlay;
mod problem;
pub mod schemas;
pub mod source;
mod swagger2;
pub mod walk;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use http::Method;
use serde_json::Value;

pub use model::{Hook, Media, Operation, ParamIn, Parameter, Response, Shape, Style};
use problem::join;
pub use problem::{Problem, Severity, escape_token};
use schemas::SchemaSet;
use walk::{Flow, METHODS};

/// How a document's own error bodies are filled when specstub reports an error in its shape.
#[derive(Debug, Clone, Default)]
pub struct ErrorStyle {
    /// Status for schema violations when the document prefers one (e.g. gRPC-gateway answers 400).
    pub validation_status: Option<u16>,
    /// (JSON pointer in the body, what goes there).
    pub set: Vec<(String, ErrorField)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ErrorField {
    Status,
    GrpcCode,
    Message,
    Uuid,
    Reason,
    Violations,
    EmptyArray,
    Now,
    Literal(Value),
}

/// How a request proves who it is, as one of `components.securitySchemes` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityScheme {
    /// `Authorization: Bearer <token>` (RFC 6750): `http` bearer, and `oauth2` and
    /// `openIdConnect`, whose access tokens travel that way.
    Bearer,
    /// `Authorization: Basic <base64 user:password>` (RFC 7617).
    Basic,
    /// `Authorization: Digest username=..., response=...` (RFC 7616), answering our challenge.
    Digest,
    /// Any other `http` scheme (`HOBA`, `Mutual`, `Negotiate`, `vapid`...), as the document
    /// spells it: a mock cannot run its protocol, so any credential under that name passes.
    Http {
        scheme: String,
    },
    ApiKey {
        location: ParamIn,
        name: String,
    },
    /// Schemes specstub cannot check (mutual TLS...): any request passes them.
    Unchecked,
}

#[derive(Debug)]
pub struct Spec {
    pub file: PathBuf,
    pub title: String,
    pub schemas: SchemaSet,
    pub security_schemes: HashMap<String, SecurityScheme>,
    /// Filled by the compiler from the document's `x-specstub.errors`.
    pub errors: ErrorStyle,
    /// The document-level `x-specstub` extension, as written (the compiler reads it).
    pub extension: Value,
    /// The first server's absolute URL and the path the mock serves it under, so that links in
    /// answers (`https://api.github.com/repos/…`) can be turned into links to the mock.
    pub public: Option<(String, String)>,
    /// `info.version`, as written.
    pub version: String,
    /// The path every operation of the document is served under (mount and server URL path).
    pub base_path: String,
    /// The 3.1 `webhooks`: requests the API sends on events, to targets configuration names.
    pub webhooks: Vec<model::Hook>,
}

/// Everything that is served: the documents and all their operations.
#[derive(Debug, Default)]
pub struct SpecSet {
    pub specs: Vec<Spec>,
    pub operations: Vec<Operation>,
    /// The local files read: documents, the files their `$ref`s name, overlays.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// (file, prefix): serve that document's operations under an extra path prefix.
    pub mounts: Vec<(PathBuf, String)>,
    /// Serve operations at their bare paths, without the server URL's path.
    pub ignore_server_path: bool,
    /// OpenAPI Overlay documents applied to every document before it is read.
    pub overlays: Vec<PathBuf>,
    /// Also the checks serving does not need (`lint` sets it): the strict OpenAPI 3.0 model,
    /// which costs a second reading of the whole document.
    pub thorough: bool,
    /// Documents fetched by URL, kept for the loads that follow (a reload fetches nothing).
    pub fetched: source::Fetched,
}

/// Expands directories to the OpenAPI documents they hold (files with an `openapi` or `swagger`
/// key; other YAML/JSON files there are shared components loaded through `$ref`). A URL stays
/// as it is: it is fetched when loaded.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Problem> {
    let mut out = Vec::new();
    for input in inputs {
        if source::is_remote(input) {
            out.push(input.clone());
        } else if input.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| Problem::error(input, "", format!("cannot read directory: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
                .filter(|p| looks_like_openapi(p))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Problem::error(input, "", "no OpenAPI documents in this directory"));
            }
            out.extend(files);
        } else if input.exists() {
            out.push(input.clone());
        } else {
            return Err(Problem::error(input, "", "no such file or directory"));
        }
    }
    Ok(out)
}

fn looks_like_openapi(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return true;
    };
    text.lines().take(200).any(|l| {
        let l = l.trim_start_matches('\u{feff}').trim_start_matches(['{', ' ', '"', '\'']);
        l.starts_with("openapi") || l.starts_with("swagger")
    })
}

/// Loads every document. Returns the set when nothing is an error, and all problems found.
pub fn load(files: &[PathBuf], opts: &LoadOptions) -> (Option<SpecSet>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut set = SpecSet::default();
    // One fetcher per load, so that the time limit covers every document fetched. Remote
    // documents are fetched here only: a hot reload must recompile from what was fetched at
    // start (keep the bundled documents), not fetch again.
    let mut fetcher = crate::client::Fetcher::new(crate::client::Limits::default());
    let overlays: Vec<overlay::Overlay> =
        opts.overlays.iter().filter_map(|o| overlay::read(o, &mut fetcher, &opts.fetched, &mut problems)).collect();
    set.files.extend(opts.overlays.iter().filter(|o| !source::is_remote(o)).cloned());
    for file in files {
        let index = set.specs.len();
        if let Some((spec, ops)) = load_one(file, index, opts, &overlays, &mut fetcher, &mut set.files, &mut problems) {
            set.specs.push(spec);
            set.operations.extend(ops);
        }
    }
    set.files.sort();
    set.files.dedup();
    problems.sort_by(|a, b| (&a.file, &a.pointer).cmp(&(&b.file, &b.pointer)));
    problems.dedup();
    let ok = !problems.iter().any(Problem::is_error);
    (ok.then_some(set), problems)
}

fn load_one(
    file: &Path,
    index: usize,
    opts: &LoadOptions,
    overlays: &[overlay::Overlay],
    fetcher: &mut crate::client::Fetcher,
    read: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
) -> Option<(Spec, Vec<Operation>)> {
    let doc = match source::load_bundled(file, overlays, fetcher, &opts.fetched, read, problems) {
        Ok(d) => d,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    if !doc.is_object() {
        problems.push(Problem::error(file, "", "the document is not a mapping of OpenAPI fields"));
        return None;
    }
    // Swagger 2.0 is served as its OpenAPI 3.0 equivalent; only lossy conversions are reported.
    let doc = if swagger2::is_swagger2(&doc) { swagger2::convert(&doc, file, problems)? } else { doc };
    let openapi = match (doc.get("openapi"), doc.get("swagger")) {
        (Some(Value::String(v)), _) => v.clone(),
        (Some(v @ Value::Number(_)), _) => {
            problems.push(Problem::warning(file, "/openapi", "the version should be a string (quote it)"));
            v.to_string()
        }
        (_, Some(v)) => {
            problems.push(Problem::error(
                file,
                "/swagger",
                format!("unsupported Swagger version {v}: specstub reads Swagger 2.0 and OpenAPI 3"),
            ));
            return None;
        }
        _ => {
            problems.push(Problem::warning(file, "", "no `openapi` version: read as OpenAPI 3.0"));
            "3.0.0".to_string()
        }
    };
    let openapi_30 = if openapi.starts_with("3.0") {
        true
    } else if openapi.starts_with("3.1") {
        false
    } else if openapi.starts_with("3.") {
        problems.push(Problem::warning(file, "/openapi", format!("OpenAPI {openapi} is served with the rules of 3.1")));
        false
    } else {
        problems.push(Problem::error(
            file,
            "/openapi",
            format!("unsupported OpenAPI version {openapi:?}: specstub reads 3.0, 3.1 and 3.2"),
        ));
        return None;
    };
    lint::document_fields(file, &doc, openapi_30 && opts.thorough, problems);

    let positions = walk::positions(&doc);
    // External references that failed were reported when their file was read.
    for (ptr, r) in positions.broken_refs.iter().filter(|(_, r)| r.starts_with('#')) {
        problems.push(Problem::error(file, ptr.clone(), format!("$ref {r:?} does not resolve")));
    }
    lint::schema_keywords(file, &doc, &positions.schemas, problems);

    let mut doc = doc;
    dialect::translate_nodes(&mut doc, &positions.schemas, openapi_30);
    schemas::drop_unusable_patterns(file, &mut doc, &positions.schemas, problems);
    dialect::split_required(&mut doc, &positions.schemas);
    let schemas = match SchemaSet::new(index, doc) {
        Ok(s) => s,
        Err(e) => {
            problems.push(Problem::error(file, "", e));
            return None;
        }
    };
    let doc = schemas.doc(Flow::Request);
    let invalid_examples = lint::examples(file, &schemas, &positions.examples, problems);

    let title = doc.pointer("/info/title").and_then(Value::as_str).unwrap_or_default().to_string();
    let version = match doc.pointer("/info/version") {
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Number(_)) => v.to_string(),
        _ => String::new(),
    };
    let mount = opts.mounts.iter().find(|(f, _)| same_file(f, file)).map(|(_, p)| p.trim_end_matches('/').to_string());
    let server_path = if opts.ignore_server_path { String::new() } else { server_path(doc) };
    let base_path = format!("{}{}", mount.unwrap_or_default(), server_path);

    let security_schemes = security_schemes(file, doc, problems);
    let default_security = doc.get("security").map(security_requirements).unwrap_or_default();

    let builder = model::OperationBuilder { doc, schemas: &schemas, invalid: &invalid_examples };
    let mut ops = Vec::new();
    for (path, raw_item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        if path.starts_with("x-") {
            continue;
        }
        let path_ptr = join("/paths", path);
        if !path.starts_with('/') {
            problems.push(Problem::warning(file, path_ptr.clone(), "a path should start with '/': served with one added"));
        }
        let (item, item_ptr) = source::deref(doc, raw_item, &path_ptr);
        for m in METHODS {
            let Some(op) = item.get(m).filter(|o| o.is_object()) else {
                continue;
            };
            let op_ptr = join(&item_ptr, m);
            let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
            let rel = if path.starts_with('/') { path.clone() } else { format!("/{path}") };
            let served_path = format!("{base_path}{rel}");
            let id = op.get("operationId").and_then(Value::as_str).map(String::from).unwrap_or_else(|| format!("{} {}", method, rel));
            ops.push(Operation {
                spec: index,
                id,
                method,
                path: rel,
                served_path,
                pointer: op_ptr.clone(),
                tags: op.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(|t| t.as_str().map(String::from)).collect(),
                parameters: builder.parameters(item, &item_ptr, op, &op_ptr),
                body: builder.request_body(op, &op_ptr),
                responses: builder.responses(op, &op_ptr),
                security: op.get("security").map(security_requirements).unwrap_or_else(|| default_security.clone()),
                extension: op.get("x-specstub").cloned().unwrap_or(Value::Null),
                callbacks: callbacks(&builder, op, &op_ptr),
            });
        }
    }
    let webhooks = webhooks(&builder);
    lint::operations(file, &ops, &security_schemes, problems);
    let extension = doc.get("x-specstub").cloned().unwrap_or(Value::Null);
    let public = server_url(doc).map(|url| (url, base_path.clone()));
    let errors = ErrorStyle::default();
    let spec = Spec { file: file.to_path_buf(), title, schemas, security_schemes, errors, extension, public, version, base_path, webhooks };
    Some((spec, ops))
}

/// The operations of each callback of `op`, one per URL expression and method.
fn callbacks(builder: &model::OperationBuilder, op: &Value, op_ptr: &str) -> Vec<model::Hook> {
    let mut out = Vec::new();
    let base = join(op_ptr, "callbacks");
    for (name, raw) in op.get("callbacks").and_then(Value::as_object).into_iter().flatten() {
        let (callback, at) = source::deref(builder.doc, raw, &join(&base, name));
        for (expression, item) in callback.as_object().into_iter().flatten().filter(|(k, _)| !k.starts_with("x-")) {
            out.extend(hooks_of(builder, name, Some(expression), item, &join(&at, expression)));
        }
    }
    out
}

/// The operations of the document's `webhooks`.
fn webhooks(builder: &model::OperationBuilder) -> Vec<model::Hook> {
    let mut out = Vec::new();
    for (name, item) in builder.doc.get("webhooks").and_then(Value::as_object).into_iter().flatten().filter(|(k, _)| !k.starts_with("x-")) {
        out.extend(hooks_of(builder, name, None, item, &join("/webhooks", name)));
    }
    out
}

fn hooks_of(builder: &model::OperationBuilder, name: &str, url: Option<&str>, item: &Value, ptr: &str) -> Vec<model::Hook> {
    let (item, item_ptr) = source::deref(builder.doc, item, ptr);
    let mut out = Vec::new();
    for m in METHODS {
        let Some(op) = item.get(m).filter(|o| o.is_object()) else { continue };
        let op_ptr = join(&item_ptr, m);
        out.push(model::Hook {
            name: name.to_string(),
            url: url.map(String::from),
            method: Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap_or(Method::POST),
            body: builder.request_body(op, &op_ptr),
            pointer: op_ptr,
            extension: op.get("x-specstub").cloned().unwrap_or(Value::Null),
        });
    }
    out
}

/// Compiles every request schema of `ops` (parameters and bodies) and reports those that do not
/// compile; loading leaves this to first use. Each validator is dropped once checked (the
/// requests compile their own on first use); `seen` holds the (document, schema pointer) pairs
/// already checked, so that each schema compiles once across calls.
pub fn check_request_schemas<'a>(
    specs: &[Spec],
    ops: impl IntoIterator<Item = &'a Operation>,
    seen: &mut std::collections::HashSet<(usize, String)>,
) -> Vec<Problem> {
    let mut by_spec: Vec<Vec<&Operation>> = specs.iter().map(|_| Vec::new()).collect();
    for op in ops {
        if let Some(list) = by_spec.get_mut(op.spec) {
            list.push(op);
        }
    }
    let mut problems = Vec::new();
    for (spec, ops) in specs.iter().zip(by_spec) {
        problems.extend(lint::request_schemas(&spec.file, &ops, &spec.schemas, seen));
    }
    problems
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// The first server URL when it is absolute (`https://host[/path]`), variables at their
/// defaults, without a trailing slash.
fn server_url(doc: &Value) -> Option<String> {
    let server = doc.pointer("/servers/0")?;
    let mut url = server.get("url").and_then(Value::as_str)?.to_string();
    for (name, var) in server.get("variables").and_then(Value::as_object).into_iter().flatten() {
        let default = var.get("default").and_then(Value::as_str).unwrap_or("");
        url = url.replace(&format!("{{{name}}}"), default);
    }
    let url = url.split(['?', '#']).next().unwrap_or("").trim_end_matches('/');
    let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    (!host.is_empty() && !host.contains('{')).then(|| url.to_string())
}

/// The path part of the first server URL, with server variables at their defaults.
fn server_path(doc: &Value) -> String {
    let Some(server) = doc.pointer("/servers/0") else {
        return String::new();
    };
    let mut url = server.get("url").and_then(Value::as_str).unwrap_or("").to_string();
    for (name, var) in server.get("variables").and_then(Value::as_object).into_iter().flatten() {
        let default = var.get("default").and_then(Value::as_str).unwrap_or("");
        url = url.replace(&format!("{{{name}}}"), default);
    }
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map(|j| url[i + 3 + j..].to_string()).unwrap_or_default(),
        None if url.starts_with("//") => url[2..].find('/').map(|j| url[2 + j..].to_string()).unwrap_or_default(),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("").trim_end_matches('/');
    if path.is_empty() || path.starts_with('/') { path.to_string() } else { format!("/{path}") }
}

fn security_requirements(v: &Value) -> Vec<model::SecurityAlternative> {
    v.as_array().into_iter().flatten().filter_map(|req| req.as_object().map(|o| o.keys().cloned().collect())).collect()
}

fn security_schemes(file: &Path, doc: &Value, problems: &mut Vec<Problem>) -> HashMap<String, SecurityScheme> {
    let mut out = HashMap::new();
    let base = "/components/securitySchemes";
    for (name, raw) in doc.pointer(base).and_then(Value::as_object).into_iter().flatten() {
        let ptr = join(base, name);
        let (s, _) = source::deref(doc, raw, &ptr);
        let kind = match s.get("type").and_then(Value::as_str) {
            Some("http") => match s.get("scheme").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty()) {
                // Scheme names are case-insensitive (RFC 9110 §11.1).
                Some(n) if n.eq_ignore_ascii_case("bearer") => SecurityScheme::Bearer,
                Some(n) if n.eq_ignore_ascii_case("basic") => SecurityScheme::Basic,
                Some(n) if n.eq_ignore_ascii_case("digest") => SecurityScheme::Digest,
                Some(n) if n.bytes().all(is_tchar) => SecurityScheme::Http { scheme: n.to_string() },
                // Loose documents still load: what a client cannot send is not checked, and a
                // missing name most often means bearer.
                Some(n) => {
                    let text = format!("{n:?} is not an HTTP authentication scheme name: not checked");
                    problems.push(Problem::warning(file, join(&ptr, "scheme"), text));
                    SecurityScheme::Unchecked
                }
                None => {
                    problems.push(Problem::warning(file, ptr, "http scheme without a `scheme`: read as bearer"));
                    SecurityScheme::Bearer
                }
            },
            Some("oauth2") | Some("openIdConnect") => SecurityScheme::Bearer,
            Some("apiKey") => {
                let location = match s.get("in").and_then(Value::as_str) {
                    Some("query") => ParamIn::Query,
                    Some("cookie") => ParamIn::Cookie,
                    _ => ParamIn::Header,
                };
                match s.get("name").and_then(Value::as_str) {
                    Some(n) => SecurityScheme::ApiKey { location, name: n.to_string() },
                    None => {
                        problems.push(Problem::error(file, ptr, "apiKey scheme without a `name`"));
                        continue;
                    }
                }
            }
            Some("mutualTLS") => SecurityScheme::Unchecked,
            other => {
                problems.push(Problem::warning(file, ptr, format!("unknown security scheme type {other:?}: not checked")));
                SecurityScheme::Unchecked
            }
        };
        out.insert(name.clone(), kind);
    }
    out
}

/// A character of an RFC 9110 token, which an auth-scheme name is.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_http_scheme_keeps_its_own_name_and_openid_connect_is_bearer() {
        // Arrange
        let doc = json!({"components": {"securitySchemes": {
            "b": {"type": "http", "scheme": "Bearer"},
            "d": {"type": "http", "scheme": "digest"},
            "h": {"type": "http", "scheme": "HOBA"},
            "v": {"type": "http", "scheme": "vapid"},
            "o": {"type": "openIdConnect", "openIdConnectUrl": "https://id.example.com/.well-known/openid-configuration"},
            "bad": {"type": "http", "scheme": "two words"},
        }}});
        let mut problems = Vec::new();
        // Act
        let schemes = security_schemes(Path::new("a.yaml"), &doc, &mut problems);
        // Assert
        assert_eq!(schemes["b"], SecurityScheme::Bearer);
        assert_eq!(schemes["d"], SecurityScheme::Digest);
        assert_eq!(schemes["h"], SecurityScheme::Http { scheme: "HOBA".into() });
        assert_eq!(schemes["v"], SecurityScheme::Http { scheme: "vapid".into() });
        assert_eq!(schemes["o"], SecurityScheme::Bearer);
        assert_eq!(schemes["bad"], SecurityScheme::Unchecked);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn server_path_takes_the_path_of_the_first_url() {
        assert_eq!(server_path(&json!({"servers": [{"url": "https://api.cint.com/v1"}]})), "/v1");
        assert_eq!(server_path(&json!({"servers": [{"url": "https://api.siftstack.com"}]})), "");
        assert_eq!(server_path(&json!({"servers": [{"url": "http://localhost:5000/api/v1/"}]})), "/api/v1");
        assert_eq!(server_path(&json!({"servers": [{"url": "/base"}]})), "/base");
        assert_eq!(
            server_path(
                &json!({"servers": [{"url": "https://{host}/{v}", "variables": {"host": {"default": "x"}, "v": {"default": "v2"}}}]})
            ),
            "/v2"
        );
        assert_eq!(server_path(&json!({})), "");
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn contradicting_examples_are_warnings_and_marked_on_the_model() {
        // Arrange
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/examples.yaml");
        // Act
        let (set, problems) = load(std::slice::from_ref(&file), &LoadOptions::default());
        // Assert
        let set = set.expect("served despite its examples");
        assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
        let warned: Vec<&str> =
            problems.iter().filter(|p| p.message.starts_with("example does not match")).map(|p| p.pointer.as_str()).collect();
        for want in [
            "/paths/~1pets/get/parameters/0/example",
            "/paths/~1pets/get/responses/200/content/application~1json/example",
            "/paths/~1pets/get/responses/200/content/application~1json/examples/bad/value",
            "/paths/~1pets/get/responses/400/content/application~1json/example",
            "/paths/~1pets/post/requestBody/content/application~1json/example",
            "/paths/~1pets/post/responses/201/content/application~1json/examples/bad/value",
            "/paths/~1pets~1{id}/delete/responses/200/content/application~1json/example",
        ] {
            assert!(warned.contains(&want), "no warning at {want}: {warned:?}");
        }
        let list = set.operations.iter().find(|o| o.id == "listPets").unwrap();
        let media = &list.responses[0].content[0];
        assert!(media.examples.iter().all(|e| e.invalid.is_some()), "{:?}", media.examples);
        assert_eq!(list.parameters[0].example, None, "an invalid parameter example is not used");
        let create = set.operations.iter().find(|o| o.id == "createPet").unwrap();
        let flags: Vec<bool> = create.responses[0].content[0].examples.iter().map(|e| e.invalid.is_some()).collect();
        assert_eq!(flags, [true, false]);
        assert!(create.body.as_ref().unwrap().content[0].examples[0].invalid.is_some());
    }

    #[test]
    fn a_lookahead_pattern_loads_without_problems() {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lookahead.yaml");
        let (set, problems) = load(&[file], &LoadOptions::default());
        assert!(set.is_some() && problems.is_empty(), "{problems:?}");
    }
}
