//! The default model's tokenizer (Gemma 3 270M). Skipped, with a note, when the model file is not
//! present; run with `--release` for realistic build timings.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{default_model, ReferenceSpm};
use ferrocodex_gguf::GgufFile;
use ferrocodex_tokenizer::{StreamDecoder, Tokenizer};

/// CPU time this thread has used, from /proc (Linux; `None` elsewhere). On a shared machine the
/// wall-clock time of a build says more about the neighbours than about the code.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Resident memory of this process, from /proc (Linux; `None` elsewhere).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The default model and its tokenizer, built once for all tests of this file (`None` when the
/// model is absent).
fn gemma(test: &str) -> Option<&'static (GgufFile, Tokenizer)> {
    static GEMMA: OnceLock<Option<(GgufFile, Tokenizer)>> = OnceLock::new();
    let loaded = GEMMA.get_or_init(|| {
        let path = default_model(test)?;
        let t = Instant::now();
        let file = GgufFile::open(&path).expect("the model file opens");
        let opened = t.elapsed();
        let (t, cpu, rss) = (Instant::now(), thread_cpu_time(), resident_bytes());
        let tok = Tokenizer::from_gguf(&file).expect("the model's tokenizer builds");
        let (wall, cpu) = (
            t.elapsed(),
            thread_cpu_time().zip(cpu).map(|(b, a)| b.saturating_sub(a)),
        );
        let grew = resident_bytes().zip(rss).map(|(b, a)| b.saturating_sub(a));
        eprintln!(
            "opened {} in {opened:.2?}; built its {}-token tokenizer in {wall:.2?} wall, {} CPU; resident memory grew {}",
            path.display(),
            tok.vocab_size(),
            cpu.map_or("unknown".into(), |c| format!("{c:.2?}")),
            grew.map_or("unknown".into(), |b| format!("{:.0} MiB", b as f64 / (1 << 20) as f64)),
        );
        Some((file, tok))
    });
    if loaded.is_none() {
        eprintln!("{test}: skipped, no model");
    }
    loaded.as_ref()
}

#[test]
fn gemma_special_tokens_and_known_ids() {
    let Some((file, tok)) = gemma("gemma_special_tokens_and_known_ids") else {
        return;
    };
    assert_eq!(tok.kind(), "llama");
    assert_eq!(tok.vocab_size(), 262_144);
    assert_eq!(tok.bos(), Some(2));
    assert_eq!(tok.eos(), Some(1));
    assert!(tok.add_bos());
    assert_eq!(tok.token_text(2), Some("<bos>"));
    assert_eq!(tok.fim(), None, "Gemma 3 has no fill-in-the-middle tokens");
    // This GGUF carries no chat template; whatever the file has is passed through.
    assert_eq!(tok.chat_template(), file.get_str("tokenizer.chat_template"));

    assert_eq!(tok.encode("<start_of_turn>", false).unwrap(), vec![105]);
    assert_eq!(tok.encode("<end_of_turn>", false).unwrap(), vec![106]);
    assert_eq!(
        tok.encode("\n", false).unwrap(),
        vec![107],
        "a newline is one user-defined token"
    );
    assert_eq!(tok.encode("\n\n", false).unwrap(), vec![108]);
    assert_eq!(tok.encode("", true).unwrap(), vec![2]);

    let ids = tok
        .encode(
            "<start_of_turn>user\nWrite a function.<end_of_turn>\n<start_of_turn>model\n",
            true,
        )
        .unwrap();
    assert_eq!(&ids[..2], &[2, 105]);
    assert_eq!(ids.iter().filter(|&&i| i == 105).count(), 2);
    assert_eq!(ids.iter().filter(|&&i| i == 106).count(), 1);
    assert_eq!(ids.last(), Some(&107));
    assert_eq!(tok.decode(&ids), "user\nWrite a function.\nmodel\n");

    // Gemma writes spaces as "▁" and has no space prefix.
    let the = tok.token_id("▁the").expect("▁the is a token");
    assert_eq!(tok.encode(" the", false).unwrap(), vec![the]);
    assert_eq!(tok.token_bytes(the, false), b" the");
    // Runs of spaces and tabs are user-defined tokens, split out like specials.
    let four_spaces = tok.token_id("    ").expect("four spaces are a token");
    assert_eq!(tok.encode("    ", false).unwrap(), vec![four_spaces]);

    assert!(tok.is_eog(1));
    assert!(tok.is_eog(106), "<end_of_turn> ends generation");
    assert!(!tok.is_eog(2));
    assert!(!tok.is_eog(105));
    assert!(!tok.is_eog(107));
    assert!(tok.is_control(105) && tok.is_control(106) && tok.is_control(2));
    assert!(!tok.is_control(107));
}

