//! OpenPGP recipients, for teams whose keys live in gpg: `--to key.asc` (an OpenPGP
//! public key, armored or binary) seals the payload into an OpenPGP message that `gpg -d`
//! opens, and `open -i secret-key.asc` opens it (and messages gpg made), asking for the
//! key's passphrase only when the key is locked. rPGP (the `pgp` crate) does the
//! cryptography: pure Rust, no gpg at run time. A bundle is either age or OpenPGP, never
//! both: mixing the two kinds of recipients is an error.

use std::io::Read;
use std::path::Path;

use pgp::composed::{
    ArmorOptions, Deserializable, Message, MessageBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::{KeyDetails, Password};
use rand_core_06::OsRng;

use crate::bundle::MAX_PAYLOAD_BYTES;
use crate::error::{Error, ExitCode, Result, one_line, shown};
use crate::secret::{SecretBytes, Zeroizing};

/// Largest key file read.
const MAX_KEY_FILE: u64 = 1 << 20;

const ARMORED_KEY: &[u8] = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";
const ARMORED_SECRET: &[u8] = b"-----BEGIN PGP PRIVATE KEY BLOCK-----";
const ARMORED_MESSAGE: &[u8] = b"-----BEGIN PGP MESSAGE-----";

fn trimmed(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// The OpenPGP packet tag of the first packet of binary data, if it looks like one.
fn first_tag(bytes: &[u8]) -> Option<u8> {
    let b = *bytes.first()?;
    match b {
        b if b & 0xC0 == 0xC0 => Some(b & 0x3F),        // new format
        b if b & 0xC0 == 0x80 => Some((b >> 2) & 0x0F), // old format
        _ => None,
    }
}

/// Whether a file holds an OpenPGP public key (armored or binary).
pub fn is_public_key(bytes: &[u8]) -> bool {
    trimmed(bytes).starts_with(ARMORED_KEY) || first_tag(bytes) == Some(6)
}

/// Whether a file holds an OpenPGP secret key (armored or binary).
pub fn is_secret_key(bytes: &[u8]) -> bool {
    trimmed(bytes).starts_with(ARMORED_SECRET) || first_tag(bytes) == Some(5)
}

/// Whether a bundle is an OpenPGP message (armored, or binary starting with a
/// public-key or symmetric-key encrypted session key packet).
pub fn is_message(bytes: &[u8]) -> bool {
    trimmed(bytes).starts_with(ARMORED_MESSAGE) || matches!(first_tag(bytes), Some(1 | 3))
}

/// The recipient entry for a key in a signed manifest: `openpgp:` + the primary key's
/// fingerprint in hex.
pub fn recipient_id(fingerprint: impl std::fmt::Display) -> String {
    format!("openpgp:{}", fingerprint.to_string().to_ascii_lowercase())
}

/// Reads an OpenPGP public key file (its bindings checked).
pub fn read_public_key(path: &Path) -> Result<SignedPublicKey> {
    let name = shown(&path.display().to_string());
    let bytes = crate::output::read_capped(path, MAX_KEY_FILE, "OpenPGP key")?;
    let (key, _) = SignedPublicKey::from_reader_single(&bytes[..]).map_err(|e| {
        Error::input(format!(
            "{name} is not a usable OpenPGP public key ({})",
            one_line(&e.to_string())
        ))
        .fix("export it with `gpg --export --armor KEYID > key.asc`")
    })?;
    key.verify_bindings().map_err(|e| {
        Error::input(format!(
            "{name}: the key's self-signatures do not verify ({})",
            one_line(&e.to_string())
        ))
        .fix("export the key again from gpg; do not use a damaged key")
    })?;
    if encryption_keys(&key).is_empty() {
        return Err(
            Error::input(format!("{name} has no key that can encrypt")).fix(
                "add an encryption subkey (gpg --quick-add-key FPR cv25519 encr) and export again",
            ),
        );
    }
    Ok(key)
}

/// The subkeys (or the primary key) an OpenPGP message to `key` is encrypted to: those
/// whose binding signatures allow encryption, and whose algorithm can encrypt.
fn encryption_keys(key: &SignedPublicKey) -> Vec<&pgp::composed::SignedPublicSubKey> {
    key.public_subkeys
        .iter()
        .filter(|s| s.key.algorithm().can_encrypt())
        .filter(|s| {
            s.signatures
                .iter()
                .any(|sig| sig.key_flags().encrypt_comms() || sig.key_flags().encrypt_storage())
        })
        .collect()
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::new(
        ExitCode::Internal,
        format!("OpenPGP encryption failed: {e}"),
    )
}

/// Encrypts `payload` to every key, as an armored or binary OpenPGP message.
pub fn encrypt(payload: &[u8], keys: &[SignedPublicKey], armor: bool) -> Result<Vec<u8>> {
    let mut builder = MessageBuilder::from_bytes("", payload.to_vec())
        .seipd_v1(OsRng, SymmetricKeyAlgorithm::AES256);
    for key in keys {
        let subkeys = encryption_keys(key);
        for sub in subkeys {
            builder.encrypt_to_key(OsRng, &sub.key).map_err(internal)?;
        }
    }
    if armor {
        builder
            .to_armored_string(OsRng, ArmorOptions::default())
            .map(String::into_bytes)
            .map_err(internal)
    } else {
        builder.to_vec(OsRng).map_err(internal)
    }
}

/// Reads OpenPGP secret keys among the identity files (others are skipped).
fn secret_keys(identity_files: &[String]) -> Result<Vec<(String, SignedSecretKey)>> {
    let mut keys = Vec::new();
    for file in identity_files {
        let bytes = Zeroizing::new(crate::output::read_capped(
            Path::new(file),
            MAX_KEY_FILE,
            "identity file",
        )?);
        if !is_secret_key(&bytes) {
            continue;
        }
        let (key, _) = SignedSecretKey::from_reader_single(&bytes[..]).map_err(|e| {
            Error::input(format!(
                "{} is not a usable OpenPGP secret key ({})",
                shown(file),
                one_line(&e.to_string())
            ))
            .fix("export it with `gpg --export-secret-keys --armor KEYID > secret-key.asc`")
        })?;
        keys.push((file.clone(), key));
    }
    Ok(keys)
}

/// The `openpgp:` recipient entries of the OpenPGP secret keys among `identity_files`.
pub fn identity_recipients(identity_files: &[String]) -> Vec<String> {
    secret_keys(identity_files)
        .unwrap_or_default()
        .iter()
        .map(|(_, k)| recipient_id(k.primary_key.fingerprint()))
        .collect()
}

/// The `openpgp:` recipient entry of a public key file, if it is one.
pub fn public_key_recipient(path: &Path) -> Option<String> {
    let bytes = crate::output::read_capped(path, MAX_KEY_FILE, "OpenPGP key").ok()?;
    if !is_public_key(&bytes) {
        return None;
    }
    let (key, _) = SignedPublicKey::from_reader_single(&bytes[..]).ok()?;
    Some(recipient_id(key.primary_key.fingerprint()))
}

/// Decrypts an OpenPGP message with the OpenPGP secret keys among `identity_files`.
pub fn decrypt(bundle: &[u8], identity_files: &[String]) -> Result<SecretBytes> {
    let keys = secret_keys(identity_files)?;
    if keys.is_empty() {
        return Err(Error::decrypt(
            "this bundle is an OpenPGP message, and no OpenPGP secret key was given",
        )
        .fix("pass -i with your OpenPGP secret key (gpg --export-secret-keys --armor KEYID > key.asc)"));
    }
    let mut last = None;
    for (file, key) in &keys {
        let what = format!("passphrase for the OpenPGP key {}", shown(file));
        // Asked only if the key is locked; a cancelled prompt is an empty passphrase.
        let password = Password::from(move || {
            crate::prompt::hidden(&what)
                .map(|p| {
                    use crate::secret::ExposeSecret;
                    Zeroizing::new(p.expose_secret().as_bytes().to_vec())
                })
                .unwrap_or_default()
        });
        // Armored or binary: from_reader tells them apart.
        let message = Message::from_reader(bundle).map(|(m, _)| m).map_err(|e| {
            Error::decrypt(format!(
                "the OpenPGP message is damaged ({})",
                one_line(&e.to_string())
            ))
            .fix("ask the sender for the bundle again")
        })?;
        match message.decrypt(&password, key) {
            Ok(mut m) => {
                if m.is_compressed() {
                    m = m.decompress().map_err(|e| {
                        Error::decrypt(format!(
                            "cannot decompress the message ({})",
                            one_line(&e.to_string())
                        ))
                        .fix("ask the sender to encrypt without bzip2 compression")
                    })?;
                }
                let mut plaintext = crate::secret::buffer(4096);
                let mut limited = (&mut m).take(MAX_PAYLOAD_BYTES as u64 + 1);
                limited.read_to_end(&mut plaintext).map_err(|e| {
                    Error::decrypt(format!(
                        "the bundle is damaged or was tampered with ({})",
                        one_line(&e.to_string())
                    ))
                    .fix("ask the sender for the bundle again; do not use this one")
                })?;
                if plaintext.len() > MAX_PAYLOAD_BYTES {
                    return Err(Error::input(format!(
                        "the bundle's payload is larger than {MAX_PAYLOAD_BYTES} bytes"
                    ))
                    .fix("this is not a handoff bundle"));
                }
                crate::memlock::lock(&plaintext);
                return Ok(plaintext);
            }
            Err(e) => last = Some(one_line(&e.to_string())),
        }
    }
    Err(Error::decrypt(format!(
        "none of the OpenPGP keys given opens this bundle ({})",
        last.unwrap_or_default()
    ))
    .fix("pass the secret key the bundle was encrypted to, and its right passphrase"))
}
