//! `open --rotate`: the received key makes a new key for the same user, the new key is
//! delivered, and the received key is deleted, so the bundle (and anyone who copied it)
//! holds a dead key. First a tripwire ([`crate::tripwire`]): if AWS recorded a use of
//! the received key before this run began, someone else may hold a copy; rotation
//! stops unless `--force`.
//!
//! Every failure leaves exactly one working key and says which: before the new key is
//! delivered, the new key is deleted again (the received one still works); after, the
//! received one is deleted. Only when a delete itself fails are two keys left, and the
//! error (exit 7) names the one to delete and the command that does it.

use jiff::Timestamp;

use crate::aws::errors::{Whose, failed};
use crate::aws::{AwsError, Iam};
use crate::bundle::Credential;
use crate::error::{Error, ExitCode, Result};
use crate::mint::journal::Change;
use crate::mint::journal_file::{Header, JournalFile};
use crate::secret::SecretString;

/// Delivers the new key, returning the notice that says where it went (printed once
/// the journal records the delivery).
pub type Deliver<'a> = dyn FnMut(&Credential) -> Result<Option<String>> + 'a;

/// Makes an IAM client acting as the access key with this id and secret.
pub type ClientFor<'a> = &'a dyn Fn(&str, &SecretString) -> Result<Box<dyn Iam>>;

/// What rotation needs from its caller.
pub struct Rotation<'a> {
    /// IAM acting as the received key.
    pub received: &'a dyn Iam,
    /// Makes an IAM client acting as another key (the new one).
    pub client_for: ClientFor<'a>,
    /// The IAM user the key belongs to (as AWS said).
    pub user: String,
    /// The flags that point a printed `handoff revoke` at the same AWS.
    pub aws_flags: String,
    /// The same once the new key is delivered: then they may name the profile it went
    /// to (before, that profile does not hold it, or holds something else).
    pub delivered_flags: String,
    /// How long the new key's refusals are waited out (IAM's propagation): as long as
    /// a received key's, [`crate::aws::patience::bound`].
    pub patience: std::time::Duration,
    /// The durable journal's header (`handoff recover` after a crash); `None` keeps no
    /// journal on disk (unit tests).
    pub durable: Option<Header>,
}

/// Writes a change down in the durable journal, if there is one.
fn intend(file: &mut Option<JournalFile>, change: &Change) -> Result<()> {
    match file {
        Some(f) => f.intend(change),
        None => Ok(()),
    }
}

/// Adds a sentence to an error's first line.
fn with_note(e: Error, note: String) -> Error {
    Error {
        what: format!("{}; {note}", e.what),
        ..e
    }
}

fn revoke_command(user: &str, id: &str, aws_flags: &str) -> String {
    format!("handoff revoke{aws_flags} --user {user} --access-key-id {id}")
}

/// Rotates the received key in `c` and delivers the new one with `deliver`. Returns
/// the new key's id.
pub fn rotate(r: &Rotation, c: Credential, deliver: &mut Deliver) -> Result<String> {
    let mut file = r.durable.as_ref().map(JournalFile::start).transpose()?;
    let result = rotate_journalled(r, c, deliver, &mut file);
    // The journal stays only when something is left to undo (exit 7).
    if let Some(f) = file
        && !matches!(&result, Err(e) if e.code == ExitCode::RollbackFailed)
    {
        f.finish();
    }
    result
}

