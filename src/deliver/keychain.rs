//! Delivery into the OS keychain: the credential's payload as the secret, its
//! non-secret facts (key id, user, account, dates) as attributes, so that listing never
//! reads a secret. `handoff credential-process NAME` serves it back.

use crate::bundle::Credential;
use crate::error::Result;
use crate::store::{Keychain, Kind};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemKeychain;

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
}
