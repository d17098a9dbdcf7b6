//! The file facts that differ between Unix and the other OSes handoff builds for
//! (Windows), in one place: a file's mode, its owner, opens that follow no link, the
//! identity of a file. On Unix a secret's file is 0600 in a 0700 directory and a planted
//! link or FIFO is refused; on Windows a new file takes its directory's ACL (a user's
//! profile is closed to other users) and these checks have no equivalent that std
//! offers, so they are skipped there. README's "What is tested where" says so.

use std::fs::{Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// A file created only its owner may read and write: mode 0600 on Unix.
pub fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// An open that does not follow a link put in the file's place, nor block on a FIFO
/// (Unix; elsewhere a plain open).
pub fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits().cast_signed());
    }
    options
}

/// Creates `dir` and its missing parents, the new ones 0700 on Unix.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Whether the file is the current user's and none of the permission bits in `closed`
/// (0o022: others' writes; 0o077: any access by others) are set. Always true where
/// files have no Unix owner and mode.
pub fn mine_with_closed(meta: &Metadata, closed: u32) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.uid() == rustix::process::getuid().as_raw() && meta.mode() & closed == 0
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, closed);
        true
    }
}

/// Whether two paths name one file, as far as can be told: the same device and inode
/// on Unix, the same canonical path elsewhere.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// A new handle on standard output, unbuffered: what is written through it goes
/// straight to the file descriptor (or handle), with no copy kept in the process.
pub fn stdout_file() -> io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        Ok(std::fs::File::from(
            std::io::stdout().as_fd().try_clone_to_owned()?,
        ))
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsHandle;
        Ok(std::fs::File::from(
            std::io::stdout().as_handle().try_clone_to_owned()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_mine_and_closed_and_the_same_as_itself() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir(&nested).unwrap();
        let path = nested.join("f");
        private(OpenOptions::new().write(true).create_new(true))
            .open(&path)
            .unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert!(mine_with_closed(&meta, 0o077));
        assert!(same_file(&path, &nested.join("../b/f")));
        assert!(!same_file(&path, &nested));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
            let dir_mode = std::fs::metadata(&nested).unwrap().permissions().mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
    }

    #[test]
    #[cfg(unix)]
    fn no_follow_refuses_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(
            no_follow(OpenOptions::new().read(true))
                .open(&link)
                .is_err()
        );
        assert!(
            no_follow(OpenOptions::new().read(true))
                .open(&target)
                .is_ok()
        );
    }
}
