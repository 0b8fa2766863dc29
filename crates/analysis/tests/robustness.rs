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
    assert_eq!(rules, [(2, Rule::UnusedImport), (4, Rule::UnsupportedOperand)]);
}
