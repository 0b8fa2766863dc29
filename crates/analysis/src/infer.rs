//! The type inference pass: a flow-sensitive walk over each scope that tracks, for every
//! local name, its type and whether it is bound, narrows on `isinstance`, `None` checks and
//! truthiness, and hands what it learns to the type rules.
//!
//! Control flow is followed the simple way: an environment per program point, copied into
//! branches and joined where they meet; `None` marks a point no path reaches. Loops are not
//! iterated to a fixpoint: names assigned in a loop become `Unknown` at its head, which keeps
//! the pass quiet rather than wrong.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, CmpOp, Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::exhaustive;
use crate::finding::RawFinding;
use crate::model::{literal_type, target_names, FuncKind, Member, Model, Param, ParamKind};
use crate::rules;
use crate::stdlib;
use crate::types::{assignable, closest, ClassId, Display, FuncId, Subtyping, Ty};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Yes,
    Maybe,
    No,
}

impl Bound {
    fn join(self, other: Bound) -> Bound {
        if self == other {
            self
        } else {
            Bound::Maybe
        }
    }
}

#[derive(Debug, Clone)]
struct Var {
    ty: Ty,
    bound: Bound,
    /// For a maybe-bound name: the block depth at which the paths diverged. Reads nested
    /// deeper are usually guarded by a condition correlated with the assignment's, so only
    /// reads at that depth or shallower are reported.
    since: usize,
}

type Env = HashMap<String, Var>;

fn join_var(a: &Var, b: &Var, depth: usize) -> Var {
    let bound = a.bound.join(b.bound);
    let since = match (a.bound, b.bound) {
        (Bound::Maybe, Bound::Maybe) => a.since.min(b.since),
        (Bound::Maybe, _) => a.since.min(depth),
        (_, Bound::Maybe) => b.since.min(depth),
        _ => depth,
    };
    // `x = None` on one path and a value on another: the code usually tracks which path it
    // took in another variable, so the joined type is not trusted to be `Optional`.
    let placeholder = |t: &Ty, other: &Ty| matches!(t, Ty::None) && !other.contains_none();
    let ty = if placeholder(&a.ty, &b.ty) || placeholder(&b.ty, &a.ty) {
        Ty::Unknown
    } else {
        Ty::union([a.ty.clone(), b.ty.clone()])
    };
    Var { ty, bound, since }
}

fn join_envs(a: Option<Env>, b: Option<Env>, depth: usize) -> Option<Env> {
    match (a, b) {
        (None, b) => b,
        (a, None) => a,
        (Some(a), Some(b)) => {
            let mut out = Env::with_capacity(a.len());
            for (k, va) in a {
                let unbound = Var {
                    ty: Ty::Unknown,
                    bound: Bound::No,
                    since: depth,
                };
                if let Some(vb) = b.get(&k) {
                    let joined = join_var(&va, vb, depth);
                    out.insert(k, joined);
                } else if !k.contains('.') {
                    out.insert(k, join_var(&va, &unbound, depth));
                }
            }
            for (k, vb) in b {
                if !out.contains_key(&k) && !k.contains('.') {
                    let unbound = Var {
                        ty: Ty::Unknown,
                        bound: Bound::No,
                        since: depth,
                    };
                    out.insert(k, join_var(&vb, &unbound, depth));
                }
            }
            Some(out)
        }
    }
}

fn join_all(envs: impl IntoIterator<Item = Option<Env>>, depth: usize) -> Option<Env> {
    envs.into_iter().fold(None, |a, b| join_envs(a, b, depth))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Module,
    Class,
    Function(FuncId),
}

struct Frame<'a> {
    kind: ScopeKind,
    /// Names bound in this scope (subject to boundness tracking).
    locals: HashSet<&'a str>,
    /// Names declared `global` or `nonlocal`.
    outer: HashSet<&'a str>,
    declared_return: Option<Ty>,
    returns: Vec<Ty>,
    loops: Vec<(Vec<Env>, Vec<Env>)>,
    check_returns: bool,
    /// How many conditional blocks (branches, loop bodies, handlers) enclose the statement.
    depth: usize,
    /// The method's `self` (or `cls`) parameter.
    receiver: Option<&'a str>,
    /// In a class body: what the scope around the class saw when the class statement ran.
    /// A class nested in this one sees that, not this class's own names.
    enclosing: Option<Env>,
}

pub(crate) struct Checker<'m, 'a> {
    model: &'m Model<'a>,
    module_body: &'a [Stmt],
    findings: Vec<RawFinding>,
    quiet: usize,
    return_cache: HashMap<FuncId, Ty>,
    in_progress: HashSet<FuncId>,
    /// Functions of the file whose every path raises or exits.
    no_return: HashSet<FuncId>,
    /// Set by a call of a function that never returns; read by the statement walker.
    called_no_return: bool,
    /// Walking module-level code, where platform checks correlate branches the reviewer does
    /// not relate: possibly-`None` values are not reported there.
    at_module_level: bool,
    /// Evaluating a condition (an `if`/`while` test, a later operand of `and`/`or`).
    in_condition: usize,
    /// Code that cannot run, or may not: the running-code rules stay silent there.
    not_running: Vec<TextRange>,
    /// Overloaded functions (class, name) with an overload that never returns: which one a
    /// call picks is not resolved, so the code after the call may be dead.
    never_overloads: HashSet<(Option<ClassId>, &'a str)>,
    /// Set by a call of such a function; read by the statement walker.
    called_maybe_no_return: bool,
}

/// A pseudo-variable whose presence (bound on every path) marks a point reached only if
/// something unusual happened: a context manager swallowed the exception that ended its
/// body, or a call that may never return did return. Code there may be dead.
const MAYBE_DEAD: &str = "\0maybe-dead";

fn mark_maybe_dead(env: &mut Env) {
    env.insert(
        MAYBE_DEAD.to_string(),
        Var {
            ty: Ty::Unknown,
            bound: Bound::Yes,
            since: 0,
        },
    );
}

fn is_maybe_dead(env: &Env) -> bool {
    env.get(MAYBE_DEAD).is_some_and(|v| v.bound == Bound::Yes)
}

/// Lengths of what a walk appends to, taken before a walk that may be redone.
struct Marks {
    findings: usize,
    not_running: usize,
    returns: usize,
    rewound: bool,
}

/// What is known statically about a condition's truth.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Truth {
    /// A constant: `True`, `0`, `not False`. The other branch never runs.
    Exact(bool),
    /// True for type checkers and the interpreter version the reviewer assumes (3.13), but not
    /// necessarily where the code runs: `TYPE_CHECKING`, `sys.version_info >= (3, 8)`. The other
    /// branch is not reviewed, yet both are kept for flow.
    Assumed(bool),
}

impl Truth {
    fn value(self) -> bool {
        match self {
            Truth::Exact(v) | Truth::Assumed(v) => v,
        }
    }
    fn not(self) -> Truth {
        match self {
            Truth::Exact(v) => Truth::Exact(!v),
            Truth::Assumed(v) => Truth::Assumed(!v),
        }
    }
}

/// The Python version whose `sys.version_info` checks are taken as decided.
const ASSUMED_VERSION: (u64, u64) = (3, 13);

fn static_truth(expr: &Expr) -> Option<Truth> {
    match expr {
        Expr::BooleanLiteral(b) => Some(Truth::Exact(b.value)),
        Expr::NoneLiteral(_) => Some(Truth::Exact(false)),
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_u64().map(|v| Truth::Exact(v != 0)),
            _ => None,
        },
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => {
            static_truth(&u.operand).map(Truth::not)
        }
        Expr::BoolOp(b) => {
            // `and` is false as soon as one operand is, true only if all are (and `or` the
            // other way round).
            let decisive = !matches!(b.op, ast::BoolOp::And);
            let mut all_known = Some(Truth::Exact(!decisive));
            for v in &b.values {
                match static_truth(v) {
                    Some(t) if t.value() == decisive => return Some(t),
                    Some(Truth::Assumed(_)) => {
                        if all_known.is_some() {
                            all_known = Some(Truth::Assumed(!decisive));
                        }
                    }
                    Some(Truth::Exact(_)) => {}
                    None => all_known = None,
                }
            }
            all_known
        }
        Expr::Name(n) if n.id.as_str() == "TYPE_CHECKING" => Some(Truth::Assumed(true)),
        Expr::Attribute(a) if a.attr.as_str() == "TYPE_CHECKING" => Some(Truth::Assumed(true)),
        Expr::Compare(c) if c.ops.len() == 1 => {
            let is_version_info = matches!(c.left.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "version_info" && matches!(a.value.as_ref(), Expr::Name(m) if m.id.as_str() == "sys"));
            if !is_version_info {
                return None;
            }
            let Expr::Tuple(t) = &c.comparators[0] else {
                return None;
            };
            let mut parts = Vec::new();
            for e in &t.elts {
                let Expr::NumberLiteral(n) = e else { return None };
                let ast::Number::Int(i) = &n.value else { return None };
                parts.push(i.as_u64()?);
            }
            if parts.is_empty() || parts.len() > 2 {
                return None;
            }
            let assumed = [ASSUMED_VERSION.0, ASSUMED_VERSION.1];
            // A version the reviewer cannot vouch for (newer than the one it assumes).
            if parts.as_slice() > &assumed[..] {
                return None;
            }
            // `sys.version_info` is longer than the tuple: on an equal prefix it is greater.
            let ordering = assumed[..parts.len()]
                .cmp(&parts[..])
                .then(std::cmp::Ordering::Greater);
            use std::cmp::Ordering::*;
            let value = match c.ops[0] {
                CmpOp::Gt | CmpOp::GtE => ordering == Greater,
                CmpOp::Lt | CmpOp::LtE => ordering == Less,
                _ => return None,
            };
            Some(Truth::Assumed(value))
        }
        _ => None,
    }
}

