//! handoff hands a freshly minted AWS credential from the person who can mint it to the
//! person who will use it, sealed with age at birth. Bundles are standard age files.
//!
//! The binary is thin (`main.rs`); each subcommand lives in [`commands`]; secrets are
//! [`secret`] types; the payload format is [`bundle`].
#![deny(unsafe_code)]

pub mod access_key;
pub mod alloc;
pub mod atomic_file;
pub mod aws;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod console_csv;
pub mod deliver;
pub mod error;
pub mod exit_hooks;
pub mod file_lock;
pub mod harden;
pub mod interrupt;
pub mod memlock;
pub mod mint;
pub mod os;
pub mod output;
pub mod preflight;
pub mod progress;
pub mod prompt;
pub mod receipt;
pub mod rotation;
pub mod sanitize;
pub mod sealing;
pub mod secret;
pub mod stderr;
pub mod store;
pub mod tripwire;

use cli::{Cli, Command};
use error::Result;

/// Runs one command line.
pub fn run(cli: Cli) -> Result<()> {
    let keychain = store::Chosen(store::Choice::from_flag(cli.store));
    match cli.command {
        Command::Keygen(a) => commands::keygen::run(&a, &keychain),
        Command::Create(a) => commands::create::run(&a, &keychain),
        Command::Seal(a) => commands::seal::run(&a),
        Command::Open(a) => commands::open::run(&a, &keychain),
        Command::Inspect(a) => commands::inspect::run(&a),
        Command::Revoke(a) => commands::revoke::run(&a),
        Command::Recover(a) => commands::recover::run(&a, &keychain),
        Command::CredentialProcess { name } => commands::credential_process::run(&keychain, &name),
        Command::Keychain(c) => commands::keychain::run(&keychain, &c),
        Command::Completions { shell } => commands::completions::run(shell),
        Command::Man { dir } => commands::man::run(dir.as_deref()),
    }
}
