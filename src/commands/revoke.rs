//! `handoff revoke`: cleans the bootstrap user up once its work is done: one access key,
//! or every key, the console password, handoff's expiry policy and the policy
//! attachments, and with `--delete-user` the user itself (and its other inline
//! policies, which IAM requires gone first). Idempotent: what is already gone is
//! reported, not an error. Asks before deleting unless `--yes`.

use std::io::IsTerminal;

use crate::aws::names::{EXPIRY_POLICY, valid_user_name};
use crate::aws::{AwsConfig, AwsError, Iam};
use crate::cli::RevokeArgs;
use crate::error::{Error, ExitCode, Result, shown};

/// What to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One access key (`--access-key-id`).
    Key(String),
    /// Every key, the password, handoff's expiry policy and the attachments.
    Credentials,
    /// All that, the other inline policies, and the user (`--delete-user`).
    User,
}

/// Whether to ask before deleting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Ask on the terminal.
    Ask,
    /// `--yes`.
    Yes,
}

/// A checked `revoke` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeRequest {
    /// The IAM user.
    pub user: String,
    /// What to delete.
    pub scope: Scope,
    /// Ask first or not.
    pub confirm: Confirm,
    /// Print the report as JSON on stdout.
    pub json: bool,
    /// Where AWS calls go.
    pub aws: AwsConfig,
}

/// What `execute` needs from outside.
pub struct Deps<'a> {
    /// IAM, as the caller.
    pub iam: &'a dyn Iam,
    /// Asks a yes/no question.
    pub confirm: &'a dyn Fn(&str) -> Result<bool>,
}

/// What revoke did, for the report.
#[derive(Default)]
struct Report {
    done: Vec<String>,
    gone: Vec<String>,
}

/// A failed call stops revoke: exit 6 when nothing was deleted yet, 12 when some was.
fn stopped(e: &AwsError, report: &Report) -> Error {
    let (code, so_far) = if report.done.is_empty() {
        (ExitCode::Aws, "nothing was deleted".to_string())
    } else {
        (
            ExitCode::RevokeIncomplete,
            format!("already deleted: {}", report.done.join(", ")),
        )
    };
    // IAM refuses DeleteUser while the user has what revoke does not remove.
    if e.action == "DeleteUser" && e.code.as_deref() == Some("DeleteConflict") {
        return Error::new(
            code,
            format!(
                "{} ({so_far}): the user still has something handoff never makes and does not remove: a group membership, an MFA device, an SSH public key, a signing certificate or a service-specific credential",
                e.describe()
            ),
        )
        .fix("find it with `aws iam list-groups-for-user`, `aws iam list-mfa-devices`, `aws iam list-ssh-public-keys`, `aws iam list-signing-certificates` and `aws iam list-service-specific-credentials` (each with --user-name), remove it, then run the same command again");
    }
    // The caller's own line for a refused signature, an unknown key, an expired session,
    // a missing permission, credentials that cannot be loaded, a clock that is off.
    const AGAIN: &str = "fix the cause and run the same command again: revoke is safe to repeat";
    let f = crate::aws::errors::failed_or(e, crate::aws::errors::Whose::Caller, AGAIN);
    let fix = match f.fix {
        Some(fix) if fix.ends_with("run the command again") => {
            format!("{fix} (revoke is safe to repeat)")
        }
        Some(fix) if fix != AGAIN => {
            format!("{fix}; then run the same command again (revoke is safe to repeat)")
        }
        _ => AGAIN.to_string(),
    };
    Error::new(code, format!("{} ({so_far})", f.what)).fix(fix)
}

/// Runs `revoke`.
pub fn run(args: &RevokeArgs) -> Result<()> {
    let request = resolve(args)?;
    crate::mint::journal_file::warn_if_unfinished();
    let iam = crate::aws::sdk::SdkIam::new(&request.aws)?;
    execute(
        &request,
        &Deps {
            iam: &iam,
            confirm: &confirm_on_terminal,
        },
    )
}

