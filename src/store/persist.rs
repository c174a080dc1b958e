//! `--state-file`: the store's content written to disk atomically (a temporary file renamed over
//! the old one) so that state survives a restart.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Ns, Record, Store};

#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    collections: Vec<SavedCollection>,
}

#[derive(Serialize, Deserialize)]
struct SavedCollection {
    session: String,
    resource: String,
    records: Vec<Record>,
}

pub fn save(store: &dyn Store, path: &Path) -> std::io::Result<()> {
    let saved = Saved {
        format: 1,
        collections: store
            .dump()
            .into_iter()
            .map(|(ns, records)| SavedCollection { session: ns.session, resource: ns.resource, records })
            .collect(),
    };
    let bytes = serde_json::to_vec(&saved).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Reads a state file; a missing file is an empty state, a damaged one an error (never
/// overwritten silently).
pub fn load(path: &Path) -> Result<Vec<(Ns, Vec<Record>)>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read the state file {}: {e}", path.display())),
    };
    let saved: Saved = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the state file {} is damaged ({e}); move it away to start fresh", path.display()))?;
    Ok(saved.collections.into_iter().map(|c| (Ns { session: c.session, resource: c.resource }, c.records)).collect())
}

/// Saves the store every second while it changes, and once more when the server stops.
pub fn spawn_saver(
    store: std::sync::Arc<dyn Store>,
    path: std::path::PathBuf,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            let stopping = tokio::select! {
                _ = tick.tick() => false,
                _ = stopped.changed() => true,
            };
            if store.take_dirty() || stopping {
                let (store, path) = (std::sync::Arc::clone(&store), path.clone());
                let result = tokio::task::spawn_blocking(move || save(store.as_ref(), &path)).await;
                if let Ok(Err(e)) = result {
                    tracing::error!(error = %e, "cannot write the state file");
                }
            }
            if stopping {
                break;
            }
        }
    })
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{Scratch, config, json, mutate, mutation, within};
    use proptest::prelude::*;

    /// A state file as `save` writes it, with a few records.
    fn valid() -> Vec<u8> {
        let record = |id: &str, data| Record { id: id.into(), version: 2, seq: 1, scope: vec![("p".into(), "x".into())], data };
        let saved = Saved {
            format: 1,
            collections: vec![SavedCollection {
                session: "s".into(),
                resource: "things".into(),
                records: vec![record("a", serde_json::json!({"n": 1.5})), record("b", serde_json::json!({"tags": ["x"]}))],
            }],
        };
        serde_json::to_vec(&saved).unwrap()
    }

    /// Writes `bytes` as a state file, loads it, and removes it: an answer, never a panic or a hang.
    fn load_bytes(bytes: Vec<u8>) -> Result<usize, String> {
        within("persist::load", move || {
            let scratch = Scratch::new();
            load(&scratch.file("state.json", bytes)).map(|c| c.len())
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn a_mutated_state_file_loads_or_is_refused_with_a_message(mutations in prop::collection::vec(mutation(), 1..6)) {
            if let Err(e) = load_bytes(mutate(valid(), &mutations)) {
                prop_assert!(e.contains("state file"), "{e}");
            }
        }

        #[test]
        fn any_json_or_bytes_as_a_state_file_is_an_answer(doc in json(), raw in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = load_bytes(serde_json::to_vec(&doc).unwrap());
            let _ = load_bytes(raw);
        }
    }

    #[test]
    fn the_unmutated_file_loads() {
        assert_eq!(load_bytes(valid()), Ok(1));
    }
}
