//! The file's own definitions as the inference pass sees them: every class (bases, methods,
//! class attributes, attributes set on `self`) and every function (parameters with their
//! annotated types, return annotation), plus the types of module-level names.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::stdlib;
use crate::types::{ClassId, ClassNames, FuncId, Subtyping, Ty};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    PositionalOnly,
    PositionalOrKeyword,
    VarArgs,
    KeywordOnly,
    VarKeywords,
}

#[derive(Debug, Clone)]
pub(crate) struct Param<'a> {
    pub name: &'a str,
    pub kind: ParamKind,
    pub has_default: bool,
    /// The annotated type; `None` when there is no annotation.
    pub ty: Option<Ty>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FuncKind {
    Plain,
    Method,
    StaticMethod,
    ClassMethod,
    Property,
    /// Decorated with something the reviewer does not know: its signature may have changed.
    Opaque,
}

pub(crate) struct FuncInfo<'a> {
    pub def: &'a ast::StmtFunctionDef,
    pub class: Option<ClassId>,
    pub kind: FuncKind,
    pub params: Vec<Param<'a>>,
    pub returns: Option<Ty>,
    pub is_generator: bool,
    /// The body is only `...`, `pass`, a docstring or `raise NotImplementedError`.
    pub is_stub: bool,
    /// Decorated `@abstractmethod`: subclasses provide the real behaviour.
    pub is_abstract: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    Object,
    Local(ClassId),
    Exception,
    Unknown,
}

pub(crate) struct ClassInfo<'a> {
    pub def: &'a ast::StmtClassDef,
    pub bases: Vec<Base>,
    /// No metaclass, unknown decorator or attribute hook: its attributes are all visible here.
    pub closed_self: bool,
    pub dataclass: bool,
    /// Derives from `Protocol`: a structural type, matched by what a value has, not by its
    /// class. Annotations naming it are not checked.
    pub protocol: bool,
    pub methods: HashMap<&'a str, FuncId>,
    pub class_attrs: HashMap<&'a str, Ty>,
    /// Attributes assigned on `self` in any method, with the types seen.
    pub instance_attrs: HashMap<&'a str, Vec<Ty>>,
    /// Attributes declared with an annotation on `self` (`self.x: T = ...`).
    pub declared_attrs: HashMap<&'a str, Ty>,
    /// Dataclass fields in order: name, type, has a default.
    pub fields: Vec<(&'a str, Ty, bool)>,
}

pub(crate) struct Model<'a> {
    pub classes: Vec<ClassInfo<'a>>,
    pub funcs: Vec<FuncInfo<'a>>,
    func_ids: HashMap<usize, FuncId>,
    class_ids: HashMap<usize, ClassId>,
    /// Module-level class names bound exactly once.
    class_names: HashMap<&'a str, ClassId>,
    /// Types of module-level names as seen from inside functions.
    pub globals: HashMap<&'a str, Ty>,
    /// Attribute names assigned from outside their class (`obj.x = ...`): never reported.
    pub external_attrs: HashSet<&'a str>,
    /// The file uses `setattr` or `__dict__`: attributes of its classes are not closed.
    pub dynamic_attrs: bool,
    /// Names the module binds itself: a decorator called `staticmethod` may not be the builtin.
    module_names: HashSet<&'a str>,
}

fn key<T>(node: &T) -> usize {
    node as *const T as usize
}

