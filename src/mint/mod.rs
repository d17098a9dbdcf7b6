//! The changing half of `create`, in order: CreateUser, AttachUserPolicy, the expiry
//! policy, CreateAccessKey and/or the login profile, then the keychain and the sealed
//! bundle. Each change is journalled ([`journal`]) the moment it may have happened, and
//! an answer that cannot be read is checked (the policies are listed again) before
//! anything is minted. A create is never sent twice: a lost CreateAccessKey reply is
//! resolved by listing the user's keys, so the rollback deletes the key whose secret
//! never arrived.

pub mod journal;
pub mod journal_file;
pub mod key_ledger;
pub mod lost_key;
pub mod order;
pub mod plan;
pub mod state_dir;

pub use order::{Order, PasswordOrder, Policies};

use jiff::Timestamp;

use crate::access_key::AccessKey;
use crate::aws::errors::{Whose, failed};
use crate::aws::names::{CREATED_BY_TAG, EXPIRY_POLICY, expiry_policy, sign_in_url};
use crate::aws::{AwsError, Iam, password};
use crate::bundle::Credential;
use crate::error::{Error, ExitCode, shown};
use crate::progress::Progress;
use crate::sealing::Sealing;
use crate::sealing::bundle_io::BundleOutput;
use crate::secret::SecretString;
use crate::store::{Keychain, Kind};
use journal::{Change, Failure, at};
use plan::{PasswordStep, Plan};

/// Where the sealed bundle goes, when there is one.
pub struct SealTo {
    /// Who can open it.
    pub sealing: Sealing,
    /// The file or standard output.
    pub output: BundleOutput,
}

/// What the changes need from outside.
pub struct Deps<'a> {
    /// IAM, as the caller.
    pub iam: &'a dyn Iam,
    /// The creator's OS keychain.
    pub keychain: &'a dyn Keychain,
    /// The clock (the credential's dates, the expiry).
    pub now: fn() -> Timestamp,
    /// Where progress goes.
    pub progress: &'a Progress,
    /// The flags that point a printed clean-up command at the same AWS
    /// ([`crate::aws::AwsConfig::command_flags`]).
    pub aws_flags: String,
    /// Where AWS calls go, recorded in the durable journal; `None` keeps no journal on
    /// disk (unit tests).
    pub durable: Option<crate::aws::AwsConfig>,
}

/// The run's changes: in memory, for the rollback, and on disk before each change is
/// made, for `handoff recover` after a crash.
pub struct Journal {
    /// What was (or may have been) changed, in order.
    pub changes: Vec<Change>,
    file: Option<journal_file::JournalFile>,
    /// The user and the AWS flags, for the clean-up a third signal prints.
    user: String,
    aws_flags: String,
    /// The run, as its undos need it.
    run: journal::Run,
}

impl Journal {
    /// Writes down a change about to be made; a journal that cannot be written stops
    /// the run before the change.
    fn intend(&mut self, change: &Change) -> Result<(), Failure> {
        // What a third signal during this change would leave (it may be made).
        let mut maybe = self.changes.clone();
        maybe.push(change.clone());
        crate::interrupt::set_left(
            maybe.iter().rev().map(|c| c.what(&self.user)).collect(),
            journal::cleanup_command(&self.user, &maybe, &self.aws_flags),
        );
        match &mut self.file {
            Some(f) => f.intend(change).map_err(at("write the journal")),
            None => Ok(()),
        }
    }

    /// Records a change that happened (or may have): in memory, and on disk too when it
    /// names more than its intent did (a key's id).
    fn push(&mut self, change: Change) {
        if let (Some(f), Change::Key(_) | Change::FoundKey(_)) = (&mut self.file, &change) {
            let _ = f.intend(&change);
        }
        self.changes.push(change);
    }

    /// The credential reached its last destination: the run is finished, and its
    /// journal goes at once, before anything else (a message to a blocked stderr) can
    /// let a kill make `recover` delete the key that was just delivered.
    fn delivered(&mut self) {
        if let Some(f) = self.file.take() {
            f.finish();
        }
    }

    fn contains(&self, change: &Change) -> bool {
        self.changes.contains(change)
    }
}

