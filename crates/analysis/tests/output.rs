//! The three output formats, pinned by snapshots on a small report, plus checks of the SARIF
//! fields GitHub code scanning needs.

use std::path::{Path, PathBuf};

use ferrocodex_analysis::{output, review_file_source, FileReview, Report};

fn sample() -> Report {
    let source = "import os\n\ndef f(x: int) -> str:\n    return x + \"a\"\n".to_string();
    let path = PathBuf::from("src/app.py");
    let findings = review_file_source(&path, &source);
    Report {
        files: vec![FileReview {
            path,
            findings,
            lines: 4,
            source,
        }],
        skipped: vec![],
    }
}

#[test]
fn human_output() {
    insta::assert_snapshot!(output::human(&sample(), None));
}

#[test]
fn json_output() {
    insta::assert_snapshot!(output::json(&sample(), None));
}

#[test]
fn sarif_output() {
    let text = output::sarif(&sample(), Path::new("."), None);
    let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        assert!(r["ruleId"].as_str().is_some_and(|id| id.starts_with("FCR")));
        assert!(r["partialFingerprints"]
            .as_object()
            .is_some_and(|m| !m.is_empty()));
        assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .is_some());
    }
    insta::assert_snapshot!(text);
}

#[test]
fn explanations_are_marked_as_the_models() {
    let report = sample();
    let explanations = vec![report.files[0]
        .findings
        .iter()
        .map(|_| Some("Convert x first.".to_string()))
        .collect()];
    let text = output::human(&report, Some(&explanations));
    assert!(text.contains("model explanation (generated, may be wrong)"));
    let json = output::json(&report, Some(&explanations));
    assert!(json.contains("\"source\": \"model\""));
}
