//! Hot reload: the documents compiled again through the path start-up takes (`plan::build`),
//! and the new plan swapped in whole between requests, with the rate-limit buckets it indexes.
//! The store keeps its records; a collection is seeded again only when its fixtures changed. A
//! reload whose documents or fixtures have errors keeps the old plan serving and reports every
//! problem with file and pointer. What changed is found by content, so a save that rewrites a
//! file as it was, or an event for a file the plan never read, reloads nothing.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::{Generation, Runtime};
use crate::plan::Api;
use crate::spec::Problem;
use crate::store::Record;
use crate::traffic::Carried;

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The watcher saw a file change.
    Watch,
    /// `POST /__specstub/reload`, or an embedder.
    Admin,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Watch => "watch",
            Trigger::Admin => "admin",
        }
    }
}

/// What a reload came to, as the admin API answers it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// "reloaded", "kept" (errors: the old plan serves) or "unchanged" (nothing to do).
    pub outcome: &'static str,
    pub trigger: &'static str,
    pub at: crate::clock::Stamp,
    /// The plan's generation serving after it.
    pub generation: u64,
    /// The files whose content changed, appeared or went.
    pub changed: Vec<String>,
    /// With "kept": every problem, as start-up prints them (`file: pointer: error: message`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Collections seeded again from changed fixtures (every session goes back to them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reseeded: Vec<String>,
    /// Rate limits whose buckets were kept (unchanged) and those that start empty.
    pub rate_limits: RateLimits,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RateLimits {
    pub kept: usize,
    pub reset: usize,
}

/// What the last reload saw: each watched file's content, the fixtures seeded.
pub struct State {
    digests: BTreeMap<PathBuf, Option<u64>>,
    fixtures: HashMap<String, Vec<Record>>,
    last: Option<Outcome>,
}

impl State {
    pub(super) fn new(api: &Api, fixtures: HashMap<String, Vec<Record>>) -> Self {
        Self { digests: digests(&watched(api)), fixtures, last: None }
    }
}

/// The local files and directories a plan depends on: its documents and their `$ref`ed files,
/// the overlays, the document directories (a document added there), the fixtures. Documents
/// given by URL are not among them: they are read as fetched at start.
pub fn watched(api: &Api) -> Vec<PathBuf> {
    let config = &api.config;
    let mut out: Vec<PathBuf> = api.sources.clone();
    out.extend(config.load.overlays.iter().filter(|p| !crate::spec::source::is_remote(p)).cloned());
    out.extend(config.specs.iter().filter(|p| !crate::spec::source::is_remote(p)).cloned());
    out.extend(config.load.mounts.iter().map(|(f, _)| f.clone()).filter(|p| !crate::spec::source::is_remote(p)));
    if let Some(fixtures) = &config.fixtures {
        out.push(fixtures.clone());
        out.extend(fixture_files(fixtures));
    }
    out.sort();
    out.dedup();
    out
}

fn fixture_files(path: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(path) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A file's content hash, a directory's sorted names, None for what cannot be read (gone).
fn digest(path: &Path) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    if path.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path).ok()?.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
        names.sort();
        names.hash(&mut h);
    } else {
        std::fs::read(path).ok()?.hash(&mut h);
    }
    Some(h.finish())
}

fn digests(paths: &[PathBuf]) -> BTreeMap<PathBuf, Option<u64>> {
    paths.iter().map(|p| (p.clone(), digest(p))).collect()
}

impl Runtime {
    /// Whether the last reload kept the old plan, and when it ran, for the health answer.
    pub fn last_reload(&self) -> Option<Outcome> {
        self.reload.lock().unwrap_or_else(|p| p.into_inner()).last.clone()
    }

