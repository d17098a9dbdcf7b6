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
use crate::store::Keychain;

/// The command a rotation's journal names.
const ROTATE: &str = "open --rotate";

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
pub fn run(args: &RecoverArgs, keychain: &dyn Keychain) -> Result<()> {
    let request = resolve(args)?;
    execute(
        &request,
        &|aws| Ok(Box::new(crate::aws::sdk::SdkIam::new(aws)?) as Box<dyn Iam>),
        keychain,
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
        // A signal stops the journals after this one too.
        if crate::interrupt::signal().is_some() {
            break;
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
            let code =
                crate::interrupt::signal().map_or(failed[0].1.code, crate::interrupt::exit_code);
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
    if let Some(why) = &journal.damaged {
        return Err(Error::input(format!(
            "this journal cannot be trusted ({}); nothing of it was undone",
            crate::error::one_line(why)
        ))
        .fix("look at it, undo what it names by hand (handoff revoke, aws iam), then delete it"));
    }
    if h.v == 0 {
        // A header cut short, and nothing after it: the run died before any change.
        if request.dry_run {
            crate::say!("A journal of a run that died before any change: recover would remove it.");
        } else {
            crate::say!("A journal of a run that died before any change: removed.");
            journal.remove();
        }
        return Ok(());
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
    // A rotation's profile is where its new key went: before the delivery, nothing.
    let delivered = journal
        .changes
        .iter()
        .any(|c| matches!(c, Change::Rotated(_)));
    let recorded_profile = recorded
        .profile
        .filter(|_| h.command != ROTATE || delivered);
    let aws = AwsConfig {
        profile: request.aws.profile.clone().or(recorded_profile),
        region: request.aws.region.clone().or(recorded.region),
        endpoint_url: request.aws.endpoint_url.clone().or(recorded.endpoint_url),
    };
    let iam = iam_for(&aws)?;
    let caller = iam.caller().map_err(|e| {
        let e = crate::aws::errors::failed(&e, crate::aws::errors::Whose::Caller);
        if h.command != ROTATE {
            return e;
        }
        // The teammate may hold no other credentials than the bundle's key.
        let fix = e.fix.clone().unwrap_or_default();
        e.fix(format!(
            "{fix}; the bundle's key, which still works, can undo its own rotation: handoff open BUNDLE -i IDENTITY --aws-profile NAME, then handoff recover --profile NAME"
        ))
    })?;
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
    let run = crate::mint::journal::Run {
        user: user.to_string(),
        started: h.started.parse().ok(),
        ledger: Some(h.account.clone()),
    };
    // Undoing is changing: a signal now stops between two undos, and the journal
    // stays for the next recover (every undo is safe to repeat).
    let _changing = crate::interrupt::changing();
    let flags = aws.command_flags();
    let undone = undo_all(&journal.changes, iam.as_ref(), &run, keychain, &flags);
    report(undone, journal)
}

/// Says what undoing a journal came to, and removes the journal unless another
/// recover could still do more (a signal stopped it, or an undo failed).
fn report(undone: Undone, journal: Unfinished) -> Result<()> {
    let Undone {
        done,
        left,
        kept,
        cannot,
        stopped,
    } = undone;
    let words = |list: &[String]| crate::sanitize::escape_raw(&list.join(", ")).into_owned();
    if let Some(e) = stopped {
        let already = if done.is_empty() {
            String::new()
        } else {
            format!(" (already undone: {})", words(&done))
        };
        return Err(Error {
            what: format!("{}{already}", e.what),
            ..e
        }
        .fix("run handoff recover again to finish: it is safe to repeat"));
    }
    if !left.is_empty() {
        return Err(Error::new(
            ExitCode::RollbackFailed,
            format!(
                "recover could not undo everything: left: {}",
                crate::sanitize::escape_raw(&left.join("; "))
            ),
        )
        .fix(if left.iter().any(|l| l.contains("failed: AccessDenied")) {
            "AWS refused this identity the undo: run handoff recover again as one that may delete IAM keys, policies and users (--profile ADMIN); it is safe to repeat"
        } else {
            "fix the cause, then run handoff recover again: it is safe to repeat"
        }));
    }
    // Nothing more a recover could do: what is left needs a person.
    journal.remove();
    if done.is_empty() {
        crate::say!("Recovered: nothing was left to undo");
    } else {
        crate::say!("Recovered: {}", words(&done));
    }
    for k in &kept {
        crate::say!("Not undone: {}", crate::sanitize::escape_raw(k));
    }
    match cannot.len() {
        0 => Ok(()),
        _ => Err(Error::new(
            ExitCode::RollbackFailed,
            format!(
                "left in AWS, which recover cannot undo: {}",
                crate::sanitize::escape_raw(
                    &cannot
                        .iter()
                        .map(|c| c.0.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            ),
        )
        .fix(crate::sanitize::escape_raw(
            &cannot
                .iter()
                .map(|c| c.1.as_str())
                .collect::<Vec<_>>()
                .join("; then "),
        ))),
    }
}

/// What undoing a journal came to, in words.
struct Undone {
    done: Vec<String>,
    left: Vec<String>,
    /// Kept because another run relies on it: keeping it is the undo.
    kept: Vec<String>,
    /// What no recover can undo, and how a person can: (what, the fix).
    cannot: Vec<(String, String)>,
    /// A signal stopped it before the next undo.
    stopped: Option<Error>,
}
/// Undoes a journal newest first. `flags`: the AWS flags every printed command repeats.
fn undo_all(
    changes: &[Change],
    iam: &dyn Iam,
    run: &crate::mint::journal::Run,
    keychain: &dyn Keychain,
    flags: &str,
) -> Undone {
    let user = run.user.as_str();
    let mut undone = Undone {
        done: Vec::new(),
        left: Vec::new(),
        kept: Vec::new(),
        cannot: Vec::new(),
        stopped: None,
    };
    let ours = crate::mint::journal::ours(changes);
    // A rotation that delivered its new key is finished, not undone: the received key
    // goes, the new one stays.
    let rotated = changes.iter().any(|c| matches!(c, Change::Rotated(_)));
    let todo: Vec<&Change> = changes
        .iter()
        .rev()
        .filter(|c| !rotated || matches!(c, Change::Rotated(_)))
        .collect();
    for (n, change) in todo.iter().enumerate() {
        // What a third signal would leave: this undo and those after it.
        crate::interrupt::set_left(
            todo[n..].iter().map(|c| shown(&c.what(user))).collect(),
            "handoff recover".into(),
        );
        if let Err(e) = crate::interrupt::check(&format!("undoing {}", shown(&change.what(user)))) {
            undone.stopped = Some(e);
            return undone;
        }
        crate::interrupt::test_point("recover");
        if let Change::ReplacedPassword = change {
            undone.cannot.push((
                format!("{user}'s console password was (or may have been) replaced, and the old one cannot be restored"),
                format!("give the user a new one: handoff create{flags} --user {user} --no-policy --console-password --reset-password --to RECIPIENT"),
            ));
            continue;
        }
        match change.undo(iam, keychain, run, &ours) {
            Ok(undid) => undone.done.push(change.undid_words(&undid, user)),
            // Another run relies on it: keeping it is the undo.
            Err(e) if e.code.as_deref() == Some(crate::mint::journal::KEPT) => {
                undone
                    .kept
                    .push(format!("kept {} ({})", change.what(user), e.message));
            }
            // Only a person can tell which key is the lost one.
            Err(e) if e.code.as_deref() == Some(crate::mint::lost_key::UNCLEAR) => {
                undone.cannot.push((
                    e.message.clone(),
                    format!(
                        "delete the one no bundle or profile holds: handoff revoke{flags} --user {user} --access-key-id ID --yes"
                    ),
                ));
            }
            Err(e) => undone
                .left
                .push(format!("{} ({})", change.what(user), e.describe())),
        }
    }
    undone
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeIam;
    use crate::mint::journal::Run;

    fn run() -> Run {
        Run {
            user: "u".into(),
            started: Some(jiff::Timestamp::now()),
            ledger: None,
        }
    }

    #[test]
    fn what_no_recover_can_undo_names_the_command_with_the_runs_flags() {
        let iam = FakeIam::new().with_user("u").with_key("u").with_key("u");
        let undone = undo_all(
            &[Change::ReplacedPassword, Change::LostKey(Vec::new())],
            &iam,
            &run(),
            &crate::store::memory::MemKeychain::default(),
            " --profile org",
        );
        assert!(undone.left.is_empty() && undone.done.is_empty());
        let fixes: Vec<&str> = undone.cannot.iter().map(|c| c.1.as_str()).collect();
        assert_eq!(
            fixes,
            [
                "delete the one no bundle or profile holds: handoff revoke --profile org --user u --access-key-id ID --yes",
                "give the user a new one: handoff create --profile org --user u --no-policy --console-password --reset-password --to RECIPIENT",
            ]
        );
    }

    #[test]
    fn what_was_already_gone_is_said_so_not_claimed_as_undone() {
        // The printed clean-up was run before recover.
        let iam = FakeIam::new();
        let undone = undo_all(
            &[Change::User, Change::Key("AKIAIOSFODNN7EXAMPLE".into())],
            &iam,
            &run(),
            &crate::store::memory::MemKeychain::default(),
            "",
        );
        assert_eq!(
            undone.done,
            [
                "access key AKIAIOSFODNN7EXAMPLE was not there to undo",
                "user u was not there to undo"
            ]
        );
    }
}
