//! The AWS shared credentials file (`$AWS_SHARED_CREDENTIALS_FILE` or
//! `~/.aws/credentials`): adds or replaces one profile, keeping every other byte of the
//! file (other profiles, comments, blank lines, CRLF line ends) as it was. The merge is
//! a pure function ([`merge`]) so it can be fuzzed; [`write_profile`] does the I/O:
//! refuses symlinks, writes atomically with mode 0600, and refuses to replace a file
//! that changed while it was being merged.

use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, shown};
use crate::output::read_capped;
use crate::secret::{ExposeSecret, SecretString, Zeroizing};

/// Largest credentials file handoff will merge into.
pub const MAX_CREDENTIALS_FILE_BYTES: u64 = 1 << 20;

/// Why a merge was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum MergeError {
    /// The profile exists and replacing was not asked for.
    Exists,
    /// The profile appears more than once.
    Duplicate,
    /// A section header is malformed (1-based line number).
    Malformed(usize),
}

/// A profile name AWS tools accept, and that cannot break the file's structure.
pub fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@+=,".contains(&b))
}

fn header_name(line: &str) -> Option<std::result::Result<&str, ()>> {
    let t = line.trim();
    if !t.starts_with('[') {
        return None;
    }
    match t.find(']') {
        Some(end) => Some(Ok(t[1..end].trim())),
        None => Some(Err(())),
    }
}

/// Returns the file with profile `name` set to these lines (`key = value`), replacing
/// the profile (only if `replace`) or appending it.
pub fn merge(
    existing: &str,
    name: &str,
    entries: &[(&str, &str)],
    replace: bool,
) -> std::result::Result<Zeroizing<String>, MergeError> {
    // CRLF only when every line of the file ends so: a stray "\r\n" (say, a line that
    // ended in a bare CR before we added a newline) must not flip the style, or a
    // second merge would differ from the first (found by the credentials_merge fuzzer).
    let newlines = existing.matches('\n').count();
    let eol = if newlines > 0 && existing.matches("\r\n").count() == newlines {
        "\r\n"
    } else {
        "\n"
    };
    let lines: Vec<&str> = existing.split_inclusive('\n').collect();
    let mut section = String::new();
    section.push_str(&format!("[{name}]{eol}"));
    for (k, v) in entries {
        section.push_str(&format!("{k} = {v}{eol}"));
    }
    let section = Zeroizing::new(section);

    let mut found: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        match header_name(line) {
            Some(Err(())) => return Err(MergeError::Malformed(i + 1)),
            Some(Ok(n)) if n == name => {
                if found.is_some() {
                    return Err(MergeError::Duplicate);
                }
                found = Some(i);
            }
            _ => {}
        }
    }
    let mut out = Zeroizing::new(String::with_capacity(existing.len() + section.len() + 4));
    match found {
        Some(_) if !replace => Err(MergeError::Exists),
        Some(start) => {
            // The profile's body runs to the next header; comments and blank lines just
            // before that header belong to what follows and are kept.
            let next = (start + 1..lines.len())
                .find(|&i| header_name(lines[i]).is_some())
                .unwrap_or(lines.len());
            let mut end = next;
            while end > start + 1 {
                let t = lines[end - 1].trim();
                if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                    end -= 1;
                } else {
                    break;
                }
            }
            for l in &lines[..start] {
                out.push_str(l);
            }
            out.push_str(&section);
            let rest = &lines[end..];
            // A profile at the very end of a file that had no final newline.
            for l in rest {
                out.push_str(l);
            }
            Ok(out)
        }
        None => {
            out.push_str(existing);
            if !existing.is_empty() {
                if !existing.ends_with('\n') {
                    out.push_str(eol);
                }
                out.push_str(eol);
            }
            out.push_str(&section);
            Ok(out)
        }
    }
}

/// The credentials file AWS tools read.
pub fn default_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            Error::output("cannot find the AWS credentials file: HOME is not set")
                .fix("set HOME or AWS_SHARED_CREDENTIALS_FILE")
        })?;
    Ok(PathBuf::from(home).join(".aws").join("credentials"))
}

