//! What a review reports: the rule registry, findings and their locations.

use serde::Serialize;

/// How serious a finding is. Errors are bugs that fail at run time; warnings are likely bugs
/// or dead code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! rules {
    ($( $variant:ident => ($code:literal, $name:literal, $severity:ident, $summary:literal), )*) => {
        /// Every rule the reviewer knows. The code (`FCR001`) and the name are stable: tools
        /// that track findings across runs (SARIF consumers, suppressions) key on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule { $( $variant, )* }

        impl Rule {
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )* ];

            /// The stable code, e.g. `FCR001`.
            pub fn code(self) -> &'static str { match self { $( Rule::$variant => $code, )* } }
            /// The stable kebab-case name, e.g. `undefined-name`.
            pub fn name(self) -> &'static str { match self { $( Rule::$variant => $name, )* } }
            pub fn severity(self) -> Severity { match self { $( Rule::$variant => Severity::$severity, )* } }
            /// One sentence saying what the rule finds.
            pub fn summary(self) -> &'static str { match self { $( Rule::$variant => $summary, )* } }
        }
    };
}

rules! {
    SyntaxError => ("FCR000", "syntax-error", Error, "The file does not parse as Python."),
    UndefinedName => ("FCR001", "undefined-name", Error, "A name is used that is never defined."),
    PossiblyUnbound => ("FCR002", "possibly-unbound", Error, "A variable may be read before it is assigned on some path."),
    CallArguments => ("FCR003", "call-arguments", Error, "A call passes missing, extra or unknown arguments."),
    ArgumentType => ("FCR004", "argument-type", Error, "An argument's type does not match the parameter's annotation."),
    UnsupportedOperand => ("FCR005", "unsupported-operand", Error, "A binary operator is applied to types that do not support it."),
    UnknownAttribute => ("FCR006", "unknown-attribute", Error, "An attribute is accessed that the value's type does not have."),
    NotCallable => ("FCR007", "not-callable", Error, "A value that is not callable is called."),
    ReturnType => ("FCR008", "return-type", Error, "A returned value does not match the function's return annotation."),
    UnreachableCode => ("FCR009", "unreachable-code", Warning, "Code follows a statement that always leaves the block."),
    MutableDefault => ("FCR010", "mutable-default", Warning, "A parameter default is a mutable value shared between calls."),
    IsLiteral => ("FCR011", "is-literal", Error, "`is` compares identity with a literal, whose identity is not guaranteed."),
    MissingAwait => ("FCR012", "missing-await", Error, "A coroutine is created and never awaited."),
    UnusedImport => ("FCR013", "unused-import", Warning, "An imported name is never used."),
    UnusedVariable => ("FCR014", "unused-variable", Warning, "A local variable is assigned and never read."),
    BareExcept => ("FCR015", "bare-except", Warning, "A bare `except:` swallows every exception, including KeyboardInterrupt."),
}

impl Rule {
    /// Whether the rule judges what code does when it runs (names, types, calls). Such
    /// findings are dropped in code that cannot run, or may not: after a statement that always
    /// leaves the block, in a branch whose condition is statically false, in functions marked
    /// `@no_type_check`. Style and dead-code rules still apply there.
    pub fn judges_running_code(self) -> bool {
        matches!(
            self,
            Rule::UndefinedName
                | Rule::PossiblyUnbound
                | Rule::CallArguments
                | Rule::ArgumentType
                | Rule::UnsupportedOperand
                | Rule::UnknownAttribute
                | Rule::NotCallable
                | Rule::ReturnType
                | Rule::MissingAwait
        )
    }

    /// Looks a rule up by code or name.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.code() == id || r.name() == id)
    }
}

/// A position in a file, one-based; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One problem found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    #[serde(serialize_with = "ser_rule_code")]
    pub rule: Rule,
    pub message: String,
    pub start: Position,
    pub end: Position,
    /// Byte offsets of the range in the file.
    #[serde(skip)]
    pub offset: (usize, usize),
}

fn ser_rule_code<S: serde::Serializer>(rule: &Rule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rule.code())
}

/// A finding before its byte range has been turned into lines and columns.
#[derive(Debug, Clone)]
pub(crate) struct RawFinding {
    pub rule: Rule,
    pub message: String,
    pub start: usize,
    pub end: usize,
}

impl RawFinding {
    pub fn new(rule: Rule, message: impl Into<String>, range: ruff_text_size::TextRange) -> Self {
        RawFinding {
            rule,
            message: message.into(),
            start: range.start().to_usize(),
            end: range.end().to_usize(),
        }
    }
}
