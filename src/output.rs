//! Where bytes may go. Files: created 0600 in the target's directory, written, synced,
//! then renamed into place, so a reader sees the old file or the whole new one, never a
//! half; an existing target is never replaced without `--force`, and never followed if
//! it is a symlink. Secrets to stdout: written straight to the file descriptor, so no
//! buffer inside the process keeps a copy.

use std::fs::{self, File};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, shown};

/// Whether an existing file may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clobber {
    /// Refuse if the target exists (the default; `--force` would replace it).
    Refuse,
    /// Refuse if the target exists, and no flag replaces it (`keygen`: an identity
    /// file is never replaced).
    Never,
    /// Replace a regular file (`--force`).
    Replace,
}

impl Clobber {
    /// From the `--force` flag.
    pub fn from_force(force: bool) -> Self {
        if force {
            Clobber::Replace
        } else {
            Clobber::Refuse
        }
    }
}

fn display(path: &Path) -> String {
    shown(&path.display().to_string())
}

/// The target exists and may not be replaced: the hint names `--force` only where
/// the command has it.
fn exists(path: &Path, clobber: Clobber) -> Error {
    Error::output(format!("{} already exists", display(path))).fix(match clobber {
        Clobber::Never => "choose another path: an existing file is never replaced",
        _ => "choose another path, or pass --force to replace it",
    })
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks, without writing anything, that `path` can be written: it is free (or a
/// regular file with `--force`), and its directory exists and is writable. Run before
/// any side effect, so a bad output path fails before AWS is touched.
pub fn check_writable(path: &Path, clobber: Clobber) -> Result<()> {
    // `newdir/` names a directory, even when it does not exist yet.
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err(
            Error::output(format!("{} names a directory, not a file", display(path)))
                .fix("add a file name, e.g. bootstrap.age"),
        );
    }
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            if meta.file_type().is_symlink() {
                return Err(Error::output(format!(
                    "{} is a symbolic link; handoff does not write through links",
                    display(path)
                ))
                .fix("remove the link or choose another path"));
            }
            if !meta.is_file() {
                return Err(Error::output(format!(
                    "{} exists and is not a regular file",
                    display(path)
                ))
                .fix("choose another path"));
            }
            if clobber != Clobber::Replace {
                return Err(exists(path, clobber));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(
                Error::output(format!("cannot check {}: {e}", display(path)))
                    .fix("check the path and its permissions"),
            );
        }
    }
    let dir = parent_of(path);
    if !dir.is_dir() {
        return Err(
            Error::output(format!("directory {} does not exist", display(&dir)))
                .fix("create it first, or choose another path"),
        );
    }
    probe_dir(&dir)
}

/// Checks that a file can be created in `dir`. The only reliable test of "can I create
/// a file here" is to create one (empty, removed at once).
pub fn probe_dir(dir: &Path) -> Result<()> {
    use rand::Rng;
    let probe = dir.join(format!(
        ".handoff-check-{:016x}",
        rand::rng().random::<u64>()
    ));
    crate::os::private(fs::OpenOptions::new().write(true).create_new(true))
        .open(&probe)
        .map_err(|e| {
            Error::output(format!("cannot write in {}: {e}", display(dir)))
                .fix("choose a directory you can write to")
        })?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// Writes `bytes` to `path` atomically with mode 0600. On any failure nothing is left
/// behind: neither a temporary file nor a half-written target.
pub fn write_file(path: &Path, bytes: &[u8], clobber: Clobber) -> Result<()> {
    check_writable(path, clobber)?;
    let dir = parent_of(path);
    let fail = |e: std::io::Error| {
        Error::output(format!("cannot write {}: {e}", display(path)))
            .fix("check free space and permissions, then run the command again")
    };
    crate::atomic_file::report_stale(&dir);
    // Unnamed (O_TMPFILE) until complete: a crash leaves no copy.
    let mut tmp = crate::atomic_file::create_in(&dir).map_err(fail)?;
    tmp.write_synced(bytes).map_err(fail)?;
    match clobber {
        // link(2): fails if anything appeared at `path` meanwhile.
        Clobber::Refuse | Clobber::Never => tmp.link_new(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                exists(path, clobber)
            } else {
                fail(e)
            }
        })?,
        // rename(2) replaces the directory entry; it never follows a link.
        Clobber::Replace => {
            check_writable(path, clobber)?;
            tmp.replace(path).map_err(fail)?;
        }
    }
    Ok(())
}

/// Where standard output goes, as far as handoff cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    /// A terminal: what is written stays in its scrollback.
    Terminal,
    /// `/dev/null`, `/dev/full`, or closed (the Rust runtime reopens a closed stdout on
    /// /dev/null): what is written is lost.
    Null,
    /// A regular file (`> file`), with its permission bits.
    File(u32),
    /// A pipe, a socket or another device.
    Other,
}

/// Finds out where standard output goes.
pub fn stdout_kind() -> Stdout {
    if std::io::stdout().is_terminal() {
        return Stdout::Terminal;
    }
    redirected_stdout_kind()
}

