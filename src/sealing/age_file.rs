//! Sealing and opening: recipients or a passphrase → an age file (binary or armored),
//! and identities or a passphrase → the plaintext payload. The age crate does all the
//! cryptography; this module only wires it up, caps sizes and words the errors.

use std::io::{BufReader, Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::cli_common::{StdinGuard, read_identities};
use age::{DecryptError, Decryptor, EncryptError, Encryptor};

use crate::bundle::MAX_PAYLOAD_BYTES;
use crate::error::{Error, ExitCode, Result};
use crate::sealing::recipients::{Recipient, read_error};
use crate::secret::{SecretBytes, SecretString};

/// Largest bundle accepted by `open` and `inspect`: a payload is at most 64 KiB, and
/// a header with a few hundred recipients fits easily.
pub const MAX_BUNDLE_BYTES: u64 = 1 << 20;

/// The most recipient stanzas a bundle may have: [`crate::sealing::recipients::MAX_RECIPIENTS`]
/// and room for the grease stanzas age adds.
pub const MAX_STANZAS: usize = crate::sealing::recipients::MAX_RECIPIENTS + 28;

/// The scrypt work factor (log2 N) handoff seals passphrase bundles with: fixed, and the
/// same as `age -p` (Go age's fixed default), not age-the-crate's timing-based choice,
/// which on a fast idle machine can pick more than another busy machine will open.
/// 2^18 is 256 MiB of scrypt memory.
pub const SEAL_SCRYPT_WORK_FACTOR: u8 = 18;

/// The largest scrypt work factor (log2 N) a passphrase bundle may use: 2^20, 1 GiB of
/// scrypt memory. `age -p` makes 18 on every machine; rage calibrates to about a second,
/// which is 17-19 on today's machines. A planted bundle cannot make the opener spend
/// more than this.
pub const MAX_SCRYPT_WORK_FACTOR: u8 = 20;

/// Who can open what we seal.
pub enum Sealer {
    /// Public keys (age, SSH, plugins).
    Recipients(Vec<Recipient>),
    /// A passphrase (scrypt).
    Passphrase(SecretString),
    /// OpenPGP public keys: the bundle is an OpenPGP message instead of an age file.
    OpenPgp(Vec<pgp::composed::SignedPublicKey>),
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::new(ExitCode::Internal, format!("encryption failed: {e}"))
}

/// Encrypts `plaintext` into a complete age file, armored or binary. The result is
/// ciphertext: not secret.
pub fn seal(plaintext: &[u8], sealer: Sealer, armor: bool) -> Result<Vec<u8>> {
    let encryptor = match sealer {
        Sealer::OpenPgp(keys) => return crate::sealing::openpgp::encrypt(plaintext, &keys, armor),
        Sealer::Passphrase(p) => {
            let mut r = age::scrypt::Recipient::new(p);
            r.set_work_factor(SEAL_SCRYPT_WORK_FACTOR);
            Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                .map_err(internal)?
        }
        Sealer::Recipients(rs) => {
            Encryptor::with_recipients(rs.iter().map(|r| r.as_ref() as &dyn age::Recipient))
                .map_err(|e| match e {
                    EncryptError::IncompatibleRecipients { .. }
                    | EncryptError::MixedRecipientAndPassphrase => Error::input(format!(
                        "these recipients cannot be combined in one bundle: {e}"
                    ))
                    .fix("seal separately for each kind of recipient"),
                    EncryptError::MissingRecipients => Error::input("no recipients given")
                        .fix(crate::sealing::recipients::ACCEPTED),
                    other => internal(other),
                })?
        }
    };
    let format = if armor {
        Format::AsciiArmor
    } else {
        Format::Binary
    };
    let mut out = Vec::with_capacity(plaintext.len() + 1024);
    let armored = ArmoredWriter::wrap_output(&mut out, format).map_err(internal)?;
    let mut writer = encryptor.wrap_output(armored).map_err(internal)?;
    writer.write_all(plaintext).map_err(internal)?;
    writer.finish().and_then(|a| a.finish()).map_err(internal)?;
    Ok(out)
}

/// How `open` may unlock a bundle.
pub struct Unlock<'a> {
    /// `-i` files: age identities or SSH private keys.
    pub identity_files: Vec<String>,
    /// Identities from elsewhere (the OS keychain).
    pub extra: Vec<Box<dyn age::Identity>>,
    /// Asks for the passphrase of a passphrase-sealed bundle.
    pub ask_passphrase: &'a dyn Fn() -> Result<SecretString>,
}