/// Checks, writing nothing, that profile `name` could be written into the credentials
/// file at `path` (a usable name, a readable well-formed file, no such profile unless
/// `replace`), so that a command can fail before it changes anything elsewhere.
pub fn check_profile(path: &Path, name: &str, replace: bool) -> Result<()> {
    let placeholder = crate::secret::from_foreign(String::new());
    prepare(path, name, "", &placeholder, replace).map(|_| ())
}

/// Reads the file at `path` and merges the profile in: (the bytes read, the new text).
fn prepare(
    path: &Path,
    name: &str,
    key_id: &str,
    secret: &SecretString,
    replace: bool,
) -> Result<(Zeroizing<Vec<u8>>, Zeroizing<String>)> {
    if !valid_profile_name(name) {
        return Err(
            Error::input(format!("{} is not a usable profile name", shown(name)))
                .fix("use letters, digits and - _ . @ + = , (at most 64)"),
        );
    }
    let shown_path = shown(&path.display().to_string());
    let meta = fs::symlink_metadata(path);
    let existing = match &meta {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::output(format!(
                "{shown_path} is a symbolic link; handoff does not write through links"
            ))
            .fix("point AWS_SHARED_CREDENTIALS_FILE at the real file"));
        }
        Ok(m) if !m.is_file() => {
            return Err(Error::output(format!("{shown_path} is not a regular file"))
                .fix("point AWS_SHARED_CREDENTIALS_FILE at a file"));
        }
        Ok(_) => Zeroizing::new(read_capped(
            path,
            MAX_CREDENTIALS_FILE_BYTES,
            "credentials file",
        )?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Zeroizing::new(Vec::new()),
        Err(e) => {
            return Err(Error::output(format!("cannot read {shown_path}: {e}"))
                .fix("check its permissions"));
        }
    };
    let text = std::str::from_utf8(&existing).map_err(|_| {
        Error::input(format!("{shown_path} is not UTF-8 text"))
            .fix("fix or move the file, then run again")
    })?;
    let merged = merge(
        text,
        name,
        &[
            ("aws_access_key_id", key_id),
            ("aws_secret_access_key", secret.expose_secret()),
        ],
        replace,
    )
    .map_err(|e| match e {
        MergeError::Exists => {
            Error::output(format!("profile [{name}] already exists in {shown_path}"))
                .fix("choose another --aws-profile, or pass --force to replace it")
        }
        MergeError::Duplicate => Error::input(format!(
            "profile [{name}] appears more than once in {shown_path}"
        ))
        .fix("remove the duplicate by hand, then run again"),
        MergeError::Malformed(n) => Error::input(format!(
            "line {n} of {shown_path} is a malformed [section] header"
        ))
        .fix("fix that line by hand, then run again"),
    })?;
    Ok((existing, merged))
}

