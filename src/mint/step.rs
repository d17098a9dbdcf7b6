//! What every step of a create shares: its dependencies ([`Deps`]), the run's journal
//! ([`Journal`]: in memory for the rollback, on disk for `handoff recover`), and the
//! small helpers that turn an AWS answer into a step's failure.

use jiff::Timestamp;

use super::journal::{self, Change, Failure, at};
use super::journal_file;
use super::plan::Plan;
use crate::aws::errors::{Whose, failed};
use crate::aws::{AwsError, Iam};
use crate::progress::Progress;
use crate::store::Keychain;

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
    /// Asks the user a yes/no question (adopting a user handoff did not create);
    /// `None` when there is no terminal to ask on.
    pub ask: Option<crate::prompt::Ask<'a>>,
}

/// The run's changes: in memory, for the rollback, and on disk before each change is
/// made, for `handoff recover` after a crash.
pub struct Journal {
    /// What was (or may have been) changed, in order.
    pub changes: Vec<Change>,
    pub(super) file: Option<journal_file::JournalFile>,
    /// The user and the AWS flags, for the clean-up a third signal prints.
    pub(super) user: String,
    pub(super) aws_flags: String,
    /// The run, as its undos need it.
    pub(super) run: journal::Run,
}

impl Journal {
    /// Writes down a change about to be made; a journal that cannot be written stops
    /// the run before the change.
    pub(super) fn intend(&mut self, change: &Change) -> Result<(), Failure> {
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

    /// Writes down several changes about to be made at once (one fsync).
    pub(super) fn intend_all(&mut self, changes: &[Change]) -> Result<(), Failure> {
        let mut maybe = self.changes.clone();
        maybe.extend_from_slice(changes);
        crate::interrupt::set_left(
            maybe.iter().rev().map(|c| c.what(&self.user)).collect(),
            journal::cleanup_command(&self.user, &maybe, &self.aws_flags),
        );
        match &mut self.file {
            Some(f) => f.intend_all(changes).map_err(at("write the journal")),
            None => Ok(()),
        }
    }

    /// Records a change that happened (or may have): in memory, and on disk too when it
    /// names more than its intent did (a key's id).
    pub(super) fn push(&mut self, change: Change) {
        if let (Some(f), Change::Key(_) | Change::FoundKey(_)) = (&mut self.file, &change) {
            let _ = f.intend(&change);
        }
        self.changes.push(change);
    }

    /// The credential reached its last destination: the run is finished, and its
    /// journal goes at once, before anything else (a message to a blocked stderr) can
    /// let a kill make `recover` delete the key that was just delivered.
    pub(super) fn delivered(&mut self) {
        if let Some(f) = self.file.take() {
            f.finish();
        }
    }

    pub(super) fn contains(&self, change: &Change) -> bool {
        self.changes.contains(change)
    }
}

/// The ids of the user's keys before the run.
pub(super) fn keys_before(plan: &Plan) -> Vec<String> {
    plan.keys_before.iter().map(|k| k.id.clone()).collect()
}

/// Before a change: a signal received meanwhile stops the run here (no step failed).
pub(super) fn may_start(next: &str) -> Result<(), Failure> {
    crate::interrupt::check(next).map_err(|error| Failure {
        step: String::new(),
        error,
    })
}

pub(super) fn aws(e: AwsError) -> Failure {
    Failure {
        step: e.action.to_string(),
        error: failed(&e, Whose::Caller),
    }
}

/// An answer that cannot be read may still look like success to the SDK (these calls
/// return no data): the change is checked before anything is minted.
pub(super) fn unconfirmed(action: &'static str, what: String) -> Failure {
    aws(AwsError {
        action,
        code: None,
        message: format!("AWS answered, but {what} is not in place"),
        outcome_unknown: true,
        waited: None,
        no_credentials: false,
    })
}
