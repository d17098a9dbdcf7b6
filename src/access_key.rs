//! An AWS access key as one typed value that can only exist valid: an [`AccessKeyId`] is
//! 20 characters, `AKIA` (a user's long-term key) or `ASIA` (a temporary one) and 16 of
//! `A-Z 0-9`; a [`SecretAccessKey`] is 40 characters of `A-Z a-z 0-9 / +`. Every way a
//! key enters handoff (a bundle's payload, the keychain, a console CSV, a hidden prompt,
//! IAM's own answer) goes through [`AccessKey::new`], so every encoder downstream knows
//! what it is given. Console passwords are free-form and are not held to these rules.

use crate::secret::{ExposeSecret, SecretString};

/// The rule an access key id must follow, in words, for error messages.
pub const ID_RULE: &str = "must be 20 characters: AKIA or ASIA, then 16 of A-Z 0-9";

/// The rule a secret access key must follow, in words, for error messages.
pub const SECRET_RULE: &str = "must be 40 characters of A-Z a-z 0-9 / +";

/// Which half of an access key broke its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// The access key id.
    Id,
    /// The secret access key.
    Secret,
}

impl KeyError {
    /// The payload field the error is about.
    pub fn field(self) -> &'static str {
        match self {
            KeyError::Id => "access_key_id",
            KeyError::Secret => "secret_access_key",
        }
    }

    /// The rule that was broken.
    pub fn rule(self) -> &'static str {
        match self {
            KeyError::Id => ID_RULE,
            KeyError::Secret => SECRET_RULE,
        }
    }
}

/// An access key id (not secret): `AKIA`/`ASIA` + 16 of `A-Z0-9`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    /// Checks an access key id.
    pub fn parse(id: &str) -> Result<AccessKeyId, KeyError> {
        let b = id.as_bytes();
        let ok = b.len() == 20
            && (b.starts_with(b"AKIA") || b.starts_with(b"ASIA"))
            && b[4..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(AccessKeyId(id.to_string()))
        } else {
            Err(KeyError::Id)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` is 40 characters of `A-Z a-z 0-9 / +`: the one rule for secrets.
fn valid_secret(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
}

/// A secret access key: 40 of `A-Za-z0-9/+`. No `Debug` that shows it; wiped on drop.
pub struct SecretAccessKey(SecretString);

impl SecretAccessKey {
    /// Checks a secret access key, taking ownership of it (no copy is made).
    pub fn parse(secret: SecretString) -> Result<SecretAccessKey, KeyError> {
        if valid_secret(secret.expose_secret()) {
            Ok(SecretAccessKey(secret))
        } else {
            Err(KeyError::Secret)
        }
    }

    /// The secret, for its final use only.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The secret as our generic secret type.
    pub fn as_secret(&self) -> &SecretString {
        &self.0
    }
}

impl std::fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretAccessKey([REDACTED])")
    }
}

/// An access key pair: an id and its secret, both valid.
#[derive(Debug)]
pub struct AccessKey {
    /// The access key id.
    pub id: AccessKeyId,
    /// The secret access key.
    pub secret: SecretAccessKey,
}

impl AccessKey {
    /// Checks both halves; the id is checked first.
    pub fn new(id: &str, secret: SecretString) -> Result<AccessKey, KeyError> {
        let id = AccessKeyId::parse(id)?;
        let secret = SecretAccessKey::parse(secret)?;
        Ok(AccessKey { id, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::from_foreign;
    use proptest::prelude::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn aws_example_key_is_valid() {
        let k = AccessKey::new("AKIAIOSFODNN7EXAMPLE", from_foreign(SECRET.into())).unwrap();
        assert_eq!(k.id.as_str(), "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(k.secret.expose_secret(), SECRET);
        assert!(AccessKeyId::parse("ASIAIOSFODNN7EXAMPLE").is_ok());
    }

    #[test]
    fn ids_outside_the_rule_are_refused() {
        for bad in [
            "",
            "AKIA",
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLEX",
            "AKIAiosfodnn7example",
            "ABIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPL'",
            "AKIAIOSFODNN7EXAMPL\n",
            "AKIAIOSFODNN7EXAMPLÉ",
        ] {
            assert_eq!(AccessKeyId::parse(bad), Err(KeyError::Id), "{bad:?}");
        }
    }

    #[test]
    fn secrets_outside_the_rule_are_refused() {
        let mut cases: Vec<String> = ["'", "\"", "$", "`", "\\", " ", "\n", "=", ",", "é", "\0"]
            .iter()
            .map(|c| format!("{}{c}", &SECRET[..39]))
            .collect();
        cases.push(SECRET[..39].to_string());
        cases.push(format!("{SECRET}A"));
        cases.push(String::new());
        for bad in cases {
            assert!(
                SecretAccessKey::parse(from_foreign(bad.clone())).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = AccessKey::new("AKIAIOSFODNN7EXAMPLE", from_foreign(SECRET.into())).unwrap();
        assert!(!format!("{k:?}").contains("wJalr"));
    }

    proptest! {
        #[test]
        fn the_rule_is_exactly_the_charset_and_length(s in "\\PC{0,45}") {
            let valid = s.len() == 40 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+');
            prop_assert_eq!(SecretAccessKey::parse(from_foreign(s)).is_ok(), valid);
        }
    }
}