/// Whether bytes look like an armored age file (as opposed to the binary format).
pub fn is_armored(bundle: &[u8]) -> bool {
    let start = bundle
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    bundle[start..].starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

/// An armored bundle as it arrives after a trip through mail or chat: blank lines and
/// spaces around it, indented lines, trailing spaces or CRs. Returns the armor with
/// each line trimmed, the surrounding blank lines dropped, and `\n` line ends, or the
/// input unchanged when it is not armored or has text (not whitespace) around the
/// armor, which the age reader then refuses as it is.
pub fn normalize_armor(bundle: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
    const END: &[u8] = b"-----END AGE ENCRYPTED FILE-----";
    if !is_armored(bundle) {
        return bundle.into();
    }
    let trim = |l: &[u8]| -> Vec<u8> { l.trim_ascii().to_vec() };
    let lines: Vec<Vec<u8>> = bundle.split(|&b| b == b'\n').map(trim).collect();
    let Some(end) = lines.iter().position(|l| l == END) else {
        return bundle.into();
    };
    if lines[end + 1..].iter().any(|l| !l.is_empty()) {
        return bundle.into();
    }
    let start = lines.iter().position(|l| l == BEGIN).unwrap_or(0);
    let mut out = Vec::with_capacity(bundle.len());
    for l in &lines[start..=end] {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out.into()
}

/// Decrypts a bundle (armored or binary) into its plaintext payload.
pub fn open(bundle: &[u8], unlock: Unlock<'_>) -> Result<SecretBytes> {
    // The age crate re-parses the whole header after each line it reads (quadratic: a
    // planted 1 MiB header of 10 000 stanzas costs 22 s of CPU). handoff's own header
    // reader is linear and capped at 256 KiB: it checks the header first.
    let header = crate::sealing::age_header::parse(bundle)?;
    if header.stanza_types.len() + header.grease > MAX_STANZAS {
        return Err(Error::decrypt(format!(
            "the bundle has {} recipient stanzas; handoff opens bundles for at most {} recipients",
            header.stanza_types.len() + header.grease,
            crate::sealing::recipients::MAX_RECIPIENTS
        ))
        .fix("this is not a bundle handoff made; ask the sender for a new one"));
    }
    let reader = ArmoredReader::new(BufReader::new(bundle));
    let decryptor = Decryptor::new_buffered(reader).map_err(decrypt_error)?;
    let mut identities: Vec<Box<dyn age::Identity>> = unlock.extra;
    if decryptor.is_scrypt() {
        let passphrase = (unlock.ask_passphrase)()?;
        let mut identity = age::scrypt::Identity::new(passphrase);
        // A fixed ceiling, not the age crate's timing-based one: that one shrinks on a
        // busy machine and then refuses age's own default (2^18). 2^20 is 1 GiB of scrypt
        // memory, the most a bundle may ask of the recipient.
        identity.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
        identities = vec![Box::new(identity)];
    } else {
        if unlock.identity_files.is_empty() && identities.is_empty() {
            return Err(Error::input("no identity given to open the bundle").fix(
                "pass -i with your age identity file or SSH private key, e.g. -i ~/.ssh/id_ed25519",
            ));
        }
        // age's own passphrase prompt for an encrypted SSH key names the file raw: a
        // name holding terminal controls would reach the terminal through it.
        if let Some(f) = unlock
            .identity_files
            .iter()
            .find(|f| f.chars().any(crate::sanitize::is_escaped))
        {
            return Err(Error::input(format!(
                "the identity file name {} holds control or invisible characters",
                crate::error::shown(f)
            ))
            .fix("rename the file (or pass it through a link with a plain name)"));
        }
        // An identity behind a passphrase with nobody to ask: age would count it as
        // "not matching" (exit 4); say what is wrong instead.
        if !crate::prompt::can_ask()
            && let Some(f) = unlock.identity_files.iter().find(|f| needs_passphrase(f))
        {
            return Err(crate::prompt::cannot_ask(&format!(
                "passphrase of {}",
                crate::error::shown(f)
            )));
        }
        let mut guard = StdinGuard::new(false);
        let files = unlock.identity_files.clone();
        let read = read_identities(unlock.identity_files, None, &mut guard).map_err(|e| {
            files
                .iter()
                .find_map(|f| misplaced_identity(f))
                .unwrap_or_else(|| read_error(e))
        })?;
        identities.extend(read);
    }
    let mut stream = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(decrypt_error)?;
    let mut plaintext = crate::secret::buffer(4096);
    let mut limited = (&mut stream).take(MAX_PAYLOAD_BYTES as u64 + 1);
    limited.read_to_end(&mut plaintext).map_err(|e| {
        Error::decrypt(format!("the bundle is damaged or was tampered with ({e})"))
            .fix("ask the sender for the bundle again; do not use this one")
    })?;
    if plaintext.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::input(format!(
            "the bundle's payload is larger than {MAX_PAYLOAD_BYTES} bytes"
        ))
        .fix("this is not a handoff bundle; ask the sender for a bundle made with handoff"));
    }
    // A payload larger than the buffer was moved by the reads: lock where it is now.
    crate::memlock::lock(&plaintext);
    Ok(plaintext)
}

