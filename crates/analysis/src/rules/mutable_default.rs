//! ## What it does
//! Finds parameter defaults that are mutable values: list, dict and set displays and
//! comprehensions, and calls of `list()`, `dict()`, `set()`, `bytearray()`.
//!
//! ## Why is this bad?
//! A default is evaluated once, when the function is defined; every call that mutates it
//! changes the default for the calls after it.
//!
//! ## Example
//! ```python
//! def add(item, bucket=[]):
//!     bucket.append(item)
//!     return bucket
//! ```
//!
//! Use instead:
//! ```python
//! def add(item, bucket=None):
//!     if bucket is None:
//!         bucket = []
//!     bucket.append(item)
//!     return bucket
//! ```

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct MutableDefault<'a> {
    pub param: &'a str,
}

impl Violation for MutableDefault<'_> {
    fn message(&self) -> String {
        format!("Mutable default for parameter `{}` is shared between calls; use `None` and create it inside", self.param)
    }
}

pub(crate) fn check(function: &ast::StmtFunctionDef, out: &mut Vec<RawFinding>) {
    for param in function.parameters.iter_non_variadic_params() {
        let Some(default) = &param.default else {
            continue;
        };
        if !is_mutable(default) {
            continue;
        }
        let violation = MutableDefault {
            param: param.parameter.name.as_str(),
        };
        out.push(RawFinding::new(
            Rule::MutableDefault,
            violation.message(),
            default.range(),
        ));
    }
}

fn is_mutable(expr: &Expr) -> bool {
    match expr {
        Expr::List(_)
        | Expr::Dict(_)
        | Expr::Set(_)
        | Expr::ListComp(_)
        | Expr::DictComp(_)
        | Expr::SetComp(_) => true,
        Expr::Call(call) => {
            call.arguments.is_empty()
                && matches!(call.func.as_ref(), Expr::Name(n) if matches!(n.id.as_str(), "list" | "dict" | "set" | "bytearray"))
        }
        _ => false,
    }
}
