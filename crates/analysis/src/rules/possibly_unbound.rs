//! ## What it does
//! Finds reads of a variable that is assigned on some paths to the read but not all of them
//! (inside an `if` without `else`, a loop that may not run, a `try` body), or a local that is
//! read before its first assignment while a global of the same name exists.
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
    /// Unbound on every path (a local shadowing a global, read before assignment).
    pub surely: bool,
}

impl Violation for PossiblyUnbound<'_> {
    fn message(&self) -> String {
        if self.surely {
            format!(
                "Local variable `{}` is read before it is assigned",
                self.name
            )
        } else {
            format!("Name `{}` is possibly unbound", self.name)
        }
    }
}

pub(crate) fn report(name: &str, range: TextRange, surely: bool) -> RawFinding {
    RawFinding::new(
        Rule::PossiblyUnbound,
        PossiblyUnbound { name, surely }.message(),
        range,
    )
}
