//! The official `openai` Python package (pinned in .ci/run) against a real server running the
//! default model: completions with n, best_of, logprobs, echo, stop, suffix, stream and seed;
//! chat completions; errors, auth and limits as the client's own exception types.

mod common;

use std::process::Command;

use common::*;

#[test]
fn official_openai_client() {
    let path = ferrocodex_models::resolve_model(None).expect("the default model (ferrocodex pull)");
    let (srv, keys) = start_local(
        load(&path),
        Options {
            model_id: "gemma-3-270m".into(),
            chat_template: Some(GEMMA_TEMPLATE.into()),
            keys: vec![("client", None, None), ("limited", Some(1), None)],
            ..Default::default()
        },
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openai_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{}", srv.addr))
        .arg("gemma-3-270m")
        .args(&keys)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'openai'"),
        "the openai package is missing: pip install openai==3.57.0 (.ci/run installs it)"
    );
    assert!(
        out.status.success(),
        "openai client checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
