//! What every store is to the rest of handoff: the [`Keychain`] trait, an [`Item`] as
//! listing sees it, and the checks every store runs before it writes (a valid name,
//! no clobbering).

use std::collections::HashMap;

use super::error::StoreError;
use super::kind::Kind;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

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

/// `text` (a hint) with `flag` (`--store NAME `, or empty) put into every handoff
/// command line it shows, so that the command acts on the store that was asked.
pub fn with_flag(text: &str, flag: &str) -> String {
    if flag.is_empty() {
        return text.to_string();
    }
    [
        "keychain ",
        "open ",
        "keygen ",
        "credential-process ",
        "create ",
    ]
    .iter()
    .fold(text.to_string(), |t, sub| {
        t.replace(&format!("handoff {sub}"), &format!("handoff {flag}{sub}"))
    })
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
        let e = StoreError::Taken(kind, name.into()).into();
        return Err(naming(e, &keychain.label(), &keychain.flag()));
    }
    Ok(())
}

/// `e` speaking of the store by its label ("pass has no credential named me", where
/// store errors say "the keychain …"), and every command its hint shows carrying
/// `flag`: pasted as printed, it acts on the store asked, not on the OS default.
pub fn naming(e: Error, label: &str, flag: &str) -> Error {
    let what = match e.what.strip_prefix("the keychain ") {
        Some(rest) => format!("{label} {rest}"),
        None => e.what,
    };
    let fix = e.fix.map(|f| with_flag(&f, flag));
    Error { what, fix, ..e }
}

/// Reads an age identity kept in the keychain.
pub fn identity(keychain: &dyn Keychain, name: &str) -> Result<age::x25519::Identity> {
    let secret = keychain.get(Kind::Identity, name)?;
    // handoff keygen's item is the key alone; one written by hand is taken too: its
    // AGE-SECRET-KEY-1 line (age-keygen's output piped to `pass insert -m` has comment
    // lines; pass's own convention puts `field: value` lines after the first). Two
    // such lines are refused, not the first taken. Parsed in place: no copy of the key
    // is made outside the zeroized item.
    let named = |e: StoreError| naming(e.into(), &keychain.label(), &keychain.flag());
    let text =
        std::str::from_utf8(&secret).map_err(|_| named(StoreError::NotAnIdentity(name.into())))?;
    let mut keys = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-1"));
    let (first, more) = (keys.next(), keys.count());
    if more > 0 {
        return Err(named(StoreError::SeveralIdentities(name.into(), more + 1)));
    }
    first
        .and_then(|line| line.parse::<age::x25519::Identity>().ok())
        .ok_or_else(|| named(StoreError::NotAnIdentity(name.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::ExitCode;
    use crate::secret::ExposeSecret;
    use crate::store::memory::MemKeychain;

    #[test]
    fn hints_carry_the_chosen_store_into_every_command() {
        let hint = "me is an identity: handoff keychain delete --identity me; or `handoff open b.age --keychain me --force`";
        assert_eq!(with_flag(hint, ""), hint);
        assert_eq!(
            with_flag(hint, "--store pass "),
            "me is an identity: handoff --store pass keychain delete --identity me; or `handoff --store pass open b.age --keychain me --force`"
        );
    }

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

    #[test]
    fn a_hand_written_identity_is_read_by_its_key_line() {
        let kc = MemKeychain::default();
        let id = age::x25519::Identity::generate();
        let key = id.to_string();
        let public = id.to_public().to_string();
        // age-keygen's output, and pass's "secret first, fields after" convention.
        let keygen = format!(
            "# created: 2026-12-05\n# public key: {public}\n{}\n",
            key.expose_secret()
        );
        let pass = format!("{}\nnote: my age key\n", key.expose_secret());
        for (name, item) in [("keygen", keygen), ("pass", pass)] {
            kc.put(Kind::Identity, name, item.as_bytes(), &[], false)
                .unwrap();
            assert_eq!(identity(&kc, name).unwrap().to_public().to_string(), public);
        }
    }

    #[test]
    fn an_identity_item_with_two_key_lines_is_refused_not_guessed() {
        // Review 2, finding 8: the first of two keys was taken silently.
        let kc = MemKeychain::default();
        let (a, b) = (
            age::x25519::Identity::generate().to_string(),
            age::x25519::Identity::generate().to_string(),
        );
        let two = format!("{}\n# another\n{}\n", a.expose_secret(), b.expose_secret());
        kc.put(Kind::Identity, "two", two.as_bytes(), &[], false)
            .unwrap();
        let e = identity(&kc, "two").err().unwrap();
        assert_eq!(e.code, ExitCode::Keychain);
        assert_eq!(
            e.what,
            "the keychain item two holds 2 age identities, not one"
        );
        assert!(
            e.fix
                .as_deref()
                .unwrap()
                .starts_with("keep one AGE-SECRET-KEY-1 line in it"),
            "{:?}",
            e.fix
        );
        let said = format!("{}\n{}", e.what, e.fix.as_deref().unwrap());
        assert!(!said.contains(&a.expose_secret()[16..]));
        assert!(!said.contains(&b.expose_secret()[16..]));
    }
}
