//! What the kernel keyring store crate does not do: list. handoff's keys are `user`
//! keys described `SERVICE:NAME`; listing walks the session keyring and the keyrings
//! linked into it (the persistent keyring among them) and reads descriptions only.
//!
//! What survives what: a key lives in the session keyring and, where the kernel has
//! persistent keyrings, in the user's persistent keyring too. Logging out ends the
//! session keyring; the persistent one outlives it for
//! `/proc/sys/kernel/keys/persistent_keyring_expiry` seconds (3 days by default,
//! restarted by each use) and is linked into the next session. A reboot clears both.

use linux_keyutils::{KeyRing, KeyRingIdentifier, KeyType};

use super::error::StoreError;
use super::name::StoreName;
use crate::error::Result;

/// The kernel's limit on keyring nesting.
const MAX_DEPTH: usize = 6;
/// Links read per keyring.
const MAX_LINKS: usize = 4096;

/// The names of handoff's keys under `service`.
pub fn names(service: &str) -> Result<Vec<String>> {
    let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
        .map_err(|e| StoreError::Unreachable(StoreName::Keyutils, e.to_string()))?;
    // The store crate links the persistent keyring into the session when it makes an
    // entry; do the same, so a fresh session lists what an earlier one stored.
    let _ = KeyRing::get_persistent(KeyRingIdentifier::Session);
    let prefix = format!("{service}:");
    let (mut names, mut seen, mut rings) = (Vec::new(), Vec::new(), vec![(session, 0)]);
    while let Some((ring, depth)) = rings.pop() {
        let Ok(links) = ring.get_links(MAX_LINKS) else {
            continue;
        };
        for link in links.iter() {
            if let Some(inner) = link.as_ring() {
                if depth < MAX_DEPTH && !seen.contains(&inner) {
                    seen.push(inner);
                    rings.push((inner, depth + 1));
                }
            } else if let Some(key) = link.as_key()
                && let Ok(meta) = key.metadata()
                && meta.get_type() == KeyType::User
                && let Some(name) = meta.get_description().strip_prefix(&prefix)
                // Only names handoff could have written: a planted `handoff:-rf` or
                // `handoff:` is no item of handoff's, and no command could take it.
                && super::keychain::check_name(name).is_ok()
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_string());
            }
        }
    }
    Ok(names)
}

/// Whether this process can use a kernel keyring (seccomp in containers often
/// refuses `keyctl`).
pub fn reachable() -> bool {
    KeyRing::from_special_id(KeyRingIdentifier::Session, false).is_ok()
}
