//! Files that hold a secret, written so that no crash leaves a copy behind. On Linux the
//! data goes into an unnamed file (`O_TMPFILE`, mode 0600) that gets its name only when
//! it is complete and synced (`linkat`): a SIGKILL, a power cut or a full disk mid-write
//! leaves nothing. A new file is linked under its final name at once (and never over an
//! existing one); replacing a file needs a rename, so the complete file is linked under a
//! `.handoff-*` name first and renamed over the target straight away — only a SIGKILL in
//! that instant leaves a (complete) temporary file, which later runs report
//! ([`report_stale`]). Where `O_TMPFILE` is missing (another OS, a file system without
//! it, no `/proc`), a named temporary file is used and removed on every error. While a
//! file is being written, signals wait ([`crate::interrupt::changing`]).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The prefix of handoff's temporary files (and of what [`report_stale`] looks for).
pub const TEMP_PREFIX: &str = ".handoff-";

/// A file being written in a directory, not yet under its final name.
pub struct Pending {
    inner: Inner,
    dir: PathBuf,
    _changing: crate::interrupt::Changing,
}

enum Inner {
    /// `O_TMPFILE`: no name yet.
    Unnamed(File),
    /// The fallback: a named temporary file, deleted on drop unless persisted.
    Named(tempfile::NamedTempFile),
}

/// Starts a 0600 file in `dir`.
pub fn create_in(dir: &Path) -> io::Result<Pending> {
    let changing = crate::interrupt::changing();
    let inner = match unnamed_in(dir) {
        Some(f) => Inner::Unnamed(f),
        None => Inner::Named(
            tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .tempfile_in(dir)?,
        ),
    };
    Ok(Pending {
        inner,
        dir: dir.to_path_buf(),
        _changing: changing,
    })
}

#[cfg(target_os = "linux")]
fn unnamed_in(dir: &Path) -> Option<File> {
    use rustix::fs::{CWD, Mode, OFlags, openat};
    if !Path::new("/proc/self/fd").is_dir() {
        return None;
    }
    let fd = openat(
        CWD,
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .ok()?;
    Some(File::from(fd))
}

#[cfg(not(target_os = "linux"))]
fn unnamed_in(_dir: &Path) -> Option<File> {
    None
}

impl Pending {
    /// The file, for writing.
    pub fn file(&self) -> &File {
        match &self.inner {
            Inner::Unnamed(f) => f,
            Inner::Named(t) => t.as_file(),
        }
    }

    /// Writes all of `bytes` and syncs them to disk.
    pub fn write_synced(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut f = self.file();
        f.write_all(bytes)?;
        f.sync_all()
    }

    /// Gives the complete file the name `path`; fails with `AlreadyExists` if anything
    /// is there (it is never replaced).
    pub fn link_new(self, path: &Path) -> io::Result<()> {
        self.link_new_keeping(path).map(drop)
    }

    /// [`Pending::link_new`], keeping the file open (to go on writing to it, or to keep
    /// a lock taken before it had a name).
    pub fn link_new_keeping(self, path: &Path) -> io::Result<File> {
        let result = match self.inner {
            Inner::Unnamed(f) => link(&f, path).map(|()| f),
            Inner::Named(t) => t.persist_noclobber(path).map_err(|e| e.error),
        };
        sync_dir(&self.dir);
        result
    }

    /// Puts the complete file at `path`, replacing what is there (rename: a link there
    /// is replaced, never followed).
    pub fn replace(self, path: &Path) -> io::Result<()> {
        let result = match self.inner {
            Inner::Unnamed(ref f) => {
                let temp = link_under_temp_name(f, &self.dir)?;
                std::fs::rename(&temp, path).inspect_err(|_| {
                    let _ = std::fs::remove_file(&temp);
                })
            }
            Inner::Named(t) => t.persist(path).map(|_| ()).map_err(|e| e.error),
        };
        sync_dir(&self.dir);
        result
    }
}

#[cfg(target_os = "linux")]
fn link(f: &File, path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // Through /proc: AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH.
    let proc_path = format!("/proc/self/fd/{}", f.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        proc_path.as_str(),
        rustix::fs::CWD,
        path,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )
    .map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn link(_f: &File, _path: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

fn link_under_temp_name(f: &File, dir: &Path) -> io::Result<PathBuf> {
    use rand::Rng;
    for _ in 0..16 {
        let name = format!("{TEMP_PREFIX}{:016x}", rand::rng().random::<u64>());
        let temp = dir.join(name);
        match link(f, &temp) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            other => return other.map(|()| temp),
        }
    }
    Err(io::Error::from(io::ErrorKind::AlreadyExists))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Warns about `.handoff-*` files in `dir` older than a minute: left by a run that was
/// killed (SIGKILL, a crash, or an older handoff that named its temporary files), each
/// may hold a secret.
pub fn report_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(TEMP_PREFIX) || name.starts_with(".handoff-check-") {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < minute_ago);
        if old {
            let path = crate::error::shown(&entry.path().display().to_string());
            crate::say!(
                "handoff: warning: {path} was left by an interrupted handoff run and may hold a secret; delete it: shred -u {path}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_file_has_no_name_until_it_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = create_in(dir.path()).unwrap();
        p.write_synced(b"secret").unwrap();
        if cfg!(target_os = "linux") {
            assert!(matches!(p.inner, Inner::Unnamed(_)), "O_TMPFILE is used");
            assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
        }
        let target = dir.path().join("out");
        p.link_new(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        assert_eq!(names(dir.path()), ["out"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn link_new_never_replaces_and_leaves_nothing_when_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::write(&target, b"theirs").unwrap();
        let mut p = create_in(dir.path()).unwrap();
        p.write_synced(b"secret").unwrap();
        let e = p.link_new(&target).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&target).unwrap(), b"theirs");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn replace_leaves_only_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::write(&target, b"old").unwrap();
        let mut p = create_in(dir.path()).unwrap();
        p.write_synced(b"new").unwrap();
        p.replace(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn a_dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = create_in(dir.path()).unwrap();
        p.write_synced(b"secret").unwrap();
        drop(p);
        assert!(names(dir.path()).is_empty());
    }
}
