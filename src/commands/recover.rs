//! `handoff recover`: finishes the rollback of a create that was killed (SIGKILL, a
//! power cut, a crash) or whose rollback failed, from the durable journal it left
//! ([`crate::mint::journal_file`]). Each journal names the changes its run may have
//! made; they are undone newest first, each idempotently (what is gone counts as
//! undone), with the AWS target the run used unless flags say otherwise, and only in
//! the account the run was in. A journal whose run is still alive is left alone.

use crate::aws::{AwsConfig, Iam};
use crate::cli::RecoverArgs;
use crate::error::{Error, ExitCode, Result, shown};
use crate::mint::journal::Change;
use crate::mint::journal_file::{Unfinished, unfinished};
use crate::store::{Keychain, OsKeychain};

/// What to do, as checked values.
pub struct RecoverRequest {
    /// Only say what would be undone.
    pub dry_run: bool,
    /// Undo without asking.
    pub yes: bool,
    /// AWS flags given on the command line (they replace the journal's).
    pub aws: AwsConfig,
}

/// Runs `recover`.
pub fn run(args: &RecoverArgs) -> Result<()> {
    let request = resolve(args)?;
    execute(
        &request,
        &|aws| Ok(Box::new(crate::aws::sdk::SdkIam::new(aws)?) as Box<dyn Iam>),
        &OsKeychain,
    )
}

/// Checks, before reading anything: a question needs a terminal.
pub fn resolve(args: &RecoverArgs) -> Result<RecoverRequest> {
    use std::io::IsTerminal;
    if !args.yes && !args.dry_run && !std::io::stdin().is_terminal() {
        return Err(no_terminal());
    }
    Ok(RecoverRequest {
        dry_run: args.dry_run,
        yes: args.yes,
        aws: args.aws.config(),
    })
}

fn no_terminal() -> Error {
    Error::new(
        ExitCode::Cancelled,
        "recover asks before undoing, and there is no terminal to ask on",
    )
    .fix("pass --yes to undo without asking, or --dry-run to see what would be undone")
}

/// Finds every finished-but-unrecovered journal and undoes it. A journal that cannot
/// be undone (damaged, another account, a refusal) does not stop the others; the first
/// such error is returned at the end.
pub fn execute(
    request: &RecoverRequest,
    iam_for: &dyn Fn(&AwsConfig) -> Result<Box<dyn Iam>>,
    keychain: &dyn Keychain,
) -> Result<()> {
    let journals = unfinished();
    if journals.is_empty() {
        match crate::mint::journal_file::journal_count() {
            0 => crate::say!("Nothing to recover: no interrupted handoff run left a journal."),
            n => crate::say!(
                "Nothing to recover now: {n} journal(s) belong to runs still going (or to another recover, or are not trusted); run it again when they are over"
            ),
        }
        return Ok(());
    }
    let mut failed: Vec<(String, Error)> = Vec::new();
    for journal in journals {
        let path = shown(&journal.path.display().to_string());
        if let Err(e) = recover_one(request, journal, iam_for, keychain) {
            failed.push((path, e));
        }
    }
    match failed.len() {
        0 => Ok(()),
        // One: its own error, naming the journal.
        1 => {
            let (path, e) = failed.remove(0);
            Err(Error {
                what: format!("{path}: {}", e.what),
                ..e
            })
        }
        n => {
            for (path, e) in &failed {
                crate::say!("handoff: {path}: {e}");
            }
            let code = failed[0].1.code;
            Err(Error::new(
                code,
                format!("{n} journals were not recovered (each is named above)"),
            )
            .fix("fix each cause, then run handoff recover again: it is safe to repeat"))
        }
    }
}

