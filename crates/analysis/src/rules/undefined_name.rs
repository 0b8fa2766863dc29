//! ## What it does
//! Finds names that are read but never defined in any enclosing scope, nor builtins, and
//! function locals read before their first assignment on every path (a global of the same
//! name does not help: the assignment makes the name local to the whole function).
//!
//! ## Why is this bad?
//! Reading such a name raises `NameError` (or its subclass `UnboundLocalError`) when the line
//! runs: usually a typo, a missing import, or an assignment that shadows a global.
//!
//! ## Example
//! ```python
//! def area(radius):
//!     return pi * radius ** 2
//! ```
//!
//! Use instead:
//! ```python
//! from math import pi
//!
//! def area(radius):
//!     return pi * radius ** 2
//! ```

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;
use crate::semantic::NameFacts;

pub(crate) struct UndefinedName<'a> {
    pub name: &'a str,
}

impl Violation for UndefinedName<'_> {
    fn message(&self) -> String {
        format!("Name `{}` is not defined", self.name)
    }
}

pub(crate) struct UnboundLocal<'a> {
    pub name: &'a str,
}

impl Violation for UnboundLocal<'_> {
    fn message(&self) -> String {
        format!(
            "Local variable `{}` is read before it is assigned",
            self.name
        )
    }
}

pub(crate) fn report_unbound_local(name: &str, range: ruff_text_size::TextRange) -> RawFinding {
    RawFinding::new(
        Rule::UndefinedName,
        UnboundLocal { name }.message(),
        range,
    )
}

pub(crate) fn check(facts: &NameFacts, out: &mut Vec<RawFinding>) {
    for &(name, range) in &facts.undefined {
        out.push(RawFinding::new(
            Rule::UndefinedName,
            UndefinedName { name }.message(),
            range,
        ));
    }
}