/// Runs the inference pass over a module and appends the type rules' findings.
pub(crate) fn check_types<'a>(
    module: &'a ast::ModModule,
    out: &mut Vec<RawFinding>,
    not_running: &mut Vec<TextRange>,
) {
    let model = Model::build(module);
    let mut checker = Checker {
        model: &model,
        module_body: &module.body,
        findings: Vec::new(),
        quiet: 0,
        return_cache: HashMap::new(),
        in_progress: HashSet::new(),
        no_return: HashSet::new(),
        called_no_return: false,
        at_module_level: true,
        in_condition: 0,
        not_running: Vec::new(),
        never_overloads: model
            .funcs
            .iter()
            .filter(|f| {
                let decorated = |name: &str| {
                    f.def.decorator_list.iter().any(|d| match &d.expression {
                        Expr::Name(n) => n.id.as_str() == name,
                        Expr::Attribute(a) => a.attr.as_str() == name,
                        _ => false,
                    })
                };
                let never = f.def.returns.as_deref().is_some_and(|r| match r {
                    Expr::Name(n) => matches!(n.id.as_str(), "NoReturn" | "Never"),
                    Expr::Attribute(a) => matches!(a.attr.as_str(), "NoReturn" | "Never"),
                    _ => false,
                });
                never && decorated("overload")
            })
            .map(|f| (f.class, f.def.name.as_str()))
            .collect(),
        called_maybe_no_return: false,
    };
    let mut frame = Frame {
        kind: ScopeKind::Module,
        locals: scope_locals(&module.body),
        outer: HashSet::new(),
        declared_return: None,
        returns: Vec::new(),
        loops: Vec::new(),
        check_returns: false,
        depth: 0,
        receiver: None,
        enclosing: None,
    };
    let mut env = Env::new();
    for name in &frame.locals {
        // Module dunders (`__doc__`, `__name__`) exist before the first statement runs.
        let bound = if name.starts_with("__") && name.ends_with("__") {
            Bound::Yes
        } else {
            Bound::No
        };
        env.insert(
            (*name).to_string(),
            Var {
                ty: Ty::Unknown,
                bound,
                since: 0,
            },
        );
    }
    let mut flow = Some(env);
    checker.walk_body(&mut frame, &mut flow, &module.body);
    checker.at_module_level = false;
    for fid in 0..model.funcs.len() {
        checker.walk_function(fid, false);
    }
    out.append(&mut checker.findings);
    not_running.append(&mut checker.not_running);
}

impl<'m, 'a> Checker<'m, 'a> {
    fn report(&mut self, finding: RawFinding) {
        if self.quiet == 0 {
            self.findings.push(finding);
        }
    }

    fn show(&self, ty: &Ty) -> String {
        Display(ty, self.model).to_string()
    }

    /// Walks a function body; returns the union of what it returns (for inference).
    fn walk_function(&mut self, fid: FuncId, quiet: bool) -> Ty {
        let model = self.model;
        let f = &model.funcs[fid];
        let def = f.def;
        let mut env = Env::new();
        let mut frame = Frame {
            kind: ScopeKind::Function(fid),
            locals: scope_locals(&def.body),
            outer: outer_names(&def.body),
            declared_return: if f.is_generator || f.kind == FuncKind::Opaque && f.returns.is_none()
            {
                None
            } else {
                f.returns.clone()
            },
            returns: Vec::new(),
            loops: Vec::new(),
            check_returns: !f.is_generator && !f.is_stub,
            depth: 0,
            receiver: match f.kind {
                FuncKind::Method | FuncKind::Property | FuncKind::ClassMethod
                    if f.class.is_some() =>
                {
                    f.params.first().map(|p| p.name)
                }
                _ => None,
            },
            enclosing: None,
        };
        for name in &frame.locals {
            env.insert(
                (*name).to_string(),
                Var {
                    ty: Ty::Unknown,
                    bound: Bound::No,
                    since: 0,
                },
            );
        }
        for (i, p) in f.params.iter().enumerate() {
            frame.locals.insert(p.name);
            let ty = match (i, f.class, f.kind) {
                (0, Some(c), FuncKind::Method | FuncKind::Property) if p.ty.is_none() => {
                    Ty::Instance(c)
                }
                (0, Some(c), FuncKind::ClassMethod) if p.ty.is_none() => {
                    Ty::Type(Box::new(Ty::Instance(c)))
                }
                _ => match p.kind {
                    ParamKind::VarArgs => Ty::Tuple,
                    ParamKind::VarKeywords => Ty::Dict(
                        Box::new(Ty::Str),
                        Box::new(p.ty.clone().unwrap_or(Ty::Unknown)),
                    ),
                    _ => p.ty.clone().unwrap_or(Ty::Unknown),
                },
            };
            env.insert(
                p.name.to_string(),
                Var {
                    ty,
                    bound: Bound::Yes,
                    since: 0,
                },
            );
        }
        for name in &frame.outer {
            env.remove(*name);
            frame.locals.remove(*name);
        }
        if quiet {
            self.quiet += 1;
        }
        let at_module_level = std::mem::replace(&mut self.at_module_level, false);
        let mut flow = Some(env);
        self.walk_body(&mut frame, &mut flow, &def.body);
        self.at_module_level = at_module_level;
        if quiet {
            self.quiet -= 1;
        }
        let falls_through = flow.is_some();
        if frame.returns.is_empty() && !falls_through && !f.is_generator {
            self.no_return.insert(fid);
        }
        if frame.returns.is_empty() {
            if falls_through {
                Ty::None
            } else {
                Ty::Unknown
            }
        } else if falls_through || frame.returns.iter().any(|t| matches!(t, Ty::Unknown)) {
            Ty::Unknown
        } else {
            Ty::union(frame.returns)
        }
    }

    /// The type a call of a file's function returns: its annotation, or what its body returns.
    fn return_type(&mut self, fid: FuncId) -> Ty {
        let f = &self.model.funcs[fid];
        let base = if let Some(declared) = &f.returns {
            declared.clone()
        } else if f.is_generator || f.kind == FuncKind::Opaque || (f.class.is_some() && f.is_stub) {
            Ty::Unknown
        } else if let Some(cached) = self.return_cache.get(&fid) {
            cached.clone()
        } else if self.in_progress.contains(&fid) || self.in_progress.len() > 8 {
            Ty::Unknown
        } else {
            self.in_progress.insert(fid);
            let mut ty = self.walk_function(fid, true);
            self.in_progress.remove(&fid);
            // A method returning `None` is often a base-class default that subclasses
            // override: only trust what a method returns when it is a real value.
            if f.class.is_some() && ty.contains_none() {
                ty = Ty::Unknown;
            }
            self.return_cache.insert(fid, ty.clone());
            ty
        };
        let f = &self.model.funcs[fid];
        if f.def.is_async && !f.is_generator {
            Ty::Coroutine(Box::new(base))
        } else {
            base
        }
    }

    /// Where the findings and facts gathered so far end, to undo a walk that is redone.
    fn marks(&self, frame: &Frame<'a>) -> Marks {
        Marks {
            findings: self.findings.len(),
            not_running: self.not_running.len(),
            returns: frame.returns.len(),
            rewound: false,
        }
    }

    fn rewind(&mut self, frame: &mut Frame<'a>, marks: &Marks) {
        self.findings.truncate(marks.findings);
        self.not_running.truncate(marks.not_running);
        frame.returns.truncate(marks.returns);
    }

    /// The values a parameter of the current function can take, from its annotation, when the
    /// function never rebinds it.
    fn subject_domain(&self, frame: &Frame<'a>, subject: &Expr) -> Option<Vec<String>> {
        let Expr::Name(name) = subject else {
            return None;
        };
        let ScopeKind::Function(fid) = frame.kind else {
            return None;
        };
        let def = self.model.funcs[fid].def;
        let param = def
            .parameters
            .iter()
            .find(|p| p.name().as_str() == name.id.as_str())?;
        let domain = exhaustive::domain(param.annotation()?, self.module_body)?;
        if scope_locals(&def.body).contains(name.id.as_str()) {
            return None;
        }
        Some(domain)
    }

    /// Whether the tests of an `if`/`elif` chain cover every value of a parameter they test.
    fn if_chain_is_exhaustive(&self, frame: &Frame<'a>, stmt: &'a ast::StmtIf) -> bool {
        let tests: Vec<&Expr> = std::iter::once(stmt.test.as_ref())
            .chain(stmt.elif_else_clauses.iter().filter_map(|c| c.test.as_ref()))
            .collect();
        if tests.len() < 2 && stmt.elif_else_clauses.is_empty() {
            return false;
        }
        let mut candidates: Vec<&Expr> = Vec::new();
        match tests[0] {
            Expr::Compare(c) => {
                candidates.push(&c.left);
                candidates.extend(c.comparators.iter());
            }
            Expr::Call(c) => candidates.extend(c.arguments.args.first()),
            Expr::BoolOp(b) => {
                if let Some(Expr::Compare(c)) = b.values.first() {
                    candidates.push(&c.left);
                }
            }
            _ => {}
        }
        candidates.into_iter().any(|subject| {
            let Expr::Name(name) = subject else {
                return false;
            };
            let Some(domain) = self.subject_domain(frame, subject) else {
                return false;
            };
            let mut covered = HashSet::new();
            for test in &tests {
                exhaustive::test_covers(test, name.id.as_str(), self.module_body, &mut covered);
            }
            exhaustive::covers_all(&domain, &covered)
        })
    }