/// Makes the planned changes and delivers the credential; on failure, rolls back
/// everything journalled and returns the worded error. Returns the `--json` summary.
pub fn mint(
    order: &Order,
    plan: &Plan,
    seal: Option<SealTo>,
    deps: &Deps,
) -> Result<String, Error> {
    // From here until the rollback is over, a signal stops the run between changes.
    let _changing = crate::interrupt::changing();
    let started = (deps.now)();
    let file = match &deps.durable {
        Some(aws) => Some(journal_file::JournalFile::start(&journal_file::Header {
            v: 1,
            command: "create".into(),
            user: order.user.clone(),
            account: plan.caller.account.clone(),
            profile: aws.profile.clone(),
            region: aws.region.clone(),
            endpoint_url: aws.endpoint_url.clone(),
            started: started
                .round(jiff::Unit::Second)
                .unwrap_or(started)
                .to_string(),
            pid: std::process::id(),
        })?),
        None => None,
    };
    let mut journal = Journal {
        changes: Vec::new(),
        run: journal::Run {
            user: order.user.clone(),
            // Seconds after the plan listed the keys: every key made since is in the
            // run's minutes.
            started: None,
            ledger: file.as_ref().map(|_| plan.caller.account.clone()),
        },
        file,
        user: order.user.clone(),
        aws_flags: deps.aws_flags.clone(),
    };
    let made = make_changes(order, plan, deps, &mut journal)
        .and_then(|credential| deliver(order, plan, credential, seal, deps, &mut journal));
    let file = journal.file.take();
    match made {
        Ok(summary) => {
            if let Some(f) = file {
                f.finish();
            }
            Ok(summary)
        }
        Err(failure) => {
            let e = journal::roll_back(
                deps.iam,
                deps.keychain,
                &journal.run,
                journal.changes,
                failure,
                deps.progress,
                &deps.aws_flags,
            );
            match file {
                // Something is left: the journal stays, for `handoff recover`.
                Some(_) if e.code == ExitCode::RollbackFailed => {
                    let fix = e.fix.clone().unwrap_or_default();
                    Err(e.fix(format!("{fix} (or: handoff recover)")))
                }
                Some(f) => {
                    f.finish();
                    Err(e)
                }
                None => Err(e),
            }
        }
    }
}

/// The ids of the user's keys before the run.
fn keys_before(plan: &Plan) -> Vec<String> {
    plan.keys_before.iter().map(|k| k.id.clone()).collect()
}

/// Before a change: a signal received meanwhile stops the run here (no step failed).
fn may_start(next: &str) -> Result<(), Failure> {
    crate::interrupt::check(next).map_err(|error| Failure {
        step: String::new(),
        error,
    })
}

fn aws(e: AwsError) -> Failure {
    Failure {
        step: e.action.to_string(),
        error: failed(&e, Whose::Caller),
    }
}

/// An answer that cannot be read may still look like success to the SDK (these calls
/// return no data): the change is checked before anything is minted.
fn unconfirmed(action: &'static str, what: String) -> Failure {
    aws(AwsError {
        action,
        code: None,
        message: format!("AWS answered, but {what} is not in place"),
        outcome_unknown: true,
        waited: None,
        no_credentials: false,
    })
}