    /// Compiles the documents again when a file they (or the fixtures) are read from changed,
    /// and serves the new plan from the next request on; with errors, keeps the old plan and
    /// reports them. Blocking (it reads and compiles): call it off the request path's threads.
    pub fn reload(&self, trigger: Trigger) -> Outcome {
        let mut state = self.reload.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.plan();
        let mut paths = watched(&old.api);
        paths.extend(state.digests.keys().cloned());
        paths.sort();
        paths.dedup();
        let before = digests(&paths);
        let changed: Vec<PathBuf> = before.iter().filter(|(p, d)| state.digests.get(*p) != Some(d)).map(|(p, _)| p.clone()).collect();
        let fixtures_root = old.api.config.fixtures.clone();
        let is_fixture = |p: &Path| fixtures_root.as_deref().is_some_and(|f| p == f || p.parent() == Some(f));
        let outcome = |name, generation, problems, reseeded, rate_limits| Outcome {
            outcome: name,
            trigger: trigger.as_str(),
            at: crate::clock::Stamp::now(),
            generation,
            changed: changed.iter().map(|p| p.display().to_string()).collect(),
            problems,
            reseeded,
            rate_limits,
        };
        if changed.is_empty() {
            return outcome("unchanged", old.number, Vec::new(), Vec::new(), RateLimits::default());
        }
        let documents_changed = changed.iter().any(|p| !is_fixture(p));
        let fixtures_changed = changed.iter().any(|p| is_fixture(p));

        let api = if documents_changed {
            match crate::plan::build(old.api.config.clone()) {
                Ok((api, warnings)) => {
                    for p in &warnings {
                        tracing::warn!("{p}");
                    }
                    Some(api)
                }
                Err(problems) => {
                    return self.kept(&mut state, outcome("kept", old.number, shown(&problems), Vec::new(), RateLimits::default()));
                }
            }
        } else {
            None
        };
        let keys = api.as_ref().map_or(&old.api.keys, |a| &a.keys);
        // The key fields name each fixture's id: a plan that changes them changes the ids.
        let seed_again = self.store.is_some() && (fixtures_changed || keys != &old.api.keys);
        let fixtures = match (&old.api.config.fixtures, seed_again) {
            (Some(dir), true) => match crate::fixtures::load(dir, keys) {
                Ok(f) => Some(f),
                Err(problems) => {
                    return self.kept(&mut state, outcome("kept", old.number, shown(&problems), Vec::new(), RateLimits::default()));
                }
            },
            _ => None,
        };

        let mut rate_limits = RateLimits::default();
        let mut generation = old.number;
        if let Some(api) = api {
            let (buckets, carried) = self.traffic.carry(&api.traffic, &old.api.traffic, &old.buckets);
            let Carried { kept, fresh } = carried;
            rate_limits = RateLimits { kept, reset: fresh };
            if fresh > 0 {
                tracing::info!("reload: {fresh} rate limit(s) new or changed start with empty buckets; {kept} kept theirs");
            }
            if api.unique != old.api.unique {
                tracing::warn!("reload: the unique fields changed; the store checks them from the next restart on");
            }
            generation = old.number + 1;
            self.current.store(Arc::new(Generation { api, buckets, number: generation }));
        }
        let mut reseeded = Vec::new();
        if let (Some(store), Some(fixtures)) = (&self.store, fixtures) {
            let mut names: Vec<&String> = fixtures.keys().chain(state.fixtures.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                if fixtures.get(name) == state.fixtures.get(name) {
                    continue;
                }
                let records = fixtures.get(name).cloned().unwrap_or_default();
                let done = store.set_fixtures(name, records).and_then(|()| self.reset_scope(None, Some(name)));
                match done {
                    Ok(()) => reseeded.push(name.clone()),
                    Err(e) => tracing::error!("reload: the fixtures of {name} could not be seeded again: {e}"),
                }
            }
            state.fixtures = fixtures;
        }
        // Files the new plan reads for the first time are compared from now on.
        let mut after = before;
        for p in watched(&self.plan().api) {
            after.entry(p.clone()).or_insert_with(|| digest(&p));
        }
        state.digests = after;
        let done = outcome("reloaded", generation, Vec::new(), reseeded, rate_limits);
        let files = done.changed.join(", ");
        if done.reseeded.is_empty() {
            tracing::info!("reloaded ({files} changed): serving plan generation {generation}");
        } else {
            tracing::info!(
                "reloaded ({files} changed): serving plan generation {generation}; fixtures seeded again: {}",
                done.reseeded.join(", ")
            );
        }
        self.mark(&mut state, done)
    }

    /// The old plan serves on: every problem logged as start-up prints them.
    fn kept(&self, state: &mut State, outcome: Outcome) -> Outcome {
        for p in &outcome.problems {
            tracing::error!("{p}");
        }
        tracing::error!(
            "reload: kept serving plan generation {} ({} changed): fix the problems above and save again",
            outcome.generation,
            outcome.changed.join(", ")
        );
        self.mark(state, outcome)
    }

    fn mark(&self, state: &mut State, outcome: Outcome) -> Outcome {
        self.journal.record(crate::journal::Entry::reload(crate::journal::Reload {
            outcome: outcome.outcome,
            trigger: outcome.trigger,
            generation: outcome.generation,
            files: outcome.changed.clone(),
            problems: outcome.problems.clone(),
            reseeded: outcome.reseeded.clone(),
        }));
        state.last = Some(outcome.clone());
        outcome
    }
}

fn shown(problems: &[Problem]) -> Vec<String> {
    problems.iter().filter(|p| p.is_error()).map(ToString::to_string).collect()
}
