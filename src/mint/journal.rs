//! Where rollback lives: each change `create` makes is journalled as it happens
//! ([`Change`]); on a later failure the journal is undone in reverse, and the user is
//! told what was rolled back, or, if an undo failed, exactly what is left and the
//! `handoff revoke` command that finishes it.

use super::lost_key;
use crate::aws::names::{CREATED_BY_TAG, EXPIRY_POLICY};
use crate::aws::patience::settled;
use crate::aws::{AwsError, Iam};
use crate::error::{Error, ExitCode};
use crate::progress::Progress;
use crate::store::{Keychain, Kind};

/// One change made in AWS, and how to undo it. Written to the durable journal
/// ([`super::journal_file`]) as JSON, without secrets.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    /// CreateUser.
    User,
    /// AttachUserPolicy of this ARN, and the user's keys before the run: a key that is
    /// neither one of them nor this run's means another run uses the user now, and may
    /// rely on the attachment, so it stays.
    Policy(String, Vec<String>),
    /// PutUserPolicy of the expiry policy: the document the user had before (None: none),
    /// and the one this run wrote.
    Expiry {
        /// What to put back.
        before: Option<String>,
        /// What this run wrote: undone only while it is still there.
        wrote: String,
        /// The user's keys before the run: a key neither one of them nor this run's
        /// means another run may count on the deny date, so it stays.
        #[serde(default)]
        keys_before: Vec<String>,
    },
    /// CreateAccessKey.
    Key(String),
    /// A key the CreateAccessKey whose reply was lost made anyway, found by listing.
    FoundKey(String),
    /// A CreateAccessKey whose reply was lost and whose key could not be listed yet:
    /// undone by listing again and deleting every key not among these (the user's keys
    /// before the run).
    LostKey(Vec<String>),
    /// CreateLoginProfile.
    LoginProfile,
    /// UpdateLoginProfile (`--reset-password`): the old password cannot be restored,
    /// so this is never undone; a rollback reports it as left (exit 7).
    ReplacedPassword,
    /// `open --rotate` delivered its new key: the received key (this id) is the one to
    /// delete, and the new key stays.
    Rotated(String),
    /// The credential stored in the creator's OS keychain under this name, and the item
    /// it replaced (`--force`), to put back.
    Keychain(String, #[serde(skip)] Option<Earlier>),
    /// In the durable journal only: a keychain item stored over an earlier one
    /// (`--force`), whose content is never written to disk, so after a crash it can be
    /// removed but not put back.
    KeychainReplaced(String),
}

/// A keychain item's bytes from before the run, kept (wiped on drop) to restore it. A
/// change is told apart by its name: any two compare equal, and none prints.
#[derive(Clone)]
pub struct Earlier(pub std::rc::Rc<crate::secret::SecretBytes>);

impl PartialEq for Earlier {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Earlier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Earlier(…)")
    }
}

/// The run a journal belongs to, as its undos need it.
pub struct Run {
    /// The IAM user its changes are on.
    pub user: String,
    /// When it started (the client's clock): a lost key was made around then.
    pub started: Option<jiff::Timestamp>,
    /// Its account, when runs keep a durable journal: then the key ledger names the
    /// keys other runs here made, and looking for a lost key takes the minting lock.
    pub ledger: Option<String>,
}

/// What an undo came to.
#[derive(Debug, PartialEq)]
pub enum Undid {
    /// It undid the change.
    Done,
    /// What the change made was already gone (someone ran the clean-up meanwhile).
    Gone,
    /// The key a lost CreateAccessKey made: found by elimination and deleted.
    FoundLost(String),
}

