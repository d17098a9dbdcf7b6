//! Every way the keychain can fail, as one enum: the message is its `Display`, and
//! [`From<StoreError> for Error`](crate::error::Error) gives each its exit code and
//! hint, in this one place. Names from the user and the store's own messages are
//! escaped ([`shown`]); the variants of the store's errors that carry the secret's
//! bytes are never printed.

use super::kind::{CALL_TIMEOUT, Kind};
use super::name::StoreName;
use crate::error::{Error, ExitCode, shown};

/// A keychain failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A name starting with `-` would read as an option in the printed
    /// `credential_process = handoff credential-process NAME` line.
    #[error("{} is not a usable keychain name: it starts with '-', so it would read as an option", shown(.0))]
    NameLikeAnOption(String),
    /// Not what a profile name may be.
    #[error("{} is not a usable keychain name", shown(.0))]
    BadName(String),
    /// The name is taken and replacing was not asked for.
    #[error("the keychain already has {} named {}", .0.with_article(), shown(.1))]
    Taken(Kind, String),
    /// Nothing of that kind and name.
    #[error("the keychain has no {} named {}", .0.words(), shown(.1))]
    Missing(Kind, String),
    /// The identity item does not hold an age identity.
    #[error("the keychain item {} is not an age identity", shown(.0))]
    NotAnIdentity(String),
    /// A hand-written identity item with more than one key line: which one was meant
    /// is not handoff's to guess.
    #[error("the keychain item {} holds {} age identities, not one", shown(.0), .1)]
    SeveralIdentities(String, usize),
    /// The item's bytes are not what handoff stores.
    #[error("the keychain item is not in handoff's format")]
    BadFormat,
    /// Locked, or its unlock prompt was dismissed.
    #[error("the keychain is locked, or its unlock prompt was refused ({})", shown(.0))]
    Locked(String),
    /// The store does not answer.
    #[error("the {store} store cannot be reached ({})", shown(.1), store = .0)]
    Unreachable(StoreName, String),
    /// The kernel keyring answers, but refused one key (its permissions).
    #[error("the kernel keyring refused access to a key of the name {} ({})", shown(.0), shown(.1))]
    KeyRefused(String, String),
    /// The store failed otherwise.
    #[error("the {store} store failed ({})", shown(.1), store = .0)]
    Failed(StoreName, String),
    /// Several items match one name.
    #[error("several keychain items have this name")]
    Ambiguous,
    /// A call took longer than [`CALL_TIMEOUT`].
    #[error("the {store} store did not answer within {secs} s ({what})", store = .0, what = .1, secs = CALL_TIMEOUT.as_secs())]
    Timeout(StoreName, &'static str),
    /// No thread for the call.
    #[error("cannot start a thread: {0}")]
    NoThread(String),
    /// The chosen store belongs to another OS.
    #[error("the {store} store is not available on this system: it is on {os}", store = .0, os = .0.home_os())]
    NotOnThisOs(StoreName),
}

/// The hint of a store of another OS (the chosen store adds the ones that answer).
pub const NOT_HERE: &str = "choose a store of this OS with --store NAME";

/// How to make one store answer.
pub fn start(store: StoreName) -> &'static str {
    match store {
        StoreName::SecretService => {
            "start and unlock a Secret Service (gnome-keyring or KeePassXC) in this session; over SSH, check DBUS_SESSION_BUS_ADDRESS"
        }
        StoreName::Keyutils => {
            "the kernel keyring is refused here (a container's seccomp profile often blocks keyctl); run `keyctl show @s` to check"
        }
        StoreName::Pass => "install pass and gpg, then make a store: pass init GPG-KEY-ID",
        StoreName::Macos => {
            "unlock the login keychain (Keychain Access), or run: security unlock-keychain"
        }
        StoreName::Windows => "check that Credential Manager runs for this user (cmdkey /list)",
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        use StoreError as S;
        let (code, fix) = match &e {
            S::NameLikeAnOption(_) => (ExitCode::Input, "start the name with a letter or digit"),
            S::BadName(_) => (
                ExitCode::Input,
                "use letters, digits and - _ . @ + = , (at most 64)",
            ),
            // keygen never replaces an identity: it has no --force.
            S::Taken(Kind::Identity, _) => (
                ExitCode::Output,
                "choose another name, or delete the old one first: handoff keychain delete --identity NAME",
            ),
            S::Taken(..) => (
                ExitCode::Output,
                "choose another name, or pass --force to replace it",
            ),
            // A name that is not there is a wrong input, not a keychain failure.
            S::Missing(..) => (
                ExitCode::Input,
                "`handoff keychain list` shows what is stored",
            ),
            S::NotAnIdentity(_) => (
                ExitCode::Keychain,
                "delete it with `handoff keychain delete --identity NAME`, then make one with `handoff keygen --keychain NAME`",
            ),
            S::SeveralIdentities(..) => (
                ExitCode::Keychain,
                "keep one AGE-SECRET-KEY-1 line in it, or delete it with `handoff keychain delete --identity NAME` and make one with `handoff keygen --keychain NAME`",
            ),
            S::BadFormat => (
                ExitCode::Keychain,
                "delete it with `handoff keychain delete NAME` and store it again",
            ),
            S::Locked(_) => (
                ExitCode::Keychain,
                "unlock your keyring (log in to the desktop, or `gnome-keyring-daemon --unlock`) and run again",
            ),
            S::Failed(StoreName::Pass, _) => (
                ExitCode::Keychain,
                "pass and its store answered, but gpg refused: check that `pass show` works in this shell (is the key named in .gpg-id in your keyring, and unexpired?)",
            ),
            S::Unreachable(store, _) | S::Failed(store, _) | S::Timeout(store, _) => {
                (ExitCode::Keychain, start(*store))
            }
            S::NotOnThisOs(_) => (ExitCode::Keychain, NOT_HERE),
            S::KeyRefused(..) => (
                ExitCode::Keychain,
                "a key of that name that you may not read or write is in the way: `keyctl show @s` lists it (handoff:NAME, handoff-meta:NAME); remove it with `keyctl unlink KEY-ID`, or use another name",
            ),
            S::Ambiguous => (
                ExitCode::Keychain,
                "remove the duplicates with your keyring manager (seahorse, secret-tool clear)",
            ),
            S::NoThread(_) => (ExitCode::Internal, "this is a bug: please report it"),
        };
        let error = Error::new(code, e.to_string());
        // An internal error had no hint before; keep it that way.
        if matches!(e, S::NoThread(_)) {
            error
        } else {
            error.fix(fix)
        }
    }
}

