//! Where the shared credentials file is, found as botocore finds it:
//! `$AWS_SHARED_CREDENTIALS_FILE` (set but empty is refused), else
//! `~/.aws/credentials`, then Python's `os.path.expandvars` and `os.path.expanduser`.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::error::{Error, Result, shown};

/// The variable botocore reads the credentials file's path from.
pub(super) const PATH_VARIABLE: &str = "AWS_SHARED_CREDENTIALS_FILE";

/// Whose home directory `~` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum User<'a> {
    /// The current user (`~` with HOME unset): by user id.
    Me,
    /// `~name`.
    Named(&'a [u8]),
}

/// The credentials file AWS tools read, found as botocore finds it:
/// `$AWS_SHARED_CREDENTIALS_FILE` if set (set but empty means botocore reads no file:
/// refused), else `~/.aws/credentials`; then Python's `os.path.expandvars` (`$VAR`,
/// `${VAR}`) and `os.path.expanduser` (`~` from HOME, or from the password file when
/// HOME is unset; `~user` from the password file). Where Python would leave a `~`
/// unexpanded (an unknown user) or use an empty HOME, this is an error instead.
pub fn default_path() -> Result<PathBuf> {
    resolve(
        std::env::var_os(PATH_VARIABLE).as_deref(),
        &env_var,
        &passwd_home,
    )
}

pub(super) fn env_var(name: &[u8]) -> Option<OsString> {
    if name.is_empty() || name.contains(&b'=') || name.contains(&0) {
        return None;
    }
    #[cfg(unix)]
    let name = <OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name);
    #[cfg(not(unix))]
    let name = std::str::from_utf8(name).ok()?;
    std::env::var_os(name)
}

/// The home directory in /etc/passwd (what `pwd.getpwnam`/`getpwuid` find on a
/// machine without a directory service).
#[cfg(unix)]
pub(super) fn passwd_home(user: User<'_>) -> Option<Vec<u8>> {
    let db = std::fs::read("/etc/passwd").ok()?;
    let uid = rustix::process::getuid().as_raw().to_string();
    db.split(|&b| b == b'\n').find_map(|line| {
        let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        let hit = f.len() >= 7
            && match user {
                User::Me => f[2] == uid.as_bytes(),
                User::Named(n) => f[0] == n,
            };
        hit.then(|| f[5].to_vec())
    })
}

/// Windows: Python's `ntpath.expanduser` takes `~` from USERPROFILE when HOME is unset,
/// and `~user` from the profile directory's parent, which handoff does not guess.
#[cfg(not(unix))]
pub(super) fn passwd_home(user: User<'_>) -> Option<Vec<u8>> {
    match user {
        User::Me => Some(os_bytes(&std::env::var_os("USERPROFILE")?).to_vec()),
        User::Named(_) => None,
    }
}

/// A path's bytes: on Unix its bytes, elsewhere its UTF-8 (handoff builds the paths it
/// expands only from valid text there).
fn os_bytes(s: &OsStr) -> &[u8] {
    s.as_encoded_bytes()
}

#[cfg(unix)]
fn os_string(bytes: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes)
}

#[cfg(not(unix))]
fn os_string(bytes: Vec<u8>) -> OsString {
    String::from_utf8_lossy(&bytes).into_owned().into()
}

pub(super) fn resolve(
    setting: Option<&OsStr>,
    env: &dyn Fn(&[u8]) -> Option<OsString>,
    home_of: &dyn Fn(User<'_>) -> Option<Vec<u8>>,
) -> Result<PathBuf> {
    let raw: &[u8] = match setting {
        Some(s) if s.is_empty() => {
            return Err(Error::output(format!(
                "{PATH_VARIABLE} is set but empty, so AWS tools read no credentials file"
            ))
            .fix(format!(
                "unset {PATH_VARIABLE} to use ~/.aws/credentials, or set it to a file"
            )));
        }
        Some(s) => os_bytes(s),
        None => b"~/.aws/credentials",
    };
    let path = expandvars(raw, env);
    let path = expanduser(&path, env, home_of)?;
    Ok(PathBuf::from(os_string(path)))
}

/// Python's `posixpath.expandvars`: `$name` (ASCII word characters) and `${name}`
/// are replaced by set variables; anything else is left as it is.
pub(super) fn expandvars(path: &[u8], env: &dyn Fn(&[u8]) -> Option<OsString>) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i] != b'$' {
            out.push(path[i]);
            i += 1;
            continue;
        }
        let rest = &path[i + 1..];
        let (name, len) = if rest.first() == Some(&b'{') {
            match rest.iter().position(|&b| b == b'}') {
                Some(close) => (&rest[1..close], close + 1),
                None => (&rest[..0], 0),
            }
        } else {
            let n = rest
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            (&rest[..n], n)
        };
        match (len, env(name)) {
            (1.., Some(value)) => out.extend_from_slice(os_bytes(&value)),
            _ => out.extend_from_slice(&path[i..=i + len]),
        }
        i += 1 + len;
    }
    out
}

/// Python's `posixpath.expanduser`, with an error where Python would give up and
/// leave the `~` (a relative path no AWS tool means) or use an empty HOME.
pub(super) fn expanduser(
    path: &[u8],
    env: &dyn Fn(&[u8]) -> Option<OsString>,
    home_of: &dyn Fn(User<'_>) -> Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    if path.first() != Some(&b'~') {
        return Ok(path.to_vec());
    }
    let i = path[1..]
        .iter()
        .position(|&b| b == b'/')
        .map_or(path.len(), |p| p + 1);
    let home = if i == 1 {
        match env(b"HOME") {
            Some(h) if h.is_empty() => {
                return Err(
                    Error::output("cannot find the AWS credentials file: HOME is empty")
                        .fix(format!("set HOME, or {PATH_VARIABLE} to a full path")),
                );
            }
            Some(h) => os_bytes(&h).to_vec(),
            None => home_of(User::Me).ok_or_else(|| {
                Error::output(
                    "cannot find the AWS credentials file: HOME is not set and your user is not in /etc/passwd",
                )
                .fix(format!("set HOME, or {PATH_VARIABLE} to a full path"))
            })?,
        }
    } else {
        let user = &path[1..i];
        home_of(User::Named(user)).ok_or_else(|| {
            Error::output(format!(
                "cannot find the home directory of user {} named in {PATH_VARIABLE}",
                shown(&String::from_utf8_lossy(user))
            ))
            .fix(format!("set {PATH_VARIABLE} to a full path"))
        })?
    };
    let trimmed = home.len() - home.iter().rev().take_while(|&&b| b == b'/').count();
    let mut out = home[..trimmed].to_vec();
    out.extend_from_slice(&path[i..]);
    if out.is_empty() {
        out.push(b'/');
    }
    Ok(out)
}
