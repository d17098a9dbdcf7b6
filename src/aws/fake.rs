//! An in-memory IAM account behind the [`Iam`] trait, for unit tests of create, revoke
//! and rotation. It models what those commands rely on: users with tags, attached and
//! inline policies, at most two access keys each and a console password; the
//! account's password policy and alias; IAM's refusals, with AWS's error codes and
//! messages (`NoSuchEntity`, `EntityAlreadyExists`, `LimitExceeded`, `DeleteConflict`,
//! `PasswordPolicyViolation`); and, for calls signed with an access key,
//! `InvalidClientTokenId` (a deleted key, or a new one IAM has not propagated yet) and
//! `SignatureDoesNotMatch` (a wrong secret). Tests script failures per action and call
//! (an error answer, a 5xx before the change, a reply lost after it) and slowness on a
//! virtual clock, then compare [`FakeIam::snapshot`]s to check that a failed run left
//! the account exactly as it found it.
//!
//! It does not model: permissions (every authenticated call is allowed: script
//! `AccessDenied` to test a refusal), which managed policies exist (any ARN attaches),
//! policy documents (stored, not parsed), deactivated keys (the trait has no
//! UpdateAccessKey, so every key is `Active`), last-use records (AWS writes them hours
//! late, so only [`FakeIam::with_key_used`] sets one), password rules other than the
//! minimum length, paging, or the SDK adapter's retries: a scripted error reaches the
//! command as if every retry had failed too. Like the adapter, it turns a
//! `NoSuchEntity` from GetUser, GetLoginProfile and GetAccountPasswordPolicy, real or
//! scripted, into the trait's "absent" answer.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Duration;

use jiff::Timestamp;

use super::{AwsError, AwsResult, Caller, Iam, KeyInfo, KeyUse, PasswordPolicy};
use crate::secret::{ExposeSecret, SecretString, secrets_equal};

/// The API actions the trait's methods make, spelt as [`AwsError::action`] spells them
/// in `sdk.rs`; scripting any other name panics.
pub const ACTIONS: [&str; 20] = [
    "GetCallerIdentity",
    "GetUser",
    "CreateUser",
    "DeleteUser",
    "ListAttachedUserPolicies",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "ListUserPolicies",
    "PutUserPolicy",
    "DeleteUserPolicy",
    "ListAccessKeys",
    "CreateAccessKey",
    "GetAccessKeyLastUsed",
    "DeleteAccessKey",
    "GetLoginProfile",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "DeleteLoginProfile",
    "GetAccountPasswordPolicy",
    "ListAccountAliases",
];

/// Who calls in a new fake: an administrator's role session.
const DEFAULT_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/Admin/fake-admin";

/// The minimum length IAM holds passwords to when the account has no password policy.
const DEFAULT_MIN_PASSWORD: usize = 8;

/// IAM's (and STS's) answer to a request signed with a key it does not know.
const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// IAM's answer to a request signed with the wrong secret.
const BAD_SIGNATURE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// IAM's 500.
const SERVICE_FAILURE: &str =
    "Request processing has failed due to an unknown error, exception or failure.";

/// What the adapter says when the SDK's dispatch fails (sdk.rs).
const CONNECTION_BROKE: &str =
    "the request could not be sent, or the connection broke (network error)";

/// Which calls of an action a script applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// The n-th call of the action (1-based), whoever makes it.
    Call(usize),
    /// Every call of the action.
    Every,
}

/// What the account holds, everything but the secrets' values: equal snapshots mean
/// AWS is exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    /// The 12-digit account id.
    pub account: String,
    /// The ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// The account alias, if any.
    pub alias: Option<String>,
    /// The password policy's minimum length; None when the account has no policy.
    pub password_policy: Option<usize>,
    /// The IAM users, by name.
    pub users: BTreeMap<String, User>,
}

/// One IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// Its ARN.
    pub arn: String,
    /// The tags it was created with.
    pub tags: Vec<(String, String)>,
    /// Attached managed policy ARNs, in the order they were attached.
    pub policies: Vec<String>,
    /// Inline policies: name → document.
    pub inline: BTreeMap<String, String>,
    /// Access keys, oldest first.
    pub keys: Vec<Key>,
    /// The console password, if any.
    pub login_profile: Option<LoginProfile>,
}

/// An access key's public facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The access key id.
    pub id: String,
    /// Always `Active` (see the module notes).
    pub status: String,
    /// When it was created.
    pub created: Timestamp,
    /// The last use AWS recorded: when, and with which service.
    pub last_used: Option<(Timestamp, String)>,
}

/// A console password, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginProfile {
    /// Whether a new password is required at the next sign-in.
    pub reset_required: bool,
    /// Which password setting in this account (1st, 2nd, …) put the current password,
    /// so that a replaced password shows in a snapshot although its value does not.
    pub password_serial: u64,
}

/// What a script does to a call.
enum Effect {
    /// IAM refuses with this code; nothing is done.
    Fail(String),
    /// A 5xx before anything is done.
    Unavailable,
    /// The call is carried out, then its reply is lost.
    LoseReply,
}

struct Script {
    action: &'static str,
    when: On,
    effect: Effect,
}

/// IAM refusing a call (a 4xx: nothing was done); `call` adds the action.
struct Refusal {
    code: &'static str,
    message: String,
}

