//! Small, deterministic, random-weight GGUF models of every architecture ferrocodex runs,
//! written the way llama.cpp's loader expects them, so that llama.cpp can make golden outputs
//! from them and the engine can be tested against those goldens without a real model.
//!
//! | [`TinyArch`] | GGUF architecture | tokenizer | what it stands for |
//! |---|---|---|---|
//! | `CodeLlama` | `llama` | SentencePiece (`llama`), byte fallback, `▁<PRE>` FIM tokens | CodeLlama |
//! | `DeepseekCoder` | `llama` | byte-level BPE (`gpt2`, pre `deepseek-coder`), linear RoPE scaling ×4 | DeepSeek-Coder |
//! | `Qwen2` | `qwen2` | BPE, pre `qwen2`, q/k/v biases, output tied to the embeddings | Qwen2.5-Coder |
//! | `Starcoder2` | `starcoder2` | BPE, pre `starcoder` (specials first), LayerNorm + biases, GELU MLP | StarCoder2 |
//! | `Gemma3` | `gemma3` | SentencePiece like Gemma's, q/k norms, post norms, sliding window 8 (layers 0-4 local, 5 global), tied output, 6 layers | Gemma 3 |
//!
//! All have n_embd 256, 4 query heads of 64, n_ff 512; the KV head count is 2 (grouped-query
//! attention) except Gemma 3, which has 1 like Gemma 3 270M. Between them the weights use
//! every tensor type the engine supports (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K,
//! Q6_K). Weights come from a SplitMix64 stream per tensor; the files are byte-identical on
//! every run and every platform.
//!
//! The goldens in `tests/goldens/tiny-<name>.json` record the sha256 of the file they were made
//! from: any change here changes that hash and means the goldens must be regenerated
//! (`scripts/make_goldens.py`).

pub mod encode;
pub mod rng;
pub mod vocab;

use std::path::Path;

use ferrocodex_gguf::{GgmlType, GgufWriter, Value};
use rng::{fnv1a, SplitMix64};
use vocab::{Vocab, BYTE, CONTROL, NORMAL, UNKNOWN, USER_DEFINED};

/// The tiny test models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TinyArch {
    CodeLlama,
    DeepseekCoder,
    Qwen2,
    Starcoder2,
    Gemma3,
}

const ALL: [TinyArch; 5] = [
    TinyArch::CodeLlama,
    TinyArch::DeepseekCoder,
    TinyArch::Qwen2,
    TinyArch::Starcoder2,
    TinyArch::Gemma3,
];

/// Every tiny model.
pub fn all() -> &'static [TinyArch] {
    &ALL
}

impl TinyArch {
    /// Short name, used in file names: `tiny-<name>.gguf`, `tiny-<name>.json`.
    pub fn name(self) -> &'static str {
        match self {
            TinyArch::CodeLlama => "codellama",
            TinyArch::DeepseekCoder => "deepseek-coder",
            TinyArch::Qwen2 => "qwen2",
            TinyArch::Starcoder2 => "starcoder2",
            TinyArch::Gemma3 => "gemma3",
        }
    }

    /// `general.architecture` of the file.
    pub fn gguf_architecture(self) -> &'static str {
        match self {
            TinyArch::CodeLlama | TinyArch::DeepseekCoder => "llama",
            TinyArch::Qwen2 => "qwen2",
            TinyArch::Starcoder2 => "starcoder2",
            TinyArch::Gemma3 => "gemma3",
        }
    }

    /// `tiny-<name>.gguf`.
    pub fn file_name(self) -> String {
        format!("tiny-{}.gguf", self.name())
    }

    pub fn from_name(name: &str) -> Option<TinyArch> {
        all().iter().copied().find(|a| a.name() == name)
    }
}

/// Shape and numbers of one model.
struct Spec {
    seed: u64,
    n_layer: usize,
    n_embd: usize,
    n_head: usize,
    n_head_kv: usize,
    head_dim: usize,
    n_ff: usize,
    n_ctx_train: u32,
    eps: f32,
    rope_base: f32,
    tied: bool,
}

const N_EMBD: usize = 256;
const N_HEAD: usize = 4;
const HEAD_DIM: usize = 64;
const N_FF: usize = 512;
/// The RMS the logits are aimed at, so that the softmax is peaked.
const LOGIT_SCALE: f32 = 4.0;
/// Mean weight of Gemma 3's post-attention and post-FFN norms (see the token embeddings).
const GEMMA3_POST_NORM: f32 = 16.0;
/// Gain of the attention-output and FFN-down projections of the other tied models.
const TIED_OUT_GAIN: f32 = 3.0;

