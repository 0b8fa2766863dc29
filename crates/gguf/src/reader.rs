//! The validating reader.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::{GgmlType, GgufError, Result, Value, DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_DIMS};

/// Arrays may nest (an array of arrays); deeper than this is treated as hostile.
const MAX_NESTING: usize = 8;
/// Key strings longer than this are treated as corrupt (the spec limits keys to 65,535 bytes).
const MAX_KEY_LEN: u64 = 65_535;

/// One entry of the tensor table, checked against the file.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` is the contiguous (row) length.
    pub dims: Vec<u64>,
    pub dtype: GgmlType,
    /// Absolute byte offset of the tensor's data in the file.
    pub offset: u64,
    /// Size of the tensor's data in bytes.
    pub size: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// The bytes behind a [`GgufFile`]: a shared read-only mapping, or an owned buffer.
pub type Bytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// An open, validated GGUF file. Cloning is cheap: the mapping is shared.
#[derive(Clone)]
pub struct GgufFile {
    path: PathBuf,
    map: Bytes,
    version: u32,
    metadata: Vec<(String, Value)>,
    index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    data_offset: u64,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn truncated(&self, what: &str, needed: u64) -> GgufError {
        GgufError::Truncated {
            path: self.path.to_path_buf(),
            what: what.to_string(),
            needed,
            len: self.buf.len() as u64,
        }
    }

    fn corrupt(&self, what: String) -> GgufError {
        GgufError::Corrupt {
            path: self.path.to_path_buf(),
            what,
        }
    }

    fn remaining(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let end = (self.pos as u64).checked_add(n).unwrap_or(u64::MAX);
        if end > self.buf.len() as u64 {
            return Err(self.truncated(what, end));
        }
        let s = &self.buf[self.pos..end as usize];
        self.pos = end as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        if len > self.remaining() {
            return Err(self.truncated(what, self.pos as u64 + len.min(u64::MAX - self.pos as u64)));
        }
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.corrupt(format!("{what} is not valid UTF-8")))
    }

    fn value(&mut self, ty: u32, what: &str, depth: usize) -> Result<Value> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>(what)?[0]),
            1 => Value::I8(self.array::<1>(what)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            4 => Value::U32(self.u32(what)?),
            5 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            7 => match self.array::<1>(what)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(self.corrupt(format!("{what} is a boolean with byte value {b}"))),
            },
            8 => Value::String(self.string(what)?),
            9 => {
                if depth >= MAX_NESTING {
                    return Err(self.corrupt(format!("{what} nests arrays more than {MAX_NESTING} deep")));
                }
                let item_ty = self.u32(what)?;
                let count = self.u64(what)?;
                let min_item = min_value_size(item_ty)
                    .ok_or_else(|| self.corrupt(format!("{what} is an array of unknown value type {item_ty}")))?;
                // Every item needs at least `min_item` bytes, so a count the rest of the file
                // cannot hold is rejected before anything is allocated for it.
                if count.saturating_mul(min_item) > self.remaining() {
                    return Err(self.corrupt(format!(
                        "{what} claims {count} items, more than the remaining {} bytes can hold",
                        self.remaining()
                    )));
                }
                let mut items = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    items.push(self.value(item_ty, what, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64(what)?),
            11 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            other => return Err(self.corrupt(format!("{what} has unknown value type {other}"))),
        })
    }
}

/// The fewest bytes a value of GGUF type `ty` can occupy.
fn min_value_size(ty: u32) -> Option<u64> {
    Some(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4 | 5 | 6 => 4,
        8 => 8,
        9 => 12,
        10..=12 => 8,
        _ => return None,
    })
}

impl GgufFile {
    /// Opens and validates a GGUF file, mapping it into memory.
    pub fn open(path: &Path) -> Result<GgufFile> {
        let io = |source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the mapping is read-only; a file changed underneath a running model is outside
        // what any memory-mapped reader can guard against.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Self::from_bytes(path, Arc::new(map))
    }

    /// Validates GGUF bytes already in memory; `path` is only used in messages.
    pub fn from_bytes(path: &Path, map: Bytes) -> Result<GgufFile> {
        let buf: &[u8] = (*map).as_ref();
        let mut c = Cursor { buf, pos: 0, path };
        let magic = c.u32("the header")?;
        if magic != GGUF_MAGIC {
            return Err(GgufError::BadMagic {
                path: path.to_path_buf(),
            });
        }
        let version = c.u32("the header")?;
        if version != 2 && version != 3 {
            return Err(GgufError::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
            });
        }
        let n_tensors = c.u64("the header")?;
        let n_kv = c.u64("the header")?;
        // A metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor entry at
        // least 8 + 4 + 4 + 8 bytes.
        if n_kv.saturating_mul(13) > c.remaining() {
            return Err(c.corrupt(format!("the header claims {n_kv} metadata entries, more than the file can hold")));
        }
        if n_tensors.saturating_mul(24) > c.remaining() {
            return Err(c.corrupt(format!("the header claims {n_tensors} tensors, more than the file can hold")));
        }

