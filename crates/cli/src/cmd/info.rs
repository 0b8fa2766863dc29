//! `ferrocodex info`: what a GGUF model file holds — architecture, sizes, quantization mix,
//! attention and rope settings, tokenizer — as a table or as JSON.
//!
//! Everything is read from the file's metadata and tensor table, so any GGUF file can be
//! described, including architectures the engine does not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use ferrocodex_gguf::{GgufFile, Value};
use serde::Serialize;

use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// The GGUF file to describe [default: --model, else the default model]
    // Not called `model`: that id belongs to the global `--model` option.
    #[arg(value_name = "MODEL")]
    pub file: Option<PathBuf>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: InfoArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let path = match args.file {
        Some(path) if path.exists() => path,
        Some(path) => anyhow::bail!(
            "the model file {} does not exist; give the path of a GGUF file, or leave it out to describe the default model",
            path.display()
        ),
        None => ferrocodex_models::resolve_model(global.model.as_deref())?,
    };
    let file = GgufFile::open(&path)?;
    let info = describe(&file);
    let text = if args.json {
        serde_json::to_string_pretty(&info).context("cannot encode the description as JSON")? + "\n"
    } else {
        render(&info)
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped early (`| head`) is not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

/// Everything `info` reports about one file.
#[derive(Debug, Serialize, PartialEq)]
pub struct ModelInfo {
    pub path: String,
    pub name: Option<String>,
    pub architecture: Option<String>,
    pub gguf_version: u32,
    pub file_size: u64,
    /// Sum of the element counts of all tensors.
    pub parameters: u64,
    /// The file's declared overall quantization (`general.file_type`), by llama.cpp's name.
    pub file_type: Option<String>,
    /// Tensors per element type, most bytes first.
    pub quantization: Vec<QuantGroup>,
    pub context_length: Option<u64>,
    pub embedding_length: Option<u64>,
    pub layers: Option<u64>,
    pub heads: Option<u64>,
    pub kv_heads: Option<u64>,
    pub head_dim: Option<u64>,
    pub value_head_dim: Option<u64>,
    pub feed_forward_length: Option<u64>,
    pub norm_epsilon: Option<f32>,
    pub rope: Rope,
    pub sliding_window: Option<SlidingWindow>,
    pub tokenizer: TokenizerInfo,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct QuantGroup {
    #[serde(rename = "type")]
    pub dtype: String,
    pub tensors: usize,
    pub bytes: u64,
    pub parameters: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Rope {
    /// Base of global (full-attention) layers.
    pub freq_base: Option<f64>,
    /// Base of sliding-window layers, where it differs.
    pub freq_base_local: Option<f64>,
    /// "file" when the local base is in the metadata, "architecture default" when implied.
    pub freq_base_local_source: Option<&'static str>,
    pub dimensions: Option<u64>,
    pub scaling: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SlidingWindow {
    pub tokens: u64,
    /// Which layers use it, in words.
    pub layers: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TokenizerInfo {
    /// `tokenizer.ggml.model`: "llama" (SentencePiece-style), "gpt2" (byte-level BPE), …
    pub kind: Option<String>,
    pub pre_tokenizer: Option<String>,
    pub vocab_size: usize,
    pub merges: Option<usize>,
    pub bos: Option<Token>,
    pub eos: Option<Token>,
    pub eot: Option<Token>,
    pub unk: Option<Token>,
    pub pad: Option<Token>,
    pub add_bos: Option<bool>,
    pub add_eos: Option<bool>,
    pub add_space_prefix: Option<bool>,
    /// Fill-in-the-middle tokens; empty when the model declares none.
    pub fim: BTreeMap<&'static str, Token>,
    pub chat_template: bool,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Token {
    pub id: u64,
    pub text: Option<String>,
}

/// The FIM roles and the metadata keys that declare them (current names first, then the older
/// prefix/suffix/middle keys).
const FIM_KEYS: [(&str, &[&str]); 6] = [
    (
        "prefix",
        &[
            "tokenizer.ggml.fim_pre_token_id",
            "tokenizer.ggml.prefix_token_id",
        ],
    ),
    (
        "suffix",
        &[
            "tokenizer.ggml.fim_suf_token_id",
            "tokenizer.ggml.suffix_token_id",
        ],
    ),
    (
        "middle",
        &[
            "tokenizer.ggml.fim_mid_token_id",
            "tokenizer.ggml.middle_token_id",
        ],
    ),
    ("pad", &["tokenizer.ggml.fim_pad_token_id"]),
    ("repo", &["tokenizer.ggml.fim_rep_token_id"]),
    ("sep", &["tokenizer.ggml.fim_sep_token_id"]),
];

pub fn describe(file: &GgufFile) -> ModelInfo {
    let arch = file.get_str("general.architecture").map(str::to_string);
    let a = arch.clone().unwrap_or_default();
    let key = |k: &str| format!("{a}.{k}");
    let uint = |k: &str| {
        file.get_u64(&key(k))
            .or_else(|| largest_per_layer(file.get(&key(k))))
    };

    let mut groups: BTreeMap<&'static str, QuantGroup> = BTreeMap::new();
    for t in file.tensors() {
        let g = groups.entry(t.dtype.name()).or_insert_with(|| QuantGroup {
            dtype: t.dtype.name().to_string(),
            tensors: 0,
            bytes: 0,
            parameters: 0,
        });
        g.tensors += 1;
        g.bytes += t.size;
        g.parameters += t.n_elements();
    }
    let mut quantization: Vec<QuantGroup> = groups.into_values().collect();
    quantization.sort_by(|x, y| y.bytes.cmp(&x.bytes).then_with(|| x.dtype.cmp(&y.dtype)));

    let embedding_length = uint("embedding_length");
    let heads = uint("attention.head_count");
    let head_dim = uint("attention.key_length").or_else(|| match (embedding_length, heads) {
        (Some(e), Some(h)) if h > 0 => Some(e / h),
        _ => None,
    });
    let layers = uint("block_count");
    let is_gemma3 = a == "gemma3";

    let (freq_base_local, freq_base_local_source) = match file.get_f64(&key("rope.freq_base_swa")) {
        Some(base) => (Some(base), Some("file")),
        // Gemma 3's local layers use base 10,000 whatever the file says for the global ones.
        None if is_gemma3 => (Some(10_000.0), Some("architecture default")),
        None => (None, None),
    };
    let sliding_window = file
        .get_u64(&key("attention.sliding_window"))
        .filter(|&w| w > 0)
        .map(|tokens| SlidingWindow {
            tokens,
            layers: if is_gemma3 {
                "5 of every 6 layers (every 6th attends globally)".to_string()
            } else {
                "the layers the architecture chooses".to_string()
            },
        });

    ModelInfo {
        path: file.path().display().to_string(),
        name: file.get_str("general.name").map(str::to_string),
        architecture: arch,
        gguf_version: file.version(),
        file_size: file.file_size(),
        parameters: file.tensors().iter().map(|t| t.n_elements()).sum(),
        file_type: file.get_u64("general.file_type").map(file_type_name),
        quantization,
        context_length: uint("context_length"),
        embedding_length,
        layers,
        heads,
        kv_heads: uint("attention.head_count_kv").or(heads),
        head_dim,
        value_head_dim: uint("attention.value_length").or(head_dim),
        feed_forward_length: uint("feed_forward_length"),
        norm_epsilon: file
            .get_f64(&key("attention.layer_norm_rms_epsilon"))
            .or_else(|| file.get_f64(&key("attention.layer_norm_epsilon")))
            // Stored as f32; widening shows digits the file never had.
            .map(|e| e as f32),
        rope: Rope {
            freq_base: file.get_f64(&key("rope.freq_base")),
            freq_base_local,
            freq_base_local_source,
            dimensions: uint("rope.dimension_count"),
            scaling: file.get_str(&key("rope.scaling.type")).map(str::to_string),
        },
        sliding_window,
        tokenizer: describe_tokenizer(file),
    }
}

/// Some files give a per-layer list (heads, FFN width) instead of one number; the largest
/// entry is the one that sizes buffers.
fn largest_per_layer(v: Option<&Value>) -> Option<u64> {
    v?.as_array()?.iter().filter_map(Value::as_u64).max()
}

fn describe_tokenizer(file: &GgufFile) -> TokenizerInfo {
    let tokens = file.get_array("tokenizer.ggml.tokens").unwrap_or(&[]);
    let token = |key: &str| {
        file.get_u64(key).map(|id| Token {
            id,
            text: usize::try_from(id)
                .ok()
                .and_then(|i| tokens.get(i))
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    };
    let fim = FIM_KEYS
        .iter()
        .filter_map(|(role, keys)| keys.iter().find_map(|k| token(k)).map(|t| (*role, t)))
        .collect();
    TokenizerInfo {
        kind: file.get_str("tokenizer.ggml.model").map(str::to_string),
        pre_tokenizer: file.get_str("tokenizer.ggml.pre").map(str::to_string),
        vocab_size: tokens.len(),
        merges: file.get_array("tokenizer.ggml.merges").map(<[Value]>::len),
        bos: token("tokenizer.ggml.bos_token_id"),
        eos: token("tokenizer.ggml.eos_token_id"),
        eot: token("tokenizer.ggml.eot_token_id"),
        unk: token("tokenizer.ggml.unknown_token_id"),
        pad: token("tokenizer.ggml.padding_token_id"),
        add_bos: file.get_bool("tokenizer.ggml.add_bos_token"),
        add_eos: file.get_bool("tokenizer.ggml.add_eos_token"),
        add_space_prefix: file.get_bool("tokenizer.ggml.add_space_prefix"),
        fim,
        chat_template: file
            .get_str("tokenizer.chat_template")
            .is_some_and(|t| !t.is_empty()),
    }
}

/// llama.cpp's names for `general.file_type` (its `llama_ftype` numbers).
fn file_type_name(id: u64) -> String {
    let name = match id {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        32 => "BF16",
        other => return format!("type {other}"),
    };
    name.to_string()
}

fn tokenizer_kind(kind: &str) -> &'static str {
    match kind {
        "llama" => "SentencePiece-style",
        "gpt2" => "byte-level BPE",
        "bert" => "WordPiece",
        "t5" => "Unigram",
        "rwkv" => "RWKV",
        _ => "unknown kind",
    }
}

/// `1234567` → `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.join(",")
}

/// `253113024` → `253.1 MB`.
fn decimal_size(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..=999 => format!("{bytes} B"),
        1_000..=999_999 => format!("{:.1} kB", b / 1e3),
        1_000_000..=999_999_999 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.2} GB", b / 1e9),
    }
}

/// `268098176` → `268.1 M`.
fn short_count(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.1} k", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1} M", n as f64 / 1e6),
        _ => format!("{:.2} B", n as f64 / 1e9),
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn token_text(t: Option<&Token>) -> String {
    match t {
        Some(Token {
            id,
            text: Some(text),
        }) => format!("{id} {text:?}"),
        Some(Token { id, text: None }) => id.to_string(),
        None => "-".to_string(),
    }
}

/// The table `info` prints without `--json`.
pub fn render(info: &ModelInfo) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let mut line = |label: &str, value: String| {
        let _ = writeln!(s, "{label:<20}{value}");
    };
    line("file", info.path.clone());
    line("name", opt(info.name.as_deref()));
    line("architecture", opt(info.architecture.as_deref()));
    line(
        "parameters",
        match info.parameters {
            0..=999 => info.parameters.to_string(),
            n => format!("{} ({})", short_count(n), grouped(n)),
        },
    );
    line(
        "file size",
        format!(
            "{} ({} bytes), GGUF v{}",
            decimal_size(info.file_size),
            grouped(info.file_size),
            info.gguf_version
        ),
    );
    line("file type", opt(info.file_type.as_deref()));
    line("context length", opt(info.context_length));
    line("embedding", opt(info.embedding_length));
    line("layers", opt(info.layers));
    line(
        "heads",
        format!(
            "{} query, {} key/value",
            opt(info.heads),
            opt(info.kv_heads)
        ),
    );
    let head_dim = match (info.head_dim, info.value_head_dim) {
        (Some(k), Some(v)) if k != v => format!("{k} (values {v})"),
        (k, _) => opt(k),
    };
    line("head dim", head_dim);
    line("feed-forward", opt(info.feed_forward_length));
    line(
        "norm epsilon",
        opt(info.norm_epsilon.map(|e| format!("{e:e}"))),
    );
    let mut rope = match info.rope.freq_base {
        Some(base) if info.rope.freq_base_local.is_some() => format!("{base} (global layers)"),
        Some(base) => format!("{base}"),
        None => "-".to_string(),
    };
    if let (Some(local), Some(source)) =
        (info.rope.freq_base_local, info.rope.freq_base_local_source)
    {
        let _ = write!(rope, ", {local} (sliding-window layers; {source})");
    }
    if let Some(d) = info.rope.dimensions {
        let _ = write!(rope, ", {d} dims");
    }
    if let Some(scaling) = &info.rope.scaling {
        let _ = write!(rope, ", scaling {scaling}");
    }
    line("rope base", rope);
    line(
        "sliding window",
        match &info.sliding_window {
            Some(w) => format!("{} tokens, in {}", w.tokens, w.layers),
            None => "none".to_string(),
        },
    );

    let t = &info.tokenizer;
    line(
        "tokenizer",
        match &t.kind {
            Some(kind) => {
                let mut v = format!("{kind} ({})", tokenizer_kind(kind));
                if let Some(pre) = &t.pre_tokenizer {
                    let _ = write!(v, ", pre-tokenizer {pre}");
                }
                if let Some(m) = t.merges {
                    let _ = write!(v, ", {} merges", grouped(m as u64));
                }
                v
            }
            None => "none in the file".to_string(),
        },
    );
    line("vocab size", grouped(t.vocab_size as u64));
    line(
        "bos",
        format!(
            "{} (added: {})",
            token_text(t.bos.as_ref()),
            yes_no(t.add_bos)
        ),
    );
    line(
        "eos",
        format!(
            "{} (added: {})",
            token_text(t.eos.as_ref()),
            yes_no(t.add_eos)
        ),
    );
    if t.eot.is_some() {
        line("eot", token_text(t.eot.as_ref()));
    }
    line(
        "unk / pad",
        format!(
            "{} / {}",
            token_text(t.unk.as_ref()),
            token_text(t.pad.as_ref())
        ),
    );
    line("space prefix", yes_no(t.add_space_prefix).to_string());
    line(
        "FIM tokens",
        if t.fim.is_empty() {
            "none (no fill-in-the-middle)".to_string()
        } else {
            t.fim
                .iter()
                .map(|(role, tok)| format!("{role} {}", token_text(Some(tok))))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    line(
        "chat template",
        if t.chat_template { "yes" } else { "no" }.to_string(),
    );

    let _ = writeln!(s, "\nquantization        tensors        bytes   parameters");
    for g in &info.quantization {
        let _ = writeln!(
            s,
            "  {:<16}{:>9}{:>13}{:>13}",
            g.dtype,
            g.tensors,
            decimal_size(g.bytes),
            short_count(g.parameters)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocodex_gguf::{GgmlType, GgufWriter};

    fn tokens(names: &[&str]) -> Value {
        Value::Array(names.iter().map(|n| Value::String(n.to_string())).collect())
    }

    /// A tiny Gemma-3-shaped file with two tensor types.
    fn tiny_gemma(dir: &std::path::Path) -> GgufFile {
        let mut w = GgufWriter::new();
        w.add_metadata("general.architecture", Value::String("gemma3".into()))
            .add_metadata("general.name", Value::String("Tiny".into()))
            .add_metadata("general.file_type", Value::U32(15))
            .add_metadata("gemma3.context_length", Value::U32(128))
            .add_metadata("gemma3.embedding_length", Value::U32(32))
            .add_metadata("gemma3.block_count", Value::U32(2))
            .add_metadata("gemma3.feed_forward_length", Value::U32(64))
            .add_metadata("gemma3.attention.head_count", Value::U32(4))
            .add_metadata("gemma3.attention.head_count_kv", Value::U32(1))
            .add_metadata("gemma3.attention.key_length", Value::U32(16))
            .add_metadata("gemma3.attention.value_length", Value::U32(16))
            .add_metadata("gemma3.rope.freq_base", Value::F32(1_000_000.0))
            .add_metadata("gemma3.attention.sliding_window", Value::U32(8))
            .add_metadata("tokenizer.ggml.model", Value::String("llama".into()))
            .add_metadata(
                "tokenizer.ggml.tokens",
                tokens(&["<pad>", "<eos>", "<bos>", "<unk>", "a"]),
            )
            .add_metadata("tokenizer.ggml.bos_token_id", Value::U32(2))
            .add_metadata("tokenizer.ggml.eos_token_id", Value::U32(1))
            .add_metadata("tokenizer.ggml.add_bos_token", Value::Bool(true))
            .add_metadata("tokenizer.ggml.fim_pre_token_id", Value::U32(4))
            .add_f32_tensor("output_norm.weight", &[32], &[1.0; 32])
            .add_tensor(
                "token_embd.weight",
                &[32, 5],
                GgmlType::Q8_0,
                vec![0u8; 34 * 5],
            );
        let path = dir.join("tiny.gguf");
        w.write_file(&path).expect("write tiny model");
        GgufFile::open(&path).expect("open tiny model")
    }

    #[test]
    fn describes_sizes_quantization_and_tokenizer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let info = describe(&tiny_gemma(dir.path()));
        assert_eq!(info.architecture.as_deref(), Some("gemma3"));
        assert_eq!(info.file_type.as_deref(), Some("Q4_K_M"));
        assert_eq!(info.parameters, 32 + 160);
        assert_eq!(
            (info.layers, info.heads, info.kv_heads, info.head_dim),
            (Some(2), Some(4), Some(1), Some(16))
        );
        assert_eq!(info.rope.freq_base, Some(1_000_000.0));
        assert_eq!(info.rope.freq_base_local, Some(10_000.0));
        assert_eq!(info.sliding_window.as_ref().map(|w| w.tokens), Some(8));
        assert_eq!(
            info.quantization,
            vec![
                QuantGroup {
                    dtype: "Q8_0".into(),
                    tensors: 1,
                    bytes: 170,
                    parameters: 160
                },
                QuantGroup {
                    dtype: "F32".into(),
                    tensors: 1,
                    bytes: 128,
                    parameters: 32
                },
            ]
        );
        let t = &info.tokenizer;
        assert_eq!(t.vocab_size, 5);
        assert_eq!(
            t.bos,
            Some(Token {
                id: 2,
                text: Some("<bos>".into())
            })
        );
        assert_eq!(t.fim.get("prefix").map(|t| t.id), Some(4));
        assert!(!t.chat_template);

        let table = render(&info);
        assert!(table.contains("architecture        gemma3"), "{table}");
        assert!(
            table.contains("FIM tokens          prefix 4 \"a\""),
            "{table}"
        );
        assert!(
            table.contains("10000 (sliding-window layers; architecture default)"),
            "{table}"
        );
    }

    #[test]
    fn json_carries_the_same_facts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let info = describe(&tiny_gemma(dir.path()));
        let json: serde_json::Value = serde_json::to_value(&info).expect("json");
        assert_eq!(json["architecture"], "gemma3");
        assert_eq!(json["quantization"][0]["type"], "Q8_0");
        assert_eq!(json["tokenizer"]["eos"]["id"], 1);
        assert_eq!(json["tokenizer"]["fim"]["prefix"]["text"], "a");
        assert_eq!(json["kv_heads"], 1);
    }

    #[test]
    fn numbers_are_grouped_for_people() {
        assert_eq!(grouped(253_113_024), "253,113,024");
        assert_eq!(grouped(999), "999");
        assert_eq!(decimal_size(253_113_024), "253.1 MB");
        assert_eq!(short_count(268_098_176), "268.1 M");
        assert_eq!(short_count(384), "384");
    }
}
