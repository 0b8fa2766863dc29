//! ## What it does
//! Finds `is` / `is not` comparisons where one side is a literal number, string, bytes,
//! tuple, list, dict or set (`None`, `True`, `False` and `...` are singletons and fine).
//!
//! ## Why is this bad?
//! `is` compares identity. Whether two equal literals are the same object is an accident of
//! the interpreter (small-int caching, string interning); CPython warns with `SyntaxWarning`.
//!
//! ## Example
//! ```python
//! if status is 200:
//!     ...
//! ```
//!
//! Use instead:
//! ```python
//! if status == 200:
//!     ...
//! ```

use ruff_python_ast::{self as ast, CmpOp, Expr};
use ruff_text_size::{Ranged, TextRange};

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct IsLiteral {
    pub negated: bool,
}

impl Violation for IsLiteral {
    fn message(&self) -> String {
        let (op, fix) = if self.negated {
            ("is not", "!=")
        } else {
            ("is", "==")
        };
        format!("`{op}` with a literal compares identity, not value; use `{fix}`")
    }
}

pub(crate) fn check(compare: &ast::ExprCompare, out: &mut Vec<RawFinding>) {
    let mut left = compare.left.as_ref();
    for (op, right) in compare.ops.iter().zip(compare.comparators.iter()) {
        if matches!(op, CmpOp::Is | CmpOp::IsNot) && (is_literal(left) || is_literal(right)) {
            let violation = IsLiteral {
                negated: matches!(op, CmpOp::IsNot),
            };
            out.push(RawFinding::new(
                Rule::IsLiteral,
                violation.message(),
                TextRange::new(left.start(), right.end()),
            ));
        }
        left = right;
    }
}

fn is_literal(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::FString(_)
            | Expr::List(_)
            | Expr::Dict(_)
            | Expr::Set(_)
    ) || matches!(expr, Expr::Tuple(t) if !t.is_empty())
}
