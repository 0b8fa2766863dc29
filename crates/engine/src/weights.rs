//! Weights as views into the memory-mapped file. Matrices stay in their quantized form; only
//! the small vectors (norm weights, biases) are converted to f32 at load time.

use ferrocodex_gguf::{Bytes, GgmlType, GgufFile, TensorInfo};

use crate::config::{ModelConfig, NormKind};
use crate::EngineError;

/// A weight matrix of `rows` rows of `cols` elements, in its file format, borrowed from the
/// mapping (no copy).
#[derive(Clone)]
pub struct QMatrix {
    pub name: String,
    pub dtype: GgmlType,
    pub rows: usize,
    pub cols: usize,
    row_bytes: usize,
    bytes: Bytes,
    offset: usize,
}

impl std::fmt::Debug for QMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QMatrix({} {}x{} {})", self.name, self.rows, self.cols, self.dtype)
    }
}

impl QMatrix {
    /// The bytes of rows `r0..r1`.
    pub fn rows_data(&self, r0: usize, r1: usize) -> &[u8] {
        let all: &[u8] = (*self.bytes).as_ref();
        &all[self.offset + r0 * self.row_bytes..self.offset + r1 * self.row_bytes]
    }

    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// Row `r` converted to f32 (embedding lookup).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        ferrocodex_quant::dequantize_row(self.dtype, self.rows_data(r, r + 1), out);
    }
}

/// One decoder block's weights. Which optional parts exist depends on the architecture.
pub struct LayerWeights {
    pub attn_norm: Vec<f32>,
    pub attn_norm_b: Option<Vec<f32>>,
    pub wq: QMatrix,
    pub wk: QMatrix,
    pub wv: QMatrix,
    pub wo: QMatrix,
    pub bq: Option<Vec<f32>>,
    pub bk: Option<Vec<f32>>,
    pub bv: Option<Vec<f32>>,
    pub bo: Option<Vec<f32>>,
    pub q_norm: Option<Vec<f32>>,
    pub k_norm: Option<Vec<f32>>,
    pub post_attn_norm: Option<Vec<f32>>,
    pub ffn_norm: Vec<f32>,
    pub ffn_norm_b: Option<Vec<f32>>,
    pub w_gate: Option<QMatrix>,
    pub w_up: QMatrix,
    pub w_down: QMatrix,
    pub b_up: Option<Vec<f32>>,
    pub b_down: Option<Vec<f32>>,
    pub post_ffn_norm: Option<Vec<f32>>,
}

pub struct Weights {
    pub token_embd: QMatrix,
    pub layers: Vec<LayerWeights>,
    pub output_norm: Vec<f32>,
    pub output_norm_b: Option<Vec<f32>>,
    /// The output projection; the token embedding itself when the model ties them.
    pub output: QMatrix,
}

struct Loader<'a> {
    file: &'a GgufFile,
}

impl Loader<'_> {
    fn info(&self, name: &str) -> Result<&TensorInfo, EngineError> {
        self.file
            .tensor(name)
            .ok_or_else(|| EngineError::Model(format!("the model lacks the tensor {name}")))
    }

    fn matrix(&self, name: &str, cols: usize, rows: usize) -> Result<QMatrix, EngineError> {
        let t = self.info(name)?;
        self.matrix_from(t, cols, Some(rows))
    }

    fn matrix_from(&self, t: &TensorInfo, cols: usize, rows: Option<usize>) -> Result<QMatrix, EngineError> {
        if !ferrocodex_quant::is_supported(t.dtype) {
            return Err(EngineError::UnsupportedType {
                tensor: t.name.clone(),
                dtype: t.dtype.name().to_string(),
            });
        }
        let shape_ok = t.dims.len() == 2 && t.dims[0] == cols as u64 && rows.is_none_or(|r| t.dims[1] == r as u64);
        if !shape_ok {
            return Err(EngineError::Model(format!(
                "tensor {} has shape {:?}; the metadata implies [{cols}, {}]",
                t.name,
                t.dims,
                rows.map_or("?".to_string(), |r| r.to_string())
            )));
        }
        let rows = t.dims[1] as usize;
        Ok(QMatrix {
            name: t.name.clone(),
            dtype: t.dtype,
            rows,
            cols,
            row_bytes: t.size as usize / rows,
            bytes: self.file.mapping(),
            offset: t.offset as usize,
        })
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>, EngineError> {
        let t = self.info(name)?;
        if t.n_elements() != len as u64 {
            return Err(EngineError::Model(format!(
                "tensor {name} has {} elements; the metadata implies {len}",
                t.n_elements()
            )));
        }
        if !matches!(t.dtype, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16) {
            return Err(EngineError::UnsupportedType {
                tensor: name.to_string(),
                dtype: t.dtype.name().to_string(),
            });
        }
        let mut out = vec![0f32; len];
        ferrocodex_quant::dequantize_row(t.dtype, self.file.tensor_data(t), &mut out);
        Ok(out)
    }

    fn opt_vector(&self, name: &str, len: usize) -> Result<Option<Vec<f32>>, EngineError> {
        match self.file.tensor(name) {
            None => Ok(None),
            Some(_) => self.vector(name, len).map(Some),
        }
    }
}

