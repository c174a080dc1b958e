//! `--state-file` on disk, apart from the change log: the snapshot (every record as of one change
//! of the log), the files beside it and the rules for replacing one safely. A snapshot is written
//! to a unique temporary file beside the target, fsynced, renamed over it, and the directory is
//! fsynced, so at every instant the target is either the old snapshot or the new one. A lock file
//! keeps a second server off the same state.
//!
//! Files for `--state-file STATE`: `STATE` (the snapshot; JSON, format 2 names the last change of
//! the log it holds; format 1, written before the log existed, still reads), `STATE.log` (the
//! changes since, see `log.rs`), `STATE.lock`, and while one is being written
//! `STATE.tmp-PID-N` or `STATE.log.tmp-PID-N`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::{Ns, Record};

/// The snapshot format this version writes; it reads this one and 1.
const FORMAT: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    /// The last change of the log that the snapshot holds; the log is replayed after it. A
    /// format-1 file has none: it came before any log.
    #[serde(default)]
    log_seq: u64,
    collections: Vec<SavedCollection>,
}

#[derive(Serialize, Deserialize)]
struct SavedCollection {
    session: String,
    resource: String,
    records: Vec<Record>,
}

/// A snapshot as read from disk.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub log_seq: u64,
    pub collections: Vec<(Ns, Vec<Record>)>,
    /// Its size on disk (0 when there is none), which paces compaction.
    pub bytes: u64,
}

/// `STATE` + `suffix`, beside it: `STATE.log`, `STATE.lock`.
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// A temporary file for replacing `path`: in its directory (so the rename stays within one file
/// system), named by process and counter so two writers never share one, and never `path`
/// itself, whatever `path` is called.
pub fn temp_for(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    beside(path, &format!(".tmp-{}-{n}", std::process::id()))
}

fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename or a new file in `path`'s directory durable: without it, a crash may bring back
/// the old name.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(directory_of(path))?.sync_all()?;
    Ok(())
}

/// Writes `collections` as the snapshot at `path`, holding the log up to `log_seq`; returns its
/// size. The temporary file is removed if anything fails.
pub fn write_snapshot(path: &Path, log_seq: u64, collections: Vec<(Ns, Vec<Record>)>) -> std::io::Result<u64> {
    let saved = Saved {
        format: FORMAT,
        log_seq,
        collections: collections
            .into_iter()
            .map(|(ns, records)| SavedCollection { session: ns.session, resource: ns.resource, records })
            .collect(),
    };
    let tmp = temp_for(path);
    let written = (|| {
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        serde_json::to_writer(&mut out, &saved).map_err(std::io::Error::other)?;
        out.flush()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        drop(file);
        std::fs::rename(&tmp, path)?;
        Ok::<_, std::io::Error>(bytes)
    })();
    let bytes = written.inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    sync_dir(path)?;
    Ok(bytes)
}

/// Reads the snapshot; a missing file is an empty state, a damaged one an error (never
/// overwritten silently).
pub fn read_snapshot(path: &Path) -> Result<Snapshot, String> {
    regular(path)?;
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Snapshot::default()),
        Err(e) => return Err(format!("cannot read the state file {}: {e}", path.display())),
    };
    let saved: Saved = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the state file {} is damaged ({e}); move it away to start fresh", path.display()))?;
    if saved.format == 0 || saved.format > FORMAT {
        return Err(format!(
            "the state file {} has format {}, which this specstub cannot read (it reads 1 and {FORMAT})",
            path.display(),
            saved.format
        ));
    }
    Ok(Snapshot {
        log_seq: saved.log_seq,
        collections: saved.collections.into_iter().map(|c| (Ns { session: c.session, resource: c.resource }, c.records)).collect(),
        bytes: bytes.len() as u64,
    })
}

