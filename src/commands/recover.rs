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

/// Finds every finished-but-unrecovered journal and undoes it.
pub fn execute(
    request: &RecoverRequest,
    iam_for: &dyn Fn(&AwsConfig) -> Result<Box<dyn Iam>>,
    keychain: &dyn Keychain,
) -> Result<()> {
    let journals = unfinished();
    if journals.is_empty() {
        crate::say!("Nothing to recover: no interrupted handoff run left a journal.");
        return Ok(());
    }
    for journal in journals {
        recover_one(request, journal, iam_for, keychain)?;
    }
    Ok(())
}

fn recover_one(
    request: &RecoverRequest,
    journal: Unfinished,
    iam_for: &dyn Fn(&AwsConfig) -> Result<Box<dyn Iam>>,
    keychain: &dyn Keychain,
) -> Result<()> {
    let h = &journal.header;
    let user = h.user.as_str();
    let what: Vec<String> = journal.changes.iter().rev().map(|c| c.what(user)).collect();
    crate::say!(
        "An interrupted `{}` (started {}, pid {}) in account {} may have made: {}",
        h.command,
        shown(&h.started),
        h.pid,
        shown(&h.account),
        if what.is_empty() {
            "nothing".to_string()
        } else {
            what.join(", ")
        }
    );
    if request.dry_run {
        return Ok(());
    }
    if !request.yes && !crate::prompt::yes_no("Undo it?", no_terminal)? {
        return Err(Error::new(ExitCode::Cancelled, "nothing was undone")
            .fix("answer y to undo, or pass --yes"));
    }
    let given = request.aws != AwsConfig::default();
    let aws = if given { request.aws.clone() } else { h.aws() };
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
    let mut done = Vec::new();
    let mut left = Vec::new();
    // A rotation that delivered its new key is finished, not undone: the received key
    // goes, the new one stays.
    let ours = crate::mint::journal::ours(&journal.changes);
    let rotated = journal
        .changes
        .iter()
        .any(|c| matches!(c, Change::Rotated(_)));
    for change in journal.changes.iter().rev() {
        if rotated && !matches!(change, Change::Rotated(_)) {
            continue;
        }
        if *change == Change::ReplacedPassword {
            crate::say!(
                "cannot undo: {user}'s console password was (or may have been) replaced; the old one cannot be restored"
            );
            continue;
        }
        match change.undo(iam.as_ref(), user, keychain, &ours) {
            Ok(()) => done.push(change.undo_words()),
            Err(e) => left.push(format!("{} ({})", change.what(user), e.describe())),
        }
    }
    if !left.is_empty() {
        return Err(Error::new(
            ExitCode::RollbackFailed,
            format!(
                "recover could not undo everything: left: {}",
                left.join("; ")
            ),
        )
        .fix("fix the cause, then run handoff recover again: it is safe to repeat"));
    }
    journal.remove();
    crate::say!(
        "Recovered: {}",
        if done.is_empty() {
            "nothing was left to undo".to_string()
        } else {
            done.join(", ")
        }
    );
    Ok(())
}
