//! What every store is to the rest of handoff: the [`Keychain`] trait, an [`Item`] as
//! listing sees it, and the checks every store runs before it writes (a valid name,
//! no clobbering).

use std::collections::HashMap;

use super::error::StoreError;
use super::kind::Kind;
use crate::error::Result;
use crate::secret::{ExposeSecret, SecretBytes, SecretString};

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
    /// `--store NAME ` when the store was chosen, for command lines handoff prints
    /// (`credential_process = handoff --store NAME credential-process …`).
    fn flag(&self) -> String {
        String::new()
    }
    /// The store, in words: "the kernel keyring (keyutils)".
    fn label(&self) -> String {
        "the keychain".into()
    }
}

/// A valid keychain name: what a profile name may be.
pub fn check_name(name: &str) -> Result<()> {
    if name.starts_with('-') {
        return Err(StoreError::NameLikeAnOption(name.into()).into());
    }
    // `.` and `..` are paths to pass and hidden files to ls: no store takes them.
    if !crate::deliver::credentials_file::valid_profile_name(name) || name.chars().all(|c| c == '.')
    {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;
    use crate::store::memory::MemKeychain;

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