impl<'a> Model<'a> {
    pub fn build(module: &'a ast::ModModule) -> Self {
        let mut collector = Collector::default();
        collector.visit_body(&module.body);
        let mut model = Model {
            classes: Vec::new(),
            funcs: Vec::new(),
            func_ids: HashMap::new(),
            class_ids: HashMap::new(),
            class_names: HashMap::new(),
            globals: HashMap::new(),
            external_attrs: collector.external_attrs,
            dynamic_attrs: collector.dynamic_attrs,
            module_names: HashSet::new(),
        };
        // Classes first: annotations name them.
        for (class, _) in &collector.classes {
            model.class_ids.insert(key(*class), model.classes.len());
            model.classes.push(ClassInfo {
                def: class,
                bases: Vec::new(),
                closed_self: true,
                dataclass: false,
                protocol: class.arguments.as_ref().is_some_and(|a| {
                    a.args.iter().any(|base| {
                        let head = match base {
                            Expr::Subscript(s) => s.value.as_ref(),
                            other => other,
                        };
                        match head {
                            Expr::Name(n) => n.id.as_str() == "Protocol",
                            Expr::Attribute(a) => a.attr.as_str() == "Protocol",
                            _ => false,
                        }
                    })
                }),
                methods: HashMap::new(),
                class_attrs: HashMap::new(),
                instance_attrs: HashMap::new(),
                declared_attrs: HashMap::new(),
                fields: Vec::new(),
            });
        }
        let counts = module_binding_counts(&module.body);
        model.module_names = counts.keys().copied().collect();
        for (class, top_level) in &collector.classes {
            let name = class.name.as_str();
            if *top_level && counts.get(name) == Some(&1) {
                if let Some(&id) = model.class_ids.get(&key(*class)) {
                    model.class_names.insert(name, id);
                }
            }
        }
        for (function, owner) in &collector.functions {
            let class = owner.and_then(|c| model.class_ids.get(&c).copied());
            let info = model.function_info(function, class);
            model.func_ids.insert(key(*function), model.funcs.len());
            model.funcs.push(info);
        }
        for id in 0..model.classes.len() {
            model.fill_class(id);
        }
        model.globals = model.module_globals(&module.body, &counts, &collector.declared_global);
        model
    }

    pub fn func_id(&self, def: &ast::StmtFunctionDef) -> Option<FuncId> {
        self.func_ids.get(&key(def)).copied()
    }

    pub fn class_id(&self, def: &ast::StmtClassDef) -> Option<ClassId> {
        self.class_ids.get(&key(def)).copied()
    }

