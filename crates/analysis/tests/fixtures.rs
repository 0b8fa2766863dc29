//! Each rule's fixture under `resources/test/fixtures/<CODE>.py` marks the lines where the rule
//! must fire with a `# fires` comment; every other line must stay silent. The exact findings
//! are pinned by snapshots (`cargo insta review` to update them).

use std::collections::BTreeSet;
use std::path::Path;

use ferrocodex_analysis::{review_file_source, Rule};

fn fixture(rule: Rule) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("resources/test/fixtures/{}.py", rule.code()));
    let source = std::fs::read_to_string(&path).expect("fixture exists");
    let findings: Vec<_> = review_file_source(&path, &source)
        .into_iter()
        .filter(|f| f.rule == rule)
        .collect();

    let expected: BTreeSet<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("# fires"))
        .map(|(i, _)| i + 1)
        .collect();
    let actual: BTreeSet<usize> = findings.iter().map(|f| f.start.line).collect();
    if rule != Rule::SyntaxError {
        assert_eq!(
            actual,
            expected,
            "{}: lines with findings vs lines marked `# fires`",
            rule.code()
        );
    }

    let snapshot: String = findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}: {} {}\n",
                f.start.line,
                f.start.column,
                f.rule.code(),
                f.message
            )
        })
        .collect();
    insta::assert_snapshot!(rule.code(), snapshot);
}

macro_rules! fixtures {
    ($($test:ident => $rule:ident,)*) => {
        $( #[test] fn $test() { fixture(Rule::$rule); } )*
    };
}

fixtures! {
    syntax_error => SyntaxError,
    undefined_name => UndefinedName,
    possibly_unbound => PossiblyUnbound,
    call_arguments => CallArguments,
    argument_type => ArgumentType,
    unsupported_operand => UnsupportedOperand,
    unknown_attribute => UnknownAttribute,
    not_callable => NotCallable,
    return_type => ReturnType,
    unreachable_code => UnreachableCode,
    mutable_default => MutableDefault,
    is_literal => IsLiteral,
    missing_await => MissingAwait,
    unused_import => UnusedImport,
    unused_variable => UnusedVariable,
    bare_except => BareExcept,
}
