//! What `open` does with a bundle's signature: with `--from`, refuse an unsigned
//! bundle, a wrong signer, a tampered bundle or one re-sealed to someone the signer did
//! not name; without it, say who claims to have signed, unchecked. `--export-signature`
//! writes the manifest and its signature for `ssh-keygen -Y verify`.

use std::path::Path;

use ssh_key::PublicKey;

use crate::error::{Error, ExitCode, Result, shown};
use crate::output::{self, Clobber};
use crate::sealing::signing::{self, Signed};

/// Checks the signature against the trusted signers (none: `--from` not given).
pub fn check(signed: Option<&Signed>, trusted: &[PublicKey], mine: &[String]) -> Result<()> {
    match (signed, trusted.is_empty()) {
        (None, true) => Ok(()),
        (None, false) => Err(Error::new(
            ExitCode::Refused,
            "the bundle is not signed, and --from requires a signature; nothing was delivered",
        )
        .fix("ask the sender to seal it again with --sign-with, or drop --from if you trust where it came from")),
        (Some(s), true) => {
            crate::say!(
                "note: the bundle says it was signed by {}; not checked (pass --from with the sender's public key to check it)",
                signing::fingerprint(&s.signer())
            );
            Ok(())
        }
        (Some(s), false) => {
            if mine.is_empty() {
                return Err(Error::new(
                    ExitCode::Refused,
                    "cannot tell whether the bundle was sealed for you: no public key is known for your identities",
                )
                .fix("put your public key beside your identity as FILE.pub (or keep age-keygen's `# public key:` line in it)"));
            }
            signing::check(s, trusted, mine)?;
            crate::say!(
                "Signature checked: signed by {} for {} recipient(s), you among them.",
                signing::fingerprint(&s.signer()),
                s.manifest.recipients.len()
            );
            Ok(())
        }
    }
}

/// Writes the manifest to `path` and the signature to `path.sig`.
pub fn export(signed: Option<&Signed>, path: &Path, force: bool) -> Result<()> {
    let s = signed.ok_or_else(|| {
        Error::new(
            ExitCode::Refused,
            "the bundle is not signed: there is no signature to export",
        )
        .fix("drop --export-signature, or ask the sender for a signed bundle")
    })?;
    let mut sig = path.as_os_str().to_owned();
    sig.push(".sig");
    let sig = Path::new(&sig);
    let clobber = Clobber::from_force(force);
    output::check_writable(sig, clobber)?;
    output::write_file(path, s.manifest_bytes.as_bytes(), clobber)?;
    output::write_file(sig, s.signature_pem.as_bytes(), clobber)?;
    let p = shown(&path.display().to_string());
    crate::say!(
        "Wrote the signed manifest to {p} and its signature to {p}.sig. Check them with:\n  ssh-keygen -Y verify -f allowed_signers -I SIGNER -n {} -s {p}.sig < {p}",
        signing::NAMESPACE
    );
    Ok(())
}
