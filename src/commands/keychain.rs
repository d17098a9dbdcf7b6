//! `handoff keychain list|delete|recipient`: what handoff keeps in the OS keychain
//! ([`crate::store`]), shown by name and non-secret facts only.

use crate::cli::KeychainCommand;
use crate::error::{Error, Result, shown};
use crate::output::write_stdout;
use crate::store::{Keychain, Kind};

/// A checked `handoff keychain …` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeychainRequest {
    /// List names and non-secret facts, as text or JSON.
    List {
        /// Print JSON.
        json: bool,
    },
    /// Delete one item.
    Delete(Kind, String),
    /// Print an identity's recipient.
    Recipient(String),
}

/// `handoff keychain …`.
pub fn run(keychain: &dyn Keychain, cmd: &KeychainCommand) -> Result<()> {
    execute(&resolve(cmd)?, keychain)
}

/// Checks the name before the keychain is touched.
pub fn resolve(cmd: &KeychainCommand) -> Result<KeychainRequest> {
    Ok(match cmd {
        KeychainCommand::List { json } => KeychainRequest::List { json: *json },
        KeychainCommand::Delete { name, identity } => {
            crate::store::check_name(name)?;
            let kind = if *identity {
                Kind::Identity
            } else {
                Kind::Credential
            };
            KeychainRequest::Delete(kind, name.clone())
        }
        KeychainCommand::Recipient { name } => {
            crate::store::check_name(name)?;
            KeychainRequest::Recipient(name.clone())
        }
    })
}

/// Lists, deletes or shows.
pub fn execute(request: &KeychainRequest, keychain: &dyn Keychain) -> Result<()> {
    match request {
        KeychainRequest::List { json } => {
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
                crate::say!(
                    "{} holds nothing of handoff's.",
                    capitalized(&keychain.label())
                );
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
        KeychainRequest::Delete(kind, name) => {
            if keychain.delete(*kind, name)? {
                crate::say!("Deleted {} from {}.", shown(name), keychain.label());
                Ok(())
            } else {
                let other = match kind {
                    Kind::Credential => Kind::Identity,
                    Kind::Identity => Kind::Credential,
                };
                let flag = keychain.flag();
                let fix = if keychain.exists(other, name).unwrap_or(false) {
                    if other == Kind::Identity {
                        format!(
                            "{} is an identity: handoff {flag}keychain delete --identity {}",
                            shown(name),
                            shown(name)
                        )
                    } else {
                        format!(
                            "{} is a credential: handoff {flag}keychain delete {}",
                            shown(name),
                            shown(name)
                        )
                    }
                } else {
                    format!("`handoff {flag}keychain list` shows what is stored")
                };
                Err(Error::input(format!(
                    "{} has no {} named {}",
                    keychain.label(),
                    kind.words(),
                    shown(name)
                ))
                .fix(fix))
            }
        }
        KeychainRequest::Recipient(name) => {
            let id = crate::store::identity(keychain, name)?;
            write_stdout(format!("{}\n", id.to_public()).as_bytes())
        }
    }
}

/// "pass" as the first word of a sentence: "Pass".
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;
    use crate::store::memory::MemKeychain;

    #[test]
    fn deleting_a_missing_entry_is_bad_input_not_a_keychain_failure() {
        let kc = MemKeychain::default();
        let cmd = KeychainCommand::Delete {
            name: "nope".into(),
            identity: false,
        };
        assert_eq!(run(&kc, &cmd).unwrap_err().code, ExitCode::Input);
    }
}
