//! Model hyper-parameters read from GGUF metadata, and the per-architecture choices that one
//! configurable decoder block needs (norm kind, activation, biases, rope layout, windows).

use ferrocodex_gguf::GgufFile;

use crate::EngineError;

/// The architectures the decoder block covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Gemma3,
    Llama,
    Qwen2,
    Starcoder2,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Gemma3 => "gemma3",
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Starcoder2 => "starcoder2",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind {
    /// x / sqrt(mean(x²) + eps) · w
    Rms,
    /// (x − mean) / sqrt(var + eps) · w + b
    Layer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// x·σ(x)
    Silu,
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    GeluTanh,
}

/// How rotary embeddings pair up the dimensions of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeLayout {
    /// Adjacent pairs (x[2i], x[2i+1]) — the original LLaMA layout.
    Adjacent,
    /// Split halves (x[i], x[i + d/2]) — GPT-NeoX layout.
    Halves,
}

#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub arch: Arch,
    pub name: String,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    /// Dimension of a query/key head.
    pub head_dim: usize,
    /// Dimension of a value head.
    pub head_dim_v: usize,
    pub n_ff: usize,
    pub vocab_size: usize,
    /// Context length the model was trained for.
    pub n_ctx_train: usize,
    pub norm: NormKind,
    pub norm_eps: f32,
    pub activation: Activation,
    /// FFN is act(gate(x)) · up(x) (true) or act(up(x)) (false).
    pub gated_ffn: bool,
    pub rope_layout: RopeLayout,
    /// Rotated dimensions per head (the rest pass through).
    pub rope_dim: usize,
    pub rope_base: f32,
    /// Linear rope scaling: positions are multiplied by this (1 / scaling factor).
    pub rope_freq_scale: f32,
    /// Rope base for sliding-window layers, where it differs.
    pub rope_base_swa: f32,
    /// Sliding window length for local layers; `None` when every layer is global.
    pub sliding_window: Option<usize>,
    /// `swa_layers[i]` says whether layer i attends within the sliding window only.
    pub swa_layers: Vec<bool>,
    /// Per-head RMSNorm of queries and keys.
    pub qk_norm: bool,
    /// Extra RMSNorm on the attention and FFN outputs before the residual adds (Gemma).
    pub post_norms: bool,
    /// Embeddings are multiplied by this (Gemma: √n_embd).
    pub embed_scale: Option<f32>,
    /// Queries are multiplied by this before attention (Gemma 3); the scores are then not scaled.
    pub query_scale: Option<f32>,
    /// Scale applied to q·k when `query_scale` is None: 1/√head_dim.
    pub kq_scale: f32,
}

fn key(arch: &str, k: &str) -> String {
    format!("{arch}.{k}")
}

impl ModelConfig {
    pub fn from_gguf(file: &GgufFile) -> Result<ModelConfig, EngineError> {
        let arch_name = file
            .get_str("general.architecture")
            .ok_or_else(|| EngineError::Model("the file has no general.architecture metadata".into()))?;
        let arch = match arch_name {
            "gemma3" => Arch::Gemma3,
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "starcoder2" => Arch::Starcoder2,
            other => {
                return Err(EngineError::UnknownArchitecture(other.to_string()));
            }
        };
        let req = |k: &str| -> Result<usize, EngineError> {
            let full = key(arch_name, k);
            let v = file
                .get_u64(&full)
                .ok_or_else(|| EngineError::Model(format!("the metadata lacks {full}")))?;
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0 && v < (1 << 24))
                .ok_or_else(|| EngineError::Model(format!("{full} = {v} is out of range")))
        };
        let opt_f = |k: &str| file.get_f64(&key(arch_name, k)).map(|v| v as f32);

