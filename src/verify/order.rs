//! The order in which `verify` calls a document's operations, so that a stateful provider sees a
//! plausible session: creates first (parents before children), then reads (collections before
//! items), updates, other actions (custom verbs), and deletes last. OpenAPI `links` come on top:
//! an operation that a link feeds always runs after the operation the link belongs to.

use std::collections::BTreeSet;

use crate::spec::Operation;
use http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Create,
    Read,
    Update,
    Action,
    Delete,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Read => "read",
            Kind::Update => "update",
            Kind::Action => "action",
            Kind::Delete => "delete",
        }
    }
}

/// One operation in the plan.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index into the operation list given to [`plan`].
    pub index: usize,
    pub kind: Kind,
    /// The resource the operation's answers describe (normalised, see [`stem`]); operations on one
    /// resource never run at the same time.
    pub resource: String,
    /// Steps of one wave may run concurrently (one lane per resource); waves run one after another.
    pub wave: usize,
}

/// Orders `ops` (all of one document). `links[i]` names the operations (indexes into `ops`) that
/// links of operation `i` feed.
pub fn plan(ops: &[&Operation], links: &[Vec<usize>]) -> Vec<Step> {
    let kinds: Vec<Kind> = ops.iter().map(|op| kind(op, ops)).collect();
    // Computed once: the loop below compares keys n² times (half a billion on Microsoft Graph's
    // 22,361 operations, where splitting each path every time took verify minutes to start).
    let keys: Vec<(Kind, usize, usize)> = (0..ops.len())
        .map(|i| {
            let depth = if kinds[i] <= Kind::Read { param_count(&ops[i].path) } else { 0 };
            (kinds[i], depth, i)
        })
        .collect();
    let key = |i: usize| keys[i];
    // Kahn's algorithm over the link edges, always taking the lowest key that is free; a cycle is
    // broken by taking the lowest key left.
    let n = ops.len();
    let mut preds = vec![BTreeSet::new(); n];
    for (from, targets) in links.iter().enumerate() {
        for &to in targets {
            if to != from && to < n {
                preds[to].insert(from);
            }
        }
    }
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let free = (0..n).filter(|&i| !done[i] && preds[i].iter().all(|&p| done[p])).min_by_key(|&i| key(i));
        let next = free.or_else(|| (0..n).filter(|&i| !done[i]).min_by_key(|&i| key(i)));
        let Some(next) = next else { break };
        done[next] = true;
        order.push(next);
    }
    // A new wave starts when the (kind, depth) changes or when a step depends on one in this wave.
    let mut steps: Vec<Step> = Vec::with_capacity(n);
    let mut wave = 0;
    let mut wave_start = 0;
    for &i in &order {
        if let Some(prev) = steps.last() {
            let (k, d, _) = key(prev.index);
            let (k2, d2, _) = key(i);
            let depends = steps[wave_start..].iter().any(|s| preds[i].contains(&s.index));
            if (k, d) != (k2, d2) || depends {
                wave += 1;
                wave_start = steps.len();
            }
        }
        steps.push(Step { index: i, kind: kinds[i], resource: resource(ops[i], kinds[i]), wave });
    }
    steps
}

/// What an operation does to its resource, from its method, path and naming.
pub fn kind(op: &Operation, all: &[&Operation]) -> Kind {
    let last = last_segment(&op.path);
    let last_is_param = last.contains('{');
    let verb = !last_is_param && last.contains(':');
    match op.method {
        Method::DELETE => Kind::Delete,
        Method::GET | Method::HEAD => Kind::Read,
        ref m if m.as_str() == "QUERY" => Kind::Read,
        Method::POST => {
            let named_create = op.id.to_ascii_lowercase().contains("create");
            let declares_201 = op.responses.iter().any(|r| r.code == "201");
            let has_items = all.iter().any(|o| o.path.len() > op.path.len() && is_item_of(&o.path, &op.path));
            if !last_is_param && (named_create || (!verb && (declares_201 || has_items))) { Kind::Create } else { Kind::Action }
        }
        Method::PUT => Kind::Update,
        Method::PATCH if verb => Kind::Action,
        Method::PATCH => Kind::Update,
        _ => Kind::Action,
    }
}

/// `/runs/{runId}` is an item path of the collection `/runs`.
fn is_item_of(item: &str, collection: &str) -> bool {
    item.strip_prefix(collection).is_some_and(|rest| {
        let rest = rest.strip_prefix('/').unwrap_or("");
        !rest.contains('/') && rest.starts_with('{')
    })
}

