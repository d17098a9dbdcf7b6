//! One module per subcommand; each orders its side effects in one place. This file
//! holds what several commands share: recipients → sealer, and writing a bundle.

pub mod create;
pub mod docs;
pub mod inspect;
pub mod keychain;
pub mod keygen;
pub mod open;
pub mod receipt;
pub mod revoke;
pub mod rotate;
pub mod seal;
pub mod signed;

use std::path::Path;

use crate::cli::{BundleOutputFlags, RecipientFlags};
use crate::error::{Error, Result};
use crate::output::{self, Clobber};
use crate::recipients::{self, RecipientArgs};
use crate::seal::Sealer;

/// How a bundle is made: encrypted to recipients (or a passphrase), and optionally
/// signed ([`crate::signing`]) for exactly those recipients.
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
                let envelope =
                    crate::signing::sign(payload, recipients, key, jiff::Timestamp::now())?;
                crate::seal::seal(&envelope, self.sealer, armor)
            }
            None => crate::seal::seal(payload, self.sealer, armor),
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
                vec![crate::signing::PASSPHRASE.to_string()]
            } else {
                let all: Vec<String> = [&flags.to, &flags.recipient, &flags.recipients_file]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                crate::ssh_keys::canonical_recipients(&all)?
            };
            Some((crate::ssh_keys::signing_key(path)?, recipients))
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
                .is_ok_and(|b| crate::openpgp::is_public_key(&b))
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
            .map(|f| crate::openpgp::read_public_key(Path::new(f)))
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

/// The sender's own input (a flag) broke a payload rule: name the flag and the limit,
/// not "the bundle's payload is malformed".
pub fn sender_input(e: crate::bundle::FieldError) -> Error {
    let flag = match e.field {
        "account_id" => "--account-id",
        "user_name" => "--user",
        "note" => "--note",
        other => other,
    };
    Error::input(format!("{flag} {}", e.rule)).fix(format!("change {flag} and run again"))
}

/// Checks `--note` before anything is changed anywhere.
pub fn check_note(note: Option<&str>) -> Result<()> {
    if let Some(n) = note
        && n.chars().count() > crate::bundle::MAX_NOTE_CHARS
    {
        return Err(Error::input(format!(
            "--note is {} characters; the limit is {}",
            n.chars().count(),
            crate::bundle::MAX_NOTE_CHARS
        ))
        .fix("shorten the note"));
    }
    Ok(())
}

/// The bundle's file, or `None` for standard output (no `-o`, or `-o -` as in age).
pub fn bundle_file(out: &BundleOutputFlags) -> Option<&Path> {
    out.output.as_deref().filter(|p| p.as_os_str() != "-")
}

/// Checks that the bundle can be written where asked. Run before any side effect.
pub fn check_bundle_output(out: &BundleOutputFlags) -> Result<()> {
    match bundle_file(out) {
        Some(path) => output::check_writable(path, Clobber::from_force(out.force)),
        None if !out.armor && output::stdout_is_terminal() => Err(Error::output(
            "refusing to print a binary bundle to the terminal",
        )
        .fix("pass -o FILE, or -a for an armored (text) bundle")),
        None => output::check_stdout_keeps("bundle"),
    }
}

/// Writes the (non-secret) bundle to the file or stdout.
pub fn write_bundle(out: &BundleOutputFlags, bundle: &[u8]) -> Result<()> {
    match bundle_file(out) {
        Some(path) => output::write_file(path, bundle, Clobber::from_force(out.force)),
        None => output::write_stdout_bundle(bundle),
    }
}

/// Reads a bundle from a path or stdin ("-"), capped.
pub fn read_bundle(arg: &str) -> Result<Vec<u8>> {
    if arg == "-" {
        use std::io::Read;
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(crate::seal::MAX_BUNDLE_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| {
                Error::input(format!("cannot read the bundle from standard input: {e}"))
                    .fix("pipe the .age file in")
            })?;
        if buf.len() as u64 > crate::seal::MAX_BUNDLE_BYTES {
            return Err(
                Error::input("the bundle on standard input is larger than 1 MiB")
                    .fix("this is not a handoff bundle"),
            );
        }
        return Ok(crate::seal::normalize_armor(&buf).into_owned());
    }
    let buf = output::read_capped(Path::new(arg), crate::seal::MAX_BUNDLE_BYTES, "bundle")?;
    let buf = crate::seal::normalize_armor(&buf).into_owned();
    if buf.is_empty() {
        return Err(
            Error::decrypt(format!("bundle {} is empty", crate::error::shown(arg)))
                .fix("pass the .age file the sender gave you"),
        );
    }
    Ok(buf)
}
