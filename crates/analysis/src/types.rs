//! The types the inference pass works with, and how they relate.
//!
//! `Unknown` is the top of the lattice and the reason the reviewer is quiet: whenever a type
//! cannot be pinned down, it becomes `Unknown`, every check involving it passes, and any union
//! that contains it collapses to it.

use std::fmt;

use crate::builtin_attrs;

pub(crate) type ClassId = usize;
pub(crate) type FuncId = usize;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ty {
    /// Inference does not know: never report anything about it.
    Unknown,
    /// Declared `Any` or `object`: accepts anything, offers nothing to check.
    Any,
    None,
    Bool,
    Int,
    Float,
    Complex,
    Str,
    Bytes,
    List(Box<Ty>),
    Dict(Box<Ty>, Box<Ty>),
    Set(Box<Ty>),
    Tuple,
    /// An instance of a class defined in the file.
    Instance(ClassId),
    /// A class object; calling it builds the instance type inside.
    Type(Box<Ty>),
    /// A function defined in the file.
    Function(FuncId),
    /// A method of a file's class, with its first parameter already bound.
    BoundMethod(FuncId),
    /// A function of the builtins or the standard library known to the reviewer.
    Builtin(&'static str),
    /// A method of a builtin value, e.g. `"a".upper`: its name and the receiver's type.
    BuiltinMethod(String, Box<Ty>),
    Module(String),
    /// A value of a standard-library type that the reviewer only names (e.g. `re.Match`).
    Opaque(&'static str),
    Coroutine(Box<Ty>),
    Union(Vec<Ty>),
}

impl Ty {
    pub fn optional(ty: Ty) -> Ty {
        Ty::union([ty, Ty::None])
    }

    /// Builds a union: flattened, without duplicates; `Unknown` absorbs everything.
    pub fn union(members: impl IntoIterator<Item = Ty>) -> Ty {
        let mut out: Vec<Ty> = Vec::new();
        for m in members {
            match m {
                Ty::Unknown => return Ty::Unknown,
                Ty::Union(inner) => {
                    for i in inner {
                        if !out.contains(&i) {
                            out.push(i);
                        }
                    }
                }
                other => {
                    if !out.contains(&other) {
                        out.push(other);
                    }
                }
            }
        }
        if out.iter().any(|t| matches!(t, Ty::Any)) {
            return Ty::Any;
        }
        match out.len() {
            0 => Ty::Unknown,
            1 => out.pop().unwrap_or(Ty::Unknown),
            n if n > 8 => Ty::Unknown,
            _ => Ty::Union(out),
        }
    }

    pub fn members(&self) -> &[Ty] {
        match self {
            Ty::Union(m) => m,
            other => std::slice::from_ref(other),
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Unknown | Ty::Any)
    }

    pub fn contains_none(&self) -> bool {
        self.members().iter().any(|m| matches!(m, Ty::None))
    }

    pub fn without_none(&self) -> Ty {
        match self {
            Ty::Union(m) => Ty::union(m.iter().filter(|t| !matches!(t, Ty::None)).cloned()),
            // Narrowed to nothing: the code is unreachable in practice; stay silent about it.
            Ty::None => Ty::Unknown,
            other => other.clone(),
        }
    }

    /// The attribute names `dir()` lists for a builtin value type.
    pub fn builtin_attrs(&self) -> Option<&'static [&'static str]> {
        Some(match self {
            Ty::None => builtin_attrs::NONE,
            Ty::Bool => builtin_attrs::BOOL,
            Ty::Int => builtin_attrs::INT,
            Ty::Float => builtin_attrs::FLOAT,
            Ty::Complex => builtin_attrs::COMPLEX,
            Ty::Str => builtin_attrs::STR,
            Ty::Bytes => builtin_attrs::BYTES,
            Ty::List(_) => builtin_attrs::LIST,
            Ty::Dict(..) => builtin_attrs::DICT,
            Ty::Set(_) => builtin_attrs::SET,
            Ty::Tuple => builtin_attrs::TUPLE,
            _ => return None,
        })
    }

    /// True for the builtin value types whose behaviour the reviewer knows completely.
    pub fn is_builtin_value(&self) -> bool {
        self.builtin_attrs().is_some()
    }
}

/// How class names are shown in messages.
pub(crate) trait ClassNames {
    fn class_name(&self, id: ClassId) -> &str;
    fn function_name(&self, id: FuncId) -> &str;
}

pub(crate) struct Display<'t, N: ClassNames>(pub &'t Ty, pub &'t N);

impl<N: ClassNames> fmt::Display for Display<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.1;
        match self.0 {
            Ty::Unknown => write!(f, "Unknown"),
            Ty::Any => write!(f, "Any"),
            Ty::None => write!(f, "None"),
            Ty::Bool => write!(f, "bool"),
            Ty::Int => write!(f, "int"),
            Ty::Float => write!(f, "float"),
            Ty::Complex => write!(f, "complex"),
            Ty::Str => write!(f, "str"),
            Ty::Bytes => write!(f, "bytes"),
            Ty::List(t) if t.is_unknown() => write!(f, "list"),
            Ty::List(t) => write!(f, "list[{}]", Display(t, names)),
            Ty::Dict(k, v) if k.is_unknown() && v.is_unknown() => write!(f, "dict"),
            Ty::Dict(k, v) => write!(f, "dict[{}, {}]", Display(k, names), Display(v, names)),
            Ty::Set(t) if t.is_unknown() => write!(f, "set"),
            Ty::Set(t) => write!(f, "set[{}]", Display(t, names)),
            Ty::Tuple => write!(f, "tuple"),
            Ty::Instance(c) => write!(f, "{}", names.class_name(*c)),
            Ty::Type(t) => write!(f, "type[{}]", Display(t, names)),
            Ty::Function(id) | Ty::BoundMethod(id) => {
                write!(f, "function '{}'", names.function_name(*id))
            }
            Ty::Builtin(name) => write!(f, "function '{name}'"),
            Ty::BuiltinMethod(name, _) => write!(f, "method '{name}'"),
            Ty::Module(name) => write!(f, "module '{name}'"),
            Ty::Opaque(name) => write!(f, "{name}"),
            Ty::Coroutine(_) => write!(f, "Coroutine"),
            Ty::Union(members) => {
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        write!(f, " | ")?;
                    }
                    write!(f, "{}", Display(m, names))?;
                }
                Ok(())
            }
        }
    }
}

