//! Patience with a new access key. IAM is eventually consistent: for seconds after
//! CreateAccessKey (about 8 s typically, up to a minute or two), AWS refuses the new key
//! with `InvalidClientTokenId`, exactly as it refuses a deleted or made-up one. A client
//! acting as a key made minutes ago ([`Patient`]) retries such a refusal with backoff,
//! saying that it waits, up to [`BOUND`]; a refusal that outlasts it, or one of an older
//! key, is handed on (with [`AwsError::waited`] set when it was waited out), and
//! [`super::errors::failed`] words each case. A refused call did
//! nothing in AWS (it was not authenticated), so even a create may be sent again, and
//! AWS records no use of a key it refused: the rotation's tripwire is not misled by
//! these waits.

use std::cell::Cell;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::{AwsError, AwsResult, Caller, Iam, KeyInfo, KeyUse, PasswordPolicy};
use crate::secret::SecretString;

/// The pauses before IAM's eventually consistent answers are asked for again: a few
/// seconds in all, as the AWS SDKs' waiters and Terraform allow for a new user.
pub const SETTLE: [std::time::Duration; 4] = [
    std::time::Duration::from_millis(500),
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(4),
];

/// A delete of what this run made seconds ago: IAM may answer NoSuchEntity while the
/// thing propagates. Believed only once `still_there` (a read) no longer sees it;
/// otherwise sent again after each [`SETTLE`] pause, and then reported as
/// `StillListed`.
pub fn settled(
    delete: impl Fn() -> AwsResult<()>,
    still_there: impl Fn() -> bool,
) -> AwsResult<()> {
    let mut pauses = SETTLE.iter();
    loop {
        match delete() {
            Err(e) if e.is_no_such_entity() && still_there() => match pauses.next() {
                // A fixed sleep on purpose: the pause *is* the time IAM needs.
                Some(p) => std::thread::sleep(*p),
                None => {
                    return Err(AwsError {
                        message: format!("{} (IAM says it is gone, yet still lists it)", e.message),
                        code: Some("StillListed".into()),
                        ..e
                    });
                }
            },
            other => return other,
        }
    }
}

/// A key this young may just not have propagated yet.
pub const YOUNG: Duration = Duration::from_secs(5 * 60);
/// How long a young key's refusals are waited out, in all.
pub const BOUND: Duration = Duration::from_secs(60);

/// An IAM client acting as an access key made at `made`: while the key is young, its
/// `InvalidClientTokenId` refusals are waited out.
pub struct Patient {
    inner: Box<dyn Iam>,
    /// When the wait ends (None: the key is not young, nothing is waited for).
    until: Option<Instant>,
    /// When the first refusal came (the waiting line counts from it).
    since: Cell<Option<Instant>>,
    /// When the waiting line was last said.
    said: Cell<Option<Instant>>,
    /// Run before each call is sent (noting the key's use, see [`Patient::before_each`]).
    before_each: Option<Box<dyn Fn()>>,
    /// Why a key that is not young is not waited for, said with its refusal.
    not_young: String,
}

impl Patient {
    /// Wraps `inner`, acting as a key made at `made` (None: unknown, so not young).
    pub fn new(inner: Box<dyn Iam>, made: Option<Timestamp>, now: Timestamp) -> Patient {
        let young = made.is_some_and(|m| {
            let age = now.duration_since(m);
            age < jiff::SignedDuration::try_from(YOUNG).unwrap_or_default()
                // a clock a little behind the sender's
                && age > jiff::SignedDuration::from_mins(-5)
        });
        let not_young = match made {
            None => "the bundle does not say when the key was made (a sealed console key never does): if it was made in the last minutes, run the command again shortly".to_string(),
            Some(m) if now.duration_since(m) < jiff::SignedDuration::ZERO => format!(
                "the bundle dates the key {} minutes in the future ({m}): a clock is wrong",
                now.duration_since(m).as_mins().abs()
            ),
            Some(m) => format!(
                "the bundle says the key was made {} minutes ago ({m}), longer ago than AWS takes to accept a new key",
                now.duration_since(m).as_mins()
            ),
        };
        Patient {
            inner,
            not_young,
            until: young.then(|| Instant::now() + bound()),
            since: Cell::new(None),
            said: Cell::new(None),
            before_each: None,
        }
    }

