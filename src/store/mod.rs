//! The OS keychain (Secret Service on Linux, tested; the macOS login Keychain behind
//! `cfg`, not built here; Windows not supported yet), behind the small [`Keychain`] trait. Credentials live
//! under service `handoff`, age identities under `handoff-identity`, each under the
//! name the user gives; non-secret facts (key id, user, account, expiry) are item
//! attributes, so listing never reads a secret.
//!
//! [`memory::MemKeychain`] is the in-memory store unit tests use.
//!
//! The zbus store has no call timeout of its own: every call runs on its own thread
//! and is abandoned after [`CALL_TIMEOUT`], so a stuck daemon is an error, not a hang.

pub mod error;
mod kind;
#[cfg(test)]
pub mod memory;

use std::collections::HashMap;
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretBytes, SecretString};
pub use error::StoreError;
pub use kind::{CALL_TIMEOUT, Kind};

/// An item's name and its non-secret attributes.
#[derive(Debug, Clone)]
pub struct Item {
    /// The name given by the user.
    pub name: String,
    /// What it holds.
    pub kind: Kind,
    /// Non-secret attributes (access-key-id, user-name, account-id, expires-at, recipient).
    pub attributes: HashMap<String, String>,
}

/// An OS keychain.
pub trait Keychain {
    /// Stores a secret under `name`; refuses to replace unless `replace`.
    fn put(
        &self,
        kind: Kind,
        name: &str,
        secret: &[u8],
        attributes: &[(&str, String)],
        replace: bool,
    ) -> Result<()>;
    /// Reads the secret stored under `name`.
    fn get(&self, kind: Kind, name: &str) -> Result<SecretBytes>;
    /// Whether an item exists.
    fn exists(&self, kind: Kind, name: &str) -> Result<bool>;
    /// Deletes an item; Ok(false) if there was none.
    fn delete(&self, kind: Kind, name: &str) -> Result<bool>;
    /// Lists every handoff item.
    fn list(&self) -> Result<Vec<Item>>;
}

/// A valid keychain name: what a profile name may be.
pub fn check_name(name: &str) -> Result<()> {
    if name.starts_with('-') {
        return Err(StoreError::NameLikeAnOption(name.into()).into());
    }
    if !crate::deliver::credentials_file::valid_profile_name(name) {
        return Err(StoreError::BadName(name.into()).into());
    }
    Ok(())
}

/// Refuses, unless `replace`, a name that is taken: the one check `create --keychain`,
/// `open --keychain` and every store run before writing.
pub fn refuse_existing(
    keychain: &dyn Keychain,
    kind: Kind,
    name: &str,
    replace: bool,
) -> Result<()> {
    if !replace && keychain.exists(kind, name)? {
        return Err(StoreError::Taken(kind, name.into()).into());
    }
    Ok(())
}

/// Reads an age identity kept in the keychain.
pub fn identity(keychain: &dyn Keychain, name: &str) -> Result<age::x25519::Identity> {
    let secret = keychain.get(Kind::Identity, name)?;
    let text = std::str::from_utf8(&secret)
        .ok()
        .map(|t| t.trim().to_string())
        .map(crate::secret::from_foreign);
    text.as_ref()
        .and_then(|t: &SecretString| t.expose_secret().parse::<age::x25519::Identity>().ok())
        .ok_or_else(|| StoreError::NotAnIdentity(name.into()).into())
}

fn keychain_error(e: keyring_core::Error) -> Error {
    error::from_keyring(e).into()
}

/// Runs `f` on its own thread; gives up after [`CALL_TIMEOUT`].
fn with_timeout<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keychain".into())
        .spawn(move || {
            let result = f();
            // The store decrypts the secret in this thread's stack frames (the Secret
            // Service session cipher), which no allocator wipes: overwrite them.
            crate::exit_hooks::scrub_stack();
            let _ = tx.send(result);
        })
        .map_err(|e| StoreError::NoThread(e.to_string()))?;
    rx.recv_timeout(CALL_TIMEOUT)
        .unwrap_or_else(|_| Err(StoreError::Timeout(what).into()))
}

/// The platform keychain.
pub struct OsKeychain;