fn rotate_journalled(
    r: &Rotation,
    mut c: Credential,
    deliver: &mut Deliver,
    file: &mut Option<JournalFile>,
) -> Result<String> {
    let old = c
        .access_key_id()
        .map(str::to_string)
        .ok_or_else(|| Error::input("this bundle holds no access key to rotate"))?;
    let user = r.user.as_str();
    // Until the received key is deleted, a signal stops the rotation between changes.
    let _changing = crate::interrupt::changing();

    let before = r
        .received
        .access_keys(user)
        .map_err(|e| failed(&e, Whose::Received))?;
    let still_one = format!("the received key {old} still works and nothing was delivered");
    crate::interrupt::check("CreateAccessKey")
        .map_err(|e| with_note(e, "nothing was changed or delivered".into()))?;
    // No other run here mints for this user until the new key is recorded.
    let minting = match &r.durable {
        Some(h) => Some(crate::mint::key_ledger::minting(&h.account, user)?),
        None => None,
    };
    intend(
        file,
        &Change::LostKey(before.iter().map(|k| k.id.clone()).collect()),
    )?;
    let (new_id, new_secret) = create_new_key(r, &before, &still_one)?;
    let _ = intend(file, &Change::Key(new_id.clone()));
    drop(minting);
    crate::say!(
        "Rotation: created the new access key {}",
        crate::error::shown(&new_id)
    );

    // Undo: delete the new key again, leaving the received one as the only one.
    let undo = |e: Error| -> Error {
        match delete_new_key(r, &new_id) {
            Ok(()) => with_note(
                e,
                format!("the new key {new_id} was deleted again: {still_one}"),
            ),
            // AWS refuses the received key itself now: deleted or deactivated meanwhile
            // (a revoke by the sender?), so "two keys work" cannot be said.
            Err(d) if d.code.as_deref() == Some("InvalidClientTokenId") => Error::new(
                ExitCode::RollbackFailed,
                format!(
                    "{}; deleting the new key {new_id} failed too: AWS now refuses the received key {old} ({}), so it was deleted or deactivated meanwhile, and the undelivered {new_id} may be left",
                    e.what,
                    d.describe()
                ),
            )
            .fix(format!(
                "check what is left as an administrator (aws iam list-access-keys --user-name {user}) and delete the undelivered key: {}",
                revoke_command(user, &new_id, &r.aws_flags)
            )),
            Err(d) => Error::new(
                ExitCode::RollbackFailed,
                format!(
                    "{}; deleting the new key {new_id} failed too ({}): two keys work, the received {old} and the undelivered {new_id}",
                    e.what,
                    d.describe()
                ),
            )
            .fix(format!("delete the new one: {}", revoke_command(user, &new_id, &r.aws_flags))),
        }
    };

    let (new_key, new_client) = match ready(r, &new_id, new_secret) {
        Ok(ready) => ready,
        Err(e) => return Err(undo(e)),
    };
    c.access_key = Some(new_key);
    c.created_at = Timestamp::now().round(jiff::Unit::Second).ok();
    crate::interrupt::check("delivering the new key").map_err(&undo)?;
    let notice = match deliver(&c) {
        Ok(notice) => notice,
        Err(e) => return Err(undo(e)),
    };
    // From here the new key is the one to keep: after a crash, recover deletes the
    // received key instead. Written before the delivery's notice, which a blocked
    // stderr could hold up for as long as a kill takes to come.
    let _ = intend(file, &Change::Rotated(old.clone()));
    crate::interrupt::test_point("deliver");
    if let Some(notice) = notice {
        crate::say!("{notice}");
    }

    // Delivered: deleting the received key finishes the rotation, signal or not (the
    // one change left; stopping here would leave two working keys).

    // Delete the received key with the new one (which proves it works); if that
    // fails, the received key may still delete itself.
    let deleted = new_client
        .delete_access_key(user, &old)
        .or_else(|_| r.received.delete_access_key(user, &old));
    crate::interrupt::test_point("DeleteAccessKey");
    // A delete whose reply was lost may have happened: the listing says.
    let gone = |_: &AwsError| {
        new_client
            .access_keys(user)
            .is_ok_and(|keys| !keys.iter().any(|k| k.id == old))
    };
    match deleted {
        Ok(()) => Ok(new_id),
        Err(AwsError {
            code: Some(code), ..
        }) if code == "NoSuchEntity" => Ok(new_id),
        Err(e) if gone(&e) => Ok(new_id),
        Err(e) => Err(received_left(r, &e, &new_id, &old)),
    }
}

/// Deletes the new key again, with the received one. A NoSuchEntity for a key made
/// seconds ago is believed once the listing no longer shows it (IAM propagates); a
/// listing that fails counts as showing it.
fn delete_new_key(r: &Rotation, new_id: &str) -> Result<(), AwsError> {
    let user = r.user.as_str();
    let deleted = crate::aws::patience::settled(
        || r.received.delete_access_key(user, new_id),
        || {
            r.received
                .access_keys(user)
                .map_or(true, |keys| keys.iter().any(|k| k.id == new_id))
        },
    );
    match deleted {
        Err(e) if e.is_no_such_entity() => Ok(()),
        other => other,
    }
}

/// The received key could not be deleted after the new one was delivered: both work.
fn received_left(r: &Rotation, e: &AwsError, new_id: &str, old: &str) -> Error {
    let user = r.user.as_str();
    let what = format!(
        "the new key {new_id} was delivered, but deleting the received key {old} failed ({}): both keys work",
        e.describe()
    );
    // Refused for want of permission: the user's own keys will be refused again.
    let fix = if matches!(
        e.code.as_deref(),
        Some("AccessDenied" | "AccessDeniedException")
    ) {
        format!(
            "the user's keys may not delete keys: as an identity that may (an administrator's --profile ADMIN), run: {} --yes (or: handoff recover --profile ADMIN)",
            revoke_command(user, old, &r.aws_flags)
        )
    } else {
        format!(
            "delete the received one: {}",
            revoke_command(user, old, &r.delivered_flags)
        )
    };
    Error::new(ExitCode::RollbackFailed, what).fix(fix)
}