    /// Whether a call of the function never comes back (every path raises or exits, or it is
    /// annotated `NoReturn`/`Never`). Only for direct calls: a method may be overridden.
    fn never_returns(&mut self, fid: FuncId) -> bool {
        let f = &self.model.funcs[fid];
        if let Some(returns) = &f.def.returns {
            let name = match returns.as_ref() {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) => a.attr.as_str(),
                _ => "",
            };
            return matches!(name, "NoReturn" | "Never");
        }
        // A method whose body only raises is a placeholder for subclasses; a function whose
        // body only raises is a real "fail" helper.
        if f.is_generator
            || f.def.is_async
            || f.kind == FuncKind::Opaque
            || (f.is_stub && f.class.is_some())
            || f.is_abstract
        {
            return false;
        }
        if !self.return_cache.contains_key(&fid) {
            self.return_type(fid);
        }
        self.no_return.contains(&fid)
    }

    fn walk_body(&mut self, frame: &mut Frame<'a>, flow: &mut Option<Env>, body: &'a [Stmt]) {
        let end = body.last().map_or(0.into(), |s| s.end());
        let mut marked = false;
        for stmt in body {
            match flow.as_ref() {
                None => {
                    let is_yield = matches!(stmt, Stmt::Expr(e) if matches!(e.value.as_ref(), Expr::Yield(_) | Expr::YieldFrom(_)));
                    if !is_yield {
                        self.report(rules::unreachable_code::report(stmt.range()));
                    }
                    self.not_running.push(TextRange::new(stmt.start(), end));
                    return;
                }
                Some(env) if !marked && is_maybe_dead(env) => {
                    self.not_running.push(TextRange::new(stmt.start(), end));
                    marked = true;
                }
                Some(_) => {}
            }
            self.walk_stmt(frame, flow, stmt);
        }
    }

    /// Walks a block that runs only on some paths (a branch, a loop body, a handler).
    fn walk_nested(&mut self, frame: &mut Frame<'a>, flow: &mut Option<Env>, body: &'a [Stmt]) {
        frame.depth += 1;
        self.walk_body(frame, flow, body);
        frame.depth -= 1;
    }

    fn walk_stmt(&mut self, frame: &mut Frame<'a>, flow: &mut Option<Env>, stmt: &'a Stmt) {
        let Some(env) = flow.as_mut() else { return };
        match stmt {
            Stmt::Expr(e) => {
                self.called_no_return = false;
                let ty = self.expr(frame, env, &e.value);
                if let (Ty::Coroutine(_), Expr::Call(call)) = (&ty, e.value.as_ref()) {
                    self.report(rules::missing_await::report(call));
                }
                let direct_call = matches!(e.value.as_ref(), Expr::Call(_));
                if is_no_return_call(&e.value) || (direct_call && self.called_no_return) {
                    *flow = None;
                } else if direct_call && self.called_maybe_no_return {
                    mark_maybe_dead(env);
                }
                self.called_no_return = false;
                self.called_maybe_no_return = false;
            }
            Stmt::Assign(a) => {
                let ty = self.expr(frame, env, &a.value);
                for target in &a.targets {
                    self.assign(frame, env, target, ty.clone());
                }
            }
            Stmt::AnnAssign(a) => {
                let declared = self.model.annotation(&a.annotation);
                if let Some(value) = &a.value {
                    let ty = self.expr(frame, env, value);
                    // In a class body the annotation declares the instance attribute; the name
                    // itself holds the value (`x: int = field()` holds a field specifier).
                    let ty = if declared.is_unknown() || frame.kind == ScopeKind::Class {
                        ty
                    } else {
                        declared
                    };
                    self.assign(frame, env, &a.target, ty);
                } else if let Expr::Name(n) = a.target.as_ref() {
                    // A bare annotation declares without binding.
                    let _ = n;
                }
            }
            Stmt::AugAssign(a) => {
                let right = self.expr(frame, env, &a.value);
                let left = match a.target.as_ref() {
                    Expr::Name(n) => self.load_name(frame, env, n),
                    Expr::Attribute(attr) => {
                        let base = self.expr(frame, env, &attr.value);
                        let on_self = matches!(attr.value.as_ref(), Expr::Name(n) if Some(n.id.as_str()) == frame.receiver);
                        let ty = self.attribute(&base, attr, on_self);
                        match key_of(&a.target).and_then(|k| env.get(&k)) {
                            Some(var) => var.ty.clone(),
                            None => ty,
                        }
                    }
                    other => {
                        self.expr(frame, env, other);
                        Ty::Unknown
                    }
                };
                // `x op= y` tries `x.__iop__(y)` first.
                let inplace = format!("__i{}", &stdlib::dunders(a.op).0[2..]);
                let ty = match self.operator_method(&left, &inplace) {
                    Some(Some(fid)) => self.return_type(fid),
                    _ => self.binop(a.op, &left, &right, a.range),
                };
                self.assign(frame, env, &a.target, ty);
            }
            Stmt::Return(r) => {
                let ty = match &r.value {
                    Some(v) => self.expr(frame, env, v),
                    None => Ty::None,
                };
                if frame.check_returns {
                    if let Some(declared) = frame.declared_return.clone() {
                        let is_async_fn = matches!(frame.kind, ScopeKind::Function(fid) if self.model.funcs[fid].def.is_async);
                        let _ = is_async_fn;
                        if !assignable(&ty, &declared, self.model) {
                            let (shown_value, shown_declared) =
                                (self.show(&ty), self.show(&declared));
                            self.report(rules::return_type::report(
                                r.range,
                                &shown_value,
                                &shown_declared,
                                r.value.is_none(),
                            ));
                        }
                    }
                }
                frame.returns.push(ty);
                *flow = None;
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(frame, env, e);
                }
                *flow = None;
            }
            Stmt::Pass(_) | Stmt::IpyEscapeCommand(_) | Stmt::Global(_) | Stmt::Nonlocal(_) => {}
            Stmt::Break(_) => {
                if let Some(env) = flow.take() {
                    if let Some(l) = frame.loops.last_mut() {
                        l.0.push(env);
                    }
                }
            }
            Stmt::Continue(_) => {
                if let Some(env) = flow.take() {
                    if let Some(l) = frame.loops.last_mut() {
                        l.1.push(env);
                    }
                }
            }
            Stmt::Delete(d) => {
                for target in &d.targets {
                    match target {
                        Expr::Name(n) => {
                            if let Some(v) = env.get_mut(n.id.as_str()) {
                                v.bound = Bound::No;
                            }
                        }
                        other => {
                            self.expr(frame, env, other);
                        }
                    }
                }
            }
            Stmt::Assert(a) => {
                self.expr(frame, env, &a.test);
                if let Some(msg) = &a.msg {
                    // The message is only evaluated when the test failed.
                    let mut failed = self.narrow(env, &a.test, false);
                    self.expr(frame, &mut failed, msg);
                }
                let always_false = matches!(a.test.as_ref(), Expr::BooleanLiteral(b) if !b.value)
                    || matches!(a.test.as_ref(), Expr::NumberLiteral(n) if matches!(&n.value, ast::Number::Int(i) if i.as_u8() == Some(0)));
                if always_false {
                    *flow = None;
                } else {
                    let narrowed = self.narrow(env, &a.test, true);
                    *flow = Some(narrowed);
                }
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let module = alias.name.as_str();
                    let (bound, ty) = match &alias.asname {
                        Some(a) => (a.as_str(), Ty::Module(module.to_string())),
                        None => {
                            let first = module.split('.').next().unwrap_or(module);
                            (first, Ty::Module(first.to_string()))
                        }
                    };
                    env.insert(
                        bound.to_string(),
                        Var {
                            ty,
                            bound: Bound::Yes,
                            since: 0,
                        },
                    );
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map_or("", |m| m.as_str());
                for alias in &i.names {
                    if alias.name.as_str() == "*" {
                        continue;
                    }
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    let ty = if i.level == 0 {
                        stdlib::module_attribute(module, alias.name.as_str())
                    } else {
                        Ty::Unknown
                    };
                    env.insert(
                        bound.to_string(),
                        Var {
                            ty,
                            bound: Bound::Yes,
                            since: 0,
                        },
                    );
                }
            }
            Stmt::FunctionDef(f) => {
                for d in &f.decorator_list {
                    self.expr(frame, env, &d.expression);
                }
                for p in f.parameters.iter_non_variadic_params() {
                    if let Some(default) = &p.default {
                        self.expr(frame, env, default);
                    }
                }
                let ty = match (self.model.func_id(f), frame.kind) {
                    (Some(id), ScopeKind::Module | ScopeKind::Function(_))
                        if f.decorator_list.is_empty() =>
                    {
                        Ty::Function(id)
                    }
                    _ => Ty::Unknown,
                };
                env.insert(
                    f.name.to_string(),
                    Var {
                        ty,
                        bound: Bound::Yes,
                        since: 0,
                    },
                );
            }
            Stmt::ClassDef(c) => {
                for d in &c.decorator_list {
                    self.expr(frame, env, &d.expression);
                }
                if let Some(arguments) = &c.arguments {
                    for a in arguments.args.iter() {
                        self.expr(frame, env, a);
                    }
                }
                // The class body runs now, in its own namespace that can see the enclosing
                // function or module scope (not an enclosing class's).
                let outside = match (&frame.kind, &frame.enclosing) {
                    (ScopeKind::Class, Some(enclosing)) => enclosing.clone(),
                    _ => env.clone(),
                };
                let mut class_frame = Frame {
                    kind: ScopeKind::Class,
                    locals: HashSet::new(),
                    outer: HashSet::new(),
                    declared_return: None,
                    returns: Vec::new(),
                    loops: Vec::new(),
                    check_returns: false,
                    depth: 0,
                    receiver: None,
                    enclosing: Some(outside.clone()),
                };
                let mut class_flow = Some(outside);
                self.walk_body(&mut class_frame, &mut class_flow, &c.body);
                let ty = match self.model.class_id(c) {
                    Some(id) => Ty::Type(Box::new(Ty::Instance(id))),
                    None => Ty::Unknown,
                };
                env.insert(
                    c.name.to_string(),
                    Var {
                        ty,
                        bound: Bound::Yes,
                        since: 0,
                    },
                );
            }
            Stmt::If(i) => {
                let mut rest = env.clone();
                let mut ends = Vec::new();
                let mut has_else = false;
                // Once a test is known true, the clauses after it never run.
                let mut decided = false;
                // Tests that cover every value of the subject's type leave nothing for `else`.
                let exhaustive = self.if_chain_is_exhaustive(frame, i);
                let clauses = std::iter::once((Some(i.test.as_ref()), i.body.as_slice()))
                    .chain(
                        i.elif_else_clauses
                            .iter()
                            .map(|c| (c.test.as_ref(), c.body.as_slice())),
                    );
                for (test, body) in clauses {
                    let body_range = match (body.first(), body.last()) {
                        (Some(first), Some(last)) => TextRange::new(first.start(), last.end()),
                        _ => TextRange::default(),
                    };
                    let truth = if decided {
                        Some(Truth::Exact(false))
                    } else {
                        test.and_then(static_truth)
                    };
                    if truth.is_some_and(|t| !t.value()) {
                        self.not_running.push(body_range);
                    }
                    match test {
                        Some(test) => {
                            self.in_condition += 1;
                            self.expr(frame, &mut rest, test);
                            self.in_condition -= 1;
                            let mut b = Some(self.narrow(&rest, test, true));
                            rest = self.narrow(&rest, test, false);
                            self.walk_nested(frame, &mut b, body);
                            if truth != Some(Truth::Exact(false)) {
                                ends.push(b);
                            }
                        }
                        None => {
                            has_else = true;
                            if exhaustive {
                                self.not_running.push(body_range);
                            }
                            let mut b = Some(rest.clone());
                            self.walk_nested(frame, &mut b, body);
                            if !decided && !exhaustive {
                                ends.push(b);
                            }
                        }
                    }
                    if truth == Some(Truth::Exact(true)) {
                        decided = true;
                    }
                }
                if decided || exhaustive {
                    *flow = join_all(ends, frame.depth);
                    return;
                }
                if !has_else {
                    // An `if`/`elif` chain without `else` whose every branch binds a name is
                    // usually exhaustive by the author's knowledge of the values: the
                    // fall-through path does not make the name possibly unbound.
                    if !i.elif_else_clauses.is_empty() {
                        let live: Vec<&Env> = ends.iter().flatten().collect();
                        for (name, var) in rest.iter_mut() {
                            if var.bound != Bound::Yes
                                && !live.is_empty()
                                && live
                                    .iter()
                                    .all(|e| e.get(name).is_some_and(|v| v.bound == Bound::Yes))
                            {
                                var.bound = Bound::Yes;
                            }
                        }
                    }
                    ends.push(Some(rest));
                }
                *flow = join_all(ends, frame.depth);
            }
            Stmt::While(w) => {
                let infinite = matches!(w.test.as_ref(), Expr::BooleanLiteral(b) if b.value)
                    || matches!(w.test.as_ref(), Expr::NumberLiteral(n) if matches!(&n.value, ast::Number::Int(i) if i.as_u8() == Some(1)));
                let mut marks = self.marks(frame);
                let mut head = widen_for_loop(env, &w.body, &w.orelse, frame.depth);
                let (mut head_env, mut body, mut breaks, mut continues);
                loop {
                    head_env = head.clone();
                    self.in_condition += 1;
                    self.expr(frame, &mut head_env, &w.test);
                    self.in_condition -= 1;
                    body = Some(self.narrow(&head_env, &w.test, true));
                    frame.loops.push((Vec::new(), Vec::new()));
                    self.walk_nested(frame, &mut body, &w.body);
                    (breaks, continues) = frame.loops.pop().unwrap_or_default();
                    // A body that never gets back to the head runs at most once: walk it
                    // again from the state before the loop, not the widened one.
                    if body.is_none() && continues.is_empty() && !marks.rewound {
                        self.rewind(frame, &marks);
                        marks.rewound = true;
                        head = env.clone();
                        continue;
                    }
                    break;
                }
                let mut exit = if infinite {
                    None
                } else {
                    let merged = join_all(
                        [Some(head_env.clone()), body]
                            .into_iter()
                            .chain(continues.into_iter().map(Some)),
                        frame.depth,
                    );
                    merged.map(|m| self.narrow(&m, &w.test, false))
                };
                self.walk_nested(frame, &mut exit, &w.orelse);
                *flow = join_all(
                    std::iter::once(exit).chain(breaks.into_iter().map(Some)),
                    frame.depth,
                );
            }
            Stmt::For(f) => {
                let iter = self.expr(frame, env, &f.iter);
                let element = element_type(&iter);
                let mut marks = self.marks(frame);
                let mut head = widen_for_loop(env, &f.body, &f.orelse, frame.depth);
                let (mut body, mut breaks, mut continues);
                loop {
                    let mut body_env = head.clone();
                    self.assign(frame, &mut body_env, &f.target, element.clone());
                    body = Some(body_env);
                    frame.loops.push((Vec::new(), Vec::new()));
                    self.walk_nested(frame, &mut body, &f.body);
                    (breaks, continues) = frame.loops.pop().unwrap_or_default();
                    // As for `while`: a body that never loops back runs at most once.
                    if body.is_none() && continues.is_empty() && !marks.rewound {
                        self.rewind(frame, &marks);
                        marks.rewound = true;
                        head = env.clone();
                        continue;
                    }
                    break;
                }
                // A loop over a non-empty literal (or `s.split(sep)`) runs at least once.
                let head = if runs_at_least_once(&f.iter) {
                    None
                } else {
                    Some(head)
                };
                let mut exit = join_all(
                    [head, body]
                        .into_iter()
                        .chain(continues.into_iter().map(Some)),
                    frame.depth,
                );
                self.walk_nested(frame, &mut exit, &f.orelse);
                *flow = join_all(
                    std::iter::once(exit).chain(breaks.into_iter().map(Some)),
                    frame.depth,
                );
            }
            Stmt::With(w) => {
                for item in &w.items {
                    self.expr(frame, env, &item.context_expr);
                    if let Some(vars) = &item.optional_vars {
                        self.assign(frame, env, vars, Ty::Unknown);
                    }
                }
                let entry = env.clone();
                let mut body = Some(entry.clone());
                self.walk_body(frame, &mut body, &w.body);
                // A context manager may swallow the exception that ended the body.
                *flow = match body {
                    Some(b) => Some(b),
                    None => {
                        let mut after = widen_assigned(&entry, &w.body, frame.depth);
                        mark_maybe_dead(&mut after);
                        Some(after)
                    }
                };
            }
            Stmt::Try(t) => {
                let entry = env.clone();
                let mut body = Some(entry.clone());
                self.walk_nested(frame, &mut body, &t.body);
                let handler_entry = widen_assigned(&entry, &t.body, frame.depth);
                let mut ends = Vec::new();
                for handler in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = handler;
                    let mut henv = handler_entry.clone();
                    if let Some(type_) = &h.type_ {
                        self.expr(frame, &mut henv, type_);
                    }
                    if let Some(name) = &h.name {
                        henv.insert(
                            name.to_string(),
                            Var {
                                ty: Ty::Unknown,
                                bound: Bound::Yes,
                                since: 0,
                            },
                        );
                    }
                    let mut hflow = Some(henv);
                    self.walk_nested(frame, &mut hflow, &h.body);
                    if let (Some(env), Some(name)) = (hflow.as_mut(), &h.name) {
                        env.insert(
                            name.to_string(),
                            Var {
                                ty: Ty::Unknown,
                                bound: Bound::No,
                                since: 0,
                            },
                        );
                    }
                    ends.push(hflow);
                }
                if t.handlers.is_empty() {
                    // try/finally: an exception in the body passes through.
                }
                self.walk_nested(frame, &mut body, &t.orelse);
                ends.push(body);
                let after = join_all(ends, frame.depth);
                if t.finalbody.is_empty() {
                    *flow = after;
                } else {
                    let dead = after.is_none();
                    let maybe_dead = after.as_ref().is_some_and(is_maybe_dead);
                    // `finally` also runs on the exception's way out: it is live even when
                    // the normal way through may not be.
                    let mut entry = after.unwrap_or(handler_entry);
                    entry.remove(MAYBE_DEAD);
                    let mut fin = Some(entry);
                    self.walk_nested(frame, &mut fin, &t.finalbody);
                    if maybe_dead {
                        if let Some(env) = fin.as_mut() {
                            mark_maybe_dead(env);
                        }
                    }
                    *flow = if dead { None } else { fin };
                }
            }
            Stmt::Match(m) => {
                self.expr(frame, env, &m.subject);
                let entry = env.clone();
                let mut ends = Vec::new();
                let mut exhaustive = false;
                let domain = self.subject_domain(frame, &m.subject);
                let mut covered = HashSet::new();
                for case in &m.cases {
                    let all_covered = domain
                        .as_ref()
                        .is_some_and(|d| exhaustive::covers_all(d, &covered));
                    if all_covered {
                        // The cases above match every value: this one never runs.
                        if let (Some(first), Some(last)) = (case.body.first(), case.body.last()) {
                            self.not_running
                                .push(TextRange::new(first.start(), last.end()));
                        }
                        exhaustive = true;
                    }
                    if case.guard.is_none() {
                        exhaustive::pattern_covers(&case.pattern, self.module_body, &mut covered);
                    }
                    let mut cenv = entry.clone();
                    let mut names = Vec::new();
                    pattern_names(&case.pattern, &mut names);
                    for n in names {
                        cenv.insert(
                            n.to_string(),
                            Var {
                                ty: Ty::Unknown,
                                bound: Bound::Yes,
                                since: 0,
                            },
                        );
                    }
                    if let Some(guard) = &case.guard {
                        self.expr(frame, &mut cenv, guard);
                    } else if case.pattern.is_irrefutable() {
                        exhaustive = true;
                    }
                    let mut cflow = Some(cenv);
                    self.walk_nested(frame, &mut cflow, &case.body);
                    if !all_covered {
                        ends.push(cflow);
                    }
                }
                if domain
                    .as_ref()
                    .is_some_and(|d| exhaustive::covers_all(d, &covered))
                {
                    exhaustive = true;
                }
                if !exhaustive {
                    ends.push(Some(widen_match(&entry, m)));
                }
                *flow = join_all(ends, frame.depth);
            }
            Stmt::TypeAlias(alias) => self.assign(frame, env, &alias.name, Ty::Unknown),
        }
    }

    fn assign(&mut self, frame: &mut Frame<'a>, env: &mut Env, target: &'a Expr, ty: Ty) {
        match target {
            Expr::Name(n) => {
                let name = n.id.as_str();
                invalidate_prefix(env, name);
                if !frame.outer.contains(name) {
                    env.insert(
                        name.to_string(),
                        Var {
                            ty,
                            bound: Bound::Yes,
                            since: 0,
                        },
                    );
                }
            }
            Expr::Tuple(_) | Expr::List(_) => {
                let mut names = Vec::new();
                target_names(target, &mut names);
                for name in names {
                    invalidate_prefix(env, name);
                    env.insert(
                        name.to_string(),
                        Var {
                            ty: Ty::Unknown,
                            bound: Bound::Yes,
                            since: 0,
                        },
                    );
                }
                for e in match target {
                    Expr::Tuple(t) => t.elts.iter(),
                    Expr::List(l) => l.elts.iter(),
                    _ => [].iter(),
                } {
                    if !matches!(
                        e,
                        Expr::Name(_) | Expr::Starred(_) | Expr::Tuple(_) | Expr::List(_)
                    ) {
                        self.assign(frame, env, e, Ty::Unknown);
                    }
                }
            }
            Expr::Attribute(a) => {
                self.expr(frame, env, &a.value);
                if let Some(key) = key_of(target) {
                    invalidate_prefix(env, &key);
                    env.insert(
                        key,
                        Var {
                            ty,
                            bound: Bound::Yes,
                            since: 0,
                        },
                    );
                }
            }
            Expr::Subscript(s) => {
                self.expr(frame, env, &s.value);
                self.expr(frame, env, &s.slice);
            }
            Expr::Starred(s) => self.assign(frame, env, &s.value, Ty::Unknown),
            _ => {}
        }
    }

    fn load_name(&mut self, frame: &Frame<'a>, env: &Env, name: &ast::ExprName) -> Ty {
        let id = name.id.as_str();
        if let Some(var) = env.get(id) {
            match var.bound {
                Bound::Yes => return var.ty.clone(),
                Bound::Maybe => {
                    // Module code branches on the platform in ways that correlate (and an
                    // unbound module name falls back to a builtin); reads inside a condition
                    // usually restate the condition of the assignment.
                    let is_builtin = ruff_python_stdlib::builtins::is_python_builtin(id, 13, false);
                    if matches!(frame.kind, ScopeKind::Function(_))
                        && frame.depth <= var.since
                        && self.in_condition == 0
                        && (!is_builtin || frame.locals.contains(id))
                    {
                        self.report(rules::possibly_unbound::report(id, name.range));
                    }
                    return var.ty.clone();
                }
                Bound::No => {
                    // Unbound on every path to the read (a global of the same name does not
                    // help: the assignment makes the name local to the whole function).
                    if matches!(frame.kind, ScopeKind::Function(_)) && frame.locals.contains(id) {
                        self.report(rules::undefined_name::report_unbound_local(id, name.range));
                    }
                    if frame.kind != ScopeKind::Class {
                        return Ty::Unknown;
                    }
                }
            }
        }
        if frame.kind == ScopeKind::Module {
            return stdlib::builtin_name(id);
        }
        if let Some(ty) = self.model.globals.get(id) {
            return ty.clone();
        }
        stdlib::builtin_name(id)
    }

    fn expr(&mut self, frame: &mut Frame<'a>, env: &mut Env, expr: &'a Expr) -> Ty {
        match expr {
            Expr::Name(n) => match n.ctx {
                ExprContext::Load => self.load_name(frame, env, n),
                _ => Ty::Unknown,
            },
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_) => literal_type(expr),
            Expr::EllipsisLiteral(_) | Expr::IpyEscapeCommand(_) => Ty::Unknown,
            Expr::FString(f) => {
                for element in f.value.elements() {
                    if let ast::InterpolatedStringElement::Interpolation(i) = element {
                        self.expr(frame, env, &i.expression);
                    }
                }
                Ty::Str
            }
            Expr::TString(_) => Ty::Unknown,
            Expr::List(l) => {
                let tys: Vec<Ty> = l.elts.iter().map(|e| self.expr(frame, env, e)).collect();
                if l.elts.iter().any(|e| matches!(e, Expr::Starred(_))) {
                    return Ty::List(Box::new(Ty::Unknown));
                }
                Ty::List(Box::new(if tys.is_empty() {
                    Ty::Unknown
                } else {
                    Ty::union(tys)
                }))
            }
            Expr::Tuple(t) => {
                for e in &t.elts {
                    self.expr(frame, env, e);
                }
                Ty::Tuple
            }
            Expr::Set(s) => {
                let tys: Vec<Ty> = s.elts.iter().map(|e| self.expr(frame, env, e)).collect();
                Ty::Set(Box::new(Ty::union(tys)))
            }
            Expr::Dict(d) => {
                let mut keys = Vec::new();
                let mut values = Vec::new();
                let mut unpack = false;
                for item in &d.items {
                    match &item.key {
                        Some(k) => keys.push(self.expr(frame, env, k)),
                        None => unpack = true,
                    }
                    values.push(self.expr(frame, env, &item.value));
                }
                if unpack || keys.is_empty() {
                    Ty::Dict(Box::new(Ty::Unknown), Box::new(Ty::Unknown))
                } else {
                    Ty::Dict(Box::new(Ty::union(keys)), Box::new(Ty::union(values)))
                }
            }
            Expr::ListComp(c) => {
                self.comprehension(frame, env, &c.generators, &[&c.elt]);
                Ty::List(Box::new(Ty::Unknown))
            }
            Expr::SetComp(c) => {
                self.comprehension(frame, env, &c.generators, &[&c.elt]);
                Ty::Set(Box::new(Ty::Unknown))
            }
            Expr::DictComp(c) => {
                let mut elts: Vec<&'a Expr> = vec![&c.value];
                if let Some(key) = &c.key {
                    elts.insert(0, key);
                }
                self.comprehension(frame, env, &c.generators, &elts);
                Ty::Dict(Box::new(Ty::Unknown), Box::new(Ty::Unknown))
            }
            Expr::Generator(c) => {
                self.comprehension(frame, env, &c.generators, &[&c.elt]);
                Ty::Unknown
            }
            Expr::BoolOp(b) => {
                let and = matches!(b.op, ast::BoolOp::And);
                let mut current = env.clone();
                let mut tys = Vec::new();
                // The states in which the expression's value is decided: an operand that
                // short-circuits, or the last one.
                let mut exits = Vec::new();
                for (i, value) in b.values.iter().enumerate() {
                    self.in_condition += usize::from(i > 0);
                    let ty = self.expr(frame, &mut current, value);
                    self.in_condition -= usize::from(i > 0);
                    tys.push(ty);
                    if i + 1 < b.values.len() {
                        exits.push(self.narrow(&current, value, !and));
                        current = self.narrow(&current, value, and);
                    } else {
                        exits.push(current.clone());
                    }
                }
                // Walrus targets are bound where every exit has bound them.
                let mut targets = HashSet::new();
                for value in &b.values {
                    walrus_targets(value, &mut targets);
                }
                for name in targets {
                    if frame.outer.contains(name) {
                        continue;
                    }
                    let bound = exits
                        .iter()
                        .map(|e| e.get(name).map_or(Bound::No, |v| v.bound))
                        .reduce(Bound::join)
                        .unwrap_or(Bound::Maybe);
                    env.insert(
                        name.to_string(),
                        Var {
                            ty: Ty::Unknown,
                            bound,
                            since: frame.depth,
                        },
                    );
                }
                if tys.iter().all(|t| matches!(t, Ty::Bool)) {
                    Ty::Bool
                } else {
                    Ty::Unknown
                }
            }
            Expr::Named(n) => {
                let ty = self.expr(frame, env, &n.value);
                self.assign(frame, env, &n.target, ty.clone());
                ty
            }
            Expr::BinOp(b) => {
                let left = self.expr(frame, env, &b.left);
                let right = self.expr(frame, env, &b.right);
                self.binop(b.op, &left, &right, b.range)
            }
            Expr::UnaryOp(u) => {
                let ty = self.expr(frame, env, &u.operand);
                match u.op {
                    ast::UnaryOp::Not => Ty::Bool,
                    _ => match ty {
                        Ty::Bool => Ty::Int,
                        t @ (Ty::Int | Ty::Float | Ty::Complex) => t,
                        _ => Ty::Unknown,
                    },
                }
            }
            Expr::Lambda(_) => Ty::Unknown,
            Expr::If(i) => {
                self.expr(frame, env, &i.test);
                match static_truth(&i.test) {
                    // A constant test: only one side ever runs, and only its walrus targets bind.
                    Some(Truth::Exact(value)) => {
                        let (live, dead) = if value {
                            (&i.body, &i.orelse)
                        } else {
                            (&i.orelse, &i.body)
                        };
                        self.not_running.push(dead.range());
                        self.expr(frame, env, live)
                    }
                    _ => {
                        let mut yes = self.narrow(env, &i.test, true);
                        let mut no = self.narrow(env, &i.test, false);
                        let a = self.expr(frame, &mut yes, &i.body);
                        let b = self.expr(frame, &mut no, &i.orelse);
                        let mut targets = HashSet::new();
                        walrus_targets(&i.body, &mut targets);
                        walrus_targets(&i.orelse, &mut targets);
                        for name in targets {
                            let bound = [&yes, &no]
                                .iter()
                                .map(|e| e.get(name).map_or(Bound::No, |v| v.bound))
                                .reduce(Bound::join)
                                .unwrap_or(Bound::Maybe);
                            if bound == Bound::Yes {
                                if let Some(v) = yes.get(name) {
                                    env.insert(name.to_string(), v.clone());
                                }
                            } else {
                                bind_maybe(frame, env, name);
                            }
                        }
                        Ty::union([a, b])
                    }
                }
            }
            Expr::Await(a) => match self.expr(frame, env, &a.value) {
                Ty::Coroutine(inner) => *inner,
                _ => Ty::Unknown,
            },
            Expr::Yield(y) => {
                if let Some(v) = &y.value {
                    self.expr(frame, env, v);
                }
                Ty::Unknown
            }
            Expr::YieldFrom(y) => {
                self.expr(frame, env, &y.value);
                Ty::Unknown
            }
            Expr::Compare(c) => {
                self.expr(frame, env, &c.left);
                for e in &c.comparators {
                    self.expr(frame, env, e);
                }
                Ty::Bool
            }
            Expr::Call(call) => self.call(frame, env, call),
            Expr::Attribute(a) => {
                let base = self.expr(frame, env, &a.value);
                if !matches!(a.ctx, ExprContext::Load) {
                    return Ty::Unknown;
                }
                let on_self = matches!(a.value.as_ref(), Expr::Name(n) if Some(n.id.as_str()) == frame.receiver);
                let ty = self.attribute(&base, a, on_self);
                match key_of(expr).and_then(|k| env.get(&k)) {
                    Some(var) => var.ty.clone(),
                    None => ty,
                }
            }
            Expr::Subscript(s) => {
                let value = self.expr(frame, env, &s.value);
                let index = self.expr(frame, env, &s.slice);
                let is_slice = matches!(s.slice.as_ref(), Expr::Slice(_));
                match value {
                    Ty::List(t) if is_slice => Ty::List(t),
                    Ty::List(t) if matches!(index, Ty::Int | Ty::Bool) => *t,
                    Ty::Dict(_, v) => *v,
                    Ty::Str => Ty::Str,
                    Ty::Bytes if is_slice => Ty::Bytes,
                    Ty::Bytes => Ty::Int,
                    _ => Ty::Unknown,
                }
            }
            Expr::Starred(s) => {
                self.expr(frame, env, &s.value);
                Ty::Unknown
            }
            Expr::Slice(s) => {
                for part in [&s.lower, &s.upper, &s.step].into_iter().flatten() {
                    self.expr(frame, env, part);
                }
                Ty::Unknown
            }
        }
    }

    fn comprehension(
        &mut self,
        frame: &mut Frame<'a>,
        env: &mut Env,
        generators: &'a [ast::Comprehension],
        elts: &[&'a Expr],
    ) {
        let mut inner = env.clone();
        for generator in generators {
            let iter = self.expr(frame, &mut inner, &generator.iter);
            let mut names = Vec::new();
            target_names(&generator.target, &mut names);
            let element = element_type(&iter);
            let single = matches!(generator.target, Expr::Name(_));
            for n in names {
                inner.insert(
                    n.to_string(),
                    Var {
                        ty: if single { element.clone() } else { Ty::Unknown },
                        bound: Bound::Yes,
                        since: 0,
                    },
                );
            }
            for cond in &generator.ifs {
                self.expr(frame, &mut inner, cond);
                inner = self.narrow(&inner, cond, true);
            }
        }
        for elt in elts {
            self.expr(frame, &mut inner, elt);
        }
        // Walrus targets bind in the enclosing scope, on the iterations that reach them.
        let mut targets = HashSet::new();
        for generator in generators {
            for cond in &generator.ifs {
                walrus_targets(cond, &mut targets);
            }
        }
        for elt in elts {
            walrus_targets(elt, &mut targets);
        }
        let always = generators.len() == 1
            && generators[0].ifs.is_empty()
            && runs_at_least_once(&generators[0].iter);
        for name in targets {
            if frame.outer.contains(name) {
                continue;
            }
            let Some(inside) = inner.get(name).map(|v| v.bound) else {
                continue;
            };
            let before = env.get(name).map_or(Bound::No, |v| v.bound);
            let bound = if always { inside } else { before.join(inside) };
            env.insert(
                name.to_string(),
                Var {
                    ty: Ty::Unknown,
                    bound,
                    since: frame.depth,
                },
            );
        }
    }

    fn binop(&mut self, op: ast::Operator, left: &Ty, right: &Ty, range: TextRange) -> Ty {
        let mut results = Vec::new();
        let mut failures: Vec<(Ty, Ty)> = Vec::new();
        let mut combos = 0;
        for l in left.members() {
            for r in right.members() {
                combos += 1;
                match self.binop_single(op, l, r) {
                    Ok(t) => results.push(t),
                    Err(()) => failures.push((l.clone(), r.clone())),
                }
            }
        }
        if failures.is_empty() {
            return Ty::union(results);
        }
        let with_none = failures
            .iter()
            .find(|(l, r)| matches!(l, Ty::None) || matches!(r, Ty::None))
            .filter(|_| !self.at_module_level);
        let failure = if failures.len() == combos {
            failures.first()
        } else {
            with_none
        };
        if let Some((l, r)) = failure {
            let (l, r) = (self.show(l), self.show(r));
            let union = left.members().len() > 1 || right.members().len() > 1;
            self.report(rules::unsupported_operand::report(op, &l, &r, union, range));
        }
        Ty::Unknown
    }

    fn binop_single(&mut self, op: ast::Operator, left: &Ty, right: &Ty) -> Result<Ty, ()> {
        if matches!(op, ast::Operator::Mod) && matches!(left, Ty::Str | Ty::Bytes) {
            return Ok(left.clone());
        }
        let (forward, reflected) = stdlib::dunders(op);
        let left_method = self.operator_method(left, forward);
        let right_method = self.operator_method(right, reflected);
        match (left_method, right_method) {
            (Some(Some(fid)), _) => {
                let ret = self.return_type(fid);
                Ok(if matches!(ret, Ty::Coroutine(_)) {
                    Ty::Unknown
                } else {
                    ret
                })
            }
            (_, Some(Some(_))) => Ok(Ty::Unknown),
            // Both sides are known and neither implements the operator.
            (Some(None), Some(None)) => Err(()),
            (Some(None), None) if right.is_builtin_value() => Err(()),
            (None, Some(None)) if left.is_builtin_value() => Err(()),
            (None, None) => stdlib::binary_op(op, left, right),
            _ => Ok(Ty::Unknown),
        }
    }

    /// For an instance of a closed file class: `Some(Some(method))` if it defines the dunder,
    /// `Some(None)` if it surely does not; `None` for any other type.
    fn operator_method(&self, ty: &Ty, dunder: &str) -> Option<Option<FuncId>> {
        let Ty::Instance(c) = ty else { return None };
        if !crate::types::Subtyping::class_is_closed(self.model, *c) {
            return None;
        }
        match self.model.class_member(*c, dunder, 0) {
            Ok(Some(Member::Method(fid))) => Some(Some(fid)),
            Ok(None) => Some(None),
            _ => None,
        }
    }

    /// `on_self`: the value is the method's own `self`. A class's methods often use attributes
    /// that subclasses or mixin partners provide, so there only a likely misspelling (an
    /// attribute of a close name exists) is reported.
    fn attribute(&mut self, base: &Ty, attr: &'a ast::ExprAttribute, on_self: bool) -> Ty {
        let name = attr.attr.as_str();
        let members = base.members();
        let mut results = Vec::new();
        let mut missing: Vec<(Ty, Option<String>)> = Vec::new();
        for member in members {
            match self.attribute_of(member, name) {
                Ok(t) => results.push(t),
                Err(None) if on_self => results.push(Ty::Unknown),
                Err(hint) => missing.push((member.clone(), hint)),
            }
        }
        if missing.is_empty() {
            return Ty::union(results);
        }
        let report = if missing.len() == members.len() {
            missing.first()
        } else {
            missing
                .iter()
                .find(|(t, _)| matches!(t, Ty::None))
                .filter(|_| !self.at_module_level)
        };
        if let Some((ty, hint)) = report {
            let shown = self.show(ty);
            let possibly = members.len() > 1;
            self.report(rules::unknown_attribute::report(
                &shown,
                name,
                hint.as_deref(),
                possibly,
                attr.range,
            ));
        }
        Ty::Unknown
    }

    /// `Err(hint)` when the type surely lacks the attribute.
    fn attribute_of(&mut self, ty: &Ty, name: &str) -> Result<Ty, Option<String>> {
        if let Some(attrs) = ty.builtin_attrs() {
            if attrs.contains(&name) {
                return Ok(Ty::BuiltinMethod(name.to_string(), Box::new(ty.clone())));
            }
            return Err(closest(name, attrs.iter().copied()).map(str::to_string));
        }
        match ty {
            Ty::Instance(c) => {
                if stdlib::OBJECT_ATTRS.contains(&name) || self.model.external_attrs.contains(name)
                {
                    return Ok(Ty::Unknown);
                }
                match self.model.class_member(*c, name, 0) {
                    Ok(Some(Member::Method(fid))) => Ok(match self.model.funcs[fid].kind {
                        FuncKind::Property => self.return_type(fid),
                        FuncKind::StaticMethod => Ty::Function(fid),
                        FuncKind::Opaque => Ty::Unknown,
                        _ => Ty::BoundMethod(fid),
                    }),
                    Ok(Some(Member::Attr(t))) => Ok(t),
                    Err(()) => Ok(Ty::Unknown),
                    Ok(None) => {
                        // Dunders come from decorators and the data model (`__replace__` of a
                        // dataclass, `__match_args__`): never reported.
                        if self.model.subclass_defines(*c, name)
                            || (name.starts_with("__") && name.ends_with("__"))
                        {
                            return Ok(Ty::Unknown);
                        }
                        let mut all = Vec::new();
                        self.model.all_members(*c, &mut all, 0);
                        Err(closest(name, all).map(str::to_string))
                    }
                }
            }
            Ty::Type(inner) => match inner.as_ref() {
                Ty::Instance(c) => {
                    if stdlib::OBJECT_ATTRS.contains(&name)
                        || stdlib::TYPE_ATTRS.contains(&name)
                        || self.model.external_attrs.contains(name)
                    {
                        return Ok(Ty::Unknown);
                    }
                    match self.model.class_member(*c, name, 0) {
                        Ok(Some(Member::Method(fid))) => Ok(match self.model.funcs[fid].kind {
                            FuncKind::ClassMethod => Ty::BoundMethod(fid),
                            FuncKind::StaticMethod | FuncKind::Method => Ty::Function(fid),
                            _ => Ty::Unknown,
                        }),
                        Ok(Some(Member::Attr(t))) => Ok(t),
                        _ => Ok(Ty::Unknown),
                    }
                }
                _ => Ok(Ty::Unknown),
            },
            Ty::Module(module) => Ok(stdlib::module_attribute(module, name)),
            _ => Ok(Ty::Unknown),
        }
    }

    fn call(&mut self, frame: &mut Frame<'a>, env: &mut Env, call: &'a ast::ExprCall) -> Ty {
        let callee = self.expr(frame, env, &call.func);
        let mut positional = Vec::new();
        for arg in call.arguments.args.iter() {
            positional.push(self.expr(frame, env, arg));
        }
        let mut keywords = Vec::new();
        for kw in call.arguments.keywords.iter() {
            keywords.push(self.expr(frame, env, &kw.value));
        }
        // A call may change any attribute it can reach: forget what was narrowed about them.
        for var in env.iter_mut().filter(|(k, _)| k.contains('.')) {
            var.1.ty = Ty::Unknown;
        }
        let called_name = match call.func.as_ref() {
            Expr::Name(n) => Some(n.id.as_str()),
            Expr::Attribute(a) => Some(a.attr.as_str()),
            _ => None,
        };
        if let Some(name) = called_name {
            if self.never_overloads.iter().any(|(_, n)| *n == name) {
                self.called_maybe_no_return = true;
            }
        }
        let unpacking = call
            .arguments
            .args
            .iter()
            .any(|a| matches!(a, Expr::Starred(_)))
            || call.arguments.keywords.iter().any(|k| k.arg.is_none());
        match &callee {
            Ty::Function(fid) => {
                self.check_call(*fid, false, call, &positional, &keywords, unpacking);
                let ty = self.return_type(*fid);
                if self.never_returns(*fid) {
                    self.called_no_return = true;
                }
                ty
            }
            Ty::BoundMethod(fid) => {
                self.check_call(*fid, true, call, &positional, &keywords, unpacking);
                let ty = self.return_type(*fid);
                let f = &self.model.funcs[*fid];
                let overridden = f
                    .class
                    .is_none_or(|c| self.model.subclass_defines(c, f.def.name.as_str()));
                if !overridden && self.never_returns(*fid) {
                    self.called_no_return = true;
                }
                ty
            }
            Ty::Type(inner) => match inner.as_ref() {
                Ty::Instance(c) => {
                    self.check_constructor(*c, call, &positional, &keywords, unpacking);
                    Ty::Instance(*c)
                }
                other => other.clone(),
            },
            Ty::Builtin(name) => self.check_known_call(name, call, &positional, unpacking),
            Ty::BuiltinMethod(method, receiver) => {
                stdlib::method_return(receiver, method, positional.len())
            }
            Ty::Instance(c) => match self.model.class_member(*c, "__call__", 0) {
                Ok(Some(Member::Method(fid))) => self.return_type(fid),
                Ok(None) if crate::types::Subtyping::class_is_closed(self.model, *c) => {
                    let shown = self.show(&callee);
                    self.report(rules::not_callable::report(&shown, call.func.range()));
                    Ty::Unknown
                }
                _ => Ty::Unknown,
            },
            Ty::None
            | Ty::Int
            | Ty::Float
            | Ty::Complex
            | Ty::Bool
            | Ty::Str
            | Ty::Bytes
            | Ty::List(_)
            | Ty::Dict(..)
            | Ty::Set(_)
            | Ty::Tuple
            | Ty::Module(_) => {
                let shown = self.show(&callee);
                self.report(rules::not_callable::report(&shown, call.func.range()));
                Ty::Unknown
            }
            _ => Ty::Unknown,
        }
    }

    fn check_call(
        &mut self,
        fid: FuncId,
        bound: bool,
        call: &'a ast::ExprCall,
        positional: &[Ty],
        keywords: &[Ty],
        unpacking: bool,
    ) {
        let f = &self.model.funcs[fid];
        if matches!(f.kind, FuncKind::Opaque | FuncKind::Property) {
            return;
        }
        // A stub method (`raise NotImplementedError`) is overridden, possibly with another
        // signature (even as a staticmethod): its own signature says little.
        if f.class.is_some() && f.is_stub {
            return;
        }
        let skip = usize::from(bound && f.kind != FuncKind::StaticMethod);
        let params: Vec<Param> = f.params.iter().skip(skip).cloned().collect();
        let name = f.def.name.as_str();
        self.check_arguments(name, &params, call, positional, keywords, unpacking);
    }

    fn check_constructor(
        &mut self,
        class: ClassId,
        call: &'a ast::ExprCall,
        positional: &[Ty],
        keywords: &[Ty],
        unpacking: bool,
    ) {
        let model = self.model;
        if !crate::types::Subtyping::class_is_closed(model, class) {
            return;
        }
        if let Ok(Some(_)) = model.class_member(class, "__new__", 0) {
            return;
        }
        let name = model.classes[class].def.name.as_str();
        match model.class_member(class, "__init__", 0) {
            Ok(Some(Member::Method(fid))) => {
                let f = &model.funcs[fid];
                if f.kind != FuncKind::Method {
                    return;
                }
                let params: Vec<Param> = f.params.iter().skip(1).cloned().collect();
                self.check_arguments(name, &params, call, positional, keywords, unpacking);
            }
            Ok(None) => {
                let info = &model.classes[class];
                if info.dataclass {
                    if info
                        .bases
                        .iter()
                        .any(|b| !matches!(b, crate::model::Base::Object))
                    {
                        return;
                    }
                    let params: Vec<Param> = info
                        .fields
                        .iter()
                        .map(|(n, t, d)| Param {
                            name: n,
                            kind: ParamKind::PositionalOrKeyword,
                            has_default: *d,
                            // A field whose type is a descriptor takes what its `__set__`
                            // accepts, not the descriptor itself.
                            ty: match t {
                                Ty::Instance(c) if self.is_descriptor(*c) => {
                                    self.descriptor_value_type(*c)
                                }
                                t => Some(t.clone()),
                            },
                        })
                        .collect();
                    self.check_arguments(name, &params, call, positional, keywords, unpacking);
                } else if !self.derives_from_dataclass(class) {
                    self.check_arguments(name, &[], call, positional, keywords, unpacking);
                }
            }
            _ => {}
        }
    }

    /// Whether the class defines `__get__`, `__set__` or `__delete__` (or may, through a base
    /// the reviewer does not know).
    fn is_descriptor(&self, class: ClassId) -> bool {
        ["__get__", "__set__", "__delete__"]
            .iter()
            .any(|m| !matches!(self.model.class_member(class, m, 0), Ok(None)))
    }

    /// The annotated type of the value parameter of a descriptor's own `__set__`.
    fn descriptor_value_type(&self, class: ClassId) -> Option<Ty> {
        let Ok(Some(Member::Method(fid))) = self.model.class_member(class, "__set__", 0) else {
            return None;
        };
        let f = &self.model.funcs[fid];
        match (f.kind, f.params.as_slice()) {
            (FuncKind::Method, [_, _, value]) => value.ty.clone(),
            _ => None,
        }
    }

    /// Whether a base of the class is a dataclass: its generated `__init__` is inherited.
    fn derives_from_dataclass(&self, class: ClassId) -> bool {
        let model = self.model;
        (0..model.classes.len()).any(|other| {
            other != class
                && model.classes[other].dataclass
                && model.is_subclass(class, other) != Some(false)
        })
    }

    fn check_arguments(
        &mut self,
        name: &str,
        params: &[Param],
        call: &'a ast::ExprCall,
        positional: &[Ty],
        keywords: &[Ty],
        unpacking: bool,
    ) {
        if unpacking {
            return;
        }
        if let Some(finding) = rules::call_arguments::check(name, params, call) {
            self.report(finding);
            return;
        }
        // Pair each argument with its parameter and compare types.
        let positional_params: Vec<&Param> = params
            .iter()
            .filter(|p| {
                matches!(
                    p.kind,
                    ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
                )
            })
            .collect();
        let varargs = params.iter().find(|p| p.kind == ParamKind::VarArgs);
        for (i, (arg, ty)) in call.arguments.args.iter().zip(positional).enumerate() {
            let param = positional_params.get(i).copied().or(varargs);
            if let Some(param) = param {
                self.check_argument_type(name, param, arg, ty);
            }
        }
        for (kw, ty) in call.arguments.keywords.iter().zip(keywords) {
            let Some(arg) = &kw.arg else { continue };
            if let Some(param) = params
                .iter()
                .find(|p| p.name == arg.as_str() && p.kind != ParamKind::PositionalOnly)
            {
                self.check_argument_type(name, param, &kw.value, ty);
            }
        }
    }

    fn check_argument_type(&mut self, callee: &str, param: &Param, arg: &Expr, ty: &Ty) {
        let Some(expected) = &param.ty else { return };
        if assignable(ty, expected, self.model) {
            return;
        }
        let (actual, expected) = (self.show(ty), self.show(expected));
        self.report(rules::argument_type::report(
            callee,
            param.name,
            &expected,
            &actual,
            arg.range(),
        ));
    }

    fn check_known_call(
        &mut self,
        name: &str,
        call: &'a ast::ExprCall,
        positional: &[Ty],
        unpacking: bool,
    ) -> Ty {
        let Some(sig) = stdlib::signature(name) else {
            return Ty::Unknown;
        };
        if !unpacking && call.arguments.keywords.is_empty() {
            let n = positional.len();
            if n < sig.min || sig.max.is_some_and(|m| n > m) {
                self.report(rules::call_arguments::report_count(
                    name,
                    sig.min,
                    sig.max,
                    n,
                    call.range(),
                ));
                return Ty::Unknown;
            }
        }
        for (i, (arg, ty)) in call.arguments.args.iter().zip(positional).enumerate() {
            let Some(param) = sig.params.get(i) else {
                break;
            };
            if let Some(expected) = &param.ty {
                if !assignable(ty, expected, self.model) {
                    let (actual, expected) = (self.show(ty), self.show(expected));
                    self.report(rules::argument_type::report(
                        name,
                        param.name,
                        &expected,
                        &actual,
                        arg.range(),
                    ));
                }
            }
        }
        if name == "len" {
            if let Some(ty) = positional.first() {
                if matches!(ty, Ty::Int | Ty::Float | Ty::Bool | Ty::None | Ty::Complex) {
                    let shown = self.show(ty);
                    self.report(rules::argument_type::report(
                        name,
                        "obj",
                        "Sized",
                        &shown,
                        call.arguments.args[0].range(),
                    ));
                }
            }
        }
        stdlib::refine_return(name, positional.len(), sig.returns)
    }

    /// The environment in which `test` is known to be `positive`.
    fn narrow(&self, env: &Env, test: &Expr, positive: bool) -> Env {
        match test {
            Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => {
                self.narrow(env, &u.operand, !positive)
            }
            Expr::BoolOp(b) => {
                let and = matches!(b.op, ast::BoolOp::And);
                if and == positive {
                    // All operands hold (and) / none holds (or): narrow by each in turn.
                    b.values
                        .iter()
                        .fold(env.clone(), |acc, v| self.narrow(&acc, v, positive))
                } else {
                    // Some operand decides: join the ways it can happen.
                    let mut acc = env.clone();
                    let mut outcomes = Vec::new();
                    for v in &b.values {
                        outcomes.push(Some(self.narrow(&acc, v, positive)));
                        acc = self.narrow(&acc, v, !positive);
                    }
                    join_all(outcomes, usize::MAX).unwrap_or_else(|| env.clone())
                }
            }
            Expr::Named(n) => {
                let mut out = env.clone();
                if let Expr::Name(t) = n.target.as_ref() {
                    let entry = out.entry(t.id.to_string()).or_insert(Var {
                        ty: Ty::Unknown,
                        bound: Bound::Yes,
                        since: 0,
                    });
                    entry.bound = Bound::Yes;
                }
                self.narrow(&out, &n.target, positive)
            }
            Expr::Compare(c) if c.ops.len() == 1 => {
                let (op, right) = (c.ops[0], &c.comparators[0]);
                let is_none = matches!(right, Expr::NoneLiteral(_));
                let Some(key) = key_of(&c.left) else {
                    return self.narrow_type_call(env, c, positive);
                };
                let Some(var) = tracked(env, &key) else {
                    return env.clone();
                };
                let mut out = env.clone();
                let ty = match (op, is_none) {
                    (CmpOp::Is | CmpOp::Eq, true) if positive => keep_none(&var.ty),
                    (CmpOp::Is, true) => var.ty.without_none(),
                    (CmpOp::IsNot, true) if positive => var.ty.without_none(),
                    (CmpOp::IsNot | CmpOp::NotEq, true) => keep_none(&var.ty),
                    (CmpOp::Eq, true) => var.ty.clone(),
                    // `x is y`: `x` is also whatever `y` is, perhaps an instance of a class
                    // deriving from both types; the reviewer does not model that.
                    (CmpOp::Is, false) if positive => Ty::Unknown,
                    _ => return self.narrow_type_call(env, c, positive),
                };
                out.insert(
                    key,
                    Var {
                        ty,
                        bound: var.bound,
                        since: var.since,
                    },
                );
                out
            }
            Expr::Call(call) => {
                let Expr::Name(func) = call.func.as_ref() else {
                    return env.clone();
                };
                let args = &call.arguments.args;
                match (func.id.as_str(), args.len()) {
                    ("isinstance", 2) => {
                        let Some(key) = key_of(&args[0]) else {
                            return env.clone();
                        };
                        let Some(var) = tracked(env, &key) else {
                            return env.clone();
                        };
                        let classes = self.classinfo_types(&args[1]);
                        let ty =
                            narrow_isinstance(&var.ty, classes.as_deref(), positive, self.model);
                        let mut out = env.clone();
                        out.insert(
                            key,
                            Var {
                                ty,
                                bound: var.bound,
                                since: var.since,
                            },
                        );
                        out
                    }
                    ("hasattr" | "callable", _) if positive => {
                        let Some(key) = args.first().and_then(key_of) else {
                            return env.clone();
                        };
                        let mut out = env.clone();
                        if let Some(var) = out.get_mut(&key) {
                            var.ty = Ty::Unknown;
                        }
                        out
                    }
                    _ => env.clone(),
                }
            }
            other => {
                let Some(key) = key_of(other) else {
                    return env.clone();
                };
                let Some(var) = tracked(env, &key) else {
                    return env.clone();
                };
                if positive {
                    let mut out = env.clone();
                    out.insert(
                        key,
                        Var {
                            ty: var.ty.without_none(),
                            bound: var.bound,
                            since: 0,
                        },
                    );
                    out
                } else {
                    env.clone()
                }
            }
        }
    }

    /// `type(x) is C` / `type(x) == C`.
    fn narrow_type_call(&self, env: &Env, c: &ast::ExprCompare, positive: bool) -> Env {
        let (op, right) = (c.ops[0], &c.comparators[0]);
        if !positive || !matches!(op, CmpOp::Is | CmpOp::Eq) {
            return env.clone();
        }
        let Expr::Call(call) = c.left.as_ref() else {
            return env.clone();
        };
        if !matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "type")
            || call.arguments.args.len() != 1
        {
            return env.clone();
        }
        let Some(key) = key_of(&call.arguments.args[0]) else {
            return env.clone();
        };
        let Some(classes) = self.classinfo_types(right) else {
            return env.clone();
        };
        let mut out = env.clone();
        if let (Some(var), [ty]) = (out.get_mut(&key), classes.as_slice()) {
            var.ty = ty.clone();
        }
        out
    }

    /// The instance types an `isinstance` class argument names; `None` if any is unknown.
    fn classinfo_types(&self, expr: &Expr) -> Option<Vec<Ty>> {
        match expr {
            Expr::Tuple(t) => {
                let mut out = Vec::new();
                for e in &t.elts {
                    out.extend(self.classinfo_types(e)?);
                }
                Some(out)
            }
            Expr::Name(n) => {
                let ty = match self.model.globals.get(n.id.as_str()) {
                    Some(t) => t.clone(),
                    None => stdlib::builtin_name(n.id.as_str()),
                };
                match ty {
                    Ty::Type(inner) => Some(vec![*inner]),
                    _ if n.id.as_str() == "type" => None,
                    _ => None,
                }
            }
            Expr::NoneLiteral(_) => Some(vec![Ty::None]),
            _ => None,
        }
    }
}

