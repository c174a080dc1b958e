//! Watches files for hot reload, on a thread of its own: the directories holding them are
//! watched (editors often save by writing a new file and renaming it over the old one, which a
//! watch on the file itself would lose), events are debounced (a save in several writes is one
//! batch) and filtered to the files asked for, and the watches are set again after each batch, so
//! a directory deleted and made again is still watched. What to do with a change is the
//! caller's: `on_change` gets the paths and answers what to watch from then on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, new_debouncer};

/// Changes closer together than this are one batch.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// How often the thread looks whether it should stop.
const POLL: Duration = Duration::from_millis(100);

/// A running watch; dropping it stops the thread (within [`POLL`]).
pub struct Watching {
    stop: Arc<AtomicBool>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What is watched: the files, and the directories whose every entry counts.
#[derive(Default)]
struct Wanted {
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
}

impl Wanted {
    fn of(paths: &[PathBuf]) -> Self {
        let mut w = Wanted::default();
        for p in paths.iter().map(|p| absolute(p)) {
            if p.is_dir() {
                w.dirs.insert(p);
            } else {
                w.files.insert(p);
            }
        }
        w
    }

    /// The directories to put a watch on: each file's, each directory and the one holding it
    /// (to see it replaced).
    fn watch_dirs(&self) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        for f in &self.files {
            out.extend(f.parent().map(Path::to_path_buf));
        }
        for d in &self.dirs {
            out.insert(d.clone());
            out.extend(d.parent().map(Path::to_path_buf));
        }
        out
    }

    fn concerns(&self, p: &Path) -> bool {
        self.files.contains(p) || self.dirs.contains(p) || p.parent().is_some_and(|d| self.dirs.contains(d))
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Watches `paths` (files or directories); calls `on_change` with the changed ones after each
/// debounced batch, from the watch's thread. `on_change` answers what to watch next, or None to
/// stop. Fails only when no watch can be set up at all (no inotify instance left, say).
pub fn spawn(
    paths: Vec<PathBuf>,
    mut on_change: impl FnMut(Vec<PathBuf>) -> Option<Vec<PathBuf>> + Send + 'static,
) -> Result<Watching, String> {
    let (tx, rx) = std::sync::mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(DEBOUNCE, tx).map_err(|e| format!("cannot watch files: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let rewatch = |debouncer: &mut notify_debouncer_mini::Debouncer<_>, wanted: &Wanted, watched: &mut BTreeSet<PathBuf>| {
        let w = debouncer.watcher();
        for d in std::mem::take(watched) {
            let _ = w.unwatch(&d);
        }
        for d in wanted.watch_dirs() {
            // A directory that does not exist (yet) is watched through its parent.
            if d.is_dir() && w.watch(&d, RecursiveMode::NonRecursive).is_ok() {
                watched.insert(d);
            }
        }
    };
    // Before returning: a change made once the server is up is never missed.
    let mut wanted = Wanted::of(&paths);
    let mut watched = BTreeSet::new();
    rewatch(&mut debouncer, &wanted, &mut watched);
    std::thread::Builder::new()
        .name("specstub-watch".into())
        .spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match rx.recv_timeout(POLL) {
                    Ok(Ok(events)) => {
                        let mut changed: Vec<PathBuf> = events.into_iter().map(|e| e.path).filter(|p| wanted.concerns(p)).collect();
                        if changed.is_empty() {
                            continue;
                        }
                        changed.sort();
                        changed.dedup();
                        match on_change(changed) {
                            Some(next) => wanted = Wanted::of(&next),
                            None => break,
                        }
                        rewatch(&mut debouncer, &wanted, &mut watched);
                    }
                    Ok(Err(e)) => tracing::warn!("watching files: {e}"),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        })
        .map_err(|e| format!("cannot start the watching thread: {e}"))?;
    Ok(Watching { stop })
}
