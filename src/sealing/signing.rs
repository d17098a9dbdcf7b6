//! Signed bundles (`handoff/signed-v1`, docs/bundle-format.md). age does not
//! authenticate senders, so a bundle can carry an SSH signature (SSHSIG, namespace
//! `handoff`) over a manifest: the SHA-256 of the exact payload bytes, the list of
//! intended recipients, and the payload's public facts. The envelope lives inside the
//! age encryption, so the recipient list is secret from outsiders, and a recipient who
//! re-seals the bundle to someone else cannot pass it off as the signer's: the new
//! recipient is not in the signed list. The manifest holds no secret, so it and the
//! signature can be written out for `ssh-keygen -Y verify`. Pure code: no I/O.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use crate::error::{Error, ExitCode, Result, one_line, shown};
use crate::secret::{SecretBytes, SecretString, from_foreign};

/// The SSHSIG namespace: a signature made for another purpose (git, files) cannot be
/// replayed as a handoff signature.
pub const NAMESPACE: &str = "handoff";
/// The signed envelope's format.
pub const FORMAT_SIGNED: &str = "handoff/signed-v1";
/// The manifest's format.
pub const FORMAT_MANIFEST: &str = "handoff/manifest-v1";
/// The recipient entry for a passphrase-sealed bundle.
pub const PASSPHRASE: &str = "passphrase";

/// What the signature covers. No secret: safe to write to disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT_MANIFEST`].
    pub format: String,
    /// Lower-case hex SHA-256 of the exact payload bytes.
    pub payload_sha256: String,
    /// The intended recipients: `age1…` keys, `ssh-ed25519 AAAA…` keys without their
    /// comment, or [`PASSPHRASE`].
    pub recipients: Vec<String>,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
    /// The payload's account id, user and access key id, for whoever checks the
    /// manifest alone with ssh-keygen.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[allow(missing_docs)]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[allow(missing_docs)]
    pub access_key_id: Option<String>,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: &'a str,
    manifest: &'a str,
    signature: &'a str,
    payload: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeIn {
    // Checked by the first pass in `unwrap`; listed so that the field is allowed.
    #[serde(rename = "format")]
    _format: String,
    manifest: String,
    signature: String,
    payload: String,
}

/// A signed bundle's contents, signature not yet checked.
pub struct Signed {
    /// The payload (`handoff/v1`) bytes.
    pub payload: SecretBytes,
    /// The manifest's exact bytes (what was signed).
    pub manifest_bytes: String,
    /// The manifest, parsed.
    pub manifest: Manifest,
    /// The signature, PEM (`-----BEGIN SSH SIGNATURE-----`).
    pub signature_pem: String,
    /// The signature, parsed.
    pub signature: SshSig,
}

impl Signed {
    /// The signer's public key (as the signature claims; not yet trusted).
    pub fn signer(&self) -> PublicKey {
        PublicKey::from(self.signature.public_key().clone())
    }
}

