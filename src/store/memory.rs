//! An in-memory [`Keychain`] for unit tests: the same refusals as the OS store
//! (a taken name without `replace`, a missing entry), no D-Bus.

use std::cell::RefCell;
use std::collections::HashMap;

use super::error::StoreError;
use super::keychain::{Item, Keychain, refuse_existing};
use super::kind::Kind;
use crate::error::Result;
use crate::secret::SecretBytes;

type Items = HashMap<(&'static str, String), (Vec<u8>, HashMap<String, String>)>;

/// An in-memory keychain for unit tests.
#[derive(Default)]
pub struct MemKeychain(RefCell<Items>);

impl Keychain for MemKeychain {
    fn put(
        &self,
        kind: Kind,
        name: &str,
        secret: &[u8],
        attributes: &[(&str, String)],
        replace: bool,
    ) -> Result<()> {
        refuse_existing(self, kind, name, replace)?;
        let key = (kind.service(), name.to_string());
        let attrs = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.0.borrow_mut().insert(key, (secret.to_vec(), attrs));
        Ok(())
    }
    fn get(&self, kind: Kind, name: &str) -> Result<SecretBytes> {
        self.0
            .borrow()
            .get(&(kind.service(), name.to_string()))
            .map(|(s, _)| SecretBytes::new(s.clone()))
            .ok_or_else(|| StoreError::Missing(kind, name.into()).into())
    }
    fn exists(&self, kind: Kind, name: &str) -> Result<bool> {
        Ok(self
            .0
            .borrow()
            .contains_key(&(kind.service(), name.to_string())))
    }
    fn delete(&self, kind: Kind, name: &str) -> Result<bool> {
        Ok(self
            .0
            .borrow_mut()
            .remove(&(kind.service(), name.to_string()))
            .is_some())
    }
    fn list(&self) -> Result<Vec<Item>> {
        Ok(self
            .0
            .borrow()
            .iter()
            .map(|((service, name), (_, attributes))| Item {
                name: name.clone(),
                kind: if *service == "handoff" {
                    Kind::Credential
                } else {
                    Kind::Identity
                },
                attributes: attributes.clone(),
            })
            .collect())
    }
}
