//! The compiler: documents in, an immutable [`Api`] out. It reads every `x-specstub` once (typed,
//! see [`ext`]), binds operations to the store ([`bind`]), compiles the traffic rules and the
//! router, and decides per operation how it is answered. `lint` is load + compile and `serve` is
//! load + compile + run, so the two cannot disagree; hot reload is "compile a new `Api`, swap it".

mod bind;
pub mod ext;
pub mod hooks;
pub mod redact;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::behaviour::Binding;
use crate::config::Config;
use crate::router::Router;
use crate::spec::{self, ErrorField, ErrorStyle, Operation, Problem, Spec, SpecSet, escape_token};
use crate::traffic;

/// Everything served, compiled: read by every request, changed by none.
pub struct Api {
    pub specs: Vec<Spec>,
    /// Every operation with its plan; the router's indexes point here.
    pub operations: Vec<Planned>,
    pub router: Router,
    pub traffic: traffic::Rules,
    pub config: Config,
    /// Per resource collection, the fields whose values must not repeat (for the store).
    pub unique: HashMap<String, Vec<String>>,
    /// Every binding's collection and key field, for fixtures.
    pub keys: HashMap<String, String>,
    /// What the journal and the log must not keep.
    pub redact: redact::Redaction,
    /// The documents' 3.1 webhooks, with their targets and events.
    pub webhooks: Vec<hooks::Webhook>,
    /// The local files the plan was read from (documents, their `$ref`ed files, overlays): what
    /// a hot reload watches.
    pub sources: Vec<PathBuf>,
}

/// One operation and how it is served.
pub struct Planned {
    pub op: Operation,
    pub answer: Answer,
    /// Rate limit, latency and faults that apply here; None: nothing does.
    pub traffic: Option<traffic::Route>,
    /// How each of `op.callbacks` is sent.
    pub callbacks: Vec<hooks::Sending>,
}

/// How an operation is answered.
pub enum Answer {
    /// From the spec's examples or data generated from its schemas.
    Mock,
    /// From the store, as the binding says (a request asking for a declared example or status
    /// with `Prefer` is still answered from the spec).
    Stateful(Box<Binding>),
    /// Forwarded to the upstream and checked (`--proxy`). `binding` is what the operation would
    /// do to the store without the proxy: record mode keeps the records it answers as fixtures.
    Proxy { strict: bool, binding: Option<Box<Binding>> },
}

impl Api {
    pub fn spec_of(&self, op: &Operation) -> &Spec {
        &self.specs[op.spec]
    }

    /// Compiles the validators requests are checked against (compiling leaves them to first
    /// use), each once and dropped after, and returns the schemas that do not compile, as errors.
    pub fn check_request_schemas(&self) -> Vec<Problem> {
        spec::check_request_schemas(&self.specs, self.operations.iter().map(|p| &p.op), &mut Default::default())
    }
}

/// A compiled API and the warnings found on the way.
pub type Compiled = (Api, Vec<Problem>);

/// Reads the documents `config` names and compiles them. Errors refuse; warnings come back
/// with the API.
pub fn build(config: Config) -> Result<Compiled, Vec<Problem>> {
    let (set, mut problems) = load(&config)?;
    match compile(set, config) {
        Ok((api, more)) => {
            problems.extend(more);
            Ok((api, problems))
        }
        Err(more) => {
            problems.extend(more);
            problems.retain(Problem::is_error);
            Err(problems)
        }
    }
}

/// Reads the documents `config` names (files, directories, overlays).
pub fn load(config: &Config) -> Result<(SpecSet, Vec<Problem>), Vec<Problem>> {
    let files = spec::expand_inputs(&config.specs).map_err(|p| vec![p])?;
    let (set, problems) = spec::load(&files, &config.load);
    match set {
        Some(set) => Ok((set, problems)),
        None => Err(problems),
    }
}

/// Compiles loaded documents into an [`Api`].
/// Response validators `--self-check` keeps per document, the least recently used dropped: an
/// answer's validator compiles its schema's whole reference closure, and a server that answered
/// every operation of a big document kept all of them.
const SELF_CHECK_VALIDATORS: usize = 64;