fn spec(arch: TinyArch) -> Spec {
    let base = Spec {
        seed: fnv1a(arch.name()),
        n_layer: 2,
        n_embd: N_EMBD,
        n_head: N_HEAD,
        n_head_kv: 2,
        head_dim: HEAD_DIM,
        n_ff: N_FF,
        n_ctx_train: 4096,
        eps: 1e-5,
        rope_base: 10_000.0,
        tied: false,
    };
    match arch {
        TinyArch::CodeLlama => Spec {
            rope_base: 1_000_000.0,
            n_ctx_train: 16384,
            ..base
        },
        TinyArch::DeepseekCoder => Spec {
            rope_base: 100_000.0,
            eps: 1e-6,
            n_ctx_train: 16384,
            ..base
        },
        TinyArch::Qwen2 => Spec {
            rope_base: 1_000_000.0,
            eps: 1e-6,
            n_ctx_train: 32768,
            tied: true,
            ..base
        },
        TinyArch::Starcoder2 => Spec {
            rope_base: 100_000.0,
            n_ctx_train: 16384,
            ..base
        },
        TinyArch::Gemma3 => Spec {
            n_layer: 6,
            n_head_kv: 1,
            eps: 1e-6,
            rope_base: 1_000_000.0,
            n_ctx_train: 32768,
            tied: true,
            ..base
        },
    }
}

/// The sliding window of the tiny Gemma 3 (tokens), small so that short runs cross it.
pub const GEMMA3_SLIDING_WINDOW: u32 = 8;

/// Which tensor of a layer (or of the model) a weight is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Embd,
    Output,
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

/// The element type of each weight matrix: spread so that every type appears somewhere.
fn weight_type(arch: TinyArch, kind: Kind, layer: usize) -> GgmlType {
    use GgmlType::*;
    use Kind::*;
    match arch {
        // Like a Q4_K_M file, with layer 1 as Q5_K_M.
        TinyArch::CodeLlama => match (kind, layer) {
            (Embd, _) => Q4_K,
            (Output, _) => Q6_K,
            (V | Down, _) => Q6_K,
            (_, 0) => Q4_K,
            _ => Q5_K,
        },
        // Unquantized: F16 in layer 0, BF16 in layer 1.
        TinyArch::DeepseekCoder => match (kind, layer) {
            (Embd, _) => F16,
            (Output, _) => BF16,
            (_, 0) => F16,
            _ => BF16,
        },
        // The legacy 32-element blocks.
        TinyArch::Qwen2 => match (kind, layer) {
            (Embd, _) => Q8_0,
            (Q | K | V, 0) => Q8_0,
            (Q | K | V, _) => Q5_0,
            (O | Gate | Up, _) => Q4_0,
            (Down, _) => Q5_0,
            (Output, _) => unreachable!("tied"),
        },
        // Plain F32, with one Q8_0 matrix and an F16 output layer.
        TinyArch::Starcoder2 => match (kind, layer) {
            (Up, 1) => Q8_0,
            (Output, _) => F16,
            _ => F32,
        },
        // Like Gemma 3 270M's Q4_K_M file, with variety in the later layers.
        TinyArch::Gemma3 => match (kind, layer) {
            (Embd, _) => Q8_0,
            (Q | K | Gate | Up, 0 | 1 | 5) => Q5_0,
            (V, 0 | 1 | 5) => Q8_0,
            (O, 0 | 1 | 5) => Q4_K,
            (Down, 0 | 1 | 5) => Q6_K,
            (_, 2) => F16,
            (_, 3) => Q4_0,
            (Q | K | V | O, _) => Q5_K,
            (Gate | Up, _) => BF16,
            (Down, _) => Q8_0,
            (Output, _) => unreachable!("tied"),
        },
    }
}

struct Builder {
    w: GgufWriter,
    seed: u64,
}

impl Builder {
    fn rng(&self, name: &str) -> SplitMix64 {
        SplitMix64::new(self.seed ^ fnv1a(name))
    }

    fn normal(&self, name: &str, n: usize, std: f32) -> Vec<f32> {
        let mut r = self.rng(name);
        (0..n).map(|_| r.normal() * std).collect()
    }

