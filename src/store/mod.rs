//! The keychain: the store the user chose with `--store` (or `HANDOFF_STORE`, or the
//! OS default), behind the small [`Keychain`] trait. The keyring-rs family's stores
//! ([`native`]: Secret Service, the kernel keyring, macOS, Windows) and `pass`
//! ([`pass`]) each implement it; [`Chosen`] picks one per command line.
//!
//! Credentials live under service `handoff`, age identities under `handoff-identity`,
//! each under the name the user gives; non-secret facts (key id, user, account,
//! expiry) are kept beside the secret, so listing never reads a secret.
//!
//! [`memory::MemKeychain`] is the in-memory store unit tests use.

mod chosen;
pub mod error;
mod keychain;
#[cfg(target_os = "linux")]
mod keyutils;
mod kind;
#[cfg(test)]
pub mod memory;
mod name;
mod native;
mod pass;

pub use chosen::{Chosen, reachable};
pub use error::StoreError;
pub use keychain::{Item, Keychain, check_name, identity, naming, refuse_existing};
pub use kind::{CALL_TIMEOUT, Kind};
pub use name::{Choice, StoreName};
