//! What the reviewer knows about the builtins and the commonly used standard library:
//! the types of builtin names, the signatures of a few functions, the return types of the
//! builtin types' methods, and which binary operators the builtin types support.

use ruff_python_ast::Operator;

use crate::types::Ty;

/// The type of a builtin name, where the reviewer knows it.
pub(crate) fn builtin_name(name: &str) -> Ty {
    match name {
        "int" => Ty::Type(Box::new(Ty::Int)),
        "float" => Ty::Type(Box::new(Ty::Float)),
        "complex" => Ty::Type(Box::new(Ty::Complex)),
        "bool" => Ty::Type(Box::new(Ty::Bool)),
        "str" => Ty::Type(Box::new(Ty::Str)),
        "bytes" => Ty::Type(Box::new(Ty::Bytes)),
        "list" => Ty::Type(Box::new(Ty::List(Box::new(Ty::Unknown)))),
        "dict" => Ty::Type(Box::new(Ty::Dict(
            Box::new(Ty::Unknown),
            Box::new(Ty::Unknown),
        ))),
        "set" => Ty::Type(Box::new(Ty::Set(Box::new(Ty::Unknown)))),
        "tuple" => Ty::Type(Box::new(Ty::Tuple)),
        "None" => Ty::None,
        _ => match signature(name) {
            Some(_) => Ty::Builtin(static_name(name)),
            None => Ty::Unknown,
        },
    }
}

/// A parameter of a known function: its name and the type it accepts (`None` = anything).
pub(crate) struct KnownParam {
    pub name: &'static str,
    pub ty: Option<Ty>,
}

/// A known function: how many positional arguments it takes and what it returns.
pub(crate) struct KnownSignature {
    pub params: Vec<KnownParam>,
    /// Required positional arguments.
    pub min: usize,
    /// Most positional arguments, `None` if unbounded.
    pub max: Option<usize>,
    pub returns: Ty,
}