/// Answers the one subtyping question the rules need: can a value of type `value` be used
/// where `target` is declared? `true` whenever unsure.
pub(crate) trait Subtyping {
    /// `Some(true)` if class `sub` is `sup` or derives from it, `Some(false)` if it surely does
    /// not, `None` if a base is not known.
    fn is_subclass(&self, sub: ClassId, sup: ClassId) -> Option<bool>;
    /// Whether everything about the class is known (no unknown bases, metaclasses or
    /// dynamic attribute hooks).
    fn class_is_closed(&self, id: ClassId) -> bool;
}

pub(crate) fn assignable(value: &Ty, target: &Ty, classes: &impl Subtyping) -> bool {
    use Ty::*;
    if value.is_unknown() || target.is_unknown() {
        return true;
    }
    if let Union(members) = value {
        return members.iter().all(|m| assignable(m, target, classes));
    }
    if let Union(members) = target {
        return members.iter().any(|m| assignable(value, m, classes));
    }
    match (value, target) {
        (None, None)
        | (Bool, Bool)
        | (Int, Int)
        | (Float, Float)
        | (Complex, Complex)
        | (Str, Str)
        | (Bytes, Bytes) => true,
        // The numeric tower of PEP 484.
        (Bool, Int | Float | Complex) | (Int, Float | Complex) | (Float, Complex) => true,
        (List(a), List(b)) | (Set(a), Set(b)) => assignable(a, b, classes),
        (Dict(ka, va), Dict(kb, vb)) => assignable(ka, kb, classes) && assignable(va, vb, classes),
        (Tuple, Tuple) => true,
        (Instance(a), Instance(b)) => classes.is_subclass(*a, *b) != Some(false),
        // A class of the file may derive from a builtin through a base the reviewer does not know.
        (Instance(a), _) if target.is_builtin_value() => !classes.class_is_closed(*a),
        (_, Instance(b)) if value.is_builtin_value() => !classes.class_is_closed(*b),
        (Type(a), Type(b)) => assignable(a, b, classes),
        (v, t) if v.is_builtin_value() && t.is_builtin_value() => false,
        _ => true,
    }
}

/// The closest name among candidates, for "did you mean" hints (edit distance at most 2).
pub(crate) fn closest<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let mut best: Option<(usize, &str)> = Option::None;
    for c in candidates {
        if c == name || c.starts_with("__") {
            continue;
        }
        let d = edit_distance(name, c);
        let limit = if name.len() <= 3 { 1 } else { 2 };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}