#[test]
fn gemma_round_trips_and_streams() {
    let Some((_, tok)) = gemma("gemma_round_trips_and_streams") else {
        return;
    };
    let samples = [
        "def fizzbuzz(n):\n    for i in range(1, n + 1):\n        print(i)\n",
        "fn main() {\r\n\tprintln!(\"héllo, 世界 🙂\");\r\n}\r\n",
        "Ünïcödé — “quotes” …  and   spaces\t\ttabs",
        "🦀🦀 emoji 👩‍👩‍👧 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math",
        "<div class=\"x\">&nbsp;</div>",
        "日本語のテキストと한국어 텍스트",
        "",
        " leading and trailing ",
    ];
    for text in samples {
        let ids = tok.encode(text, true).unwrap();
        assert_eq!(tok.decode(&ids), text, "ids {ids:?}");
        let mut stream = StreamDecoder::new(tok);
        let mut streamed = String::new();
        for &id in &ids {
            let piece = stream.push(id);
            assert!(
                !piece.contains('\u{FFFD}'),
                "half a character emitted for {text:?}"
            );
            streamed.push_str(&piece);
        }
        streamed.push_str(&stream.finish());
        assert_eq!(streamed, text);
    }
}

/// Repository text files: realistic code and prose for the comparison below.
fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut stack = vec![root.join("crates")];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "rs" || e == "md" || e == "toml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Encodes a corpus both with this crate and with an independent implementation of llama.cpp's
/// SentencePiece algorithm (pair merging by score, leftmost first; specials split longest-first)
/// and requires identical ids. The corpus is the repository's own text files, multilingual
/// samples, and "token soup": random vocabulary entries glued together, which exercises merge
/// order far more than natural text. `FERROCODEX_TOKENIZER_CORPUS` adds the files of a directory.
#[test]
fn gemma_matches_the_sentencepiece_algorithm() {
    let Some((file, tok)) = gemma("gemma_matches_the_sentencepiece_algorithm") else {
        return;
    };
    let tokens: Vec<String> = file
        .get_array("tokenizer.ggml.tokens")
        .expect("tokens")
        .iter()
        .map(|v| v.as_str().expect("token text").to_string())
        .collect();
    let scores: Vec<f32> = file
        .get_array("tokenizer.ggml.scores")
        .expect("scores")
        .iter()
        .map(|v| v.as_f64().expect("score") as f32)
        .collect();
    let types: Vec<i64> = file
        .get_array("tokenizer.ggml.token_type")
        .expect("types")
        .iter()
        .map(|v| v.as_i64().expect("type"))
        .collect();
    let reference = ReferenceSpm::new(&tokens, &scores, &types, false);

    let mut texts: Vec<String> = Vec::new();
    let mut files = corpus_files();
    if let Some(dir) = std::env::var_os("FERROCODEX_TOKENIZER_CORPUS") {
        let mut stack = vec![PathBuf::from(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
    }
    for path in &files {
        if let Ok(text) = std::fs::read_to_string(path) {
            // Compare in chunks so that a difference is reported with a small example.
            let mut chunk = String::new();
            for line in text.split_inclusive('\n') {
                chunk.push_str(line);
                if chunk.len() > 2000 {
                    texts.push(std::mem::take(&mut chunk));
                }
            }
            if !chunk.is_empty() {
                texts.push(chunk);
            }
        }
    }
    for s in [
        "Le cœur a ses raisons que la raison ne connaît point.",
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "الخط العربي جميل",
        "हिन्दी में लिखा गया पाठ",
        "中文分词测试，包括标点符号。还有数字12345和English混合。",
        "Ελληνικά: ΐ ΰ ά έ ή",
        "ﬁ ﬂ ﬀ ligatures, ½ ⅓ fractions, ① ② circled",
        "    indented\n\t\ttabbed\n\n\n\nblank lines   trailing   ",
    ] {
        texts.push(s.to_string());
    }
    let normal: Vec<usize> = (0..tokens.len()).filter(|&i| types[i] == 1).collect();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let soups = std::env::var("FERROCODEX_TOKENIZER_SOUPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    for _ in 0..soups {
        let n = 1 + rng.below(12);
        let soup: String = (0..n)
            .map(|_| tokens[normal[rng.below(normal.len())]].replace('\u{2581}', " "))
            .collect();
        texts.push(soup);
    }

    let total_bytes: usize = texts.iter().map(String::len).sum();
    let mut ours_time = Duration::ZERO;
    let mut mismatches = Vec::new();
    let mut n_tokens = 0;
    for text in &texts {
        let t = Instant::now();
        let ours = tok.encode(text, false).expect("encodes");
        ours_time += t.elapsed();
        n_tokens += ours.len();
        let theirs = reference.encode(text);
        if ours != theirs {
            mismatches.push((text.clone(), ours, theirs));
        }
    }
    eprintln!(
        "compared {} texts ({total_bytes} bytes, {n_tokens} tokens; this crate encoded them in {ours_time:.2?}): {} differ",
        texts.len(),
        mismatches.len()
    );
    for (text, ours, theirs) in mismatches.iter().take(5) {
        let first = ours
            .iter()
            .zip(theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        let show = |ids: &[u32]| -> Vec<String> {
            ids.iter()
                .skip(first.saturating_sub(2))
                .take(6)
                .map(|&i| format!("{i}:{:?}", tokens[i as usize]))
                .collect()
        };
        eprintln!(
            "text {:?}\n  ours      {:?}\n  reference {:?}",
            text.chars().take(200).collect::<String>(),
            show(ours),
            show(theirs)
        );
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} texts tokenized differently",
        mismatches.len(),
        texts.len()
    );
}
