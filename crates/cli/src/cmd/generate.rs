//! `ferrocodex generate`: turn a plain-English request into code.

use std::io::Write;

use anyhow::bail;
use ferrocodex_generate::scaffold::{scaffold, BlockEnd, Lang};
use ferrocodex_generate::{generate, GenerateRequest, SamplingParams};

use crate::runtime::load_model;
use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// What the code should do, in plain English.
    pub request: String,
    /// Target language (python, javascript, typescript, rust, go, c, cpp, java, bash).
    #[arg(long, default_value = "python")]
    pub lang: String,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling threshold.
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    /// Random seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

pub fn run(args: GenerateArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let Some(lang) = Lang::parse(&args.lang) else {
        bail!("unknown language {:?}; choose one of: {}", args.lang, Lang::NAMES);
    };
    if args.request.trim().is_empty() {
        bail!("the request is empty: say what the code should do, e.g. \"check whether a number is prime\"");
    }
    let model = load_model(global.model.as_deref(), global.threads)?;
    let sc = scaffold(&args.request, lang);
    let ids = model.tokenizer().encode(&sc.prompt, model.tokenizer().add_bos())?;
    let req = GenerateRequest {
        prompt: ids,
        max_tokens: args.max_tokens,
        sampling: SamplingParams {
            temperature: args.temperature,
            top_p: args.top_p,
            seed: args.seed,
            ..Default::default()
        },
        stop: sc.stop.clone(),
    };
    let mut out = std::io::stdout().lock();
    write!(out, "{}", sc.code_start)?;
    let mut block = BlockEnd::default();
    let mut written = 0usize;
    generate(&model, &req, &mut |text| {
        if !lang.braces() {
            return write!(out, "{text}").and_then(|_| out.flush()).is_ok();
        }
        // Braces languages: print up to the brace that closes the first definition, then stop.
        match block.push(text) {
            Some(end) => {
                let _ = write!(out, "{}", &text[..end - written]);
                false
            }
            None => {
                written += text.len();
                write!(out, "{text}").and_then(|_| out.flush()).is_ok()
            }
        }
    })?;
    writeln!(out)?;
    Ok(())
}