    /// The type an annotation declares; `Unknown` for anything not modelled.
    pub fn annotation(&self, expr: &Expr) -> Ty {
        match expr {
            Expr::NoneLiteral(_) => Ty::None,
            Expr::StringLiteral(s) => {
                let text = s.value.to_str().trim();
                if !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    self.annotation_name(text)
                } else {
                    Ty::Unknown
                }
            }
            Expr::Name(n) => self.annotation_name(n.id.as_str()),
            Expr::Attribute(a) => match a.value.as_ref() {
                Expr::Name(m) if matches!(m.id.as_str(), "typing" | "t" | "builtins") => {
                    self.annotation_name(a.attr.as_str())
                }
                _ => Ty::Unknown,
            },
            Expr::BinOp(b) if matches!(b.op, ast::Operator::BitOr) => {
                Ty::union([self.annotation(&b.left), self.annotation(&b.right)])
            }
            Expr::Subscript(s) => {
                let head = match s.value.as_ref() {
                    Expr::Name(n) => n.id.as_str(),
                    Expr::Attribute(a) => a.attr.as_str(),
                    _ => return Ty::Unknown,
                };
                let args: Vec<&Expr> = match s.slice.as_ref() {
                    Expr::Tuple(t) => t.iter().collect(),
                    other => vec![other],
                };
                let arg = |i: usize| args.get(i).map_or(Ty::Unknown, |e| self.annotation(e));
                match head {
                    "Optional" => Ty::optional(arg(0)),
                    "Union" => Ty::union(args.iter().map(|e| self.annotation(e))),
                    "list" | "List" => Ty::List(Box::new(arg(0))),
                    "set" | "Set" => Ty::Set(Box::new(arg(0))),
                    "dict" | "Dict" => Ty::Dict(Box::new(arg(0)), Box::new(arg(1))),
                    "tuple" | "Tuple" => Ty::Tuple,
                    "type" | "Type" => match arg(0) {
                        Ty::Unknown | Ty::Any => Ty::Unknown,
                        t => Ty::Type(Box::new(t)),
                    },
                    "Annotated" | "Final" | "ClassVar" | "Required" | "NotRequired"
                    | "ReadOnly" => arg(0),
                    "Literal" => Ty::union(args.iter().map(|e| literal_type(e))),
                    _ => Ty::Unknown,
                }
            }
            _ => Ty::Unknown,
        }
    }

    fn annotation_name(&self, name: &str) -> Ty {
        match name {
            "int" => Ty::Int,
            "float" => Ty::Float,
            "complex" => Ty::Complex,
            "bool" => Ty::Bool,
            "str" => Ty::Str,
            "bytes" => Ty::Bytes,
            "None" => Ty::None,
            "list" | "List" => Ty::List(Box::new(Ty::Unknown)),
            "dict" | "Dict" => Ty::Dict(Box::new(Ty::Unknown), Box::new(Ty::Unknown)),
            "set" | "Set" => Ty::Set(Box::new(Ty::Unknown)),
            "tuple" | "Tuple" => Ty::Tuple,
            "object" | "Any" => Ty::Any,
            _ => match self.class_names.get(name) {
                Some(&id) if !self.classes[id].protocol => Ty::Instance(id),
                _ => Ty::Unknown,
            },
        }
    }

    fn function_info(&self, def: &'a ast::StmtFunctionDef, class: Option<ClassId>) -> FuncInfo<'a> {
        let mut kind = match (class, def.name.as_str()) {
            // Implicitly class-level: the first parameter is the class.
            (Some(_), "__new__" | "__init_subclass__" | "__class_getitem__") => {
                FuncKind::ClassMethod
            }
            (Some(_), _) => FuncKind::Method,
            (None, _) => FuncKind::Plain,
        };
        for decorator in &def.decorator_list {
            let name = match &decorator.expression {
                // A module that defines its own `staticmethod` means something else by it.
                Expr::Name(n)
                    if matches!(n.id.as_str(), "staticmethod" | "classmethod" | "property")
                        && self.module_names.contains(n.id.as_str()) =>
                {
                    ""
                }
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) => a.attr.as_str(),
                _ => "",
            };
            kind = match name {
                "staticmethod" if class.is_some() => FuncKind::StaticMethod,
                "classmethod" if class.is_some() => FuncKind::ClassMethod,
                "property" | "cached_property" if class.is_some() => FuncKind::Property,
                "abstractmethod" | "override" | "final" => kind,
                _ => FuncKind::Opaque,
            };
            if kind == FuncKind::Opaque {
                break;
            }
        }
        let p = &def.parameters;
        let mut params = Vec::new();
        let mut push = |pd: &'a ast::Parameter, kind: ParamKind, has_default: bool| {
            params.push(Param {
                name: pd.name.as_str(),
                kind,
                has_default,
                ty: pd.annotation.as_deref().map(|a| self.annotation(a)),
            });
        };
        for pd in &p.posonlyargs {
            push(
                &pd.parameter,
                ParamKind::PositionalOnly,
                pd.default.is_some(),
            );
        }
        for pd in &p.args {
            push(
                &pd.parameter,
                ParamKind::PositionalOrKeyword,
                pd.default.is_some(),
            );
        }
        if let Some(v) = &p.vararg {
            push(v, ParamKind::VarArgs, true);
        }
        for pd in &p.kwonlyargs {
            push(&pd.parameter, ParamKind::KeywordOnly, pd.default.is_some());
        }
        if let Some(v) = &p.kwarg {
            push(v, ParamKind::VarKeywords, true);
        }
        let mut yields = YieldFinder(false);
        yields.visit_body(&def.body);
        FuncInfo {
            def,
            class,
            kind,
            params,
            returns: def.returns.as_deref().map(|r| self.annotation(r)),
            is_generator: yields.0,
            is_stub: is_stub_body(&def.body),
            is_abstract: def.decorator_list.iter().any(|d| match &d.expression {
                Expr::Name(n) => n.id.as_str() == "abstractmethod",
                Expr::Attribute(a) => a.attr.as_str() == "abstractmethod",
                _ => false,
            }),
        }
    }

    fn fill_class(&mut self, id: ClassId) {
        let def = self.classes[id].def;
        let mut bases = Vec::new();
        let mut closed = true;
        if let Some(arguments) = &def.arguments {
            for base in arguments.args.iter() {
                let name = match base {
                    Expr::Name(n) => n.id.as_str(),
                    Expr::Attribute(a) if matches!(a.attr.as_str(), "ABC") => "ABC",
                    Expr::Subscript(s) if matches!(s.value.as_ref(), Expr::Name(n) if n.id.as_str() == "Generic") => {
                        "Generic"
                    }
                    _ => "",
                };
                bases.push(match name {
                    "object" | "ABC" | "Generic" => Base::Object,
                    n if stdlib::is_builtin_exception(n) => Base::Exception,
                    n => match self.class_names.get(n) {
                        Some(&c) if c != id => Base::Local(c),
                        _ => Base::Unknown,
                    },
                });
            }
            if !arguments.keywords.is_empty() {
                closed = false;
            }
        }
        let mut dataclass = false;
        for decorator in &def.decorator_list {
            let (expr, options) = match &decorator.expression {
                Expr::Call(c) => (c.func.as_ref(), Some(&c.arguments)),
                other => (other, None),
            };
            let name = match expr {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) => a.attr.as_str(),
                _ => "",
            };
            match name {
                "dataclass" => {
                    let keywords = options.map_or(&[][..], |o| &o.keywords[..]);
                    // `init=False` keeps the inherited `__init__`; options passed as `**kwargs`
                    // may say so too.
                    let no_init = keywords.iter().any(|k| {
                        k.arg.as_ref().is_some_and(|a| a.as_str() == "init")
                            && !matches!(&k.value, Expr::BooleanLiteral(b) if b.value)
                    });
                    if keywords.iter().any(|k| k.arg.is_none()) {
                        closed = false;
                    }
                    dataclass = !no_init;
                }
                "total_ordering" | "final" => {}
                _ => closed = false,
            }
        }
        let mut methods = HashMap::new();
        let mut class_attrs = HashMap::new();
        let mut fields = Vec::new();
        for stmt in &def.body {
            match stmt {
                Stmt::FunctionDef(f) => {
                    let name = f.name.as_str();
                    if matches!(name, "__getattr__" | "__getattribute__" | "__setattr__") {
                        closed = false;
                    }
                    if let Some(fid) = self.func_id(f) {
                        methods.insert(name, fid);
                    }
                }
                Stmt::ClassDef(c) => {
                    let ty = self
                        .class_id(c)
                        .map_or(Ty::Unknown, |cid| Ty::Type(Box::new(Ty::Instance(cid))));
                    class_attrs.insert(c.name.as_str(), ty);
                }
                Stmt::Assign(a) => {
                    for target in &a.targets {
                        let mut names = Vec::new();
                        target_names(target, &mut names);
                        for n in names {
                            if n == "__slots__" {
                                slot_names(&a.value, &mut class_attrs);
                            }
                            class_attrs.insert(n, Ty::Unknown);
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let Expr::Name(n) = a.target.as_ref() {
                        let ty = self.annotation(&a.annotation);
                        let class_var = matches!(a.annotation.as_ref(), Expr::Subscript(s) if matches!(s.value.as_ref(), Expr::Name(h) if h.id.as_str() == "ClassVar"));
                        if !class_var {
                            fields.push((n.id.as_str(), ty.clone(), a.value.is_some()));
                        }
                        class_attrs.insert(n.id.as_str(), ty);
                    }
                }
                Stmt::If(_)
                | Stmt::Try(_)
                | Stmt::For(_)
                | Stmt::With(_)
                | Stmt::Import(_)
                | Stmt::ImportFrom(_) => {
                    // Conditional class bodies are rare; what they bind is unknown here.
                    closed = false;
                }
                _ => {}
            }
        }
        // `name = staticmethod(name)` and the like: the assignment wins over the `def`.
        methods.retain(|name, _| !class_attrs.contains_key(name));
        let mut instance_attrs: HashMap<&'a str, Vec<Ty>> = HashMap::new();
        let mut declared_attrs = HashMap::new();
        for (&_name, &fid) in &methods {
            let f = &self.funcs[fid];
            if f.kind == FuncKind::StaticMethod {
                continue;
            }
            let Some(first) = f.params.first() else {
                continue;
            };
            let mut finder = SelfAttrs {
                receiver: first.name,
                found: Vec::new(),
                declared: Vec::new(),
            };
            finder.visit_body(&f.def.body);
            for (attr, value) in finder.found {
                let ty = self.light_type(value, &f.params);
                instance_attrs.entry(attr).or_default().push(ty);
            }
            for (attr, annotation) in finder.declared {
                declared_attrs.insert(attr, self.annotation(annotation));
                instance_attrs.entry(attr).or_default();
            }
        }
        let class = &mut self.classes[id];
        class.bases = bases;
        class.closed_self = closed;
        class.dataclass = dataclass;
        class.methods = methods;
        class.class_attrs = class_attrs;
        class.instance_attrs = instance_attrs;
        class.declared_attrs = declared_attrs;
        class.fields = fields;
    }

    /// The type of an expression assigned to `self.x`, judged without flow: literals, local
    /// constructors and the method's annotated parameters.
    fn light_type(&self, value: Option<&Expr>, params: &[Param]) -> Ty {
        let Some(value) = value else {
            return Ty::Unknown;
        };
        match value {
            Expr::Name(n) => params
                .iter()
                .find(|p| p.name == n.id.as_str())
                .and_then(|p| p.ty.clone())
                .unwrap_or(Ty::Unknown),
            Expr::Call(c) => match c.func.as_ref() {
                Expr::Name(n) => match self.class_names.get(n.id.as_str()) {
                    Some(&id) => Ty::Instance(id),
                    None => Ty::Unknown,
                },
                _ => Ty::Unknown,
            },
            other => literal_type(other),
        }
    }

    fn module_globals(
        &self,
        body: &'a [Stmt],
        counts: &HashMap<&'a str, usize>,
        declared_global: &HashSet<&'a str>,
    ) -> HashMap<&'a str, Ty> {
        let mut globals = HashMap::new();
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(f) => {
                    if let Some(id) = self.func_id(f) {
                        globals.insert(f.name.as_str(), Ty::Function(id));
                    }
                }
                Stmt::ClassDef(c) => {
                    if let Some(id) = self.class_id(c) {
                        globals.insert(c.name.as_str(), Ty::Type(Box::new(Ty::Instance(id))));
                    }
                }
                Stmt::Import(i) => {
                    for alias in &i.names {
                        let module = alias.name.as_str();
                        match &alias.asname {
                            Some(asname) => {
                                globals.insert(asname.as_str(), Ty::Module(module.to_string()))
                            }
                            None => {
                                let first = module.split('.').next().unwrap_or(module);
                                globals.insert(first, Ty::Module(first.to_string()))
                            }
                        };
                    }
                }
                Stmt::ImportFrom(i) => {
                    let module = i.module.as_ref().map_or("", |m| m.as_str());
                    for alias in &i.names {
                        let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                        let ty = if i.level == 0 {
                            stdlib::module_attribute(module, alias.name.as_str())
                        } else {
                            Ty::Unknown
                        };
                        globals.insert(bound, ty);
                    }
                }
                Stmt::Assign(a) => {
                    if let [Expr::Name(n)] = a.targets.as_slice() {
                        let ty = literal_type(&a.value);
                        globals.insert(
                            n.id.as_str(),
                            if matches!(ty, Ty::None) {
                                Ty::Unknown
                            } else {
                                ty
                            },
                        );
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let Expr::Name(n) = a.target.as_ref() {
                        globals.insert(n.id.as_str(), self.annotation(&a.annotation));
                    }
                }
                _ => {}
            }
        }
        // A name bound more than once (or rebound through `global`) has no single type here,
        // except where an annotation declares it.
        for (name, count) in counts {
            if *count > 1 || declared_global.contains(name) {
                let declared = body.iter().any(|s| matches!(s, Stmt::AnnAssign(a) if matches!(a.target.as_ref(), Expr::Name(n) if n.id.as_str() == *name)));
                if !declared {
                    globals.insert(name, Ty::Unknown);
                }
            }
        }
        globals
    }

    /// Looks an attribute up along the class's bases: `Ok(Some(ty))` if found, `Ok(None)` if the
    /// class and all its bases are known and none has it, `Err(())` if a base is unknown.
    pub fn class_member(
        &self,
        id: ClassId,
        name: &str,
        depth: usize,
    ) -> Result<Option<Member>, ()> {
        if depth > 20 {
            return Err(());
        }
        let class = &self.classes[id];
        if let Some(&fid) = class.methods.get(name) {
            return Ok(Some(Member::Method(fid)));
        }
        if let Some(ty) = class.declared_attrs.get(name) {
            return Ok(Some(Member::Attr(ty.clone())));
        }
        if let Some(ty) = class.class_attrs.get(name) {
            return Ok(Some(Member::Attr(ty.clone())));
        }
        if let Some(types) = class.instance_attrs.get(name) {
            return Ok(Some(Member::Attr(instance_attr_type(types))));
        }
        if !class.closed_self || self.dynamic_attrs {
            return Err(());
        }
        for base in &class.bases {
            match base {
                Base::Object => {}
                Base::Exception => {
                    if stdlib::EXCEPTION_ATTRS.contains(&name) {
                        return Ok(Some(Member::Attr(Ty::Unknown)));
                    }
                }
                Base::Unknown => return Err(()),
                Base::Local(b) => {
                    if let Some(m) = self.class_member(*b, name, depth + 1)? {
                        return Ok(Some(m));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Every attribute name the class and its bases define, for "did you mean" hints.
    pub fn all_members(&self, id: ClassId, out: &mut Vec<&'a str>, depth: usize) {
        if depth > 20 {
            return;
        }
        let class = &self.classes[id];
        out.extend(class.methods.keys().copied());
        out.extend(class.class_attrs.keys().copied());
        out.extend(class.instance_attrs.keys().copied());
        for base in &class.bases {
            if let Base::Local(b) = base {
                self.all_members(*b, out, depth + 1);
            }
        }
    }

    /// Whether some class of the file deriving from `id` defines `name` (the base then relies
    /// on its subclasses, as in the template-method pattern).
    pub fn subclass_defines(&self, id: ClassId, name: &str) -> bool {
        (0..self.classes.len()).any(|sub| {
            sub != id
                && self.is_subclass(sub, id) == Some(true)
                && !matches!(self.class_member(sub, name, 0), Ok(None))
        })
    }
}

pub(crate) enum Member {
    Method(FuncId),
    Attr(Ty),
}

/// The type of an attribute from the assignments seen: `None` is dropped when other types
/// were assigned too (it usually marks "not yet set", which the code then tracks itself).
fn instance_attr_type(types: &[Ty]) -> Ty {
    if types.is_empty() {
        return Ty::Unknown;
    }
    let all = Ty::union(types.iter().cloned());
    let without = all.without_none();
    if types.iter().all(|t| matches!(t, Ty::None)) {
        // Only ever set to `None` here: something else (a subclass, another module) sets it.
        Ty::Unknown
    } else {
        without
    }
}

impl Subtyping for Model<'_> {
    fn is_subclass(&self, sub: ClassId, sup: ClassId) -> Option<bool> {
        fn walk(model: &Model, sub: ClassId, sup: ClassId, depth: usize) -> Option<bool> {
            if sub == sup {
                return Some(true);
            }
            if depth > 20 {
                return None;
            }
            let mut unknown = false;
            for base in &model.classes[sub].bases {
                match base {
                    Base::Local(b) => match walk(model, *b, sup, depth + 1) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    },
                    Base::Unknown => unknown = true,
                    Base::Object | Base::Exception => {}
                }
            }
            if unknown {
                None
            } else {
                Some(false)
            }
        }
        walk(self, sub, sup, 0)
    }

    fn class_is_closed(&self, id: ClassId) -> bool {
        fn walk(model: &Model, id: ClassId, depth: usize) -> bool {
            let class = &model.classes[id];
            depth < 20
                && class.closed_self
                && class.bases.iter().all(|b| match b {
                    Base::Object => true,
                    Base::Local(c) => walk(model, *c, depth + 1),
                    Base::Exception | Base::Unknown => false,
                })
        }
        walk(self, id, 0)
    }
}

impl ClassNames for Model<'_> {
    fn class_name(&self, id: ClassId) -> &str {
        self.classes
            .get(id)
            .map_or("object", |c| c.def.name.as_str())
    }
    fn function_name(&self, id: FuncId) -> &str {
        self.funcs
            .get(id)
            .map_or("function", |f| f.def.name.as_str())
    }
}

/// The type of a literal expression; `Unknown` for anything else.
pub(crate) fn literal_type(expr: &Expr) -> Ty {
    match expr {
        Expr::NumberLiteral(n) => match n.value {
            ast::Number::Int(_) => Ty::Int,
            ast::Number::Float(_) => Ty::Float,
            ast::Number::Complex { .. } => Ty::Complex,
        },
        Expr::StringLiteral(_) | Expr::FString(_) => Ty::Str,
        Expr::BytesLiteral(_) => Ty::Bytes,
        Expr::BooleanLiteral(_) => Ty::Bool,
        Expr::NoneLiteral(_) => Ty::None,
        Expr::List(l) if l.is_empty() => Ty::List(Box::new(Ty::Unknown)),
        Expr::Dict(d) if d.is_empty() => Ty::Dict(Box::new(Ty::Unknown), Box::new(Ty::Unknown)),
        Expr::List(l) => Ty::List(Box::new(Ty::union(l.iter().map(literal_type)))),
        Expr::Tuple(_) => Ty::Tuple,
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub | ast::UnaryOp::UAdd) => {
            match literal_type(&u.operand) {
                t @ (Ty::Int | Ty::Float | Ty::Complex) => t,
                _ => Ty::Unknown,
            }
        }
        _ => Ty::Unknown,
    }
}

