//! ## What it does
//! Compares each `return` of a function that has a return annotation with the annotation: a
//! value of another type, or a bare `return` where `None` is not allowed. Generators and stub
//! bodies are not checked.
//!
//! ## Why is this bad?
//! Callers trust the annotation; a value of another type breaks them far from the cause.
//!
//! ## Example
//! ```python
//! def parse_port(text: str) -> int:
//!     return text.strip()
//! ```
//!
//! Use instead:
//! ```python
//! def parse_port(text: str) -> int:
//!     return int(text.strip())
//! ```

use ruff_text_size::TextRange;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct ReturnType<'a> {
    pub actual: &'a str,
    pub declared: &'a str,
    pub bare: bool,
}

impl Violation for ReturnType<'_> {
    fn message(&self) -> String {
        if self.bare {
            format!(
                "Bare `return` in a function declared to return `{}`",
                self.declared
            )
        } else {
            format!(
                "Returned `{}` does not match the declared return type `{}`",
                self.actual, self.declared
            )
        }
    }
}

pub(crate) fn report(range: TextRange, actual: &str, declared: &str, bare: bool) -> RawFinding {
    RawFinding::new(
        Rule::ReturnType,
        ReturnType {
            actual,
            declared,
            bare,
        }
        .message(),
        range,
    )
}