    /// A matrix of `rows` rows of length `cols`, values ~ N(0, (gain / sqrt(cols))²).
    fn matrix(&mut self, name: &str, cols: usize, rows: usize, gain: f32, t: GgmlType) {
        let std = gain / (cols as f32).sqrt();
        let values = self.normal(name, cols * rows, std);
        let bytes = encode::encode(t, &values);
        self.w.add_tensor(name, &[cols as u64, rows as u64], t, bytes);
    }

    /// A norm weight: 1 + N(0, 0.1²) (the "+1" of Gemma's norms is already in).
    fn norm(&mut self, name: &str, n: usize) {
        self.norm_around(name, n, 1.0);
    }

    /// A norm weight: mean · (1 + N(0, 0.1²)).
    fn norm_around(&mut self, name: &str, n: usize, mean: f32) {
        let values: Vec<f32> = self.normal(name, n, 0.1).iter().map(|v| mean * (1.0 + v)).collect();
        self.w.add_f32_tensor(name, &[n as u64], &values);
    }

    fn bias(&mut self, name: &str, n: usize, std: f32) {
        let values = self.normal(name, n, std);
        self.w.add_f32_tensor(name, &[n as u64], &values);
    }

    fn meta(&mut self, key: &str, v: Value) {
        self.w.add_metadata(key, v);
    }
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
}