        let mut metadata = Vec::with_capacity(n_kv as usize);
        let mut index = HashMap::with_capacity(n_kv as usize);
        for i in 0..n_kv {
            let key_len_pos = c.pos;
            let key_len = u64::from_le_bytes(c.array(&format!("metadata entry {i}"))?);
            if key_len > MAX_KEY_LEN {
                return Err(c.corrupt(format!("metadata entry {i} has a key of {key_len} bytes")));
            }
            c.pos = key_len_pos;
            let key = c.string(&format!("the key of metadata entry {i}"))?;
            let ty = c.u32(&format!("metadata value {key}"))?;
            let value = c.value(ty, &format!("metadata value {key}"), 0)?;
            if index.insert(key.clone(), metadata.len()).is_some() {
                return Err(c.corrupt(format!("metadata key {key} appears twice")));
            }
            metadata.push((key, value));
        }

        let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some((_, v)) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() && a <= 1 << 20 => a,
                _ => return Err(c.corrupt(format!("general.alignment is {v:?}, not a power of two"))),
            },
        };

        struct RawTensor {
            name: String,
            dims: Vec<u64>,
            dtype: GgmlType,
            rel_offset: u64,
            size: u64,
        }
        let mut raw = Vec::with_capacity(n_tensors as usize);
        let mut tensor_index = HashMap::with_capacity(n_tensors as usize);
        for i in 0..n_tensors {
            let name = c.string(&format!("the name of tensor {i}"))?;
            let what = format!("tensor {name}");
            let n_dims = c.u32(&what)?;
            if n_dims == 0 || n_dims as usize > MAX_DIMS {
                return Err(c.corrupt(format!("{what} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)")));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            let mut n_elems: u64 = 1;
            for _ in 0..n_dims {
                let d = c.u64(&what)?;
                if d == 0 {
                    return Err(c.corrupt(format!("{what} has a zero-sized dimension")));
                }
                n_elems = n_elems
                    .checked_mul(d)
                    .ok_or_else(|| c.corrupt(format!("{what} has an absurd shape whose element count overflows")))?;
                dims.push(d);
            }
            let type_id = c.u32(&what)?;
            let dtype = GgmlType::from_id(type_id)
                .ok_or_else(|| c.corrupt(format!("{what} has unknown element type {type_id}")))?;
            if dims[0] % dtype.block_elems() != 0 {
                return Err(c.corrupt(format!(
                    "{what} has rows of {} elements, not a whole number of {} blocks of {}",
                    dims[0],
                    dtype,
                    dtype.block_elems()
                )));
            }
            let size = dtype
                .bytes_for(n_elems)
                .ok_or_else(|| c.corrupt(format!("{what} has an absurd size")))?;
            let rel_offset = c.u64(&what)?;
            if rel_offset % alignment != 0 {
                return Err(c.corrupt(format!("{what} starts at offset {rel_offset}, not a multiple of the alignment {alignment}")));
            }
            if tensor_index.insert(name.clone(), raw.len()).is_some() {
                return Err(c.corrupt(format!("tensor {name} appears twice")));
            }
            raw.push(RawTensor {
                name,
                dims,
                dtype,
                rel_offset,
                size,
            });
        }

        let data_offset = (c.pos as u64).div_ceil(alignment) * alignment;
        let file_len = buf.len() as u64;
        let mut tensors = Vec::with_capacity(raw.len());
        for t in raw {
            let offset = data_offset
                .checked_add(t.rel_offset)
                .ok_or_else(|| c.corrupt(format!("tensor {} has an absurd offset", t.name)))?;
            let end = offset
                .checked_add(t.size)
                .ok_or_else(|| c.corrupt(format!("tensor {} has an absurd offset", t.name)))?;
            if end > file_len {
                return Err(GgufError::Truncated {
                    path: path.to_path_buf(),
                    what: format!("the data of tensor {} ({} bytes at offset {offset})", t.name, t.size),
                    needed: end,
                    len: file_len,
                });
            }
            tensors.push(TensorInfo {
                name: t.name,
                dims: t.dims,
                dtype: t.dtype,
                offset,
                size: t.size,
            });
        }

        Ok(GgufFile {
            path: path.to_path_buf(),
            map,
            version,
            metadata,
            index,
            tensors,
            tensor_index,
            data_offset,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// Offset of the aligned data section.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Size of the file in bytes.
    pub fn file_size(&self) -> u64 {
        (*self.map).as_ref().len() as u64
    }

    /// All metadata in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.metadata[i].1)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }

    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }

    pub fn get_array(&self, key: &str) -> Option<&[Value]> {
        self.get(key).and_then(Value::as_array)
    }

    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// The bytes of a tensor from this file (validated at open time).
    pub fn tensor_data(&self, info: &TensorInfo) -> &[u8] {
        &(*self.map).as_ref()[info.offset as usize..(info.offset + info.size) as usize]
    }

    /// The shared mapping, for callers that keep tensor bytes alive beyond a borrow.
    pub fn mapping(&self) -> Bytes {
        self.map.clone()
    }
}