fn refuse<T>(code: &'static str, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

fn no_user<T>(user: &str) -> Result<T, Refusal> {
    refuse(
        "NoSuchEntity",
        format!("The user with name {user} cannot be found."),
    )
}

fn no_key<T>(id: &str) -> Result<T, Refusal> {
    refuse(
        "NoSuchEntity",
        format!("The Access Key with id {id} cannot be found."),
    )
}

fn no_login_profile<T>(user: &str) -> Result<T, Refusal> {
    refuse(
        "NoSuchEntity",
        format!("Login Profile for User {user} cannot be found."),
    )
}

/// The account and the test's scripts, shared by every clone.
#[derive(Default)]
struct Account {
    state: State,
    /// Key id → secret. Kept after the key is deleted: its holder still has the secret
    /// and can still sign with it (and be refused).
    secrets: HashMap<String, SecretString>,
    /// User → console password.
    passwords: HashMap<String, SecretString>,
    /// Access keys minted so far (ids are numbered from 1).
    minted: usize,
    /// Passwords set so far.
    password_sets: u64,
    /// Key id → how many more calls signed with it fail as if IAM did not know it yet.
    not_yet_valid: HashMap<String, usize>,
    scripts: Vec<Script>,
    slow: HashMap<&'static str, Duration>,
    /// Action → calls made so far, for [`On::Call`].
    counts: HashMap<&'static str, usize>,
    calls: Vec<String>,
    elapsed: Duration,
    /// [`Iam::apply`] sends every write, as the SDK does, not stopping at a failure.
    all_at_once: bool,
}

impl Account {
    fn user(&self, name: &str) -> Result<&User, Refusal> {
        self.state.users.get(name).map_or_else(|| no_user(name), Ok)
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut User, Refusal> {
        self.state
            .users
            .get_mut(name)
            .map_or_else(|| no_user(name), Ok)
    }

    /// CreateUser's work: the new user's ARN.
    fn add_user(&mut self, name: &str, tags: &[(&str, &str)]) -> Result<String, Refusal> {
        if self.state.users.contains_key(name) {
            return refuse(
                "EntityAlreadyExists",
                format!("User with name {name} already exists."),
            );
        }
        let s = &self.state;
        let arn = format!("arn:{}:iam::{}:user/{name}", s.partition, s.account);
        let tags = tags.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let user = User {
            arn: arn.clone(),
            tags: tags.collect(),
            ..User::default()
        };
        self.state.users.insert(name.into(), user);
        Ok(arn)
    }

    /// The user holding the key with this id.
    fn owner_of(&self, id: &str) -> Option<&User> {
        self.state
            .users
            .values()
            .find(|u| u.keys.iter().any(|k| k.id == id))
    }

    /// Adds a new access key to `user` (which exists, with fewer than two keys).
    fn mint(&mut self, user: &str) -> (String, SecretString) {
        self.minted += 1;
        let id = FakeIam::key_id(self.minted);
        // 40 characters of the secret's alphabet, different for every key.
        let secret = SecretString::from(format!("fakeSecretKey/{:026}", self.minted));
        self.secrets.insert(id.clone(), secret.clone());
        let created = Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| Timestamp::now());
        let user = self.state.users.get_mut(user).expect("the user exists");
        user.keys.push(Key {
            id: id.clone(),
            status: "Active".into(),
            created,
            last_used: None,
        });
        (id, secret)
    }

    fn check_password(&self, password: &SecretString) -> Result<(), Refusal> {
        let min = self.state.password_policy.unwrap_or(DEFAULT_MIN_PASSWORD);
        if password.expose_secret().chars().count() < min {
            return refuse(
                "PasswordPolicyViolation",
                format!("Password should have a minimum length of {min}"),
            );
        }
        Ok(())
    }

    /// Gives `user` (who exists) this console password.
    fn store_password(&mut self, user: &str, password: &SecretString, reset_required: bool) {
        self.password_sets += 1;
        let profile = LoginProfile {
            reset_required,
            password_serial: self.password_sets,
        };
        self.state
            .users
            .get_mut(user)
            .expect("the user exists")
            .login_profile = Some(profile);
        self.passwords.insert(user.to_string(), password.clone());
    }

    /// The next call of `action`: counted, logged, slowed, and the script that applies.
    fn start(&mut self, action: &'static str, principal: &Principal) -> Option<&Effect> {
        let n = self.counts.entry(action).or_default();
        *n += 1;
        let n = *n;
        self.calls.push(match principal {
            Principal::Key { id, .. } => format!("{action} as {id}"),
            Principal::Admin(_) => action.to_string(),
        });
        if let Some(d) = self.slow.get(action) {
            self.elapsed += *d;
        }
        self.scripts
            .iter()
            .find(|s| s.action == action && (s.when == On::Every || s.when == On::Call(n)))
            .map(|s| &s.effect)
    }
}

/// Who signs the requests.
#[derive(Clone)]
enum Principal {
    /// The account's administrator, with this ARN.
    Admin(String),
    /// The holder of an access key, signing with this secret.
    Key { id: String, secret: SecretString },
}

/// A fake IAM account as one principal sees it. Clones share the account, so a test
/// can hand out clients acting as other principals and keep observing it.
#[derive(Clone)]
pub struct FakeIam {
    account: Rc<RefCell<Account>>,
    principal: Principal,
}

impl Default for FakeIam {
    fn default() -> Self {
        Self::new()
    }
}

/// The action as the trait spells it; panics on any other name, so that a misspelt
/// script cannot silently script nothing.
fn action(name: &str) -> &'static str {
    ACTIONS
        .iter()
        .copied()
        .find(|a| *a == name)
        .unwrap_or_else(|| {
            panic!("FakeIam: no Iam method makes {name:?}; the actions are {ACTIONS:?}")
        })
}

impl FakeIam {
    /// Account 123456789012 in partition `aws`, an administrator calling, no users, no
    /// password policy, no alias.
    pub fn new() -> FakeIam {
        let state = State {
            account: "123456789012".into(),
            partition: "aws".into(),
            ..State::default()
        };
        FakeIam {
            account: Rc::new(RefCell::new(Account {
                state,
                ..Account::default()
            })),
            principal: Principal::Admin(DEFAULT_CALLER.into()),
        }
    }

    /// The id of the n-th access key this fake mints (1-based, `with_key` included):
    /// `AKIAFAKE` and 12 digits.
    pub fn key_id(n: usize) -> String {
        format!("AKIAFAKE{n:012}")
    }