impl Change {
    /// Undoes the change; something already gone counts as undone ([`Undid::Gone`]).
    /// `ours`: the ids of the keys the run itself made (see [`ours`]).
    pub fn undo(
        &self,
        iam: &dyn Iam,
        keychain: &dyn Keychain,
        run: &Run,
        ours: &[String],
    ) -> std::result::Result<Undid, AwsError> {
        let user = run.user.as_str();
        if let Change::Keychain(_, _) | Change::KeychainReplaced(_) = self {
            let undone = match self {
                Change::Keychain(name, Some(Earlier(bytes))) => restore_item(keychain, name, bytes),
                Change::Keychain(name, None) | Change::KeychainReplaced(name) => {
                    keychain.delete(Kind::Credential, name).map(|_| ())
                }
                _ => Ok(()),
            };
            return undone.map(|()| Undid::Done).map_err(|e| AwsError {
                action: "keychain delete",
                code: None,
                message: e.what,
                outcome_unknown: false,
                waited: None,
                no_credentials: false,
            });
        }
        if let Change::LostKey(before) = self {
            return lost_key::delete(iam, user, before, run.started, run.ledger.as_deref())
                .map(|found| found.map_or(Undid::Gone, Undid::FoundLost));
        }
        let undone = match self {
            Change::User => undo_user(iam, user, ours),
            Change::Policy(arn, keys_before) => undo_attachment(iam, user, arn, keys_before, ours),
            Change::Expiry {
                before,
                wrote,
                keys_before,
            } => undo_expiry(iam, user, before.as_deref(), wrote, keys_before, ours),
            Change::Key(id) | Change::FoundKey(id) => settled(
                || iam.delete_access_key(user, id),
                || {
                    iam.access_keys(user)
                        .is_ok_and(|keys| keys.iter().any(|k| &k.id == id))
                },
            ),
            Change::Rotated(id) => iam.delete_access_key(user, id),
            Change::LoginProfile => iam.delete_login_profile(user),
            // Deleting it too would only add a change: nobody knows either password.
            Change::ReplacedPassword => Err(AwsError {
                action: "UpdateLoginProfile",
                code: None,
                message: "the old console password cannot be restored".into(),
                outcome_unknown: false,
                waited: None,
                no_credentials: false,
            }),
            Change::LostKey(_) | Change::Keychain(..) | Change::KeychainReplaced(_) => Ok(()),
        };
        match undone {
            Ok(()) => Ok(Undid::Done),
            Err(e) if e.is_no_such_entity() => Ok(Undid::Gone),
            Err(e) => Err(e),
        }
    }

    /// What undoing it came to, in words.
    pub fn undid_words(&self, undid: &Undid, user: &str) -> String {
        match undid {
            Undid::Done => self.undo_words(),
            Undid::Gone if matches!(self, Change::LostKey(_)) => {
                "found no key made by the CreateAccessKey whose reply was lost".into()
            }
            Undid::Gone => format!("{} was not there to undo", self.what(user)),
            Undid::FoundLost(id) => format!(
                "deleted access key {id} (made by the CreateAccessKey whose reply was lost; found by elimination)"
            ),
        }
    }

    /// The thing the change made, in words.
    pub fn what(&self, user: &str) -> String {
        match self {
            Change::User => format!("user {user}"),
            Change::Policy(arn, _) => format!("the attachment of {arn}"),
            Change::Expiry { .. } => format!("the {EXPIRY_POLICY} policy"),
            Change::Key(id) | Change::FoundKey(id) => format!("access key {id}"),
            Change::LostKey(_) => "maybe an access key whose reply was lost".into(),
            Change::LoginProfile => "the console password".into(),
            Change::ReplacedPassword => "the replaced console password".into(),
            Change::Keychain(name, _) => format!("keychain item {name}"),
            Change::KeychainReplaced(name) => {
                format!("keychain item {name} (stored over an earlier one)")
            }
            Change::Rotated(id) => {
                format!("the received key {id}, not yet deleted (the new key was delivered)")
            }
        }
    }

    /// What undoing it did, in words.
    pub fn undo_words(&self) -> String {
        match self {
            Change::User => "deleted the user it created".into(),
            Change::Policy(arn, _) => format!("detached {arn}"),
            Change::Expiry { before: None, .. } => format!("deleted the {EXPIRY_POLICY} policy"),
            Change::Expiry {
                before: Some(_), ..
            } => {
                format!("put back the user's earlier {EXPIRY_POLICY} policy")
            }
            Change::Key(id) => format!("deleted access key {id}"),
            Change::FoundKey(id) => format!(
                "deleted access key {id} (made although the CreateAccessKey reply was lost; found by listing)"
            ),
            Change::LostKey(_) => {
                "deleted the access key made by the CreateAccessKey whose reply was lost".into()
            }
            Change::LoginProfile => "deleted the console password".into(),
            Change::ReplacedPassword => "nothing (a replaced password cannot be restored)".into(),
            Change::Rotated(id) => format!("deleted the received key {id}, finishing the rotation"),
            Change::Keychain(name, None) => format!("removed {name} from the keychain"),
            Change::KeychainReplaced(name) => format!(
                "removed {name} from the keychain (the earlier item it replaced cannot be put back after a crash: it was never written to disk)"
            ),
            Change::Keychain(name, Some(_)) => {
                format!("put the earlier {name} back in the keychain")
            }
        }
    }
}

