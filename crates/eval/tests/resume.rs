//! Resumability: a scorer killed midway loses at most the samples in flight, and running it
//! again finishes the rest without redoing what was journaled.
//!
//! The scorer to kill is this test binary itself, re-run on the `child_scorer` test with an
//! environment variable naming the files (a test binary has no other entry point).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ferrocodex_eval::problems::load_problems;
use ferrocodex_eval::samples::{results_path, sample_line};
use ferrocodex_eval::sandbox::{Sandbox, SandboxError, SandboxOptions};
use ferrocodex_eval::score::{score_file, ScoreOptions};

const CHILD_ENV: &str = "FERROCODEX_RESUME_CHILD";
const SAMPLES: usize = 16;

fn sandbox() -> Option<Sandbox> {
    match Sandbox::new(SandboxOptions::default()) {
        Ok(s) => Some(s),
        Err(SandboxError::NoPython(e)) => {
            eprintln!("SKIPPED: no python3 ({e})");
            None
        }
        Err(SandboxError::NotIsolated { missing, .. }) => {
            eprintln!("SKIPPED: this machine grants no sandbox isolation ({missing})");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// A problem set and samples where sample i passes iff i is even; each takes a moment.
fn write_fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let problems = dir.join("problems.jsonl");
    let mut p = String::new();
    for t in 0..4 {
        p += &serde_json::json!({
            "task_id": format!("Toy/{t}"),
            "prompt": "def identity(x):\n",
            "entry_point": "identity",
            "test": "def check(candidate):\n    assert candidate(3) == 3\n",
        })
        .to_string();
        p.push('\n');
    }
    std::fs::write(&problems, p).unwrap();
    let samples = dir.join("samples.jsonl");
    let mut s = String::new();
    for i in 0..SAMPLES {
        let body = if i % 2 == 0 { "x" } else { "x + 1" };
        let completion = format!("    import time\n    time.sleep(0.3)\n    return {body}\n");
        s += &sample_line(&format!("Toy/{}", i % 4), &completion, None);
        s.push('\n');
    }
    std::fs::write(&samples, s).unwrap();
    (problems, samples)
}

#[test]
#[ignore = "the process that resume_after_kill starts and kills"]
fn child_scorer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (problems, samples) = spec.split_once('\n').unwrap();
    let sb = Sandbox::new(SandboxOptions::default()).unwrap();
    let problems = load_problems(Path::new(problems)).unwrap();
    let opts = ScoreOptions { workers: 1, ..ScoreOptions::default() };
    score_file(Path::new(samples), &problems, &sb, &opts, &|_, _| {}).unwrap();
}

fn journal_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().filter(|l| l.ends_with('}')).count())
}

#[test]
fn resume_after_kill() {
    if sandbox().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (problems_path, samples_path) = write_fixture(dir.path());
    let results = results_path(&samples_path);
    let journal = PathBuf::from(format!("{}.partial", results.display()));

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_scorer", "--exact", "--ignored", "--test-threads=1"])
        .env(CHILD_ENV, format!("{}\n{}", problems_path.display(), samples_path.display()))
        .spawn()
        .unwrap();
    // Kill it once a few verdicts are journaled (however slow the machine is).
    let start = Instant::now();
    while journal_lines(&journal) < 3 {
        assert!(start.elapsed() < Duration::from_secs(120), "the child scorer made no progress");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child scorer ended early: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let child_pid = child.id();
    let journaled = journal_lines(&journal);
    assert!(journaled >= 3 && journaled < SAMPLES, "journaled {journaled}");
    assert!(!results.exists(), "the results file must only appear when all samples are done");

    // Run again: it continues from the journal.
    let sb = sandbox().expect("the sandbox worked a moment ago");
    let problems = load_problems(&problems_path).unwrap();
    let opts = ScoreOptions { workers: 2, ..ScoreOptions::default() };
    let report = score_file(&samples_path, &problems, &sb, &opts, &|_, _| {}).unwrap();
    assert_eq!(report.resumed, journaled, "every journaled verdict is reused, nothing more");
    for (i, (result, passed)) in report.verdicts.iter().enumerate() {
        assert_eq!(*passed, i % 2 == 0, "sample {i}: {result}");
    }
    assert!(results.exists() && !journal.exists());
    let lines = std::fs::read_to_string(&results).unwrap();
    assert_eq!(lines.lines().count(), SAMPLES);
    // pass@1 per problem is 1/2 (two of four samples pass).
    assert!((report.tally.mean_pass_at(1) - 0.5).abs() < 1e-12);

    // A third run reuses the finished results file.
    let again = score_file(&samples_path, &problems, &sb, &opts, &|_, _| {}).unwrap();
    assert_eq!(again.resumed, SAMPLES);
    assert_eq!(again.verdicts, report.verdicts);

    // What the killed scorer had in flight is swept by the next sandbox.
    let prefix = format!("ferrocodex-sandbox-{child_pid}-");
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "work directories of the killed scorer remain: {left:?}");
    let cgroups = std::fs::read_dir("/sys/fs/cgroup/pids")
        .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(&prefix)).count())
        .unwrap_or(0);
    assert_eq!(cgroups, 0, "cgroups of the killed scorer remain");
}
