//! ## What it does
//! Finds attribute reads on a value whose type is known not to have the attribute: methods
//! that builtin types lack (`"s".lenght`), attributes of `None` (including an `Optional`
//! value used without a `None` check), and attributes of the file's own classes that no
//! method sets, with a "did you mean" hint for misspelled `self.` attributes.
//!
//! Classes with unknown bases, metaclasses, decorators other than `dataclass`, or
//! `__getattr__` are never reported; neither are attributes some subclass defines.
//!
//! ## Why is this bad?
//! Python raises `AttributeError` when the line runs.
//!
//! ## Example
//! ```python
//! class User:
//!     def __init__(self, name):
//!         self.name = name
//!
//!     def greet(self):
//!         return "Hi " + self.nmae
//! ```
//!
//! Use instead:
//! ```python
//!     def greet(self):
//!         return "Hi " + self.name
//! ```

use ruff_text_size::TextRange;

use crate::finding::{RawFinding, Rule};
use crate::rules::Violation;

pub(crate) struct UnknownAttribute<'a> {
    pub ty: &'a str,
    pub attr: &'a str,
    pub hint: Option<&'a str>,
    pub possibly: bool,
}

impl Violation for UnknownAttribute<'_> {
    fn message(&self) -> String {
        let what = if self.possibly { "may be" } else { "is" };
        let mut message = format!(
            "`{}` has no attribute `{}` (the value {what} `{}`)",
            self.ty, self.attr, self.ty
        );
        if self.ty == "None" {
            message = if self.possibly {
                format!(
                    "Attribute `{}` read on a value that may be `None`",
                    self.attr
                )
            } else {
                format!("`None` has no attribute `{}`", self.attr)
            };
        } else if !self.possibly {
            message = format!("`{}` has no attribute `{}`", self.ty, self.attr);
        }
        if let Some(hint) = self.hint {
            message.push_str(&format!("; did you mean `{hint}`?"));
        }
        message
    }
}

pub(crate) fn report(
    ty: &str,
    attr: &str,
    hint: Option<&str>,
    possibly: bool,
    range: TextRange,
) -> RawFinding {
    RawFinding::new(
        Rule::UnknownAttribute,
        UnknownAttribute {
            ty,
            attr,
            hint,
            possibly,
        }
        .message(),
        range,
    )
}
