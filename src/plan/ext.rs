//! The `x-specstub` extension, every key of it, as typed values: this module owns the whole key
//! set at document and operation level. Each extension is read once, at compile time; an unknown
//! or misspelled key, or a value of the wrong type, is a [`Problem`] with its file, its JSON
//! pointer and, where a known key is close, a "did you mean". What the values mean (a binding,
//! a rate limit) is for the compiler to build; this module only says what may be written.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::spec::{Problem, escape_token};

/// The document-level keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DocumentExt {
    pub errors: Option<ErrorsExt>,
    pub rate_limit: Option<Value>,
    pub latency: Option<Value>,
    pub faults: Option<Value>,
}

/// How specstub fills the document's own error bodies.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ErrorsExt {
    pub validation_status: Option<u16>,
    /// JSON pointer in the error body → what goes there (`message`, `{literal: V}`...).
    #[serde(default)]
    pub set: Map<String, Value>,
}

/// The operation-level keys: behaviour (see docs/extension.md) and traffic. The traffic keys
/// (`rateLimit`, `latency`, `faults`, also allowed on the document) have grammars of their own
/// (`5/s`, `50ms..200ms`), read by the traffic types, which report sub-pointers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OperationExt {
    pub resource: Option<String>,
    pub action: Option<ActionName>,
    /// A path parameter name, or `{in: path|query, name}` / `{in: body, pointer}`.
    pub id: Option<IdExt>,
    pub key: Option<String>,
    pub id_format: Option<IdFormatName>,
    pub scope: Option<OneOrMany>,
    pub envelope: Option<String>,
    pub request_envelope: Option<String>,
    pub response_envelope: Option<String>,
    pub list: Option<ListExt>,
    pub update_mask: Option<MaskExt>,
    pub set_once: Option<OneOrMany>,
    pub unique: Option<OneOrMany>,
    pub version: Option<VersionExt>,
    pub defaults: Option<Map<String, Value>>,
    pub transition: Option<TransitionExt>,
    pub set: Option<Map<String, Value>>,
    pub conflict: Option<RefusalExt>,
    pub checks: Option<Vec<CheckExt>>,
    pub parent: Option<ParentExt>,
    pub status: Option<u16>,
    /// `false` opts the operation out of inferred CRUD.
    pub stateful: Option<bool>,
    pub rate_limit: Option<Value>,
    pub latency: Option<Value>,
    pub faults: Option<Value>,
}

