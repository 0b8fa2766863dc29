//! Where the per-user cache lives.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::{ModelsError, Result, HOME_ENV};

/// The cache folder given the environment: `$FERROCODEX_HOME` if set, else
/// `$XDG_CACHE_HOME/ferrocodex`, else `$HOME/.cache/ferrocodex` (`%USERPROFILE%` where there
/// is no `HOME`). Empty variables count as unset, and so does a relative `XDG_CACHE_HOME`, as
/// the XDG base directory specification asks.
///
/// `lookup` reads one variable; [`cache_dir`] passes the process environment. Taking it as a
/// function keeps the rule testable without touching the process's environment.
pub fn cache_dir_from(lookup: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |name: &str| lookup(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(home) = var(HOME_ENV) {
        return Some(home);
    }
    if let Some(xdg) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("ferrocodex"));
    }
    var("HOME")
        .or_else(|| var("USERPROFILE"))
        .map(|home| home.join(".cache").join("ferrocodex"))
}

/// The cache folder of this process's user (see [`cache_dir_from`]).
pub fn cache_dir() -> Result<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name)).ok_or(ModelsError::NoCacheDir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    fn dir_with(vars: &[(&str, &str)]) -> Option<PathBuf> {
        let env: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        cache_dir_from(|name| env.get(name).cloned())
    }

    #[test]
    fn ferrocodex_home_wins() {
        let dir = dir_with(&[
            ("FERROCODEX_HOME", "/srv/fc"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(dir.as_deref(), Some(Path::new("/srv/fc")));
    }

    #[test]
    fn xdg_cache_home_comes_next() {
        let dir = dir_with(&[("XDG_CACHE_HOME", "/x/cache"), ("HOME", "/home/u")]);
        assert_eq!(dir.as_deref(), Some(Path::new("/x/cache/ferrocodex")));
    }

    #[test]
    fn home_is_the_fallback() {
        let dir = dir_with(&[("HOME", "/home/u")]);
        assert_eq!(dir.as_deref(), Some(Path::new("/home/u/.cache/ferrocodex")));
    }

    #[test]
    fn empty_and_relative_values_are_ignored() {
        let dir = dir_with(&[
            ("FERROCODEX_HOME", ""),
            ("XDG_CACHE_HOME", "relative/cache"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(dir.as_deref(), Some(Path::new("/home/u/.cache/ferrocodex")));
    }

    #[test]
    fn nothing_set_is_none() {
        assert_eq!(dir_with(&[]), None);
    }
}
