//! `handoff credential-process NAME` and `handoff keychain list|delete|recipient`: what
//! handoff keeps in the OS keychain. Also the helpers `open` and `create` use to store
//! a credential there.

use crate::bundle::Credential;
use crate::cli::KeychainCommand;
use crate::error::{Error, ExitCode, Result, shown};
use crate::keychain::{Keychain, Kind};
use crate::output::{write_stdout, write_stdout_secret};
use crate::secret::{ExposeSecret, SecretString};

/// Stores a credential under `name`, with its non-secret facts as attributes.
pub fn store_credential(
    keychain: &dyn Keychain,
    name: &str,
    c: &Credential,
    replace: bool,
) -> Result<()> {
    let payload = c.encode()?;
    let mut attrs: Vec<(&str, String)> = vec![
        ("handoff-format", crate::bundle::FORMAT_V1.into()),
        ("contents", c.contents().into()),
    ];
    let mut add = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            attrs.push((k, v));
        }
    };
    add("access-key-id", c.access_key_id().map(str::to_string));
    add("user-name", c.user_name.clone());
    add("account-id", c.account_id.clone());
    add("created-at", c.created_at.map(|t| t.to_string()));
    add("expires-at", c.expires_at.map(|t| t.to_string()));
    keychain.put(Kind::Credential, name, &payload, &attrs, replace)
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
        .ok_or_else(|| {
            Error::new(
                ExitCode::Keychain,
                format!("the keychain item {} is not an age identity", shown(name)),
            )
            .fix("make one with `handoff keygen --keychain NAME`")
        })
}

/// `handoff credential-process NAME`.
pub fn credential_process(keychain: &dyn Keychain, name: &str) -> Result<()> {
    if crate::output::stdout_is_terminal() {
        return Err(Error::output(
            "credential-process writes the secret access key to standard output, which is a terminal",
        )
        .fix(format!(
            "it is for the AWS CLI: put `credential_process = handoff credential-process {}` in ~/.aws/config, then run: aws sts get-caller-identity --profile PROFILE",
            shown(name)
        )));
    }
    let payload = keychain.get(Kind::Credential, name)?;
    let c = Credential::parse(&payload).map_err(|e| {
        Error::new(
            ExitCode::Keychain,
            format!(
                "the keychain item {} does not hold a handoff credential ({})",
                shown(name),
                e.what
            ),
        )
        .fix("store it again with `handoff open BUNDLE -i ID --keychain NAME --force`")
    })?;
    let Some(key) = &c.access_key else {
        return Err(Error::input(format!(
            "the credential {} holds no access key",
            shown(name)
        ))
        .fix("credential_process serves access keys only"));
    };
    if c.is_expired(jiff::Timestamp::now()) {
        eprintln!(
            "warning: the credential {} expired; AWS denies every request made with it.",
            shown(name)
        );
    }
    write_stdout_secret(&crate::deliver::process_json::encode(
        key.id.as_str(),
        key.secret.as_secret(),
        c.expires_at,
    ))
}

/// `handoff keychain …`.
pub fn run(keychain: &dyn Keychain, cmd: &KeychainCommand) -> Result<()> {
    match cmd {
        KeychainCommand::List { json } => {
            let items = keychain.list()?;
            if *json {
                let v: Vec<serde_json::Value> = items
                    .iter()
                    .map(|i| serde_json::json!({"name": i.name, "kind": if i.kind == Kind::Credential { "credential" } else { "identity" }, "attributes": i.attributes}))
                    .collect();
                // Names and attributes are anyone's (any Secret Service client can
                // write them): JSON escapes keep the values and the terminal safe.
                return write_stdout(
                    crate::sanitize::json_line(&serde_json::Value::from(v)).as_bytes(),
                );
            }
            if items.is_empty() {
                eprintln!("The keychain holds nothing of handoff's.");
                return Ok(());
            }
            let mut out = String::new();
            for i in &items {
                let facts: Vec<String> = [
                    "access-key-id",
                    "user-name",
                    "account-id",
                    "expires-at",
                    "recipient",
                ]
                .iter()
                .filter_map(|k| i.attributes.get(*k).map(|v| format!("{k}={}", shown(v))))
                .collect();
                let kind = if i.kind == Kind::Credential {
                    "credential"
                } else {
                    "identity"
                };
                // Pad after escaping: `{:<24}` on the raw name would count invisible
                // characters as columns.
                out.push_str(&format!(
                    "{:<24} {kind:<10} {}\n",
                    shown(&i.name),
                    facts.join(" ")
                ));
            }
            write_stdout(out.as_bytes())
        }
        KeychainCommand::Delete { name, identity } => {
            let kind = if *identity {
                Kind::Identity
            } else {
                Kind::Credential
            };
            if keychain.delete(kind, name)? {
                eprintln!("Deleted {} from the keychain.", shown(name));
                Ok(())
            } else {
                Err(Error::new(
                    ExitCode::Keychain,
                    format!("the keychain has nothing named {}", shown(name)),
                )
                .fix("`handoff keychain list` shows what is stored"))
            }
        }
        KeychainCommand::Recipient { name } => {
            let id = identity(keychain, name)?;
            write_stdout(format!("{}\n", id.to_public()).as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    use crate::keychain::Item;
    use crate::secret::SecretBytes;

    type Items = HashMap<(&'static str, String), (Vec<u8>, HashMap<String, String>)>;

    /// An in-memory keychain for unit tests.
    #[derive(Default)]
    struct MemKeychain(RefCell<Items>);

    impl Keychain for MemKeychain {
        fn put(
            &self,
            kind: Kind,
            name: &str,
            secret: &[u8],
            attributes: &[(&str, String)],
            replace: bool,
        ) -> Result<()> {
            let key = (kind.service(), name.to_string());
            if !replace && self.0.borrow().contains_key(&key) {
                return Err(Error::output("exists"));
            }
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
                .ok_or_else(|| Error::new(ExitCode::Keychain, "none"))
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

    fn credential() -> Credential {
        Credential {
            access_key: Some(
                crate::access_key::AccessKey::new(
                    "AKIAIOSFODNN7EXAMPLE",
                    crate::secret::from_foreign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
                )
                .unwrap(),
            ),
            user_name: Some("mgmt-org-admin".into()),
            ..Default::default()
        }
    }

    #[test]
    fn stored_credentials_keep_facts_as_attributes_and_refuse_to_clobber() {
        let kc = MemKeychain::default();
        store_credential(&kc, "boot", &credential(), false).unwrap();
        assert!(store_credential(&kc, "boot", &credential(), false).is_err());
        store_credential(&kc, "boot", &credential(), true).unwrap();
        let items = kc.list().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].attributes["access-key-id"], "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(items[0].attributes["user-name"], "mgmt-org-admin");
        assert!(!items[0].attributes.values().any(|v| v.contains("wJalr")));
        let back = Credential::parse(&kc.get(Kind::Credential, "boot").unwrap()).unwrap();
        assert!(back.has_access_key());
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
    fn a_missing_entry_is_a_keychain_error() {
        let kc = MemKeychain::default();
        assert_eq!(
            credential_process(&kc, "nope").unwrap_err().code,
            ExitCode::Keychain
        );
        assert!(
            run(
                &kc,
                &KeychainCommand::Delete {
                    name: "nope".into(),
                    identity: false
                }
            )
            .is_err()
        );
    }
}