        let n_layer = req("block_count")?;
        let n_embd = req("embedding_length")?;
        let n_head = req("attention.head_count")?;
        let n_head_kv = match file.get(&key(arch_name, "attention.head_count_kv")) {
            None => n_head,
            Some(_) => req("attention.head_count_kv")?,
        };
        let head_dim = match file.get(&key(arch_name, "attention.key_length")) {
            None => n_embd / n_head,
            Some(_) => req("attention.key_length")?,
        };
        let head_dim_v = match file.get(&key(arch_name, "attention.value_length")) {
            None => head_dim,
            Some(_) => req("attention.value_length")?,
        };
        if n_head % n_head_kv != 0 {
            return Err(EngineError::Model(format!(
                "{n_head} query heads cannot be shared among {n_head_kv} key/value heads"
            )));
        }
        let n_ff = req("feed_forward_length")?;
        let n_ctx_train = req("context_length")?;
        let vocab_size = file
            .get_array("tokenizer.ggml.tokens")
            .map(|a| a.len())
            .ok_or(EngineError::MissingTokenizer)?;
        let rope_dim = match file.get(&key(arch_name, "rope.dimension_count")) {
            None => head_dim,
            Some(_) => req("rope.dimension_count")?,
        };
        if rope_dim > head_dim || rope_dim % 2 != 0 {
            return Err(EngineError::Model(format!("rope dimension {rope_dim} does not fit heads of {head_dim}")));
        }
        let rope_base = opt_f("rope.freq_base").unwrap_or(10_000.0);
        let scaling_type = file.get_str(&key(arch_name, "rope.scaling.type")).unwrap_or("none");
        let rope_freq_scale = match scaling_type {
            "none" => 1.0,
            "linear" => {
                let factor = opt_f("rope.scaling.factor").or_else(|| opt_f("rope.scale_linear")).unwrap_or(1.0);
                if !(factor > 0.0) {
                    return Err(EngineError::Model(format!("rope scaling factor {factor} is not positive")));
                }
                1.0 / factor
            }
            other => {
                return Err(EngineError::Model(format!(
                    "rope scaling {other:?} is not supported (only linear)"
                )))
            }
        };

        let (norm, norm_eps) = match arch {
            Arch::Starcoder2 => (
                NormKind::Layer,
                opt_f("attention.layer_norm_epsilon").unwrap_or(1e-5),
            ),
            _ => (
                NormKind::Rms,
                opt_f("attention.layer_norm_rms_epsilon").unwrap_or(1e-6),
            ),
        };
        let sliding_window = file
            .get_u64(&key(arch_name, "attention.sliding_window"))
            .filter(|&w| w > 0)
            .map(|w| w as usize);

        let mut cfg = ModelConfig {
            arch,
            name: file.get_str("general.name").unwrap_or(arch_name).to_string(),
            n_layer,
            n_embd,
            n_head,
            n_head_kv,
            head_dim,
            head_dim_v,
            n_ff,
            vocab_size,
            n_ctx_train,
            norm,
            norm_eps,
            activation: Activation::Silu,
            gated_ffn: true,
            rope_layout: RopeLayout::Halves,
            rope_dim,
            rope_base,
            rope_freq_scale,
            rope_base_swa: rope_base,
            sliding_window: None,
            swa_layers: vec![false; n_layer],
            qk_norm: false,
            post_norms: false,
            embed_scale: None,
            query_scale: None,
            kq_scale: 1.0 / (head_dim as f32).sqrt(),
        };
        match arch {
            Arch::Gemma3 => {
                cfg.activation = Activation::GeluTanh;
                cfg.qk_norm = true;
                cfg.post_norms = true;
                cfg.embed_scale = Some((n_embd as f32).sqrt());
                cfg.query_scale = Some(1.0 / (head_dim as f32).sqrt());
                // Five of every six layers are local with their own rope base; every sixth is global.
                cfg.rope_base_swa = 10_000.0;
                if let Some(w) = sliding_window {
                    cfg.sliding_window = Some(w);
                    cfg.swa_layers = (0..n_layer).map(|i| i % 6 < 5).collect();
                }
            }
            Arch::Llama => {
                cfg.rope_layout = RopeLayout::Adjacent;
            }
            Arch::Qwen2 => {}
            Arch::Starcoder2 => {
                cfg.activation = Activation::GeluTanh;
                cfg.gated_ffn = false;
                // The reference implementation attends globally in every layer; a declared
                // sliding window is ignored to match it.
            }
        }
        Ok(cfg)
    }

    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }

    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }

    pub fn v_dim(&self) -> usize {
        self.n_head_kv * self.head_dim_v
    }
}