/// The variable a narrowing applies to. An attribute path not tracked yet is tracked from
/// here on as `Unknown`: the reviewer does not model what a condition on it proves.
fn tracked(env: &Env, key: &str) -> Option<Var> {
    match env.get(key) {
        Some(var) => Some(var.clone()),
        None if key.contains('.') => Some(Var {
            ty: Ty::Unknown,
            bound: Bound::Yes,
            since: 0,
        }),
        None => None,
    }
}

fn keep_none(ty: &Ty) -> Ty {
    if ty.contains_none() {
        Ty::None
    } else {
        ty.clone()
    }
}

fn narrow_isinstance(ty: &Ty, classes: Option<&[Ty]>, positive: bool, model: &Model) -> Ty {
    let Some(classes) = classes else {
        return if positive { Ty::Unknown } else { ty.clone() };
    };
    let matches = |member: &Ty| -> Option<bool> {
        let mut unsure = false;
        for class in classes {
            match (member, class) {
                (Ty::Unknown | Ty::Any, _) => return None,
                (Ty::Instance(a), Ty::Instance(b)) => {
                    match crate::types::Subtyping::is_subclass(model, *a, *b) {
                        Some(true) => return Some(true),
                        None => unsure = true,
                        Some(false) => {}
                    }
                }
                (Ty::Bool, Ty::Int) => return Some(true),
                (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => {
                    return Some(true)
                }
                (Ty::Instance(_), _) | (_, Ty::Instance(_)) => unsure = true,
                _ => {}
            }
        }
        if unsure {
            None
        } else {
            Some(false)
        }
    };
    if positive {
        if ty.is_unknown() {
            // Subclasses of containers (named tuples, OrderedDict) add attributes: an unknown
            // value narrowed to one stays unknown.
            if classes
                .iter()
                .any(|c| matches!(c, Ty::Tuple | Ty::List(_) | Ty::Dict(..) | Ty::Set(_)))
            {
                return Ty::Unknown;
            }
            return if classes.len() == 1 {
                classes[0].clone()
            } else {
                Ty::union(classes.iter().cloned())
            };
        }
        let mut kept = Vec::new();
        for m in ty.members() {
            match matches(m) {
                Some(true) => kept.push(m.clone()),
                Some(false) => {}
                None => return Ty::Unknown,
            }
        }
        if kept.is_empty() {
            Ty::Unknown
        } else {
            Ty::union(kept)
        }
    } else {
        let mut kept = Vec::new();
        for m in ty.members() {
            match matches(m) {
                Some(true) => {}
                _ => kept.push(m.clone()),
            }
        }
        if kept.is_empty() {
            Ty::Unknown
        } else {
            Ty::union(kept)
        }
    }
}

/// The narrowing key of `x` or `x.y.z` (names and attribute chains only).
fn key_of(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => key_of(&a.value).map(|k| format!("{k}.{}", a.attr.as_str())),
        Expr::Named(n) => key_of(&n.target),
        _ => None,
    }
}

