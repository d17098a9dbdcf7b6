//! `handoff keygen [-o FILE]`: a new age X25519 identity in age-keygen's file format,
//! written 0600 and never over an existing file; the recipient goes to stdout. Without
//! `-o` the identity goes to stdout, but never to a terminal. Every target is checked
//! ([`resolve`]) before the key is made ([`execute`]).

use std::path::PathBuf;

use age::secrecy::ExposeSecret;

use crate::cli::KeygenArgs;
use crate::error::{Error, Result};
use crate::output::{self, Clobber, Stdout};
use crate::secret::SecretBytes;
use crate::store::{Keychain, Kind};

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

/// Where the new identity goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The OS keychain, under a name (`--keychain`).
    Keychain(String),
    /// A new file, 0600 (`-o FILE`); never replaces one.
    File(PathBuf),
    /// Standard output (no `-o`, or `-o -` as in age-keygen): a pipe or a file.
    Stdout,
}

/// Runs `keygen`.
pub fn run(args: &KeygenArgs, keychain: &dyn crate::store::Keychain) -> Result<()> {
    execute(&resolve(args, keychain)?, keychain)
}

/// Checks the target before a key is made: a free keychain name, a path that does not
/// exist, or a standard output that is not a terminal.
pub fn resolve(args: &KeygenArgs, keychain: &dyn Keychain) -> Result<Target> {
    if let Some(name) = &args.keychain {
        crate::store::check_name(name)?;
        crate::store::refuse_existing(keychain, Kind::Identity, name, false)?;
        return Ok(Target::Keychain(name.clone()));
    }
    if let Some(path) = args.output.as_deref().filter(|p| p.as_os_str() != "-") {
        output::check_writable(path, Clobber::Never)?;
        return Ok(Target::File(path.to_path_buf()));
    }
    match output::stdout_kind() {
        Stdout::Terminal => Err(Error::output(
            "refusing to print a secret identity to the terminal",
        )
        .fix("pass -o FILE (or redirect: handoff keygen > key.txt)")),
        Stdout::Null => {
            output::check_stdout_keeps("new identity", true)?;
            Ok(Target::Stdout)
        }
        _ => Ok(Target::Stdout),
    }
}

/// Makes the identity, writes it, and prints its recipient (on stderr when the
/// identity itself goes to standard output).
pub fn execute(target: &Target, keychain: &dyn Keychain) -> Result<()> {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    match target {
        Target::Keychain(name) => {
            let secret = identity.to_string();
            keychain.put(
                Kind::Identity,
                name,
                secret.expose_secret().as_bytes(),
                &[("recipient", recipient.clone())],
                false,
            )?;
            crate::say!(
                "Stored the identity in {} as {name}; open bundles with: handoff {}open BUNDLE --identity-keychain {name}",
                keychain.label(),
                keychain.flag()
            );
            output::write_stdout(format!("{recipient}\n").as_bytes())
        }
        Target::File(path) => {
            output::write_file(path, &identity_file(&identity), Clobber::Never)?;
            output::write_stdout(format!("{recipient}\n").as_bytes())
        }
        Target::Stdout => {
            // As age-keygen does: the file was opened by the shell, with its umask.
            if let Stdout::File(mode) = output::stdout_kind()
                && mode & 0o077 != 0
            {
                crate::say!(
                    "warning: writing the secret identity to a file that others can read (mode {:04o}); run chmod 600 on it, or use -o FILE (created 0600)",
                    mode & 0o777
                );
            }
            output::write_stdout_secret(&identity_file(&identity))?;
            crate::say!("Public key: {recipient}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemKeychain;

    #[test]
    fn a_taken_keychain_name_is_refused_before_a_key_is_made() {
        let kc = MemKeychain::default();
        let args = KeygenArgs {
            output: None,
            keychain: Some("me".into()),
        };
        let target = resolve(&args, &kc).unwrap();
        execute(&target, &kc).unwrap_or_else(|e| panic!("{e}"));
        let e = resolve(&args, &kc).unwrap_err();
        assert_eq!(e.what, "the keychain already has an identity named me");
        assert!(crate::store::identity(&kc, "me").is_ok());
    }
}
