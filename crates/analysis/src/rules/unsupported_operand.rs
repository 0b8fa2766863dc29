//! ## What it does
//! Finds binary operators applied to operand types that do not support them: `"a" + 1`,
//! `None * 2`, a `list` minus a `list`, an instance of a class that defines no such operator.
//! A union is reported when every member fails, or when its `None` member does (`Optional`
//! used without a check).
//!
//! ## Why is this bad?
//! Python raises `TypeError` when the expression runs.
//!
//! ## Example
//! ```python
//! count = 3
//! label = "items: " + count
//! ```
//!
//! Use instead:
//! ```python
//! label = "items: " + str(count)
//! ```

use ruff_python_ast::Operator;
use ruff_text_size::TextRange;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct UnsupportedOperand<'a> {
    pub op: Operator,
    pub left: &'a str,
    pub right: &'a str,
    pub in_union: bool,
}

impl Violation for UnsupportedOperand<'_> {
    fn message(&self) -> String {
        let possibly = if self.in_union {
            " (possible operand types)"
        } else {
            ""
        };
        format!(
            "Unsupported operand types for `{}`: `{}` and `{}`{possibly}",
            self.op.as_str(),
            self.left,
            self.right
        )
    }
}

pub(crate) fn report(
    op: Operator,
    left: &str,
    right: &str,
    in_union: bool,
    range: TextRange,
) -> RawFinding {
    RawFinding::new(
        Rule::UnsupportedOperand,
        UnsupportedOperand {
            op,
            left,
            right,
            in_union,
        }
        .message(),
        range,
    )
}
