//! The keys around signed bundles, read from what users already have: the signing key
//! (`--sign-with`, an OpenSSH ed25519 private key, passphrase-protected or not), the
//! trusted signers (`--from`: a public key, a `.pub` file, or an OpenSSH
//! `allowed_signers` file), and the opener's own recipients (to check that a signed
//! bundle was meant for them): from age identity files, SSH private keys, `KEY.pub`
//! beside them, and the `# public key:` comments age-keygen writes.

use std::path::Path;

use ssh_key::{Algorithm, PrivateKey, PublicKey};

use crate::error::{Error, Result, shown};
use crate::output::read_capped;
use crate::sealing::signing::{KEY_HINT, NAMESPACE};
use crate::secret::{ExposeSecret, Zeroizing};

/// Largest key or signers file read.
const MAX_KEY_FILE: u64 = 1 << 20;

/// Loads the signing key, asking for its passphrase when it has one.
pub fn signing_key(path: &Path) -> Result<PrivateKey> {
    let name = shown(&path.display().to_string());
    let bytes = Zeroizing::new(read_capped(path, MAX_KEY_FILE, "signing key")?);
    let key = PrivateKey::from_openssh(&*bytes)
        .map_err(|_| Error::input(format!("{name} is not an OpenSSH private key")).fix(KEY_HINT))?;
    if key.algorithm() != Algorithm::Ed25519 {
        // An unknown algorithm's name is the file's own text.
        return Err(Error::input(format!(
            "{name} is a {} key; handoff signs with ed25519 keys only",
            shown(key.algorithm().as_ref())
        ))
        .fix(KEY_HINT));
    }
    if !key.is_encrypted() {
        return Ok(key);
    }
    let passphrase = crate::prompt::hidden(&format!("passphrase for {name}"))?;
    key.decrypt(passphrase.expose_secret().as_bytes())
        .map_err(|_| {
            Error::input(format!("wrong passphrase for {name}"))
                .fix("run the command again with the key's passphrase")
        })
}

/// The canonical form of a public key: `type base64`, no comment.
pub fn canonical(key: &PublicKey) -> String {
    let mut k = key.clone();
    k.set_comment("");
    k.to_openssh().unwrap_or_default().trim().to_string()
}

/// Parses every `--from` value into trusted signer keys.
pub fn trusted_signers(values: &[String]) -> Result<Vec<PublicKey>> {
    let mut keys = Vec::new();
    for value in values {
        let path = Path::new(value);
        if path.exists() {
            let bytes = read_capped(path, MAX_KEY_FILE, "signers file")?;
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::input(format!("{} is not a text file", shown(value))).fix(FROM_HINT)
            })?;
            let before = keys.len();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some(k) = signer_line(line).map_err(|why| {
                    Error::input(format!("line {} of {}: {why}", n + 1, shown(value)))
                        .fix(FROM_HINT)
                })? {
                    keys.push(k);
                }
            }
            if keys.len() == before {
                return Err(Error::input(format!(
                    "{} holds no signer allowed for the {NAMESPACE} namespace",
                    shown(value)
                ))
                .fix(FROM_HINT));
            }
        } else {
            keys.push(PublicKey::from_openssh(value.trim()).map_err(|_| {
                Error::input(format!(
                    "--from {} is neither a public key nor a file that exists",
                    shown(value)
                ))
                .fix(FROM_HINT)
            })?);
        }
    }
    Ok(keys)
}

/// What `--from` accepts.
pub const FROM_HINT: &str = "pass the sender's public key (\"ssh-ed25519 AAAA…\"), their .pub file, or an OpenSSH allowed_signers file";

/// One line of a `.pub` or `allowed_signers` file: a key (Some), a key for another
/// namespace (None), or an error.
fn signer_line(line: &str) -> std::result::Result<Option<PublicKey>, String> {
    if let Ok(k) = PublicKey::from_openssh(line) {
        return Ok(Some(k));
    }
    // allowed_signers: principals [options] keytype base64 [comment]
    let rest = line
        .split_once(char::is_whitespace)
        .map(|(_, r)| r.trim_start())
        .ok_or("not a public key, nor an allowed_signers line")?;
    if let Ok(k) = PublicKey::from_openssh(rest) {
        return Ok(Some(k));
    }
    let (options, key) = split_options(rest);
    let key = PublicKey::from_openssh(key.trim_start())
        .map_err(|_| "not a public key, nor an allowed_signers line".to_string())?;
    for option in split_unquoted(options, ',') {
        let (name, value) = option.split_once('=').unwrap_or((option, ""));
        match name.to_ascii_lowercase().as_str() {
            "namespaces" => {
                let value = value.trim_matches('"');
                if !value.split(',').any(|n| n.trim() == NAMESPACE) {
                    return Ok(None);
                }
            }
            other => {
                return Err(format!(
                    "the allowed_signers option {} is not supported by handoff",
                    shown(other)
                ));
            }
        }
    }
    Ok(Some(key))
}