/// Refuses a path that exists but is not a plain file (a directory, `/dev/zero`...), which
/// could not be replaced by a rename and might never end when read.
pub fn regular(path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(format!("{} is not a plain file", path.display())),
        _ => Ok(()),
    }
}

/// Takes `STATE.lock` for this process, or says who holds it. The lock goes with the returned
/// file; the file stays, as removing a lock file races with the next taker.
pub fn lock(path: &Path) -> Result<File, String> {
    let lock_path = beside(path, ".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", lock_path.display()))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(if e.kind() == std::io::ErrorKind::WouldBlock {
                format!(
                    "the state file {} is in use by another specstub (it holds {}); two servers on one state file would overwrite each other's changes",
                    path.display(),
                    lock_path.display()
                )
            } else {
                format!("cannot lock {}: {e}", lock_path.display())
            });
        }
    }
    Ok(file)
}

/// Removes temporary files a killed server left beside `path` (its lock is held, so no live
/// writer owns them); returns their names.
pub fn remove_leftovers(path: &Path) -> Vec<PathBuf> {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return Vec::new() };
    let prefixes = [format!("{name}.tmp-"), format!("{name}.log.tmp-")];
    let Ok(entries) = std::fs::read_dir(directory_of(path)) else { return Vec::new() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let ours = prefixes.iter().any(|p| file.strip_prefix(p.as_str()).is_some_and(is_pid_counter));
        if ours && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

/// `PID-N`, as `temp_for` names them.
fn is_pid_counter(s: &str) -> bool {
    s.split_once('-').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("specstub-persist-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_temp_file_is_beside_the_target_and_never_the_target() {
        let target = Path::new("/data/x.tmp");
        let (a, b) = (temp_for(target), temp_for(target));
        assert_ne!(a, b);
        for t in [&a, &b] {
            assert_ne!(t.as_path(), target);
            assert_eq!(t.parent(), target.parent());
            assert!(t.file_name().unwrap().to_string_lossy().starts_with("x.tmp.tmp-"), "{t:?}");
        }
    }

    #[test]
    fn a_snapshot_round_trips_and_format_1_still_reads() {
        let dir = scratch();
        let path = dir.join("state.json");
        let ns = Ns { session: "s".into(), resource: "things".into() };
        let rec = Record { id: "a".into(), version: 2, seq: 7, scope: vec![], data: json!({"n": 1}) };
        let bytes = write_snapshot(&path, 42, vec![(ns.clone(), vec![rec.clone()])]).unwrap();
        let read = read_snapshot(&path).unwrap();
        assert_eq!((read.log_seq, read.bytes), (42, bytes));
        assert_eq!(read.collections, vec![(ns, vec![rec])]);
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("state.json")]);

        std::fs::write(&path, r#"{"format":1,"collections":[{"session":"","resource":"r","records":[]}]}"#).unwrap();
        assert_eq!(read_snapshot(&path).unwrap().log_seq, 0);
        std::fs::write(&path, r#"{"format":9,"collections":[]}"#).unwrap();
        assert!(read_snapshot(&path).unwrap_err().contains("format 9"));
        assert!(read_snapshot(&dir).unwrap_err().contains("is not a plain file"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_lock_keeps_a_second_taker_off_and_leftovers_are_cleaned() {
        let dir = scratch();
        let path = dir.join("state");
        let held = lock(&path).unwrap();
        assert!(lock(&path).unwrap_err().contains("in use by another specstub"));
        drop(held);
        lock(&path).unwrap();
        std::fs::write(beside(&path, ".tmp-12-3"), "x").unwrap();
        std::fs::write(beside(&path, ".log.tmp-12-4"), "x").unwrap();
        std::fs::write(beside(&path, ".tmp-notes"), "keep").unwrap();
        let mut removed = remove_leftovers(&path);
        removed.sort();
        assert_eq!(removed, vec![beside(&path, ".log.tmp-12-4"), beside(&path, ".tmp-12-3")]);
        assert!(beside(&path, ".tmp-notes").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
