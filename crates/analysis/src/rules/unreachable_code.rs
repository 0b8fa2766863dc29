//! ## What it does
//! Finds statements that no path reaches: after `return`, `raise`, `break`, `continue`,
//! `sys.exit()`, a `while True:` without `break`, or an `if`/`try` all of whose branches
//! leave. One finding per block, on its first dead statement.
//!
//! ## Why is this bad?
//! Dead code never runs; it is either leftover or, worse, code the author believes runs.
//!
//! ## Example
//! ```python
//! def check(x):
//!     return x > 0
//!     print("checked")
//! ```
//!
//! Use instead:
//! ```python
//! def check(x):
//!     print("checked")
//!     return x > 0
//! ```

use ruff_text_size::TextRange;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct UnreachableCode;

impl Violation for UnreachableCode {
    fn message(&self) -> String {
        "This code is unreachable".to_string()
    }
}

pub(crate) fn report(range: TextRange) -> RawFinding {
    RawFinding::new(Rule::UnreachableCode, UnreachableCode.message(), range)
}
