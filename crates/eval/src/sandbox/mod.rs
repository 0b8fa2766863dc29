//! The sandbox: everything that runs generated code goes through here.
//!
//! Each program runs as its own `python3` process in a fresh temporary directory, with the
//! environment cleared, under:
//!
//! - a wall-clock limit (3 s by default) and `RLIMIT_CPU`;
//! - `RLIMIT_AS`, `RLIMIT_FSIZE`, `RLIMIT_NOFILE`, `RLIMIT_NPROC` and no core files, plus a
//!   per-run cgroup with `pids.max` where the harness may create one (`RLIMIT_NPROC` does not
//!   bind root);
//! - new network and PID namespaces (inside a user namespace when one can be made, which is
//!   what lets a non-root harness have them): no interface but a loopback that is down, and
//!   no process outside is visible or reachable;
//! - Landlock: writes only inside its directory, reads only of the interpreter, the system
//!   libraries and its directory, no TCP, no signals or abstract sockets outside itself;
//! - its own session and process group, killed as a whole at the end, and a supervisor that
//!   reaps detached descendants too (see [`process`]).
//!
//! Output is captured and capped. [`Sandbox::new`] probes what the machine grants and returns
//! an [`Isolation`] report; it refuses to build a sandbox without network and filesystem
//! isolation unless [`SandboxOptions::allow_unisolated`] is set.
//!
//! ```no_run
//! use ferrocodex_eval::sandbox::{Program, Sandbox, SandboxOptions};
//! let sandbox = Sandbox::new(SandboxOptions::default())?;
//! println!("{}", sandbox.isolation().summary());
//! let out = sandbox.run(&Program::script("print(6 * 7)"))?;
//! assert_eq!(out.stdout, b"42\n");
//! # Ok::<(), ferrocodex_eval::sandbox::SandboxError>(())
//! ```

mod cgroup;
mod landlock;
pub mod process;

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use process::{ChildPlan, PlanInput, Report};

/// Resource limits of one run.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock time before the program's whole tree is killed.
    pub wall: Duration,
    /// CPU seconds (`RLIMIT_CPU`).
    pub cpu_seconds: u64,
    /// Address space in bytes (`RLIMIT_AS`).
    pub address_space: u64,
    /// Largest file the program may write (`RLIMIT_FSIZE`).
    pub file_size: u64,
    /// Open descriptors (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// Processes (`RLIMIT_NPROC` and the cgroup's `pids.max`).
    pub processes: u64,
    /// Bytes of stdout and of stderr kept; the rest is read and dropped.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(3),
            cpu_seconds: 4,
            address_space: 1 << 30,
            file_size: 16 << 20,
            open_files: 64,
            processes: 32,
            output_bytes: 64 << 10,
        }
    }
}

/// Which isolation layers to attempt. All by default; switching one off is for testing the
/// fallbacks (e.g. the subreaper when there is no PID namespace).
#[derive(Clone, Debug)]
pub struct Layers {
    pub user_namespace: bool,
    pub network_namespace: bool,
    pub pid_namespace: bool,
    pub landlock: bool,
    pub cgroup: bool,
}

impl Default for Layers {
    fn default() -> Self {
        Layers { user_namespace: true, network_namespace: true, pid_namespace: true, landlock: true, cgroup: true }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SandboxOptions {
    /// Isolation layers to attempt.
    pub layers: Layers,
    /// The Python interpreter; `python3` on `PATH` when not given.
    pub python: Option<PathBuf>,
    pub limits: Limits,
    /// Run programs even when neither network nor filesystem isolation could be obtained.
    pub allow_unisolated: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot find a Python interpreter ({0}); install python3 or pass its path")]
    NoPython(String),
    #[error(
        "refusing to run untrusted code: this machine gave no isolation ({missing}). \
         {summary}. Run as a user allowed to create user namespaces, or pass \
         --unsafe-no-isolation to run programs anyway"
    )]
    NotIsolated { missing: String, summary: String },
    #[error("the sandbox could not start a program: {0}")]
    Setup(String),
    #[error("sandbox I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// How the process count is bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessLimit {
    /// A per-run cgroup with `pids.max`.
    Cgroup(PathBuf),
    /// `RLIMIT_NPROC` (binds non-root users only).
    Rlimit,
    /// Nothing binds: the harness is root and no cgroup could be made.
    Unenforced,
}

