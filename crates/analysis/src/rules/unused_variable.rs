//! ## What it does
//! Finds local variables of a function that are assigned and never read.
//!
//! Names starting with `_`, unpacking targets, `global`/`nonlocal` names and functions that
//! call `locals()` are left alone.
//!
//! ## Why is this bad?
//! The assignment is dead code, and often a sign that the value was meant to be used (a
//! result that is computed and then forgotten).
//!
//! ## Example
//! ```python
//! def total(items):
//!     result = sum(items)
//!     return sum(items)
//! ```
//!
//! Use instead:
//! ```python
//! def total(items):
//!     return sum(items)
//! ```

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;
use crate::semantic::NameFacts;

pub(crate) struct UnusedVariable<'a> {
    pub name: &'a str,
}

impl Violation for UnusedVariable<'_> {
    fn message(&self) -> String {
        format!(
            "Local variable `{}` is assigned to but never used",
            self.name
        )
    }
}

pub(crate) fn check(facts: &NameFacts, out: &mut Vec<RawFinding>) {
    for &(name, range) in &facts.unused_variables {
        out.push(RawFinding::new(
            Rule::UnusedVariable,
            UnusedVariable { name }.message(),
            range,
        ));
    }
}
