//! The key a CreateAccessKey made when its reply, and so the key's id, never arrived.
//! IAM has no idempotency token for CreateAccessKey and cannot say which request made
//! a key, so the key is found by elimination among the user's keys: not there before
//! the run, not made by another handoff run on this machine (the key ledger), made in
//! the run's minutes, and never used (nobody ever had its secret). One such key is the
//! lost one and is deleted. Two or more, or none in the run's minutes while an unused
//! key nobody here made is on the user, need a person: they are named, none is deleted.
//!
//! The run's minutes are wide on purpose: the client's clock may be off by up to five
//! minutes (SigV4 refuses more), and a slow IAM may take minutes to answer.

use jiff::{SignedDuration, Timestamp};

use crate::aws::{AwsError, Iam};

/// How long before the run's start (by the client's clock) its key may be dated.
const EARLIEST: SignedDuration = SignedDuration::from_mins(6);
/// How long after the run's start its key may be dated.
const LATEST: SignedDuration = SignedDuration::from_mins(30);

/// The code of an undo that needs a person: a lost key that cannot be told apart.
pub const UNCLEAR: &str = "LostKeyUnclear";

/// Which key the lost CreateAccessKey made.
#[derive(Debug, PartialEq)]
pub enum Lost {
    /// None is on the user: the request never made one (or it is gone).
    None,
    /// This one.
    Found(String),
    /// Each of these could be it (or another machine's run's): only a person can tell.
    Unclear(Vec<String>),
}

