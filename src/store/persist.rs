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