impl OperationExt {
    /// Whether the operation declares its behaviour (else it may be inferred).
    pub fn declares_behaviour(&self) -> bool {
        self.resource.is_some() || self.action.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionName {
    Create,
    Get,
    List,
    Update,
    Replace,
    Delete,
    #[serde(alias = "action")]
    Transition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdFormatName {
    Uuid,
    Ulid,
    Integer,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IdExt {
    Name(String),
    Place(IdPlace),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdPlace {
    #[serde(rename = "in")]
    pub location: IdIn,
    pub name: Option<String>,
    pub pointer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdIn {
    Path,
    Query,
    Body,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListExt {
    pub items: Option<String>,
    pub page_size: Option<String>,
    pub page_token: Option<String>,
    pub next_page_token: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub page: Option<String>,
    pub total: Option<String>,
    pub has_more: Option<String>,
    pub default_page_size: Option<u64>,
    pub max_page_size: Option<u64>,
    /// query parameter → record field (null: the same name).
    #[serde(default)]
    pub filters: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum MaskExt {
    Field(String),
    Full(MaskFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskFull {
    pub field: String,
    #[serde(rename = "in")]
    pub location: Option<MaskIn>,
    /// `{client_key: clientKey}` or `[client_key]`.
    pub paths: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskIn {
    Body,
    Query,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VersionExt {
    pub field: Option<String>,
    pub if_match: Option<IfMatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IfMatch {
    Required,
    Optional,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionExt {
    pub field: Option<String>,
    pub from: Option<Value>,
    pub to: Option<Value>,
    pub set: Option<Map<String, Value>>,
    pub error: Option<RefusalExt>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefusalExt {
    pub status: Option<u16>,
    pub grpc_code: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckExt {
    pub pointer: String,
    /// `now` or a JSON pointer into the same body.
    pub after: String,
    pub status: Option<u16>,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentExt {
    pub resource: String,
    pub id: String,
}

/// The keys of a callback's or a webhook's operation: when and how it is sent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HookExt {
    /// Wait before the first attempt (`250ms`, `2s`); the CLI's `--callback-delay` otherwise.
    pub delay: Option<String>,
    /// Attempts after the first, on connection errors and 5xx answers.
    pub retries: Option<u32>,
    /// How long one attempt may take.
    pub timeout: Option<String>,
    /// A webhook's target, when `--webhook NAME=URL` gives none.
    pub url: Option<String>,
    /// The store event a webhook is sent on.
    pub on: Option<OnExt>,
}

/// A store event: `{resource: orders, event: created}`; a transition may name the state it
/// reaches (`to: shipped`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnExt {
    pub resource: String,
    pub event: EventName,
    pub to: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventName {
    Created,
    #[serde(alias = "transitioned")]
    Transition,
    Deleted,
}

/// Reads the document-level extension at `/x-specstub`.
pub fn document(file: &Path, raw: &Value, problems: &mut Vec<Problem>) -> DocumentExt {
    read(file, "/x-specstub", raw, problems)
}

/// Reads an operation's extension; `op_pointer` is the operation's pointer.
pub fn operation(file: &Path, op_pointer: &str, raw: &Value, problems: &mut Vec<Problem>) -> OperationExt {
    read(file, &format!("{op_pointer}/x-specstub"), raw, problems)
}

/// Reads a callback's or webhook's extension; `pointer` is its operation's pointer.
pub fn hook(file: &Path, pointer: &str, raw: &Value, problems: &mut Vec<Problem>) -> HookExt {
    read(file, &format!("{pointer}/x-specstub"), raw, problems)
}

/// At most this many mistakes are reported per extension: a pasted-in wrong block is one problem
/// many times over, and each report costs a re-read.
const MAX_REPORTED: usize = 20;

/// Deserializes `raw`, reporting every mistake: each bad key is reported, then dropped, and the
/// rest read again, so one typo does not hide the next.
fn read<T: DeserializeOwned + Default>(file: &Path, base: &str, raw: &Value, problems: &mut Vec<Problem>) -> T {
    if raw.is_null() {
        return T::default();
    }
    if !raw.is_object() {
        problems.push(Problem::error(file, base, "x-specstub must be a mapping of keys (see docs/extension.md)"));
        return T::default();
    }
    let mut value = raw.clone();
    for _ in 0..MAX_REPORTED {
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(t) => return t,
            Err(e) => {
                let path: Vec<Step> = e.path().iter().filter_map(Step::of).collect();
                let pointer = path.iter().fold(base.to_string(), |p, s| format!("{p}/{}", s.token()));
                problems.push(Problem::error(file, pointer, explain(&e.inner().to_string())));
                if path.is_empty() || !remove(&mut value, &path) {
                    return T::default();
                }
            }
        }
    }
    T::default()
}

/// One step of the path serde was at when it failed.
enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn of(s: &serde_path_to_error::Segment) -> Option<Self> {
        match s {
            serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
            _ => None,
        }
    }

    fn token(&self) -> String {
        match self {
            Step::Key(k) => escape_token(k),
            Step::Index(i) => i.to_string(),
        }
    }
}

/// Drops the value at `path`, so that the next read goes past it.
fn remove(value: &mut Value, path: &[Step]) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    let mut cur = value;
    for step in parents {
        let next = match (step, cur) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k),
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else { return false };
        cur = next;
    }
    match (last, cur) {
        (Step::Key(k), Value::Object(m)) => m.remove(k).is_some(),
        (Step::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

/// Rewords serde's message: an unknown key gets the closest known one as a suggestion.
fn explain(message: &str) -> String {
    let (rest, what) = if let Some(rest) = message.strip_prefix("unknown field ") {
        (rest, "key")
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        (rest, "value")
    } else {
        return message.replace("data did not match any variant of untagged enum", "not a valid value for").replace("`", "");
    };
    let names: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let Some((unknown, known)) = names.split_first() else {
        return message.to_string();
    };
    let suggestion = closest(unknown, known).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
    if what == "key" {
        format!("unknown key `{unknown}`{suggestion}; known keys here: {}", known.join(", "))
    } else {
        format!("unknown value {unknown:?}{suggestion}: use {}", known.join(", "))
    }
}

/// The known key a typo most likely meant: the same but for case, else within two edits.
fn closest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(unknown)) {
        return Some(k);
    }
    let lower = unknown.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.min(k.len().saturating_sub(1)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems_of(raw: Value) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        operation(Path::new("api.yaml"), "/paths/~1things/get", &raw, &mut problems);
        problems.into_iter().map(|p| (p.pointer, p.message)).collect()
    }

    #[test]
    fn misspelled_keys_are_reported_with_their_pointer_and_a_suggestion() {
        let p = problems_of(json!({"resource": "things", "action": "list", "ratelimit": "5/s", "latancy": "1ms", "list": {"lst": "x"}}));
        let message = |pointer: &str| &p.iter().find(|(at, _)| at == pointer).unwrap_or_else(|| panic!("{pointer} in {p:?}")).1;
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(message("/paths/~1things/get/x-specstub/ratelimit").contains("did you mean `rateLimit`?"), "{p:?}");
        assert!(message("/paths/~1things/get/x-specstub/latancy").contains("did you mean `latency`?"), "{p:?}");
        assert!(message("/paths/~1things/get/x-specstub/list/lst").contains("known keys here: items, pageSize"), "{p:?}");
    }

    #[test]
    fn wrong_types_and_values_name_the_place() {
        let p = problems_of(json!({"action": "fetch", "checks": [{"pointer": "/a", "after": "now"}, {"pointer": 3, "after": "now"}]}));
        assert_eq!(p[0].0, "/paths/~1things/get/x-specstub/action");
        assert!(p[0].1.contains("unknown value \"fetch\""), "{}", p[0].1);
        assert_eq!(p[1].0, "/paths/~1things/get/x-specstub/checks/1/pointer");
    }

    #[test]
    fn a_correct_extension_reads_without_problems() {
        let mut problems = Vec::new();
        let ext = operation(
            Path::new("api.yaml"),
            "/p",
            &json!({"resource": "runs", "action": "action", "id": {"in": "body", "pointer": "/run/id"}, "scope": "ns",
                    "updateMask": "update_mask", "version": {"ifMatch": "required"}, "rateLimit": false}),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(ext.action, Some(ActionName::Transition));
        assert!(matches!(ext.id, Some(IdExt::Place(IdPlace { location: IdIn::Body, .. }))));
        assert_eq!(ext.rate_limit, Some(Value::Bool(false)));
        let doc = document(Path::new("api.yaml"), &json!({"errors": {"validationStatus": 400}, "latency": "5ms"}), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(doc.errors.unwrap().validation_status, Some(400));
    }

    #[test]
    fn suggestions_need_a_close_key() {
        assert_eq!(closest("RESOURCE", &["resource", "action"]), Some("resource"));
        assert_eq!(closest("zzz", &["resource", "action"]), None);
        assert_eq!(closest("lst", &["list", "set"]), Some("list"));
    }
}