/// Looks for the key among the user's keys; `before`: the keys before the run;
/// `known`: keys other handoff runs here made; `started`: when the run began, or
/// `None` for the run itself, seconds after its listing of `before` (every key made
/// since is in its minutes).
pub fn find(
    iam: &dyn Iam,
    user: &str,
    before: &[String],
    started: Option<Timestamp>,
    known: &[String],
) -> Result<Lost, AwsError> {
    let keys = match iam.access_keys(user) {
        Err(e) if e.is_no_such_entity() => return Ok(Lost::None),
        other => other?,
    };
    let mut candidates = Vec::new();
    let mut unplaced = Vec::new();
    for k in keys
        .iter()
        .filter(|k| !before.contains(&k.id) && !known.contains(&k.id))
    {
        if iam.key_last_used(&k.id)?.is_some() {
            // Somebody holds it: another run's, whoever made it.
            continue;
        }
        let in_minutes = match (k.created, started) {
            (Some(c), Some(s)) => c >= s - EARLIEST && c <= s + LATEST,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        if in_minutes {
            candidates.push(k.id.clone());
        } else {
            unplaced.push(k.id.clone());
        }
    }
    Ok(match candidates.len() {
        0 if unplaced.is_empty() => Lost::None,
        0 => Lost::Unclear(unplaced),
        1 => Lost::Found(candidates.remove(0)),
        _ => Lost::Unclear(candidates),
    })
}

/// Finds the lost key and deletes it. `ledger`: the account, when runs here keep a
/// ledger: then the search holds the minting lock (no run here mints for the user
/// meanwhile) and leaves the ledger's keys alone. Returns the deleted key's id; an
/// unclear case is an error with code [`UNCLEAR`] naming the keys.
pub fn delete(
    iam: &dyn Iam,
    user: &str,
    before: &[String],
    started: Option<Timestamp>,
    ledger: Option<&str>,
) -> Result<Option<String>, AwsError> {
    let _held = match ledger {
        Some(account) => Some(
            super::key_ledger::minting(account, user).map_err(|e| AwsError {
                action: "ListAccessKeys",
                code: None,
                message: e.what,
                outcome_unknown: false,
                waited: None,
                no_credentials: false,
            })?,
        ),
        None => None,
    };
    let known = ledger.map_or_else(Vec::new, |account| super::key_ledger::known(account, user));
    delete_found(iam, user, before, started, &known)
}

/// [`delete`] without the lock, for a run that holds it already; `known`: the
/// ledger's keys.
pub fn delete_found(
    iam: &dyn Iam,
    user: &str,
    before: &[String],
    started: Option<Timestamp>,
    known: &[String],
) -> Result<Option<String>, AwsError> {
    match find(iam, user, before, started, known)? {
        Lost::None => Ok(None),
        Lost::Found(id) => match iam.delete_access_key(user, &id) {
            Err(e) if e.is_no_such_entity() => Ok(None),
            other => other.map(|()| Some(id)),
        },
        Lost::Unclear(ids) => Err(AwsError {
            action: "CreateAccessKey",
            code: Some(UNCLEAR.into()),
            message: format!(
                "the CreateAccessKey whose reply never arrived may have made one of access keys {}, never used and made by no handoff run on this machine; which one cannot be told, so none was deleted",
                ids.join(", ")
            ),
            outcome_unknown: false,
            waited: None,
            no_credentials: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeIam;

    fn now() -> Option<Timestamp> {
        Some(Timestamp::now())
    }

    #[test]
    fn the_one_unused_key_made_in_the_runs_minutes_is_the_lost_one() {
        let iam = FakeIam::new().with_user("u").with_key("u").with_key("u");
        let (old, lost) = (FakeIam::key_id(1), FakeIam::key_id(2));
        let got = delete(&iam, "u", std::slice::from_ref(&old), now(), None).unwrap();
        assert_eq!(got, Some(lost));
        assert_eq!(iam.keys_of("u"), vec![old]);
    }

    #[test]
    fn a_used_key_is_somebodys_and_is_kept() {
        let id = FakeIam::key_id(1);
        let iam =
            FakeIam::new()
                .with_user("u")
                .with_key("u")
                .with_key_used(&id, Timestamp::now(), "iam");
        assert_eq!(find(&iam, "u", &[], now(), &[]).unwrap(), Lost::None);
    }

    #[test]
    fn a_key_another_run_here_made_is_never_the_lost_one() {
        // The lost request never reached IAM; the key on the user is a rerun's.
        let iam = FakeIam::new().with_user("u").with_key("u");
        let theirs = FakeIam::key_id(1);
        let got = find(&iam, "u", &[], now(), std::slice::from_ref(&theirs)).unwrap();
        assert_eq!(got, Lost::None);
    }

    #[test]
    fn two_keys_that_could_each_be_the_lost_one_are_both_kept_and_named() {
        let iam = FakeIam::new().with_user("u").with_key("u").with_key("u");
        let e = delete(&iam, "u", &[], now(), None).unwrap_err();
        assert_eq!(e.code.as_deref(), Some(UNCLEAR));
        assert!(e.message.contains(&FakeIam::key_id(1)) && e.message.contains(&FakeIam::key_id(2)));
        assert_eq!(iam.keys_of("u").len(), 2);
    }

    #[test]
    fn a_clock_minutes_off_still_finds_the_key() {
        let iam = FakeIam::new().with_user("u").with_key("u");
        for off in [-20, -3, 3, 5] {
            let started = Timestamp::now() + SignedDuration::from_mins(off);
            let got = find(&iam, "u", &[], Some(started), &[]).unwrap();
            assert_eq!(
                got,
                Lost::Found(FakeIam::key_id(1)),
                "clock off by {off} min"
            );
        }
    }

    #[test]
    fn an_unused_key_outside_the_runs_minutes_is_not_deleted_but_named() {
        let iam = FakeIam::new().with_user("u").with_key("u");
        let long_ago = Timestamp::now() - SignedDuration::from_hours(2);
        let got = find(&iam, "u", &[], Some(long_ago), &[]).unwrap();
        assert_eq!(got, Lost::Unclear(vec![FakeIam::key_id(1)]));
        assert_eq!(iam.keys_of("u").len(), 1);
    }
}