    /// Runs `f` before each call is sent: `open` notes there that handoff itself used
    /// the key, so that its rotation tripwire does not take that use for a stranger's.
    pub fn before_each(mut self, f: impl Fn() + 'static) -> Patient {
        self.before_each = Some(Box::new(f));
        self
    }

    /// Waits at most `bound` in all (instead of [`BOUND`]).
    pub fn bound(mut self, bound: Duration) -> Patient {
        if self.until.is_some() {
            self.until = Some(Instant::now() + bound);
        }
        self
    }

    /// Runs `call`, again after a pause while AWS refuses the young key.
    fn wait<T>(&self, call: impl Fn() -> AwsResult<T>) -> AwsResult<T> {
        let mut pause = Duration::from_millis(500);
        loop {
            if let Some(f) = &self.before_each {
                f();
            }
            let e = match call() {
                Err(e) if e.code.as_deref() == Some("InvalidClientTokenId") => e,
                other => return other,
            };
            let Some(until) = self.until else {
                return Err(AwsError {
                    message: format!("{}; {}", e.message, self.not_young),
                    ..e
                });
            };
            let since = *self.since.get().get_or_insert_with(Instant::now);
            self.since.set(Some(since));
            if Instant::now() + pause > until || crate::interrupt::signal().is_some() {
                return Err(gave_up(e, since.elapsed()));
            }
            let now = Instant::now();
            if self
                .said
                .get()
                .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(5))
            {
                self.said.set(Some(now));
                crate::say!(
                    "• waiting for AWS to accept the new key ({} s)",
                    since.elapsed().as_secs()
                );
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(4));
        }
    }
}

/// The refusal after the wait, saying how long it was waited out.
fn gave_up(e: AwsError, waited: Duration) -> AwsError {
    AwsError {
        waited: Some(waited),
        ..e
    }
}

