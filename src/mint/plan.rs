//! The read-only half of `create`: what AWS holds now (GetCallerIdentity, GetUser, the
//! user's policies, keys and password), and so what the run will change. Conflicts
//! that no change could fix (two keys already, a password without `--reset-password`)
//! are refused here, before anything is changed (exit 11).

use std::fmt::Write as _;

use jiff::Timestamp;

use super::order::{Order, Policies};
use crate::aws::errors::{Whose, failed};
use crate::aws::names::{CREATED_BY_TAG, DEFAULT_POLICY, EXPIRY_POLICY, expiry_of, expiry_policy};
use crate::aws::{Caller, Iam, KeyInfo, PasswordPolicy};
use crate::error::{Error, ExitCode, Result, shown};
use crate::progress::Progress;

/// How the console password is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordStep {
    /// CreateLoginProfile: the user has none.
    Create,
    /// UpdateLoginProfile: `--reset-password` replaces the user's password.
    Replace,
}

impl PasswordStep {
    /// The IAM action.
    pub fn action(self) -> &'static str {
        match self {
            PasswordStep::Create => "CreateLoginProfile",
            PasswordStep::Replace => "UpdateLoginProfile",
        }
    }
}

/// What the run decided after its read-only checks.
pub struct Plan {
    /// Who is calling.
    pub caller: Caller,
    /// The user's ARN when it exists already (reused); `None`: CreateUser.
    pub user_arn: Option<String>,
    /// Policies to attach (those not attached yet).
    pub attach: Vec<String>,
    /// When AWS denies everything the user does: the new expiry, or the one the user
    /// already has (the bundle says so either way).
    pub expires_at: Option<Timestamp>,
    /// The expiry policy to write (`--expires`), and the document it replaces.
    pub new_expiry: Option<Timestamp>,
    /// The user's `handoff-expiry` policy before the run, to put back on rollback.
    pub expiry_before: Option<String>,
    /// Whether to mint an access key.
    pub access_key: bool,
    /// Whether and how to set a console password.
    pub password: Option<PasswordStep>,
    /// The user's keys before the run (to find a key whose CreateAccessKey reply was lost).
    pub keys_before: Vec<KeyInfo>,
    /// The account's password policy, which a generated password meets.
    pub password_policy: Option<PasswordPolicy>,
    /// The account alias, for the sign-in URL.
    pub alias: Option<String>,
    /// What this run would change on an existing user handoff did not create, without
    /// `--adopt`: each is a decision, not a side effect ([`decide_adoption`]).
    pub adopting: Vec<String>,
}