/// What a decrypted bundle holds.
pub enum Opened {
    /// A bare `handoff/v1` payload.
    Unsigned(SecretBytes),
    /// A signed envelope.
    Signed(Box<Signed>),
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The public facts of a payload, read without its secrets.
#[derive(Deserialize, Default)]
struct Facts {
    account_id: Option<String>,
    user_name: Option<String>,
    access_key_id: Option<String>,
}

/// Signs `payload` for `recipients` with `key`, returning the envelope (secret: it
/// holds the payload).
pub fn sign(
    payload: &[u8],
    recipients: &[String],
    key: &PrivateKey,
    now: jiff::Timestamp,
) -> Result<SecretBytes> {
    // Only the public facts are read back; serde skips the secret fields unread.
    let facts: Facts = serde_json::from_slice(payload).unwrap_or_default();
    let mut recipients = recipients.to_vec();
    recipients.sort();
    recipients.dedup();
    let manifest = Manifest {
        format: FORMAT_MANIFEST.into(),
        payload_sha256: sha256_hex(payload),
        recipients,
        signed_at: now.round(jiff::Unit::Second).unwrap_or(now).to_string(),
        account_id: facts.account_id,
        user_name: facts.user_name,
        access_key_id: facts.access_key_id,
    };
    let manifest = serde_json::to_string_pretty(&manifest).map_err(internal)? + "\n";
    let signature = key
        .sign(NAMESPACE, HashAlg::Sha512, manifest.as_bytes())
        .map_err(|e| Error::input(format!("cannot sign with this key: {e}")).fix(KEY_HINT))?
        .to_pem(LineEnding::LF)
        .map_err(internal)?;
    let payload = std::str::from_utf8(payload).map_err(internal)?;
    let envelope = EnvelopeOut {
        format: FORMAT_SIGNED,
        manifest: &manifest,
        signature: &signature,
        payload,
    };
    let mut out = crate::secret::buffer(payload.len() * 2 + manifest.len() * 2 + 1024);
    serde_json::to_writer(&mut *out, &envelope).map_err(internal)?;
    Ok(out)
}

/// What a signing key must be.
pub const KEY_HINT: &str = "use an OpenSSH ed25519 private key (ssh-keygen -t ed25519), e.g. --sign-with ~/.ssh/id_ed25519";

fn internal(e: impl std::fmt::Display) -> Error {
    Error::new(ExitCode::Internal, format!("signing failed: {e}"))
}

/// `what` may quote the envelope (serde names an unknown field, ssh-key a bad
/// label): it is escaped for the terminal.
fn damaged(what: &str) -> Error {
    Error::new(
        ExitCode::Refused,
        format!(
            "the bundle's signed envelope is malformed: {}",
            one_line(what)
        ),
    )
    .fix("ask the sender for the bundle again; do not use this one")
}

/// Splits a decrypted bundle into its payload and, when signed, its signature.
pub fn unwrap(plaintext: SecretBytes) -> Result<Opened> {
    #[derive(Deserialize)]
    struct FormatOnly {
        format: Option<String>,
    }
    let format = serde_json::from_slice::<FormatOnly>(&plaintext)
        .ok()
        .and_then(|f| f.format);
    if format.as_deref() != Some(FORMAT_SIGNED) {
        // handoff/v1 or anything else: the payload parser gives the precise error.
        return Ok(Opened::Unsigned(plaintext));
    }
    let envelope: EnvelopeIn =
        serde_json::from_slice(&plaintext).map_err(|e| damaged(&e.to_string()))?;
    let EnvelopeIn {
        _format: _,
        manifest: manifest_bytes,
        signature: signature_pem,
        payload,
    } = envelope;
    let payload: SecretString = from_foreign(payload);
    let payload = {
        use crate::secret::ExposeSecret;
        let mut b = crate::secret::buffer(payload.expose_secret().len());
        b.extend_from_slice(payload.expose_secret().as_bytes());
        b
    };
    let manifest: Manifest =
        serde_json::from_str(&manifest_bytes).map_err(|e| damaged(&format!("manifest: {e}")))?;
    if manifest.format != FORMAT_MANIFEST {
        return Err(damaged(&format!(
            "unknown manifest format {}",
            shown(&manifest.format)
        )));
    }
    let signature =
        SshSig::from_pem(&signature_pem).map_err(|e| damaged(&format!("signature: {e}")))?;
    Ok(Opened::Signed(Box::new(Signed {
        payload,
        manifest_bytes,
        manifest,
        signature_pem,
        signature,
    })))
}

/// The fingerprint users compare (`SHA256:…`, as `ssh-keygen -l` prints it).
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Checks a signed bundle: the signature is valid in the handoff namespace, made by
/// one of `trusted`, over a manifest whose payload hash matches, and lists one of
/// `mine` (the opener's own recipients) among its recipients.
pub fn check(s: &Signed, trusted: &[PublicKey], mine: &[String]) -> Result<()> {
    let refuse = |what: String, fix: &str| Error::new(ExitCode::Refused, what).fix(fix);
    let signer = s.signer();
    if !trusted.iter().any(|t| t.key_data() == signer.key_data()) {
        return Err(refuse(
            format!(
                "the bundle is signed by {}, which is not the signer you named with --from",
                fingerprint(&signer)
            ),
            "do not use it: ask the sender which key they sign with, and compare fingerprints",
        ));
    }
    signer
        .verify(NAMESPACE, s.manifest_bytes.as_bytes(), &s.signature)
        .map_err(|_| {
            refuse(
                "the bundle's signature does not match its manifest: it was tampered with".into(),
                "do not use it; ask the sender for the bundle again",
            )
        })?;
    if sha256_hex(&s.payload) != s.manifest.payload_sha256 {
        return Err(refuse(
            "the bundle's payload is not the one that was signed: it was tampered with".into(),
            "do not use it; ask the sender for the bundle again",
        ));
    }
    if !mine.iter().any(|m| s.manifest.recipients.contains(m)) {
        return Err(refuse(
            format!(
                "the bundle was signed for other recipients ({}), not for you: someone re-sealed it",
                s.manifest
                    .recipients
                    .iter()
                    .map(|r| shown(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "do not use it; ask the signer to seal a bundle to your own key",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PrivateKey {
        let seed: [u8; 32] = rand::random();
        PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&seed))
    }

    const PAYLOAD: &[u8] = br#"{"format":"handoff/v1","account_id":"123456789012","access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#;

    fn signed(k: &PrivateKey) -> Signed {
        let env = sign(PAYLOAD, &["age1me".into()], k, jiff::Timestamp::now()).unwrap();
        match unwrap(env).unwrap() {
            Opened::Signed(s) => *s,
            Opened::Unsigned(_) => panic!("not signed"),
        }
    }

    #[test]
    fn signs_and_checks() {
        let k = key();
        let s = signed(&k);
        assert_eq!(&s.payload[..], PAYLOAD);
        assert_eq!(s.manifest.account_id.as_deref(), Some("123456789012"));
        assert!(!s.manifest_bytes.contains("wJalr"));
        let trusted = [k.public_key().clone()];
        check(&s, &trusted, &["age1me".into()]).unwrap();
        // a wrong signer, a wrong recipient
        let other = [key().public_key().clone()];
        assert_eq!(
            check(&s, &other, &["age1me".into()]).unwrap_err().code,
            ExitCode::Refused
        );
        let e = check(&s, &trusted, &["age1you".into()]).unwrap_err();
        assert!(e.to_string().contains("re-sealed"), "{e}");
    }

    #[test]
    fn tampering_is_refused() {
        let k = key();
        let trusted = [k.public_key().clone()];
        let mut s = signed(&k);
        s.manifest_bytes = s.manifest_bytes.replace("age1me", "age1mf");
        assert!(
            check(&s, &trusted, &["age1mf".into()])
                .unwrap_err()
                .to_string()
                .contains("tampered")
        );
        let mut s = signed(&k);
        s.payload[20] ^= 1;
        assert!(
            check(&s, &trusted, &["age1me".into()])
                .unwrap_err()
                .to_string()
                .contains("tampered")
        );
    }

    #[test]
    fn unsigned_payloads_pass_through_and_bad_envelopes_are_refused() {
        let plain = crate::secret::SecretBytes::new(PAYLOAD.to_vec());
        assert!(matches!(unwrap(plain).unwrap(), Opened::Unsigned(_)));
        for bad in [
            r#"{"format":"handoff/signed-v1"}"#,
            r#"{"format":"handoff/signed-v1","manifest":"{}","signature":"x","payload":"{}"}"#,
            r#"{"format":"handoff/signed-v1","manifest":"x","signature":"x","payload":"x","extra":1}"#,
        ] {
            let e = unwrap(SecretBytes::new(bad.as_bytes().to_vec()))
                .err()
                .unwrap();
            assert_eq!(e.code, ExitCode::Refused, "{bad}");
        }
    }

    #[test]
    fn envelope_errors_quoting_the_bundle_are_escaped() {
        // The JSON escapes decode to ESC … BEL and U+202E in an unknown field's name.
        let bad = r#"{"format":"handoff/signed-v1","manifest":"x","signature":"x","payload":"x","\u001b]0;pwned\u0007\u202e":1}"#;
        let e = unwrap(SecretBytes::new(bad.as_bytes().to_vec()))
            .err()
            .unwrap()
            .what;
        assert!(!e.chars().any(crate::sanitize::is_escaped), "{e:?}");
        assert!(e.contains("\\u{1b}]0;pwned\\u{7}\\u{202e}"), "{e}");
    }
}