    fn edit(self, f: impl FnOnce(&mut Account)) -> Self {
        f(&mut self.account.borrow_mut());
        self
    }

    /// A user a builder sets up; a test that names a missing one is wrong.
    fn setup<'a>(a: &'a mut Account, user: &str, builder: &str) -> &'a mut User {
        a.user_mut(user)
            .unwrap_or_else(|_| panic!("{builder}: no user {user}"))
    }

    /// This handle calls as an administrator with this ARN (what GetCallerIdentity
    /// answers). The account stays 123456789012 in `aws`: users' ARNs do not follow.
    pub fn acting_as(mut self, arn: &str) -> Self {
        self.principal = Principal::Admin(arn.into());
        self
    }

    /// Adds a user, tagged as handoff tags the users it creates.
    pub fn with_user(self, user: &str) -> Self {
        self.edit(|a| {
            let added = a.add_user(user, &[(crate::aws::names::CREATED_BY_TAG, "handoff")]);
            assert!(added.is_ok(), "with_user: {user} exists");
        })
    }

    /// Adds a user handoff did not create (no created-by=handoff tag).
    pub fn with_foreign_user(self, user: &str) -> Self {
        self.edit(|a| {
            let added = a.add_user(user, &[]);
            assert!(added.is_ok(), "with_foreign_user: {user} exists");
        })
    }

    /// Gives the user a new access key; its id is [`FakeIam::key_id`] of the keys
    /// minted so far.
    pub fn with_key(self, user: &str) -> Self {
        self.edit(|a| {
            let keys = Self::setup(a, user, "with_key").keys.len();
            assert!(
                keys < 2,
                "with_key: {user} has two keys, the most IAM allows"
            );
            a.mint(user);
        })
    }

    /// Records a use of the key: when, and with which service (the region is `N/A`
    /// for IAM, `us-east-1` otherwise).
    pub fn with_key_used(self, id: &str, when: Timestamp, service: &str) -> Self {
        self.edit(|a| {
            let key = a
                .state
                .users
                .values_mut()
                .flat_map(|u| u.keys.iter_mut())
                .find(|k| k.id == id)
                .unwrap_or_else(|| panic!("with_key_used: no key {id}"));
            key.last_used = Some((when, service.into()));
        })
    }

    /// Attaches a managed policy to the user.
    pub fn with_policy(self, user: &str, arn: &str) -> Self {
        self.edit(|a| {
            Self::setup(a, user, "with_policy")
                .policies
                .push(arn.into());
        })
    }

    /// Puts an inline policy on the user.
    pub fn with_inline_policy(self, user: &str, name: &str, document: &str) -> Self {
        self.edit(|a| {
            let u = Self::setup(a, user, "with_inline_policy");
            u.inline.insert(name.into(), document.into());
        })
    }

    /// Gives the user a console password (`Existing-password-1`, no reset required).
    pub fn with_login_profile(self, user: &str) -> Self {
        self.edit(|a| {
            Self::setup(a, user, "with_login_profile");
            a.store_password(user, &SecretString::from("Existing-password-1"), false);
        })
    }

    /// Sets the account's password policy.
    pub fn with_password_policy(self, min_length: usize) -> Self {
        self.edit(|a| a.state.password_policy = Some(min_length))
    }

    /// Sets the account alias.
    pub fn with_alias(self, alias: &str) -> Self {
        self.edit(|a| a.state.alias = Some(alias.into()))
    }

    fn script(&self, name: &str, when: On, effect: Effect) -> &Self {
        assert!(when != On::Call(0), "On::Call counts from 1");
        let action = action(name);
        self.account.borrow_mut().scripts.push(Script {
            action,
            when,
            effect,
        });
        self
    }

    /// Makes those calls of `action` fail with AWS error `code` (a 4xx: nothing is
    /// done). The first script that matches a call applies.
    pub fn fail(&self, action: &str, when: On, code: &str) -> &Self {
        self.script(action, when, Effect::Fail(code.into()))
    }

    /// Makes those calls of `action` happen, then lose their reply (outcome unknown).
    pub fn lose_reply(&self, action: &str, when: On) -> &Self {
        self.script(action, when, Effect::LoseReply)
    }

    /// Makes those calls of `action` fail with a 5xx `ServiceFailure` (outcome unknown),
    /// before anything is done.
    pub fn unavailable(&self, action: &str, when: On) -> &Self {
        self.script(action, when, Effect::Unavailable)
    }

    /// Makes every call of `action` take this long on the virtual clock ([`elapsed`]).
    ///
    /// [`elapsed`]: FakeIam::elapsed
    pub fn slow(&self, name: &str, by: Duration) -> &Self {
        let action = action(name);
        self.account.borrow_mut().slow.insert(action, by);
        self
    }

    /// The next `calls` calls signed with key `id` fail with `InvalidClientTokenId`, as
    /// when IAM has not propagated a new key yet.
    pub fn key_not_yet_valid(&self, id: &str, calls: usize) -> &Self {
        self.account
            .borrow_mut()
            .not_yet_valid
            .insert(id.into(), calls);
        self
    }

    /// Every call made so far, in order: the action, and ` as KEY-ID` when it was
    /// signed with an access key. Failed calls are included.
    pub fn calls(&self) -> Vec<String> {
        self.account.borrow().calls.clone()
    }

    /// The time the calls took on the virtual clock (see [`FakeIam::slow`]).
    /// Makes [`Iam::apply`] send every write whatever the others answer, as the SDK
    /// does (by default it stops at the first failure).
    pub fn all_at_once(&self) -> &Self {
        self.account.borrow_mut().all_at_once = true;
        self
    }

    pub fn elapsed(&self) -> Duration {
        self.account.borrow().elapsed
    }

    /// Everything the account holds but the secrets' values.
    pub fn snapshot(&self) -> State {
        self.account.borrow().state.clone()
    }

    /// The users' names, sorted.
    pub fn users(&self) -> Vec<String> {
        self.account.borrow().state.users.keys().cloned().collect()
    }

    /// The user's access key ids, oldest first (none when there is no such user).
    pub fn keys_of(&self, user: &str) -> Vec<String> {
        let a = self.account.borrow();
        let keys = a.state.users.get(user).map(|u| u.keys.as_slice());
        keys.unwrap_or_default()
            .iter()
            .map(|k| k.id.clone())
            .collect()
    }

    /// The user's inline policy of that name, if any (an observer: no call).
    pub fn inline_of(&self, user: &str, name: &str) -> Option<String> {
        let a = self.account.borrow();
        a.state
            .users
            .get(user)
            .and_then(|u| u.inline.get(name).cloned())
    }

    /// The managed policies attached to the user (none when there is no such user).
    pub fn policies_of(&self, user: &str) -> Vec<String> {
        let a = self.account.borrow();
        a.state
            .users
            .get(user)
            .map(|u| u.policies.clone())
            .unwrap_or_default()
    }

    /// Whether the user has a console password. An observer: unlike the trait's method
    /// of the same name it makes no call (and cannot fail).
    pub fn has_login_profile(&self, user: &str) -> bool {
        let a = self.account.borrow();
        a.state
            .users
            .get(user)
            .is_some_and(|u| u.login_profile.is_some())
    }

    /// Whether the user's console password is this one.
    pub fn password_is(&self, user: &str, password: &SecretString) -> bool {
        let a = self.account.borrow();
        a.passwords
            .get(user)
            .is_some_and(|p| secrets_equal(p, password))
    }

    /// A handle on the same account signing with key `id` and its right secret (a
    /// deleted key's too: its holder still has it). Panics if the key was never minted.
    pub fn as_key(&self, id: &str) -> FakeIam {
        let secret = self.account.borrow().secrets.get(id).cloned();
        let secret = secret.unwrap_or_else(|| panic!("as_key: this fake never minted {id}"));
        FakeIam {
            account: Rc::clone(&self.account),
            principal: Principal::Key {
                id: id.into(),
                secret,
            },
        }
    }

    /// What `rotate`'s `ClientFor` expects: a client on this account signing with the
    /// given key. It never fails, like the SDK's (nothing is sent yet): a wrong secret
    /// or an unknown key shows at the first call.
    pub fn client_for(
        &self,
    ) -> impl Fn(&str, &SecretString) -> crate::error::Result<Box<dyn Iam>> + use<> {
        let account = Rc::clone(&self.account);
        move |id: &str, secret: &SecretString| {
            let principal = Principal::Key {
                id: id.into(),
                secret: secret.clone(),
            };
            Ok(Box::new(FakeIam {
                account: Rc::clone(&account),
                principal,
            }) as Box<dyn Iam>)
        }
    }

    /// Makes one call: counts and logs it, applies the scripts, checks the signature,
    /// then runs `op` with the caller's ARN.
    fn call<T>(
        &self,
        action: &'static str,
        op: impl FnOnce(&mut Account, &str) -> Result<T, Refusal>,
    ) -> AwsResult<T> {
        let mut guard = self.account.borrow_mut();
        let a = &mut *guard;
        let failure = |code: &str, message: &str, outcome_unknown| AwsError {
            action,
            code: Some(code.into()),
            message: message.into(),
            outcome_unknown,
            waited: None,
            no_credentials: false,
        };
        let lose = match a.start(action, &self.principal) {
            Some(Effect::Fail(code)) => return Err(failure(code, "scripted by the test", false)),
            Some(Effect::Unavailable) => {
                return Err(failure("ServiceFailure", SERVICE_FAILURE, true));
            }
            Some(Effect::LoseReply) => true,
            None => false,
        };
        let result = Self::authenticate(a, &self.principal).and_then(|arn| op(a, &arn));
        if lose {
            // The change may have been made (or refused): the caller cannot know.
            return Err(AwsError {
                action,
                code: None,
                message: CONNECTION_BROKE.into(),
                outcome_unknown: true,
                waited: None,
                no_credentials: false,
            });
        }
        result.map_err(|r| failure(r.code, &r.message, false))
    }

    /// The caller's ARN, or IAM's refusal of the signature.
    fn authenticate(a: &mut Account, principal: &Principal) -> Result<String, Refusal> {
        let (id, secret) = match principal {
            Principal::Admin(arn) => return Ok(arn.clone()),
            Principal::Key { id, secret } => (id, secret),
        };
        if let Some(left) = a.not_yet_valid.get_mut(id)
            && *left > 0
        {
            *left -= 1;
            return refuse("InvalidClientTokenId", INVALID_TOKEN);
        }
        let Some(owner) = a.owner_of(id) else {
            return refuse("InvalidClientTokenId", INVALID_TOKEN);
        };
        if !secrets_equal(secret, &a.secrets[id]) {
            return refuse("SignatureDoesNotMatch", BAD_SIGNATURE);
        }
        Ok(owner.arn.clone())
    }
}