/// How descendants that detach from the program are found and killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaper {
    /// The program is the init of its PID namespace: the kernel kills the rest when it exits.
    PidNamespace,
    /// The supervisor is a child subreaper and kills its children until none is left.
    Subreaper,
    /// Only the program's process group is killed.
    ProcessGroup,
}

/// What isolation the machine granted, as probed by [`Sandbox::new`].
#[derive(Clone, Debug)]
pub struct Isolation {
    pub user_namespace: bool,
    pub network_namespace: bool,
    pub pid_namespace: bool,
    /// The Landlock ABI version applied, if Landlock is in force.
    pub landlock_abi: Option<u32>,
    /// The probe could not create a file outside its directory.
    pub filesystem_confined: bool,
    pub process_limit: ProcessLimit,
    pub reaper: Reaper,
    pub running_as_root: bool,
    pub python: PathBuf,
}

impl Isolation {
    /// Network and filesystem isolation are both in force.
    pub fn is_isolated(&self) -> bool {
        self.network_namespace && self.filesystem_confined
    }

    /// The layers that are missing, in words.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if !self.network_namespace {
            m.push("no network namespace");
        }
        if !self.filesystem_confined {
            m.push("writes outside the work directory are not blocked (no Landlock)");
        }
        if !self.pid_namespace {
            m.push("no PID namespace");
        }
        if self.process_limit == ProcessLimit::Unenforced {
            m.push("no process-count limit");
        }
        m
    }

    /// One line describing what is in force.
    pub fn summary(&self) -> String {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        format!(
            "sandbox isolation: user namespace {}, network namespace {}, PID namespace {}, \
             Landlock {}, process limit {}, reaper {}; interpreter {}",
            yes_no(self.user_namespace),
            yes_no(self.network_namespace),
            yes_no(self.pid_namespace),
            match (self.landlock_abi, self.filesystem_confined) {
                (Some(v), true) => format!("ABI {v} (filesystem confined)"),
                (Some(v), false) => format!("ABI {v} (NOT confining the filesystem)"),
                (None, _) => "no".to_string(),
            },
            match &self.process_limit {
                ProcessLimit::Cgroup(p) => format!("cgroup pids.max under {}", p.display()),
                ProcessLimit::Rlimit => "RLIMIT_NPROC".to_string(),
                ProcessLimit::Unenforced => "none (root without cgroups)".to_string(),
            },
            match self.reaper {
                Reaper::PidNamespace => "PID namespace",
                Reaper::Subreaper => "child subreaper",
                Reaper::ProcessGroup => "process group only",
            },
            self.python.display()
        )
    }
}

/// One program to run: files written into the work directory and the interpreter's
/// arguments (after `-I -B`).
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub files: Vec<(String, Vec<u8>)>,
    pub args: Vec<String>,
    /// Files to read back from the work directory after the run (up to `output_bytes`).
    pub collect: Vec<String>,
    /// Overrides the wall-clock limit for this run.
    pub wall: Option<Duration>,
}

impl Program {
    /// A Python script run as `python3 -I -B main.py`.
    pub fn script(source: &str) -> Program {
        Program {
            files: vec![("main.py".into(), source.as_bytes().to_vec())],
            args: vec!["main.py".into()],
            ..Program::default()
        }
    }
}

/// How the program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    Exited(i32),
    Signaled(i32),
    TimedOut,
}

