//! The Landlock ruleset a sandboxed program runs under: it may read and execute the
//! interpreter and the system libraries, read and write its own work directory, and nothing
//! else; with ABI 4 it may neither bind nor connect TCP sockets, and with ABI 6 it may not
//! signal processes outside its own domain (the harness, other runs) nor reach abstract
//! Unix sockets.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use landlock::{
    Access, AccessFs, AccessNet, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
    Scope, ABI,
};

/// The Landlock ABI version the running kernel supports, if any.
pub fn kernel_abi() -> Option<u32> {
    // LANDLOCK_CREATE_RULESET_VERSION = 1 asks for the version; no pointers are passed.
    // SAFETY: the call reads no memory.
    let v = unsafe {
        libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32)
    };
    (v > 0).then_some(v as u32)
}

fn abi(version: u32) -> ABI {
    match version {
        1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        5 => ABI::V5,
        // Later ABIs add audit logging and rights this policy does not use.
        _ => ABI::V6,
    }
}

/// What the program may touch.
pub struct Policy {
    /// Full access (the run's own directory).
    pub workdir: PathBuf,
    /// Read and execute, recursively.
    pub read_dirs: Vec<PathBuf>,
    /// Read one file.
    pub read_files: Vec<PathBuf>,
    /// Read and write one file (`/dev/null`).
    pub write_files: Vec<PathBuf>,
}

/// Builds the ruleset and returns its descriptor, to be applied in the child with
/// `landlock_restrict_self` right before `execve`.
pub fn ruleset(version: u32, policy: &Policy) -> Result<OwnedFd, String> {
    let abi = abi(version);
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(|e| e.to_string())?;
    if version >= 4 {
        ruleset = ruleset.handle_access(AccessNet::from_all(abi)).map_err(|e| e.to_string())?;
    }
    if version >= 6 {
        ruleset = ruleset.scope(Scope::from_all(abi)).map_err(|e| e.to_string())?;
    }
    let mut created = ruleset.create().map_err(|e| e.to_string())?;
    let rule = |path: &PathBuf, access| -> Result<PathBeneath<PathFd>, String> {
        let fd = PathFd::new(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(PathBeneath::new(fd, access))
    };
    created = created
        .add_rule(rule(&policy.workdir, AccessFs::from_all(abi))?)
        .map_err(|e| e.to_string())?;
    for dir in policy.read_dirs.iter().filter(|p| p.is_dir()) {
        created = created.add_rule(rule(dir, AccessFs::from_read(abi))?).map_err(|e| e.to_string())?;
    }
    let read = AccessFs::ReadFile.into();
    for file in policy.read_files.iter().filter(|p| p.exists()) {
        created = created.add_rule(rule(file, read)?).map_err(|e| e.to_string())?;
    }
    let read_write = AccessFs::ReadFile | AccessFs::WriteFile;
    for file in policy.write_files.iter().filter(|p| p.exists()) {
        created = created.add_rule(rule(file, read_write)?).map_err(|e| e.to_string())?;
    }
    Option::<OwnedFd>::from(created)
        .ok_or_else(|| "the kernel did not create a Landlock ruleset".to_string())
}
