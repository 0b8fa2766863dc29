//! `ferrocodex pull`: fetch the default model into the cache and verify it.

use ferrocodex_models::{ModelStore, Progress, PullOptions};

use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct PullArgs {
    /// Fetch again even when a verified copy is already in the cache
    #[arg(long)]
    pub force: bool,
}

/// Progress and the licence notice go to stderr; the model's path is printed on stdout.
pub fn run(args: PullArgs, _global: &GlobalOpts) -> anyhow::Result<()> {
    let store = ModelStore::from_env()?;
    let pulled = store.pull(&PullOptions { force: args.force }, &Progress::stderr())?;
    if !pulled.fetched {
        let spec = store.default_model();
        eprintln!(
            "{} is already in the cache and its SHA-256 matches. It is provided under and subject to the {}{}.",
            spec.display_name,
            spec.licence,
            match pulled.licence_files.first() {
                Some(terms) => format!(" ({})", terms.display()),
                None => String::new(),
            }
        );
    }
    println!("{}", pulled.model.display());
    Ok(())
}