/// Checks the user name and the key id before any call.
pub fn resolve(args: &RevokeArgs) -> Result<RevokeRequest> {
    if !valid_user_name(&args.user) {
        return Err(crate::preflight::bad_user_name(&args.user));
    }
    if let Some(id) = &args.access_key_id
        && let Err(e) = crate::access_key::AccessKeyId::parse(id)
    {
        return Err(Error::input(format!(
            "--access-key-id {} {}",
            crate::error::shown(id),
            e.rule()
        ))
        .fix("copy the access key ID (AKIA…) from `handoff open BUNDLE` or the IAM console"));
    }
    Ok(RevokeRequest {
        user: args.user.clone(),
        scope: match (&args.access_key_id, args.delete_user) {
            (Some(id), _) => Scope::Key(id.clone()),
            (None, true) => Scope::User,
            (None, false) => Scope::Credentials,
        },
        confirm: if args.yes {
            Confirm::Yes
        } else {
            // Known before any call: nobody can answer the question.
            if !std::io::stdin().is_terminal() {
                return Err(no_terminal());
            }
            Confirm::Ask
        },
        json: args.json,
        aws: args.aws.config(),
    })
}

/// A question with no terminal to answer it: no prompt can be shown (exit 10).
fn no_terminal() -> Error {
    Error::new(
        ExitCode::Cancelled,
        "revoke needs a confirmation and there is no terminal to ask on",
    )
    .fix("pass --yes to delete without asking")
}

fn confirm_on_terminal(question: &str) -> Result<bool> {
    crate::prompt::yes_no(question, no_terminal)
}

/// Looks, asks (unless `--yes`), deletes, and reports what was deleted and what was
/// already gone.
pub fn execute(request: &RevokeRequest, deps: &Deps) -> Result<()> {
    let (iam, user) = (deps.iam, request.user.as_str());
    let mut report = Report::default();
    // A key is revoked where it belongs: IAM says whose it is (the user may be gone,
    // or the id may be another user's: DeleteAccessKey would then say "not found").
    if let Scope::Key(id) = &request.scope
        && !key_is_users(request, iam, id, &report)?
    {
        report
            .gone
            .push(format!("access key {id} (IAM has no such key)"));
        return finish(request, report);
    }
    let Some(found_user) = iam.user(user).map_err(|e| stopped(&e, &report))? else {
        report.gone.push(format!("user {user}"));
        return finish(request, report);
    };
    if let Scope::Key(id) = &request.scope {
        let question = format!("Delete access key {} of {user}?", shown(id));
        ask(request, deps, &question)?;
        let _changing = crate::interrupt::changing();
        step(
            || iam.delete_access_key(user, id),
            format!("access key {id}"),
            &mut report,
        )?;
        return finish(request, report);
    }
    let found = Found {
        keys: iam
            .access_keys(user)
            .map_err(|e| stopped(&e, &report))?
            .into_iter()
            .map(|k| k.id)
            .collect(),
        policies: iam
            .attached_policies(user)
            .map_err(|e| stopped(&e, &report))?,
        inline: iam
            .inline_policies(user)
            .map_err(|e| stopped(&e, &report))?,
        has_password: iam
            .has_login_profile(user)
            .map_err(|e| stopped(&e, &report))?,
    };
    refuse_self(request, iam, &report)?;
    // Said even with --yes: an identity someone else may have made is being stripped.
    if !found_user.made_by_handoff {
        crate::say!(
            "handoff: note: handoff did not create user {user} (it has no {}=handoff tag): what revoke deletes may be someone else's",
            crate::aws::names::CREATED_BY_TAG
        );
    }
    let delete_user = request.scope == Scope::User;
    // Without the user, only handoff's own inline policy goes: others are the owner's.
    let inline: Vec<&String> = found
        .inline
        .iter()
        .filter(|p| delete_user || *p == EXPIRY_POLICY)
        .collect();
    let question = format!(
        "Delete from {user}: {}?",
        found.describe(user, &inline, delete_user)
    );
    ask(request, deps, &question)?;
    // From the first delete on, a signal stops the run between two deletes.
    let _changing = crate::interrupt::changing();
    for k in &found.keys {
        step(
            || iam.delete_access_key(user, k),
            format!("access key {k}"),
            &mut report,
        )?;
    }
    if found.has_password {
        step(
            || iam.delete_login_profile(user),
            "console password".into(),
            &mut report,
        )?;
    } else {
        report.gone.push("console password".into());
    }
    for p in &found.policies {
        step(
            || iam.detach_policy(user, p),
            format!("attachment of {p}"),
            &mut report,
        )?;
    }
    for p in inline {
        step(
            || iam.delete_inline_policy(user, p),
            format!("inline policy {p}"),
            &mut report,
        )?;
    }
    if delete_user {
        step(
            || iam.delete_user(user),
            format!("user {user}"),
            &mut report,
        )?;
    }
    finish(request, report)
}