#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub termination: Termination,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The [`Program::collect`] files, in order; `None` when absent.
    pub collected: Vec<Option<Vec<u8>>>,
    pub elapsed: Duration,
    /// The work directory the program ran in (already removed).
    pub workdir: PathBuf,
    /// Something could not be cleaned up (a process or the directory); logged as a warning.
    pub leftovers: bool,
}

/// A probed, ready-to-use sandbox. Cheap to share between threads.
pub struct Sandbox {
    isolation: Isolation,
    limits: Limits,
    python: PathBuf,
    policy_reads: Vec<PathBuf>,
    landlock_abi: Option<u32>,
    cgroup_hierarchy: Option<PathBuf>,
    try_user_namespace: bool,
    try_pid_namespace: bool,
    try_network_namespace: bool,
}

/// Interpreter facts gathered once, outside the sandbox.
struct Interpreter {
    executable: PathBuf,
    prefixes: Vec<PathBuf>,
}

fn find_interpreter(explicit: Option<&Path>) -> Result<Interpreter, SandboxError> {
    let exe = explicit.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("python3"));
    let out = std::process::Command::new(&exe)
        .args([
            "-I",
            "-c",
            "import sys\nfor p in (sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix): print(p)",
        ])
        .output()
        .map_err(|e| SandboxError::NoPython(format!("{}: {e}", exe.display())))?;
    if !out.status.success() {
        return Err(SandboxError::NoPython(format!(
            "{} exited with {}: {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().map(PathBuf::from);
    let executable = lines
        .next()
        .filter(|p| p.is_absolute())
        .ok_or_else(|| SandboxError::NoPython(format!("{} did not report its path", exe.display())))?;
    let executable = std::fs::canonicalize(&executable).unwrap_or(executable);
    let mut prefixes: Vec<PathBuf> = lines.collect();
    if let Some(dir) = executable.parent().and_then(Path::parent) {
        prefixes.push(dir.to_path_buf());
    }
    prefixes.sort();
    prefixes.dedup();
    Ok(Interpreter { executable, prefixes })
}

impl Sandbox {
    /// Finds the interpreter, probes the isolation this machine grants and returns the
    /// sandbox, or [`SandboxError::NotIsolated`] when there is none and it was not allowed.
    pub fn new(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let interp = find_interpreter(options.python.as_deref())?;
        sweep_stale_workdirs(&std::env::temp_dir());
        let mut policy_reads: Vec<PathBuf> =
            ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"].iter().map(PathBuf::from).collect();
        policy_reads.extend(interp.prefixes.iter().cloned());
        let cgroup_hierarchy = cgroup::find_hierarchy().filter(|h| {
            options.layers.cgroup && {
                cgroup::sweep_stale(h);
                true
            } &&
            // Only when we may actually create one.
            cgroup::RunCgroup::create(h, options.limits.processes).is_ok()
        });
        // SAFETY: geteuid cannot fail.
        let running_as_root = unsafe { libc::geteuid() } == 0;
        let mut sandbox = Sandbox {
            isolation: Isolation {
                user_namespace: false,
                network_namespace: false,
                pid_namespace: false,
                landlock_abi: None,
                filesystem_confined: false,
                process_limit: ProcessLimit::Unenforced,
                reaper: Reaper::ProcessGroup,
                running_as_root,
                python: interp.executable.clone(),
            },
            limits: options.limits.clone(),
            python: interp.executable,
            policy_reads,
            landlock_abi: landlock::kernel_abi().filter(|_| options.layers.landlock),
            cgroup_hierarchy,
            try_user_namespace: options.layers.user_namespace,
            try_pid_namespace: options.layers.pid_namespace,
            try_network_namespace: options.layers.network_namespace,
        };
        sandbox.probe()?;
        if !sandbox.isolation.is_isolated() && !options.allow_unisolated {
            return Err(SandboxError::NotIsolated {
                missing: sandbox.isolation.missing().join(", "),
                summary: sandbox.isolation.summary(),
            });
        }
        if !sandbox.isolation.is_isolated() {
            tracing::warn!(
                "running untrusted code without isolation ({})",
                sandbox.isolation.missing().join(", ")
            );
        }
        Ok(sandbox)
    }

    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs a probe program, dropping the layers the kernel refuses, and records what held.
    fn probe(&mut self) -> Result<(), SandboxError> {
        let outside = std::env::temp_dir().join(format!(
            "ferrocodex-sandbox-probe-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
        ));
        let src = "import sys\ntry:\n    open(sys.argv[1], 'w').close()\n    print('written')\nexcept OSError:\n    print('denied')\n";
        let mut program = Program::script(src);
        program.args.push(outside.display().to_string());
        program.wall = Some(Duration::from_secs(30));
        for _ in 0..3 {
            let (outcome, report) = self.run_inner(&program)?;
            if report.failed_step == process::STEP_ID_MAPS && self.try_user_namespace {
                tracing::info!("user namespace refused its id maps; trying without one");
                self.try_user_namespace = false;
                continue;
            }
            let _ = std::fs::remove_file(&outside);
            if outcome.termination == Termination::Exited(process::SETUP_FAILED_EXIT)
                && String::from_utf8_lossy(&outcome.stderr).contains("Landlock")
                && self.landlock_abi.is_some()
            {
                tracing::info!("the kernel refused the Landlock ruleset; continuing without it");
                self.landlock_abi = None;
                continue;
            }
            if outcome.termination != Termination::Exited(0) {
                return Err(SandboxError::Setup(format!(
                    "the probe program ended with {:?}: {}",
                    outcome.termination,
                    String::from_utf8_lossy(&outcome.stderr).trim()
                )));
            }
            let iso = &mut self.isolation;
            iso.user_namespace = report.namespaces & process::NS_USER != 0;
            iso.network_namespace = report.namespaces & process::NS_NET != 0;
            iso.pid_namespace = report.namespaces & process::NS_PID != 0;
            iso.landlock_abi = self.landlock_abi;
            iso.filesystem_confined = outcome.stdout == b"denied\n";
            iso.reaper = if iso.pid_namespace {
                Reaper::PidNamespace
            } else if report.flags & process::FLAG_SUBREAPER != 0 {
                Reaper::Subreaper
            } else {
                Reaper::ProcessGroup
            };
            iso.process_limit = match (&self.cgroup_hierarchy, report.flags & process::FLAG_CGROUP_JOINED != 0) {
                (Some(h), true) => ProcessLimit::Cgroup(h.clone()),
                _ if !iso.running_as_root => ProcessLimit::Rlimit,
                _ => ProcessLimit::Unenforced,
            };
            return Ok(());
        }
        Err(SandboxError::Setup("the probe program could not be started".into()))
    }

    /// Runs one program. Blocks until it and everything it started are gone.
    pub fn run(&self, program: &Program) -> Result<RunOutcome, SandboxError> {
        let (outcome, report) = self.run_inner(program)?;
        let expected = self.isolation.network_namespace as u32 * process::NS_NET
            | self.isolation.pid_namespace as u32 * process::NS_PID;
        if report.namespaces & expected != expected {
            return Err(SandboxError::Setup(
                "the namespaces obtained by the probe were refused for this run".into(),
            ));
        }
        Ok(outcome)
    }

    fn rlimits(&self) -> Vec<(libc::c_int, u64)> {
        let l = &self.limits;
        vec![
            (libc::RLIMIT_CPU as libc::c_int, l.cpu_seconds.max(1)),
            (libc::RLIMIT_AS as libc::c_int, l.address_space),
            (libc::RLIMIT_FSIZE as libc::c_int, l.file_size),
            (libc::RLIMIT_NOFILE as libc::c_int, l.open_files),
            (libc::RLIMIT_NPROC as libc::c_int, l.processes),
            (libc::RLIMIT_CORE as libc::c_int, 0),
        ]
    }

    fn run_inner(&self, program: &Program) -> Result<(RunOutcome, Report), SandboxError> {
        let workdir = tempfile::Builder::new()
            .prefix(&format!("{WORKDIR_PREFIX}{}-", std::process::id()))
            .tempdir()?;
        let workdir_path = workdir.path().to_path_buf();
        for (name, data) in &program.files {
            if name.contains('/') || name == ".." || name.is_empty() {
                return Err(SandboxError::Setup(format!("bad program file name {name:?}")));
            }
            std::fs::write(workdir_path.join(name), data)?;
        }
        let landlock = match self.landlock_abi {
            Some(v) => Some(
                landlock::ruleset(
                    v,
                    &landlock::Policy {
                        workdir: workdir_path.clone(),
                        read_dirs: self.policy_reads.clone(),
                        read_files: ["/etc/ld.so.cache", "/etc/localtime", "/dev/urandom", "/dev/zero"]
                            .iter()
                            .map(PathBuf::from)
                            .collect(),
                        write_files: vec![PathBuf::from("/dev/null")],
                    },
                )
                .map_err(SandboxError::Setup)?,
            ),
            None => None,
        };
        let cgroup = match &self.cgroup_hierarchy {
            Some(h) => Some(cgroup::RunCgroup::create(h, self.limits.processes)?),
            None => None,
        };
        let cgroup_procs = cgroup.as_ref().map(|c| c.procs_file());
        let mut args = vec!["-I".to_string(), "-B".to_string()];
        args.extend(program.args.iter().cloned());
        let wd = workdir_path.display().to_string();
        let env = vec![
            ("PATH".to_string(), "/usr/bin:/bin".to_string()),
            ("HOME".to_string(), wd.clone()),
            ("TMPDIR".to_string(), wd),
            ("LANG".to_string(), "C.UTF-8".to_string()),
        ];
        let wall = program.wall.unwrap_or(self.limits.wall);
        let plan = ChildPlan::new(PlanInput {
            program: &self.python,
            args: &args,
            env: &env,
            workdir: &workdir_path,
            cgroup_procs: cgroup_procs.as_deref(),
            rlimits: self.rlimits(),
            landlock,
            try_user_namespace: self.try_user_namespace,
            try_pid_namespace: self.try_pid_namespace,
            try_network_namespace: self.try_network_namespace,
            wall,
        })?;
        let started = plan.start()?;
        drop(plan);
        let supervisor = started.supervisor;
        // The supervisor enforces the limit; this deadline only covers a supervisor that hangs.
        let deadline = Instant::now() + wall + Duration::from_secs(10);
        let collected = collect_output(started, self.limits.output_bytes, deadline);
        let mut leftovers = false;
        if collected.timed_out {
            // SAFETY: the supervisor is our unreaped child, so its pid cannot have been reused.
            unsafe { libc::kill(supervisor, libc::SIGKILL) };
            leftovers = true;
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(supervisor, &mut status, 0) };
        if let Some(cg) = &cgroup {
            leftovers |= !cg.kill_all();
        }
        drop(cgroup);
        let report = Report::decode(&collected.status).ok_or_else(|| {
            SandboxError::Setup(format!(
                "the supervisor ended without a report (wait status {status}); {}",
                String::from_utf8_lossy(&collected.stderr).trim()
            ))
        })?;
        leftovers |= report.flags & process::FLAG_LEFTOVERS != 0;
        let termination = if report.flags & process::FLAG_TIMED_OUT != 0 {
            Termination::TimedOut
        } else if libc::WIFEXITED(report.wait_status) {
            Termination::Exited(libc::WEXITSTATUS(report.wait_status))
        } else {
            Termination::Signaled(libc::WTERMSIG(report.wait_status))
        };
        let files = program
            .collect
            .iter()
            .map(|name| read_capped(&workdir_path.join(name), self.limits.output_bytes))
            .collect();
        if let Err(e) = remove_workdir(workdir) {
            tracing::warn!("could not remove the sandbox directory {}: {e}", workdir_path.display());
            leftovers = true;
        }
        if leftovers {
            tracing::warn!("a sandboxed run in {} left something behind", workdir_path.display());
        }
        Ok((
            RunOutcome {
                termination,
                stdout: collected.stdout,
                stderr: collected.stderr,
                stdout_truncated: collected.stdout_truncated,
                stderr_truncated: collected.stderr_truncated,
                collected: files,
                elapsed: Duration::from_micros(report.elapsed_us),
                workdir: workdir_path,
                leftovers,
            },
            report,
        ))
    }
}

/// Work directories are named `ferrocodex-sandbox-<harness pid>-…`.
const WORKDIR_PREFIX: &str = "ferrocodex-sandbox-";

/// Removes the work directories of harnesses that are no longer running (one killed mid-run
/// cannot remove its own).
fn sweep_stale_workdirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(WORKDIR_PREFIX) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn read_capped(path: &Path, cap: usize) -> Option<Vec<u8>> {
    // Only regular files: the program may have left a FIFO or a link there.
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut buf = Vec::new();
    std::fs::File::open(path).ok()?.take(cap as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// Removes the work directory even where the program took away permissions.
fn remove_workdir(dir: tempfile::TempDir) -> std::io::Result<()> {
    let path = dir.path().to_path_buf();
    if dir.close().is_ok() {
        return Ok(());
    }
    fn open_up(p: &Path) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::symlink_metadata(p) {
            if meta.is_dir() {
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
                if let Ok(rd) = std::fs::read_dir(p) {
                    for e in rd.flatten() {
                        open_up(&e.path());
                    }
                }
            }
        }
    }
    open_up(&path);
    std::fs::remove_dir_all(&path)
}

struct Collected {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    stdout_truncated: bool,
    stderr_truncated: bool,
    status: Vec<u8>,
    timed_out: bool,
}

/// Reads the three pipes until all are closed (the whole tree is gone) or the deadline.
fn collect_output(started: process::Started, cap: usize, deadline: Instant) -> Collected {
    let mut c = Collected {
        stdout: Vec::new(),
        stderr: Vec::new(),
        stdout_truncated: false,
        stderr_truncated: false,
        status: Vec::new(),
        timed_out: false,
    };
    let mut open: [Option<OwnedFd>; 3] = [Some(started.stdout), Some(started.stderr), Some(started.status)];
    let mut chunk = vec![0u8; 64 << 10];
    while open.iter().any(Option::is_some) {
        let now = Instant::now();
        if now >= deadline {
            c.timed_out = true;
            break;
        }
        let mut pfds: Vec<libc::pollfd> = Vec::new();
        let mut which = Vec::new();
        for (i, fd) in open.iter().enumerate() {
            if let Some(fd) = fd {
                pfds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
                which.push(i);
            }
        }
        let ms = (deadline - now).as_millis().min(1000) as libc::c_int;
        // SAFETY: pfds is a valid array of pollfd.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms.max(1)) };
        if r <= 0 {
            continue;
        }
        for (p, &i) in pfds.iter().zip(&which) {
            if p.revents == 0 {
                continue;
            }
            let Some(fd) = &open[i] else { continue };
            // SAFETY: reading into our own buffer from our own descriptor.
            let n = unsafe { libc::read(fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
            if n == 0 || (n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted) {
                open[i] = None;
                continue;
            }
            if n < 0 {
                continue;
            }
            let data = &chunk[..n as usize];
            let (buf, truncated) = match i {
                0 => (&mut c.stdout, &mut c.stdout_truncated),
                1 => (&mut c.stderr, &mut c.stderr_truncated),
                _ => {
                    c.status.extend_from_slice(data);
                    continue;
                }
            };
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(&data[..room.min(data.len())]);
            if data.len() > room {
                *truncated = true;
            }
        }
    }
    c
}