/// Splits `options key…` at the first whitespace outside double quotes.
fn split_options(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], &s[i..]),
            _ => {}
        }
    }
    (s, "")
}

fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out.into_iter().filter(|o| !o.is_empty()).collect()
}

/// The recipients an identity file answers to, as far as they can be told without
/// decrypting anything: age identities, `# public key:` comments, the public half of
/// an OpenSSH private key, and `FILE.pub` beside it.
pub fn recipients_of_identity_file(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    if path == "-" {
        return out;
    }
    if let Ok(bytes) = read_capped(Path::new(path), MAX_KEY_FILE, "identity file") {
        let bytes = Zeroizing::new(bytes);
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
            && let Ok(k) = PrivateKey::from_openssh(text.as_bytes())
        {
            out.push(canonical(k.public_key()));
        }
        for line in text.lines().map(str::trim) {
            if let Ok(id) = line.parse::<age::x25519::Identity>() {
                out.push(id.to_public().to_string());
            } else if let Some(r) = line
                .strip_prefix('#')
                .and_then(|c| c.split_once("ublic key:").or(c.split_once("ecipient:")))
                .map(|(_, r)| r.trim())
                .filter(|r| r.starts_with("age1"))
            {
                out.push(r.to_string());
            }
        }
    }
    if let Ok(pubkey) = std::fs::read_to_string(format!("{path}.pub"))
        && let Ok(k) = PublicKey::from_openssh(pubkey.trim())
    {
        out.push(canonical(&k));
    }
    out
}

/// Canonical recipient strings for a list of `--to`/`-r`/`-R` values, for the signed
/// manifest: what `recipients_of_identity_file` finds on the other side.
pub fn canonical_recipients(values: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for value in values {
        if value == "-" {
            return Err(
                Error::input("--sign-with cannot read the recipients from standard input")
                    .fix("pass the recipients as --to values or files"),
            );
        }
        let path = Path::new(value);
        if let Some(r) = crate::sealing::openpgp::public_key_recipient(path) {
            out.push(r);
            continue;
        }
        let lines: Vec<String> = if path.exists() {
            let bytes = read_capped(path, 16 << 20, "recipients file")?;
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_string)
                .collect()
        } else {
            vec![value.clone()]
        };
        for line in lines {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Ok(k) = PublicKey::from_openssh(line) {
                out.push(canonical(&k));
            } else {
                out.push(line.to_string());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk2T3rKe1GkmFQ3ZlC2VvKkS/9w3e2w0dcmQ6Jm6Ijj";

    #[test]
    fn allowed_signers_lines() {
        let k = signer_line(&format!("alice@example.com {KEY}"))
            .unwrap()
            .unwrap();
        assert_eq!(canonical(&k), KEY);
        assert!(
            signer_line(&format!(
                "alice@example.com namespaces=\"git,handoff\" {KEY} c"
            ))
            .unwrap()
            .is_some()
        );
        assert!(
            signer_line(&format!("alice@example.com namespaces=\"git\" {KEY}"))
                .unwrap()
                .is_none()
        );
        assert!(
            signer_line(&format!("alice cert-authority {KEY}"))
                .unwrap_err()
                .contains("cert-authority")
        );
        assert!(signer_line(&format!("{KEY} a comment")).unwrap().is_some());
        assert!(signer_line("alice junk").is_err());
        assert!(signer_line("junk").is_err());
    }

    #[test]
    fn canonical_recipients_drop_comments() {
        let got = canonical_recipients(&[format!("{KEY} bob@laptop"), "age1abc".into()]).unwrap();
        assert_eq!(got, vec![KEY.to_string(), "age1abc".to_string()]);
        assert!(canonical_recipients(&["-".into()]).is_err());
    }
}
