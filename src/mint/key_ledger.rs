//! Which access keys handoff runs on this machine made, so that a run whose
//! CreateAccessKey reply was lost (and `recover` after it) never takes another run's
//! key for its own. Every key id a run learns, from CreateAccessKey's reply or claimed
//! after a lost one, is appended to `keys.jsonl` in the state directory (0600; an access
//! key id is not a secret) the moment the journal records it, and stays there after the
//! run's journal is gone. The span from sending CreateAccessKey to recording its key is
//! held under a lock per account and user ([`minting`]), so no other handoff run here
//! mints a key for that user meanwhile, and a listing made under the lock sees no key
//! that is made but not yet recorded. Runs on other machines are not seen:
//! [`super::lost_key`] says what is then left to a person.

use std::path::Path;
use std::time::Duration;

use super::state_dir::state_dir;
use crate::error::Result;

/// How long to wait for another run's CreateAccessKey (its attempts and the listing
/// after a lost reply) before giving up.
const WAIT: Duration = Duration::from_secs(120);

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    account: String,
    user: String,
    key: String,
    at: String,
}

const LEDGER: &str = "keys.jsonl";

/// Records that a run here made (or claimed) key `id` of `user` in `account`. Best
/// effort: a ledger that cannot be written leaves a lost key's owner to the listing's
/// other clues, and must not stop a run that already holds a key.
pub fn record(account: &str, user: &str, id: &str) {
    if let Some(dir) = state_dir() {
        record_in(&dir, account, user, id);
    }
}

fn record_in(dir: &Path, account: &str, user: &str, id: &str) {
    let entry = Entry {
        account: account.into(),
        user: user.into(),
        key: id.into(),
        at: jiff::Timestamp::now().to_string(),
    };
    super::state_dir::append_record(&dir.join(LEDGER), &entry);
}

/// The ids of the keys of `user` in `account` that handoff runs here made.
pub fn known(account: &str, user: &str) -> Vec<String> {
    state_dir().map_or_else(Vec::new, |dir| known_in(&dir, account, user))
}

fn known_in(dir: &Path, account: &str, user: &str) -> Vec<String> {
    super::state_dir::read_records::<Entry>(&dir.join(LEDGER))
        .into_iter()
        .filter(|e| e.account == account && e.user == user)
        .map(|e| e.key)
        .collect()
}

/// Held while a run mints a key for `user` in `account` and until its id (or, after a
/// lost reply, which key it was) is recorded; also while a recover looks for a lost
/// key of that user. Waits for another run that holds it, saying so.
pub fn minting(account: &str, user: &str) -> Result<crate::file_lock::Held> {
    let dir = super::state_dir::ensure_state_dir()?;
    // IAM user names are [A-Za-z0-9+=,.@_-]: safe in a file name.
    let lock = dir.join(format!("mint-{account}-{user}.lock"));
    crate::file_lock::lock(
        &lock,
        &format!(
            "is making an access key or a deny date for user {}",
            crate::error::shown(user)
        ),
        WAIT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_keys_are_known_per_account_and_user() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(known_in(d, "111111111111", "u").is_empty());
        record_in(d, "111111111111", "u", "AKIA1");
        record_in(d, "111111111111", "v", "AKIA2");
        record_in(d, "222222222222", "u", "AKIA3");
        record_in(d, "111111111111", "u", "AKIA4");
        assert_eq!(known_in(d, "111111111111", "u"), ["AKIA1", "AKIA4"]);
        assert!(known_in(d, "333333333333", "u").is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(LEDGER))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
