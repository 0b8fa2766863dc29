//! Hostile programs, each run through the sandbox: the harness must survive, report the right
//! verdict, and leave no process and no file behind.
//!
//! Every program gets a unique marker as its first argument; a process still alive afterwards
//! would carry it in `/proc/PID/cmdline` (forked Python children keep their parent's argv).

use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferrocodex_eval::sandbox::{Layers, Program, RunOutcome, Sandbox, SandboxError, SandboxOptions, Termination};

fn sandbox_with(layers: Layers) -> Option<Sandbox> {
    match Sandbox::new(SandboxOptions { layers, ..SandboxOptions::default() }) {
        Ok(s) => Some(s),
        Err(SandboxError::NoPython(e)) => {
            eprintln!("SKIPPED: no python3 on this machine ({e})");
            None
        }
        Err(SandboxError::NotIsolated { missing, .. }) => {
            eprintln!("SKIPPED: this machine grants no sandbox isolation ({missing})");
            None
        }
        Err(e) => panic!("sandbox setup failed: {e}"),
    }
}

fn sandbox() -> Option<Sandbox> {
    sandbox_with(Layers::default())
}

fn marker() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("ferrocodex-hostile-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmdline).contains(marker) {
                found.push(pid);
            }
        }
    }
    found
}

/// Runs `source` with the marker as argv[1] (and `extra` after it) and checks the cleanup.
fn run_hostile(sb: &Sandbox, source: &str, extra: &[String], collect: &[&str], wall: Duration) -> RunOutcome {
    let m = marker();
    let mut program = Program::script(source);
    program.args.push(m.clone());
    program.args.extend(extra.iter().cloned());
    program.collect = collect.iter().map(|s| s.to_string()).collect();
    program.wall = Some(wall);
    let out = sb.run(&program).expect("the harness must survive and report");
    assert!(!out.leftovers, "the run reported leftovers");
    assert!(!out.workdir.exists(), "work directory {} left behind", out.workdir.display());
    let alive = processes_with(&m);
    assert!(alive.is_empty(), "processes left behind: {alive:?}");
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_process_scan_finds_a_live_marked_process() {
    // Guards the leftover check itself: a marked process that is alive must be seen.
    let m = marker();
    let mut child = std::process::Command::new("python3")
        .args(["-c", "import time; time.sleep(30)", &m])
        .spawn()
        .expect("python3 runs");
    std::thread::sleep(Duration::from_millis(200));
    let seen = processes_with(&m);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(seen, vec![child.id()]);
}

#[test]
fn infinite_loop_times_out() {
    let Some(sb) = sandbox() else { return };
    let out = run_hostile(&sb, "while True:\n    pass\n", &[], &[], Duration::from_secs(1));
    assert_eq!(out.termination, Termination::TimedOut);
    assert!(out.elapsed >= Duration::from_secs(1));
}

#[test]
fn fork_bomb_is_bounded_and_cleaned_up() {
    let Some(sb) = sandbox() else { return };
    let src = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        try:\n            os.close(os.open('limited', os.O_CREAT | os.O_WRONLY))\n        except OSError:\n            pass\n";
    let out = run_hostile(&sb, src, &[], &["limited"], Duration::from_secs(2));
    assert_ne!(out.termination, Termination::Exited(0));
    assert!(out.collected[0].is_some(), "the fork bomb never hit the process limit");
}

#[test]
fn memory_bomb_fails_with_memory_error() {
    let Some(sb) = sandbox() else { return };
    let src = "chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))\n";
    let out = run_hostile(&sb, src, &[], &[], Duration::from_secs(10));
    assert_eq!(out.termination, Termination::Exited(1), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("MemoryError"), "stderr: {}", text(&out.stderr));
}

#[test]
fn ten_gigabyte_write_stops_at_the_file_size_limit() {
    let Some(sb) = sandbox() else { return };
    let src = "block = b'\\0' * (1 << 20)\nwith open('big', 'wb') as f:\n    for _ in range(10 * 1024):\n        f.write(block)\n";
    let out = run_hostile(&sb, src, &[], &[], Duration::from_secs(10));
    assert_eq!(out.termination, Termination::Exited(1), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("File too large"), "stderr: {}", text(&out.stderr));
}

#[test]
fn writes_outside_the_work_directory_are_denied() {
    let Some(sb) = sandbox() else { return };
    let own = tempfile::tempdir().unwrap();
    let m = marker();
    let targets = [
        own.path().join("planted"),
        std::env::temp_dir().join(format!("{m}-planted")),
        std::env::current_dir().unwrap().join(format!("{m}-planted")),
    ];
    let src = "import sys\nfor path in sys.argv[2:]:\n    try:\n        open(path, 'w').write('x')\n        print('WROTE', path)\n    except OSError as e:\n        print('denied', e.errno)\n";
    let extra: Vec<String> = targets.iter().map(|p| p.display().to_string()).collect();
    let out = run_hostile(&sb, src, &extra, &[], Duration::from_secs(10));
    let stdout = text(&out.stdout);
    assert_eq!(out.termination, Termination::Exited(0), "stderr: {}", text(&out.stderr));
    assert_eq!(stdout.matches("denied").count(), targets.len(), "stdout: {stdout}");
    for t in &targets {
        assert!(!t.exists(), "{} was written", t.display());
    }
}

#[test]
fn the_harness_environment_is_invisible() {
    let Some(sb) = sandbox() else { return };
    let secret = format!("secret-{}", marker());
    // SAFETY: edition 2021; std serialises its own environment access.
    std::env::set_var("FERROCODEX_HOSTILE_SECRET", &secret);
    let src = r#"import os
print(sorted(os.environ))
print(dict(os.environ))
try:
    listed = [p for p in os.listdir('/proc') if p.isdigit()]
except OSError as e:
    listed = []
    print('listing /proc denied', e.errno)
for pid in ['self', '1', str(os.getppid())] + listed:
    try:
        print(pid, open('/proc/%s/environ' % pid, 'rb').read())
    except OSError as e:
        print(pid, 'denied', e.errno)
"#;
    let out = run_hostile(&sb, src, &[], &[], Duration::from_secs(10));
    let stdout = text(&out.stdout);
    assert_eq!(out.termination, Termination::Exited(0), "stderr: {}", text(&out.stderr));
    assert!(stdout.starts_with("['HOME', 'LANG', 'PATH', 'TMPDIR']"), "stdout: {stdout}");
    assert!(!stdout.contains(&secret), "the secret leaked: {stdout}");
    assert!(!text(&out.stderr).contains(&secret));
}

#[test]
fn sockets_to_a_loopback_listener_fail() {
    let Some(sb) = sandbox() else { return };
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    tcp.set_nonblocking(true).unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    let src = r#"import socket, sys
tcp, udp = int(sys.argv[2]), int(sys.argv[3])
try:
    s = socket.create_connection(('127.0.0.1', tcp), timeout=1)
    s.sendall(b'hello')
    print('TCP CONNECTED')
except OSError as e:
    print('tcp blocked', e.errno)
try:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b'hello', ('127.0.0.1', udp))
    print('udp sent')
except OSError as e:
    print('udp blocked', e.errno)
"#;
    let extra = vec![tcp.local_addr().unwrap().port().to_string(), udp.local_addr().unwrap().port().to_string()];
    let out = run_hostile(&sb, src, &extra, &[], Duration::from_secs(10));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("tcp blocked"), "stdout: {stdout} stderr: {}", text(&out.stderr));
    match tcp.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the listener saw a connection: {other:?}"),
    }
    let mut buf = [0u8; 16];
    match udp.recv_from(&mut buf) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the UDP socket received a datagram: {other:?}"),
    }
}

