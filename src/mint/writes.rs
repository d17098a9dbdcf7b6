//! The changes a create makes once its user exists: the policy attachments, the expiry
//! policy, the access key and the console password. None needs another's answer, so
//! they cost one round trip: every intent is journalled first (one fsync), then all
//! are sent at once ([`Iam::apply`]), then each answer is recorded in the plan's order,
//! and one more round reads back what answers without data (the attachments and the
//! inline policy) before the credential is handed on. A failure in any of them rolls
//! back all that were made, as before; a lost CreateAccessKey reply is resolved under
//! the minting lock ([`super::lost_key`]).

use jiff::Timestamp;

use super::journal::{Change, Failure, at};
use super::key_ledger;
use super::lost_key;
use super::order::Order;
use super::plan::{PasswordStep, Plan};
use super::step::{Deps, Journal, aws, keys_before, may_start, unconfirmed};
use crate::access_key::AccessKey;
use crate::aws::names::{EXPIRY_POLICY, expiry_policy};
use crate::aws::{AwsError, Write, Written, password};
use crate::error::{Error, ExitCode, shown};
use crate::secret::SecretString;

/// What the writes made that the credential holds.
pub struct Made {
    /// The new access key, when one was asked for.
    pub key: Option<AccessKey>,
    /// The new console password, when one was asked for.
    pub password: Option<SecretString>,
}

/// One planned write, with what the journal records for it.
enum Step {
    Attach(String),
    Expiry(Timestamp, String),
    Key,
    Password(PasswordStep, bool),
}

impl Step {
    fn action(&self) -> &'static str {
        match self {
            Step::Attach(_) => "AttachUserPolicy",
            Step::Expiry(..) => "PutUserPolicy",
            Step::Key => "CreateAccessKey",
            Step::Password(step, _) => step.action(),
        }
    }
}

