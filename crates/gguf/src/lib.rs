//! GGUF model files (versions 2 and 3): a validating, memory-mapped reader and a writer.
//!
//! A GGUF file is a header (magic `GGUF`, version, tensor count, metadata count), a list of
//! typed metadata key/value pairs (`general.architecture`, `tokenizer.ggml.tokens`, …), a
//! tensor table (name, shape, element type, offset) and an aligned data section holding the
//! tensors' bytes. [`GgufFile::open`] maps the file and checks every count, length, offset and
//! size against the file before it is used, so a truncated or hostile file yields a
//! [`GgufError`] that names the problem — never a panic and never an allocation sized by an
//! unchecked number. Tensor bytes are not copied: [`GgufFile::tensor_data`] borrows them from
//! the mapping.
//!
//! ```no_run
//! let file = ferrocodex_gguf::GgufFile::open("model.gguf".as_ref())?;
//! println!("{}", file.get_str("general.architecture").unwrap_or("?"));
//! for t in file.tensors() {
//!     println!("{} {:?} {}", t.name, t.dims, t.dtype);
//! }
//! # Ok::<(), ferrocodex_gguf::GgufError>(())
//! ```
//!
//! [`GgufWriter`] writes a file (atomically, through a temporary file) and is what the test
//! suites use to make small models.

mod reader;
mod types;
mod writer;

pub use reader::{Bytes, GgufFile, TensorInfo};
pub use types::GgmlType;
pub use writer::GgufWriter;

use std::path::PathBuf;

/// The magic number at the start of every GGUF file ("GGUF" in little-endian order).
pub const GGUF_MAGIC: u32 = 0x4655_4747;
/// Alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's limit on tensor dimensions.
pub const MAX_DIMS: usize = 4;

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    /// The GGUF type number of this value.
    pub fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v as u64),
            Value::U16(v) => Some(v as u64),
            Value::U32(v) => Some(v as u64),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I8(v) => Some(v as i64),
            Value::I16(v) => Some(v as i64),
            Value::I32(v) => Some(v as i64),
            Value::I64(v) => Some(v),
            Value::U8(v) => Some(v as i64),
            Value::U16(v) => Some(v as i64),
            Value::U32(v) => Some(v as i64),
            Value::U64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Everything that can be wrong with a GGUF file.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a GGUF model file (it does not start with the GGUF magic number)")]
    BadMagic { path: PathBuf },
    #[error("{path} is GGUF version {version}; ferrocodex reads versions 2 and 3")]
    UnsupportedVersion { path: PathBuf, version: u32 },
    #[error("{path} is truncated or corrupt: {what} runs past the end of the file (needs byte {needed}, file has {len})")]
    Truncated {
        path: PathBuf,
        what: String,
        needed: u64,
        len: u64,
    },
    #[error("{path} is corrupt: {what}")]
    Corrupt { path: PathBuf, what: String },
}

pub type Result<T, E = GgufError> = std::result::Result<T, E>;