/// Reads what AWS holds and decides what to change; changes nothing.
pub fn plan(
    iam: &dyn Iam,
    order: &Order,
    now: Timestamp,
    progress: &Progress,
    aws_flags: &str,
) -> Result<Plan> {
    let aws = |e| failed(&e, Whose::Caller);
    let user = order.user.as_str();
    let password = order.console_password.as_ref();
    let survey = iam.survey(user, EXPIRY_POLICY, password.is_some());
    let caller = survey.caller.map_err(aws)?;
    progress.step(format!(
        "GetCallerIdentity: account {}, caller {}",
        caller.account,
        shown(&caller.arn)
    ));
    let found = survey.user.map_err(aws)?;
    let user_exists = found.is_some();
    let adopted = found.as_ref().is_some_and(|u| !u.made_by_handoff);
    progress.step(match &found {
        Some(u) if u.made_by_handoff => format!("GetUser: {user} exists (made by handoff), reusing it"),
        Some(_) => format!("GetUser: {user} exists, and handoff did not create it (no {CREATED_BY_TAG}=handoff tag)"),
        None => format!("GetUser: {user} does not exist yet"),
    });
    let user_arn = found.map(|u| u.arn);
    let wanted: Vec<String> = match &order.policies {
        Policies::None => vec![],
        Policies::Default => {
            vec![DEFAULT_POLICY.replace("arn:aws:", &format!("arn:{}:", caller.partition()))]
        }
        Policies::These(arns) => arns.clone(),
    };
    // Read for a user that may not exist: what GetUser did not find is empty.
    let (attached, keys_before, has_password, expiry_before) = if user_exists {
        (
            survey.attached.map_err(aws)?,
            survey.keys.map_err(aws)?,
            password.is_some() && survey.has_login_profile.map_err(aws)?,
            survey.inline.map_err(aws)?,
        )
    } else {
        (vec![], vec![], false, None)
    };
    if has_password && password.is_some_and(|p| p.replace_existing) {
        progress.step(format!(
            "GetLoginProfile: {user} has a console password; --reset-password replaces it, and the old one cannot be restored"
        ));
    }
    if order.access_key && keys_before.len() >= 2 {
        return Err(two_keys_already(user, &keys_before, now, aws_flags));
    }
    if has_password && !password.is_some_and(|p| p.replace_existing) {
        return Err(Error::new(
            ExitCode::Conflict,
            format!("{user} already has a console password"),
        )
        .fix("pass --reset-password to replace it, or leave out --console-password"));
    }
    let expiry_now = existing_expiry(user, order, expiry_before.as_deref(), progress)?;
    let (password_policy, alias) = (
        survey.password_policy.map_err(aws)?,
        survey.alias.map_err(aws)?,
    );
    let attach: Vec<String> = wanted
        .into_iter()
        .filter(|p| !attached.contains(p))
        .collect();
    let new_expiry = order
        .expires
        .map(|d| now.round(jiff::Unit::Second).unwrap_or(now) + d);
    let password_step = password.map(|_| {
        if has_password {
            PasswordStep::Replace
        } else {
            PasswordStep::Create
        }
    });
    let mut adopting = Vec::new();
    if adopted {
        let changes = changes_to_user(&attach, new_expiry, order.access_key, password_step);
        if order.allow.adopt {
            progress.step(format!(
                "--adopt: {} for {user}, a user handoff did not create",
                changes.join(", ")
            ));
        } else {
            adopting = changes;
        }
    }
    Ok(Plan {
        attach,
        expires_at: new_expiry.or(expiry_now.flatten()),
        new_expiry,
        expiry_before,
        caller,
        user_arn,
        access_key: order.access_key,
        password: password_step,
        keys_before,
        password_policy,
        alias,
        adopting,
    })
}

/// The changes a run makes to an existing user, in words.
fn changes_to_user(
    attach: &[String],
    new_expiry: Option<Timestamp>,
    access_key: bool,
    password: Option<PasswordStep>,
) -> Vec<String> {
    let mut changes: Vec<String> = attach.iter().map(|p| format!("attaching {p}")).collect();
    if let Some(at) = new_expiry {
        changes.push(format!("a deny date ({EXPIRY_POLICY}, {at})"));
    }
    if access_key {
        changes.push("a new access key".into());
    }
    match password {
        Some(PasswordStep::Create) => changes.push("a console password".into()),
        Some(PasswordStep::Replace) => changes.push("replacing its console password".into()),
        None => {}
    }
    changes
}

/// Goes ahead with changes to an existing user handoff did not create (someone's, it
/// may be) only when the user decided so: `--adopt` (the plan then has nothing in
/// [`Plan::adopting`]), or a yes to `ask`, the question on a terminal (`None`: there is
/// none to ask on).
pub fn decide_adoption(user: &str, plan: &Plan, ask: Option<crate::prompt::Ask<'_>>) -> Result<()> {
    if plan.adopting.is_empty() {
        return Ok(());
    }
    let changes = plan.adopting.join(", ");
    let Some(ask) = ask else {
        return Err(Error::new(
            ExitCode::Conflict,
            format!(
                "user {user} exists and handoff did not create it (it has no {CREATED_BY_TAG}=handoff tag): {changes} would change an existing identity, which may be someone's"
            ),
        )
        .fix("pass --adopt to go ahead, or choose another --user"));
    };
    let question = format!(
        "User {user} exists and handoff did not create it (no {CREATED_BY_TAG}=handoff tag). Go ahead with {changes}?"
    );
    if ask(&question)? {
        return Ok(());
    }
    Err(Error::new(
        ExitCode::Cancelled,
        format!("nothing was changed on {user}"),
    )
    .fix("answer y to go ahead, pass --adopt, or choose another --user"))
}