fn invalidate_prefix(env: &mut Env, name: &str) {
    let prefix = format!("{name}.");
    env.retain(|k, _| !k.starts_with(&prefix));
}

/// A name bound on some paths only: maybe bound (unless it already was), type unknown.
fn bind_maybe(frame: &Frame<'_>, env: &mut Env, name: &str) {
    if frame.outer.contains(name) {
        return;
    }
    let bound = match env.get(name).map(|v| v.bound) {
        Some(Bound::Yes) => Bound::Yes,
        _ => Bound::Maybe,
    };
    env.insert(
        name.to_string(),
        Var {
            ty: Ty::Unknown,
            bound,
            since: frame.depth,
        },
    );
}

/// The names walrus expressions bind in `expr`, not looking into lambdas.
fn walrus_targets<'e>(expr: &'e Expr, out: &mut HashSet<&'e str>) {
    struct Walrus<'e, 'o>(&'o mut HashSet<&'e str>);
    impl<'e> Visitor<'e> for Walrus<'e, '_> {
        fn visit_expr(&mut self, expr: &'e Expr) {
            if let Expr::Named(n) = expr {
                if let Expr::Name(t) = n.target.as_ref() {
                    self.0.insert(t.id.as_str());
                }
            }
            if !matches!(expr, Expr::Lambda(_)) {
                visitor::walk_expr(self, expr);
            }
        }
    }
    Walrus(out).visit_expr(expr);
}