/// The ids of the keys a run made (or found it made), from its journal.
pub fn ours(journal: &[Change]) -> Vec<String> {
    journal
        .iter()
        .filter_map(|c| match c {
            Change::Key(id) | Change::FoundKey(id) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// Deletes the user this run created, unless it is not this run's after all: a user
/// without handoff's tag (a CreateUser whose reply was lost may have been refused as
/// EntityAlreadyExists: someone else's user), or one with a key this run did not make.
fn undo_user(iam: &dyn Iam, user: &str, ours: &[String]) -> std::result::Result<(), AwsError> {
    // Made seconds ago, it may not be visible everywhere yet: looked for a few times.
    let mut found = iam.user(user)?;
    for pause in crate::aws::patience::SETTLE {
        if found.is_some() {
            break;
        }
        // A fixed sleep on purpose: the pause *is* the time IAM needs.
        std::thread::sleep(pause);
        found = iam.user(user)?;
    }
    match found {
        None => return Err(no_such(user)),
        Some(u) if !u.made_by_handoff => {
            return Err(kept(
                "DeleteUser",
                &format!(
                    "not deleted: it has no {CREATED_BY_TAG}=handoff tag, so it is someone else's user, not this run's"
                ),
            ));
        }
        Some(_) => {}
    }
    if let Some(theirs) = foreign_key(iam, user, &[], ours)? {
        return Err(kept(
            "DeleteUser",
            &format!(
                "not deleted: access key {theirs}, which this run did not make, is on the user: another run may rely on it"
            ),
        ));
    }
    settled(
        || iam.delete_user(user),
        || iam.user(user).is_ok_and(|u| u.is_some()),
    )
}

fn no_such(user: &str) -> AwsError {
    AwsError {
        action: "GetUser",
        code: Some("NoSuchEntity".into()),
        message: format!("the user {user} cannot be found"),
        outcome_unknown: false,
        waited: None,
        no_credentials: false,
    }
}

/// Detaches a policy this run attached, unless another run has made a key on the user
/// since (this run's own keys are undone before its attachments): that run may rely on
/// the attachment, so it is left, and reported as left.
fn undo_attachment(
    iam: &dyn Iam,
    user: &str,
    arn: &str,
    keys_before: &[String],
    ours: &[String],
) -> std::result::Result<(), AwsError> {
    if let Some(theirs) = foreign_key(iam, user, keys_before, ours)? {
        return Err(kept(
            "DetachUserPolicy",
            &format!(
                "not detached: access key {theirs}, which this run did not make, is on the user: another run may rely on it"
            ),
        ));
    }
    iam.detach_policy(user, arn)
}

/// The code of an undo left out on purpose: another run relies on what it would undo.
pub const KEPT: &str = "KeptForAnotherRun";

fn kept(action: &'static str, message: &str) -> AwsError {
    AwsError {
        action,
        code: Some(KEPT.into()),
        message: message.into(),
        outcome_unknown: false,
        waited: None,
        no_credentials: false,
    }
}

/// A key of the user's that was neither there before the run nor made by it: another
/// run's. None when the user (or its keys) is gone.
fn foreign_key(
    iam: &dyn Iam,
    user: &str,
    keys_before: &[String],
    ours: &[String],
) -> std::result::Result<Option<String>, AwsError> {
    let keys = match iam.access_keys(user) {
        Err(e) if e.is_no_such_entity() => return Ok(None),
        other => other?,
    };
    Ok(keys
        .into_iter()
        .find(|k| !keys_before.contains(&k.id) && !ours.contains(&k.id))
        .map(|k| k.id))
}

/// Puts the user's earlier expiry policy back, or deletes ours; a policy someone else
/// wrote since (another run) is left alone: it is theirs now.
fn undo_expiry(
    iam: &dyn Iam,
    user: &str,
    before: Option<&str>,
    wrote: &str,
    keys_before: &[String],
    ours: &[String],
) -> std::result::Result<(), AwsError> {
    match iam.inline_policy(user, EXPIRY_POLICY)? {
        // Never written (the PutUserPolicy failed), or removed since: nothing to undo.
        None => {
            return Err(AwsError {
                action: "GetUserPolicy",
                code: Some("NoSuchEntity".into()),
                message: format!("the user has no {EXPIRY_POLICY} policy"),
                outcome_unknown: false,
                waited: None,
                no_credentials: false,
            });
        }
        Some(now) if now != wrote => {
            return Err(kept(
                "PutUserPolicy",
                "left alone: it is not the document this run wrote (another run has written its own since)",
            ));
        }
        Some(_) => {}
    }
    // A key another run made meanwhile may be the one this deny date now guards: an
    // early expiry is better than none.
    if let Some(theirs) = foreign_key(iam, user, keys_before, ours)? {
        return Err(kept(
            "PutUserPolicy",
            &format!(
                "left as this run wrote it: access key {theirs}, which this run did not make, is on the user, and its bundle may count on a deny date"
            ),
        ));
    }
    match before {
        Some(document) => iam.put_inline_policy(user, EXPIRY_POLICY, document),
        None => iam.delete_inline_policy(user, EXPIRY_POLICY),
    }
}

/// Puts an earlier keychain item back: a handoff payload with its attributes, anything
/// else as the bytes it was.
fn restore_item(
    keychain: &dyn Keychain,
    name: &str,
    bytes: &crate::secret::SecretBytes,
) -> crate::error::Result<()> {
    match crate::bundle::Credential::parse(bytes) {
        Ok(c) => crate::deliver::keychain::store_credential(keychain, name, &c, true),
        Err(_) => keychain.put(Kind::Credential, name, bytes, &[], true),
    }
}

/// A failure in the middle: which step, and the error.
pub struct Failure {
    /// The step, as the user reads it (an API action, "seal", …).
    pub step: String,
    /// What went wrong.
    pub error: Error,
}

/// Tags an error with the step it happened in.
pub fn at(step: &str) -> impl Fn(Error) -> Failure + '_ {
    move |error| Failure {
        step: step.to_string(),
        error,
    }
}

/// How to finish the clean-up: the command, and, when an undo was refused for want of
/// permission, that it needs another identity than the one just refused.
fn cleanup_fix(left: &[(Change, AwsError)], command: &str) -> String {
    if undo_denied(left) {
        format!("{AS_ADMIN}{command}")
    } else {
        format!("{CLEANUP}{command}")
    }
}

/// Whether AWS refused this run's identity an undo for want of permission.
fn undo_denied(left: &[(Change, AwsError)]) -> bool {
    left.iter().any(|(_, e)| {
        matches!(
            e.code.as_deref(),
            Some("AccessDenied" | "AccessDeniedException")
        )
    })
}

/// The run's AWS flags with `--profile ADMIN` in place of its own profile (which was
/// just refused): [`crate::aws::AwsConfig::command_flags`] puts the profile first.
fn with_admin_profile(aws_flags: &str) -> String {
    let rest = aws_flags
        .strip_prefix(" --profile ")
        .map_or(aws_flags, |after| {
            after.find(" --").map_or("", |i| &after[i..])
        });
    format!(" --profile ADMIN{rest}")
}

/// The start of a clean-up hint.
pub const CLEANUP: &str = "finish the clean-up with: ";
/// The same when this run's identity was refused an undo.
pub const AS_ADMIN: &str = "as an identity that may delete what this run made (this one may not: put an administrator's profile for ADMIN), finish the clean-up with: ";

/// A policy document as JSON that survives the terminal's escaping unchanged: minified
/// (a newline would be shown as `\u{a}`), every non-ASCII character as a `\uXXXX`
/// escape (outside strings JSON has none), so that the printed command puts back the
/// same document. None when it is not JSON.
fn printable_json(document: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(document).ok()?;
    let compact = serde_json::to_string(&value).ok()?;
    let mut out = String::with_capacity(compact.len());
    for c in compact.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{u:04x}"));
            }
        }
    }
    Some(out)
}

