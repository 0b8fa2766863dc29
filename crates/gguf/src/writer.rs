//! The writer: metadata and tensors in, a GGUF v3 file out.

use std::io::Write;
use std::path::Path;

use crate::{GgmlType, GgufError, Result, Value, DEFAULT_ALIGNMENT, GGUF_MAGIC};

struct PendingTensor {
    name: String,
    dims: Vec<u64>,
    dtype: GgmlType,
    data: Vec<u8>,
}

/// Builds a GGUF v3 file in memory and writes it atomically.
///
/// ```no_run
/// use ferrocodex_gguf::{GgmlType, GgufWriter, Value};
/// let mut w = GgufWriter::new();
/// w.add_metadata("general.architecture", Value::String("llama".into()));
/// w.add_tensor("output_norm.weight", &[4], GgmlType::F32, vec![0u8; 16]);
/// w.write_file("tiny.gguf".as_ref())?;
/// # Ok::<(), ferrocodex_gguf::GgufError>(())
/// ```
#[derive(Default)]
pub struct GgufWriter {
    metadata: Vec<(String, Value)>,
    tensors: Vec<PendingTensor>,
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a metadata entry.
    pub fn add_metadata(&mut self, key: &str, value: Value) -> &mut Self {
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.metadata.push((key.to_string(), value)),
        }
        self
    }

    /// Adds a tensor. `dims` are in ggml order (`dims[0]` is the row length) and `data` must
    /// hold exactly the bytes that shape and type need.
    pub fn add_tensor(&mut self, name: &str, dims: &[u64], dtype: GgmlType, data: Vec<u8>) -> &mut Self {
        self.tensors.push(PendingTensor {
            name: name.to_string(),
            dims: dims.to_vec(),
            dtype,
            data,
        });
        self
    }

    /// Adds an F32 tensor from values.
    pub fn add_f32_tensor(&mut self, name: &str, dims: &[u64], values: &[f32]) -> &mut Self {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.add_tensor(name, dims, GgmlType::F32, data)
    }

    fn alignment(&self) -> u64 {
        self.metadata
            .iter()
            .find(|(k, _)| k == "general.alignment")
            .and_then(|(_, v)| v.as_u64())
            .unwrap_or(DEFAULT_ALIGNMENT)
    }

    /// The complete file as bytes.
    pub fn to_bytes(&self) -> std::result::Result<Vec<u8>, String> {
        let alignment = self.alignment();
        let mut out = Vec::new();
        out.extend_from_slice(&GGUF_MAGIC.to_le_bytes());
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (k, v) in &self.metadata {
            write_str(&mut out, k);
            out.extend_from_slice(&v.type_id().to_le_bytes());
            write_value(&mut out, v)?;
        }
        let mut offset = 0u64;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            let n: u64 = t.dims.iter().product();
            let expected = t
                .dtype
                .bytes_for(n)
                .ok_or_else(|| format!("tensor {}: {n} elements are not whole {} blocks", t.name, t.dtype))?;
            if expected != t.data.len() as u64 {
                return Err(format!(
                    "tensor {}: {} bytes given, shape {:?} of {} needs {expected}",
                    t.name,
                    t.data.len(),
                    t.dims,
                    t.dtype
                ));
            }
            write_str(&mut out, &t.name);
            out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&t.dtype.id().to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offsets.push(offset);
            offset = (offset + expected).div_ceil(alignment) * alignment;
        }
        pad(&mut out, alignment);
        let base = out.len() as u64;
        for (t, off) in self.tensors.iter().zip(offsets) {
            out.resize((base + off) as usize, 0);
            out.extend_from_slice(&t.data);
        }
        pad(&mut out, alignment);
        Ok(out)
    }

    /// Writes the file to a temporary name beside `path` and renames it into place, so that a
    /// half-written file never exists under `path`.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes().map_err(|what| GgufError::Corrupt {
            path: path.to_path_buf(),
            what,
        })?;
        let io = |source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io)
    }
}

fn pad(out: &mut Vec<u8>, alignment: u64) {
    let len = (out.len() as u64).div_ceil(alignment) * alignment;
    out.resize(len as usize, 0);
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn write_value(out: &mut Vec<u8>, v: &Value) -> std::result::Result<(), String> {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(*x as u8),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            let item_ty = items.first().map(Value::type_id).unwrap_or(0);
            if items.iter().any(|i| i.type_id() != item_ty) {
                return Err("an array mixes value types".into());
            }
            out.extend_from_slice(&item_ty.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for i in items {
                write_value(out, i)?;
            }
        }
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
    }
    Ok(())
}