fn runs_at_least_once(iter: &Expr) -> bool {
    // A display with one element that is not an unpacking is never empty.
    let has_plain = |elts: &[Expr]| elts.iter().any(|e| !matches!(e, Expr::Starred(_)));
    match iter {
        Expr::Tuple(t) => has_plain(&t.elts),
        Expr::List(l) => has_plain(&l.elts),
        Expr::Set(s) => has_plain(&s.elts),
        Expr::Dict(d) => d.items.iter().any(|item| item.key.is_some()),
        Expr::StringLiteral(s) => !s.value.is_empty(),
        Expr::Call(c) => {
            matches!(c.func.as_ref(), Expr::Attribute(a) if matches!(a.attr.as_str(), "split" | "rsplit"))
                && !c.arguments.args.is_empty()
        }
        _ => false,
    }
}

fn element_type(iter: &Ty) -> Ty {
    match iter {
        Ty::List(t) | Ty::Set(t) => (**t).clone(),
        Ty::Dict(k, _) => (**k).clone(),
        Ty::Str => Ty::Str,
        Ty::Bytes => Ty::Int,
        Ty::Opaque("range") => Ty::Int,
        _ => Ty::Unknown,
    }
}

/// Calls that never return: `sys.exit()`, `exit()`, `os._exit()`, `typing.assert_never()`,
/// and pytest's `fail`, `skip`, `xfail` and `exit` (all declared `NoReturn`).
fn is_no_return_call(expr: &Expr) -> bool {
    let Expr::Call(call) = expr else { return false };
    match call.func.as_ref() {
        Expr::Name(n) => matches!(n.id.as_str(), "exit" | "quit" | "assert_never"),
        Expr::Attribute(a) => {
            let Expr::Name(m) = a.value.as_ref() else {
                return false;
            };
            matches!(
                (m.id.as_str(), a.attr.as_str()),
                ("sys", "exit")
                    | ("os", "_exit" | "abort")
                    | ("typing" | "typing_extensions", "assert_never")
                    | ("pytest", "fail" | "skip" | "xfail" | "exit")
            )
        }
        _ => false,
    }
}