/// The command line that removes exactly what is left. On a user this run created,
/// everything on it is the run's: `handoff revoke --delete-user`. On a reused user, a
/// broad revoke would also delete what the user had before the run, so each leftover
/// gets its own command (joined with `&&`), with the same AWS flags.
pub fn cleanup_command(user: &str, left: &[Change], aws_flags: &str) -> String {
    let revoke = format!("handoff revoke{aws_flags} --user {user}");
    if left.contains(&Change::User) {
        return format!("{revoke} --delete-user --yes");
    }
    let aws = |action: &str| format!("aws iam {action}{aws_flags} --user-name {user}");
    let commands: Vec<String> = left
        .iter()
        .map(|c| match c {
            Change::Key(id) | Change::FoundKey(id) => {
                format!("{revoke} --access-key-id {id} --yes")
            }
            Change::LostKey(_) => aws("list-access-keys"),
            Change::Policy(arn, _) => format!("{} --policy-arn {arn}", aws("detach-user-policy")),
            Change::Expiry { before: None, .. } => {
                format!(
                    "{} --policy-name {EXPIRY_POLICY}",
                    aws("delete-user-policy")
                )
            }
            Change::Expiry {
                before: Some(document),
                ..
            } => match printable_json(document) {
                Some(doc) => format!(
                    "{} --policy-name {EXPIRY_POLICY} --policy-document {}",
                    aws("put-user-policy"),
                    crate::aws::shell_word(&doc)
                ),
                // Not JSON: only the journal holds it exactly.
                None => "handoff recover".to_string(),
            },
            Change::LoginProfile => aws("delete-login-profile"),
            // A new password, delivered this time, is the way back in.
            Change::ReplacedPassword => format!(
                "handoff create{aws_flags} --user {user} --no-policy --console-password --reset-password --to RECIPIENT"
            ),
            Change::Keychain(name, _) | Change::KeychainReplaced(name) => {
                format!("handoff keychain delete {name}")
            }
            Change::Rotated(id) => format!("{revoke} --access-key-id {id} --yes"),
            Change::User => format!("{revoke} --delete-user --yes"),
        })
        .collect();
    commands.join(" && ")
}

