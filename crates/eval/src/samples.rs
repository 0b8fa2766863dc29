//! Sample files in openai/human-eval's format: one JSON object per line with `task_id` and
//! `completion` (other fields are kept). The results file, `<samples>_results.jsonl`, repeats
//! each sample line in input order with `result` and `passed` added.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::EvalError;

#[derive(Clone, Debug)]
pub struct Sample {
    pub task_id: String,
    pub completion: String,
    /// Mean log-probability of the completion's tokens, when the generator reported it.
    pub mean_logprob: Option<f64>,
    /// The sample's line as read, without the line ending (an object).
    pub raw: String,
}

/// Reads a samples file (JSONL or JSONL.gz). A line cut short at the end of the file (an
/// interrupted writer) is skipped with a warning; any other malformed line is an error.
pub fn read_samples(path: &Path) -> Result<Vec<Sample>, EvalError> {
    let reader = crate::problems::open_maybe_gz(path)?;
    let lines: Vec<String> = reader
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| EvalError::io(path, e))?;
    let last_nonblank = lines.iter().rposition(|l| !l.trim().is_empty());
    let mut samples = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        match parse_sample(line) {
            Ok(s) => samples.push(s),
            Err(message) => {
                let cut_short = Some(i) == last_nonblank && serde_json::from_str::<serde_json::Value>(line).is_err();
                if cut_short {
                    tracing::warn!("{}: line {} is cut short; ignoring it", path.display(), i + 1);
                    continue;
                }
                return Err(EvalError::Malformed { path: path.to_path_buf(), line: i + 1, message });
            }
        }
    }
    Ok(samples)
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let obj = value.as_object().ok_or("not a JSON object")?;
    let task_id = obj
        .get("task_id")
        .and_then(|v| v.as_str())
        .ok_or("missing the string field \"task_id\"")?;
    let completion = obj
        .get("completion")
        .and_then(|v| v.as_str())
        .ok_or("missing the string field \"completion\"")?;
    Ok(Sample {
        task_id: task_id.to_string(),
        completion: completion.to_string(),
        mean_logprob: obj.get("mean_logprob").and_then(|v| v.as_f64()),
        raw: line.trim().to_string(),
    })
}

/// The results file that human-eval writes next to a samples file.
pub fn results_path(samples: &Path) -> PathBuf {
    let mut s = samples.as_os_str().to_os_string();
    s.push("_results.jsonl");
    PathBuf::from(s)
}

/// The sample's own line with `result` and `passed` appended, keeping its fields and order.
pub fn result_line(sample: &Sample, result: &str, passed: bool) -> String {
    let body = sample.raw.trim_end().strip_suffix('}').unwrap_or(&sample.raw).trim_end();
    let sep = if body.trim_end() == "{" { "" } else { ", " };
    format!(
        "{body}{sep}\"result\": {}, \"passed\": {passed}}}",
        serde_json::Value::String(result.to_string())
    )
}

/// A sample line as written by the generator.
pub fn sample_line(task_id: &str, completion: &str, mean_logprob: Option<f64>) -> String {
    let mut line = format!(
        "{{\"task_id\": {}, \"completion\": {}",
        serde_json::Value::String(task_id.into()),
        serde_json::Value::String(completion.into())
    );
    if let Some(lp) = mean_logprob.filter(|v| v.is_finite()) {
        line.push_str(&format!(", \"mean_logprob\": {lp}"));
    }
    line.push('}');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_appends_fields_in_order() {
        let s = parse_sample(r#"{"task_id": "HumanEval/0", "completion": "  return 1\n", "x": 2}"#).unwrap();
        let line = result_line(&s, "failed: oops \"q\"", false);
        assert_eq!(
            line,
            r#"{"task_id": "HumanEval/0", "completion": "  return 1\n", "x": 2, "result": "failed: oops \"q\"", "passed": false}"#
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["passed"], false);
    }

    #[test]
    fn sample_line_round_trips() {
        let line = sample_line("HumanEval/3", "    return \"é\"\n", Some(-0.25));
        let s = parse_sample(&line).unwrap();
        assert_eq!(s.completion, "    return \"é\"\n");
        assert_eq!(s.mean_logprob, Some(-0.25));
    }

    #[test]
    fn malformed_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        std::fs::write(&p, "{\"task_id\": \"a\", \"completion\": \"x\"}\n{\"task_id\": \"b\"}\n{\"task_id\": \"c\", \"completion\": \"y\"}\n").unwrap();
        let err = read_samples(&p).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("completion"), "{err}");
        // A last line cut short by a kill is skipped.
        std::fs::write(&p, "{\"task_id\": \"a\", \"completion\": \"x\"}\n{\"task_id\": \"b\", \"compl").unwrap();
        assert_eq!(read_samples(&p).unwrap().len(), 1);
    }
}
