//! `handoff keygen [-o FILE]`: a new age X25519 identity in age-keygen's file format,
//! written 0600 and never over an existing file; the recipient goes to stdout. Without
//! `-o` the identity goes to stdout, but never to a terminal.

use age::secrecy::ExposeSecret;

use crate::cli::KeygenArgs;
use crate::error::{Error, Result};
use crate::output::{self, Clobber, Stdout};
use crate::secret::SecretBytes;

/// The identity file, as age-keygen writes it.
pub fn identity_file(identity: &age::x25519::Identity) -> SecretBytes {
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let mut out = crate::secret::buffer(256);
    out.extend_from_slice(
        format!("# created: {now}\n# public key: {}\n", identity.to_public()).as_bytes(),
    );
    out.extend_from_slice(identity.to_string().expose_secret().as_bytes());
    out.push(b'\n');
    out
}

/// Runs `keygen`.
pub fn run(args: &KeygenArgs) -> Result<()> {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    if let Some(name) = &args.keychain {
        let kc = crate::store::OsKeychain;
        let secret = identity.to_string();
        crate::store::Keychain::put(
            &kc,
            crate::store::Kind::Identity,
            name,
            secret.expose_secret().as_bytes(),
            &[("recipient", recipient.clone())],
            false,
        )?;
        eprintln!(
            "Stored the identity in the OS keychain as {name}; open bundles with --identity-keychain {name}."
        );
        return output::write_stdout(format!("{recipient}\n").as_bytes());
    }
    // `-o -` is standard output, as in age-keygen.
    match args.output.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            output::write_file(path, &identity_file(&identity), Clobber::Refuse)?;
            output::write_stdout(format!("{recipient}\n").as_bytes())
        }
        None => {
            match output::stdout_kind() {
                Stdout::Terminal => {
                    return Err(Error::output(
                        "refusing to print a secret identity to the terminal",
                    )
                    .fix("pass -o FILE (or redirect: handoff keygen > key.txt)"));
                }
                Stdout::Null => output::check_stdout_keeps("new identity")?,
                // As age-keygen does: the file was opened by the shell, with its umask.
                Stdout::File(mode) if mode & 0o077 != 0 => eprintln!(
                    "warning: writing the secret identity to a file that others can read (mode {:04o}); run chmod 600 on it, or use -o FILE (created 0600)",
                    mode & 0o777
                ),
                _ => {}
            }
            output::write_stdout_secret(&identity_file(&identity))?;
            eprintln!("Public key: {recipient}");
            Ok(())
        }
    }
}