/// Whether IAM has key `id` for the request's user: false when it has no such key; an
/// error (exit 11, with the command that works) when it is another user's.
fn key_is_users(request: &RevokeRequest, iam: &dyn Iam, id: &str, report: &Report) -> Result<bool> {
    let user = request.user.as_str();
    match iam.key_owner(id).map_err(|e| stopped(&e, report))? {
        None => Ok(false),
        Some(owner) if owner != user => Err(Error::new(
            ExitCode::Conflict,
            format!(
                "access key {id} belongs to user {}, not {user}; nothing was deleted",
                shown(&owner)
            ),
        )
        .fix(format!(
            "revoke it there: handoff revoke{} --user {} --access-key-id {id}",
            request.aws.command_flags(),
            shown(&owner)
        ))),
        Some(_) => Ok(true),
    }
}

/// What the user has, as listed before deleting.
struct Found {
    keys: Vec<String>,
    policies: Vec<String>,
    inline: Vec<String>,
    has_password: bool,
}

impl Found {
    /// The list the confirmation question names.
    fn describe(&self, user: &str, inline: &[&String], delete_user: bool) -> String {
        let mut what: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("access key {k}"))
            .collect();
        if self.has_password {
            what.push("the console password".into());
        }
        what.extend(self.policies.iter().map(|p| format!("attachment of {p}")));
        what.extend(inline.iter().map(|p| format!("inline policy {p}")));
        if delete_user {
            what.push(format!("the user {user}"));
        }
        if what.is_empty() {
            what.push("nothing (all already gone)".into());
        }
        what.join(", ")
    }
}

/// Signed in as the user itself, revoke would delete its own key first and then be
/// refused the rest, leaving the user with its policies and no key to finish with.
fn refuse_self(request: &RevokeRequest, iam: &dyn Iam, report: &Report) -> Result<()> {
    let user = request.user.as_str();
    let caller = iam.caller().map_err(|e| stopped(&e, report))?;
    // IAM user names are unique whatever their case, and resolve whatever the case.
    if !crate::aws::names::user_of_arn(&caller.arn).is_some_and(|u| u.eq_ignore_ascii_case(user)) {
        return Ok(());
    }
    Err(Error::new(
        ExitCode::Conflict,
        format!(
            "revoke is signed in as {user} itself ({}): it would delete the key it signs with first, and then be refused the rest; nothing was deleted",
            shown(&caller.arn)
        ),
    )
    .fix(format!(
        "run it as another identity that may manage IAM users, e.g. an administrator's: handoff revoke --profile ADMIN --user {user}{}",
        if request.scope == Scope::User { " --delete-user" } else { "" }
    )))
}

/// Asks, unless `--yes`; a "no" cancels with nothing deleted.
fn ask(request: &RevokeRequest, deps: &Deps, question: &str) -> Result<()> {
    if request.confirm == Confirm::Yes || (deps.confirm)(question)? {
        return Ok(());
    }
    Err(Error::new(ExitCode::Cancelled, "nothing was deleted")
        .fix("answer y to delete, or pass --yes"))
}

/// One delete: done, already gone (idempotent), or the end of the run. A signal
/// received meanwhile stops the run before it, with what was already deleted.
fn step(
    delete: impl FnOnce() -> std::result::Result<(), AwsError>,
    what: String,
    report: &mut Report,
) -> Result<()> {
    if let Err(e) = crate::interrupt::check(&format!("deleting the {what}")) {
        let so_far = if report.done.is_empty() {
            "nothing was deleted".to_string()
        } else {
            format!("already deleted: {}", report.done.join(", "))
        };
        return Err(Error {
            what: format!("{} ({so_far})", e.what),
            ..e
        }
        .fix("run the same command again to finish: revoke is safe to repeat"));
    }
    let r = delete();
    crate::interrupt::test_point("delete");
    match r {
        Ok(()) => report.done.push(what),
        Err(e) if e.is_no_such_entity() => report.gone.push(what),
        Err(e) => return Err(stopped(&e, report)),
    }
    Ok(())
}

fn finish(request: &RevokeRequest, report: Report) -> Result<()> {
    if request.json {
        let v = serde_json::json!({"user_name": request.user, "deleted": report.done, "already_gone": report.gone});
        return crate::output::write_stdout(
            format!("{}\n", crate::sanitize::json_line(&v)).as_bytes(),
        );
    }
    for d in &report.done {
        crate::say!("deleted: {}", crate::sanitize::escape_raw(d));
    }
    for g in &report.gone {
        crate::say!("already gone: {}", crate::sanitize::escape_raw(g));
    }
    if report.done.is_empty() {
        crate::say!("Nothing to delete.");
    }
    Ok(())
}

#[cfg(test)]
#[path = "revoke_tests.rs"]
mod tests;
