//! handoff hands a freshly minted AWS credential from the person who can mint it to the
//! person who will use it, sealed with age at birth. Bundles are standard age files.
//!
//! The binary is thin (`main.rs`); each subcommand lives in [`commands`]; secrets are
//! [`secret`] types; the payload format is [`bundle`].
#![deny(unsafe_code)]

pub mod access_key;
pub mod age_header;
pub mod alloc;
pub mod aws;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod console_csv;
pub mod credentials_file;
pub mod deliver;
pub mod error;
pub mod exit_hooks;
pub mod harden;
pub mod keychain;
pub mod memlock;
pub mod openpgp;
pub mod output;
pub mod prompt;
pub mod recipients;
pub mod sanitize;
pub mod seal;
pub mod secret;
pub mod signing;
pub mod ssh_keys;

use cli::{Cli, Command};
use error::Result;

/// Runs one command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Keygen(a) => commands::keygen::run(&a),
        Command::Create(a) => commands::create::run(&a),
        Command::Seal(a) => commands::seal::run(&a),
        Command::Open(a) => commands::open::run(&a),
        Command::Inspect(a) => commands::inspect::run(&a),
        Command::Revoke(a) => commands::revoke::run(&a),
        Command::CredentialProcess { name } => {
            commands::keychain::credential_process(&keychain::OsKeychain, &name)
        }
        Command::Keychain(c) => commands::keychain::run(&keychain::OsKeychain, &c),
        Command::Completions { shell } => commands::docs::completions(shell),
        Command::Man => commands::docs::man(),
    }
}