#[test]
fn killing_the_parent_and_the_harness_fails() {
    let Some(sb) = sandbox() else { return };
    let src = r#"import os, signal, sys
harness = int(sys.argv[2])
for pid in (harness, os.getppid()):
    try:
        os.kill(pid, signal.SIGKILL)
        print('killed', pid)
    except OSError as e:
        print('denied', pid, e.errno)
"#;
    let extra = vec![std::process::id().to_string()];
    let out = run_hostile(&sb, src, &extra, &[], Duration::from_secs(10));
    // We are still here, so the harness survived; the program must say so too.
    assert!(text(&out.stdout).starts_with("denied"), "stdout: {}", text(&out.stdout));
    // The harness keeps working after the attempt.
    let again = sb.run(&Program::script("print('still fine')")).unwrap();
    assert_eq!(again.stdout, b"still fine\n");
}

const DETACHED: &str = r#"import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open('grandchild-started', 'w').close()
        time.sleep(60)
    os._exit(0)
for _ in range(200):
    if os.path.exists('grandchild-started'):
        break
    time.sleep(0.01)
print('parent exits, grandchild', 'running' if os.path.exists('grandchild-started') else 'missing')
"#;

#[test]
fn a_detached_child_is_killed() {
    let Some(sb) = sandbox() else { return };
    let out = run_hostile(&sb, DETACHED, &[], &[], Duration::from_secs(10));
    assert_eq!(text(&out.stdout), "parent exits, grandchild running\n");
    assert_eq!(out.termination, Termination::Exited(0));
}

