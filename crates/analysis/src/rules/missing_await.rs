//! ## What it does
//! Finds calls of `async def` functions (and `asyncio.sleep`) whose coroutine is dropped: the
//! call is a statement of its own, without `await`.
//!
//! ## Why is this bad?
//! The coroutine's body never runs; Python only warns "coroutine ... was never awaited" when
//! it is garbage-collected.
//!
//! ## Example
//! ```python
//! async def save(record): ...
//!
//! async def main(record):
//!     save(record)
//! ```
//!
//! Use instead:
//! ```python
//! async def main(record):
//!     await save(record)
//! ```

use ruff_python_ast as ast;
use ruff_text_size::Ranged;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct MissingAwait {
    pub callee: String,
}

impl Violation for MissingAwait {
    fn message(&self) -> String {
        format!("Coroutine returned by `{}` is never awaited", self.callee)
    }
}

pub(crate) fn report(call: &ast::ExprCall) -> RawFinding {
    let callee = match call.func.as_ref() {
        ast::Expr::Name(n) => n.id.to_string(),
        ast::Expr::Attribute(a) => a.attr.to_string(),
        _ => "call".to_string(),
    };
    RawFinding::new(
        Rule::MissingAwait,
        MissingAwait { callee }.message(),
        call.range(),
    )
}
