//! ## What it does
//! Checks each call of a function, method or class defined in the file (and of a few
//! builtins) against its signature: arguments that are missing, too many positional
//! arguments, unknown keywords, and a parameter given twice.
//!
//! Calls that unpack (`*args`, `**kwargs`) and functions with unknown decorators are not
//! checked: their real signature is not visible.
//!
//! ## Why is this bad?
//! Python raises `TypeError` at the call.
//!
//! ## Example
//! ```python
//! def greet(name, greeting):
//!     return f"{greeting}, {name}"
//!
//! greet("Ada")
//! ```
//!
//! Use instead:
//! ```python
//! greet("Ada", "Hello")
//! ```

use ruff_python_ast as ast;
use ruff_text_size::{Ranged, TextRange};

use crate::finding::{RawFinding, Rule};
use crate::model::{Param, ParamKind};
use crate::rules::Violation;

pub(crate) enum CallArguments<'a> {
    Missing {
        callee: &'a str,
        names: Vec<&'a str>,
    },
    TooMany {
        callee: &'a str,
        expected: usize,
        given: usize,
    },
    UnknownKeyword {
        callee: &'a str,
        keyword: &'a str,
    },
    Duplicate {
        callee: &'a str,
        name: &'a str,
    },
    Count {
        callee: &'a str,
        min: usize,
        max: Option<usize>,
        given: usize,
    },
}

impl Violation for CallArguments<'_> {
    fn message(&self) -> String {
        match self {
            CallArguments::Missing { callee, names } => {
                let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                let noun = if names.len() == 1 {
                    "argument"
                } else {
                    "arguments"
                };
                format!("Missing {noun} {} in call to `{callee}`", list.join(", "))
            }
            CallArguments::TooMany {
                callee,
                expected,
                given,
            } => {
                format!(
                    "`{callee}` takes {expected} positional argument{} but {given} were given",
                    plural(*expected)
                )
            }
            CallArguments::UnknownKeyword { callee, keyword } => {
                format!("`{callee}` got an unexpected keyword argument `{keyword}`")
            }
            CallArguments::Duplicate { callee, name } => {
                format!("`{callee}` got multiple values for argument `{name}`")
            }
            CallArguments::Count {
                callee,
                min,
                max,
                given,
            } => match max {
                Some(max) if max == min => format!(
                    "`{callee}` takes {min} argument{} but {given} were given",
                    plural(*min)
                ),
                Some(max) => {
                    format!("`{callee}` takes {min} to {max} arguments but {given} were given")
                }
                None => format!(
                    "`{callee}` takes at least {min} argument{} but {given} were given",
                    plural(*min)
                ),
            },
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Matches the call's arguments to the parameters; the first problem found, if any.
pub(crate) fn check(callee: &str, params: &[Param], call: &ast::ExprCall) -> Option<RawFinding> {
    let positional_params: Vec<&Param> = params
        .iter()
        .filter(|p| {
            matches!(
                p.kind,
                ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
            )
        })
        .collect();
    let takes_varargs = params.iter().any(|p| p.kind == ParamKind::VarArgs);
    let takes_varkw = params.iter().any(|p| p.kind == ParamKind::VarKeywords);
    let given = call.arguments.args.len();
    if given > positional_params.len() && !takes_varargs {
        let violation = CallArguments::TooMany {
            callee,
            expected: positional_params.len(),
            given,
        };
        return Some(RawFinding::new(
            Rule::CallArguments,
            violation.message(),
            call.range(),
        ));
    }
    let mut filled: Vec<&str> = positional_params
        .iter()
        .take(given)
        .map(|p| p.name)
        .collect();
    for keyword in call.arguments.keywords.iter() {
        let Some(arg) = &keyword.arg else { return None };
        let name = arg.as_str();
        let param = params.iter().find(|p| {
            p.name == name
                && matches!(
                    p.kind,
                    ParamKind::PositionalOrKeyword | ParamKind::KeywordOnly
                )
        });
        let Some(param) = param else {
            if takes_varkw {
                continue;
            }
            let violation = CallArguments::UnknownKeyword {
                callee,
                keyword: name,
            };
            return Some(RawFinding::new(
                Rule::CallArguments,
                violation.message(),
                keyword.range(),
            ));
        };
        if filled.contains(&param.name) {
            let violation = CallArguments::Duplicate { callee, name };
            return Some(RawFinding::new(
                Rule::CallArguments,
                violation.message(),
                keyword.range(),
            ));
        }
        filled.push(param.name);
    }
    let names: Vec<&str> = params
        .iter()
        .filter(|p| {
            !p.has_default && !matches!(p.kind, ParamKind::VarArgs | ParamKind::VarKeywords)
        })
        .filter(|p| !filled.contains(&p.name))
        .map(|p| p.name)
        .collect();
    if names.is_empty() {
        return None;
    }
    let violation = CallArguments::Missing { callee, names };
    Some(RawFinding::new(
        Rule::CallArguments,
        violation.message(),
        call.range(),
    ))
}

/// A builtin called with a number of positional arguments outside what it takes.
pub(crate) fn report_count(
    callee: &str,
    min: usize,
    max: Option<usize>,
    given: usize,
    range: TextRange,
) -> RawFinding {
    RawFinding::new(
        Rule::CallArguments,
        CallArguments::Count {
            callee,
            min,
            max,
            given,
        }
        .message(),
        range,
    )
}
