//! Temporary files and folders in the cache, named so that a later pull can tell a leftover
//! of a killed process from the work of a live one.
//!
//! A temporary entry is called `.<name>.<pid>.partial`. It is removed when its guard drops
//! (on success it is renamed first, on failure it simply goes), so only a killed process leaves
//! one behind; [`remove_stale`] deletes those whose process is gone.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const SUFFIX: &str = ".partial";
/// Where liveness of a process id cannot be asked, a leftover untouched this long is stale.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// A temporary file or folder that is removed on drop unless [`Partial::keep`] is called.
pub(crate) struct Partial {
    path: PathBuf,
    armed: bool,
}

impl Partial {
    /// The temporary path for `name` in `dir`, belonging to this process. Whatever this process
    /// left there before is removed.
    pub(crate) fn new(dir: &Path, name: &str) -> Partial {
        let path = dir.join(format!(".{name}.{}{SUFFIX}", std::process::id()));
        remove_entry(&path);
        Partial { path, armed: true }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the guard from removing the path (because it was renamed or is wanted).
    pub(crate) fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if self.armed {
            remove_entry(&self.path);
        }
    }
}

fn remove_entry(path: &Path) {
    let removed = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(_) => return,
    };
    if let Err(e) = removed {
        warn_not_removed(path, &e);
    }
}

fn warn_not_removed(path: &Path, e: &std::io::Error) {
    eprintln!(
        "warning: could not remove the temporary {}: {e}",
        path.display()
    );
}

/// The process id in a temporary entry's name, if the name is one of ours.
fn owner_pid(file_name: &str) -> Option<u32> {
    let stem = file_name.strip_prefix('.')?.strip_suffix(SUFFIX)?;
    let (_, pid) = stem.rsplit_once('.')?;
    pid.parse().ok()
}

/// Whether process `pid` may still be writing; `None` where this cannot be asked.
fn process_alive(pid: u32) -> Option<bool> {
    let proc_root = Path::new("/proc");
    if proc_root.join("self").exists() {
        Some(proc_root.join(pid.to_string()).exists())
    } else {
        None
    }
}

/// Removes the temporary entries in `dir` left by processes that are gone (and by this one:
/// callers hold the store's lock, so this process has none in use).
pub(crate) fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        let stale = pid == me
            || match process_alive(pid) {
                Some(alive) => !alive,
                None => entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > STALE_AFTER),
            };
        if stale {
            remove_entry(&entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_reads_our_names_only() {
        assert_eq!(owner_pid(".gemma.gguf.1234.partial"), Some(1234));
        assert_eq!(owner_pid(".wheels.7.partial"), Some(7));
        assert_eq!(owner_pid("gemma.gguf"), None);
        assert_eq!(owner_pid(".gemma.gguf.partial"), None);
        assert_eq!(owner_pid(".x.notapid.partial"), None);
    }

    #[test]
    fn a_dropped_guard_removes_its_file_and_a_kept_one_does_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = Partial::new(dir.path(), "a");
        fs::write(p.path(), b"x").expect("write");
        let path = p.path().to_path_buf();
        drop(p);
        assert!(!path.exists());

        let p = Partial::new(dir.path(), "b");
        fs::write(p.path(), b"x").expect("write");
        let path = p.path().to_path_buf();
        p.keep();
        assert!(path.exists());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn leftovers_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Process ids are below 2^22 on Linux, so this one cannot be running.
        let dead = dir.path().join(".model.gguf.4294967295.partial");
        fs::write(&dead, b"half a model").expect("write");
        let dead_dir = dir.path().join(".wheels.4294967294.partial");
        fs::create_dir(&dead_dir).expect("mkdir");
        // Process 1 always runs.
        let live = dir.path().join(".model.gguf.1.partial");
        fs::write(&live, b"being written").expect("write");
        let model = dir.path().join("model.gguf");
        fs::write(&model, b"done").expect("write");

        remove_stale(dir.path());
        assert!(!dead.exists());
        assert!(!dead_dir.exists());
        assert!(live.exists());
        assert!(model.exists());
    }
}
