//! The standard Unix password manager as a store: the real `pass` program, its store
//! directory (`PASSWORD_STORE_DIR`, or `~/.password-store`) and gpg underneath.
//!
//! Credentials are entries `handoff/NAME`, identities `handoff-identity/NAME`. An
//! entry is the secret as handoff keeps it (the handoff/v1 JSON payload, or the
//! `AGE-SECRET-KEY-1…` line), a blank line, then the non-secret facts as `key: value`
//! lines, pass's convention for extra fields: `pass show handoff/NAME` prints it
//! readably. The secret reaches `pass insert` on its standard input, never in argv or
//! the environment.
//!
//! Listing reads the store directory's file names only: the facts are encrypted with
//! the secret, so `keychain list` shows names and kinds, not key ids. There is no call
//! timeout here, unlike the other stores: gpg may be waiting on its pinentry for the
//! user's passphrase.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::error::StoreError;
use super::keychain::{Item, Keychain, check_name, refuse_existing};
use super::kind::Kind;
use super::name::StoreName;
use crate::error::Result;
use crate::secret::SecretBytes;

/// The `pass` store.
pub struct Pass;

/// The store directory `pass` uses.
fn store_dir() -> Option<PathBuf> {
    match std::env::var_os("PASSWORD_STORE_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".password-store")),
    }
}

/// The entry's path inside the store: `handoff/NAME` or `handoff-identity/NAME`.
fn entry(kind: Kind, name: &str) -> String {
    format!("{}/{name}", kind.service())
}

fn unreachable(why: impl Into<String>) -> crate::error::Error {
    StoreError::Unreachable(StoreName::Pass, why.into()).into()
}

/// Whether `program` is an executable file in a `PATH` directory.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|d| {
            let f = d.join(program);
            f.is_file() && executable(&f)
        })
    })
}

#[cfg(unix)]
fn executable(f: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    f.metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_: &std::path::Path) -> bool {
    true
}

/// Why `pass` cannot be used here, if it cannot.
pub fn unusable() -> Option<String> {
    if !cfg!(unix) {
        return Some("pass runs on Unix systems only".into());
    }
    if !on_path("pass") {
        return Some("the pass program is not installed".into());
    }
    match store_dir() {
        None => Some("no HOME or PASSWORD_STORE_DIR".into()),
        Some(d) if !d.join(".gpg-id").is_file() => Some(format!(
            "{} is not a password store (no .gpg-id)",
            d.display()
        )),
        Some(_) => None,
    }
}

/// How long pass may take before handoff says what it waits for.
const SLOW_NOTICE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `pass ARGS`, with `input` on its standard input; its standard output back.
fn pass(args: &[&str], input: Option<&[u8]>) -> Result<SecretBytes> {
    if let Some(why) = unusable() {
        return Err(unreachable(why));
    }
    let mut command = Command::new("pass");
    command
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A process group of its own, so that a signal that ends handoff can end pass
    // and its gpg together ([`crate::interrupt::child`]); gpg asks for a passphrase
    // through gpg-agent's pinentry, not through this group's terminal.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| unreachable(format!("cannot run pass: {e}")))?;
    let _running = crate::interrupt::child(child.id());
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        // A pass that dies early closes the pipe: its exit status says why.
        let _ = stdin.write_all(bytes);
    }
    // No timeout (gpg may rightly wait for a passphrase), but never silence: an AWS
    // CLI running credential_process shows this line while it waits.
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if finished.recv_timeout(SLOW_NOTICE) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            crate::say!(
                "• waiting for pass: gpg may be asking for your passphrase (pinentry); Ctrl-C stops"
            );
        }
    });
    let out = child.wait_with_output();
    drop(done);
    let out = out.map_err(|e| StoreError::Failed(StoreName::Pass, e.to_string()))?;
    // The boundary: pass's output (a secret, for `show`) becomes our wiped type here.
    let stdout = SecretBytes::new(out.stdout);
    if !out.status.success() {
        // Every line: gpg names the cause first ("skipped: No public key"), pass
        // sums up last ("Password encryption aborted.").
        let said = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = said
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let mut why = if lines.is_empty() {
            "no message".to_string()
        } else {
            lines.join(" / ")
        };
        why.truncate(why.floor_char_boundary(400));
        return Err(
            StoreError::Failed(StoreName::Pass, format!("pass {} failed: {why}", args[0])).into(),
        );
    }
    Ok(stdout)
}

