//! `write-tiny-models DIR [NAME…]`: writes every tiny test model (or the named ones) into DIR
//! as `tiny-<name>.gguf` and prints one line per file: name, size, path.

use std::path::PathBuf;
use std::process::ExitCode;

use ferrocodex_testmodels::{all, write_tiny_model, TinyArch};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: write-tiny-models DIR [NAME…]   (names: {})", names());
        return ExitCode::from(2);
    };
    let archs: Vec<TinyArch> = if args.len() > 1 {
        let mut v = Vec::new();
        for n in &args[1..] {
            match TinyArch::from_name(n) {
                Some(a) => v.push(a),
                None => {
                    eprintln!("unknown model {n:?}; known: {}", names());
                    return ExitCode::from(2);
                }
            }
        }
        v
    } else {
        all().to_vec()
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for a in archs {
        let path = dir.join(a.file_name());
        if let Err(e) = write_tiny_model(a, &path) {
            eprintln!("{}: {e}", a.name());
            return ExitCode::FAILURE;
        }
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!("{}\t{size}\t{}", a.name(), path.display());
    }
    ExitCode::SUCCESS
}

fn names() -> String {
    all().iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}