/// Where a standard output that is not a terminal goes, from its file type.
#[cfg(unix)]
fn redirected_stdout_kind() -> Stdout {
    use rustix::fs::{FileType, fstat, stat};
    use std::os::fd::AsFd;
    let Ok(st) = fstat(std::io::stdout().as_fd()) else {
        return Stdout::Null;
    };
    // st_mode is a u16 on macOS.
    #[allow(clippy::useless_conversion)]
    let mode = u32::from(st.st_mode);
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Stdout::File(mode & 0o7777),
        // /dev/full takes nothing either: every write fails (ENOSPC).
        FileType::CharacterDevice => {
            let is = |dev: &str| stat(dev).is_ok_and(|d| d.st_rdev == st.st_rdev);
            if is("/dev/null") || is("/dev/full") {
                Stdout::Null
            } else {
                Stdout::Other
            }
        }
        _ => Stdout::Other,
    }
}

/// Elsewhere a regular file is told by its metadata; `NUL` is not told apart.
#[cfg(not(unix))]
fn redirected_stdout_kind() -> Stdout {
    match crate::os::stdout_file().and_then(|f| f.metadata()) {
        Ok(meta) if meta.is_file() => Stdout::File(0o600),
        Ok(_) => Stdout::Other,
        Err(_) => Stdout::Null,
    }
}

/// Refuses, before anything is changed anywhere, to send `what` (a bundle, a secret) to
/// a standard output that loses it: a key minted into /dev/null is an orphan.
/// `has_output_flag`: the command has `-o FILE`, and the hint may offer it.
pub fn check_stdout_keeps(what: &str, has_output_flag: bool) -> Result<()> {
    if stdout_kind() == Stdout::Null {
        return Err(Error::output(format!(
            "standard output is /dev/null, /dev/full or closed, so the {what} would be lost"
        ))
        .fix(if has_output_flag {
            "pass -o FILE, or send standard output to a file or a pipe"
        } else {
            "send standard output to a file or a pipe"
        }));
    }
    Ok(())
}

/// Writes bytes that must arrive (a bundle, a secret) to stdout with no buffer in
/// between: a closed pipe or a full disk is an error, never a silent loss. A regular
/// file is synced, so that a full disk or a quota is reported now, not at close.
fn write_stdout_all(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = crate::os::stdout_file()?;
    out.write_all(bytes)?;
    if matches!(stdout_kind(), Stdout::File(_)) {
        out.sync_all()?;
    }
    Ok(())
}

/// Writes secret bytes to stdout with no buffer in between. The commands that print
/// secrets (`open`, `credential-process`) have no `-o`: the hint does not offer it.
pub fn write_stdout_secret(bytes: &[u8]) -> Result<()> {
    write_stdout_all(bytes).map_err(stdout_error)
}

/// Writes a bundle (ciphertext, not secret) to stdout; it must arrive.
pub fn write_stdout_bundle(bytes: &[u8]) -> Result<()> {
    // Only bundles come from commands that have -o (create, seal).
    write_stdout_all(bytes).map_err(|e| {
        stdout_error(e)
            .fix("check where standard output goes (a full disk, a closed pipe), or pass -o FILE")
    })
}

/// Writes text for people (a summary, a list) to stdout. A closed pipe (`| head`) is the
/// reader's choice, not a failure.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(stdout_error(e)),
    }
}

fn stdout_error(e: std::io::Error) -> Error {
    let why = if e.kind() == std::io::ErrorKind::BrokenPipe {
        "the reading end was closed".to_string()
    } else {
        e.to_string()
    };
    Error::output(format!("cannot write to standard output: {why}"))
        .fix("check where standard output goes (a full disk, a closed pipe)")
}

/// Whether stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Reads a whole file, refusing one larger than `limit` bytes (without reading it all).
pub fn read_capped(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let not_readable = |e: std::io::Error| {
        Error::input(format!("cannot read {what} {}: {e}", display(path)))
            .fix("check the path and its permissions")
    };
    if path.is_dir() {
        return Err(
            Error::input(format!("{what} {} is a directory", display(path))).fix("pass a file"),
        );
    }
    let f = File::open(path).map_err(not_readable)?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(not_readable)?;
    if buf.len() as u64 > limit {
        return Err(Error::input(format!(
            "{what} {} is larger than {limit} bytes",
            display(path)
        ))
        .fix(format!("pass the right file: a {what} is much smaller")));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_0600_and_refuses_to_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out");
        write_file(&p, b"one", Clobber::Refuse).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = write_file(&p, b"two", Clobber::Refuse).unwrap_err();
        assert!(e.what.contains("already exists"));
        assert_eq!(fs::read(&p).unwrap(), b"one");
        write_file(&p, b"two", Clobber::Replace).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    #[cfg(unix)]
    fn never_writes_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for c in [Clobber::Refuse, Clobber::Replace] {
            assert!(write_file(&link, b"x", c).is_err());
        }
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }

    #[test]
    #[cfg(unix)]
    fn refuses_directories_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_file(dir.path(), b"x", Clobber::Replace).is_err());
        assert!(write_file(Path::new("/dev/null"), b"x", Clobber::Replace).is_err());
        assert!(write_file(&dir.path().join("missing/out"), b"x", Clobber::Refuse).is_err());
    }

    #[test]
    fn read_capped_refuses_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        fs::write(&p, vec![b'a'; 100]).unwrap();
        assert!(read_capped(&p, 99, "file").is_err());
        assert_eq!(read_capped(&p, 100, "file").unwrap().len(), 100);
    }
}