/// How long a young key's refusals are waited out: [`BOUND`] (less in a debug build's
/// tests, with `HANDOFF_TEST_PATIENCE_SECS`).
pub fn bound() -> Duration {
    // Debug builds only: a test of the bound cannot wait a minute.
    if cfg!(debug_assertions)
        && let Some(s) = std::env::var("HANDOFF_TEST_PATIENCE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
    {
        return Duration::from_secs(s);
    }
    BOUND
}

impl Iam for Patient {
    fn caller(&self) -> AwsResult<Caller> {
        self.wait(|| self.inner.caller())
    }
    fn user(&self, user: &str) -> AwsResult<Option<crate::aws::UserFound>> {
        self.wait(|| self.inner.user(user))
    }
    fn create_user(&self, user: &str, tags: &[(&str, &str)]) -> AwsResult<String> {
        self.wait(|| self.inner.create_user(user, tags))
    }
    fn delete_user(&self, user: &str) -> AwsResult<()> {
        self.wait(|| self.inner.delete_user(user))
    }
    fn attached_policies(&self, user: &str) -> AwsResult<Vec<String>> {
        self.wait(|| self.inner.attached_policies(user))
    }
    fn attach_policy(&self, user: &str, arn: &str) -> AwsResult<()> {
        self.wait(|| self.inner.attach_policy(user, arn))
    }
    fn detach_policy(&self, user: &str, arn: &str) -> AwsResult<()> {
        self.wait(|| self.inner.detach_policy(user, arn))
    }
    fn inline_policies(&self, user: &str) -> AwsResult<Vec<String>> {
        self.wait(|| self.inner.inline_policies(user))
    }
    fn put_inline_policy(&self, user: &str, name: &str, document: &str) -> AwsResult<()> {
        self.wait(|| self.inner.put_inline_policy(user, name, document))
    }
    fn delete_inline_policy(&self, user: &str, name: &str) -> AwsResult<()> {
        self.wait(|| self.inner.delete_inline_policy(user, name))
    }
    fn inline_policy(&self, user: &str, name: &str) -> AwsResult<Option<String>> {
        self.wait(|| self.inner.inline_policy(user, name))
    }
    fn access_keys(&self, user: &str) -> AwsResult<Vec<KeyInfo>> {
        self.wait(|| self.inner.access_keys(user))
    }
    fn create_access_key(&self, user: &str) -> AwsResult<(String, SecretString)> {
        self.wait(|| self.inner.create_access_key(user))
    }
    fn key_last_used(&self, id: &str) -> AwsResult<Option<KeyUse>> {
        self.wait(|| self.inner.key_last_used(id))
    }
    fn key_owner(&self, id: &str) -> AwsResult<Option<String>> {
        self.wait(|| self.inner.key_owner(id))
    }
    fn delete_access_key(&self, user: &str, id: &str) -> AwsResult<()> {
        self.wait(|| self.inner.delete_access_key(user, id))
    }
    fn has_login_profile(&self, user: &str) -> AwsResult<bool> {
        self.wait(|| self.inner.has_login_profile(user))
    }
    fn create_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()> {
        self.wait(|| {
            self.inner
                .create_login_profile(user, password, reset_required)
        })
    }
    fn update_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()> {
        self.wait(|| {
            self.inner
                .update_login_profile(user, password, reset_required)
        })
    }
    fn delete_login_profile(&self, user: &str) -> AwsResult<()> {
        self.wait(|| self.inner.delete_login_profile(user))
    }
    fn password_policy(&self) -> AwsResult<Option<PasswordPolicy>> {
        self.wait(|| self.inner.password_policy())
    }
    fn account_alias(&self) -> AwsResult<Option<String>> {
        self.wait(|| self.inner.account_alias())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeIam;

    fn as_new_key(calls: usize, made_ago: i64) -> (FakeIam, Patient) {
        let fake = FakeIam::new().with_user("u").with_key("u");
        let id = FakeIam::key_id(1);
        fake.key_not_yet_valid(&id, calls);
        let now = Timestamp::now();
        let made = now - jiff::SignedDuration::from_secs(made_ago);
        let patient = Patient::new(Box::new(fake.as_key(&id)), Some(made), now);
        (fake, patient)
    }

    #[test]
    fn a_young_keys_refusals_are_waited_out() {
        let (fake, p) = as_new_key(2, 3);
        assert!(p.caller().is_ok());
        assert_eq!(
            fake.calls()
                .iter()
                .filter(|c| c.starts_with("GetCallerIdentity"))
                .count(),
            3
        );
    }

    #[test]
    fn an_old_keys_refusal_is_handed_on_at_once() {
        let (fake, p) = as_new_key(2, 600);
        let e = p.caller().unwrap_err();
        assert_eq!(e.code.as_deref(), Some("InvalidClientTokenId"));
        assert_eq!(fake.calls().len(), 1);
    }

    #[test]
    fn a_key_of_unknown_age_is_not_waited_for() {
        let fake = FakeIam::new().with_user("u").with_key("u");
        let id = FakeIam::key_id(1);
        fake.key_not_yet_valid(&id, 1);
        let p = Patient::new(Box::new(fake.as_key(&id)), None, Timestamp::now());
        assert_eq!(
            p.caller().unwrap_err().code.as_deref(),
            Some("InvalidClientTokenId")
        );
    }

    #[test]
    fn other_failures_are_not_retried() {
        let (fake, p) = as_new_key(0, 3);
        fake.fail(
            "GetCallerIdentity",
            crate::aws::fake::On::Every,
            "AccessDenied",
        );
        assert_eq!(
            p.caller().unwrap_err().code.as_deref(),
            Some("AccessDenied")
        );
        assert_eq!(fake.calls().len(), 1);
    }
}
