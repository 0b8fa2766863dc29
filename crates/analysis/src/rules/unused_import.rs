//! ## What it does
//! Finds imported names that nothing in the file reads.
//!
//! Imports in `__init__.py`, re-exports (`import a as a`, names in `__all__`), imports inside
//! `try` blocks (availability probes) and names mentioned in string annotations are left alone.
//!
//! ## Why is this bad?
//! Unused imports slow start-up, can create import cycles and mislead readers about what a
//! module depends on.
//!
//! ## Example
//! ```python
//! import os
//! import sys
//!
//! print(sys.argv)
//! ```
//!
//! Use instead:
//! ```python
//! import sys
//!
//! print(sys.argv)
//! ```

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;
use crate::semantic::NameFacts;

pub(crate) struct UnusedImport<'a> {
    pub qualified: &'a str,
}

impl Violation for UnusedImport<'_> {
    fn message(&self) -> String {
        format!("`{}` imported but unused", self.qualified)
    }
}

pub(crate) fn check(facts: &NameFacts, out: &mut Vec<RawFinding>) {
    for (_, qualified, range) in &facts.unused_imports {
        out.push(RawFinding::new(
            Rule::UnusedImport,
            UnusedImport { qualified }.message(),
            *range,
        ));
    }
}
