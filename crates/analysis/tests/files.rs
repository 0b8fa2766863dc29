//! Walking folders: `.gitignore` is respected, and files that are not reviewable are skipped
//! with a reason while the others are still reviewed.

use ferrocodex_analysis::{review_paths, ReviewOptions, SkipReason, MAX_FILE_BYTES};

#[test]
fn gitignore_is_respected_and_bad_files_are_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::write(root.join(".gitignore"), "generated/\n").expect("write");
    std::fs::create_dir(root.join("generated")).expect("mkdir");
    std::fs::write(root.join("generated/out.py"), "print(undefined)\n").expect("write");
    std::fs::write(root.join("app.py"), "print(missing_name)\n").expect("write");
    std::fs::write(root.join("latin1.py"), b"x = '\xe9'\n").expect("write");
    std::fs::write(root.join("huge.py"), vec![b'#'; MAX_FILE_BYTES as usize + 1]).expect("write");
    std::fs::write(root.join("notes.txt"), "not python").expect("write");

    let report = review_paths(&[root.to_path_buf()], &ReviewOptions::default());
    let reviewed: Vec<_> = report.files.iter().map(|f| f.path.file_name().unwrap_or_default().to_owned()).collect();
    assert_eq!(reviewed, ["app.py"]);
    assert_eq!(report.files[0].findings.len(), 1);

    let mut reasons: Vec<_> = report.skipped.iter().map(|s| s.reason.clone()).collect();
    reasons.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(reasons, [SkipReason::NotUtf8, SkipReason::TooLarge(MAX_FILE_BYTES + 1)]);

    let all = review_paths(&[root.to_path_buf()], &ReviewOptions { respect_gitignore: false, ..ReviewOptions::default() });
    assert!(all.files.iter().any(|f| f.path.ends_with("generated/out.py")));
}