fn recover_one(
    request: &RecoverRequest,
    journal: Unfinished,
    iam_for: &dyn Fn(&AwsConfig) -> Result<Box<dyn Iam>>,
    keychain: &dyn Keychain,
) -> Result<()> {
    let h = &journal.header;
    if h.v == 0 {
        // The run died while writing its header: before any change.
        crate::say!("A journal of a run that died before any change: removed.");
        journal.remove();
        return Ok(());
    }
    if let Some(why) = &journal.damaged {
        return Err(Error::input(format!(
            "this journal cannot be trusted ({}); nothing of it was undone",
            crate::error::one_line(why)
        ))
        .fix("look at it, undo what it names by hand (handoff revoke, aws iam), then delete it"));
    }
    let user = h.user.as_str();
    let what: Vec<String> = journal.changes.iter().rev().map(|c| c.what(user)).collect();
    crate::say!(
        "An interrupted `{}` (started {}, pid {}) for user {} in account {} may have made: {}",
        shown(&h.command),
        shown(&h.started),
        h.pid,
        shown(user),
        shown(&h.account),
        crate::sanitize::escape_raw(&if what.is_empty() {
            "nothing".to_string()
        } else {
            what.join(", ")
        })
    );
    if request.dry_run {
        return Ok(());
    }
    if !request.yes && !crate::prompt::yes_no("Undo it?", no_terminal)? {
        crate::say!("Skipped: nothing of it was undone.");
        return Ok(());
    }
    // The run's target, field by field unless given.
    let recorded = h.aws();
    let aws = AwsConfig {
        profile: request.aws.profile.clone().or(recorded.profile),
        region: request.aws.region.clone().or(recorded.region),
        endpoint_url: request.aws.endpoint_url.clone().or(recorded.endpoint_url),
    };
    let iam = iam_for(&aws)?;
    let caller = iam
        .caller()
        .map_err(|e| crate::aws::errors::failed(&e, crate::aws::errors::Whose::Caller))?;
    if caller.account != h.account {
        return Err(Error::new(
            ExitCode::Conflict,
            format!(
                "the journal's changes are in account {}, but these credentials are for account {}; nothing was undone",
                shown(&h.account),
                shown(&caller.account)
            ),
        )
        .fix(format!("run it with credentials of account {} (--profile)", shown(&h.account))));
    }
    let started: Option<jiff::Timestamp> = h.started.parse().ok();
    let (done, left, cannot) = undo_all(&journal.changes, iam.as_ref(), user, keychain, started);
    if !left.is_empty() {
        return Err(Error::new(
            ExitCode::RollbackFailed,
            format!(
                "recover could not undo everything: left: {}",
                crate::sanitize::escape_raw(&left.join("; "))
            ),
        )
        .fix("fix the cause, then run handoff recover again: it is safe to repeat"));
    }
    journal.remove();
    let done = if done.is_empty() {
        "nothing was left to undo".to_string()
    } else {
        done.join(", ")
    };
    crate::say!("Recovered: {}", crate::sanitize::escape_raw(&done));
    for c in cannot {
        crate::say!("Not undone: {}", crate::sanitize::escape_raw(&c));
    }
    Ok(())
}

/// Undoes a journal newest first: (what was undone, what is left, what cannot be).
fn undo_all(
    changes: &[Change],
    iam: &dyn Iam,
    user: &str,
    keychain: &dyn Keychain,
    started: Option<jiff::Timestamp>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut done, mut left, mut cannot) = (Vec::new(), Vec::new(), Vec::new());
    let ours = crate::mint::journal::ours(changes);
    // A rotation that delivered its new key is finished, not undone: the received key
    // goes, the new one stays.
    let rotated = changes.iter().any(|c| matches!(c, Change::Rotated(_)));
    for change in changes.iter().rev() {
        if rotated && !matches!(change, Change::Rotated(_)) {
            continue;
        }
        match change {
            Change::ReplacedPassword => cannot.push(format!(
                "{user}'s console password was (or may have been) replaced, and the old one cannot be restored; give the user a new one: handoff create --user {user} --no-policy --console-password --reset-password --to RECIPIENT"
            )),
            Change::LostKey(before) => match lost_keys(iam, user, before, started) {
                Ok(deleted) if deleted.is_empty() => {}
                Ok(deleted) => done.push(format!(
                    "deleted access key {} (made by the CreateAccessKey whose reply never arrived)",
                    deleted.join(", ")
                )),
                Err(e) => left.push(format!("{} ({e})", change.what(user))),
            },
            _ => match change.undo(iam, user, keychain, &ours) {
                Ok(()) => done.push(change.undo_words()),
                // Another run relies on it: keeping it is the undo.
                Err(e) if e.code.as_deref() == Some(crate::mint::journal::KEPT) => {
                    cannot.push(format!("kept {} ({})", change.what(user), e.message));
                }
                Err(e) => left.push(format!("{} ({})", change.what(user), e.describe())),
            },
        }
    }
    (done, left, cannot)
}

/// Deletes the key a CreateAccessKey made although its reply (and id) never arrived: a
/// key not among those before it and created within two minutes of the run's start.
/// A key made later belongs to another run, and is kept.
fn lost_keys(
    iam: &dyn Iam,
    user: &str,
    before: &[String],
    started: Option<jiff::Timestamp>,
) -> std::result::Result<Vec<String>, String> {
    let keys = match iam.access_keys(user) {
        Err(e) if e.is_no_such_entity() => return Ok(Vec::new()),
        other => other.map_err(|e| e.describe())?,
    };
    let window = jiff::SignedDuration::from_mins(2);
    let mut deleted = Vec::new();
    for k in keys.iter().filter(|k| !before.contains(&k.id)) {
        let in_window = match (k.created, started) {
            (Some(c), Some(s)) => c >= s - window && c <= s + window,
            _ => false,
        };
        if !in_window {
            crate::say!(
                "kept access key {}: made outside this run's minutes, so another run's",
                shown(&k.id)
            );
            continue;
        }
        match iam.delete_access_key(user, &k.id) {
            Ok(()) => deleted.push(k.id.clone()),
            Err(e) if e.is_no_such_entity() => {}
            Err(e) => return Err(e.describe()),
        }
    }
    Ok(deleted)
}
