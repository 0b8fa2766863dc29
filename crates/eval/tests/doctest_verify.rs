//! `--verify doctest`: a completion is checked against the `>>>` examples of its own prompt,
//! in the sandbox, never against the hidden tests.

use std::time::Duration;

use ferrocodex_eval::execution::{check_doctests, DoctestVerdict};
use ferrocodex_eval::problems::Problem;
use ferrocodex_eval::sandbox::{Sandbox, SandboxError, SandboxOptions};

fn problem(prompt: &str) -> Problem {
    Problem {
        task_id: "Toy/0".into(),
        prompt: prompt.into(),
        entry_point: "add".into(),
        // Hidden tests that every completion below would fail: doctest mode must not run them.
        test: "def check(candidate):\n    assert False\n".into(),
        canonical_solution: None,
    }
}

const WITH_EXAMPLES: &str = "def add(a, b):\n    \"\"\"Add two numbers.\n    >>> add(2, 3)\n    5\n    >>> add(-1, 1)\n    0\n    \"\"\"\n";

#[test]
fn examples_in_the_prompt_decide() {
    let sb = match Sandbox::new(SandboxOptions::default()) {
        Ok(s) => s,
        Err(SandboxError::NotIsolated { missing, .. }) => return eprintln!("SKIPPED: no isolation ({missing})"),
        Err(SandboxError::NoPython(e)) => return eprintln!("SKIPPED: no python3 ({e})"),
        Err(e) => panic!("{e}"),
    };
    let t = Duration::from_secs(3);
    let p = problem(WITH_EXAMPLES);
    assert_eq!(check_doctests(&sb, &p, "    return a + b\n", t).unwrap(), DoctestVerdict::Passed);
    match check_doctests(&sb, &p, "    return a - b\n", t).unwrap() {
        DoctestVerdict::Failed(r) => assert_eq!(r, "failed: 2 of 2 examples failed"),
        other => panic!("{other:?}"),
    }
    match check_doctests(&sb, &p, "    return (\n", t).unwrap() {
        DoctestVerdict::Failed(r) => assert!(r.contains("never closed"), "{r}"),
        other => panic!("{other:?}"),
    }
    let looping = check_doctests(&sb, &p, "    while True:\n        pass\n", Duration::from_secs(1)).unwrap();
    assert_eq!(looping, DoctestVerdict::Failed("timed out".into()));
    let plain = problem("def add(a, b):\n    \"\"\"Add two numbers, e.g. add(2, 3) == 5.\"\"\"\n");
    assert_eq!(check_doctests(&sb, &plain, "    return a + b\n", t).unwrap(), DoctestVerdict::NoExamples);
}