/// The vocabulary of each model.
fn vocab_for(arch: TinyArch) -> Vocab {
    match arch {
        TinyArch::CodeLlama => {
            let mut tokens = vec!["<unk>".to_string(), "<s>".into(), "</s>".into()];
            let mut types = vec![UNKNOWN, CONTROL, CONTROL];
            let mut scores = vec![0.0f32; 3];
            for b in vocab::byte_pieces() {
                tokens.push(b);
                types.push(BYTE);
                scores.push(0.0);
            }
            for (p, s) in vocab::spm_pieces(220) {
                tokens.push(p);
                types.push(NORMAL);
                scores.push(s);
            }
            for fim in ["\u{2581}<PRE>", "\u{2581}<SUF>", "\u{2581}<MID>", "\u{2581}<EOT>"] {
                tokens.push(fim.into());
                types.push(CONTROL);
                scores.push(0.0);
            }
            let mut v = Vocab {
                model: "llama",
                tokens,
                scores: Some(scores),
                types,
                add_bos: Some(true),
                add_eos: Some(false),
                // add_space_prefix left out on purpose: real CodeLlama files do not write it and
                // llama.cpp's default for SentencePiece vocabularies (true) applies.
                ..Default::default()
            };
            v.ids = vec![
                ("bos", 1),
                ("eos", 2),
                ("unknown", 0),
                ("fim_pre", v.id("\u{2581}<PRE>")),
                ("fim_suf", v.id("\u{2581}<SUF>")),
                ("fim_mid", v.id("\u{2581}<MID>")),
                ("eot", v.id("\u{2581}<EOT>")),
            ];
            v
        }
        TinyArch::Gemma3 => {
            let mut tokens: Vec<String> = Vec::new();
            let mut types = Vec::new();
            let mut scores = Vec::new();
            let mut push = |t: &str, ty: i32, s: f32| {
                tokens.push(t.to_string());
                types.push(ty);
                scores.push(s);
            };
            for t in ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"] {
                push(t, CONTROL, -1000.0);
            }
            push("[multimodal]", USER_DEFINED, -1000.0);
            push("<start_of_turn>", CONTROL, -1000.0);
            push("<end_of_turn>", CONTROL, -1000.0);
            for n in 1..=4 {
                push(&"\n".repeat(n), USER_DEFINED, -1000.0);
            }
            for n in 2..=8 {
                push(&" ".repeat(n), USER_DEFINED, -1000.0);
            }
            push("\t", USER_DEFINED, -1000.0);
            push("\t\t", USER_DEFINED, -1000.0);
            push("<code>", USER_DEFINED, -1000.0);
            push("</code>", USER_DEFINED, -1000.0);
            for b in vocab::byte_pieces() {
                push(&b, BYTE, 0.0);
            }
            for (p, s) in vocab::spm_pieces(240) {
                push(&p, NORMAL, s);
            }
            Vocab {
                model: "llama",
                pre: Some("default"),
                tokens,
                scores: Some(scores),
                types,
                ids: vec![("bos", 2), ("eos", 1), ("unknown", 3), ("padding", 0)],
                add_bos: Some(true),
                add_eos: Some(false),
                add_space_prefix: Some(false),
                ..Default::default()
            }
        }
        TinyArch::DeepseekCoder | TinyArch::Qwen2 | TinyArch::Starcoder2 => {
            let (n_merges, max_digits, pre) = match arch {
                TinyArch::DeepseekCoder => (240, 1, "deepseek-coder"),
                TinyArch::Qwen2 => (256, 1, "qwen2"),
                _ => (272, 1, "starcoder"),
            };
            let (base, merges) = vocab::bpe(n_merges, max_digits);
            let specials: Vec<(&str, i32)> = match arch {
                TinyArch::DeepseekCoder => vec![
                    ("<\u{ff5c}begin\u{2581}of\u{2581}sentence\u{ff5c}>", CONTROL),
                    ("<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>", CONTROL),
                    ("<\u{ff5c}fim\u{2581}hole\u{ff5c}>", USER_DEFINED),
                    ("<\u{ff5c}fim\u{2581}begin\u{ff5c}>", USER_DEFINED),
                    ("<\u{ff5c}fim\u{2581}end\u{ff5c}>", USER_DEFINED),
                    ("<pad>", CONTROL),
                    ("<|EOT|>", CONTROL),
                ],
                TinyArch::Qwen2 => vec![
                    ("<|endoftext|>", CONTROL),
                    ("<|im_start|>", CONTROL),
                    ("<|im_end|>", CONTROL),
                    ("<|fim_prefix|>", CONTROL),
                    ("<|fim_middle|>", CONTROL),
                    ("<|fim_suffix|>", CONTROL),
                    ("<|fim_pad|>", CONTROL),
                    ("<|repo_name|>", CONTROL),
                    ("<|file_sep|>", CONTROL),
                ],
                _ => vec![
                    ("<|endoftext|>", CONTROL),
                    ("<fim_prefix>", CONTROL),
                    ("<fim_middle>", CONTROL),
                    ("<fim_suffix>", CONTROL),
                    ("<fim_pad>", CONTROL),
                    ("<repo_name>", CONTROL),
                    ("<file_sep>", CONTROL),
                ],
            };
            let mut tokens = Vec::new();
            let mut types = Vec::new();
            // StarCoder2 numbers its specials first; the others after the learned tokens.
            if arch == TinyArch::Starcoder2 {
                for (s, t) in &specials {
                    tokens.push(s.to_string());
                    types.push(*t);
                }
            }
            for t in base {
                tokens.push(t);
                types.push(NORMAL);
            }
            if arch != TinyArch::Starcoder2 {
                for (s, t) in &specials {
                    tokens.push(s.to_string());
                    types.push(*t);
                }
            }
            let mut v = Vocab {
                model: "gpt2",
                pre: Some(pre),
                tokens,
                types,
                merges: Some(merges),
                ..Default::default()
            };
            match arch {
                TinyArch::DeepseekCoder => {
                    v.ids = vec![
                        ("bos", v.id("<\u{ff5c}begin\u{2581}of\u{2581}sentence\u{ff5c}>")),
                        ("eos", v.id("<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>")),
                        ("padding", v.id("<pad>")),
                        ("eot", v.id("<|EOT|>")),
                        ("fim_pre", v.id("<\u{ff5c}fim\u{2581}begin\u{ff5c}>")),
                        ("fim_suf", v.id("<\u{ff5c}fim\u{2581}hole\u{ff5c}>")),
                        ("fim_mid", v.id("<\u{ff5c}fim\u{2581}end\u{ff5c}>")),
                    ];
                    v.add_bos = Some(true);
                    v.add_eos = Some(false);
                }
                TinyArch::Qwen2 => {
                    v.ids = vec![
                        ("bos", v.id("<|endoftext|>")),
                        ("eos", v.id("<|endoftext|>")),
                        ("padding", v.id("<|endoftext|>")),
                        ("fim_pre", v.id("<|fim_prefix|>")),
                        ("fim_suf", v.id("<|fim_suffix|>")),
                        ("fim_mid", v.id("<|fim_middle|>")),
                        ("fim_pad", v.id("<|fim_pad|>")),
                        ("fim_rep", v.id("<|repo_name|>")),
                        ("fim_sep", v.id("<|file_sep|>")),
                    ];
                    v.add_bos = Some(false);
                }
                _ => {
                    v.ids = vec![
                        ("bos", 0),
                        ("eos", 0),
                        ("unknown", 0),
                        ("fim_pre", v.id("<fim_prefix>")),
                        ("fim_suf", v.id("<fim_suffix>")),
                        ("fim_mid", v.id("<fim_middle>")),
                        ("fim_pad", v.id("<fim_pad>")),
                        ("fim_rep", v.id("<repo_name>")),
                        ("fim_sep", v.id("<file_sep>")),
                    ];
                    v.add_bos = Some(false);
                    v.add_eos = Some(false);
                }
            }
            v
        }
    }
}