/// The deny date the user's `handoff-expiry` policy sets (Some(None): a policy handoff
/// did not write), said in the progress; refuses (exit 11) an `--expires` that would
/// move it without `--replace-expiry`.
fn existing_expiry(
    user: &str,
    order: &Order,
    document: Option<&str>,
    progress: &Progress,
) -> Result<Option<Option<Timestamp>>> {
    let expiry_now = document.map(expiry_of);
    if let Some(date) = expiry_now {
        progress.step(match date {
            Some(d) => format!("GetUserPolicy: {EXPIRY_POLICY} denies everything after {d}"),
            None => {
                format!("GetUserPolicy: {user} has a {EXPIRY_POLICY} policy handoff did not write")
            }
        });
    }
    if let (Some(date), Some(_)) = (expiry_now, order.expires)
        && !order.allow.replace_expiry
    {
        let when = date.map_or_else(
            || "a policy handoff did not write".to_string(),
            |d| format!("AWS denies everything after {d}"),
        );
        return Err(Error::new(
            ExitCode::Conflict,
            format!("{user} already has a {EXPIRY_POLICY} policy ({when}): --expires would replace it for every key of the user"),
        )
        .fix("add --replace-expiry to move it, or leave out --expires (the new key then ends at the same date, and its bundle says so)"));
    }
    Ok(expiry_now)
}

/// IAM allows two access keys per user: a third cannot be minted until one goes.
fn two_keys_already(user: &str, keys: &[KeyInfo], now: Timestamp, aws_flags: &str) -> Error {
    let mut list = String::new();
    for k in keys {
        let age = k
            .created
            .map(|c| format!("{} days old", days(now.duration_since(c))))
            .unwrap_or_else(|| "age unknown".into());
        let _ = write!(list, "{} ({}, {age}); ", k.id, k.status);
    }
    Error::new(
        ExitCode::Conflict,
        format!(
            "{user} already has two access keys, the most IAM allows: {}",
            list.trim_end_matches("; ")
        ),
    )
    .fix(format!(
        "delete one first: handoff revoke{aws_flags} --user {user} --access-key-id ID"
    ))
}

/// The plan as the API calls it would make (`--dry-run`), with their parameters, then
/// where the credential would go (`bundle`: as [`BundleOutput::describe`] words it).
///
/// [`BundleOutput::describe`]: crate::sealing::bundle_io::BundleOutput::describe
pub fn describe(order: &Order, plan: &Plan, bundle: Option<&str>) -> String {
    let u = &order.user;
    let mut s = String::from("Plan (dry run: nothing was changed):\n");
    if plan.user_arn.is_none() {
        let _ = writeln!(
            s,
            "  iam:CreateUser UserName={u} Tags=[{CREATED_BY_TAG}=handoff]"
        );
    }
    for p in &plan.attach {
        let _ = writeln!(s, "  iam:AttachUserPolicy UserName={u} PolicyArn={p}");
    }
    if let Some(at) = plan.new_expiry {
        let _ = writeln!(
            s,
            "  iam:PutUserPolicy UserName={u} PolicyName={EXPIRY_POLICY} PolicyDocument={}{}",
            expiry_policy(at),
            if plan.expiry_before.is_some() {
                " (replacing the user's own)"
            } else {
                ""
            }
        );
    } else if let Some(at) = plan.expires_at {
        let _ = writeln!(
            s,
            "  (keeps the user's {EXPIRY_POLICY}: AWS denies everything after {at}; the bundle says so)"
        );
    }
    if plan.access_key {
        let _ = writeln!(s, "  iam:CreateAccessKey UserName={u}");
    }
    if let (Some(step), Some(p)) = (plan.password, &order.console_password) {
        let _ = writeln!(
            s,
            "  iam:{} UserName={u} Password=<generated> PasswordResetRequired={}{}",
            step.action(),
            p.reset_required,
            if step == PasswordStep::Replace {
                " (replaces the user's password: the old one cannot be restored, not even by a rollback)"
            } else {
                ""
            }
        );
    }
    if let Some(name) = &order.keychain {
        let _ = writeln!(
            s,
            "  store the credential in the keychain as {}{}",
            shown(name),
            if order.replace_keychain {
                " (replacing what is there)"
            } else {
                ""
            }
        );
    }
    if let Some(bundle) = bundle {
        let _ = writeln!(s, "  seal the credential → {bundle}");
    }
    if !plan.adopting.is_empty() {
        let _ = writeln!(
            s,
            "  (handoff did not create {u}: this run asks before changing it, or needs --adopt)"
        );
    }
    s
}

/// Whole days, to the nearest (a key made 99.99 days ago is 100 days old).
fn days(d: jiff::SignedDuration) -> i64 {
    ((d.as_secs() + 43_200) / 86_400).max(0)
}