impl Weights {
    pub fn load(file: &GgufFile, cfg: &ModelConfig) -> Result<Weights, EngineError> {
        let l = Loader { file };
        let d = cfg.n_embd;
        let token_embd = l.matrix("token_embd.weight", d, cfg.vocab_size)?;
        let layer_norm = cfg.norm == NormKind::Layer;
        let mut layers = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            let n = |s: &str| format!("blk.{i}.{s}");
            let gated = cfg.gated_ffn;
            layers.push(LayerWeights {
                attn_norm: l.vector(&n("attn_norm.weight"), d)?,
                attn_norm_b: if layer_norm { l.opt_vector(&n("attn_norm.bias"), d)? } else { None },
                wq: l.matrix(&n("attn_q.weight"), d, cfg.q_dim())?,
                wk: l.matrix(&n("attn_k.weight"), d, cfg.kv_dim())?,
                wv: l.matrix(&n("attn_v.weight"), d, cfg.v_dim())?,
                wo: l.matrix(&n("attn_output.weight"), cfg.n_head * cfg.head_dim_v, d)?,
                bq: l.opt_vector(&n("attn_q.bias"), cfg.q_dim())?,
                bk: l.opt_vector(&n("attn_k.bias"), cfg.kv_dim())?,
                bv: l.opt_vector(&n("attn_v.bias"), cfg.v_dim())?,
                bo: l.opt_vector(&n("attn_output.bias"), d)?,
                q_norm: if cfg.qk_norm { Some(l.vector(&n("attn_q_norm.weight"), cfg.head_dim)?) } else { None },
                k_norm: if cfg.qk_norm { Some(l.vector(&n("attn_k_norm.weight"), cfg.head_dim)?) } else { None },
                post_attn_norm: if cfg.post_norms { Some(l.vector(&n("post_attention_norm.weight"), d)?) } else { None },
                ffn_norm: l.vector(&n("ffn_norm.weight"), d)?,
                ffn_norm_b: if layer_norm { l.opt_vector(&n("ffn_norm.bias"), d)? } else { None },
                w_gate: if gated { Some(l.matrix(&n("ffn_gate.weight"), d, cfg.n_ff)?) } else { None },
                w_up: l.matrix(&n("ffn_up.weight"), d, cfg.n_ff)?,
                w_down: l.matrix(&n("ffn_down.weight"), cfg.n_ff, d)?,
                b_up: l.opt_vector(&n("ffn_up.bias"), cfg.n_ff)?,
                b_down: l.opt_vector(&n("ffn_down.bias"), d)?,
                post_ffn_norm: if cfg.post_norms { Some(l.vector(&n("post_ffw_norm.weight"), d)?) } else { None },
            });
        }
        let output = match file.tensor("output.weight") {
            Some(t) => l.matrix_from(t, d, Some(cfg.vocab_size))?,
            None => token_embd.clone(),
        };
        Ok(Weights {
            token_embd,
            layers,
            output_norm: l.vector("output_norm.weight", d)?,
            output_norm_b: if layer_norm { l.opt_vector("output_norm.bias", d)? } else { None },
            output,
        })
    }
}