pub fn compile(mut set: SpecSet, config: Config) -> Result<Compiled, Vec<Problem>> {
    let mut problems = Vec::new();
    if let Some(op) = set.operations.iter().find(|o| o.served_path.starts_with(&config.admin_prefix)) {
        let file = set.specs[op.spec].file.clone();
        let message = format!("{} is under the admin prefix {}: choose another with --admin-prefix", op.served_path, config.admin_prefix);
        problems.push(Problem::error(file, op.pointer.clone(), message));
    }

    let mut doc_traffic = Vec::with_capacity(set.specs.len());
    for spec in &mut set.specs {
        if config.self_check {
            spec.schemas.keep_at_most_for(crate::spec::walk::Flow::Response, SELF_CHECK_VALIDATORS);
        }
        let ext = ext::document(&spec.file, &spec.extension, &mut problems);
        if let Some(errors) = &ext.errors {
            spec.errors = error_style(&spec.file, errors, &mut problems);
        }
        let (declared, errors) = traffic::Declared::read(ext.rate_limit.as_ref(), ext.latency.as_ref(), ext.faults.as_ref(), None);
        report(&spec.file, "/x-specstub", errors, &mut problems);
        doc_traffic.push(declared);
    }
    let mut op_exts = Vec::with_capacity(set.operations.len());
    let mut op_traffic = Vec::with_capacity(set.operations.len());
    for op in &set.operations {
        let file = &set.specs[op.spec].file;
        let before = problems.len();
        let mut ext = ext::operation(file, &op.pointer, &op.extension, &mut problems);
        if problems.len() > before && ext.declares_behaviour() {
            // A binding read from a half-dropped extension would only add confusing follow-ups.
            ext.resource = None;
            ext.action = None;
            ext.stateful = Some(false);
        }
        let (declared, errors) = traffic::Declared::read(ext.rate_limit.as_ref(), ext.latency.as_ref(), ext.faults.as_ref(), Some(op));
        report(file, &format!("{}/x-specstub", op.pointer), errors, &mut problems);
        op_traffic.push(declared);
        op_exts.push(ext);
    }

    let realistic = crate::generate::Realistic::when(config.data, config.seed.unwrap_or(0));
    let (callbacks, webhooks) = hooks::compile(&set, &config, &mut problems);
    let (bindings, binding_problems) = bind::bind_all(&set, &op_exts, !config.stateless, realistic);
    problems.extend(binding_problems);
    let router = Router::new(&set.operations);
    route_conflicts(&set, &router, &mut problems);
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }

    let settings =
        traffic::Settings { rate_limits: config.rate_limits.clone(), latency: config.latency, chaos: config.chaos, seed: config.seed };
    let pairs: Vec<(&Operation, &traffic::Declared)> = set.operations.iter().zip(&op_traffic).collect();
    let (rules, routes) = traffic::Rules::compile(&settings, &doc_traffic, &pairs);
    drop(pairs);

    let unique = bind::unique_fields(&bindings);
    let mut keys = HashMap::new();
    for b in bindings.iter().flatten() {
        keys.entry(b.resource.clone()).or_insert_with(|| b.key.clone());
    }
    let proxy = config.proxy.is_some().then_some(config.proxy_strict);
    let redact = redact::Redaction::compile(&set, &config);
    let operations = set
        .operations
        .into_iter()
        .zip(bindings)
        .zip(routes)
        .zip(callbacks)
        .map(|(((op, binding), traffic), callbacks)| {
            let answer = match (proxy, binding) {
                (Some(strict), binding) => Answer::Proxy { strict, binding: binding.map(Box::new) },
                (None, Some(b)) => Answer::Stateful(Box::new(b)),
                (None, None) => Answer::Mock,
            };
            Planned { op, answer, traffic, callbacks }
        })
        .collect();
    let api = Api { specs: set.specs, operations, router, traffic: rules, config, unique, keys, redact, webhooks, sources: set.files };
    Ok((api, problems))
}

/// Routes that can never be served, found by the router that will serve them. Two documents
/// claiming one route is an error (`--mount` separates them); within one document, a template
/// that differs from an earlier one only by parameter names or a trailing slash is a warning,
/// since the first declared is served and the document is still usable.
fn route_conflicts(set: &SpecSet, router: &Router, problems: &mut Vec<Problem>) {
    for s in router.shadowed() {
        let (op, first) = (&set.operations[s.op], &set.operations[s.by]);
        let a = &set.specs[first.spec].file;
        let b = &set.specs[op.spec].file;
        if a == b && op.served_path != first.served_path {
            problems.push(Problem::warning(
                b,
                op.pointer.clone(),
                format!(
                    "{} {} is never reached: {} {} at {} takes its requests (first declared wins)",
                    op.method, op.served_path, first.method, first.served_path, first.pointer
                ),
            ));
            continue;
        }
        let where_ = if a == b { "twice in this file".to_string() } else { format!("also by {}#{}", a.display(), first.pointer) };
        problems.push(Problem::error(
            b,
            op.pointer.clone(),
            format!(
                "{} {} is claimed {where_}: serve one of them under a prefix with --mount {}=/PREFIX",
                op.method,
                op.served_path,
                b.display()
            ),
        ));
    }
}

fn report(file: &Path, base: &str, errors: Vec<(String, String)>, problems: &mut Vec<Problem>) {
    for (sub, message) in errors {
        problems.push(Problem::error(PathBuf::from(file), format!("{base}{sub}"), message));
    }
}

/// How the document's own error bodies are filled, from `x-specstub.errors`.
fn error_style(file: &Path, errors: &ext::ErrorsExt, problems: &mut Vec<Problem>) -> ErrorStyle {
    let ptr = "/x-specstub/errors";
    let mut style = ErrorStyle::default();
    match errors.validation_status {
        None => {}
        Some(s) if (400..500).contains(&s) => style.validation_status = Some(s),
        Some(_) => problems.push(Problem::error(file, format!("{ptr}/validationStatus"), "must be a 4xx status code")),
    }
    for (target, source) in &errors.set {
        let at = format!("{ptr}/set/{}", escape_token(target));
        let field = match source.as_str() {
            Some("status") => ErrorField::Status,
            Some("grpc_code") => ErrorField::GrpcCode,
            Some("message") => ErrorField::Message,
            Some("uuid") => ErrorField::Uuid,
            Some("reason") => ErrorField::Reason,
            Some("violations") => ErrorField::Violations,
            Some("empty_array") => ErrorField::EmptyArray,
            Some("now") => ErrorField::Now,
            _ => match source.get("literal") {
                Some(v) => ErrorField::Literal(v.clone()),
                None => {
                    problems.push(Problem::error(
                        file,
                        at,
                        "unknown error field source: use status, grpc_code, message, uuid, reason, violations, empty_array, now or {literal: VALUE}",
                    ));
                    continue;
                }
            },
        };
        if !target.starts_with('/') {
            problems.push(Problem::error(file, at, "the key must be a JSON pointer such as /message"));
            continue;
        }
        style.set.push((target.clone(), field));
    }
    style
}

#[cfg(test)]
pub(crate) mod fuzz;