/// Whether the identity file is locked by a passphrase: an encrypted OpenSSH key, or an
/// age-encrypted identity file.
fn needs_passphrase(file: &str) -> bool {
    if file == "-" {
        return false;
    }
    let Ok(bytes) =
        crate::output::read_capped(std::path::Path::new(file), 1 << 24, "identity file")
            .map(zeroize::Zeroizing::new)
    else {
        return false;
    };
    if bytes.starts_with(b"age-encryption.org/")
        || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
    {
        return true;
    }
    ssh_key::PrivateKey::from_openssh(&bytes).is_ok_and(|k| k.is_encrypted())
}

/// Why an identity file age refused is not an identity, when the reason is a common
/// mistake: a byte-order mark (an editor on Windows), or a public key passed to `-i`.
fn misplaced_identity(file: &str) -> Option<Error> {
    if file == "-" {
        return None;
    }
    let bytes = zeroize::Zeroizing::new(
        crate::output::read_capped(std::path::Path::new(file), 1 << 24, "identity file").ok()?,
    );
    let name = crate::error::shown(file);
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Some(
            Error::input(format!("identity file {name} starts with a byte-order mark (BOM), which age identity files must not have"))
                .fix("save the file as UTF-8 without a BOM, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE"),
        );
    }
    let first = bytes
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|l| !l.is_empty() && !l.starts_with(b"#"))?;
    let public = first.starts_with(b"age1")
        || first.starts_with(b"ssh-ed25519 ")
        || first.starts_with(b"ssh-rsa ")
        || first.starts_with(b"ecdsa-sha2-");
    public.then(|| {
        Error::input(format!("identity file {name} holds a public key (a recipient), not a secret identity"))
            .fix("pass your secret key to -i: for SSH the file without .pub (e.g. ~/.ssh/id_ed25519), for age the file `handoff keygen -o FILE` wrote")
    })
}

