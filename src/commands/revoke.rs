//! `handoff revoke`: cleans the bootstrap user up once its work is done: one access key,
//! or every key, the console password, handoff's expiry policy and the policy
//! attachments, and with `--delete-user` the user itself (and its other inline
//! policies, which IAM requires gone first). Idempotent: what is already gone is
//! reported, not an error. Asks before deleting unless `--yes`.

use std::io::{BufRead, IsTerminal, Write};

use crate::aws::{AwsError, Iam};
use crate::cli::RevokeArgs;
use crate::error::{Error, ExitCode, Result, shown};

use super::create::EXPIRY_POLICY;

/// What revoke did, for the report.
#[derive(Default)]
struct Report {
    done: Vec<String>,
    gone: Vec<String>,
}

fn failed(e: &AwsError, report: &Report) -> Error {
    let so_far = if report.done.is_empty() {
        "nothing was deleted".to_string()
    } else {
        format!("already deleted: {}", report.done.join(", "))
    };
    Error::new(ExitCode::Aws, format!("{} ({so_far})", e.describe()))
        .fix("fix the cause and run the same command again: revoke is safe to repeat")
}

/// Runs `revoke`.
pub fn run(args: &RevokeArgs) -> Result<()> {
    if !crate::bundle::valid_user_name(&args.user) {
        return Err(Error::input(format!(
            "--user {} is not a valid IAM user name",
            crate::error::shown(&args.user)
        ))
        .fix("use 1-64 letters, digits and + = , . @ _ - (e.g. --user mgmt-org-admin)"));
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
    let iam = crate::aws::sdk::SdkIam::new(&args.aws)?;
    revoke(&iam, args, &confirm_on_terminal)
}

fn confirm_on_terminal(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::new(
            ExitCode::Usage,
            "revoke needs a confirmation and there is no terminal to ask on",
        )
        .fix("pass --yes to delete without asking"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::input(format!("cannot read the answer: {e}")).fix("pass --yes"))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES"))
}

/// The body of `revoke`, against any [`Iam`].
pub fn revoke(
    iam: &dyn Iam,
    args: &RevokeArgs,
    confirm: &dyn Fn(&str) -> Result<bool>,
) -> Result<()> {
    let user = args.user.as_str();
    let mut report = Report::default();
    if iam
        .user_arn(user)
        .map_err(|e| failed(&e, &report))?
        .is_none()
    {
        report.gone.push(format!("user {user}"));
        return finish(args, report);
    }
    if let Some(id) = &args.access_key_id {
        if !args.yes && !confirm(&format!("Delete access key {} of {user}?", shown(id)))? {
            return Err(Error::new(ExitCode::Cancelled, "nothing was deleted")
                .fix("answer y to delete, or pass --yes"));
        }
        match iam.delete_access_key(user, id) {
            Ok(()) => report.done.push(format!("access key {id}")),
            Err(e) if e.is_no_such_entity() => report.gone.push(format!("access key {id}")),
            Err(e) => return Err(failed(&e, &report)),
        }
        return finish(args, report);
    }
    let keys = iam.access_keys(user).map_err(|e| failed(&e, &report))?;
    let policies = iam
        .attached_policies(user)
        .map_err(|e| failed(&e, &report))?;
    let inline = iam.inline_policies(user).map_err(|e| failed(&e, &report))?;
    let has_password = iam
        .has_login_profile(user)
        .map_err(|e| failed(&e, &report))?;
    if !args.yes {
        let mut what: Vec<String> = keys
            .iter()
            .map(|k| format!("access key {}", k.id))
            .collect();
        if has_password {
            what.push("the console password".into());
        }
        what.extend(policies.iter().map(|p| format!("attachment of {p}")));
        if args.delete_user {
            what.extend(inline.iter().map(|p| format!("inline policy {p}")));
            what.push(format!("the user {user}"));
        } else if inline.iter().any(|p| p == EXPIRY_POLICY) {
            what.push(format!("inline policy {EXPIRY_POLICY}"));
        }
        if what.is_empty() {
            what.push("nothing (all already gone)".into());
        }
        if !confirm(&format!("Delete from {user}: {}?", what.join(", ")))? {
            return Err(Error::new(ExitCode::Cancelled, "nothing was deleted")
                .fix("answer y to delete, or pass --yes"));
        }
    }
    let step =
        |r: std::result::Result<(), AwsError>, what: String, report: &mut Report| -> Result<()> {
            match r {
                Ok(()) => report.done.push(what),
                Err(e) if e.is_no_such_entity() => report.gone.push(what),
                Err(e) => return Err(failed(&e, report)),
            }
            Ok(())
        };
    for k in &keys {
        step(
            iam.delete_access_key(user, &k.id),
            format!("access key {}", k.id),
            &mut report,
        )?;
    }
    if has_password {
        step(
            iam.delete_login_profile(user),
            "console password".into(),
            &mut report,
        )?;
    } else {
        report.gone.push("console password".into());
    }
    for p in &policies {
        step(
            iam.detach_policy(user, p),
            format!("attachment of {p}"),
            &mut report,
        )?;
    }
    for p in &inline {
        if args.delete_user || p == EXPIRY_POLICY {
            step(
                iam.delete_inline_policy(user, p),
                format!("inline policy {p}"),
                &mut report,
            )?;
        }
    }
    if args.delete_user {
        step(iam.delete_user(user), format!("user {user}"), &mut report)?;
    }
    finish(args, report)
}

fn finish(args: &RevokeArgs, report: Report) -> Result<()> {
    if args.json {
        let v = serde_json::json!({"user_name": args.user, "deleted": report.done, "already_gone": report.gone});
        return crate::output::write_stdout(
            format!("{}\n", crate::sanitize::json_line(&v)).as_bytes(),
        );
    }
    for d in &report.done {
        eprintln!("deleted: {}", crate::sanitize::escape_raw(d));
    }
    for g in &report.gone {
        eprintln!("already gone: {}", crate::sanitize::escape_raw(g));
    }
    if report.done.is_empty() {
        eprintln!("Nothing to delete.");
    }
    Ok(())
}
