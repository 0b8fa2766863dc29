//! The rules, one per file. Each file documents its rule (what it does, why it matters, an
//! example and the fix), defines the violation whose `message()` is the sentence the user
//! sees, and holds the check written as a ladder of early returns.
//!
//! Name rules read the semantic model's facts (`semantic.rs`), type rules are called by the
//! inference pass (`infer.rs`) at the point it learns something, and syntactic rules run on
//! the tree below.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::finding::RawFinding;

pub(crate) mod argument_type;
pub(crate) mod bare_except;
pub(crate) mod call_arguments;
pub(crate) mod is_literal;
pub(crate) mod missing_await;
pub(crate) mod mutable_default;
pub(crate) mod not_callable;
pub(crate) mod possibly_unbound;
pub(crate) mod return_type;
pub(crate) mod undefined_name;
pub(crate) mod unknown_attribute;
pub(crate) mod unreachable_code;
pub(crate) mod unsupported_operand;
pub(crate) mod unused_import;
pub(crate) mod unused_variable;

/// A rule's violation: the message the user reads.
pub(crate) trait Violation {
    fn message(&self) -> String;
}

/// Runs the rules that need only the syntax tree.
pub(crate) fn check_syntax(module: &ast::ModModule, out: &mut Vec<RawFinding>) {
    let mut walker = SyntaxRules { out };
    walker.visit_body(&module.body);
}

struct SyntaxRules<'o> {
    out: &'o mut Vec<RawFinding>,
}

impl<'a> Visitor<'a> for SyntaxRules<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(function) => mutable_default::check(function, self.out),
            Stmt::Try(try_stmt) => {
                for handler in &try_stmt.handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    bare_except::check(handler, self.out);
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Compare(compare) = expr {
            is_literal::check(compare, self.out);
        }
        visitor::walk_expr(self, expr);
    }
}
