//! An advisory lock beside a file (`FILE.lock`; std's `File::try_lock`, `flock` on Unix,
//! `LockFileEx` on Windows): concurrent handoff runs that
//! rewrite the same file (two `open --aws-profile` at once) wait for each other, so
//! neither update is lost and neither run fails. Programs that do not take the lock
//! (the AWS CLI) are still caught by the writer's re-read before its rename. The lock
//! is released when the process ends, however it ends; the empty lock file stays. The
//! same wait serves other locks ([`lock`]): the one that keeps two runs from minting a
//! key for one user at the same moment ([`crate::mint::key_ledger`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, shown};

/// How long to wait for another run before giving up.
const WAIT: Duration = Duration::from_secs(10);

/// Held until dropped.
pub struct Held(#[allow(dead_code)] File);

/// The lock file's path: `FILE.lock` beside `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Takes the lock beside `path` (whose directory exists), waiting up to 10 s for
/// another run that holds it, and saying so once.
pub fn lock_beside(path: &Path) -> Result<Held> {
    let doing = format!("is writing {}", shown(&path.display().to_string()));
    lock(&lock_path(path), &doing, WAIT)
}

/// Takes the lock file `lock` (created 0600 if missing), waiting up to `wait` for
/// another run that holds it; `doing` says what that run is doing, once.
pub fn lock(lock: &Path, doing: &str, wait: Duration) -> Result<Held> {
    use std::fs::TryLockError;
    let shown_lock = shown(&lock.display().to_string());
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    // Not through a link, and only a regular file: a planted `FILE.lock` link must not
    // make handoff create or touch a file elsewhere.
    crate::os::no_follow(crate::os::private(&mut options));
    let file = options
        .open(lock)
        .and_then(|f| match f.metadata() {
            Ok(m) if !m.is_file() => Err(std::io::Error::other("not a regular file")),
            Ok(_) => Ok(f),
            Err(e) => Err(e),
        })
        .map_err(|e| {
            Error::output(format!("cannot open the lock file {shown_lock}: {e}"))
                .fix("check the directory's permissions; remove the lock file if it is a link or not a file")
        })?;
    let deadline = Instant::now() + wait;
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Held(file)),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                if !said {
                    crate::say!(
                        "handoff: waiting for another handoff run that {doing} (up to {} s)",
                        wait.as_secs()
                    );
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(Error::output(format!(
                    "another handoff run has held {shown_lock} for {} s; nothing was changed",
                    wait.as_secs()
                ))
                .fix("let it finish, then run the command again"));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::output(format!("cannot lock {shown_lock}: {e}"))
                    .fix("check the file system supports locks (flock)"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_beside_the_file_and_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        assert_eq!(lock_path(&path), dir.path().join("credentials.lock"));
        let held = lock_beside(&path).unwrap();
        // A second descriptor (another run) cannot take it meanwhile.
        let other = File::open(lock_path(&path)).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(held);
        other.try_lock().unwrap();
    }
}