/// What the adapter does with a `NoSuchEntity` from a Get: answers "absent".
fn absent_if_no_such_entity<T>(r: AwsResult<T>, absent: T) -> AwsResult<T> {
    match r {
        Err(e) if e.is_no_such_entity() => Ok(absent),
        r => r,
    }
}

impl Iam for FakeIam {
    fn caller(&self) -> AwsResult<Caller> {
        self.call("GetCallerIdentity", |a, arn| {
            Ok(Caller {
                account: a.state.account.clone(),
                arn: arn.into(),
            })
        })
    }

    fn user(&self, user: &str) -> AwsResult<Option<super::UserFound>> {
        let r = self.call("GetUser", |a, _| {
            let u = a.user(user)?;
            Ok(Some(super::UserFound {
                arn: u.arn.clone(),
                made_by_handoff: u
                    .tags
                    .iter()
                    .any(|(k, v)| k == crate::aws::names::CREATED_BY_TAG && v == "handoff"),
            }))
        });
        absent_if_no_such_entity(r, None)
    }

    fn create_user(&self, user: &str, tags: &[(&str, &str)]) -> AwsResult<String> {
        self.call("CreateUser", |a, _| a.add_user(user, tags))
    }

    fn delete_user(&self, user: &str) -> AwsResult<()> {
        self.call("DeleteUser", |a, _| {
            let u = a.user(user)?;
            // In the order AWS's DeleteUser documentation lists what must go first.
            let first = if u.login_profile.is_some() {
                Some("delete login profile")
            } else if !u.keys.is_empty() {
                Some("delete access keys")
            } else if !u.inline.is_empty() {
                Some("delete policies")
            } else if !u.policies.is_empty() {
                Some("detach all policies")
            } else {
                None
            };
            if let Some(what) = first {
                return refuse(
                    "DeleteConflict",
                    format!("Cannot delete entity, must {what} first."),
                );
            }
            a.state.users.remove(user);
            Ok(())
        })
    }