/// The new key checked, a client acting as it, and the wait until AWS accepts it.
fn ready(
    r: &Rotation,
    new_id: &str,
    new_secret: SecretString,
) -> Result<(crate::access_key::AccessKey, Box<dyn Iam>)> {
    let new_key = crate::access_key::AccessKey::new(new_id, new_secret).map_err(|e| {
        Error::new(
            ExitCode::Aws,
            format!(
                "IAM returned a new key whose {} breaks the rule ({})",
                e.field(),
                e.rule()
            ),
        )
        .fix("check --endpoint-url points at IAM")
    })?;
    // Until IAM accepts the new key, its refusals are waited out, as long as a received
    // key's are (patience::BOUND).
    let now = Timestamp::now();
    let new_client: Box<dyn Iam> = Box::new(
        crate::aws::patience::Patient::new(
            (r.client_for)(new_id, new_key.secret.as_secret())?,
            Some(now),
            now,
        )
        .bound(r.patience)
        .before_each({
            let id = new_id.to_string();
            move || crate::mint::key_uses::record(&id)
        }),
    );
    let works = new_client.caller().map(drop);
    crate::interrupt::check("delivering the new key")?;
    works.map_err(|e| {
        let waited = e
            .waited
            .map(|w| format!(" after {} s of waiting", w.as_secs()))
            .unwrap_or_default();
        Error::new(
            ExitCode::Aws,
            format!(
                "the new key {new_id} does not work yet{waited} ({})",
                e.describe()
            ),
        )
        .fix("IAM is slow to accept new keys just now: run the command again in a few minutes (the received key still works)")
    })?;
    Ok((new_key, new_client))
}

/// CreateAccessKey with the received key. When the reply is lost, a key may have been
/// made although its secret never reached us: it is found by listing and deleted, so
/// that the received key stays the only one.
fn create_new_key(
    r: &Rotation,
    before: &[crate::aws::KeyInfo],
    still_one: &str,
) -> Result<(String, SecretString)> {
    let user = r.user.as_str();
    let created = r.received.create_access_key(user);
    crate::interrupt::test_point("CreateAccessKey");
    let e = match created {
        Ok(k) => return Ok(k),
        Err(e) => e,
    };
    let mut err = with_note(create_failed(&e, user, &r.aws_flags), still_one.to_string());
    if !e.outcome_unknown {
        return Err(err);
    }
    // The key is found by elimination, as create's is; the minting lock is held.
    // `before` was listed seconds ago: no window (see `lost_key::find`).
    let started = None;
    let known = r.durable.as_ref().map_or_else(Vec::new, |h| {
        crate::mint::key_ledger::known(&h.account, user)
    });
    let before: Vec<String> = before.iter().map(|k| k.id.clone()).collect();
    // Looked for twice: a listing that fails once may be passing.
    let find = || crate::mint::lost_key::find(r.received, user, &before, started, &known);
    let made = match find().or_else(|_| find()) {
        Ok(crate::mint::lost_key::Lost::None) => return Err(err),
        Ok(crate::mint::lost_key::Lost::Found(id)) => id,
        Ok(crate::mint::lost_key::Lost::Unclear(ids)) => {
            return Err(Error::new(
                ExitCode::RollbackFailed,
                format!(
                    "{}; the CreateAccessKey whose reply was lost may have made one of access keys {}, which no handoff run here made: which one cannot be told, so none was deleted",
                    err.what,
                    ids.join(", ")
                ),
            )
            .fix(format!(
                "delete the one no bundle or profile holds: {}",
                revoke_command(user, "ID", &r.aws_flags)
            )));
        }
        Err(l) => {
            return Err(Error::new(
                ExitCode::RollbackFailed,
                format!(
                    "{}; a new key may have been made whose secret never arrived, and listing the keys failed ({})",
                    err.what,
                    l.describe()
                ),
            )
            .fix(format!(
                "list them with `aws iam list-access-keys --user-name {user}` and delete any key but the received one: {}",
                revoke_command(user, "ID", &r.aws_flags)
            )));
        }
    };
    match r.received.delete_access_key(user, &made) {
        Ok(()) => {
            err.what.push_str(&format!(
                "; a key {made} was made although the reply was lost: found by listing and deleted"
            ));
        }
        Err(d) => {
            err = Error::new(
                ExitCode::RollbackFailed,
                format!(
                    "{}; a key {made} was made whose secret never arrived, and deleting it failed ({})",
                    err.what,
                    d.describe()
                ),
            )
            .fix(format!("delete it: {}", revoke_command(user, &made, &r.aws_flags)));
        }
    }
    Err(err)
}

fn create_failed(e: &AwsError, user: &str, aws_flags: &str) -> Error {
    let err = failed(e, Whose::Received);
    let fix = match e.code.as_deref() {
        Some("LimitExceeded") => format!(
            "the user already has two access keys: delete the one not in use ({}), then run again",
            revoke_command(user, "ID", aws_flags)
        ),
        // Refused for a reason a retry does not change: the mapper's hint says which.
        Some(_) if !e.outcome_unknown => return err,
        _ => "run the command again; or open without --rotate".to_string(),
    };
    Error {
        fix: Some(fix),
        ..err
    }
}

#[cfg(test)]
#[path = "rotation_tests.rs"]
mod rollback_tests;
