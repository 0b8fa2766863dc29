//! ## What it does
//! Finds names that are read but never defined in any enclosing scope, nor builtins.
//!
//! ## Why is this bad?
//! Reading such a name raises `NameError` when the line runs: usually a typo or a missing
//! import.
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

pub(crate) fn check(facts: &NameFacts, out: &mut Vec<RawFinding>) {
    for &(name, range) in &facts.undefined {
        out.push(RawFinding::new(
            Rule::UndefinedName,
            UndefinedName { name }.message(),
            range,
        ));
    }
}