/// The loop head: names the loop assigns lose their type, and are only maybe bound if they
/// were not bound before.
fn widen_for_loop(env: &Env, body: &[Stmt], orelse: &[Stmt], depth: usize) -> Env {
    let mut assigned = scope_locals(body);
    assigned.extend(scope_locals(orelse));
    let mut out = env.clone();
    for name in assigned {
        if let Some(var) = out.get_mut(name) {
            var.ty = Ty::Unknown;
            if var.bound == Bound::No {
                var.bound = Bound::Maybe;
                var.since = depth;
            }
        }
        invalidate_prefix(&mut out, name);
    }
    out.retain(|k, _| !k.contains('.'));
    out
}

fn widen_assigned(env: &Env, body: &[Stmt], depth: usize) -> Env {
    let assigned = scope_locals(body);
    let mut out = env.clone();
    for name in assigned {
        if let Some(var) = out.get_mut(name) {
            var.ty = Ty::Unknown;
            if var.bound == Bound::No {
                var.bound = Bound::Maybe;
                var.since = depth;
            }
        }
    }
    out.retain(|k, _| !k.contains('.'));
    out
}

fn widen_match(env: &Env, m: &ast::StmtMatch) -> Env {
    let _ = m;
    env.clone()
}

fn pattern_names<'a>(pattern: &'a ast::Pattern, out: &mut Vec<&'a str>) {
    struct Names<'a, 'o>(&'o mut Vec<&'a str>);
    impl<'a> Visitor<'a> for Names<'a, '_> {
        fn visit_pattern(&mut self, pattern: &'a ast::Pattern) {
            let name = match pattern {
                ast::Pattern::MatchAs(p) => p.name.as_ref(),
                ast::Pattern::MatchStar(p) => p.name.as_ref(),
                ast::Pattern::MatchMapping(p) => p.rest.as_ref(),
                _ => None,
            };
            if let Some(n) = name {
                self.0.push(n.as_str());
            }
            visitor::walk_pattern(self, pattern);
        }
    }
    Names(out).visit_pattern(pattern);
}

