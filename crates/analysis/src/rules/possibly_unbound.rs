//! ## What it does
//! Finds reads of a variable that is assigned on some paths to the read but not all of them
//! (inside an `if` without `else`, a loop that may not run, a `try` body), and reads in a loop
//! of a name that the loop only binds further down (the first iteration fails, later ones may
//! not). A read that fails on every path is an undefined name (FCR001) instead.
//!
//! ## Why is this bad?
//! On the path that skips the assignment, the read raises `UnboundLocalError` (or `NameError`
//! at module level).
//!
//! ## Example
//! ```python
//! def describe(n):
//!     if n > 0:
//!         sign = "positive"
//!     return sign
//! ```
//!
//! Use instead:
//! ```python
//! def describe(n):
//!     sign = "non-positive"
//!     if n > 0:
//!         sign = "positive"
//!     return sign
//! ```

use ruff_text_size::TextRange;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct PossiblyUnbound<'a> {
    pub name: &'a str,
}

impl Violation for PossiblyUnbound<'_> {
    fn message(&self) -> String {
        format!("Name `{}` is possibly unbound", self.name)
    }
}

pub(crate) fn report(name: &str, range: TextRange) -> RawFinding {
    RawFinding::new(
        Rule::PossiblyUnbound,
        PossiblyUnbound { name }.message(),
        range,
    )
}

/// Reports the names of `NameFacts::possibly_unbound` (loop bodies reading ahead).
pub(crate) fn check(facts: &crate::semantic::NameFacts, out: &mut Vec<RawFinding>) {
    for &(name, range) in &facts.possibly_unbound {
        out.push(report(name, range));
    }
}
