//! The front end never panics: random bytes, truncated and mutated real sources, deep nesting.

use ferrocodex_analysis::review_source;
use proptest::prelude::*;

const SEED_SOURCE: &str = include_str!("../resources/test/fixtures/FCR006.py");

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn random_text_does_not_panic(text in "\\PC{0,300}") {
        let _ = review_source(&text);
    }

    #[test]
    fn python_like_tokens_do_not_panic(tokens in proptest::collection::vec(
        prop_oneof![
            Just("def "), Just("class "), Just("x"), Just("self"), Just("."), Just("("), Just(")"),
            Just(":"), Just("\n"), Just("    "), Just("return "), Just("if "), Just("else"), Just("None"),
            Just("="), Just("+"), Just("1"), Just("\"s\""), Just("await "), Just("async "), Just("for "),
            Just(" in "), Just("while "), Just("try"), Just("except"), Just("import "), Just("lambda "),
            Just("["), Just("]"), Just(","), Just("*"), Just("**"), Just(":="), Just("is "), Just("not "),
        ], 0..80)) {
        let _ = review_source(&tokens.concat());
    }

    #[test]
    fn mutated_fixture_does_not_panic(cut in 0usize..2000, len in 0usize..40, insert in "\\PC{0,8}") {
        let mut text = SEED_SOURCE.to_string();
        let mut start = cut.min(text.len());
        while !text.is_char_boundary(start) { start -= 1; }
        let mut end = (start + len).min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        text.replace_range(start..end, &insert);
        let _ = review_source(&text);
    }
}

#[test]
fn deep_nesting_does_not_panic() {
    let expr = format!("x = {}1{}\n", "(".repeat(200), ")".repeat(200));
    let _ = review_source(&expr);
    let mut ifs = String::new();
    for depth in 0..60 {
        ifs.push_str(&"    ".repeat(depth));
        ifs.push_str("if x:\n");
    }
    ifs.push_str(&"    ".repeat(60));
    ifs.push_str("pass\n");
    let _ = review_source(&ifs);
}

#[test]
fn syntax_error_is_a_finding_with_a_location() {
    let findings = review_source("x = 1\ndef broken(:\n");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, ferrocodex_analysis::Rule::SyntaxError);
    assert_eq!(findings[0].start.line, 2);
}

#[test]
fn suppression_comments_silence_findings() {
    use ferrocodex_analysis::Rule;
    let source = "import os  # noqa: FCR013\nimport sys  # noqa: FCR001\nx = 1 + 'a'  # type: ignore\ny = 2 + 'b'\n";
    let findings = review_source(source);
    let rules: Vec<(usize, Rule)> = findings.iter().map(|f| (f.start.line, f.rule)).collect();
    assert_eq!(
        rules,
        [(2, Rule::UnusedImport), (4, Rule::UnsupportedOperand)]
    );
}

/// Every shape the parser recurses on, at depths 10^3 to 10^6: one FCR000 finding that names
/// the nesting, no crash (these overflowed the stack before the depth bound), and quickly.
#[test]
fn hostile_nesting_is_one_finding_not_a_crash() {
    use ferrocodex_analysis::Rule;
    let shapes: [(&str, &str, &str); 9] = [
        ("x = ", "-", "1"),
        ("x = ", "[", ""),
        ("x = ", "1+", "1"),
        ("x = f", "()", ""),
        ("x = a", "[0]", ""),
        ("x = ", "{1:", ""),
        ("x = ", "not ", "x"),
        ("x = a", ".b", ""),
        ("x = ", "(", ""),
    ];
    for depth in [1_000, 10_000, 100_000, 1_000_000] {
        for (head, link, tail) in shapes {
            let code = format!("{head}{}{tail}\n", link.repeat(depth));
            let started = std::time::Instant::now();
            let findings = review_source(&code);
            let took = started.elapsed();
            assert_eq!(findings.len(), 1, "{link:?} x {depth}: {findings:?}");
            assert_eq!(findings[0].rule, Rule::SyntaxError);
            assert!(
                findings[0].message.contains("Nesting deeper than"),
                "{:?}",
                findings[0]
            );
            assert!(took.as_secs() < 5, "{link:?} x {depth} took {took:?}");
        }
    }
}

/// A 10,000-link attribute chain took 7.5 s (quadratic); it is now refused by the linear scan.
#[test]
fn long_attribute_chain_is_quick() {
    let code = format!("x = a{}\n", ".b".repeat(10_000));
    let started = std::time::Instant::now();
    let findings = review_source(&code);
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    assert_eq!(findings.len(), 1);
}

/// Nesting just under the bound is still analysed, on a caller with a small stack.
#[test]
fn nesting_under_the_bound_is_analysed_from_a_small_stack() {
    let code = format!(
        "x = {}1{}\nundefined_name\n",
        "(".repeat(150),
        ")".repeat(150)
    );
    let findings = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || review_source(&code))
        .expect("thread")
        .join()
        .expect("no panic");
    assert!(
        findings.iter().any(|f| f.rule.code() != "FCR000"),
        "{findings:?}"
    );
}