    fn attached_policies(&self, user: &str) -> AwsResult<Vec<String>> {
        self.call("ListAttachedUserPolicies", |a, _| {
            Ok(a.user(user)?.policies.clone())
        })
    }

    fn attach_policy(&self, user: &str, arn: &str) -> AwsResult<()> {
        self.call("AttachUserPolicy", |a, _| {
            let u = a.user_mut(user)?;
            // Attaching an attached policy succeeds and changes nothing, as in IAM.
            if !u.policies.iter().any(|p| p == arn) {
                u.policies.push(arn.into());
            }
            Ok(())
        })
    }

    fn detach_policy(&self, user: &str, arn: &str) -> AwsResult<()> {
        self.call("DetachUserPolicy", |a, _| {
            let u = a.user_mut(user)?;
            let Some(i) = u.policies.iter().position(|p| p == arn) else {
                return refuse("NoSuchEntity", format!("Policy {arn} was not found."));
            };
            u.policies.remove(i);
            Ok(())
        })
    }

    fn inline_policies(&self, user: &str) -> AwsResult<Vec<String>> {
        self.call("ListUserPolicies", |a, _| {
            Ok(a.user(user)?.inline.keys().cloned().collect())
        })
    }

    fn put_inline_policy(&self, user: &str, name: &str, document: &str) -> AwsResult<()> {
        self.call("PutUserPolicy", |a, _| {
            // PutUserPolicy replaces a policy of the same name.
            a.user_mut(user)?
                .inline
                .insert(name.into(), document.into());
            Ok(())
        })
    }

    fn delete_inline_policy(&self, user: &str, name: &str) -> AwsResult<()> {
        self.call("DeleteUserPolicy", |a, _| {
            match a.user_mut(user)?.inline.remove(name) {
                Some(_) => Ok(()),
                None => refuse(
                    "NoSuchEntity",
                    format!("The user policy with name {name} cannot be found."),
                ),
            }
        })
    }

    fn inline_policy(&self, user: &str, name: &str) -> AwsResult<Option<String>> {
        self.call("GetUserPolicy", |a, _| {
            Ok(a.user(user)?.inline.get(name).cloned())
        })
    }

    fn access_keys(&self, user: &str) -> AwsResult<Vec<KeyInfo>> {
        self.call("ListAccessKeys", |a, _| {
            let keys = a.user(user)?.keys.iter().map(|k| KeyInfo {
                id: k.id.clone(),
                status: k.status.clone(),
                created: Some(k.created),
            });
            Ok(keys.collect())
        })
    }

    fn create_access_key(&self, user: &str) -> AwsResult<(String, SecretString)> {
        self.call("CreateAccessKey", |a, _| {
            if a.user(user)?.keys.len() >= 2 {
                return refuse(
                    "LimitExceeded",
                    "Cannot exceed quota for AccessKeysPerUser: 2",
                );
            }
            Ok(a.mint(user))
        })
    }

    fn key_last_used(&self, id: &str) -> AwsResult<Option<KeyUse>> {
        self.call("GetAccessKeyLastUsed", |a, _| {
            let Some(key) = a
                .owner_of(id)
                .and_then(|u| u.keys.iter().find(|k| k.id == id))
            else {
                return no_key(id);
            };
            Ok(key.last_used.as_ref().map(|(when, service)| KeyUse {
                when: *when,
                service: service.clone(),
                region: if service == "iam" { "N/A" } else { "us-east-1" }.into(),
            }))
        })
    }

    fn key_owner(&self, id: &str) -> AwsResult<Option<String>> {
        self.call("GetAccessKeyLastUsed", |a, _| {
            Ok(a.state
                .users
                .iter()
                .find(|(_, u)| u.keys.iter().any(|k| k.id == id))
                .map(|(name, _)| name.clone()))
        })
    }

    fn delete_access_key(&self, user: &str, id: &str) -> AwsResult<()> {
        self.call("DeleteAccessKey", |a, _| {
            let u = a.user_mut(user)?;
            // Another user's key is not found either.
            let Some(i) = u.keys.iter().position(|k| k.id == id) else {
                return no_key(id);
            };
            u.keys.remove(i);
            Ok(())
        })
    }

    fn has_login_profile(&self, user: &str) -> AwsResult<bool> {
        // IAM answers NoSuchEntity for a missing user too, and the adapter reads both
        // as "no password".
        let r = self.call("GetLoginProfile", |a, _| {
            match a.user(user)?.login_profile {
                Some(_) => Ok(true),
                None => no_login_profile(user),
            }
        });
        absent_if_no_such_entity(r, false)
    }

    fn create_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()> {
        self.call("CreateLoginProfile", |a, _| {
            if a.user(user)?.login_profile.is_some() {
                return refuse(
                    "EntityAlreadyExists",
                    format!("Login Profile for user {user} already exists."),
                );
            }
            a.check_password(password)?;
            a.store_password(user, password, reset_required);
            Ok(())
        })
    }