/// The entry's text: the secret, a blank line, the facts.
fn compose(secret: &[u8], attributes: &[(&str, String)]) -> Result<SecretBytes> {
    let text = std::str::from_utf8(secret).map_err(|_| StoreError::BadFormat)?;
    if text.contains("\n\n") || text.trim().is_empty() {
        return Err(StoreError::BadFormat.into());
    }
    let mut out = crate::secret::buffer(secret.len() + 64 * (attributes.len() + 1));
    out.extend_from_slice(text.trim_end_matches('\n').as_bytes());
    out.extend_from_slice(b"\n\n");
    for (k, v) in attributes {
        // One fact, one line: a value that could start another is left out.
        if v.chars().any(char::is_control) {
            continue;
        }
        out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
    }
    Ok(out)
}

/// The secret back out of an entry's text: everything before the first blank line.
fn secret_of(text: &[u8]) -> Result<SecretBytes> {
    let end = text
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(text.len(), |i| i + 1);
    if text[..end].iter().all(u8::is_ascii_whitespace) {
        return Err(StoreError::BadFormat.into());
    }
    Ok(SecretBytes::new(text[..end].to_vec()))
}

impl Keychain for Pass {
    fn put(
        &self,
        kind: Kind,
        name: &str,
        secret: &[u8],
        attributes: &[(&str, String)],
        replace: bool,
    ) -> Result<()> {
        check_name(name)?;
        refuse_existing(self, kind, name, replace)?;
        let text = compose(secret, attributes)?;
        pass(
            &["insert", "--multiline", "--force", &entry(kind, name)],
            Some(&text),
        )
        .map(drop)
    }

    fn get(&self, kind: Kind, name: &str) -> Result<SecretBytes> {
        check_name(name)?;
        if !self.exists(kind, name)? {
            return Err(StoreError::Missing(kind, name.into()).into());
        }
        secret_of(&pass(&["show", &entry(kind, name)], None)?)
    }

    fn exists(&self, kind: Kind, name: &str) -> Result<bool> {
        if let Some(why) = unusable() {
            return Err(unreachable(why));
        }
        let dir = store_dir().ok_or_else(|| unreachable("no HOME"))?;
        let file = dir.join(kind.service()).join(format!("{name}.gpg"));
        // An entry is a file (or a link pass follows); a directory NAME.gpg is none.
        Ok(file.symlink_metadata().is_ok_and(|m| !m.is_dir()))
    }

    fn delete(&self, kind: Kind, name: &str) -> Result<bool> {
        check_name(name)?;
        if !self.exists(kind, name)? {
            return Ok(false);
        }
        pass(&["rm", "--force", &entry(kind, name)], None).map(|_| true)
    }

    fn list(&self) -> Result<Vec<Item>> {
        if let Some(why) = unusable() {
            return Err(unreachable(why));
        }
        let dir = store_dir().ok_or_else(|| unreachable("no HOME"))?;
        let mut items = Vec::new();
        for kind in [Kind::Credential, Kind::Identity] {
            let Ok(entries) = std::fs::read_dir(dir.join(kind.service())) else {
                continue;
            };
            for e in entries.flatten() {
                let file = e.file_name();
                let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".gpg")) else {
                    continue;
                };
                if check_name(name).is_ok() {
                    items.push(Item {
                        name: name.to_string(),
                        kind,
                        attributes: Default::default(),
                    });
                }
            }
        }
        items.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_the_secret_a_blank_line_and_the_facts() {
        let text = compose(
            b"{\n  \"a\": \"b\"\n}\n",
            &[("access-key-id", "AKIA1".into()), ("bad", "x\ny: z".into())],
        )
        .unwrap();
        assert_eq!(&text[..], b"{\n  \"a\": \"b\"\n}\n\naccess-key-id: AKIA1\n");
        assert_eq!(&secret_of(&text).unwrap()[..], b"{\n  \"a\": \"b\"\n}\n");
        // An entry someone wrote by hand, with no facts, is all secret.
        assert_eq!(
            &secret_of(b"AGE-SECRET-KEY-1X").unwrap()[..],
            b"AGE-SECRET-KEY-1X"
        );
        assert!(secret_of(b"\n\nfacts: x\n").is_err());
        assert!(compose(b"a\n\nb", &[]).is_err());
    }
}