pub(crate) fn target_names<'a>(target: &'a Expr, out: &mut Vec<&'a str>) {
    match target {
        Expr::Name(n) => out.push(n.id.as_str()),
        Expr::Tuple(t) => t.iter().for_each(|e| target_names(e, out)),
        Expr::List(l) => l.iter().for_each(|e| target_names(e, out)),
        Expr::Starred(s) => target_names(&s.value, out),
        _ => {}
    }
}

fn slot_names<'a>(value: &'a Expr, into: &mut HashMap<&'a str, Ty>) {
    let items: Vec<&Expr> = match value {
        Expr::Tuple(t) => t.iter().collect(),
        Expr::List(l) => l.iter().collect(),
        other => vec![other],
    };
    for item in items {
        if let Expr::StringLiteral(s) = item {
            if let Some(lit) = s.value.iter().next() {
                into.insert(lit.value.as_ref(), Ty::Unknown);
            }
        }
    }
}

fn is_stub_body(body: &[Stmt]) -> bool {
    body.iter().all(|s| match s {
        Stmt::Pass(_) => true,
        Stmt::Expr(e) => matches!(
            e.value.as_ref(),
            Expr::EllipsisLiteral(_) | Expr::StringLiteral(_)
        ),
        Stmt::Raise(_) => true,
        _ => false,
    })
}