#[test]
fn a_detached_child_is_killed_by_the_subreaper_without_pid_namespace() {
    let layers = Layers { pid_namespace: false, cgroup: false, ..Layers::default() };
    let Some(sb) = sandbox_with(layers) else { return };
    assert!(!sb.isolation().pid_namespace);
    let out = run_hostile(&sb, DETACHED, &[], &[], Duration::from_secs(10));
    assert_eq!(text(&out.stdout), "parent exits, grandchild running\n");
}

#[test]
fn a_stdout_flood_is_capped() {
    let Some(sb) = sandbox() else { return };
    let src = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n";
    let out = run_hostile(&sb, src, &[], &[], Duration::from_secs(1));
    assert_eq!(out.termination, Termination::TimedOut);
    assert_eq!(out.stdout.len(), sb.limits().output_bytes);
    assert!(out.stdout_truncated);
}

#[test]
fn a_recursion_bomb_fails() {
    let Some(sb) = sandbox() else { return };
    let plain = run_hostile(&sb, "def f(n):\n    return f(n + 1)\nf(0)\n", &[], &[], Duration::from_secs(10));
    assert_eq!(plain.termination, Termination::Exited(1));
    assert!(text(&plain.stderr).contains("RecursionError"));
    // With the interpreter's guard lifted the C stack overflows and the process dies.
    let deep = "import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1)\nf(0)\n";
    let out = run_hostile(&sb, deep, &[], &[], Duration::from_secs(10));
    assert!(matches!(out.termination, Termination::Signaled(_) | Termination::Exited(1)), "{:?}", out.termination);
}

#[test]
fn without_isolation_the_sandbox_refuses() {
    let layers = Layers {
        user_namespace: false,
        network_namespace: false,
        pid_namespace: false,
        landlock: false,
        cgroup: false,
    };
    match Sandbox::new(SandboxOptions { layers: layers.clone(), ..SandboxOptions::default() }) {
        Err(SandboxError::NotIsolated { missing, .. }) => {
            assert!(missing.contains("network"), "{missing}");
        }
        Err(SandboxError::NoPython(e)) => eprintln!("SKIPPED: no python3 ({e})"),
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.isolation().summary())),
    }
    // With the explicit override it runs.
    if let Ok(sb) = Sandbox::new(SandboxOptions { layers, allow_unisolated: true, ..SandboxOptions::default() }) {
        assert!(!sb.isolation().is_isolated());
        assert_eq!(sb.run(&Program::script("print(1)")).unwrap().stdout, b"1\n");
    }
}

#[test]
fn the_probe_reports_isolation_on_this_machine() {
    let Some(sb) = sandbox() else { return };
    let iso = sb.isolation();
    eprintln!("{}", iso.summary());
    assert!(iso.network_namespace && iso.filesystem_confined);
    assert!(Path::new(&iso.python).is_absolute());
}