/// Makes the writes the plan names, in one round, and reads them back in another.
pub fn make(
    plan: &Plan,
    order: &Order,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<Made, Failure> {
    let user = order.user.as_str();
    let mut steps: Vec<Step> = plan.attach.iter().cloned().map(Step::Attach).collect();
    if let Some(at) = plan.new_expiry {
        steps.push(Step::Expiry(at, expiry_policy(at)));
    }
    if plan.access_key {
        steps.push(Step::Key);
    }
    if let (Some(step), Some(p)) = (plan.password, &order.console_password) {
        steps.push(Step::Password(step, p.reset_required));
    }
    let Some(first) = steps.first() else {
        return Ok(Made {
            key: None,
            password: None,
        });
    };
    let password: Option<SecretString> = plan
        .password
        .map(|_| password::generate(plan.password_policy.as_ref()));
    may_start(first.action())?;
    // No other run here mints for this user until this key is recorded (or, after a
    // lost reply, found): so a listing sees no key that is made but not yet claimed.
    // The same lock orders deny dates: the check that the plan's is still the one on
    // the user and the write of the new one are one step for runs on this machine.
    let locks = plan.access_key || plan.new_expiry.is_some();
    let _minting = match &journal.run.ledger {
        Some(account) if locks => {
            Some(key_ledger::minting(account, user).map_err(at(first.action()))?)
        }
        _ => None,
    };
    if plan.new_expiry.is_some() {
        expiry_unchanged_since_the_plan(plan, user, deps)?;
    }
    let intents: Vec<Change> = steps.iter().map(|s| intent(s, plan)).collect();
    journal.intend_all(&intents)?;
    let writes: Vec<Write> = steps
        .iter()
        .map(|s| match s {
            Step::Attach(arn) => Write::Attach(arn),
            Step::Expiry(_, document) => Write::PutInline {
                name: EXPIRY_POLICY,
                document,
            },
            Step::Key => Write::CreateKey,
            Step::Password(PasswordStep::Create, reset) => Write::CreateLoginProfile {
                password: password.as_ref().expect("generated for a password step"),
                reset_required: *reset,
            },
            Step::Password(PasswordStep::Replace, reset) => Write::UpdateLoginProfile {
                password: password.as_ref().expect("generated for a password step"),
                reset_required: *reset,
            },
        })
        .collect();
    let mut answers = deps.iam.apply(user, &writes);
    if plan.user_arn.is_none() {
        wait_for_the_new_user(deps, user, &writes, &mut answers);
    }
    drop(writes);
    for (step, answer) in steps.iter().zip(&answers) {
        if answer.is_some() {
            crate::interrupt::test_point(step.action());
        }
    }
    let mut failure: Option<Failure> = None;
    let mut key = None;
    for ((step, intent), answer) in steps.iter().zip(intents).zip(answers) {
        let Some(answer) = answer else { continue };
        let outcome = record(step, intent, answer, plan, deps, journal);
        match outcome {
            Ok(Some(k)) => key = Some(k),
            Ok(None) => {}
            Err(f) => {
                failure.get_or_insert(f);
            }
        }
    }
    drop(_minting);
    if let Some(f) = failure {
        return Err(f);
    }
    read_back(plan, user, deps)?;
    Ok(Made { key, password })
}

/// What the journal records before the write is sent.
fn intent(step: &Step, plan: &Plan) -> Change {
    match step {
        Step::Attach(arn) => Change::Policy(arn.clone(), keys_before(plan)),
        Step::Expiry(_, document) => Change::Expiry {
            before: plan.expiry_before.clone(),
            wrote: document.clone(),
            keys_before: keys_before(plan),
        },
        // A key whose reply never arrives is found by elimination: these were there.
        Step::Key => Change::LostKey(keys_before(plan)),
        Step::Password(PasswordStep::Create, _) => Change::LoginProfile,
        Step::Password(PasswordStep::Replace, _) => Change::ReplacedPassword,
    }
}

/// Records one answer: the change is journalled when it was made or may have been
/// (a refusal changed nothing: a password someone set meanwhile is theirs). Returns
/// the new key, or the step's failure.
fn record(
    step: &Step,
    intent: Change,
    answer: Result<Written, AwsError>,
    plan: &Plan,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<Option<AccessKey>, Failure> {
    let user = journal.user.clone();
    match (step, answer) {
        (Step::Key, Ok(Written::Key(id, secret))) => {
            journal.push(Change::Key(id.clone()));
            deps.progress
                .step(format!("CreateAccessKey: {}", shown(&id)));
            // IAM's answer is held to the same rules as any other: an odd key is
            // rolled back, never handed on.
            AccessKey::new(&id, secret)
                .map(Some)
                .map_err(|e| {
                    Error::new(
                        ExitCode::Aws,
                        format!(
                            "IAM returned an access key whose {} breaks the rule ({})",
                            e.field(),
                            e.rule()
                        ),
                    )
                    .fix("check --endpoint-url points at IAM")
                })
                .map_err(at("CreateAccessKey"))
        }
        (Step::Key, Err(e)) => {
            if e.outcome_unknown {
                // The key may exist although its secret never reached us: find it, so
                // that the rollback deletes it. Never create again. Not found (or not
                // certain): the rollback looks again.
                let known = journal
                    .run
                    .ledger
                    .as_ref()
                    .map_or_else(Vec::new, |account| key_ledger::known(account, &user));
                let found = lost_key::find(
                    deps.iam,
                    &user,
                    &keys_before(plan),
                    journal.run.started,
                    &known,
                );
                match found {
                    Ok(lost_key::Lost::Found(id)) => journal.push(Change::FoundKey(id)),
                    _ => journal.push(intent),
                }
            }
            Err(aws(e))
        }
        (_, Ok(_)) => {
            journal.push(intent);
            deps.progress.step(done_words(step));
            Ok(None)
        }
        (_, Err(e)) => {
            if e.outcome_unknown {
                journal.push(intent);
            }
            Err(aws(e))
        }
    }
}

fn done_words(step: &Step) -> String {
    match step {
        Step::Attach(arn) => format!("AttachUserPolicy: {arn}"),
        Step::Expiry(at, _) => {
            format!("PutUserPolicy: {EXPIRY_POLICY}, AWS denies everything after {at}")
        }
        Step::Key => "CreateAccessKey".into(),
        Step::Password(step, reset) => format!(
            "{}: console password set{}",
            step.action(),
            if *reset {
                ", new password required at first sign-in"
            } else {
                ""
            }
        ),
    }
}

/// On a user that was there before, another run may have written its deny date since
/// the plan read it: PutUserPolicy would overwrite it unseen (and this run's rollback
/// would then delete it). A user this run made had no other writer the plan missed.
fn expiry_unchanged_since_the_plan(plan: &Plan, user: &str, deps: &Deps) -> Result<(), Failure> {
    if plan.user_arn.is_none() {
        return Ok(());
    }
    let now = deps.iam.inline_policy(user, EXPIRY_POLICY).map_err(aws)?;
    if now == plan.expiry_before {
        return Ok(());
    }
    Err(Failure {
        step: "PutUserPolicy".into(),
        error: Error::new(
            ExitCode::Conflict,
            format!(
                "the {EXPIRY_POLICY} policy of user {user} changed while this run was starting (another run wrote it)"
            ),
        )
        .fix("run the command again: its plan will show the new deny date"),
    })
}

/// IAM is eventually consistent: a write on the user CreateUser made a round trip ago
/// may be refused with NoSuchEntity while the user propagates. Such a refusal changed
/// nothing, so it is sent again after a pause, with what was not sent after it.
fn wait_for_the_new_user(
    deps: &Deps,
    user: &str,
    writes: &[Write],
    answers: &mut [Option<Result<Written, AwsError>>],
) {
    for pause in crate::aws::patience::SETTLE {
        let unseen = |a: &Option<Result<Written, AwsError>>| matches!(a, Some(Err(e)) if e.is_no_such_entity());
        if !answers.iter().any(unseen) || crate::interrupt::signal().is_some() {
            return;
        }
        let again: Vec<usize> = (0..answers.len())
            .filter(|&i| unseen(&answers[i]) || answers[i].is_none())
            .collect();
        deps.progress.step(format!(
            "{user} is not visible everywhere in IAM yet: asking again in {} ms",
            pause.as_millis()
        ));
        // A fixed sleep on purpose: the pause *is* the time IAM needs.
        std::thread::sleep(pause);
        let resent: Vec<Write> = again.iter().map(|&i| writes[i]).collect();
        for (i, answer) in again.into_iter().zip(deps.iam.apply(user, &resent)) {
            answers[i] = answer;
        }
    }
}

/// AttachUserPolicy and PutUserPolicy answer without data: an answer that cannot be
/// read may still look like success, so what they made is read back (one round)
/// before the credential is handed on. A read that does not see it yet is made again
/// after a pause, a few times (IAM's reads may lag its writes).
fn read_back(plan: &Plan, user: &str, deps: &Deps) -> Result<(), Failure> {
    let mut pauses = crate::aws::patience::SETTLE.iter();
    loop {
        match read_back_once(plan, user, deps) {
            Err(f) if f.error.what.contains("not in place") => match pauses.next() {
                Some(pause) if crate::interrupt::signal().is_none() => {
                    // A fixed sleep on purpose: the pause *is* the time IAM needs.
                    std::thread::sleep(*pause);
                }
                _ => return Err(f),
            },
            other => return other,
        }
    }
}

fn read_back_once(plan: &Plan, user: &str, deps: &Deps) -> Result<(), Failure> {
    let confirmed = deps
        .iam
        .confirm(user, !plan.attach.is_empty(), plan.new_expiry.is_some());
    if let Some(attached) = confirmed.attached {
        let now = attached.map_err(aws)?;
        if let Some(missing) = plan.attach.iter().find(|p| !now.contains(p)) {
            return Err(unconfirmed("AttachUserPolicy", format!("policy {missing}")));
        }
    }
    if let Some(inline) = confirmed.inline {
        let names = inline.map_err(aws)?;
        if !names.iter().any(|p| p == EXPIRY_POLICY) {
            return Err(unconfirmed(
                "PutUserPolicy",
                format!("the {EXPIRY_POLICY} policy"),
            ));
        }
    }
    Ok(())
}