/// Writes the access key into profile `name` of the credentials file at `path`.
pub fn write_profile(
    path: &Path,
    name: &str,
    key_id: &str,
    secret: &SecretString,
    replace: bool,
) -> Result<()> {
    let (existing, merged) = prepare(path, name, key_id, secret, replace)?;
    let shown_path = shown(&path.display().to_string());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                Error::output(format!(
                    "cannot create {}: {e}",
                    shown(&dir.display().to_string())
                ))
                .fix("check permissions")
            })?;
    }
    let fail = |e: std::io::Error| {
        Error::output(format!("cannot write {shown_path}: {e}"))
            .fix("check free space and permissions; the file was not changed")
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".handoff-")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(merged.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    crate::exit_hooks::stop_at("credentials-rename");
    // Another program may have changed the file since we read it: its change would be
    // lost by the rename, so refuse instead.
    let now = match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Zeroizing::new(read_capped(
            path,
            MAX_CREDENTIALS_FILE_BYTES,
            "credentials file",
        )?),
        Ok(_) => {
            return Err(fail(std::io::Error::other(
                "it was replaced by something that is not a file",
            )));
        }
        Err(_) => Zeroizing::new(Vec::new()),
    };
    if now[..] != existing[..] {
        return Err(Error::output(format!(
            "{shown_path} changed while handoff was writing it; nothing was written"
        ))
        .fix("run the command again"));
    }
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &[(&str, &str)] = &[
        ("aws_access_key_id", "AKIA"),
        ("aws_secret_access_key", "S"),
    ];

    #[test]
    fn appends_to_empty_and_existing_files() {
        assert_eq!(
            &*merge("", "p", E, false).unwrap(),
            "[p]\naws_access_key_id = AKIA\naws_secret_access_key = S\n"
        );
        let before = "# mine\n[default]\naws_access_key_id = X\n";
        let after = merge(before, "p", E, false).unwrap();
        assert!(after.starts_with(before));
        assert!(after.ends_with("\n\n[p]\naws_access_key_id = AKIA\naws_secret_access_key = S\n"));
    }

    #[test]
    fn adds_a_newline_to_a_file_without_one() {
        let after = merge("[default]\nx = 1", "p", E, false).unwrap();
        assert!(after.starts_with("[default]\nx = 1\n\n[p]\n"));
    }

    #[test]
    fn keeps_crlf_line_ends() {
        let after = merge("[default]\r\nx = 1\r\n", "p", E, false).unwrap();
        assert_eq!(
            &*after,
            "[default]\r\nx = 1\r\n\r\n[p]\r\naws_access_key_id = AKIA\r\naws_secret_access_key = S\r\n"
        );
    }

    #[test]
    fn existing_profile_needs_replace() {
        assert_eq!(
            merge("[p]\nx = 1\n", "p", E, false).unwrap_err(),
            MergeError::Exists
        );
        assert_eq!(
            merge("[ p ]\nx = 1\n", "p", E, false).unwrap_err(),
            MergeError::Exists
        );
    }

    #[test]
    fn replace_keeps_everything_else_byte_for_byte() {
        let before =
            "[a]\nk = 1\n\n[p]\naws_access_key_id = OLD\nregion = x\n\n# about b\n[b]\nk = 2\n";
        let after = merge(before, "p", E, true).unwrap();
        assert_eq!(
            &*after,
            "[a]\nk = 1\n\n[p]\naws_access_key_id = AKIA\naws_secret_access_key = S\n\n# about b\n[b]\nk = 2\n"
        );
    }

    #[test]
    fn replace_is_idempotent() {
        let once = merge("[a]\nk = 1\n[p]\nold = 1\n", "p", E, true).unwrap();
        let twice = merge(&once, "p", E, true).unwrap();
        assert_eq!(&*once, &*twice);
    }

    /// Found by `scripts/fuzz` (credentials_merge, inputs "\n\x01\r" and "\r\r"): a file
    /// ending in a bare CR gained a "\r\n" on the first merge, which flipped the second
    /// merge to CRLF.
    #[test]
    fn fuzz_regression_trailing_cr_then_replace_is_idempotent() {
        for input in ["\n\x01\r", "\r\r", "\r"] {
            let once = merge(input, "p", E, true).unwrap();
            let twice = merge(&once, "p", E, true).unwrap();
            assert_eq!(&*once, &*twice, "{input:?}");
            assert!(once.starts_with(input));
        }
    }

    #[test]
    fn duplicates_and_malformed_headers_are_refused() {
        assert_eq!(
            merge("[p]\n[p]\n", "p", E, true).unwrap_err(),
            MergeError::Duplicate
        );
        assert_eq!(
            merge("[a]\n[oops\n", "p", E, true).unwrap_err(),
            MergeError::Malformed(2)
        );
    }

    #[test]
    fn profile_names_are_checked() {
        assert!(valid_profile_name("myexample-bootstrap"));
        for bad in ["", "a]b", "a\nb", "a b", "[x"] {
            assert!(!valid_profile_name(bad), "{bad:?}");
        }
    }
}