fn write_vocab(b: &mut Builder, v: &Vocab) {
    b.meta("tokenizer.ggml.model", Value::String(v.model.into()));
    if let Some(pre) = v.pre {
        b.meta("tokenizer.ggml.pre", Value::String(pre.into()));
    }
    b.meta("tokenizer.ggml.tokens", strings(&v.tokens));
    if let Some(scores) = &v.scores {
        b.meta(
            "tokenizer.ggml.scores",
            Value::Array(scores.iter().map(|s| Value::F32(*s)).collect()),
        );
    }
    b.meta(
        "tokenizer.ggml.token_type",
        Value::Array(v.types.iter().map(|t| Value::I32(*t)).collect()),
    );
    if let Some(merges) = &v.merges {
        b.meta("tokenizer.ggml.merges", strings(merges));
    }
    for (what, id) in &v.ids {
        b.meta(&format!("tokenizer.ggml.{what}_token_id"), Value::U32(*id));
    }
    if let Some(x) = v.add_bos {
        b.meta("tokenizer.ggml.add_bos_token", Value::Bool(x));
    }
    if let Some(x) = v.add_eos {
        b.meta("tokenizer.ggml.add_eos_token", Value::Bool(x));
    }
    if let Some(x) = v.add_space_prefix {
        b.meta("tokenizer.ggml.add_space_prefix", Value::Bool(x));
    }
}

