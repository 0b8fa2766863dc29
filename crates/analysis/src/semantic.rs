//! Scopes and bindings: drives `ruff_python_semantic`'s [`SemanticModel`] over a module.
//!
//! The walk follows Python's own order of evaluation: module and class bodies run as they are
//! read, while function bodies, lambdas and annotations are deferred until the module is done
//! (that is when they run, or are looked at, in practice), each restored to the scope it was
//! written in. Every load is resolved against the model; what stays unresolved, and which
//! bindings end up never read, feeds the name rules.

use std::collections::HashSet;

use ruff_python_ast::name::QualifiedName;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, PySourceType, PythonVersion, Stmt};
use ruff_python_semantic::{
    BindingFlags, BindingKind, FromImport, GeneratorKind, Globals, Import, Module, ModuleKind,
    ModuleSource, ReadResult, ScopeId, ScopeKind, SemanticModel, Snapshot, StarImport,
    SubmoduleImport,
};
use ruff_text_size::{Ranged, TextRange};

use crate::finding::RawFinding;
use crate::rules;

/// What the name pass hands to the rules.
pub(crate) struct NameFacts<'a> {
    /// Loads that resolve to nothing, with the name.
    pub undefined: Vec<(&'a str, TextRange)>,
    /// Loads in a loop of a name the loop binds only further down: the first iteration fails,
    /// later ones may not.
    pub possibly_unbound: Vec<(&'a str, TextRange)>,
    /// Imports bound and never read: (bound name, qualified name, range of the alias).
    pub unused_imports: Vec<(&'a str, String, TextRange)>,
    /// Function locals assigned and never read.
    pub unused_variables: Vec<(&'a str, TextRange)>,
}

/// Runs the name pass over a parsed module and appends the name rules' findings.
pub(crate) fn check_names(
    module: &ast::ModModule,
    source: &str,
    is_package_init: bool,
    out: &mut Vec<RawFinding>,
) {
    let facts = collect(module, source, is_package_init);
    rules::undefined_name::check(&facts, out);
    rules::possibly_unbound::check(&facts, out);
    rules::unused_import::check(&facts, out);
    rules::unused_variable::check(&facts, out);
}

#[derive(Clone, Copy)]
enum Deferred<'a> {
    Function(&'a ast::StmtFunctionDef),
    Lambda(&'a ast::ExprLambda),
    Annotation(&'a Expr),
}

#[derive(Clone, Copy)]
enum StoreKind {
    Assignment,
    Unpacked,
    LoopVar,
    WithItem,
    Named,
    Annotation,
}

struct Binder<'a> {
    semantic: SemanticModel<'a>,
    deferred: Vec<(Deferred<'a>, Snapshot)>,
    store_kind: StoreKind,
    /// How many enclosing `try` bodies have a handler that catches `NameError`.
    name_error_guard: usize,
    /// How many `try` bodies enclose the statement (imports there are availability probes).
    try_depth: usize,
    imports_in_try: HashSet<TextRange>,
    undefined: Vec<(&'a str, TextRange)>,
    /// Unresolved loads inside a loop that binds the name later on.
    read_ahead_in_loop: Vec<(&'a str, TextRange)>,
    /// For each enclosing loop of the scope being walked, the names its body binds.
    loop_bindings: Vec<HashSet<&'a str>>,
    function_scopes: Vec<ScopeId>,
}

static NO_STRINGS: [String; 0] = [];

fn collect<'a>(
    module: &'a ast::ModModule,
    source: &'a str,
    is_package_init: bool,
) -> NameFacts<'a> {
    let module_info = Module {
        kind: if is_package_init {
            ModuleKind::Package
        } else {
            ModuleKind::Module
        },
        source: ModuleSource::File(std::path::Path::new("module.py")),
        python_ast: &module.body,
        name: None,
    };
    let semantic = SemanticModel::new(
        &NO_STRINGS,
        &NO_STRINGS,
        PythonVersion::PY313,
        PySourceType::Python,
        std::path::Path::new("module.py"),
        module_info,
    );
    let mut binder = Binder {
        semantic,
        deferred: Vec::new(),
        store_kind: StoreKind::Assignment,
        name_error_guard: 0,
        try_depth: 0,
        imports_in_try: HashSet::new(),
        undefined: Vec::new(),
        read_ahead_in_loop: Vec::new(),
        loop_bindings: Vec::new(),
        function_scopes: Vec::new(),
    };
    if let Some(globals) = Globals::from_body(&module.body) {
        binder.semantic.set_globals(globals);
    }
    binder.visit_body(&module.body);
    binder.run_deferred();

    let prescan = Prescan::of(module, source);
    let keep = |&(name, _): &(&str, TextRange)| {
        !prescan.dynamic_globals
            && !prescan.declared_global.contains(name)
            && !prescan.walrus.contains(name)
    };
    let possibly_unbound = binder
        .read_ahead_in_loop
        .iter()
        .copied()
        .filter(keep)
        .collect();
    let undefined = binder
        .undefined
        .iter()
        .copied()
        .filter(|_| !prescan.dynamic_globals)
        .filter(|(name, _)| {
            !prescan.declared_global.contains(*name) && !prescan.walrus.contains(*name)
        })
        .filter(|(name, _)| {
            !prescan.type_params.contains(*name) && !prescan.declared_only.contains(*name)
        })
        // `_` is commonly installed into builtins by gettext.
        .filter(|(name, _)| {
            !matches!(
                *name,
                "__class__"
                    | "__module__"
                    | "__qualname__"
                    | "__annotations__"
                    | "_"
                    | "reveal_type"
                    | "reveal_locals"
            )
        })
        .collect();

    let semantic = &binder.semantic;
    let mut unused_imports = Vec::new();
    if !is_package_init && !prescan.module_getattr {
        for scope in semantic.scopes.iter() {
            for (name, id) in scope.bindings() {
                let binding = semantic.binding(id);
                if !binding.is_unused() || binding.is_explicit_export() {
                    continue;
                }
                let qualified = match &binding.kind {
                    BindingKind::Import(Import { qualified_name })
                    | BindingKind::FromImport(FromImport { qualified_name })
                    | BindingKind::SubmoduleImport(SubmoduleImport { qualified_name }) => {
                        qualified_name.to_string()
                    }
                    _ => continue,
                };
                // A public module re-exporting its private implementation module
                // (`from _ssl import ...` in ssl.py), and imported dunders, are API, not leftovers.
                let facade = matches!(binding.kind, BindingKind::FromImport(_))
                    && binding.scope.is_global()
                    && qualified.starts_with('_');
                if binder.imports_in_try.contains(&binding.range)
                    || prescan.mentioned_in_strings.contains(name)
                    || prescan.dunder_all.contains(name)
                    || facade
                    || (name.starts_with("__") && name.ends_with("__"))
                {
                    continue;
                }
                unused_imports.push((name, qualified, binding.range));
            }
        }
    }

    let mut unused_variables = Vec::new();
    for &scope_id in &binder.function_scopes {
        let scope = &semantic.scopes[scope_id];
        if scope.uses_locals() {
            continue;
        }
        for (name, id) in scope.bindings() {
            let binding = semantic.binding(id);
            if !matches!(
                binding.kind,
                BindingKind::Assignment
                    | BindingKind::NamedExprAssignment
                    | BindingKind::WithItemVar
            ) {
                continue;
            }
            if !binding.is_unused()
                || binding.is_unpacked_assignment()
                || binding.is_global()
                || binding.is_nonlocal()
                || name.starts_with('_')
                || prescan.declared_global.contains(name)
            {
                continue;
            }
            unused_variables.push((name, binding.range));
        }
    }
    unused_imports.sort_by_key(|(_, _, r)| r.start());
    unused_variables.sort_by_key(|(_, r)| r.start());
    NameFacts {
        undefined,
        possibly_unbound,
        unused_imports,
        unused_variables,
    }
}

impl<'a> Binder<'a> {
    fn add_binding(
        &mut self,
        name: &'a str,
        range: TextRange,
        kind: BindingKind<'a>,
        flags: BindingFlags,
    ) {
        let binding_id = self.semantic.push_binding(name, range, kind, flags);
        let scope_id = self.semantic.scope_id;
        if let Some(shadowed_id) = self.semantic.scopes[scope_id].get(name) {
            if self.semantic.bindings[binding_id].kind.is_annotation() {
                self.semantic
                    .add_delayed_annotation(shadowed_id, binding_id);
                return;
            }
            let shadowed = &self.semantic.bindings[shadowed_id];
            if !matches!(
                shadowed.kind,
                BindingKind::Builtin | BindingKind::Deletion | BindingKind::UnboundException(_)
            ) {
                // A rebinding inherits the reads of the binding it replaces, so `x = 1; use(x);
                // x = 2` does not make the second assignment look unused.
                let references = shadowed.references.clone();
                let mut extra = BindingFlags::empty();
                if shadowed.is_global() {
                    extra |= BindingFlags::GLOBAL;
                }
                if shadowed.is_nonlocal() {
                    extra |= BindingFlags::NONLOCAL;
                }
                let binding = &mut self.semantic.bindings[binding_id];
                binding.references = references;
                binding.flags |= extra;
            }
        }
        self.semantic.scopes[scope_id].add(name, binding_id);
    }

    fn defer(&mut self, item: Deferred<'a>) {
        self.deferred.push((item, self.semantic.snapshot()));
    }

    fn run_deferred(&mut self) {
        // Deferred bodies run after the module, outside the loops they were written in.
        self.loop_bindings.clear();
        let mut next = 0;
        while next < self.deferred.len() {
            let (item, snapshot) = self.deferred[next];
            next += 1;
            self.semantic.restore(snapshot);
            match item {
                Deferred::Annotation(expr) => self.visit_annotation_expr(expr),
                Deferred::Function(function) => {
                    self.semantic.push_scope(ScopeKind::Function(function));
                    self.function_scopes.push(self.semantic.scope_id);
                    if let Some(globals) = Globals::from_body(&function.body) {
                        self.semantic.set_globals(globals);
                    }
                    self.bind_parameters(&function.parameters);
                    self.visit_body(&function.body);
                }
                Deferred::Lambda(lambda) => {
                    self.semantic.push_scope(ScopeKind::Lambda(lambda));
                    if let Some(parameters) = &lambda.parameters {
                        self.bind_parameters(parameters);
                    }
                    self.visit_expr(&lambda.body);
                }
            }
        }
    }

    fn bind_parameters(&mut self, parameters: &'a ast::Parameters) {
        for p in parameters.iter() {
            let name = p.name();
            self.add_binding(
                name.as_str(),
                name.range(),
                BindingKind::Argument,
                BindingFlags::empty(),
            );
        }
    }

    /// Annotations are only read for the names they use; string annotations are skipped (the
    /// prescan counts the names in them as used for the import rule).
    fn visit_annotation_expr(&mut self, expr: &'a Expr) {
        if matches!(expr, Expr::StringLiteral(_)) {
            return;
        }
        self.visit_expr(expr);
    }

    fn visit_parameter_defaults(&mut self, parameters: &'a ast::Parameters) {
        for p in parameters.iter_non_variadic_params() {
            if let Some(default) = &p.default {
                self.visit_expr(default);
            }
        }
        for p in parameters.iter() {
            if let Some(annotation) = p.annotation() {
                self.defer(Deferred::Annotation(annotation));
            }
        }
    }

    fn visit_store(&mut self, target: &'a Expr, kind: StoreKind) {
        let saved = self.store_kind;
        self.store_kind = kind;
        self.visit_expr(target);
        self.store_kind = saved;
    }

    fn visit_comprehension_scope(
        &mut self,
        generators: &'a [ast::Comprehension],
        elts: &[&'a Expr],
        kind: GeneratorKind,
    ) {
        let Some(first) = generators.first() else {
            return;
        };
        self.visit_expr(&first.iter);
        let snapshot = self.semantic.snapshot();
        self.semantic.push_scope(ScopeKind::Generator {
            kind,
            is_async: generators.iter().any(|g| g.is_async),
        });
        for (i, generator) in generators.iter().enumerate() {
            if i > 0 {
                self.visit_expr(&generator.iter);
            }
            self.visit_store(&generator.target, StoreKind::Assignment);
            for cond in &generator.ifs {
                self.visit_expr(cond);
            }
        }
        for elt in elts {
            self.visit_expr(elt);
        }
        self.semantic.restore(snapshot);
    }

    fn handles_name_error(handlers: &[ast::ExceptHandler]) -> bool {
        fn names_it(expr: &Expr) -> bool {
            match expr {
                Expr::Name(n) => matches!(
                    n.id.as_str(),
                    "NameError" | "Exception" | "BaseException" | "UnboundLocalError"
                ),
                Expr::Tuple(t) => t.iter().any(names_it),
                _ => false,
            }
        }
        handlers.iter().any(|h| {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            h.type_.as_deref().is_none_or(names_it)
        })
    }
}

impl<'a> Visitor<'a> for Binder<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(function) => {
                for decorator in &function.decorator_list {
                    self.visit_expr(&decorator.expression);
                }
                self.visit_parameter_defaults(&function.parameters);
                if let Some(returns) = &function.returns {
                    self.defer(Deferred::Annotation(returns));
                }
                let scope_id = self.semantic.scope_id;
                self.add_binding(
                    function.name.as_str(),
                    function.name.range(),
                    BindingKind::FunctionDefinition(scope_id),
                    BindingFlags::empty(),
                );
                self.defer(Deferred::Function(function));
            }
            Stmt::ClassDef(class) => {
                for decorator in &class.decorator_list {
                    self.visit_expr(&decorator.expression);
                }
                if let Some(arguments) = &class.arguments {
                    self.visit_arguments(arguments);
                }
                let snapshot = self.semantic.snapshot();
                self.semantic.push_scope(ScopeKind::Class(class));
                let class_scope = self.semantic.scope_id;
                self.visit_body(&class.body);
                self.semantic.restore(snapshot);
                self.add_binding(
                    class.name.as_str(),
                    class.name.range(),
                    BindingKind::ClassDefinition(class_scope),
                    BindingFlags::empty(),
                );
            }
            Stmt::Import(import) => {
                for alias in &import.names {
                    let module = alias.name.as_str();
                    let (bound, kind) = match &alias.asname {
                        Some(asname) => (
                            asname.as_str(),
                            BindingKind::Import(Import {
                                qualified_name: Box::new(QualifiedName::from_dotted_name(module)),
                            }),
                        ),
                        None if module.contains('.') => (
                            module.split('.').next().unwrap_or(module),
                            BindingKind::SubmoduleImport(SubmoduleImport {
                                qualified_name: Box::new(QualifiedName::from_dotted_name(module)),
                            }),
                        ),
                        None => (
                            module,
                            BindingKind::Import(Import {
                                qualified_name: Box::new(QualifiedName::from_dotted_name(module)),
                            }),
                        ),
                    };
                    let mut flags = BindingFlags::EXTERNAL;
                    if alias.asname.as_ref().is_some_and(|a| a.as_str() == module) {
                        flags |= BindingFlags::EXPLICIT_EXPORT;
                    }
                    if self.try_depth > 0 {
                        self.imports_in_try.insert(alias.range());
                    }
                    self.add_binding(bound, alias.range(), kind, flags);
                }
            }
            Stmt::ImportFrom(import) => {
                let module = import.module.as_ref().map(|m| m.as_str());
                for alias in &import.names {
                    let name = alias.name.as_str();
                    if name == "*" {
                        self.semantic
                            .current_scope_mut()
                            .add_star_import(StarImport {
                                level: import.level,
                                module,
                            });
                        continue;
                    }
                    let bound = alias.asname.as_ref().map_or(name, |a| a.as_str());
                    if module == Some("__future__") {
                        self.add_binding(
                            bound,
                            alias.range(),
                            BindingKind::FutureImport,
                            BindingFlags::empty(),
                        );
                        continue;
                    }
                    let qualified: QualifiedName<'a> = module
                        .into_iter()
                        .flat_map(|m| m.split('.'))
                        .chain(std::iter::once(name))
                        .collect();
                    let mut flags = BindingFlags::EXTERNAL;
                    if alias.asname.as_ref().is_some_and(|a| a.as_str() == name) {
                        flags |= BindingFlags::EXPLICIT_EXPORT;
                    }
                    if self.try_depth > 0 {
                        self.imports_in_try.insert(alias.range());
                    }
                    self.add_binding(
                        bound,
                        alias.range(),
                        BindingKind::FromImport(FromImport {
                            qualified_name: Box::new(qualified),
                        }),
                        flags,
                    );
                }
            }
            Stmt::Global(global) => {
                if !self.semantic.scope_id.is_global() {
                    for name in &global.names {
                        let existing = self.semantic.global_scope().get(name.as_str());
                        self.add_binding(
                            name.as_str(),
                            name.range(),
                            BindingKind::Global(existing),
                            BindingFlags::GLOBAL,
                        );
                    }
                }
            }
            Stmt::Nonlocal(nonlocal) => {
                for name in &nonlocal.names {
                    self.add_binding(
                        name.as_str(),
                        name.range(),
                        BindingKind::Global(None),
                        BindingFlags::NONLOCAL,
                    );
                }
            }
            Stmt::Assign(assign) => {
                self.visit_expr(&assign.value);
                for target in &assign.targets {
                    let kind = if matches!(target, Expr::Tuple(_) | Expr::List(_)) {
                        StoreKind::Unpacked
                    } else {
                        StoreKind::Assignment
                    };
                    self.visit_store(target, kind);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.visit_expr(value);
                }
                self.defer(Deferred::Annotation(&assign.annotation));
                let kind = if assign.value.is_some() {
                    StoreKind::Assignment
                } else {
                    StoreKind::Annotation
                };
                self.visit_store(&assign.target, kind);
            }
            Stmt::AugAssign(assign) => {
                self.visit_expr(&assign.value);
                if let Expr::Name(name) = assign.target.as_ref() {
                    self.load(name);
                }
                self.visit_store(&assign.target, StoreKind::Assignment);
            }
            Stmt::For(for_stmt) => {
                self.visit_expr(&for_stmt.iter);
                self.loop_bindings
                    .push(crate::infer::scope_locals(&for_stmt.body));
                self.visit_store(&for_stmt.target, StoreKind::LoopVar);
                self.visit_body(&for_stmt.body);
                self.loop_bindings.pop();
                self.visit_body(&for_stmt.orelse);
            }
            Stmt::While(while_stmt) => {
                self.loop_bindings
                    .push(crate::infer::scope_locals(&while_stmt.body));
                self.visit_expr(&while_stmt.test);
                self.visit_body(&while_stmt.body);
                self.loop_bindings.pop();
                self.visit_body(&while_stmt.orelse);
            }
            Stmt::With(with) => {
                for item in &with.items {
                    self.visit_expr(&item.context_expr);
                    if let Some(vars) = &item.optional_vars {
                        self.visit_store(vars, StoreKind::WithItem);
                    }
                }
                self.visit_body(&with.body);
            }
            Stmt::Try(try_stmt) => {
                let guards = Self::handles_name_error(&try_stmt.handlers);
                self.name_error_guard += usize::from(guards);
                self.try_depth += 1;
                self.visit_body(&try_stmt.body);
                self.try_depth -= 1;
                self.name_error_guard -= usize::from(guards);
                for handler in &try_stmt.handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(type_) = &handler.type_ {
                        self.visit_expr(type_);
                    }
                    if let Some(name) = &handler.name {
                        let previous = self.semantic.current_scope().get(name.as_str());
                        self.add_binding(
                            name.as_str(),
                            name.range(),
                            BindingKind::BoundException,
                            BindingFlags::empty(),
                        );
                        self.visit_body(&handler.body);
                        self.add_binding(
                            name.as_str(),
                            name.range(),
                            BindingKind::UnboundException(previous),
                            BindingFlags::empty(),
                        );
                    } else {
                        self.visit_body(&handler.body);
                    }
                }
                self.visit_body(&try_stmt.orelse);
                self.visit_body(&try_stmt.finalbody);
            }
            Stmt::Delete(delete) => {
                for target in &delete.targets {
                    if let Expr::Name(name) = target {
                        self.semantic.resolve_del(name.id.as_str(), name.range);
                    } else {
                        self.visit_expr(target);
                    }
                }
            }
            Stmt::TypeAlias(alias) => {
                self.visit_store(&alias.name, StoreKind::Assignment);
                self.defer(Deferred::Annotation(&alias.value));
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(name) => match name.ctx {
                ExprContext::Load => self.load(name),
                ExprContext::Store => {
                    let (kind, flags) = match self.store_kind {
                        StoreKind::Assignment => (BindingKind::Assignment, BindingFlags::empty()),
                        StoreKind::Unpacked => {
                            (BindingKind::Assignment, BindingFlags::UNPACKED_ASSIGNMENT)
                        }
                        StoreKind::LoopVar => (BindingKind::LoopVar, BindingFlags::empty()),
                        StoreKind::WithItem => (BindingKind::WithItemVar, BindingFlags::empty()),
                        StoreKind::Named => {
                            (BindingKind::NamedExprAssignment, BindingFlags::empty())
                        }
                        StoreKind::Annotation => (BindingKind::Annotation, BindingFlags::empty()),
                    };
                    self.add_binding(name.id.as_str(), name.range, kind, flags);
                }
                ExprContext::Del => self.semantic.resolve_del(name.id.as_str(), name.range),
                ExprContext::Invalid => {}
            },
            Expr::Starred(starred) if matches!(starred.ctx, ExprContext::Store) => {
                self.visit_expr(&starred.value);
            }
            Expr::Tuple(_) | Expr::List(_)
                if matches!(self.store_kind, StoreKind::Assignment) && expr_is_store(expr) =>
            {
                let saved = self.store_kind;
                self.store_kind = StoreKind::Unpacked;
                visitor::walk_expr(self, expr);
                self.store_kind = saved;
            }
            Expr::Lambda(lambda) => {
                if let Some(parameters) = &lambda.parameters {
                    for p in parameters.iter_non_variadic_params() {
                        if let Some(default) = &p.default {
                            self.visit_expr(default);
                        }
                    }
                }
                self.defer(Deferred::Lambda(lambda));
            }
            Expr::ListComp(comp) => self.visit_comprehension_scope(
                &comp.generators,
                &[&comp.elt],
                GeneratorKind::ListComprehension,
            ),
            Expr::SetComp(comp) => self.visit_comprehension_scope(
                &comp.generators,
                &[&comp.elt],
                GeneratorKind::SetComprehension,
            ),
            Expr::Generator(comp) => self.visit_comprehension_scope(
                &comp.generators,
                &[&comp.elt],
                GeneratorKind::Generator,
            ),
            Expr::DictComp(comp) => {
                let mut elts: Vec<&'a Expr> = vec![&comp.value];
                if let Some(key) = &comp.key {
                    elts.insert(0, key);
                }
                self.visit_comprehension_scope(
                    &comp.generators,
                    &elts,
                    GeneratorKind::DictComprehension,
                )
            }
            Expr::Named(named) => {
                self.visit_expr(&named.value);
                self.visit_store(&named.target, StoreKind::Named);
            }
            Expr::Call(call) => {
                if let Expr::Name(func) = call.func.as_ref() {
                    if matches!(func.id.as_str(), "locals" | "vars") && call.arguments.is_empty() {
                        self.semantic.current_scope_mut().set_uses_locals();
                    }
                }
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        }
    }

    fn visit_pattern(&mut self, pattern: &'a ast::Pattern) {
        visitor::walk_pattern(self, pattern);
        let name = match pattern {
            ast::Pattern::MatchAs(p) => p.name.as_ref(),
            ast::Pattern::MatchStar(p) => p.name.as_ref(),
            ast::Pattern::MatchMapping(p) => p.rest.as_ref(),
            _ => None,
        };
        if let Some(name) = name {
            self.add_binding(
                name.as_str(),
                name.range(),
                BindingKind::Assignment,
                BindingFlags::UNPACKED_ASSIGNMENT,
            );
        }
    }
}

impl<'a> Binder<'a> {
    fn load(&mut self, name: &'a ast::ExprName) {
        if let ReadResult::NotFound = self.semantic.resolve_load(name) {
            if self.name_error_guard == 0 {
                let id = name.id.as_str();
                if self.loop_bindings.iter().any(|bound| bound.contains(id)) {
                    self.read_ahead_in_loop.push((id, name.range));
                } else {
                    self.undefined.push((id, name.range));
                }
            }
        }
    }
}

fn expr_is_store(expr: &Expr) -> bool {
    match expr {
        Expr::Tuple(t) => matches!(t.ctx, ExprContext::Store),
        Expr::List(l) => matches!(l.ctx, ExprContext::Store),
        _ => false,
    }
}

/// Facts read straight off the syntax tree that keep the name rules quiet where Python's
/// dynamic features make a verdict unsafe.
struct Prescan<'a> {
    declared_global: HashSet<&'a str>,
    walrus: HashSet<&'a str>,
    dunder_all: HashSet<String>,
    mentioned_in_strings: HashSet<String>,
    module_getattr: bool,
    /// The module writes its own namespace (`globals()`, `exec`, enum `_convert_`): names may
    /// exist that no statement binds.
    dynamic_globals: bool,
    /// PEP 695 type parameters (`def f[T](x: T)`), which live in their own annotation scope.
    type_params: HashSet<&'a str>,
    /// Names declared with a bare annotation (`x: int`): type checkers treat them as defined,
    /// and the value is usually set somewhere the reviewer does not see.
    declared_only: HashSet<&'a str>,
}

impl<'a> Prescan<'a> {
    fn of(module: &'a ast::ModModule, _source: &str) -> Self {
        let mut scan = Prescan {
            declared_global: HashSet::new(),
            walrus: HashSet::new(),
            dunder_all: HashSet::new(),
            mentioned_in_strings: HashSet::new(),
            module_getattr: false,
            dynamic_globals: false,
            type_params: HashSet::new(),
            declared_only: HashSet::new(),
        };
        for stmt in &module.body {
            if let Stmt::FunctionDef(f) = stmt {
                if f.name.as_str() == "__getattr__" {
                    scan.module_getattr = true;
                }
            }
        }
        scan.visit_body(&module.body);
        scan
    }
}

impl<'a> Visitor<'a> for Prescan<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: None,
                ..
            }) => {
                if let Expr::Name(n) = target.as_ref() {
                    self.declared_only.insert(n.id.as_str());
                }
            }
            Stmt::Global(g) => self
                .declared_global
                .extend(g.names.iter().map(|n| n.as_str())),
            Stmt::Nonlocal(g) => self
                .declared_global
                .extend(g.names.iter().map(|n| n.as_str())),
            Stmt::FunctionDef(ast::StmtFunctionDef {
                type_params: Some(params),
                ..
            })
            | Stmt::ClassDef(ast::StmtClassDef {
                type_params: Some(params),
                ..
            }) => {
                self.type_params
                    .extend(params.iter().map(|p| p.name().as_str()));
            }
            Stmt::TypeAlias(ast::StmtTypeAlias {
                type_params: Some(params),
                ..
            }) => {
                self.type_params
                    .extend(params.iter().map(|p| p.name().as_str()));
            }
            Stmt::Assign(ast::StmtAssign { targets, value, .. })
                if targets
                    .iter()
                    .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == "__all__")) =>
            {
                collect_strings(value, &mut self.dunder_all);
            }
            Stmt::AugAssign(ast::StmtAugAssign { target, value, .. }) if matches!(target.as_ref(), Expr::Name(n) if n.id.as_str() == "__all__") =>
            {
                collect_strings(value, &mut self.dunder_all);
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Named(named) => {
                if let Expr::Name(n) = named.target.as_ref() {
                    self.walrus.insert(n.id.as_str());
                }
            }
            Expr::Call(call) => {
                let writes_namespace = match call.func.as_ref() {
                    Expr::Name(n) => {
                        matches!(n.id.as_str(), "globals" | "exec" | "vars" | "__import__")
                    }
                    Expr::Attribute(a) => {
                        matches!(a.attr.as_str(), "_convert_" | "_convert" | "global_enum")
                    }
                    _ => false,
                };
                self.dynamic_globals |= writes_namespace;
            }
            Expr::Attribute(a) if a.attr.as_str() == "global_enum" => self.dynamic_globals = true,
            Expr::Name(n) if n.id.as_str() == "global_enum" => self.dynamic_globals = true,
            Expr::Attribute(a) if a.attr.as_str() == "modules" => {
                if matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == "sys") {
                    self.dynamic_globals = true;
                }
            }
            Expr::StringLiteral(s) => {
                let text = s.value.to_str();
                if text.len() < 200
                    && text
                        .chars()
                        .all(|c| c.is_alphanumeric() || " _.[],|'\"".contains(c))
                {
                    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                        if !word.is_empty() {
                            self.mentioned_in_strings.insert(word.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

fn collect_strings(expr: &Expr, into: &mut HashSet<String>) {
    match expr {
        Expr::List(l) => l.iter().for_each(|e| collect_strings(e, into)),
        Expr::Tuple(t) => t.iter().for_each(|e| collect_strings(e, into)),
        Expr::StringLiteral(s) => {
            into.insert(s.value.to_str().to_string());
        }
        Expr::BinOp(b) => {
            collect_strings(&b.left, into);
            collect_strings(&b.right, into);
        }
        _ => {}
    }
}
