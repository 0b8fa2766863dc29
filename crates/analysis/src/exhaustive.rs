//! Exhaustiveness of `if`/`elif` chains and `match` statements over a parameter whose
//! annotation lists every value it can take: `Literal[...]`, `bool`, an `Enum` of the file, a
//! union of builtin or local classes. When the tests cover them all, the final `else` (or
//! `case _`) never runs: authors put `assert_never(x)` there, and nothing in it is reviewed.
//!
//! Values are compared by a canonical spelling (`int:1`, `str:a`, `enum:Color.RED`,
//! `class:int`); anything not understood covers nothing, so an unsure answer is "not
//! exhaustive", and the branch is reviewed as usual.

use std::collections::HashSet;

use ruff_python_ast::{self as ast, CmpOp, Expr, Pattern, Stmt};

/// The values a parameter's annotation allows, or `None` if they cannot be listed.
pub(crate) fn domain(annotation: &Expr, module: &[Stmt]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    collect_domain(annotation, module, &mut out, 0)?;
    (!out.is_empty()).then_some(out)
}

fn collect_domain(expr: &Expr, module: &[Stmt], out: &mut Vec<String>, depth: usize) -> Option<()> {
    if depth > 8 {
        return None;
    }
    match expr {
        Expr::NoneLiteral(_) => out.push("None".into()),
        Expr::BinOp(b) if matches!(b.op, ast::Operator::BitOr) => {
            collect_domain(&b.left, module, out, depth + 1)?;
            collect_domain(&b.right, module, out, depth + 1)?;
        }
        Expr::Subscript(s) => {
            let elts: Vec<&Expr> = match s.slice.as_ref() {
                Expr::Tuple(t) => t.iter().collect(),
                other => vec![other],
            };
            match head_name(&s.value)? {
                "Literal" => {
                    for e in elts {
                        out.push(value_of(e, module)?);
                    }
                }
                "Union" => {
                    for e in elts {
                        collect_domain(e, module, out, depth + 1)?;
                    }
                }
                "Optional" => {
                    collect_domain(elts.first()?, module, out, depth + 1)?;
                    out.push("None".into());
                }
                _ => return None,
            }
        }
        Expr::Name(n) => {
            let name = n.id.as_str();
            if name == "bool" {
                out.push("bool:True".into());
                out.push("bool:False".into());
            } else if name == "None" {
                out.push("None".into());
            } else if let Some(members) = enum_members(name, module) {
                out.extend(members.into_iter().map(|m| format!("enum:{name}.{m}")));
            } else if matches!(
                name,
                "int" | "str" | "bytes" | "float" | "list" | "dict" | "set" | "tuple"
            ) || local_class(name, module).is_some()
            {
                out.push(format!("class:{name}"));
            } else {
                return None;
            }
        }
        _ => return None,
    }
    Some(())
}

fn head_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

fn local_class<'m>(name: &str, module: &'m [Stmt]) -> Option<&'m ast::StmtClassDef> {
    let mut found = None;
    for stmt in module {
        match stmt {
            Stmt::ClassDef(c) if c.name.as_str() == name => {
                if found.is_some() {
                    return None;
                }
                found = Some(c);
            }
            _ => {}
        }
    }
    found
}

/// The members of an `Enum` (not `Flag`: its members combine) defined at module level.
fn enum_members<'m>(name: &str, module: &'m [Stmt]) -> Option<Vec<&'m str>> {
    let class = local_class(name, module)?;
    let arguments = class.arguments.as_ref()?;
    let is_enum = arguments.args.iter().any(|b| {
        matches!(
            head_name(b),
            Some("Enum" | "IntEnum" | "StrEnum" | "ReprEnum")
        )
    });
    if !is_enum || !arguments.keywords.is_empty() {
        return None;
    }
    let mut members = Vec::new();
    for stmt in &class.body {
        if let Stmt::Assign(a) = stmt {
            for target in &a.targets {
                let Expr::Name(n) = target else { return None };
                if !n.id.as_str().starts_with('_') {
                    members.push(n.id.as_str());
                }
            }
        }
    }
    (!members.is_empty()).then_some(members)
}

