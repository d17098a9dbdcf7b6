//! The stores of the keyring-rs family: Secret Service (zbus), the Linux kernel
//! keyring (keyutils), the macOS login Keychain and the Windows Credential Manager,
//! each through its keyring-core store crate, behind [`Keychain`].
//!
//! Only the Secret Service keeps arbitrary attributes beside a secret. For the others
//! the non-secret facts go into a companion item (service `handoff-meta`), so that
//! `keychain list` reads names from the store's own listing and facts from the
//! companions, never a secret.
//!
//! None of these crates has a call timeout: every call runs on its own thread and is
//! abandoned after [`CALL_TIMEOUT`], so a stuck daemon is an error, not a hang.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};

use keyring_core::{CredentialStore, Entry};

use super::error::StoreError;
use super::keychain::{Item, Keychain, check_name, refuse_existing};
use super::kind::{CALL_TIMEOUT, Kind};
use super::name::StoreName;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// A keyring-rs store, chosen by name.
pub struct Native(pub StoreName);

impl Native {
    /// Maps a store error of the item `name` (named in a refusal: the store's own
    /// message does not say which key it refused).
    fn err(&self, name: &str) -> impl Fn(keyring_core::Error) -> Error + use<> {
        // Only the Linux kernel keyring refuses one key by name.
        #[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
        let (which, name) = (self.0, name.to_string());
        move |e| match super::error::from_keyring(which, e) {
            // The kernel keyring answers, yet refused: one key of that name is not the
            // user's to use (its permissions), not a keyring that cannot be reached.
            #[cfg(target_os = "linux")]
            StoreError::Unreachable(StoreName::Keyutils, why) if super::keyutils::reachable() => {
                StoreError::KeyRefused(name.clone(), why).into()
            }
            other => other.into(),
        }
    }
}

/// Runs `f` on its own thread; gives up after [`CALL_TIMEOUT`].
fn with_timeout<T: Send + 'static>(
    which: StoreName,
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
        .unwrap_or_else(|_| Err(StoreError::Timeout(which, what).into()))
}

/// The store crate's store for `which`, made once per process.
fn backend(which: StoreName) -> Result<Arc<CredentialStore>> {
    static MADE: Mutex<Vec<(StoreName, Arc<CredentialStore>)>> = Mutex::new(Vec::new());
    let mut made = MADE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, s)) = made.iter().find(|(n, _)| *n == which) {
        return Ok(s.clone());
    }
    let store = make(which).map_err(|e| super::error::from_keyring(which, e))?;
    made.push((which, store.clone()));
    Ok(store)
}