/// The keyring store's error, as ours. Locked and dismissed-prompt are told apart by
/// the Secret Service error's type, never by its text.
pub fn from_keyring(store: StoreName, e: keyring_core::Error) -> StoreError {
    use keyring_core::Error as K;
    match e {
        // These variants carry the secret's bytes: never print them.
        K::BadEncoding(_) | K::BadDataFormat(..) => StoreError::BadFormat,
        K::NoStorageAccess(p) if is_locked(p.as_ref()) => StoreError::Locked(p.to_string()),
        K::NoStorageAccess(p) => StoreError::Unreachable(store, p.to_string()),
        K::PlatformFailure(p) if is_unreachable(p.as_ref()) => {
            StoreError::Unreachable(store, p.to_string())
        }
        K::NotSupportedByStore(_) if !store.built_here() => StoreError::NotOnThisOs(store),
        K::PlatformFailure(p) => StoreError::Failed(store, p.to_string()),
        K::Ambiguous(_) => StoreError::Ambiguous,
        other => StoreError::Failed(store, other.to_string()),
    }
}

#[cfg(target_os = "linux")]
fn is_locked(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    use secret_service::Error as SS;
    matches!(
        e.downcast_ref::<SS>(),
        Some(SS::Locked | SS::Prompt | SS::PromptDisconnected)
    )
}

/// No bus, or no Secret Service on it: told by the error's type.
#[cfg(target_os = "linux")]
fn is_unreachable(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    use secret_service::Error as SS;
    matches!(
        e.downcast_ref::<SS>(),
        Some(SS::Zbus(_) | SS::ZbusFdo(_) | SS::Unavailable)
    )
}

#[cfg(not(target_os = "linux"))]
fn is_unreachable(_: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    false
}

#[cfg(not(target_os = "linux"))]
fn is_locked(_: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_code_and_hint() {
        let e: Error = StoreError::Taken(Kind::Credential, "boot".into()).into();
        assert_eq!(e.code, ExitCode::Output);
        assert_eq!(e.what, "the keychain already has a credential named boot");
        let e: Error = StoreError::BadName("a\u{1b}b".into()).into();
        assert_eq!(
            e.to_string(),
            "error: a\\u{1b}b is not a usable keychain name\nhint: use letters, digits and - _ . @ + = , (at most 64)"
        );
        let e: Error = StoreError::NoThread("x".into()).into();
        assert_eq!((e.code, e.fix), (ExitCode::Internal, None));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn locked_and_dismissed_are_told_by_type_not_text() {
        let boxed =
            |e: secret_service::Error| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) };
        for e in [secret_service::Error::Locked, secret_service::Error::Prompt] {
            let got = from_keyring(
                StoreName::SecretService,
                keyring_core::Error::NoStorageAccess(boxed(e)),
            );
            assert!(matches!(got, StoreError::Locked(_)), "{got:?}");
        }
        let got = from_keyring(
            StoreName::SecretService,
            keyring_core::Error::NoStorageAccess(boxed(secret_service::Error::Unavailable)),
        );
        assert!(matches!(got, StoreError::Unreachable(..)), "{got:?}");
    }
}
