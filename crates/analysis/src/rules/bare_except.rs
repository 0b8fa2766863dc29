//! ## What it does
//! Finds `except:` clauses without an exception type whose body does not re-raise.
//!
//! ## Why is this bad?
//! A bare `except:` also catches `KeyboardInterrupt`, `SystemExit` and `GeneratorExit`: the
//! program cannot be stopped with Ctrl-C there, and real bugs vanish silently.
//!
//! ## Example
//! ```python
//! try:
//!     config = load()
//! except:
//!     config = {}
//! ```
//!
//! Use instead:
//! ```python
//! try:
//!     config = load()
//! except (OSError, ValueError):
//!     config = {}
//! ```

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Stmt};
use ruff_text_size::{TextRange, TextSize};

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct BareExcept;

impl Violation for BareExcept {
    fn message(&self) -> String {
        "Bare `except:` swallows every exception, including KeyboardInterrupt; name the exceptions"
            .to_string()
    }
}

pub(crate) fn check(handler: &ast::ExceptHandlerExceptHandler, out: &mut Vec<RawFinding>) {
    if handler.type_.is_some() {
        return;
    }
    let mut raises = ReRaise(false);
    raises.visit_body(&handler.body);
    if raises.0 {
        return;
    }
    // Point at the `except` keyword itself.
    let start = handler.range.start();
    let range = TextRange::new(start, start + TextSize::from(6));
    out.push(RawFinding::new(
        Rule::BareExcept,
        BareExcept.message(),
        range,
    ));
}

struct ReRaise(bool);

impl<'a> Visitor<'a> for ReRaise {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Raise(_) => self.0 = true,
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            _ => visitor::walk_stmt(self, stmt),
        }
    }
}
