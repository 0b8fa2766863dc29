//! A per-run cgroup that caps the number of processes (`pids.max`): the fork-bomb limit that
//! also binds root, which `RLIMIT_NPROC` does not. Used when the harness may create cgroups
//! (cgroup v1 `pids` hierarchy, or a cgroup v2 root with the `pids` controller).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The hierarchy the harness can create pids-limited cgroups in, if any.
pub fn find_hierarchy() -> Option<PathBuf> {
    let v1 = Path::new("/sys/fs/cgroup/pids");
    if v1.join("cgroup.procs").exists() && !v1.join("cgroup.controllers").exists() {
        return Some(v1.to_path_buf());
    }
    let v2 = Path::new("/sys/fs/cgroup");
    let controllers = std::fs::read_to_string(v2.join("cgroup.subtree_control")).ok()?;
    controllers.split_whitespace().any(|c| c == "pids").then(|| v2.to_path_buf())
}

/// Removes the empty cgroups that harnesses which are no longer running left behind (a
/// harness killed mid-run cannot remove its own).
pub fn sweep_stale(hierarchy: &Path) {
    let Ok(entries) = std::fs::read_dir(hierarchy) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("ferrocodex-sandbox-") else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            // Fails harmlessly when processes are still inside.
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

/// One run's cgroup; removed (after killing anything still in it) when dropped.
pub struct RunCgroup {
    dir: PathBuf,
}

impl RunCgroup {
    pub fn create(hierarchy: &Path, max_pids: u64) -> std::io::Result<RunCgroup> {
        let name = format!(
            "ferrocodex-sandbox-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = hierarchy.join(name);
        std::fs::create_dir(&dir)?;
        let cg = RunCgroup { dir };
        std::fs::write(cg.dir.join("pids.max"), max_pids.to_string())?;
        Ok(cg)
    }

    pub fn procs_file(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Kills every process still in the cgroup; true when it is empty.
    pub fn kill_all(&self) -> bool {
        for _ in 0..200 {
            let Ok(list) = std::fs::read_to_string(self.procs_file()) else {
                return true;
            };
            let pids: Vec<i32> = list.split_whitespace().filter_map(|p| p.parse().ok()).collect();
            if pids.is_empty() {
                return true;
            }
            for pid in pids {
                // SAFETY: plain kill(2) of a process listed in our own cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        self.kill_all();
        // A cgroup can be removed only once its last process has been reaped.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        tracing::warn!("could not remove the sandbox cgroup {}", self.dir.display());
    }
}