/// The resource whose representation the operation's answers carry.
pub fn resource(op: &Operation, kind: Kind) -> String {
    let segments: Vec<&str> = op.path.split('/').filter(|s| !s.is_empty()).collect();
    let last = segments.last().copied().unwrap_or("");
    let literal_last = !last.contains('{');
    if literal_last && (kind == Kind::Create || kind == Kind::Read || !segments.iter().any(|s| s.contains('{'))) {
        return stem(last.split(':').next().unwrap_or(last));
    }
    // The collection segment before the last parameter: `/jobs/runs/{id}/start` → runs.
    match segments.iter().rposition(|s| s.contains('{')) {
        Some(p) if p > 0 => stem(segments[p - 1].split(':').next().unwrap_or("")),
        _ => stem(last.split(':').next().unwrap_or(last)),
    }
}

/// The literal segment nearest before `segments[at]` (parameters skipped), stemmed: it tells
/// `/v1/checkout/sessions` from `/v1/financial_connections/sessions`, while
/// `/namespaces/{ns}/jobs/{job}/runs` and `/jobs/runs/{id}` meet at `job`.
pub fn qualifier(segments: &[&str], at: usize) -> String {
    segments[..at.min(segments.len())]
        .iter()
        .rev()
        .find(|s| !s.is_empty() && !s.contains('{'))
        .map(|s| stem(s.split(':').next().unwrap_or(s)))
        .unwrap_or_default()
}

/// The [`qualifier`] of the collection [`resource`] picks, on the operation's served path.
pub fn resource_qualifier(op: &Operation, kind: Kind) -> String {
    let (template, _) = crate::template::split_key(&op.served_path);
    let segments: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let last = segments.len().saturating_sub(1);
    let literal_last = segments.last().is_some_and(|s| !s.contains('{'));
    let at = if literal_last && (kind == Kind::Create || kind == Kind::Read || !segments.iter().any(|s| s.contains('{'))) {
        last
    } else {
        match segments.iter().rposition(|s| s.contains('{')) {
            Some(p) if p > 0 => p - 1,
            _ => last,
        }
    };
    qualifier(&segments, at)
}

pub fn param_count(path: &str) -> usize {
    path.split('/').filter(|s| s.contains('{')).count()
}

fn last_segment(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// A name reduced so that a collection segment and the parameter naming its items meet:
/// `fielding-runs`, `fielding_run_id`, `runs` and `runId` become `fieldingrun`, `fieldingrun`,
/// `run`, `run`.
pub fn stem(s: &str) -> String {
    let mut out: String = s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    if out.len() > 2 && out.ends_with("id") {
        out.truncate(out.len() - 2);
    }
    if out.len() > 3 && out.ends_with('s') && !out.ends_with("ss") {
        out.truncate(out.len() - 1);
    }
    out
}

/// Whether a field name reads as an identifier: `id`, `runId`, `run_id`, `runID`, `run-id`.
pub fn is_id_like(name: &str) -> bool {
    name.eq_ignore_ascii_case("id")
        || name.ends_with("Id")
        || name.ends_with("ID")
        || name.ends_with("_id")
        || name.ends_with("-id")
        || name.eq_ignore_ascii_case("uuid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet() {
        assert_eq!(stem("fielding-runs"), stem("fielding_run_id"));
        assert_eq!(stem("runs"), stem("runId"));
        assert_eq!(stem("jobs"), "job");
        assert_eq!(stem("namespaces"), stem("namespace"));
        assert_eq!(stem("id"), "id");
        assert!(is_id_like("runId") && is_id_like("fielding_run_id") && is_id_like("id") && !is_id_like("name"));
    }

    #[test]
    fn qualifiers_tell_collections_of_one_name_apart() {
        let q = |path: &str, at: usize| qualifier(&path.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>(), at);
        assert_eq!(q("/v1/checkout/sessions", 2), "checkout");
        assert_eq!(q("/v1/financial_connections/sessions/{session}", 2), "financialconnection");
        assert_eq!(q("/api/v1/namespaces/{namespace}/jobs/{job}/runs", 6), q("/api/v1/jobs/runs/{id}", 3));
        assert_eq!(q("/runs", 0), "");
    }

    #[test]
    fn item_paths() {
        assert!(is_item_of("/runs/{runId}", "/runs"));
        assert!(!is_item_of("/runs/{runId}/start", "/runs"));
        assert!(!is_item_of("/runsx/{id}", "/runs"));
    }
}
