//! Runs a prompt (one batch) and then the given token ids (one at a time) through the model,
//! for op-by-op comparison with the reference engine:
//!
//! ```text
//! FERROCODEX_TRACE_DIR=/tmp/fc cargo run --release -p ferrocodex-engine --example trace -- MODEL "def f():" [ID ...]
//! python3 scripts/compare_tensors.py /tmp/llama /tmp/fc
//! ```

use ferrocodex_engine::{LoadOptions, LogitsFor, Model, SeqInput};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(model), Some(prompt)) = (args.next(), args.next()) else {
        return Err("usage: trace MODEL PROMPT [TOKEN_ID ...]".into());
    };
    let then: Vec<u32> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    let opts = LoadOptions { threads: Some(2) };
    let model = Model::load(model.as_ref(), &opts)?;
    let ids = model.tokenizer().encode(&prompt, model.tokenizer().add_bos())?;
    let mut cache = model.new_cache(512);
    let seq = cache.new_seq();
    let mut steps = vec![ids.clone()];
    steps.extend(then.iter().map(|&t| vec![t]));
    for toks in &steps {
        model.forward(&mut cache, &[SeqInput { seq, tokens: toks, logits: LogitsFor::Last }])?;
    }
    println!("prompt ids {ids:?}, {} forward passes", steps.len());
    Ok(())
}