/// The complete GGUF file of `arch`, in memory.
pub fn tiny_model_bytes(arch: TinyArch) -> Result<Vec<u8>, String> {
    let s = spec(arch);
    let vocab = vocab_for(arch);
    let n_vocab = vocab.tokens.len();
    let a = arch.gguf_architecture();
    let mut b = Builder {
        w: GgufWriter::new(),
        seed: s.seed,
    };

    b.meta("general.architecture", Value::String(a.into()));
    b.meta(
        "general.name",
        Value::String(format!("ferrocodex tiny {}", arch.name())),
    );
    b.meta("general.quantization_version", Value::U32(2));
    b.meta(&format!("{a}.context_length"), Value::U32(s.n_ctx_train));
    b.meta(&format!("{a}.embedding_length"), Value::U32(s.n_embd as u32));
    b.meta(&format!("{a}.block_count"), Value::U32(s.n_layer as u32));
    b.meta(&format!("{a}.feed_forward_length"), Value::U32(s.n_ff as u32));
    b.meta(&format!("{a}.attention.head_count"), Value::U32(s.n_head as u32));
    b.meta(&format!("{a}.attention.head_count_kv"), Value::U32(s.n_head_kv as u32));
    b.meta(&format!("{a}.attention.key_length"), Value::U32(s.head_dim as u32));
    b.meta(&format!("{a}.attention.value_length"), Value::U32(s.head_dim as u32));
    b.meta(&format!("{a}.rope.dimension_count"), Value::U32(s.head_dim as u32));
    b.meta(&format!("{a}.rope.freq_base"), Value::F32(s.rope_base));
    if arch == TinyArch::Starcoder2 {
        b.meta(&format!("{a}.attention.layer_norm_epsilon"), Value::F32(s.eps));
    } else {
        b.meta(&format!("{a}.attention.layer_norm_rms_epsilon"), Value::F32(s.eps));
    }
    if arch == TinyArch::Gemma3 {
        b.meta(
            &format!("{a}.attention.sliding_window"),
            Value::U32(GEMMA3_SLIDING_WINDOW),
        );
    }
    if arch == TinyArch::DeepseekCoder {
        b.meta(&format!("{a}.rope.scaling.type"), Value::String("linear".into()));
        b.meta(&format!("{a}.rope.scaling.factor"), Value::F32(4.0));
    }
    if arch != TinyArch::Gemma3 {
        b.meta(&format!("{a}.vocab_size"), Value::U32(n_vocab as u32));
    }
    write_vocab(&mut b, &vocab);

    let (e, ff) = (s.n_embd, s.n_ff);
    let q_dim = s.n_head * s.head_dim;
    let kv_dim = s.n_head_kv * s.head_dim;
    let t = |k: Kind, l: usize| weight_type(arch, k, l);

    // Token embeddings. A tied model's logits are h·E_u with h normalised, so the input
    // embedding E_t left in the residual stream favours u = t (the model repeats itself)
    // unless the blocks' outputs outweigh it: the embeddings are small (rows of unit norm), the
    // final norm's weight sets the logits' scale, and Gemma, which multiplies its embeddings
    // by sqrt(n_embd) on the way in, gets large post-norm weights.
    let embd_std = if s.tied { 1.0 / (e as f32).sqrt() } else { 1.0 };
    // The blocks' output projections: larger in tied models, for the same reason.
    let out_gain = if s.tied && arch != TinyArch::Gemma3 {
        TIED_OUT_GAIN
    } else {
        1.0
    };
    {
        let values = b.normal("token_embd.weight", e * n_vocab, embd_std);
        let ty = t(Kind::Embd, 0);
        b.w.add_tensor(
            "token_embd.weight",
            &[e as u64, n_vocab as u64],
            ty,
            encode::encode(ty, &values),
        );
    }

    for l in 0..s.n_layer {
        let n = |x: &str| format!("blk.{l}.{x}");
        b.norm(&n("attn_norm.weight"), e);
        if arch == TinyArch::Starcoder2 {
            b.bias(&n("attn_norm.bias"), e, 0.1);
        }
        b.matrix(&n("attn_q.weight"), e, q_dim, 1.0, t(Kind::Q, l));
        b.matrix(&n("attn_k.weight"), e, kv_dim, 1.0, t(Kind::K, l));
        b.matrix(&n("attn_v.weight"), e, kv_dim, 1.0, t(Kind::V, l));
        b.matrix(&n("attn_output.weight"), q_dim, e, out_gain, t(Kind::O, l));
        match arch {
            TinyArch::Qwen2 => {
                b.bias(&n("attn_q.bias"), q_dim, 0.5);
                b.bias(&n("attn_k.bias"), kv_dim, 0.5);
                b.bias(&n("attn_v.bias"), kv_dim, 0.1);
            }
            TinyArch::Starcoder2 => {
                b.bias(&n("attn_q.bias"), q_dim, 0.5);
                b.bias(&n("attn_k.bias"), kv_dim, 0.5);
                b.bias(&n("attn_v.bias"), kv_dim, 0.1);
                b.bias(&n("attn_output.bias"), e, 0.1);
            }
            TinyArch::Gemma3 => {
                b.norm(&n("attn_q_norm.weight"), s.head_dim);
                b.norm(&n("attn_k_norm.weight"), s.head_dim);
                b.norm_around(&n("post_attention_norm.weight"), e, GEMMA3_POST_NORM);
            }
            _ => {}
        }
        b.norm(&n("ffn_norm.weight"), e);
        if arch == TinyArch::Starcoder2 {
            b.bias(&n("ffn_norm.bias"), e, 0.1);
            b.matrix(&n("ffn_up.weight"), e, ff, 1.0, t(Kind::Up, l));
            b.bias(&n("ffn_up.bias"), ff, 0.1);
            b.matrix(&n("ffn_down.weight"), ff, e, out_gain, t(Kind::Down, l));
            b.bias(&n("ffn_down.bias"), e, 0.1);
        } else {
            b.matrix(&n("ffn_gate.weight"), e, ff, 1.0, t(Kind::Gate, l));
            b.matrix(&n("ffn_up.weight"), e, ff, 1.0, t(Kind::Up, l));
            b.matrix(&n("ffn_down.weight"), ff, e, out_gain, t(Kind::Down, l));
        }
        if arch == TinyArch::Gemma3 {
            b.norm_around(&n("post_ffw_norm.weight"), e, GEMMA3_POST_NORM);
        }
    }

    b.norm_around("output_norm.weight", e, if s.tied { LOGIT_SCALE } else { 1.0 });
    if arch == TinyArch::Starcoder2 {
        b.bias("output_norm.bias", e, 0.1);
    }
    if !s.tied {
        b.matrix("output.weight", e, n_vocab, LOGIT_SCALE, t(Kind::Output, 0));
    }
    b.w.to_bytes()
}

/// Writes the tiny model of `arch` to `path` (atomically). The bytes are the same on every
/// run.
pub fn write_tiny_model(arch: TinyArch, path: &Path) -> Result<(), String> {
    let bytes = tiny_model_bytes(arch)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