/// Undoes the journal in reverse and words the result: what failed and what was
/// rolled back (the failure's own exit code), or, when an undo failed too, what is
/// left and the `handoff revoke` command that finishes the clean-up (exit 7).
pub fn roll_back(
    iam: &dyn Iam,
    keychain: &dyn Keychain,
    run: &Run,
    journal: Vec<Change>,
    failure: Failure,
    progress: &Progress,
    aws_flags: &str,
) -> Error {
    let user = run.user.as_str();
    let mut undone = Vec::new();
    let mut left = Vec::new();
    for (i, change) in journal.iter().enumerate().rev() {
        // What a third signal would leave, for the second signal's message.
        let remaining: Vec<Change> = journal[..=i]
            .iter()
            .chain(left.iter().map(|(c, _)| c))
            .cloned()
            .collect();
        crate::interrupt::set_left(
            remaining.iter().map(|c| c.what(user)).collect(),
            cleanup_command(user, &remaining, aws_flags),
        );
        crate::interrupt::test_point("undo");
        match change.undo(iam, keychain, run, &ours(&journal)) {
            Ok(undid) => {
                let words = change.undid_words(&undid, user);
                progress.step(format!("rolled back: {words}"));
                undone.push(words);
            }
            // Another run relies on it: keeping it is the undo, said, not cleaned up.
            Err(e) if e.code.as_deref() == Some(KEPT) => {
                progress.step(format!("kept {}: {}", change.what(user), e.message));
                undone.push(format!("kept {} ({})", change.what(user), e.message));
            }
            Err(e) => left.push((change.clone(), e)),
        }
    }
    let step = failure.step;
    let cause = failure.error.what;
    // An AWS failure already says "Action failed: …": not twice. A signal has no step.
    let head = if step.is_empty() || cause.starts_with(&format!("{step} failed")) {
        cause
    } else {
        format!("{step} failed ({cause})")
    };
    if left.is_empty() {
        let rolled = if undone.is_empty() {
            "nothing had been changed".to_string()
        } else {
            format!("rolled back: {}", undone.join(", "))
        };
        let mut e = Error::new(failure.error.code, format!("{head}; {rolled}"));
        e.fix = failure.error.fix;
        return e;
    }
    let left_changes: Vec<Change> = left.iter().map(|(c, _)| c.clone()).collect();
    let command = if undo_denied(&left) {
        cleanup_command(user, &left_changes, &with_admin_profile(aws_flags))
    } else {
        cleanup_command(user, &left_changes, aws_flags)
    };
    let what_left: Vec<String> = left
        .iter()
        .map(|(c, e)| match c {
            Change::Key(id) | Change::FoundKey(id) => {
                format!("access key {id} ({})", e.describe())
            }
            Change::LostKey(_) => format!(
                "maybe an access key whose CreateAccessKey reply was lost ({}); list them with: aws iam list-access-keys --user-name {user}",
                e.describe()
            ),
            Change::User => format!("user {user} ({})", e.describe()),
            Change::Policy(p, _) => format!("policy attachment {p} ({})", e.describe()),
            Change::Expiry { before: None, .. } => {
                format!("inline policy {EXPIRY_POLICY} ({})", e.describe())
            }
            Change::Expiry { before: Some(_), .. } => format!(
                "inline policy {EXPIRY_POLICY} with this run's date, not the user's earlier one ({})",
                e.describe()
            ),
            Change::LoginProfile => format!("console password ({})", e.describe()),
            Change::ReplacedPassword => format!(
                "a console password nobody received: {user}'s password was (or may have been) replaced, and {}",
                e.message
            ),
            Change::Rotated(id) => format!("received access key {id} ({})", e.describe()),
            Change::Keychain(name, _) | Change::KeychainReplaced(name) => format!(
                "keychain item {name} ({}); delete it with: handoff keychain delete {name}",
                e.describe()
            ),
        })
        .collect();
    // Only the keychain item is left: nothing in AWS, and revoke is not the tool.
    if let [(Change::Keychain(name, _), _)] = left.as_slice() {
        return Error::new(
            ExitCode::RollbackFailed,
            format!(
                "{head}, and the rollback failed too: AWS was rolled back, but left in the keychain: {}",
                what_left.join("; ")
            ),
        )
        .fix(format!("finish the clean-up with: handoff keychain delete {name}"));
    }
    Error::new(
        ExitCode::RollbackFailed,
        format!(
            "{head}, and the rollback failed too: left in AWS: {}",
            what_left.join("; ")
        ),
    )
    .fix(cleanup_fix(&left, &command))
}

