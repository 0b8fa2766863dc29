//! The process tree of one sandboxed run, built with raw system calls.
//!
//! ```text
//! harness thread ──fork──► supervisor S (never execs; setsid; joins the run's cgroup;
//!                          │              unshare user+net+pid namespaces, or net+pid, or net)
//!                          └──fork──► program P (PID 1 of the new PID namespace when there is one;
//!                                     own process group, rlimits, Landlock, fds closed) ──exec──► python3
//! ```
//!
//! S enforces the wall-clock limit, waits for P, then makes sure nothing P started survives:
//! with a PID namespace the kernel kills every process in it when P (its init) exits; without
//! one, S is a child subreaper, so orphaned descendants are re-parented to it, and it kills
//! its children (read from `/proc/thread-self/children`) until none is left. S then writes a
//! fixed-size [`Report`] to the status pipe and exits. If the harness dies, S and P die with
//! it (`PR_SET_PDEATHSIG`).
//!
//! Everything between `fork` and `execve` runs in a copy of a multi-threaded process, where
//! only async-signal-safe calls are allowed: no allocation, no locks, no formatting. All
//! strings, paths and limits are therefore prepared by [`ChildPlan::new`] before the fork,
//! and the children use nothing but `libc` system calls on that prepared data.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use libc::{c_char, c_int, pid_t};

/// Namespaces the supervisor obtained (bits of [`Report::namespaces`]).
pub const NS_USER: u32 = 1;
pub const NS_NET: u32 = 2;
pub const NS_PID: u32 = 4;

/// Report flags.
pub const FLAG_TIMED_OUT: u32 = 1;
pub const FLAG_CGROUP_JOINED: u32 = 2;
pub const FLAG_SUBREAPER: u32 = 4;
/// Descendants were still alive when the supervisor gave up killing them.
pub const FLAG_LEFTOVERS: u32 = 8;

/// Where the supervisor failed, when it did (`Report::failed_step`).
pub const STEP_NONE: u32 = 0;
pub const STEP_ID_MAPS: u32 = 1;
pub const STEP_FORK: u32 = 2;

const REPORT_MAGIC: u32 = 0x6665_7276; // "ferv"

/// What the supervisor tells the harness at the end of a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    pub namespaces: u32,
    pub flags: u32,
    /// The program's wait status (as from `waitpid`).
    pub wait_status: i32,
    pub failed_step: u32,
    pub errno: i32,
    /// Wall time of the program in microseconds.
    pub elapsed_us: u64,
}

const REPORT_LEN: usize = 32;