/// Words an age decryption error as what failed + how to fix.
pub fn decrypt_error(e: DecryptError) -> Error {
    match e {
        DecryptError::NoMatchingKeys => Error::decrypt("none of the given identities can open this bundle")
            .fix("it was sealed to other recipients: `handoff inspect BUNDLE` lists them; pass the matching -i"),
        DecryptError::DecryptionFailed | DecryptError::InvalidMac | DecryptError::KeyDecryptionFailed => {
            Error::decrypt("the bundle cannot be decrypted: wrong passphrase, or it was damaged or tampered with")
                .fix("check the passphrase; otherwise ask the sender for the bundle again")
        }
        DecryptError::InvalidHeader | DecryptError::UnknownFormat => {
            Error::decrypt("this is not an age file, or its header is damaged")
                .fix("pass the .age bundle that `handoff create` or `handoff seal` wrote")
        }
        // age reports its timing-based target, not the ceiling handoff set: name ours.
        DecryptError::ExcessiveWork { required, .. } => Error::decrypt(format!(
            "the bundle asks for scrypt work factor 2^{required}; handoff opens at most 2^{MAX_SCRYPT_WORK_FACTOR} (1 GiB of memory)"
        ))
        .fix("ask the sender to seal it again with handoff or age -p (work factor 2^18)"),
        DecryptError::Io(e) => Error::decrypt(format!("the bundle cannot be read: {e}"))
            .fix("check it is a complete .age file (armored text must be unchanged)"),
        DecryptError::PluginResolve(e) => crate::sealing::recipients::plugin_missing(&e),
        DecryptError::Plugin(errors) => Error::decrypt(format!(
            "the age plugin failed: {}",
            errors
                .iter()
                .map(|e| crate::error::one_line(&e.to_string()))
                .collect::<Vec<_>>()
                .join("; ")
        ))
        .fix("check the plugin's device or key (is it plugged in, unlocked?), then run again"),
        other => Error::decrypt(format!("the bundle cannot be decrypted: {other}"))
            .fix("check the identity and the bundle"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn no_prompt() -> Result<SecretString> {
        panic!("no prompt expected")
    }

    #[test]
    fn seal_then_open_with_an_x25519_identity() {
        let id = age::x25519::Identity::generate();
        let sealed = seal(
            b"hello",
            Sealer::Recipients(vec![Box::new(id.to_public())]),
            false,
        )
        .unwrap();
        assert!(!is_armored(&sealed));
        let dir = tempfile::tempdir().unwrap();
        let idf = dir.path().join("id.txt");
        std::fs::write(&idf, id.to_string().expose_secret()).unwrap();
        let out = open(
            &sealed,
            Unlock {
                identity_files: vec![idf.to_str().unwrap().into()],
                extra: vec![],
                ask_passphrase: &no_prompt,
            },
        )
        .unwrap();
        assert_eq!(&out[..], b"hello");
    }

    #[test]
    fn armored_passphrase_bundle_asks_and_opens() {
        let sealed = seal(
            b"hi",
            Sealer::Passphrase(SecretString::from("correct horse".to_string())),
            true,
        )
        .unwrap();
        assert!(is_armored(&sealed));
        let ask = || Ok(SecretString::from("correct horse".to_string()));
        let out = open(
            &sealed,
            Unlock {
                identity_files: vec![],
                extra: vec![],
                ask_passphrase: &ask,
            },
        )
        .unwrap();
        assert_eq!(&out[..], b"hi");
        let wrong = || Ok(SecretString::from("wrong".to_string()));
        let e = open(
            &sealed,
            Unlock {
                identity_files: vec![],
                extra: vec![],
                ask_passphrase: &wrong,
            },
        )
        .err()
        .unwrap();
        assert_eq!(e.code, ExitCode::Decrypt);
    }

    #[test]
    fn wrong_identity_is_a_decrypt_error() {
        let id = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let sealed = seal(
            b"x",
            Sealer::Recipients(vec![Box::new(id.to_public())]),
            false,
        )
        .unwrap();
        let e = open(
            &sealed,
            Unlock {
                identity_files: vec![],
                extra: vec![Box::new(other)],
                ask_passphrase: &no_prompt,
            },
        )
        .err()
        .unwrap();
        assert_eq!(e.code, ExitCode::Decrypt);
        assert!(e.what.contains("none of the given identities"));
    }

    #[test]
    fn garbage_is_not_an_age_file() {
        let e = open(
            b"hello world",
            Unlock {
                identity_files: vec![],
                extra: vec![],
                ask_passphrase: &no_prompt,
            },
        )
        .err()
        .unwrap();
        assert_eq!(e.code, ExitCode::Decrypt);
    }
}