/// Every name bound in a body (not in nested functions or classes, except their own names).
pub(crate) fn scope_locals(body: &[Stmt]) -> HashSet<&str> {
    struct Locals<'a>(HashSet<&'a str>);
    impl<'a> Visitor<'a> for Locals<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(f) => {
                    self.0.insert(f.name.as_str());
                    for d in &f.decorator_list {
                        self.visit_expr(&d.expression);
                    }
                }
                Stmt::ClassDef(c) => {
                    self.0.insert(c.name.as_str());
                }
                Stmt::Import(i) => {
                    for a in &i.names {
                        let bound = a.asname.as_ref().map_or_else(
                            || a.name.as_str().split('.').next().unwrap_or(""),
                            |n| n.as_str(),
                        );
                        self.0.insert(bound);
                    }
                }
                Stmt::ImportFrom(i) => {
                    for a in &i.names {
                        if a.name.as_str() != "*" {
                            self.0.insert(a.asname.as_ref().unwrap_or(&a.name).as_str());
                        }
                    }
                }
                Stmt::Try(t) => {
                    for h in &t.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        if let Some(n) = &h.name {
                            self.0.insert(n.as_str());
                        }
                    }
                    visitor::walk_stmt(self, stmt);
                }
                Stmt::Match(m) => {
                    for case in &m.cases {
                        let mut names = Vec::new();
                        pattern_names(&case.pattern, &mut names);
                        self.0.extend(names);
                    }
                    visitor::walk_stmt(self, stmt);
                }
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Name(n) if matches!(n.ctx, ExprContext::Store | ExprContext::Del) => {
                    self.0.insert(n.id.as_str());
                }
                Expr::Lambda(_)
                | Expr::ListComp(_)
                | Expr::SetComp(_)
                | Expr::DictComp(_)
                | Expr::Generator(_) => {
                    // Own scopes; only walrus targets leak out of comprehensions.
                    struct Walrus<'a, 'o>(&'o mut HashSet<&'a str>);
                    impl<'a> Visitor<'a> for Walrus<'a, '_> {
                        fn visit_expr(&mut self, expr: &'a Expr) {
                            if let Expr::Named(n) = expr {
                                if let Expr::Name(t) = n.target.as_ref() {
                                    self.0.insert(t.id.as_str());
                                }
                            }
                            if !matches!(expr, Expr::Lambda(_)) {
                                visitor::walk_expr(self, expr);
                            }
                        }
                    }
                    if !matches!(expr, Expr::Lambda(_)) {
                        visitor::walk_expr(&mut Walrus(&mut self.0), expr);
                    }
                }
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    let mut locals = Locals(HashSet::new());
    locals.visit_body(body);
    locals.0
}

fn outer_names(body: &[Stmt]) -> HashSet<&str> {
    struct Outer<'a>(HashSet<&'a str>);
    impl<'a> Visitor<'a> for Outer<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::Global(g) => self.0.extend(g.names.iter().map(|n| n.as_str())),
                Stmt::Nonlocal(g) => self.0.extend(g.names.iter().map(|n| n.as_str())),
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                _ => visitor::walk_stmt(self, stmt),
            }
        }
    }
    let mut outer = Outer(HashSet::new());
    outer.visit_body(body);
    outer.0
}