/// How many times each module-level name is bound at the top level (any statement kind).
fn module_binding_counts<'a>(body: &'a [Stmt]) -> HashMap<&'a str, usize> {
    let mut counts: HashMap<&'a str, usize> = HashMap::new();
    let mut bump =
        |n: &'a str, counts: &mut HashMap<&'a str, usize>| *counts.entry(n).or_default() += 1;
    fn walk<'a>(
        body: &'a [Stmt],
        counts: &mut HashMap<&'a str, usize>,
        bump: &mut impl FnMut(&'a str, &mut HashMap<&'a str, usize>),
    ) {
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(f) => bump(f.name.as_str(), counts),
                Stmt::ClassDef(c) => bump(c.name.as_str(), counts),
                Stmt::Assign(a) => {
                    let mut names = Vec::new();
                    a.targets.iter().for_each(|t| target_names(t, &mut names));
                    names.into_iter().for_each(|n| bump(n, counts));
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(_)) = (a.target.as_ref(), &a.value) {
                        bump(n.id.as_str(), counts);
                    }
                }
                Stmt::AugAssign(a) => {
                    if let Expr::Name(n) = a.target.as_ref() {
                        bump(n.id.as_str(), counts);
                    }
                }
                Stmt::For(f) => {
                    let mut names = Vec::new();
                    target_names(&f.target, &mut names);
                    names.into_iter().for_each(|n| bump(n, counts));
                    walk(&f.body, counts, bump);
                    walk(&f.orelse, counts, bump);
                }
                Stmt::While(w) => {
                    walk(&w.body, counts, bump);
                    walk(&w.orelse, counts, bump);
                }
                Stmt::Import(i) => {
                    for a in &i.names {
                        let bound = a.asname.as_ref().map_or_else(
                            || a.name.as_str().split('.').next().unwrap_or(""),
                            |n| n.as_str(),
                        );
                        bump(bound, counts);
                    }
                }
                Stmt::ImportFrom(i) => {
                    for a in &i.names {
                        bump(a.asname.as_ref().unwrap_or(&a.name).as_str(), counts);
                    }
                }
                Stmt::If(i) => {
                    walk(&i.body, counts, bump);
                    for clause in &i.elif_else_clauses {
                        walk(&clause.body, counts, bump);
                    }
                }
                Stmt::Try(t) => {
                    walk(&t.body, counts, bump);
                    for h in &t.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        walk(&h.body, counts, bump);
                    }
                    walk(&t.orelse, counts, bump);
                    walk(&t.finalbody, counts, bump);
                }
                Stmt::With(w) => {
                    for item in &w.items {
                        if let Some(v) = &item.optional_vars {
                            let mut names = Vec::new();
                            target_names(v, &mut names);
                            names.into_iter().for_each(|n| bump(n, counts));
                        }
                    }
                    walk(&w.body, counts, bump);
                }
                Stmt::Match(m) => {
                    for case in &m.cases {
                        walk(&case.body, counts, bump);
                    }
                    // Capture patterns bind too; count the subject's cases as a rebinding.
                    counts.entry("").or_default();
                }
                Stmt::Delete(d) => {
                    for t in &d.targets {
                        if let Expr::Name(n) = t {
                            bump(n.id.as_str(), counts);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    walk(body, &mut counts, &mut bump);
    counts
}

/// Collects every class and function definition, with the class a function is a method of.
#[derive(Default)]
struct Collector<'a> {
    classes: Vec<(&'a ast::StmtClassDef, bool)>,
    functions: Vec<(&'a ast::StmtFunctionDef, Option<usize>)>,
    /// Stack of enclosing definitions: `Some(class key)` for a class body, `None` for a function.
    stack: Vec<Option<usize>>,
    external_attrs: HashSet<&'a str>,
    dynamic_attrs: bool,
    declared_global: HashSet<&'a str>,
    /// First parameter names of the enclosing methods.
    receivers: Vec<&'a str>,
}

impl<'a> Visitor<'a> for Collector<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::ClassDef(c) => {
                self.classes.push((c, self.stack.is_empty()));
                self.stack.push(Some(key(c)));
                visitor::walk_stmt(self, stmt);
                self.stack.pop();
            }
            Stmt::FunctionDef(f) => {
                let owner = self.stack.last().copied().flatten();
                self.functions.push((f, owner));
                let receiver = if owner.is_some() {
                    f.parameters
                        .posonlyargs
                        .iter()
                        .chain(f.parameters.args.iter())
                        .next()
                        .map_or("", |p| p.parameter.name.as_str())
                } else {
                    ""
                };
                self.stack.push(None);
                self.receivers.push(receiver);
                visitor::walk_stmt(self, stmt);
                self.receivers.pop();
                self.stack.pop();
            }
            Stmt::Global(g) => self
                .declared_global
                .extend(g.names.iter().map(|n| n.as_str())),
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Attribute(a)
                if matches!(a.ctx, ast::ExprContext::Store | ast::ExprContext::Del) =>
            {
                let on_receiver = matches!(a.value.as_ref(), Expr::Name(n) if self.receivers.last().is_some_and(|r| !r.is_empty() && *r == n.id.as_str()));
                if !on_receiver {
                    self.external_attrs.insert(a.attr.as_str());
                }
            }
            Expr::Name(n)
                if matches!(n.id.as_str(), "setattr" | "delattr" | "__dict__" | "vars") =>
            {
                self.dynamic_attrs = true
            }
            Expr::Attribute(a) if a.attr.as_str() == "__dict__" => self.dynamic_attrs = true,
            // `parser.parse_args(argv, self)` sets attributes named by the parser.
            Expr::Call(c)
                if c.arguments
                    .keywords
                    .iter()
                    .any(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "namespace"))
                    || matches!(c.func.as_ref(), Expr::Attribute(a) if matches!(a.attr.as_str(), "parse_args" | "parse_known_args") && c.arguments.args.len() >= 2) =>
            {
                self.dynamic_attrs = true;
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

struct YieldFinder(bool);

impl<'a> Visitor<'a> for YieldFinder {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            return;
        }
        visitor::walk_stmt(self, stmt);
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Yield(_) | Expr::YieldFrom(_) => self.0 = true,
            Expr::Lambda(_) => {}
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// Finds `receiver.attr = value` (and annotated forms) in a method body.
struct SelfAttrs<'a> {
    receiver: &'a str,
    found: Vec<(&'a str, Option<&'a Expr>)>,
    declared: Vec<(&'a str, &'a Expr)>,
}

impl<'a> SelfAttrs<'a> {
    fn target(&mut self, target: &'a Expr, value: Option<&'a Expr>) {
        match target {
            Expr::Attribute(a) => {
                if matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == self.receiver) {
                    self.found.push((a.attr.as_str(), value));
                }
            }
            Expr::Tuple(t) => t.iter().for_each(|e| self.target(e, None)),
            Expr::List(l) => l.iter().for_each(|e| self.target(e, None)),
            Expr::Starred(s) => self.target(&s.value, None),
            _ => {}
        }
    }
}

impl<'a> Visitor<'a> for SelfAttrs<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
            Stmt::Assign(a) => a
                .targets
                .iter()
                .for_each(|t| self.target(t, Some(&a.value))),
            Stmt::AnnAssign(a) => {
                self.target(&a.target, a.value.as_deref());
                if let Expr::Attribute(attr) = a.target.as_ref() {
                    if matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == self.receiver)
                    {
                        self.declared.push((attr.attr.as_str(), &a.annotation));
                    }
                }
            }
            Stmt::AugAssign(a) => self.target(&a.target, None),
            Stmt::For(f) => self.target(&f.target, None),
            Stmt::With(w) => {
                for item in &w.items {
                    if let Some(v) = &item.optional_vars {
                        self.target(v, None);
                    }
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Named(n) = expr {
            self.target(&n.target, None);
        }
        visitor::walk_expr(self, expr);
    }
}