/// The IAM changes, up to a credential in memory.
fn make_changes(
    order: &Order,
    plan: &Plan,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<Credential, Failure> {
    let user_arn = ensure_user(plan, order, deps, journal)?;
    attach_policies(plan, order, deps, journal)?;
    if let Some(at) = plan.new_expiry {
        put_expiry(at, plan, order, deps, journal)?;
    }
    let now = (deps.now)();
    let mut credential = Credential {
        account_id: Some(plan.caller.account.clone()).filter(|a| a.len() == 12),
        user_name: Some(order.user.clone()),
        user_arn: Some(user_arn).filter(|a| !a.is_empty()),
        created_at: Some(now.round(jiff::Unit::Second).unwrap_or(now)),
        expires_at: plan.expires_at,
        created_by: Some(plan.caller.arn.clone()).filter(|a| !a.is_empty()),
        note: order.note.clone(),
        ..Default::default()
    };
    if plan.access_key {
        credential.access_key = Some(mint_key(plan, order, deps, journal)?);
    }
    if let (Some(step), Some(p)) = (plan.password, &order.console_password) {
        credential.console_password = Some(set_password(step, *p, plan, order, deps, journal)?);
        credential.sign_in_url = Some(sign_in_url(&plan.caller, plan.alias.as_deref()));
    }
    Ok(credential)
}

fn ensure_user(
    plan: &Plan,
    order: &Order,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<String, Failure> {
    if let Some(arn) = &plan.user_arn {
        return Ok(arn.clone());
    }
    may_start("CreateUser")?;
    journal.intend(&Change::User)?;
    let created = deps
        .iam
        .create_user(&order.user, &[(CREATED_BY_TAG, "handoff")]);
    crate::interrupt::test_point("CreateUser");
    match created {
        Ok(arn) => {
            journal.push(Change::User);
            deps.progress.step(format!("CreateUser: {arn}"));
            Ok(arn)
        }
        Err(e) => {
            // Someone else made it meanwhile: not ours to delete. Otherwise it may
            // exist: undoing a user that is not there is harmless.
            if e.code.as_deref() != Some("EntityAlreadyExists") && e.outcome_unknown {
                journal.push(Change::User);
            }
            Err(aws(e))
        }
    }
}

fn attach_policies(
    plan: &Plan,
    order: &Order,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<(), Failure> {
    let user = order.user.as_str();
    for policy in &plan.attach {
        may_start("AttachUserPolicy")?;
        journal.intend(&Change::Policy(policy.clone(), keys_before(plan)))?;
        let attached = deps.iam.attach_policy(user, policy);
        crate::interrupt::test_point("AttachUserPolicy");
        if let Err(e) = attached {
            if e.outcome_unknown {
                journal.push(Change::Policy(policy.clone(), keys_before(plan)));
            }
            return Err(aws(e));
        }
        journal.push(Change::Policy(policy.clone(), keys_before(plan)));
        deps.progress.step(format!("AttachUserPolicy: {policy}"));
    }
    if !plan.attach.is_empty() {
        let now = deps.iam.attached_policies(user).map_err(aws)?;
        if let Some(missing) = plan.attach.iter().find(|p| !now.contains(p)) {
            return Err(unconfirmed("AttachUserPolicy", format!("policy {missing}")));
        }
    }
    Ok(())
}

fn put_expiry(
    at: Timestamp,
    plan: &Plan,
    order: &Order,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<(), Failure> {
    let user = order.user.as_str();
    may_start("PutUserPolicy")?;
    // On a user that was there before, another run may have written its deny date
    // since the plan read it: PutUserPolicy would overwrite it unseen (and this run's
    // rollback would then delete it). A user this run made has no other writer yet
    // that the plan could not see.
    if plan.user_arn.is_some() {
        let now = deps.iam.inline_policy(user, EXPIRY_POLICY).map_err(aws)?;
        if now != plan.expiry_before {
            return Err(Failure {
                step: "PutUserPolicy".into(),
                error: Error::new(
                    ExitCode::Conflict,
                    format!("the {EXPIRY_POLICY} policy of user {user} changed while this run was starting (another run wrote it)"),
                )
                .fix("run the command again: its plan will show the new deny date"),
            });
        }
    }
    let document = expiry_policy(at);
    let expiry = Change::Expiry {
        before: plan.expiry_before.clone(),
        wrote: document.clone(),
        keys_before: keys_before(plan),
    };
    journal.intend(&expiry)?;
    let put = deps.iam.put_inline_policy(user, EXPIRY_POLICY, &document);
    crate::interrupt::test_point("PutUserPolicy");
    // Put, or maybe put: undone by putting back the user's earlier policy (or deleting
    // ours). Refused: nothing was written, and an earlier policy of that name stays.
    if put.as_ref().is_ok() || put.as_ref().is_err_and(|e| e.outcome_unknown) {
        journal.push(expiry);
    }
    put.map_err(aws)?;
    let names = deps.iam.inline_policies(user).map_err(aws)?;
    if !names.iter().any(|p| p == EXPIRY_POLICY) {
        return Err(unconfirmed(
            "PutUserPolicy",
            format!("the {EXPIRY_POLICY} policy"),
        ));
    }
    deps.progress.step(format!(
        "PutUserPolicy: {EXPIRY_POLICY}, AWS denies everything after {at}"
    ));
    Ok(())
}

fn mint_key(
    plan: &Plan,
    order: &Order,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<AccessKey, Failure> {
    let user = order.user.as_str();
    may_start("CreateAccessKey")?;
    // No other run here mints for this user until this key is recorded (or, after a
    // lost reply, found): so a listing sees no key that is made but not yet claimed.
    let _minting = match &journal.run.ledger {
        Some(account) => Some(key_ledger::minting(account, user).map_err(at("CreateAccessKey"))?),
        None => None,
    };
    // A key whose reply never arrives is found by listing: these were there before.
    journal.intend(&Change::LostKey(keys_before(plan)))?;
    let created = deps.iam.create_access_key(user);
    crate::interrupt::test_point("CreateAccessKey");
    match created {
        Ok((id, secret)) => {
            journal.push(Change::Key(id.clone()));
            deps.progress
                .step(format!("CreateAccessKey: {}", shown(&id)));
            // IAM's answer is held to the same rules as any other: an odd key is
            // rolled back, never handed on.
            AccessKey::new(&id, secret)
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
        Err(e) => {
            if e.outcome_unknown {
                // The key may exist although its secret never reached us: find it,
                // so that the rollback deletes it. Never create again. Not found (or
                // not certain): the rollback looks again.
                let known = journal
                    .run
                    .ledger
                    .as_ref()
                    .map_or_else(Vec::new, |account| key_ledger::known(account, user));
                let found = lost_key::find(
                    deps.iam,
                    user,
                    &keys_before(plan),
                    journal.run.started,
                    &known,
                );
                match found {
                    Ok(lost_key::Lost::Found(id)) => journal.push(Change::FoundKey(id)),
                    _ => journal.push(Change::LostKey(keys_before(plan))),
                }
            }
            Err(aws(e))
        }
    }
}

fn set_password(
    step: PasswordStep,
    order_password: PasswordOrder,
    plan: &Plan,
    order: &Order,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<SecretString, Failure> {
    let user = order.user.as_str();
    let password: SecretString = password::generate(plan.password_policy.as_ref());
    let reset = order_password.reset_required;
    may_start(step.action())?;
    journal.intend(&match step {
        PasswordStep::Create => Change::LoginProfile,
        PasswordStep::Replace => Change::ReplacedPassword,
    })?;
    let result = match step {
        PasswordStep::Replace => deps.iam.update_login_profile(user, &password, reset),
        PasswordStep::Create => deps.iam.create_login_profile(user, &password, reset),
    };
    crate::interrupt::test_point(step.action());
    // Created, or maybe created: the rollback deletes it. Replaced, or maybe replaced:
    // the old password is gone for good, and a rollback says so (exit 7). A refusal
    // changed nothing: a password someone set meanwhile (EntityAlreadyExists) is theirs.
    let refused = result.as_ref().is_err_and(|e| !e.outcome_unknown);
    if !refused {
        journal.push(match step {
            PasswordStep::Create => Change::LoginProfile,
            PasswordStep::Replace => Change::ReplacedPassword,
        });
    }
    result.map_err(aws)?;
    deps.progress.step(format!(
        "{}: console password set{}",
        step.action(),
        if reset {
            ", new password required at first sign-in"
        } else {
            ""
        }
    ));
    Ok(password)
}

/// The keychain, then the sealed bundle: the credential's two destinations.
fn deliver(
    order: &Order,
    plan: &Plan,
    credential: Credential,
    seal: Option<SealTo>,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<String, Failure> {
    if let Some(name) = &order.keychain {
        // What --force replaces is kept, so that a later failure can put it back.
        let earlier = if order.replace_keychain
            && deps
                .keychain
                .exists(Kind::Credential, name)
                .map_err(at("read the keychain"))?
        {
            let bytes = deps
                .keychain
                .get(Kind::Credential, name)
                .map_err(at("read the keychain"))?;
            Some(journal::Earlier(std::rc::Rc::new(bytes)))
        } else {
            None
        };
        may_start("storing the credential in the keychain")?;
        journal.intend(&if earlier.is_some() {
            Change::KeychainReplaced(name.clone())
        } else {
            Change::Keychain(name.clone(), None)
        })?;
        crate::deliver::keychain::store_credential(
            deps.keychain,
            name,
            &credential,
            order.replace_keychain,
        )
        .map_err(at("store in the keychain"))?;
        journal.push(Change::Keychain(name.clone(), earlier));
        if seal.is_none() {
            journal.delivered();
        }
        crate::interrupt::test_point("keychain");
        deps.progress.step(format!(
            "Stored {} in the OS keychain as {name} (credential_process = handoff credential-process {name})",
            credential.contents()
        ));
    }
    let bundle = match seal {
        None => None,
        Some(SealTo { sealing, output }) => {
            let plaintext = credential.encode().map_err(at("encode the payload"))?;
            let bundle = sealing.seal(&plaintext, output.armor).map_err(at("seal"))?;
            drop(plaintext);
            may_start("writing the bundle")?;
            output.write(&bundle).map_err(at("write the bundle"))?;
            journal.delivered();
            crate::interrupt::test_point("bundle");
            deps.progress.step(format!(
                "Sealed {} for {} into {}",
                credential.contents(),
                order.user,
                output.describe()
            ));
            output.path.clone()
        }
    };
    let summary = serde_json::json!({
        "account_id": plan.caller.account,
        "user_name": order.user,
        "user_arn": credential.user_arn,
        "created_user": journal.contains(&Change::User),
        "attached_policies": plan.attach,
        "access_key_id": credential.access_key_id(),
        "console_password": credential.console_password.is_some(),
        "sign_in_url": credential.sign_in_url,
        "expires_at": plan.expires_at.map(|t| t.to_string()),
        "bundle": bundle.map(|p| p.display().to_string()),
        "keychain": order.keychain,
    });
    Ok(crate::sanitize::json_line(&summary))
}

#[cfg(test)]
mod tests;