impl Report {
    fn encode(&self) -> [u8; REPORT_LEN] {
        let mut b = [0u8; REPORT_LEN];
        b[0..4].copy_from_slice(&REPORT_MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&self.namespaces.to_le_bytes());
        b[8..12].copy_from_slice(&self.flags.to_le_bytes());
        b[12..16].copy_from_slice(&self.wait_status.to_le_bytes());
        b[16..20].copy_from_slice(&self.failed_step.to_le_bytes());
        b[20..24].copy_from_slice(&self.errno.to_le_bytes());
        b[24..32].copy_from_slice(&self.elapsed_us.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<Report> {
        if b.len() != REPORT_LEN {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if u32_at(0) != REPORT_MAGIC {
            return None;
        }
        let mut elapsed = [0u8; 8];
        elapsed.copy_from_slice(&b[24..32]);
        Some(Report {
            namespaces: u32_at(4),
            flags: u32_at(8),
            wait_status: u32_at(12) as i32,
            failed_step: u32_at(16),
            errno: u32_at(20) as i32,
            elapsed_us: u64::from_le_bytes(elapsed),
        })
    }
}

/// Everything the two children need, prepared before the fork.
pub struct ChildPlan {
    program: CString,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    _envp: Vec<CString>,
    envp_ptrs: Vec<*const c_char>,
    workdir: CString,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    cgroup_procs: Option<CString>,
    rlimits: Vec<(c_int, libc::rlim_t, libc::rlim_t)>,
    landlock: Option<OwnedFd>,
    try_user_namespace: bool,
    try_pid_namespace: bool,
    try_network_namespace: bool,
    wall_us: u64,
    harness_pid: pid_t,
}

/// The harness's ends of a started run.
pub struct Started {
    pub supervisor: pid_t,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    pub status: OwnedFd,
}

pub struct PlanInput<'a> {
    pub program: &'a std::path::Path,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub workdir: &'a std::path::Path,
    pub cgroup_procs: Option<&'a std::path::Path>,
    pub rlimits: Vec<(c_int, u64)>,
    pub landlock: Option<OwnedFd>,
    pub try_user_namespace: bool,
    pub try_pid_namespace: bool,
    pub try_network_namespace: bool,
    pub wall: Duration,
}

fn cstring(s: impl Into<Vec<u8>>, what: &str) -> std::io::Result<CString> {
    CString::new(s).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

impl ChildPlan {
    pub fn new(input: PlanInput<'_>) -> std::io::Result<ChildPlan> {
        use std::os::unix::ffi::OsStrExt;
        let program = cstring(input.program.as_os_str().as_bytes(), "the interpreter path")?;
        let mut argv = vec![program.clone()];
        for a in input.args {
            argv.push(cstring(a.as_bytes(), "an argument")?);
        }
        let envp = input
            .env
            .iter()
            .map(|(k, v)| cstring(format!("{k}={v}"), "an environment variable"))
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut argv_ptrs: Vec<*const c_char> = argv.iter().map(|c| c.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let mut envp_ptrs: Vec<*const c_char> = envp.iter().map(|c| c.as_ptr()).collect();
        envp_ptrs.push(std::ptr::null());
        // SAFETY: getuid/getgid/getpid cannot fail.
        let (uid, gid, pid) = unsafe { (libc::getuid(), libc::getgid(), libc::getpid()) };
        Ok(ChildPlan {
            program,
            _argv: argv,
            argv_ptrs,
            _envp: envp,
            envp_ptrs,
            workdir: cstring(input.workdir.as_os_str().as_bytes(), "the work directory")?,
            // The program keeps the harness's identity inside the user namespace: one id,
            // mapped onto itself.
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            cgroup_procs: input
                .cgroup_procs
                .map(|p| cstring(p.as_os_str().as_bytes(), "the cgroup path"))
                .transpose()?,
            rlimits: input
                .rlimits
                .iter()
                .map(|&(r, v)| (r, v as libc::rlim_t, v as libc::rlim_t))
                .collect(),
            landlock: input.landlock,
            try_user_namespace: input.try_user_namespace,
            try_pid_namespace: input.try_pid_namespace,
            try_network_namespace: input.try_network_namespace,
            wall_us: input.wall.as_micros().min(u64::MAX as u128) as u64,
            harness_pid: pid,
        })
    }

    /// Forks the supervisor. The returned descriptors are the read ends of its pipes.
    pub fn start(&self) -> std::io::Result<Started> {
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (st_r, st_w) = pipe()?;
        let devnull = open_cloexec(c"/dev/null", libc::O_RDONLY)?;
        let fds = ChildFds {
            stdout: out_w.as_raw_fd(),
            stderr: err_w.as_raw_fd(),
            status: st_w.as_raw_fd(),
            devnull: devnull.as_raw_fd(),
            landlock: self.landlock.as_ref().map_or(-1, |f| f.as_raw_fd()),
        };
        // SAFETY: the child only calls async-signal-safe functions on data prepared above
        // (see the module documentation) and never returns.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: we are the freshly forked child.
            unsafe { supervisor(self, &fds) }
        }
        drop((out_w, err_w, st_w, devnull));
        Ok(Started { supervisor: pid, stdout: out_r, stderr: err_r, status: st_r })
    }
}

struct ChildFds {
    stdout: RawFd,
    stderr: RawFd,
    status: RawFd,
    devnull: RawFd,
    landlock: RawFd,
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two fresh descriptors that we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn open_cloexec(path: &std::ffi::CStr, flags: c_int) -> std::io::Result<OwnedFd> {
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

// ---- Below: code that runs in the forked children. Async-signal-safe calls only. ---------

fn errno() -> i32 {
    // SAFETY: reads the thread's errno.
    unsafe { *libc::__errno_location() }
}

unsafe fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        let n = libc::write(fd, buf.as_ptr().cast(), buf.len());
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> bool {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return false;
    }
    let ok = write_all(fd, data);
    libc::close(fd);
    ok
}

fn now_us() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime is async-signal-safe and ts is valid.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

unsafe fn sleep_us(us: u64) {
    let ts = libc::timespec { tv_sec: (us / 1_000_000) as _, tv_nsec: ((us % 1_000_000) * 1_000) as _ };
    libc::nanosleep(&ts, std::ptr::null_mut());
}

/// Closes every descriptor except those in `keep` (unsorted, -1 entries ignored).
unsafe fn close_all_except(keep: &mut [RawFd]) {
    keep.sort_unstable();
    let mut next: u32 = 0;
    for &fd in keep.iter() {
        if fd < 0 {
            continue;
        }
        let fd = fd as u32;
        if fd > next {
            libc::syscall(libc::SYS_close_range, next, fd - 1, 0);
        }
        next = fd + 1;
    }
    libc::syscall(libc::SYS_close_range, next, u32::MAX, 0);
}

unsafe fn supervisor(plan: &ChildPlan, fds: &ChildFds) -> ! {
    let mut report = Report::default();
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
    if libc::getppid() != plan.harness_pid {
        libc::_exit(1);
    }
    // Other threads of the harness may have had pipes open at the fork: drop them.
    let mut keep = [fds.stdout, fds.stderr, fds.status, fds.devnull, fds.landlock];
    close_all_except(&mut keep);
    libc::setsid();

    if let Some(procs) = &plan.cgroup_procs {
        if write_file(procs, b"0") {
            report.flags |= FLAG_CGROUP_JOINED;
        }
    }

    // Namespaces, strongest first: an unprivileged user namespace lets a non-root harness
    // create the others; as root the plain network and PID namespaces need no user namespace.
    let pid_flag = if plan.try_pid_namespace { libc::CLONE_NEWPID } else { 0 };
    let pid_bit = if plan.try_pid_namespace { NS_PID } else { 0 };
    if !plan.try_network_namespace {
        // No namespaces at all (only for testing the refusal path).
    } else if plan.try_user_namespace && libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET | pid_flag) == 0 {
        // setgroups must be denied before an unprivileged process may write gid_map.
        let _ = write_file(c"/proc/self/setgroups", b"deny");
        if !write_file(c"/proc/self/uid_map", &plan.uid_map)
            || !write_file(c"/proc/self/gid_map", &plan.gid_map)
        {
            report.failed_step = STEP_ID_MAPS;
            report.errno = errno();
            finish(fds.status, &report);
        }
        report.namespaces = NS_USER | NS_NET | pid_bit;
    } else if libc::unshare(libc::CLONE_NEWNET | pid_flag) == 0 {
        report.namespaces = NS_NET | pid_bit;
    } else if pid_flag != 0 && libc::unshare(libc::CLONE_NEWNET) == 0 {
        report.namespaces = NS_NET;
    }
    let pid_ns = report.namespaces & NS_PID != 0;
    if !pid_ns && libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 {
        report.flags |= FLAG_SUBREAPER;
    }

    let start = now_us();
    let child = libc::fork();
    if child < 0 {
        report.failed_step = STEP_FORK;
        report.errno = errno();
        finish(fds.status, &report);
    }
    if child == 0 {
        program(plan, fds);
    }
    libc::close(fds.stdout);
    libc::close(fds.stderr);
    libc::close(fds.devnull);
    if fds.landlock >= 0 {
        libc::close(fds.landlock);
    }

    // Wait for the program, up to the wall-clock limit.
    let pidfd = libc::syscall(libc::SYS_pidfd_open, child, 0) as c_int;
    let mut status: c_int = 0;
    let mut backoff = 500u64;
    loop {
        let r = libc::waitpid(child, &mut status, libc::WNOHANG | libc::__WALL);
        if r == child {
            break;
        }
        let elapsed = now_us().saturating_sub(start);
        if elapsed >= plan.wall_us {
            report.flags |= FLAG_TIMED_OUT;
            libc::kill(-child, libc::SIGKILL);
            libc::kill(child, libc::SIGKILL);
            libc::waitpid(child, &mut status, libc::__WALL);
            break;
        }
        let left = plan.wall_us - elapsed;
        if pidfd >= 0 {
            let mut p = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
            let ms = left.div_ceil(1000).min(i32::MAX as u64) as c_int;
            libc::poll(&mut p, 1, ms);
        } else {
            sleep_us(backoff.min(left));
            backoff = (backoff * 2).min(20_000);
        }
    }
    report.elapsed_us = now_us().saturating_sub(start);
    report.wait_status = status;

    // Nothing the program started may outlive it.
    libc::kill(-child, libc::SIGKILL);
    if !kill_descendants(pid_ns) {
        report.flags |= FLAG_LEFTOVERS;
    }
    finish(fds.status, &report)
}

/// Kills and reaps every remaining descendant of the supervisor. With a PID namespace they
/// are already dead (the kernel killed them when the namespace's init exited) and only need
/// reaping; as a subreaper, orphans are re-parented to us one generation at a time, so we
/// kill our current children repeatedly until waitpid says there are none.
unsafe fn kill_descendants(pid_ns: bool) -> bool {
    let deadline = now_us() + 5_000_000;
    let mut buf = [0u8; 4096];
    loop {
        let mut status = 0;
        loop {
            let r = libc::waitpid(-1, &mut status, libc::WNOHANG | libc::__WALL);
            if r > 0 {
                continue;
            }
            if r < 0 && errno() == libc::ECHILD {
                return true;
            }
            break;
        }
        if now_us() > deadline {
            return false;
        }
        if !pid_ns {
            let fd = libc::open(c"/proc/thread-self/children".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                libc::close(fd);
                let mut pid: i64 = 0;
                let mut in_number = false;
                for &b in &buf[..n.max(0) as usize] {
                    if b.is_ascii_digit() {
                        pid = pid * 10 + (b - b'0') as i64;
                        in_number = true;
                    } else if in_number {
                        libc::kill(-(pid as pid_t), libc::SIGKILL);
                        libc::kill(pid as pid_t, libc::SIGKILL);
                        pid = 0;
                        in_number = false;
                    }
                }
                if in_number {
                    libc::kill(-(pid as pid_t), libc::SIGKILL);
                    libc::kill(pid as pid_t, libc::SIGKILL);
                }
            }
        }
        sleep_us(1_000);
    }
}

unsafe fn finish(status_fd: RawFd, report: &Report) -> ! {
    let bytes = report.encode();
    write_all(status_fd, &bytes);
    libc::_exit(0)
}

unsafe fn program(plan: &ChildPlan, fds: &ChildFds) -> ! {
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
    libc::setpgid(0, 0);
    if libc::dup2(fds.devnull, 0) < 0 || libc::dup2(fds.stdout, 1) < 0 || libc::dup2(fds.stderr, 2) < 0 {
        libc::_exit(SETUP_FAILED_EXIT);
    }
    if libc::chdir(plan.workdir.as_ptr()) != 0 {
        die(b"sandbox: cannot enter the work directory\n");
    }
    for &(resource, soft, hard) in &plan.rlimits {
        let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
        if libc::setrlimit(resource as _, &lim) != 0 {
            die(b"sandbox: cannot set a resource limit\n");
        }
    }
    if fds.landlock >= 0 {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::syscall(libc::SYS_landlock_restrict_self, fds.landlock, 0) != 0
        {
            die(b"sandbox: cannot apply the Landlock ruleset\n");
        }
    }
    libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0);
    libc::execve(plan.program.as_ptr(), plan.argv_ptrs.as_ptr(), plan.envp_ptrs.as_ptr());
    die(b"sandbox: cannot execute the interpreter\n");
}

/// Exit status of a program that the sandbox could not set up; never a Python exit status
/// in practice, and the message on stderr says which step failed.
pub const SETUP_FAILED_EXIT: i32 = 125;

unsafe fn die(msg: &[u8]) -> ! {
    write_all(2, msg);
    libc::_exit(SETUP_FAILED_EXIT)
}