#[cfg(test)]
mod printable_tests {
    use super::*;

    #[test]
    fn a_refused_identity_is_replaced_by_admin_in_the_clean_up_flags() {
        assert_eq!(with_admin_profile(""), " --profile ADMIN");
        assert_eq!(with_admin_profile(" --profile ops"), " --profile ADMIN");
        assert_eq!(
            with_admin_profile(" --profile ops --region eu-west-1 --endpoint-url http://x"),
            " --profile ADMIN --region eu-west-1 --endpoint-url http://x"
        );
        assert_eq!(
            with_admin_profile(" --region r"),
            " --profile ADMIN --region r"
        );
    }

    #[test]
    fn a_policy_document_is_printed_as_the_same_json_in_printable_ascii() {
        // Found by the second issue-13 review (F7): a document ending in a newline was
        // printed with `\u{a}` inside the quoted argument, which IAM refused.
        let document = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Sid\": \"caf\u{e9} \u{202e}\u{1f600}\\n\"}]\n}\n";
        let printed = printable_json(document).unwrap();
        assert!(
            printed
                .chars()
                .all(|c| c.is_ascii() && !c.is_ascii_control()),
            "{printed}"
        );
        assert_eq!(
            crate::sanitize::escape_raw(&printed),
            printed,
            "the terminal's escaping leaves it alone"
        );
        let back: serde_json::Value = serde_json::from_str(&printed).unwrap();
        let original: serde_json::Value = serde_json::from_str(document).unwrap();
        assert_eq!(back, original);
        assert_eq!(printable_json("not json"), None);
        let command = cleanup_command(
            "u",
            &[Change::Expiry {
                before: Some("not json\n".into()),
                wrote: "x".into(),
                keys_before: vec![],
            }],
            "",
        );
        assert_eq!(command, "handoff recover");
    }
}
