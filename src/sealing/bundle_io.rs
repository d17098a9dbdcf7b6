//! Reading and writing bundle files: a path or standard input/output ("-", as in age),
//! capped in size, armor normalized, checked before any side effect and written
//! atomically.

use std::path::{Path, PathBuf};

use crate::cli::BundleOutputFlags;
use crate::error::{Error, Result};
use crate::output::{self, Clobber};

/// Where a bundle goes: a file (0600, atomically), or standard output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleOutput {
    /// The file; `None` for standard output (no `-o`, or `-o -` as in age).
    pub path: Option<PathBuf>,
    /// ASCII armor.
    pub armor: bool,
    /// Replace an existing file.
    pub replace: bool,
}

impl BundleOutput {
    /// The output the flags name.
    pub fn from_flags(out: &BundleOutputFlags) -> BundleOutput {
        BundleOutput {
            path: out.output.clone().filter(|p| p.as_os_str() != "-"),
            armor: out.armor,
            replace: out.force,
        }
    }

    /// Checks that the bundle can be written there. Run before any side effect.
    pub fn check(&self) -> Result<()> {
        match &self.path {
            Some(path) => output::check_writable(path, Clobber::from_force(self.replace)),
            None if !self.armor && output::stdout_is_terminal() => Err(Error::output(
                "refusing to print a binary bundle to the terminal",
            )
            .fix("pass -o FILE, or -a for an armored (text) bundle")),
            None => output::check_stdout_keeps("bundle", true),
        }
    }

    /// Writes the (non-secret) bundle.
    pub fn write(&self, bundle: &[u8]) -> Result<()> {
        match &self.path {
            Some(path) => output::write_file(path, bundle, Clobber::from_force(self.replace)),
            None => output::write_stdout_bundle(bundle),
        }
    }

    /// Where it goes, for the user (escaped).
    pub fn describe(&self) -> String {
        self.path.as_ref().map_or_else(
            || "standard output".into(),
            |p| crate::error::shown(&p.display().to_string()),
        )
    }
}

/// Reads a bundle from a path or stdin ("-"), capped.
pub fn read_bundle(arg: &str) -> Result<Vec<u8>> {
    if arg == "-" {
        use std::io::{IsTerminal, Read};
        if std::io::stdin().is_terminal() {
            // `handoff open` with no bundle: say what it waits for (an armored bundle
            // pasted from mail or chat is read as it is).
            crate::say!("Reading the bundle from standard input: paste it, then press Ctrl-D.");
        }
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(super::age_file::MAX_BUNDLE_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| {
                Error::input(format!("cannot read the bundle from standard input: {e}"))
                    .fix("pipe the .age file in")
            })?;
        if buf.len() as u64 > super::age_file::MAX_BUNDLE_BYTES {
            return Err(
                Error::input("the bundle on standard input is larger than 1 MiB")
                    .fix("this is not a handoff bundle"),
            );
        }
        if buf.is_empty() {
            return Err(Error::decrypt("no bundle: standard input was empty").fix(
                "pass the .age file as BUNDLE, or pipe it in (handoff open -i ID < bootstrap.age)",
            ));
        }
        return Ok(super::age_file::normalize_armor(&buf).into_owned());
    }
    let buf = output::read_capped(Path::new(arg), super::age_file::MAX_BUNDLE_BYTES, "bundle")?;
    let buf = super::age_file::normalize_armor(&buf).into_owned();
    if buf.is_empty() {
        return Err(
            Error::decrypt(format!("bundle {} is empty", crate::error::shown(arg)))
                .fix("pass the .age file the sender gave you"),
        );
    }
    Ok(buf)
}