/// The canonical spelling of a literal or enum member expression.
fn value_of(expr: &Expr, module: &[Stmt]) -> Option<String> {
    Some(match expr {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => format!("int:{}", i.as_i64()?),
            _ => return None,
        },
        Expr::StringLiteral(s) => format!("str:{}", s.value.to_str()),
        Expr::BytesLiteral(_) => return None,
        Expr::BooleanLiteral(b) => format!("bool:{}", if b.value { "True" } else { "False" }),
        Expr::NoneLiteral(_) => "None".into(),
        Expr::Attribute(a) => {
            let Expr::Name(class) = a.value.as_ref() else {
                return None;
            };
            let members = enum_members(class.id.as_str(), module)?;
            if !members.contains(&a.attr.as_str()) {
                return None;
            }
            format!("enum:{}.{}", class.id.as_str(), a.attr.as_str())
        }
        _ => return None,
    })
}

/// The values an `if` test proves `subject` has when it holds.
pub(crate) fn test_covers(test: &Expr, subject: &str, module: &[Stmt], out: &mut HashSet<String>) {
    let is_subject = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == subject);
    match test {
        Expr::BoolOp(b) if matches!(b.op, ast::BoolOp::Or) => {
            for v in &b.values {
                test_covers(v, subject, module, out);
            }
        }
        Expr::Compare(c) if c.ops.len() == 1 => {
            let (left, right) = (c.left.as_ref(), &c.comparators[0]);
            match c.ops[0] {
                CmpOp::Eq | CmpOp::Is => {
                    let other = if is_subject(left) {
                        right
                    } else if is_subject(right) {
                        left
                    } else {
                        return;
                    };
                    out.extend(value_of(other, module));
                }
                CmpOp::In if is_subject(left) => {
                    let elts = match right {
                        Expr::Tuple(t) => &t.elts,
                        Expr::List(l) => &l.elts,
                        Expr::Set(s) => &s.elts,
                        _ => return,
                    };
                    out.extend(elts.iter().filter_map(|e| value_of(e, module)));
                }
                _ => {}
            }
        }
        Expr::Call(call) => {
            let is_isinstance =
                matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "isinstance");
            let args = &call.arguments.args;
            if !is_isinstance || args.len() != 2 || !is_subject(&args[0]) {
                return;
            }
            let classes: Vec<&Expr> = match &args[1] {
                Expr::Tuple(t) => t.iter().collect(),
                other => vec![other],
            };
            for c in classes {
                if let Expr::Name(n) = c {
                    out.insert(format!("class:{}", n.id.as_str()));
                }
            }
        }
        _ => {}
    }
}

/// The values a `case` pattern (without a guard) matches.
pub(crate) fn pattern_covers(pattern: &Pattern, module: &[Stmt], out: &mut HashSet<String>) {
    match pattern {
        Pattern::MatchValue(v) => out.extend(value_of(&v.value, module)),
        Pattern::MatchSingleton(s) => {
            let value = match s.value {
                ast::Singleton::None => "None",
                ast::Singleton::True => "bool:True",
                ast::Singleton::False => "bool:False",
            };
            out.insert(value.to_string());
        }
        Pattern::MatchClass(c)
            if c.arguments.patterns.is_empty() && c.arguments.keywords.is_empty() =>
        {
            if let Expr::Name(n) = c.cls.as_ref() {
                out.insert(format!("class:{}", n.id.as_str()));
            }
        }
        Pattern::MatchOr(o) => {
            for p in &o.patterns {
                pattern_covers(p, module, out);
            }
        }
        Pattern::MatchAs(a) => {
            if let Some(p) = &a.pattern {
                pattern_covers(p, module, out);
            }
        }
        _ => {}
    }
}

/// Whether the covered values (and classes) include every value of the domain.
pub(crate) fn covers_all(domain: &[String], covered: &HashSet<String>) -> bool {
    domain.iter().all(|value| {
        if covered.contains(value) {
            return true;
        }
        // A literal is also matched by its class: `1` by `int()`, `True` by `bool()` or
        // `int()`, an enum member by its enum class.
        let class = match value.split_once(':') {
            Some(("int", _)) => vec!["int"],
            Some(("bool", _)) => vec!["bool", "int"],
            Some(("str", _)) => vec!["str"],
            Some(("enum", member)) => vec![member.split('.').next().unwrap_or("")],
            _ => vec![],
        };
        class
            .iter()
            .any(|c| covered.contains(&format!("class:{c}")))
    })
}
