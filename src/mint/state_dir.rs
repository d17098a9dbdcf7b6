//! Where handoff keeps what must outlive a run: `$XDG_STATE_HOME/handoff/` (default
//! `~/.local/state/handoff/`, 0700): the journals ([`super::journal_file`]), the key
//! ledger and the minting locks ([`super::key_ledger`]).

use std::path::PathBuf;

use crate::error::{Error, Result, shown};

/// The directory journals live in.
pub fn state_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("handoff"))
}

/// The state directory, created (0700) if missing.
pub fn ensure_state_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir =
        state_dir().ok_or_else(|| state_error("neither XDG_STATE_HOME nor HOME is set".into()))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| {
            state_error(format!(
                "cannot create {}: {e}",
                shown(&dir.display().to_string())
            ))
        })?;
    Ok(dir)
}

fn state_error(what: String) -> Error {
    Error::output(what).fix(
        "set XDG_STATE_HOME to a directory you can write to (handoff keeps its journal of changes there)",
    )
}
