//! The store a command line chose, as one [`Keychain`]: it hands each call to that
//! store's backend, and when the store does not answer it adds to the error's hint
//! the stores that do ([`reachable`]).

use super::keychain::{Item, Keychain};
use super::kind::Kind;
use super::name::{Choice, StoreName};
use crate::error::{Error, ExitCode, Result};
use crate::secret::SecretBytes;

/// The store a command line chose (`--store`, `HANDOFF_STORE`, or the OS default),
/// as a [`Keychain`]. Nothing is reached until an item is.
pub struct Chosen(pub Choice);

impl Chosen {
    /// The store's error, said of the store that was asked: [`Chosen::named`], and
    /// [`Chosen::offer_others`] when it does not answer.
    fn answer<T>(&self, result: Result<T>) -> Result<T> {
        result.map_err(|e| self.named(self.offer_others(e)))
    }

    /// The store is named in the message, and its hints carry `--store NAME`.
    fn named(&self, e: Error) -> Error {
        super::keychain::naming(e, &self.label(), &self.flag())
    }

    /// A store that does not answer (its error's hint is the store's own fix, from
    /// [`super::error::start`]): the hint also names the stores that do.
    fn offer_others(&self, e: Error) -> Error {
        let store = self.0.name;
        let own = super::error::start(store);
        // A store of another OS: only the ones here help.
        let elsewhere = e.fix.as_deref() == Some(super::error::NOT_HERE);
        if e.code != ExitCode::Keychain || !(elsewhere || e.fix.as_deref() == Some(own)) {
            return e;
        }
        let others = reachable(store);
        if elsewhere && !others.is_empty() {
            let names: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
            let fix = format!(
                "use a store of this OS that answers here: {} (--store NAME, or HANDOFF_STORE=NAME)",
                names.join(", ")
            );
            return Error {
                fix: Some(fix),
                ..e
            };
        }
        let own = if elsewhere {
            "no store of this OS answers here"
        } else {
            own
        };
        let fix = if others.is_empty() {
            format!("{own}; or seal to an age or SSH key with --to instead")
        } else {
            let names: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
            format!(
                "{own}; or use a store that answers here: {} (--store NAME, or HANDOFF_STORE=NAME)",
                names.join(", ")
            )
        };
        Error {
            fix: Some(fix),
            ..e
        }
    }

    fn backend(&self) -> Box<dyn Keychain> {
        if let Some(bad) = &self.0.bad_env {
            return Box::new(BadEnv(bad.clone()));
        }
        match self.0.name {
            StoreName::Pass => Box::new(super::pass::Pass),
            other => Box::new(super::native::Native(other)),
        }
    }
}

impl Keychain for Chosen {
    fn put(
        &self,
        kind: Kind,
        name: &str,
        secret: &[u8],
        attributes: &[(&str, String)],
        replace: bool,
    ) -> Result<()> {
        self.answer(self.backend().put(kind, name, secret, attributes, replace))
    }
    fn get(&self, kind: Kind, name: &str) -> Result<SecretBytes> {
        self.answer(self.backend().get(kind, name))
    }
    fn exists(&self, kind: Kind, name: &str) -> Result<bool> {
        self.answer(self.backend().exists(kind, name))
    }
    fn delete(&self, kind: Kind, name: &str) -> Result<bool> {
        self.answer(self.backend().delete(kind, name))
    }
    fn list(&self) -> Result<Vec<Item>> {
        self.answer(self.backend().list())
    }
    fn flag(&self) -> String {
        self.0.flag()
    }
    fn label(&self) -> String {
        self.0.name.label().into()
    }
}

/// A `HANDOFF_STORE` that names no store: every call says so.
struct BadEnv(String);

impl BadEnv {
    fn error<T>(&self) -> Result<T> {
        Err(Error::input(format!(
            "HANDOFF_STORE={} names no keychain store",
            crate::error::shown(&self.0)
        ))
        .fix("set it to secret-service, keyutils, pass, macos or windows, or unset it for the default"))
    }
}

impl Keychain for BadEnv {
    fn put(&self, _: Kind, _: &str, _: &[u8], _: &[(&str, String)], _: bool) -> Result<()> {
        self.error()
    }
    fn get(&self, _: Kind, _: &str) -> Result<SecretBytes> {
        self.error()
    }
    fn exists(&self, _: Kind, _: &str) -> Result<bool> {
        self.error()
    }
    fn delete(&self, _: Kind, _: &str) -> Result<bool> {
        self.error()
    }
    fn list(&self) -> Result<Vec<Item>> {
        self.error()
    }
}

/// The stores that answer on this machine, `except` the one that just failed (it is
/// not asked again): what an "unreachable" hint offers.
pub fn reachable(except: StoreName) -> Vec<StoreName> {
    StoreName::ALL
        .into_iter()
        .filter(|s| *s != except && s.built_here())
        .filter(|s| match s {
            #[cfg(target_os = "linux")]
            StoreName::Keyutils => super::keyutils::reachable(),
            StoreName::Pass => super::pass::unusable().is_none(),
            StoreName::SecretService => {
                std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
                    && super::native::Native(*s)
                        .exists(Kind::Credential, "probe")
                        .is_ok()
            }
            _ => true,
        })
        .collect()
}
