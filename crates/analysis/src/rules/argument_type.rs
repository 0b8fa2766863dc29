//! ## What it does
//! Compares the type of each argument, as far as inference knows it, with the annotation of
//! the parameter it binds to (functions, methods and constructors of the file; a few
//! standard-library functions such as `math.sqrt` and `len`).
//!
//! Arguments whose type is not known are never reported.
//!
//! ## Why is this bad?
//! The function receives a value it was not written for; the failure shows up later, far from
//! the call.
//!
//! ## Example
//! ```python
//! def repeat(text: str, times: int) -> str:
//!     return text * times
//!
//! repeat("ab", "3")
//! ```
//!
//! Use instead:
//! ```python
//! repeat("ab", 3)
//! ```

use ruff_text_size::TextRange;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct ArgumentType<'a> {
    pub callee: &'a str,
    pub param: &'a str,
    pub expected: &'a str,
    pub actual: &'a str,
}

impl Violation for ArgumentType<'_> {
    fn message(&self) -> String {
        format!(
            "Argument `{}` of `{}` expects `{}`, got `{}`",
            self.param, self.callee, self.expected, self.actual
        )
    }
}

pub(crate) fn report(
    callee: &str,
    param: &str,
    expected: &str,
    actual: &str,
    range: TextRange,
) -> RawFinding {
    RawFinding::new(
        Rule::ArgumentType,
        ArgumentType {
            callee,
            param,
            expected,
            actual,
        }
        .message(),
        range,
    )
}