    fn update_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()> {
        self.call("UpdateLoginProfile", |a, _| {
            if a.user(user)?.login_profile.is_none() {
                return no_login_profile(user);
            }
            a.check_password(password)?;
            a.store_password(user, password, reset_required);
            Ok(())
        })
    }

    fn delete_login_profile(&self, user: &str) -> AwsResult<()> {
        self.call("DeleteLoginProfile", |a, _| {
            if a.user_mut(user)?.login_profile.take().is_none() {
                return no_login_profile(user);
            }
            a.passwords.remove(user);
            Ok(())
        })
    }

    fn password_policy(&self) -> AwsResult<Option<PasswordPolicy>> {
        let r = self.call("GetAccountPasswordPolicy", |a, _| {
            match a.state.password_policy {
                Some(min_length) => Ok(Some(PasswordPolicy { min_length })),
                None => refuse(
                    "NoSuchEntity",
                    format!(
                        "The Password Policy with domain name {} cannot be found.",
                        a.state.account
                    ),
                ),
            }
        });
        absent_if_no_such_entity(r, None)
    }

    fn account_alias(&self) -> AwsResult<Option<String>> {
        self.call("ListAccountAliases", |a, _| Ok(a.state.alias.clone()))
    }

    fn apply(&self, user: &str, writes: &[super::Write]) -> Vec<Option<AwsResult<super::Written>>> {
        // All at once, as the SDK sends them: each answers on its own.
        let stop_at_failure = !self.account.borrow().all_at_once;
        super::apply_each(writes, stop_at_failure, |w| super::send_one(self, user, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: std::fmt::Debug>(r: AwsResult<T>) -> String {
        r.expect_err("the call should fail")
            .code
            .unwrap_or_default()
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn a_new_account_has_an_admin_caller_and_nothing_else() {
        let fake = FakeIam::new();
        let c = fake.caller().unwrap();
        assert_eq!(c.account, "123456789012");
        assert_eq!(
            c.arn,
            "arn:aws:sts::123456789012:assumed-role/Admin/fake-admin"
        );
        assert!(fake.users().is_empty());
        assert_eq!(fake.password_policy().unwrap().map(|p| p.min_length), None);
        assert_eq!(fake.account_alias().unwrap(), None);
        // A clone shares the account, not who calls.
        let ops = fake
            .clone()
            .acting_as("arn:aws-cn:iam::123456789012:user/ops");
        assert_eq!(ops.caller().unwrap().partition(), "aws-cn");
        ops.create_user("boot", &[]).unwrap();
        assert_eq!(fake.users(), ["boot"]);
        assert_eq!(fake.caller().unwrap().arn, DEFAULT_CALLER);
        let aliased = FakeIam::new().with_alias("corp");
        assert_eq!(aliased.account_alias().unwrap().as_deref(), Some("corp"));
    }

    #[test]
    fn every_method_makes_the_action_listed() {
        let fake = FakeIam::new().with_user("u");
        let pw = secret("a-long-enough-password");
        let _ = fake.caller();
        let _ = fake.user_arn("u");
        let _ = fake.create_user("v", &[]);
        let _ = fake.delete_user("v");
        let _ = fake.attached_policies("u");
        let _ = fake.attach_policy("u", "arn:aws:iam::aws:policy/P");
        let _ = fake.detach_policy("u", "arn:aws:iam::aws:policy/P");
        let _ = fake.inline_policies("u");
        let _ = fake.put_inline_policy("u", "p", "{}");
        let _ = fake.delete_inline_policy("u", "p");
        let _ = fake.access_keys("u");
        let _ = fake.create_access_key("u");
        let _ = fake.key_last_used(&FakeIam::key_id(1));
        let _ = fake.delete_access_key("u", &FakeIam::key_id(1));
        let _ = Iam::has_login_profile(&fake, "u");
        let _ = fake.create_login_profile("u", &pw, true);
        let _ = fake.update_login_profile("u", &pw, false);
        let _ = fake.delete_login_profile("u");
        let _ = fake.password_policy();
        let _ = fake.account_alias();
        assert_eq!(fake.calls(), ACTIONS);
    }

    #[test]
    fn a_missing_user_is_absent_to_get_user_and_no_such_entity_elsewhere() {
        let fake = FakeIam::new();
        assert_eq!(fake.user_arn("ghost").unwrap(), None);
        assert!(!Iam::has_login_profile(&fake, "ghost").unwrap());
        let e = fake.access_keys("ghost").unwrap_err();
        assert!(e.is_no_such_entity());
        assert!(!e.outcome_unknown);
        assert_eq!(e.action, "ListAccessKeys");
        assert_eq!(e.message, "The user with name ghost cannot be found.");
        assert_eq!(code(fake.delete_user("ghost")), "NoSuchEntity");
        assert_eq!(
            code(fake.attach_policy("ghost", "arn:aws:iam::aws:policy/P")),
            "NoSuchEntity"
        );
        assert_eq!(code(fake.create_access_key("ghost")), "NoSuchEntity");
    }

    #[test]
    fn a_missing_key_policy_or_profile_is_no_such_entity() {
        let fake = FakeIam::new().with_user("a").with_key("a").with_user("b");
        let a_key = FakeIam::key_id(1);
        // A key is found only under its own user.
        assert_eq!(code(fake.delete_access_key("b", &a_key)), "NoSuchEntity");
        assert_eq!(
            code(fake.detach_policy("a", "arn:aws:iam::aws:policy/P")),
            "NoSuchEntity"
        );
        assert_eq!(code(fake.delete_inline_policy("a", "p")), "NoSuchEntity");
        assert_eq!(code(fake.delete_login_profile("a")), "NoSuchEntity");
        assert_eq!(
            code(fake.update_login_profile("a", &secret("long-enough-1"), true)),
            "NoSuchEntity"
        );
        assert_eq!(
            code(fake.key_last_used("AKIAFAKE999999999999")),
            "NoSuchEntity"
        );
        assert_eq!(fake.keys_of("a"), [a_key]);
    }

    #[test]
    fn creating_what_exists_is_entity_already_exists() {
        let fake = FakeIam::new().with_user("u").with_login_profile("u");
        let e = fake.create_user("u", &[]).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("EntityAlreadyExists"));
        assert_eq!(e.message, "User with name u already exists.");
        assert_eq!(
            code(fake.create_login_profile("u", &secret("long-enough-1"), true)),
            "EntityAlreadyExists"
        );
        assert!(fake.password_is("u", &secret("Existing-password-1")));
    }

    #[test]
    fn a_third_access_key_is_limit_exceeded() {
        let fake = FakeIam::new().with_user("u").with_key("u");
        let (id, s) = fake.create_access_key("u").unwrap();
        assert_eq!(id, FakeIam::key_id(2));
        assert_eq!(s.expose_secret().len(), 40);
        assert!(
            s.expose_secret()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        );
        let e = fake.create_access_key("u").unwrap_err();
        assert_eq!(e.code.as_deref(), Some("LimitExceeded"));
        assert_eq!(fake.keys_of("u"), [FakeIam::key_id(1), FakeIam::key_id(2)]);
    }

    #[test]
    fn delete_user_conflicts_until_everything_is_gone_in_order() {
        let fake = FakeIam::new()
            .with_user("u")
            .with_key("u")
            .with_policy("u", "arn:aws:iam::aws:policy/P")
            .with_inline_policy("u", "handoff-expiry", "{}")
            .with_login_profile("u");
        let conflict = |fake: &FakeIam| {
            let e = fake.delete_user("u").unwrap_err();
            assert_eq!(e.code.as_deref(), Some("DeleteConflict"));
            e.message
        };
        assert_eq!(
            conflict(&fake),
            "Cannot delete entity, must delete login profile first."
        );
        fake.delete_login_profile("u").unwrap();
        assert_eq!(
            conflict(&fake),
            "Cannot delete entity, must delete access keys first."
        );
        fake.delete_access_key("u", &FakeIam::key_id(1)).unwrap();
        assert_eq!(
            conflict(&fake),
            "Cannot delete entity, must delete policies first."
        );
        fake.delete_inline_policy("u", "handoff-expiry").unwrap();
        assert_eq!(
            conflict(&fake),
            "Cannot delete entity, must detach all policies first."
        );
        fake.detach_policy("u", "arn:aws:iam::aws:policy/P")
            .unwrap();
        fake.delete_user("u").unwrap();
        assert!(fake.users().is_empty());
    }

    #[test]
    fn a_short_password_is_a_password_policy_violation() {
        let fake = FakeIam::new().with_user("u");
        // Without a policy IAM still wants 8 characters.
        assert_eq!(
            code(fake.create_login_profile("u", &secret("7-chars"), true)),
            "PasswordPolicyViolation"
        );
        fake.create_login_profile("u", &secret("8-chars!"), true)
            .unwrap();
        let strict = FakeIam::new()
            .with_user("u")
            .with_password_policy(20)
            .with_login_profile("u");
        let e = strict
            .update_login_profile("u", &secret("nineteen-characters"), true)
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("PasswordPolicyViolation"));
        assert_eq!(e.message, "Password should have a minimum length of 20");
        assert!(strict.password_is("u", &secret("Existing-password-1")));
        assert_eq!(strict.password_policy().unwrap().unwrap().min_length, 20);
    }

    #[test]
    fn as_key_and_client_for_act_as_the_keys_user() {
        let fake = FakeIam::new().with_user("boot").with_key("boot");
        let id = FakeIam::key_id(1);
        let holder = fake.as_key(&id);
        assert_eq!(
            holder.caller().unwrap().arn,
            "arn:aws:iam::123456789012:user/boot"
        );
        let (new_id, new_secret) = holder.create_access_key("boot").unwrap();
        // What `rotate`'s ClientFor names.
        type ClientFor<'a> = &'a dyn Fn(&str, &SecretString) -> crate::error::Result<Box<dyn Iam>>;
        let client_for: ClientFor = &fake.client_for();
        let client = client_for(&new_id, &new_secret).unwrap();
        client.delete_access_key("boot", &id).unwrap();
        assert_eq!(fake.keys_of("boot"), [new_id.as_str()]);
        assert_eq!(
            fake.calls(),
            [
                format!("GetCallerIdentity as {id}"),
                format!("CreateAccessKey as {id}"),
                format!("DeleteAccessKey as {new_id}"),
            ]
        );
    }

    #[test]
    fn a_wrong_secret_is_signature_does_not_match_on_every_call() {
        let fake = FakeIam::new().with_user("boot").with_key("boot");
        let client = fake.client_for()(&FakeIam::key_id(1), &secret("not-the-secret")).unwrap();
        assert_eq!(code(client.caller()), "SignatureDoesNotMatch");
        assert_eq!(
            code(client.create_access_key("boot")),
            "SignatureDoesNotMatch"
        );
        assert_eq!(fake.keys_of("boot").len(), 1);
    }

    #[test]
    fn a_deleted_or_unknown_key_is_invalid_client_token_id() {
        let fake = FakeIam::new().with_user("boot").with_key("boot");
        let id = FakeIam::key_id(1);
        let holder = fake.as_key(&id);
        fake.delete_access_key("boot", &id).unwrap();
        let e = holder.caller().unwrap_err();
        assert_eq!(e.code.as_deref(), Some("InvalidClientTokenId"));
        assert_eq!(e.action, "GetCallerIdentity");
        assert!(!e.outcome_unknown);
        let never = fake.client_for()("AKIAFAKE999999999999", &secret("x")).unwrap();
        assert_eq!(code(never.access_keys("boot")), "InvalidClientTokenId");
    }

    #[test]
    fn a_key_not_yet_valid_fails_its_next_calls_only() {
        let fake = FakeIam::new().with_user("boot");
        fake.key_not_yet_valid(&FakeIam::key_id(1), 2);
        let (id, s) = fake.create_access_key("boot").unwrap();
        let new = fake.client_for()(&id, &s).unwrap();
        assert_eq!(code(new.caller()), "InvalidClientTokenId");
        // The administrator's calls are not counted.
        assert!(fake.caller().is_ok());
        assert_eq!(code(new.caller()), "InvalidClientTokenId");
        assert!(new.caller().unwrap().arn.ends_with(":user/boot"));
    }

    #[test]
    fn fail_on_call_n_hits_only_the_nth_call() {
        let fake = FakeIam::new().with_user("u");
        fake.fail("AttachUserPolicy", On::Call(2), "AccessDenied");
        fake.attach_policy("u", "arn:p1").unwrap();
        let e = fake.attach_policy("u", "arn:p2").unwrap_err();
        assert_eq!(e.code.as_deref(), Some("AccessDenied"));
        assert_eq!(e.message, "scripted by the test");
        assert!(!e.outcome_unknown);
        fake.attach_policy("u", "arn:p3").unwrap();
        assert_eq!(fake.policies_of("u"), ["arn:p1", "arn:p3"]);
    }

    #[test]
    fn fail_every_hits_every_call_of_that_action_only() {
        let fake = FakeIam::new().with_user("u");
        fake.fail("GetCallerIdentity", On::Every, "ExpiredToken");
        for _ in 0..3 {
            assert_eq!(code(fake.caller()), "ExpiredToken");
        }
        assert!(fake.access_keys("u").is_ok());
    }

    #[test]
    fn a_failed_call_changes_nothing() {
        let fake = FakeIam::new()
            .with_user("u")
            .with_key("u")
            .with_login_profile("u");
        let before = fake.snapshot();
        for action in [
            "CreateAccessKey",
            "DeleteAccessKey",
            "CreateUser",
            "UpdateLoginProfile",
        ] {
            fake.fail(action, On::Every, "AccessDenied");
        }
        fake.unavailable("DeleteLoginProfile", On::Every);
        assert!(fake.create_access_key("u").is_err());
        assert!(fake.delete_access_key("u", &FakeIam::key_id(1)).is_err());
        assert!(fake.create_user("v", &[("created-by", "handoff")]).is_err());
        assert!(
            fake.update_login_profile("u", &secret("long-enough-1"), true)
                .is_err()
        );
        assert!(fake.delete_login_profile("u").is_err());
        assert_eq!(fake.snapshot(), before);
        assert!(fake.password_is("u", &secret("Existing-password-1")));
    }

    #[test]
    fn a_lost_reply_carries_the_call_out() {
        let fake = FakeIam::new().with_user("u");
        fake.lose_reply("CreateAccessKey", On::Call(1));
        let e = fake.create_access_key("u").unwrap_err();
        assert_eq!(
            (e.action, e.code, e.outcome_unknown),
            ("CreateAccessKey", None, true)
        );
        assert_eq!(fake.keys_of("u"), [FakeIam::key_id(1)]);
        // The key exists and works, although its secret never reached the caller.
        assert!(fake.as_key(&FakeIam::key_id(1)).caller().is_ok());
    }

    #[test]
    fn unavailable_does_not_carry_the_call_out() {
        let fake = FakeIam::new().with_user("u");
        fake.unavailable("CreateUser", On::Call(1));
        let e = fake.create_user("v", &[]).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("ServiceFailure"));
        assert!(e.outcome_unknown);
        assert_eq!(fake.users(), ["u"]);
        fake.create_user("v", &[("created-by", "handoff")]).unwrap();
        assert_eq!(
            fake.snapshot().users["v"].tags,
            [("created-by".to_string(), "handoff".to_string())]
        );
    }

    #[test]
    fn a_scripted_no_such_entity_on_a_get_reads_as_absent() {
        let fake = FakeIam::new()
            .with_user("u")
            .with_login_profile("u")
            .with_password_policy(14);
        for action in ["GetUser", "GetLoginProfile", "GetAccountPasswordPolicy"] {
            fake.fail(action, On::Call(1), "NoSuchEntity");
        }
        assert_eq!(fake.user_arn("u").unwrap(), None);
        assert!(!Iam::has_login_profile(&fake, "u").unwrap());
        assert!(fake.password_policy().unwrap().is_none());
        assert!(fake.user_arn("u").unwrap().is_some());
    }

    #[test]
    fn slow_advances_the_virtual_clock_only() {
        let fake = FakeIam::new();
        fake.slow("GetCallerIdentity", Duration::from_secs(40));
        let started = std::time::Instant::now();
        fake.caller().unwrap();
        fake.caller().unwrap();
        fake.account_alias().unwrap();
        assert_eq!(fake.elapsed(), Duration::from_secs(80));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn clones_share_the_account_and_snapshots_hide_secrets_but_not_changes() {
        let fake = FakeIam::new().with_user("u").with_login_profile("u");
        let other = fake.clone();
        let before = fake.snapshot();
        other
            .update_login_profile("u", &secret("Replaced-password-2"), true)
            .unwrap();
        let after = fake.snapshot();
        assert_ne!(after, before, "a replaced password shows");
        assert!(fake.password_is("u", &secret("Replaced-password-2")));
        let shown = format!("{after:?}");
        assert!(!shown.contains("Replaced-password-2"), "{shown}");
        let (_, s) = other.create_access_key("u").unwrap();
        assert!(!format!("{:?}", fake.snapshot()).contains(s.expose_secret()));
        assert_eq!(fake.calls(), ["UpdateLoginProfile", "CreateAccessKey"]);
    }

    #[test]
    #[should_panic(expected = "no Iam method makes \"CreateAccesKey\"")]
    fn a_misspelt_action_panics_at_once() {
        FakeIam::new().fail("CreateAccesKey", On::Call(1), "AccessDenied");
    }
}
