//! ## What it does
//! Finds calls of values that cannot be called: numbers, strings, containers, `None`,
//! modules, and instances of the file's classes that define no `__call__`.
//!
//! ## Why is this bad?
//! Python raises `TypeError: '...' object is not callable`. The usual cause is a name that
//! shadows a function, or a property called like a method.
//!
//! ## Example
//! ```python
//! total = 10
//! total(3)
//! ```
//!
//! Use instead:
//! ```python
//! total = 10
//! total * 3
//! ```

use ruff_text_size::TextRange;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct NotCallable<'a> {
    pub ty: &'a str,
}

impl Violation for NotCallable<'_> {
    fn message(&self) -> String {
        format!("Object of type `{}` is not callable", self.ty)
    }
}

pub(crate) fn report(ty: &str, range: TextRange) -> RawFinding {
    RawFinding::new(Rule::NotCallable, NotCallable { ty }.message(), range)
}