fn make(which: StoreName) -> keyring_core::Result<Arc<CredentialStore>> {
    match which {
        #[cfg(target_os = "linux")]
        StoreName::SecretService => {
            Ok(zbus_secret_service_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        #[cfg(target_os = "linux")]
        StoreName::Keyutils => {
            Ok(linux_keyutils_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        #[cfg(target_os = "macos")]
        StoreName::Macos => {
            Ok(apple_native_keyring_store::keychain::Store::new()? as Arc<CredentialStore>)
        }
        #[cfg(windows)]
        StoreName::Windows => {
            Ok(windows_native_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        _ => Err(keyring_core::Error::NotSupportedByStore(which.to_string())),
    }
}

/// Deletes `service`/`name` until the store finds none (Ok(false) when there was none):
/// a kernel keyring can hold a second key of that description in a keyring nested in
/// the session's, which a search finds once the first is gone, so one delete could
/// say "Deleted" while the secret is still served. Bounded: a store that keeps
/// answering is an error, not a loop.
fn delete_every(
    which: StoreName,
    service: &str,
    name: &str,
    err: &impl Fn(keyring_core::Error) -> Error,
) -> Result<bool> {
    let mut deleted = false;
    for _ in 0..32 {
        match entry(which, service, name)?.delete_credential() {
            Ok(()) => deleted = true,
            Err(keyring_core::Error::NoEntry) => return Ok(deleted),
            Err(e) => return Err(err(e)),
        }
    }
    Err(err(keyring_core::Error::Ambiguous(Vec::new())))
}

/// Whether the store keeps handoff's attributes on the item itself.
fn keeps_attributes(which: StoreName) -> bool {
    which == StoreName::SecretService
}

/// The entry for `service`/`name`. The kernel keyring names a key by one description:
/// handoff's is `SERVICE:NAME` (`keyctl show` prints it), which cannot collide, as a
/// valid name has no `:`.
fn entry(which: StoreName, service: &str, name: &str) -> Result<Entry> {
    if !which.built_here() {
        return Err(StoreError::NotOnThisOs(which).into());
    }
    let store = backend(which)?;
    let description = format!("{service}:{name}");
    let modifiers = HashMap::from([("description", description.as_str())]);
    let modifiers = (which == StoreName::Keyutils).then_some(&modifiers);
    store
        .build(service, name, modifiers)
        .map_err(|e| super::error::from_keyring(which, e).into())
}

/// Whether an entry is there, without reading its secret.
fn present(e: &Entry) -> keyring_core::Result<bool> {
    match e.get_credential() {
        Ok(_) => Ok(true),
        Err(keyring_core::Error::NoEntry) => Ok(false),
        Err(e) => Err(e),
    }
}

impl Keychain for Native {
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
        let (which, err) = (self.0, self.err(name));
        let (name, secret) = (name.to_string(), SecretBytes::new(secret.to_vec()));
        let attributes: Vec<(String, String)> = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        with_timeout(which, "storing", move || {
            let e = entry(which, kind.service(), &name)?;
            let attrs: HashMap<&str, &str> = attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if keeps_attributes(which) {
                e.set_secret(&secret).map_err(&err)?;
                if !attrs.is_empty() {
                    e.update_attributes(&attrs).map_err(&err)?;
                }
                return Ok(());
            }
            // The companion first (facts only, never the secret): its failure leaves no
            // secret behind, and a failure of the secret's write removes it again.
            let facts =
                serde_json::to_vec(&attrs).map_err(|e| StoreError::Failed(which, e.to_string()))?;
            let meta = entry(which, kind.meta_service(), &name)?;
            meta.set_secret(&facts).map_err(&err)?;
            e.set_secret(&secret).map_err(&err).inspect_err(|_| {
                let _ = meta.delete_credential();
            })
        })
    }

    fn get(&self, kind: Kind, name: &str) -> Result<SecretBytes> {
        check_name(name)?;
        let (which, err) = (self.0, self.err(name));
        let owned = name.to_string();
        let secret = with_timeout(which, "reading", move || {
            match entry(which, kind.service(), &owned)?.get_secret() {
                // The boundary: the store's Vec becomes our wiped type here.
                Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(err(e)),
            }
        })?;
        secret.ok_or_else(|| StoreError::Missing(kind, name.into()).into())
    }

    fn exists(&self, kind: Kind, name: &str) -> Result<bool> {
        let (which, err) = (self.0, self.err(name));
        let owned = name.to_string();
        with_timeout(which, "looking up", move || {
            present(&entry(which, kind.service(), &owned)?).map_err(err)
        })
    }

    fn delete(&self, kind: Kind, name: &str) -> Result<bool> {
        check_name(name)?;
        let (which, err) = (self.0, self.err(name));
        let owned = name.to_string();
        with_timeout(which, "deleting", move || {
            if !keeps_attributes(which) {
                delete_every(which, kind.meta_service(), &owned, &err)?;
            }
            delete_every(which, kind.service(), &owned, &err)
        })
    }

    fn list(&self) -> Result<Vec<Item>> {
        let which = self.0;
        with_timeout(which, "listing", move || {
            let mut items = Vec::new();
            for kind in [Kind::Credential, Kind::Identity] {
                for (name, attributes) in listing(which, kind)? {
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

type Listed = Vec<(String, HashMap<String, String>)>;

/// The names of `kind` in the store's own listing, with their facts.
fn listing(which: StoreName, kind: Kind) -> Result<Listed> {
    let err = |e| -> Error { super::error::from_keyring(which, e).into() };
    if which == StoreName::SecretService {
        let store = backend(which)?;
        let spec = HashMap::from([("service", kind.service())]);
        let mut out = Vec::new();
        for e in store.search(&spec).map_err(err)? {
            let mut attributes = e.get_attributes().map_err(err)?;
            let name = attributes
                .remove("username")
                .or_else(|| e.get_specifiers().map(|(_, u)| u))
                .unwrap_or_default();
            attributes.retain(|k, _| !matches!(k.as_str(), "service" | "target" | "xdg:schema"));
            out.push((name, attributes));
        }
        return Ok(out);
    }
    let names = names(which, kind.service())?;
    let mut out = Vec::new();
    for name in names {
        // The companion holds facts only; a missing or damaged one lists no facts.
        let facts = entry(which, kind.meta_service(), &name)?
            .get_secret()
            .ok()
            .and_then(|b| serde_json::from_slice::<HashMap<String, String>>(&b).ok())
            .unwrap_or_default();
        out.push((name, facts));
    }
    Ok(out)
}

/// The names under `service`, from the store's listing of its items.
fn names(which: StoreName, service: &str) -> Result<Vec<String>> {
    let err = |e| -> Error { super::error::from_keyring(which, e).into() };
    let spec: HashMap<&str, String> = match which {
        #[cfg(target_os = "linux")]
        StoreName::Keyutils => return super::keyutils::names(service),
        // Credential Manager targets are `NAME.SERVICE`.
        StoreName::Windows => HashMap::from([("pattern", format!(r"\.{service}$"))]),
        _ => HashMap::from([("service", service.to_string())]),
    };
    let spec: HashMap<&str, &str> = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(backend(which)?
        .search(&spec)
        .map_err(err)?
        .iter()
        .filter_map(Entry::get_specifiers)
        .filter(|(s, _)| s == service)
        .map(|(_, name)| name)
        .collect())
}