fn sig(
    params: &[(&'static str, Option<Ty>)],
    min: usize,
    max: Option<usize>,
    returns: Ty,
) -> KnownSignature {
    KnownSignature {
        params: params
            .iter()
            .map(|(n, t)| KnownParam {
                name: n,
                ty: t.clone(),
            })
            .collect(),
        min,
        max,
        returns,
    }
}

const NAMES: &[&str] = &[
    "len",
    "print",
    "repr",
    "ascii",
    "chr",
    "ord",
    "hash",
    "id",
    "input",
    "isinstance",
    "issubclass",
    "callable",
    "hasattr",
    "sorted",
    "abs",
    "round",
    "format",
    "math.sqrt",
    "math.floor",
    "math.ceil",
    "math.log",
    "math.exp",
    "math.sin",
    "math.cos",
    "math.isclose",
    "math.gcd",
    "os.getenv",
    "os.path.join",
    "os.path.exists",
    "os.path.basename",
    "os.path.dirname",
    "os.listdir",
    "os.getcwd",
    "json.dumps",
    "json.loads",
    "re.match",
    "re.search",
    "re.fullmatch",
    "re.compile",
    "re.sub",
    "re.findall",
    "re.split",
    "time.time",
    "time.sleep",
    "time.monotonic",
    "time.perf_counter",
    "random.random",
    "random.randint",
    "asyncio.sleep",
    "shutil.which",
    "range",
];

fn static_name(name: &str) -> &'static str {
    NAMES
        .iter()
        .copied()
        .find(|n| *n == name)
        .unwrap_or("function")
}

/// The signature of a known builtin or standard-library function, by qualified name.
pub(crate) fn signature(name: &str) -> Option<KnownSignature> {
    let float = || Some(Ty::Float);
    let str_ = || Some(Ty::Str);
    Some(match name {
        "len" => sig(&[("obj", None)], 1, Some(1), Ty::Int),
        "print" => sig(&[], 0, None, Ty::None),
        "repr" | "ascii" => sig(&[("obj", None)], 1, Some(1), Ty::Str),
        "chr" => sig(&[("i", Some(Ty::Int))], 1, Some(1), Ty::Str),
        "ord" => sig(
            &[("c", Some(Ty::union([Ty::Str, Ty::Bytes])))],
            1,
            Some(1),
            Ty::Int,
        ),
        "hash" | "id" => sig(&[("obj", None)], 1, Some(1), Ty::Int),
        "input" => sig(&[("prompt", None)], 0, Some(1), Ty::Str),
        "isinstance" | "issubclass" => sig(
            &[("obj", None), ("class_or_tuple", None)],
            2,
            Some(2),
            Ty::Bool,
        ),
        "callable" => sig(&[("obj", None)], 1, Some(1), Ty::Bool),
        "hasattr" => sig(&[("obj", None), ("name", str_())], 2, Some(2), Ty::Bool),
        "sorted" => sig(
            &[("iterable", None)],
            1,
            Some(1),
            Ty::List(Box::new(Ty::Unknown)),
        ),
        "abs" => sig(&[("x", None)], 1, Some(1), Ty::Unknown),
        "round" => sig(
            &[("number", None), ("ndigits", None)],
            1,
            Some(2),
            Ty::Unknown,
        ),
        "format" => sig(
            &[("value", None), ("format_spec", str_())],
            1,
            Some(2),
            Ty::Str,
        ),
        "math.sqrt" | "math.exp" | "math.sin" | "math.cos" => {
            sig(&[("x", float())], 1, Some(1), Ty::Float)
        }
        "math.floor" | "math.ceil" => sig(&[("x", float())], 1, Some(1), Ty::Int),
        "math.log" => sig(&[("x", float()), ("base", float())], 1, Some(2), Ty::Float),
        "math.isclose" => sig(&[("a", float()), ("b", float())], 2, Some(2), Ty::Bool),
        "math.gcd" => sig(&[], 0, None, Ty::Int),
        "os.getenv" => sig(
            &[("key", str_()), ("default", None)],
            1,
            Some(2),
            Ty::Unknown,
        ),
        "os.path.join" => sig(&[], 1, None, Ty::Unknown),
        "os.path.exists" => sig(&[("path", None)], 1, Some(1), Ty::Bool),
        "os.path.basename" | "os.path.dirname" => sig(&[("p", None)], 1, Some(1), Ty::Unknown),
        "os.listdir" => sig(&[("path", None)], 0, Some(1), Ty::Unknown),
        "os.getcwd" => sig(&[], 0, Some(0), Ty::Str),
        "json.dumps" => sig(&[("obj", None)], 1, Some(1), Ty::Str),
        "json.loads" => sig(
            &[("s", Some(Ty::union([Ty::Str, Ty::Bytes])))],
            1,
            Some(1),
            Ty::Unknown,
        ),
        "re.match" | "re.search" | "re.fullmatch" => sig(
            &[("pattern", None), ("string", None), ("flags", None)],
            2,
            Some(3),
            Ty::optional(Ty::Opaque("re.Match")),
        ),
        "re.compile" => sig(
            &[("pattern", None), ("flags", None)],
            1,
            Some(2),
            Ty::Unknown,
        ),
        "re.sub" => sig(
            &[("pattern", None), ("repl", None), ("string", None)],
            3,
            Some(5),
            Ty::Unknown,
        ),
        "re.findall" => sig(
            &[("pattern", None), ("string", None)],
            2,
            Some(3),
            Ty::List(Box::new(Ty::Unknown)),
        ),
        "re.split" => sig(
            &[("pattern", None), ("string", None)],
            2,
            Some(4),
            Ty::List(Box::new(Ty::Unknown)),
        ),
        "time.time" | "time.monotonic" | "time.perf_counter" => sig(&[], 0, Some(0), Ty::Float),
        "time.sleep" => sig(&[("secs", float())], 1, Some(1), Ty::None),
        "random.random" => sig(&[], 0, Some(0), Ty::Float),
        "random.randint" => sig(
            &[("a", Some(Ty::Int)), ("b", Some(Ty::Int))],
            2,
            Some(2),
            Ty::Int,
        ),
        "asyncio.sleep" => sig(
            &[("delay", float()), ("result", None)],
            1,
            Some(2),
            Ty::Coroutine(Box::new(Ty::Unknown)),
        ),
        "range" => sig(
            &[
                ("start", Some(Ty::Int)),
                ("stop", Some(Ty::Int)),
                ("step", Some(Ty::Int)),
            ],
            1,
            Some(3),
            Ty::Opaque("range"),
        ),
        "shutil.which" => sig(&[("cmd", None)], 1, Some(3), Ty::optional(Ty::Str)),
        _ => return None,
    })
}

/// Functions whose return type depends on how many arguments were passed.
pub(crate) fn refine_return(name: &str, positional: usize, returns: Ty) -> Ty {
    match (name, positional) {
        ("os.getenv", 1) => Ty::optional(Ty::Str),
        ("os.getenv", _) => Ty::Unknown,
        _ => returns,
    }
}

/// The module attribute `module.attr` as a known function, if it is one.
pub(crate) fn module_attribute(module: &str, attr: &str) -> Ty {
    let qualified = format!("{module}.{attr}");
    if signature(&qualified).is_some() {
        return Ty::Builtin(static_name(&qualified));
    }
    match qualified.as_str() {
        "os.path" => Ty::Module("os.path".to_string()),
        "math.pi" | "math.e" | "math.inf" | "math.tau" => Ty::Float,
        "sys.argv" => Ty::List(Box::new(Ty::Str)),
        "sys.platform" | "os.sep" | "os.linesep" => Ty::Str,
        _ => Ty::Unknown,
    }
}

/// The type a builtin method returns when called.
pub(crate) fn method_return(receiver: &Ty, method: &str, positional: usize) -> Ty {
    match receiver {
        Ty::Str => match method {
            "upper" | "lower" | "strip" | "lstrip" | "rstrip" | "title" | "capitalize"
            | "replace" | "format" | "join" | "casefold" | "zfill" | "center" | "ljust"
            | "rjust" | "swapcase" | "expandtabs" | "removeprefix" | "removesuffix" => Ty::Str,
            "split" | "rsplit" | "splitlines" => Ty::List(Box::new(Ty::Str)),
            "startswith" | "endswith" | "isdigit" | "isalpha" | "isalnum" | "isspace"
            | "isupper" | "islower" | "isnumeric" | "isdecimal" | "isidentifier" | "istitle"
            | "isascii" | "isprintable" => Ty::Bool,
            "find" | "rfind" | "index" | "rindex" | "count" => Ty::Int,
            "encode" => Ty::Bytes,
            _ => Ty::Unknown,
        },
        Ty::Bytes => match method {
            "decode" | "hex" => Ty::Str,
            "upper" | "lower" | "strip" | "replace" | "join" => Ty::Bytes,
            _ => Ty::Unknown,
        },
        Ty::List(elt) => match method {
            "append" | "extend" | "insert" | "remove" | "clear" | "sort" | "reverse" => Ty::None,
            "pop" => (**elt).clone(),
            "index" | "count" => Ty::Int,
            "copy" => receiver.clone(),
            _ => Ty::Unknown,
        },
        Ty::Dict(_, value) => match method {
            "get" if positional == 1 => Ty::optional((**value).clone()),
            "update" | "clear" => Ty::None,
            "copy" => receiver.clone(),
            _ => Ty::Unknown,
        },
        Ty::Set(_) => match method {
            "add" | "update" | "discard" | "remove" | "clear" => Ty::None,
            "copy" | "union" | "intersection" | "difference" => receiver.clone(),
            _ => Ty::Unknown,
        },
        Ty::Int | Ty::Bool => match method {
            "bit_length" | "bit_count" => Ty::Int,
            _ => Ty::Unknown,
        },
        Ty::Float => match method {
            "is_integer" => Ty::Bool,
            "hex" => Ty::Str,
            _ => Ty::Unknown,
        },
        _ => Ty::Unknown,
    }
}

/// The result of `left op right` for builtin value types: `Ok(type)` when supported, `Err(())`
/// when Python raises `TypeError`, `Ok(Unknown)` when the reviewer cannot tell.
pub(crate) fn binary_op(op: Operator, left: &Ty, right: &Ty) -> Result<Ty, ()> {
    use Operator::*;
    use Ty::*;
    // printf-style formatting takes any right operand.
    if matches!(op, Mod) && matches!(left, Str | Bytes) {
        return Ok(left.clone());
    }
    if !(left.is_builtin_value() && right.is_builtin_value()) {
        return Ok(Unknown);
    }
    if matches!(left, None) || matches!(right, None) {
        return Err(());
    }
    let rank = |t: &Ty| match t {
        Bool => Some(0),
        Int => Some(1),
        Float => Some(2),
        Complex => Some(3),
        _ => Option::None,
    };
    if let (Some(a), Some(b)) = (rank(left), rank(right)) {
        let wide = a.max(b);
        let numeric = |r: i32| match r {
            0 | 1 => Int,
            2 => Float,
            _ => Complex,
        };
        return match op {
            Add | Sub | Mult | Mod | FloorDiv | Pow => {
                if wide == 3 && matches!(op, Mod | FloorDiv) {
                    Err(())
                } else {
                    Ok(if matches!(op, Pow) {
                        Unknown
                    } else {
                        numeric(wide)
                    })
                }
            }
            Div => Ok(if wide == 3 { Complex } else { Float }),
            BitAnd | BitOr | BitXor if a == 0 && b == 0 => Ok(Bool),
            BitAnd | BitOr | BitXor | LShift | RShift => {
                if wide <= 1 {
                    Ok(Int)
                } else {
                    Err(())
                }
            }
            MatMult => Err(()),
        };
    }
    let is_int = |t: &Ty| matches!(t, Int | Bool);
    match (op, left, right) {
        (Add, Str, Str) => Ok(Str),
        (Add, Bytes, Bytes) => Ok(Bytes),
        (Add, List(a), List(b)) => Ok(List(Box::new(Ty::union([(**a).clone(), (**b).clone()])))),
        (Add, Tuple, Tuple) => Ok(Tuple),
        (Mult, Str, r) | (Mult, r, Str) if is_int(r) => Ok(Str),
        (Mult, Bytes, r) | (Mult, r, Bytes) if is_int(r) => Ok(Bytes),
        (Mult, List(a), r) | (Mult, r, List(a)) if is_int(r) => Ok(List(a.clone())),
        (Mult, Tuple, r) | (Mult, r, Tuple) if is_int(r) => Ok(Tuple),
        (Mod, Str, _) => Ok(Str),
        (Mod, Bytes, _) => Ok(Bytes),
        (BitOr, Dict(..), Dict(..)) => Ok(left.clone()),
        (BitOr | BitAnd | Sub | BitXor, Set(_), Set(_)) => Ok(left.clone()),
        _ => Err(()),
    }
}

/// The dunder method names Python tries for a binary operator: (forward, reflected).
pub(crate) fn dunders(op: Operator) -> (&'static str, &'static str) {
    use Operator::*;
    match op {
        Add => ("__add__", "__radd__"),
        Sub => ("__sub__", "__rsub__"),
        Mult => ("__mul__", "__rmul__"),
        MatMult => ("__matmul__", "__rmatmul__"),
        Div => ("__truediv__", "__rtruediv__"),
        Mod => ("__mod__", "__rmod__"),
        Pow => ("__pow__", "__rpow__"),
        LShift => ("__lshift__", "__rlshift__"),
        RShift => ("__rshift__", "__rrshift__"),
        BitOr => ("__or__", "__ror__"),
        BitXor => ("__xor__", "__rxor__"),
        BitAnd => ("__and__", "__rand__"),
        FloorDiv => ("__floordiv__", "__rfloordiv__"),
    }
}

/// Attributes every object has, whatever its class defines.
pub(crate) const OBJECT_ATTRS: &[&str] = &[
    "__class__",
    "__delattr__",
    "__dict__",
    "__dir__",
    "__doc__",
    "__eq__",
    "__format__",
    "__ge__",
    "__getattribute__",
    "__getstate__",
    "__gt__",
    "__hash__",
    "__init__",
    "__init_subclass__",
    "__le__",
    "__lt__",
    "__module__",
    "__ne__",
    "__new__",
    "__reduce__",
    "__reduce_ex__",
    "__repr__",
    "__setattr__",
    "__sizeof__",
    "__str__",
    "__subclasshook__",
    "__weakref__",
    "__annotations__",
    "__slots__",
    "__match_args__",
    "__dataclass_fields__",
    "__dataclass_params__",
];

/// Attributes of class objects (`type` instances).
pub(crate) const TYPE_ATTRS: &[&str] = &[
    "__name__",
    "__qualname__",
    "__mro__",
    "mro",
    "__bases__",
    "__base__",
    "__subclasses__",
    "__call__",
    "__instancecheck__",
    "__subclasscheck__",
    "__prepare__",
    "__text_signature__",
    "__type_params__",
    "__abstractmethods__",
    "__flags__",
    "__basicsize__",
    "__itemsize__",
    "__dictoffset__",
    "__weakrefoffset__",
];

/// Builtin exception classes a file's class may derive from, and the attributes they add.
pub(crate) const EXCEPTION_ATTRS: &[&str] = &[
    "args",
    "with_traceback",
    "add_note",
    "__traceback__",
    "__cause__",
    "__context__",
    "__suppress_context__",
    "__notes__",
    "__setstate__",
];

pub(crate) fn is_builtin_exception(name: &str) -> bool {
    matches!(
        name,
        "Exception"
            | "BaseException"
            | "ValueError"
            | "TypeError"
            | "RuntimeError"
            | "KeyError"
            | "IndexError"
            | "LookupError"
            | "ArithmeticError"
            | "NotImplementedError"
            | "AttributeError"
            | "AssertionError"
            | "ZeroDivisionError"
            | "Warning"
            | "UserWarning"
            | "DeprecationWarning"
    )
}