#[cfg(target_os = "linux")]
fn entry(kind: Kind, name: &str) -> Result<keyring_core::Entry> {
    if keyring_core::get_default_store().is_none() {
        let store = zbus_secret_service_keyring_store::Store::new().map_err(keychain_error)?;
        keyring_core::set_default_store(store);
    }
    keyring_core::Entry::new(kind.service(), name).map_err(keychain_error)
}

#[cfg(target_os = "macos")]
fn entry(kind: Kind, name: &str) -> Result<keyring_core::Entry> {
    if keyring_core::get_default_store().is_none() {
        let store = apple_native_keyring_store::keychain::Store::new().map_err(keychain_error)?;
        keyring_core::set_default_store(store);
    }
    keyring_core::Entry::new(kind.service(), name).map_err(keychain_error)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn entry(_kind: Kind, _name: &str) -> Result<keyring_core::Entry> {
    Err(StoreError::Unsupported.into())
}

impl Keychain for OsKeychain {
    fn put(
        &self,
        kind: Kind,
        name: &str,
        secret: &[u8],
        attributes: &[(&str, String)],
        replace: bool,
    ) -> Result<()> {
        check_name(name)?;
        refuse_existing(self, kind, name, replace)?;
        let (name, secret) = (name.to_string(), SecretBytes::new(secret.to_vec()));
        let attributes: Vec<(String, String)> = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        with_timeout("storing", move || {
            let e = entry(kind, &name)?;
            e.set_secret(&secret).map_err(keychain_error)?;
            let attrs: HashMap<&str, &str> = attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if !attrs.is_empty() {
                e.update_attributes(&attrs).map_err(keychain_error)?;
            }
            Ok(())
        })
    }

    fn get(&self, kind: Kind, name: &str) -> Result<SecretBytes> {
        check_name(name)?;
        let owned = name.to_string();
        let secret = with_timeout("reading", move || match entry(kind, &owned)?.get_secret() {
            // The boundary: the store's Vec becomes our wiped type here.
            Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        })?;
        secret.ok_or_else(|| StoreError::Missing(kind, name.into()).into())
    }

    fn exists(&self, kind: Kind, name: &str) -> Result<bool> {
        let owned = name.to_string();
        with_timeout("looking up", move || {
            match entry(kind, &owned)?.get_attributes() {
                Ok(_) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(keychain_error(e)),
            }
        })
    }

    fn delete(&self, kind: Kind, name: &str) -> Result<bool> {
        check_name(name)?;
        let owned = name.to_string();
        with_timeout("deleting", move || {
            match entry(kind, &owned)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(keychain_error(e)),
            }
        })
    }

    fn list(&self) -> Result<Vec<Item>> {
        with_timeout("listing", move || {
            entry(Kind::Credential, "probe")?;
            let mut items = Vec::new();
            for kind in [Kind::Credential, Kind::Identity] {
                let spec = HashMap::from([("service", kind.service())]);
                for e in keyring_core::Entry::search(&spec).map_err(keychain_error)? {
                    let mut attributes = e.get_attributes().map_err(keychain_error)?;
                    let name = attributes
                        .remove("username")
                        .or_else(|| e.get_specifiers().map(|(_, u)| u))
                        .unwrap_or_default();
                    attributes
                        .retain(|k, _| !matches!(k.as_str(), "service" | "target" | "xdg:schema"));
                    items.push(Item {
                        name,
                        kind,
                        attributes,
                    });
                }
            }
            items.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(items)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;
    use memory::MemKeychain;

    #[test]
    fn identities_round_trip_and_junk_is_refused() {
        let kc = MemKeychain::default();
        let id = age::x25519::Identity::generate();
        kc.put(
            Kind::Identity,
            "me",
            id.to_string().expose_secret().as_bytes(),
            &[],
            false,
        )
        .unwrap();
        assert_eq!(
            identity(&kc, "me").unwrap().to_public().to_string(),
            id.to_public().to_string()
        );
        kc.put(Kind::Identity, "junk", b"not a key", &[], false)
            .unwrap();
        let e = identity(&kc, "junk").err().unwrap();
        assert_eq!(e.code, ExitCode::Keychain);
        assert!(!e.what.contains("not a key"));
    }
}
