//! Where handoff keeps what must outlive a run: `$XDG_STATE_HOME/handoff/` (default
//! `~/.local/state/handoff/`, 0700): the journals ([`super::journal_file`]), the key
//! ledger and the minting locks ([`super::key_ledger`]), the received keys' uses
//! ([`super::key_uses`]). Its append-only records are JSON lines, opened without
//! following a link or blocking on a FIFO planted in their place.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

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
    let dir =
        state_dir().ok_or_else(|| state_error("neither XDG_STATE_HOME nor HOME is set".into()))?;
    crate::os::create_private_dir(&dir).map_err(|e| {
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

/// Appends `entry` as one JSON line to `path` (created 0600), synced. Best effort: what
/// cannot be written is left out, and the callers' records are clues, not the truth.
pub fn append_record(path: &Path, entry: &impl serde::Serialize) {
    let Ok(line) = serde_json::to_string(entry) else {
        return;
    };
    // A planted link is not followed, a planted FIFO does not block.
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    let file = crate::os::no_follow(crate::os::private(&mut options)).open(path);
    if let Ok(mut f) = file
        && f.metadata().is_ok_and(|m| m.is_file())
    {
        let _ = f.write_all(format!("{line}\n").as_bytes());
        let _ = f.sync_data();
    }
}

/// The entries of a record file that parse as `T` (none when it is missing or not a
/// regular file).
pub fn read_records<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    let Ok(file) = crate::os::no_follow(std::fs::OpenOptions::new().read(true)).open(path) else {
        return Vec::new();
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Vec::new();
    }
    std::io::BufReader::new(file)
        .split(b'\n')
        .map_while(std::result::Result::ok)
        .filter_map(|line| serde_json::from_slice::<T>(&line).ok())
        .collect()
}
