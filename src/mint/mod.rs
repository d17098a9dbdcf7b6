//! The changing half of `create`, in order: CreateUser; then, in one round, the policy
//! attachments, the expiry policy, CreateAccessKey and the login profile
//! ([`writes`]); then the keychain and the sealed bundle. Each change is journalled
//! ([`journal`]) before it may happen, and what answers without data (the policies) is
//! read back before the credential is handed on. A create is never sent twice: a lost
//! CreateAccessKey reply is resolved by elimination ([`lost_key`]), so the rollback
//! deletes the key whose secret never arrived.

pub mod journal;
pub mod journal_file;
pub mod key_ledger;
pub mod key_uses;
pub mod lost_key;
pub mod order;
pub mod plan;
pub mod state_dir;
mod step;
mod writes;

pub use order::{Allow, Order, PasswordOrder, Policies};
pub use step::{Deps, Journal};
use step::{aws, may_start};

use crate::aws::names::{CREATED_BY_TAG, sign_in_url};
use crate::bundle::Credential;
use crate::error::{Error, ExitCode};
use crate::sealing::Sealing;
use crate::sealing::bundle_io::BundleOutput;
use crate::store::Kind;
use journal::{Change, Failure, at};
use plan::Plan;

/// Where the sealed bundle goes, when there is one.
pub struct SealTo {
    /// Who can open it.
    pub sealing: Sealing,
    /// The file or standard output.
    pub output: BundleOutput,
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

/// The IAM changes, up to a credential in memory.
fn make_changes(
    order: &Order,
    plan: &Plan,
    deps: &Deps,
    journal: &mut Journal,
) -> Result<Credential, Failure> {
    let user_arn = ensure_user(plan, order, deps, journal)?;
    let made = writes::make(plan, order, deps, journal)?;
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
    credential.access_key = made.key;
    if made.password.is_some() {
        credential.sign_in_url = Some(sign_in_url(&plan.caller, plan.alias.as_deref()));
    }
    credential.console_password = made.password;
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
            "Stored {} in {} as {name} (credential_process = handoff {}credential-process {name})",
            credential.contents(),
            deps.keychain.label(),
            deps.keychain.flag()
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
