//! Everything that makes or opens a bundle's envelope: recipients and identities
//! ([`recipients`], [`ssh_keys`], [`openpgp`]), the age file itself ([`age_file`],
//! [`age_header`]), the optional SSHSIG signature ([`signing`], [`signer_policy`]) and
//! reading and writing bundle files ([`bundle_io`]). It knows nothing of AWS; the
//! payload inside is [`crate::bundle`]'s.

pub mod age_file;
pub mod age_header;
pub mod bundle_io;
pub mod openpgp;
pub mod recipients;
pub mod signer_policy;
pub mod signing;
pub mod ssh_keys;

use std::path::Path;

use crate::cli::RecipientFlags;
use crate::error::{Error, Result};
use crate::output;
use age_file::Sealer;
use recipients::RecipientArgs;

/// How a bundle is made: encrypted to recipients (or a passphrase), and optionally
/// signed ([`crate::sealing::signing`]) for exactly those recipients.
pub struct Sealing {
    /// Who can open it.
    pub sealer: Sealer,
    /// The signing key and the recipient list it signs.
    pub signer: Option<(ssh_key::PrivateKey, Vec<String>)>,
}

impl Sealing {
    /// Seals (and signs) a payload into a complete age file.
    pub fn seal(self, payload: &[u8], armor: bool) -> Result<Vec<u8>> {
        match &self.signer {
            Some((key, recipients)) => {
                let envelope = signing::sign(payload, recipients, key, jiff::Timestamp::now())?;
                age_file::seal(&envelope, self.sealer, armor)
            }
            None => age_file::seal(payload, self.sealer, armor),
        }
    }
}

/// Parses the recipients (or asks for the passphrase) and loads the signing key
/// (asking for its passphrase). Run before any side effect.
pub fn sealing_from(flags: &RecipientFlags, sign_with: Option<&Path>) -> Result<Sealing> {
    let sealer = sealer_from(flags)?;
    let signer = match sign_with {
        None => None,
        Some(path) => {
            let recipients = if flags.passphrase {
                vec![signing::PASSPHRASE.to_string()]
            } else {
                let all: Vec<String> = [&flags.to, &flags.recipient, &flags.recipients_file]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                ssh_keys::canonical_recipients(&all)?
            };
            Some((ssh_keys::signing_key(path)?, recipients))
        }
    };
    Ok(Sealing { sealer, signer })
}

fn sealer_from(flags: &RecipientFlags) -> Result<Sealer> {
    if flags.passphrase {
        return Ok(Sealer::Passphrase(crate::prompt::hidden_confirmed(
            "passphrase",
        )?));
    }
    // OpenPGP public key files go to OpenPGP; everything else to age.
    let is_pgp = |v: &String| {
        v != "-"
            && Path::new(v).is_file()
            && output::read_capped(Path::new(v), 1 << 20, "recipients file")
                .is_ok_and(|b| openpgp::is_public_key(&b))
    };
    let (pgp_to, to): (Vec<String>, Vec<String>) = flags.to.iter().cloned().partition(is_pgp);
    let (pgp_files, files): (Vec<String>, Vec<String>) =
        flags.recipients_file.iter().cloned().partition(is_pgp);
    let args = RecipientArgs {
        to,
        strings: flags.recipient.clone(),
        files,
    };
    if !pgp_to.is_empty() || !pgp_files.is_empty() {
        if !args.is_empty() {
            return Err(Error::input(
                "OpenPGP keys and age/SSH recipients cannot share one bundle: it is either an OpenPGP message or an age file",
            )
            .fix("seal one bundle for the OpenPGP keys and another for the age/SSH recipients"));
        }
        let keys = pgp_to
            .iter()
            .chain(&pgp_files)
            .map(|f| openpgp::read_public_key(Path::new(f)))
            .collect::<Result<Vec<_>>>()?;
        return Ok(Sealer::OpenPgp(keys));
    }
    if args.is_empty() {
        return Err(Error::new(
            crate::error::ExitCode::Usage,
            "no recipient: nobody could open the bundle",
        )
        .fix("pass --to with the recipient's age1… key or SSH public key, or --passphrase"));
    }
    Ok(Sealer::Recipients(recipients::parse(&args)?))
}
