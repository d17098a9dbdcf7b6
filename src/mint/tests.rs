//! Every rollback path of `create`, driven by the in-memory fake IAM: for each step, the
//! step failing (exit 6, AWS exactly as before), its reply lost (the change happened,
//! and is rolled back), and an undo failing too (exit 7, what is left, and the
//! `handoff revoke` command that finishes the clean-up, which is then run to show it
//! does). Tests marked `#[ignore = "bug (issue 12 item 4): …"]` show behaviour that is wrong today.

use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};

use crate::aws::fake::{FakeIam, On, State};
use crate::aws::{AwsResult, Caller, Iam, KeyInfo, KeyUse, PasswordPolicy};
use crate::commands::create::{CreateRequest, Mode, Report, execute};
use crate::commands::revoke;
use crate::error::{Error, ExitCode, Result};
use crate::mint::{Allow, Deps, Order, PasswordOrder, Policies, SealTo};
use crate::progress::Progress;
use crate::sealing::Sealing;
use crate::sealing::age_file::Sealer;
use crate::sealing::bundle_io::BundleOutput;
use crate::secret::{SecretBytes, SecretString};
use crate::store::memory::MemKeychain;
use crate::store::{Item, Keychain, Kind};

const USER: &str = "boot";
const P1: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const P2: &str = "arn:aws:iam::123456789012:policy/Bootstrap";
const KC: &str = "boot-kc";

const FIX_DENIED: &str =
    "use an identity allowed to manage IAM users (--profile), e.g. an administrator";
const FIX_NETWORK: &str =
    "check your network and the endpoint (--region, --endpoint-url), then run the command again";
const FIX_USER: &str = "finish the clean-up with: handoff revoke --user boot --delete-user --yes";

const UNDO_USER: &str = "deleted the user it created";
const UNDO_EXPIRY: &str = "deleted the handoff-expiry policy";
const UNDO_PASSWORD: &str = "deleted the console password";

fn now() -> Timestamp {
    "2026-12-03T08:00:00Z".parse().unwrap()
}

fn k(n: usize) -> String {
    FakeIam::key_id(n)
}

/// The full order on a new user: two policies, an expiry, a key and a password. Its
/// journal is User, Policy(P1), Policy(P2), Expiry, Key(K1), LoginProfile.
fn order() -> Order {
    Order {
        user: USER.into(),
        policies: Policies::These(vec![P1.into(), P2.into()]),
        access_key: true,
        console_password: Some(PasswordOrder {
            reset_required: true,
            replace_existing: false,
        }),
        expires: Some(SignedDuration::from_hours(1)),
        allow: Allow::default(),
        note: None,
        keychain: None,
        replace_keychain: false,
    }
}

/// The same order, keeping the credential in the keychain under [`KC`] too.
fn order_with_keychain(replace: bool) -> Order {
    Order {
        keychain: Some(KC.into()),
        replace_keychain: replace,
        ..order()
    }
}

/// The same order with `--reset-password`.
fn order_resetting_password() -> Order {
    Order {
        console_password: Some(PasswordOrder {
            reset_required: true,
            replace_existing: true,
        }),
        ..order()
    }
}

/// What the rollback of the first `n` changes of [`order`]'s journal says, newest first.
fn undone(n: usize) -> String {
    let journal = [
        UNDO_USER.to_string(),
        format!("detached {P1}"),
        format!("detached {P2}"),
        UNDO_EXPIRY.to_string(),
        format!("deleted access key {}", k(1)),
        UNDO_PASSWORD.to_string(),
    ];
    let mut words = journal[..n].to_vec();
    words.reverse();
    words.join(", ")
}

/// How a failed step reads: an AWS failure says "Action failed: …" once.
fn failed_step(step: &str, cause: &str) -> String {
    if cause.starts_with(&format!("{step} failed")) {
        cause.to_string()
    } else {
        format!("{step} failed ({cause})")
    }
}

fn rolled_back(step: &str, cause: &str, undone: &str) -> String {
    format!("{}; rolled back: {undone}", failed_step(step, cause))
}

fn denied(action: &str) -> String {
    format!("{action} failed: AccessDenied: scripted by the test")
}

fn lost(action: &str) -> String {
    format!(
        "{action} failed: the request could not be sent, or the connection broke (network error)"
    )
}

fn left_in_aws(step: &str, cause: &str, left: &[String]) -> String {
    format!(
        "{}, and the rollback failed too: left in AWS: {}",
        failed_step(step, cause),
        left.join("; ")
    )
}

fn user_left(conflict: &str) -> String {
    format!(
        "user boot (DeleteUser failed: DeleteConflict: Cannot delete entity, must {conflict} first.)"
    )
}

fn user_left_denied() -> String {
    format!("user boot ({})", denied("DeleteUser"))
}

fn create_on(
    iam: &dyn Iam,
    order: Order,
    seal: Option<SealTo>,
    keychain: &dyn Keychain,
    now: fn() -> Timestamp,
) -> Result<()> {
    create_at(iam, order, seal, keychain, now, Default::default())
}

/// [`create_on`], calling AWS as `aws` says.
fn create_at(
    iam: &dyn Iam,
    order: Order,
    seal: Option<SealTo>,
    keychain: &dyn Keychain,
    now: fn() -> Timestamp,
    aws: crate::aws::AwsConfig,
) -> Result<()> {
    create_asking(iam, order, seal, keychain, now, aws, None)
}

/// [`create_at`], with a terminal that answers `ask`'s questions.
fn create_asking(
    iam: &dyn Iam,
    order: Order,
    seal: Option<SealTo>,
    keychain: &dyn Keychain,
    now: fn() -> Timestamp,
    aws: crate::aws::AwsConfig,
    ask: Option<crate::prompt::Ask<'_>>,
) -> Result<()> {
    let progress = Progress::silent();
    let output = seal.as_ref().map_or(
        BundleOutput {
            path: None,
            armor: true,
            replace: false,
        },
        |s| s.output.clone(),
    );
    let request = CreateRequest {
        order,
        seal,
        output: Some(output),
        mode: Mode::Run,
        report: Report::Quiet,
        aws,
    };
    let deps = Deps {
        iam,
        keychain,
        now,
        progress: &progress,
        aws_flags: request.aws.command_flags(),
        durable: None,
        ask,
    };
    execute(request, &deps)
}

fn create(fake: &FakeIam, order: Order) -> Result<()> {
    create_on(fake, order, None, &MemKeychain::default(), now)
}

/// Runs a create that must fail, and checks that AWS is exactly as before.
fn fails_unchanged(fake: &FakeIam, order: Order) -> Error {
    let before = fake.snapshot();
    let e = create(fake, order).expect_err("create should fail");
    assert_eq!(fake.snapshot(), before, "AWS changed; the error: {e:?}");
    e
}

/// Exit 6 promises AWS is as before the run.
fn assert_exit_6_means_unchanged(e: &Error, before: &State, after: &State) {
    assert!(
        e.code != ExitCode::Aws || before == after,
        "exit 6 although AWS changed: {e:?}\nbefore: {before:#?}\nafter: {after:#?}"
    );
}

/// A bundle sealed to a fresh age identity, written to `path`.
fn seal_to(path: PathBuf) -> SealTo {
    let id = age::x25519::Identity::generate();
    SealTo {
        sealing: Sealing {
            sealer: Sealer::Recipients(vec![Box::new(id.to_public())]),
            signer: None,
        },
        output: BundleOutput {
            path: Some(path),
            armor: true,
            replace: false,
        },
    }
}

/// Runs the commands a rollback's fix names (`handoff revoke …` and `aws iam …`,
/// joined with `&&`), against the fake.
fn run_fix(fake: &FakeIam, fix: &str) -> Result<()> {
    let commands = fix
        .strip_prefix(crate::mint::journal::CLEANUP)
        .or_else(|| fix.strip_prefix(crate::mint::journal::AS_ADMIN))
        .unwrap_or_else(|| panic!("not a clean-up: {fix}"));
    for command in commands.split(" && ") {
        if let Some(aws) = command.strip_prefix("aws iam ") {
            run_aws_iam(fake, aws);
        } else {
            let revoke = command
                .strip_prefix("handoff revoke ")
                .unwrap_or_else(|| panic!("not a revoke command: {command}"));
            run_revoke(fake, revoke)?;
        }
    }
    Ok(())
}

/// One `aws iam ACTION --user-name U …` of a fix, against the fake.
fn run_aws_iam(fake: &FakeIam, command: &str) {
    let words: Vec<&str> = command.split_whitespace().collect();
    let arg = |flag: &str| {
        let i = words
            .iter()
            .position(|w| *w == flag)
            .unwrap_or_else(|| panic!("no {flag} in {command}"));
        words[i + 1]
    };
    let user = arg("--user-name");
    match words[0] {
        "detach-user-policy" => fake.detach_policy(user, arg("--policy-arn")).unwrap(),
        "delete-user-policy" => fake
            .delete_inline_policy(user, arg("--policy-name"))
            .unwrap(),
        "delete-login-profile" => fake.delete_login_profile(user).unwrap(),
        other => panic!("unexpected aws iam {other}"),
    }
}

/// `handoff revoke ARGS` against the fake.
fn run_revoke(fake: &FakeIam, command: &str) -> Result<()> {
    let fix = command;
    let mut user = None;
    let mut scope = revoke::Scope::Credentials;
    let mut words = command.split_whitespace();
    while let Some(w) = words.next() {
        match w {
            "--user" => user = words.next().map(str::to_string),
            "--delete-user" => scope = revoke::Scope::User,
            "--access-key-id" => scope = revoke::Scope::Key(words.next().unwrap().into()),
            "--yes" => {}
            // The fake has one caller: whose profile it is does not matter here.
            "--profile" => {
                words.next();
            }
            other => panic!("unexpected {other:?} in {fix}"),
        }
    }
    let request = revoke::RevokeRequest {
        user: user.expect("--user"),
        scope,
        confirm: revoke::Confirm::Yes,
        json: false,
        aws: Default::default(),
    };
    revoke::execute(
        &request,
        &revoke::Deps {
            iam: fake,
            confirm: &|_| panic!("--yes asks nothing"),
        },
    )
}

/// Checks an exit 7 whose fix is the revoke command `fix`, then runs that command and
/// checks that it leaves AWS as `before`.
fn assert_fix_finishes(fake: &FakeIam, e: &Error, fix: &str, before: &State) {
    assert_eq!(e.code, ExitCode::RollbackFailed, "{e:?}");
    // The scripts refuse undos with AccessDenied: the hint then says to use another
    // identity, and is otherwise the same.
    let fix = &as_admin_if_denied(e, fix);
    assert_eq!(e.fix.as_deref(), Some(fix.as_str()));
    run_fix(fake, fix).expect("the fix command works");
    assert_eq!(&fake.snapshot(), before, "the fix command did not finish");
}

/// `fix` as the rollback words it when an undo in `e` was refused with AccessDenied.
fn as_admin_if_denied(e: &Error, fix: &str) -> String {
    use crate::mint::journal::{AS_ADMIN, CLEANUP};
    if e.what.contains("failed: AccessDenied") && e.what.contains("left in AWS") {
        fix.replacen(CLEANUP, AS_ADMIN, 1)
            .replace(
                "handoff revoke --user",
                "handoff revoke --profile ADMIN --user",
            )
            .replace(" --user-name", " --profile ADMIN --user-name")
    } else {
        fix.to_string()
    }
}

/// The fake IAM with one twist its scripts cannot express.
struct Twisted {
    fake: FakeIam,
    twist: Twist,
}

enum Twist {
    /// Someone else creates the user between GetUser and CreateUser.
    SomeoneCreatesTheUser,
    /// AttachUserPolicy of this ARN answers success but attaches nothing.
    AttachOkButNothingHappens(&'static str),
    /// Another run writes this expiry policy right after ours.
    AnotherRunPutsAfterUs(&'static str),
    /// Another run mints a key on the user right after our first attachment.
    AnotherRunMintsAfterAttach,
    /// Another run writes this expiry policy right after our plan read it.
    AnotherRunPutsAfterPlan(&'static str),
}

impl Iam for Twisted {
    fn caller(&self) -> AwsResult<Caller> {
        self.fake.caller()
    }
    fn user(&self, user: &str) -> AwsResult<Option<crate::aws::UserFound>> {
        self.fake.user(user)
    }
    fn create_user(&self, user: &str, tags: &[(&str, &str)]) -> AwsResult<String> {
        if let Twist::SomeoneCreatesTheUser = self.twist {
            self.fake.create_user(user, &[]).unwrap();
        }
        self.fake.create_user(user, tags)
    }
    fn delete_user(&self, user: &str) -> AwsResult<()> {
        self.fake.delete_user(user)
    }
    fn attached_policies(&self, user: &str) -> AwsResult<Vec<String>> {
        self.fake.attached_policies(user)
    }
    fn attach_policy(&self, user: &str, arn: &str) -> AwsResult<()> {
        match self.twist {
            Twist::AttachOkButNothingHappens(ignored) if ignored == arn => Ok(()),
            Twist::AnotherRunMintsAfterAttach => {
                let attached = self.fake.attach_policy(user, arn);
                if self.fake.keys_of(user).is_empty() {
                    self.fake.create_access_key(user).unwrap();
                }
                attached
            }
            _ => self.fake.attach_policy(user, arn),
        }
    }
    fn detach_policy(&self, user: &str, arn: &str) -> AwsResult<()> {
        self.fake.detach_policy(user, arn)
    }
    fn inline_policies(&self, user: &str) -> AwsResult<Vec<String>> {
        self.fake.inline_policies(user)
    }
    fn put_inline_policy(&self, user: &str, name: &str, document: &str) -> AwsResult<()> {
        let put = self.fake.put_inline_policy(user, name, document);
        if let Twist::AnotherRunPutsAfterUs(theirs) = self.twist {
            self.fake.put_inline_policy(user, name, theirs).unwrap();
        }
        put
    }
    fn delete_inline_policy(&self, user: &str, name: &str) -> AwsResult<()> {
        self.fake.delete_inline_policy(user, name)
    }
    fn inline_policy(&self, user: &str, name: &str) -> AwsResult<Option<String>> {
        let read = self.fake.inline_policy(user, name);
        // Right after the plan's read, before anything of ours.
        if let Twist::AnotherRunPutsAfterPlan(theirs) = self.twist
            && matches!(read, Ok(None))
        {
            self.fake.put_inline_policy(user, name, theirs).unwrap();
        }
        read
    }
    fn key_owner(&self, id: &str) -> AwsResult<Option<String>> {
        self.fake.key_owner(id)
    }
    fn access_keys(&self, user: &str) -> AwsResult<Vec<KeyInfo>> {
        self.fake.access_keys(user)
    }
    fn create_access_key(&self, user: &str) -> AwsResult<(String, SecretString)> {
        self.fake.create_access_key(user)
    }
    fn key_last_used(&self, id: &str) -> AwsResult<Option<KeyUse>> {
        self.fake.key_last_used(id)
    }
    fn delete_access_key(&self, user: &str, id: &str) -> AwsResult<()> {
        self.fake.delete_access_key(user, id)
    }
    fn has_login_profile(&self, user: &str) -> AwsResult<bool> {
        Iam::has_login_profile(&self.fake, user)
    }
    fn create_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()> {
        self.fake
            .create_login_profile(user, password, reset_required)
    }
    fn update_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()> {
        self.fake
            .update_login_profile(user, password, reset_required)
    }
    fn delete_login_profile(&self, user: &str) -> AwsResult<()> {
        self.fake.delete_login_profile(user)
    }
    fn password_policy(&self) -> AwsResult<Option<PasswordPolicy>> {
        self.fake.password_policy()
    }
    fn account_alias(&self) -> AwsResult<Option<String>> {
        self.fake.account_alias()
    }
}

/// A keychain whose put or delete fails, as a locked or absent Secret Service does.
#[derive(Default)]
struct BrokenKeychain {
    inner: MemKeychain,
    put_fails: bool,
    delete_fails: bool,
}

impl Keychain for BrokenKeychain {
    fn put(
        &self,
        kind: Kind,
        name: &str,
        secret: &[u8],
        attributes: &[(&str, String)],
        replace: bool,
    ) -> Result<()> {
        if self.put_fails {
            return Err(
                Error::new(ExitCode::Keychain, "the Secret Service is not running")
                    .fix("start the keyring daemon"),
            );
        }
        self.inner.put(kind, name, secret, attributes, replace)
    }
    fn get(&self, kind: Kind, name: &str) -> Result<SecretBytes> {
        self.inner.get(kind, name)
    }
    fn exists(&self, kind: Kind, name: &str) -> Result<bool> {
        self.inner.exists(kind, name)
    }
    fn delete(&self, kind: Kind, name: &str) -> Result<bool> {
        if self.delete_fails {
            return Err(Error::new(ExitCode::Keychain, "the keychain is locked"));
        }
        self.inner.delete(kind, name)
    }
    fn list(&self) -> Result<Vec<Item>> {
        self.inner.list()
    }
}

/// A keychain that already holds a credential named [`KC`].
fn keychain_holding_kc() -> MemKeychain {
    let kc = MemKeychain::default();
    kc.put(Kind::Credential, KC, b"an earlier credential", &[], false)
        .unwrap();
    kc
}

// ---- the happy path, so that every failure below is the scripted one ----

#[test]
fn the_full_order_succeeds_and_makes_every_change() {
    let fake = FakeIam::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("boot.age");
    let kc = MemKeychain::default();
    create_on(
        &fake,
        order_with_keychain(false),
        Some(seal_to(bundle.clone())),
        &kc,
        now,
    )
    .unwrap();
    let u = &fake.snapshot().users[USER];
    assert_eq!(u.tags, [("created-by".to_string(), "handoff".to_string())]);
    assert_eq!(u.policies, [P1, P2]);
    assert_eq!(u.inline.keys().collect::<Vec<_>>(), ["handoff-expiry"]);
    assert_eq!(fake.keys_of(USER), [k(1)]);
    assert!(u.login_profile.as_ref().unwrap().reset_required);
    assert!(kc.exists(Kind::Credential, KC).unwrap());
    assert!(bundle.is_file());
}

// ---- CreateUser ----

#[test]
fn create_user_fails_nothing_was_changed() {
    let fake = FakeIam::new();
    fake.fail("CreateUser", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        "CreateUser failed: AccessDenied: scripted by the test; nothing had been changed"
    );
    assert!(e.fix.as_deref().unwrap().starts_with(FIX_DENIED));
    assert!(!fake.calls().iter().any(|c| c == "DeleteUser"));
}

#[test]
fn create_user_reply_lost_the_user_made_is_deleted() {
    let fake = FakeIam::new();
    fake.lose_reply("CreateUser", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back("CreateUser", &lost("CreateUser"), UNDO_USER)
    );
    assert_eq!(e.fix.as_deref(), Some(FIX_NETWORK));
    assert!(fake.calls().iter().any(|c| c == "DeleteUser"));
}

#[test]
fn create_user_unavailable_is_undone_harmlessly() {
    let fake = FakeIam::new();
    fake.unavailable("CreateUser", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    // The user may exist (a 5xx): its delete answers NoSuchEntity, which is fine.
    assert!(
        e.what
            .starts_with("CreateUser failed: ServiceFailure: Request processing has failed"),
        "{}",
        e.what
    );
}

#[test]
fn create_user_reply_lost_and_delete_user_fails_leaves_the_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.lose_reply("CreateUser", On::Call(1));
    fake.fail("DeleteUser", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws("CreateUser", &lost("CreateUser"), &[user_left_denied()])
    );
    assert_eq!(fake.users(), [USER]);
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

#[test]
fn create_user_entity_already_exists_race_is_not_deleted() {
    let fake = FakeIam::new();
    let twisted = Twisted {
        fake: fake.clone(),
        twist: Twist::SomeoneCreatesTheUser,
    };
    let e = create_on(&twisted, order(), None, &MemKeychain::default(), now).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        "CreateUser failed: EntityAlreadyExists: User with name boot already exists.; nothing had been changed"
    );
    // Someone else's user (no created-by tag) is left alone.
    assert_eq!(fake.users(), [USER]);
    assert!(fake.snapshot().users[USER].tags.is_empty());
    assert!(!fake.calls().iter().any(|c| c == "DeleteUser"));
}

// ---- AttachUserPolicy, first and second ----

#[test]
fn first_attach_fails_the_new_user_is_deleted() {
    let fake = FakeIam::new();
    fake.fail("AttachUserPolicy", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back("AttachUserPolicy", &denied("AttachUserPolicy"), &undone(1))
    );
    assert!(e.fix.as_deref().unwrap().starts_with(FIX_DENIED));
}

#[test]
fn second_attach_fails_the_first_is_detached() {
    let fake = FakeIam::new();
    fake.fail("AttachUserPolicy", On::Call(2), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back("AttachUserPolicy", &denied("AttachUserPolicy"), &undone(2))
    );
}

#[test]
fn first_attach_reply_lost_it_is_detached() {
    let fake = FakeIam::new();
    fake.lose_reply("AttachUserPolicy", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back("AttachUserPolicy", &lost("AttachUserPolicy"), &undone(2))
    );
    assert_eq!(e.fix.as_deref(), Some(FIX_NETWORK));
}

#[test]
fn second_attach_reply_lost_both_are_detached() {
    let fake = FakeIam::new();
    fake.lose_reply("AttachUserPolicy", On::Call(2));
    let e = fails_unchanged(&fake, order());
    assert_eq!(
        e.what,
        rolled_back("AttachUserPolicy", &lost("AttachUserPolicy"), &undone(3))
    );
}

#[test]
fn second_attach_unavailable_not_attached_is_undone_harmlessly() {
    let fake = FakeIam::new();
    fake.unavailable("AttachUserPolicy", On::Call(2));
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    // The attachment that was not made is said to be not there, not "detached".
    let words = format!("the attachment of {P2} was not there to undo, detached {P1}, {UNDO_USER}");
    assert!(e.what.ends_with(&words), "{}", e.what);
}

#[test]
fn first_attach_fails_and_delete_user_fails_leaves_the_empty_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("AttachUserPolicy", On::Call(1), "AccessDenied");
    fake.fail("DeleteUser", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "AttachUserPolicy",
            &denied("AttachUserPolicy"),
            &[user_left_denied()]
        )
    );
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

#[test]
fn second_attach_fails_and_detach_fails_leaves_the_attachment_and_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("AttachUserPolicy", On::Call(2), "AccessDenied");
    fake.fail("DetachUserPolicy", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "AttachUserPolicy",
            &denied("AttachUserPolicy"),
            &[
                format!("policy attachment {P1} ({})", denied("DetachUserPolicy")),
                user_left("detach all policies"),
            ]
        )
    );
    assert_eq!(fake.policies_of(USER), [P1]);
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

// ---- the re-list confirming the attachments ----

#[test]
fn relist_fails_both_attachments_are_detached() {
    let fake = FakeIam::new();
    fake.fail("ListAttachedUserPolicies", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back(
            "ListAttachedUserPolicies",
            &denied("ListAttachedUserPolicies"),
            // Read back after every write of the round: all of them are undone.
            &undone(6)
        )
    );
}

#[test]
fn relist_reply_lost_both_attachments_are_detached() {
    let fake = FakeIam::new();
    fake.lose_reply("ListAttachedUserPolicies", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(
        e.what,
        rolled_back(
            "ListAttachedUserPolicies",
            &lost("ListAttachedUserPolicies"),
            &undone(6)
        )
    );
}

/// The fake cannot answer "OK" without doing the change (a lost reply does the change
/// and answers an error; `unavailable` does nothing and answers a 5xx), so a wrapper
/// makes AttachUserPolicy of P2 answer OK and attach nothing: the re-list catches it.
#[test]
fn attach_answers_ok_but_nothing_attached_is_caught_by_the_relist() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    let twisted = Twisted {
        fake: fake.clone(),
        twist: Twist::AttachOkButNothingHappens(P2),
    };
    let e = create_on(&twisted, order(), None, &MemKeychain::default(), now).unwrap_err();
    assert_eq!(fake.snapshot(), before);
    assert_eq!(e.code, ExitCode::Aws);
    assert!(
        e.what.starts_with(&format!(
            "AttachUserPolicy failed: AWS answered, but policy {P2} is not in place; rolled back: "
        )),
        "{}",
        e.what
    );
    assert!(e.what.ends_with(&format!("detached {P1}, {UNDO_USER}")));
    assert_eq!(e.fix.as_deref(), Some(FIX_NETWORK));
    // The key minted in the same round is deleted: nothing is handed on unconfirmed.
    assert!(fake.calls().iter().any(|c| c == "DeleteAccessKey"));
}

#[test]
fn relist_fails_and_detach_of_the_first_fails_leaves_it_and_the_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("ListAttachedUserPolicies", On::Call(1), "AccessDenied");
    // The rollback detaches P2 first (call 1), then P1 (call 2).
    fake.fail("DetachUserPolicy", On::Call(2), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "ListAttachedUserPolicies",
            &denied("ListAttachedUserPolicies"),
            &[
                format!("policy attachment {P1} ({})", denied("DetachUserPolicy")),
                user_left("detach all policies"),
            ]
        )
    );
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

// ---- PutUserPolicy (--expires) and its confirmation ----

#[test]
fn put_expiry_fails_everything_before_is_rolled_back() {
    let fake = FakeIam::new();
    fake.fail("PutUserPolicy", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    // A refused put wrote nothing: there is no policy to delete.
    assert_eq!(
        e.what,
        rolled_back("PutUserPolicy", &denied("PutUserPolicy"), &undone(3))
    );
}

#[test]
fn put_expiry_reply_lost_the_policy_is_deleted() {
    let fake = FakeIam::new();
    fake.lose_reply("PutUserPolicy", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(
        e.what,
        rolled_back("PutUserPolicy", &lost("PutUserPolicy"), &undone(4))
    );
    assert!(fake.calls().iter().any(|c| c == "DeleteUserPolicy"));
}

#[test]
fn put_expiry_fails_and_delete_user_fails_leaves_the_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("PutUserPolicy", On::Call(1), "AccessDenied");
    fake.fail("DeleteUser", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "PutUserPolicy",
            &denied("PutUserPolicy"),
            &[user_left_denied()]
        )
    );
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

#[test]
fn expiry_confirmation_fails_the_policy_is_deleted() {
    let fake = FakeIam::new();
    fake.fail("ListUserPolicies", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back("ListUserPolicies", &denied("ListUserPolicies"), &undone(6))
    );
}

#[test]
fn expiry_confirmation_reply_lost_the_policy_is_deleted() {
    let fake = FakeIam::new();
    fake.lose_reply("ListUserPolicies", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(
        e.what,
        rolled_back("ListUserPolicies", &lost("ListUserPolicies"), &undone(6))
    );
}

#[test]
fn expiry_confirmation_fails_and_its_delete_fails_leaves_policy_and_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("ListUserPolicies", On::Call(1), "AccessDenied");
    fake.fail("DeleteUserPolicy", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "ListUserPolicies",
            &denied("ListUserPolicies"),
            &[
                format!(
                    "inline policy handoff-expiry ({})",
                    denied("DeleteUserPolicy")
                ),
                user_left("delete policies"),
            ]
        )
    );
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

// ---- CreateAccessKey ----

#[test]
fn create_access_key_fails_everything_before_is_rolled_back() {
    let fake = FakeIam::new();
    fake.fail("CreateAccessKey", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back("CreateAccessKey", &denied("CreateAccessKey"), &undone(4))
    );
    assert!(e.fix.as_deref().unwrap().starts_with(FIX_DENIED));
}

#[test]
fn create_access_key_reply_lost_the_key_is_found_and_deleted() {
    let fake = FakeIam::new();
    fake.lose_reply("CreateAccessKey", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back(
            "CreateAccessKey",
            &lost("CreateAccessKey"),
            &undone(5).replace(
                &format!("deleted access key {}", k(1)),
                &format!(
                    "deleted access key {} (made although the CreateAccessKey reply was lost; found by listing)",
                    k(1)
                )
            )
        )
    );
    // Never created twice: the key was found by listing.
    let calls = fake.calls();
    assert_eq!(calls.iter().filter(|c| *c == "CreateAccessKey").count(), 1);
    assert!(calls.iter().any(|c| c == "ListAccessKeys"));
}

#[test]
fn create_access_key_unavailable_nothing_to_delete() {
    let fake = FakeIam::new();
    fake.unavailable("CreateAccessKey", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert!(e.what.ends_with(&undone(4)), "{}", e.what);
    assert!(!fake.calls().iter().any(|c| c == "DeleteAccessKey"));
}

#[test]
fn create_access_key_reply_lost_on_a_reused_user_deletes_only_the_new_key() {
    let fake = FakeIam::new().with_user(USER).with_key(USER);
    fake.lose_reply("CreateAccessKey", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert!(
        e.what.contains(&format!("deleted access key {}", k(2))),
        "{}",
        e.what
    );
    assert_eq!(fake.keys_of(USER), [k(1)]);
}

#[test]
fn create_access_key_reply_lost_and_its_delete_fails_leaves_key_and_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.lose_reply("CreateAccessKey", On::Call(1));
    fake.fail("DeleteAccessKey", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "CreateAccessKey",
            &lost("CreateAccessKey"),
            &[
                format!("access key {} ({})", k(1), denied("DeleteAccessKey")),
                user_left("delete access keys"),
            ]
        )
    );
    assert_eq!(fake.keys_of(USER), [k(1)]);
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

#[test]
fn create_access_key_fails_and_expiry_delete_fails_leaves_policy_and_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("CreateAccessKey", On::Call(1), "AccessDenied");
    fake.fail("DeleteUserPolicy", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "CreateAccessKey",
            &denied("CreateAccessKey"),
            &[
                format!(
                    "inline policy handoff-expiry ({})",
                    denied("DeleteUserPolicy")
                ),
                user_left("delete policies"),
            ]
        )
    );
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

// ---- CreateLoginProfile ----

#[test]
fn create_login_profile_fails_the_key_and_the_rest_are_rolled_back() {
    let fake = FakeIam::new();
    fake.fail("CreateLoginProfile", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        rolled_back(
            "CreateLoginProfile",
            &denied("CreateLoginProfile"),
            // A refused CreateLoginProfile made no password: none is "deleted".
            &undone(5)
        )
    );
}

#[test]
fn a_password_set_meanwhile_by_someone_else_is_not_deleted_by_the_rollback() {
    let fake = FakeIam::new();
    fake.fail("CreateLoginProfile", On::Call(1), "EntityAlreadyExists");
    let e = create_on(&fake, order(), None, &MemKeychain::default(), now).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws, "{e:?}");
    assert!(!e.what.contains("console password"), "{}", e.what);
    assert!(
        e.fix.as_deref().unwrap().contains("--reset-password"),
        "{e:?}"
    );
    assert!(
        fake.calls()
            .iter()
            .all(|c| !c.starts_with("DeleteLoginProfile"))
    );
}

#[test]
fn create_login_profile_reply_lost_the_password_is_deleted() {
    let fake = FakeIam::new();
    fake.lose_reply("CreateLoginProfile", On::Call(1));
    let e = fails_unchanged(&fake, order());
    assert_eq!(
        e.what,
        rolled_back(
            "CreateLoginProfile",
            &lost("CreateLoginProfile"),
            &undone(6)
        )
    );
    assert!(fake.calls().iter().any(|c| c == "DeleteLoginProfile"));
}

#[test]
fn create_login_profile_fails_and_key_delete_fails_leaves_key_and_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("CreateLoginProfile", On::Call(1), "AccessDenied");
    fake.fail("DeleteAccessKey", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "CreateLoginProfile",
            &denied("CreateLoginProfile"),
            &[
                format!("access key {} ({})", k(1), denied("DeleteAccessKey")),
                user_left("delete access keys"),
            ]
        )
    );
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

#[test]
fn on_a_reused_user_a_single_leftover_key_gets_the_access_key_revoke() {
    let fake = FakeIam::new().with_user(USER);
    let before = fake.snapshot();
    fake.fail("CreateLoginProfile", On::Call(1), "AccessDenied");
    fake.fail("DeleteAccessKey", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "CreateLoginProfile",
            &denied("CreateLoginProfile"),
            &[format!(
                "access key {} ({})",
                k(1),
                denied("DeleteAccessKey")
            )]
        )
    );
    let fix = format!(
        "finish the clean-up with: handoff revoke --user boot --access-key-id {} --yes",
        k(1)
    );
    assert_fix_finishes(&fake, &e, &fix, &before);
}

#[test]
fn the_clean_up_command_calls_the_same_aws_as_the_run() {
    // Run as printed, a command without the run's profile and endpoint would act on
    // whatever account the default chain reaches (attack review 2, finding 1).
    let fake = FakeIam::new();
    fake.fail("CreateLoginProfile", On::Call(1), "AccessDenied");
    fake.fail("DeleteUser", On::Call(1), "ServiceFailure");
    let aws = crate::aws::AwsConfig {
        profile: Some("org-admin".into()),
        region: Some("eu-west-1".into()),
        endpoint_url: Some("http://127.0.0.1:5000".into()),
    };
    let e = create_at(&fake, order(), None, &MemKeychain::default(), now, aws).unwrap_err();
    assert_eq!(e.code, ExitCode::RollbackFailed);
    assert_eq!(
        e.fix.as_deref(),
        Some(
            "finish the clean-up with: handoff revoke --profile org-admin --region eu-west-1 --endpoint-url http://127.0.0.1:5000 --user boot --delete-user --yes"
        )
    );
}

// ---- UpdateLoginProfile (--reset-password) ----

#[test]
fn update_login_profile_fails_the_existing_password_is_kept() {
    let fake = FakeIam::new().with_user(USER).with_login_profile(USER);
    fake.fail("UpdateLoginProfile", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order_resetting_password());
    assert_eq!(e.code, ExitCode::Aws);
    assert!(fake.has_login_profile(USER));
}

#[test]
fn update_login_profile_fails_the_rest_is_rolled_back() {
    // What works today around the bug above: the key, expiry and attachments go, the
    // reused user stays; only its console password is (wrongly) gone too.
    let fake = FakeIam::new().with_user(USER).with_login_profile(USER);
    fake.fail("UpdateLoginProfile", On::Call(1), "AccessDenied");
    let e = create(&fake, order_resetting_password()).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws);
    assert!(
        e.what
            .starts_with(&format!("{}; rolled back: ", denied("UpdateLoginProfile"))),
        "{}",
        e.what
    );
    assert!(!e.what.contains(UNDO_USER), "{}", e.what);
    let u = &fake.snapshot().users[USER];
    assert!(u.keys.is_empty() && u.policies.is_empty() && u.inline.is_empty());
}

#[test]
fn update_login_profile_reply_lost_is_not_exit_6_with_the_password_gone() {
    let fake = FakeIam::new().with_user(USER).with_login_profile(USER);
    let before = fake.snapshot();
    fake.lose_reply("UpdateLoginProfile", On::Call(1));
    let e = create(&fake, order_resetting_password()).unwrap_err();
    assert_exit_6_means_unchanged(&e, &before, &fake.snapshot());
    // Said as what it is: a password nobody received, and the way back in.
    assert_eq!(e.code, ExitCode::RollbackFailed);
    assert!(
        e.what
            .contains("the old console password cannot be restored"),
        "{}",
        e.what
    );
    assert!(
        fake.has_login_profile(USER),
        "the rollback deleted the password too"
    );
    assert_eq!(
        e.fix.as_deref(),
        Some(
            "finish the clean-up with: handoff create --user boot --no-policy --console-password --reset-password --to RECIPIENT"
        )
    );
}

#[test]
fn a_replaced_password_is_reported_not_deleted_when_the_bundle_write_fails() {
    let fake = FakeIam::new().with_user(USER).with_login_profile(USER);
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_to(dir.path().join("missing").join("boot.age"));
    let order = Order {
        access_key: false,
        ..order_resetting_password()
    };
    let e = create_on(&fake, order, Some(seal), &MemKeychain::default(), now).unwrap_err();
    assert_eq!(e.code, ExitCode::RollbackFailed);
    assert!(
        e.what.contains(
            "a console password nobody received: boot's password was (or may have been) replaced"
        ),
        "{}",
        e.what
    );
    assert!(fake.has_login_profile(USER));
}

#[test]
fn update_login_profile_fails_and_key_delete_fails_names_the_key() {
    let fake = FakeIam::new().with_user(USER).with_login_profile(USER);
    fake.fail("UpdateLoginProfile", On::Call(1), "AccessDenied");
    fake.fail("DeleteAccessKey", On::Call(1), "AccessDenied");
    let e = create(&fake, order_resetting_password()).unwrap_err();
    assert_eq!(e.code, ExitCode::RollbackFailed);
    assert_eq!(
        e.what,
        left_in_aws(
            "UpdateLoginProfile",
            &denied("UpdateLoginProfile"),
            &[format!(
                "access key {} ({})",
                k(1),
                denied("DeleteAccessKey")
            )]
        )
    );
    // AWS refused this identity the delete: the hint says to use another.
    assert_eq!(
        e.fix,
        Some(format!(
            "{}handoff revoke --profile ADMIN --user boot --access-key-id {} --yes",
            crate::mint::journal::AS_ADMIN,
            k(1)
        ))
    );
    assert_eq!(fake.keys_of(USER), [k(1)]);
}

// ---- the keychain ----

#[test]
fn keychain_name_taken_everything_in_aws_is_rolled_back() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    let kc = keychain_holding_kc();
    let e = create_on(&fake, order_with_keychain(false), None, &kc, now).unwrap_err();
    assert_eq!(fake.snapshot(), before);
    // The failure's own code: the keychain name is an output that cannot be written.
    assert_eq!(e.code, ExitCode::Output);
    assert_eq!(
        e.what,
        rolled_back(
            "store in the keychain",
            "the keychain already has a credential named boot-kc",
            &undone(6)
        )
    );
    assert_eq!(
        e.fix.as_deref(),
        Some("choose another name, or pass --force to replace it")
    );
    assert_eq!(
        &*kc.get(Kind::Credential, KC).unwrap(),
        b"an earlier credential"
    );
}

#[test]
fn keychain_put_fails_everything_in_aws_is_rolled_back() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    let kc = BrokenKeychain {
        put_fails: true,
        ..Default::default()
    };
    let e = create_on(&fake, order_with_keychain(false), None, &kc, now).unwrap_err();
    assert_eq!(fake.snapshot(), before);
    assert_eq!(e.code, ExitCode::Keychain);
    assert_eq!(
        e.what,
        rolled_back(
            "store in the keychain",
            "the Secret Service is not running",
            &undone(6)
        )
    );
    assert_eq!(e.fix.as_deref(), Some("start the keyring daemon"));
}

#[test]
fn keychain_put_fails_and_delete_user_fails_leaves_the_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("DeleteUser", On::Call(1), "AccessDenied");
    let kc = BrokenKeychain {
        put_fails: true,
        ..Default::default()
    };
    let e = create_on(&fake, order_with_keychain(false), None, &kc, now).unwrap_err();
    assert_eq!(
        e.what,
        left_in_aws(
            "store in the keychain",
            "the Secret Service is not running",
            &[user_left_denied()]
        )
    );
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

#[test]
fn a_replaced_keychain_item_survives_a_later_failure() {
    let fake = FakeIam::new();
    let kc = keychain_holding_kc();
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_to(dir.path().join("missing").join("boot.age"));
    let e = create_on(&fake, order_with_keychain(true), Some(seal), &kc, now).unwrap_err();
    assert_eq!(e.code, ExitCode::Output);
    assert_eq!(
        &*kc.get(Kind::Credential, KC)
            .expect("the earlier item is gone"),
        b"an earlier credential"
    );
    assert!(
        e.what
            .contains("put the earlier boot-kc back in the keychain"),
        "{}",
        e.what
    );
}

// ---- sealing and writing the bundle ----

#[test]
fn bundle_cannot_be_written_keychain_and_aws_are_rolled_back() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    let kc = MemKeychain::default();
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_to(dir.path().join("missing").join("boot.age"));
    let e = create_on(&fake, order_with_keychain(false), Some(seal), &kc, now).unwrap_err();
    assert_eq!(fake.snapshot(), before);
    assert!(!kc.exists(Kind::Credential, KC).unwrap());
    assert_eq!(e.code, ExitCode::Output);
    assert!(
        e.what.starts_with("write the bundle failed (directory "),
        "{}",
        e.what
    );
    assert!(
        e.what.ends_with(&format!(
            "missing does not exist); rolled back: removed boot-kc from the keychain, {}",
            undone(6)
        )),
        "{}",
        e.what
    );
    assert_eq!(
        e.fix.as_deref(),
        Some("create it first, or choose another path")
    );
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn bundle_cannot_be_written_and_delete_user_fails_leaves_the_user() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    fake.fail("DeleteUser", On::Call(1), "AccessDenied");
    let kc = MemKeychain::default();
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_to(dir.path().join("missing").join("boot.age"));
    let e = create_on(&fake, order_with_keychain(false), Some(seal), &kc, now).unwrap_err();
    assert!(
        e.what.starts_with("write the bundle failed (directory "),
        "{}",
        e.what
    );
    assert!(
        e.what.ends_with(&format!(
            "missing does not exist), and the rollback failed too: left in AWS: {}",
            user_left_denied()
        )),
        "{}",
        e.what
    );
    assert!(!kc.exists(Kind::Credential, KC).unwrap());
    assert_fix_finishes(&fake, &e, FIX_USER, &before);
}

#[test]
fn bundle_cannot_be_written_and_keychain_delete_fails_names_the_item() {
    let fake = FakeIam::new();
    let before = fake.snapshot();
    let kc = BrokenKeychain {
        delete_fails: true,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_to(dir.path().join("missing").join("boot.age"));
    let e = create_on(&fake, order_with_keychain(false), Some(seal), &kc, now).unwrap_err();
    assert_eq!(fake.snapshot(), before, "AWS itself is rolled back");
    assert_eq!(e.code, ExitCode::RollbackFailed);
    assert!(
        e.what.ends_with(
            "keychain item boot-kc (keychain delete failed: the keychain is locked); delete it with: handoff keychain delete boot-kc"
        ),
        "{}",
        e.what
    );
    assert!(kc.exists(Kind::Credential, KC).unwrap());
}

#[test]
fn a_keychain_only_leftover_is_not_sent_to_revoke() {
    let fake = FakeIam::new();
    let kc = BrokenKeychain {
        delete_fails: true,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_to(dir.path().join("missing").join("boot.age"));
    let e = create_on(&fake, order_with_keychain(false), Some(seal), &kc, now).unwrap_err();
    assert!(!e.what.contains("left in AWS"), "{}", e.what);
    let fix = e.fix.unwrap_or_default();
    assert!(!fix.contains("handoff revoke"), "{fix}");
    assert!(fix.contains("handoff keychain delete boot-kc"), "{fix}");
}

// ---- what existed before the run ----

#[test]
fn a_reused_user_is_not_deleted_on_rollback() {
    let fake = FakeIam::new().with_user(USER);
    fake.fail("CreateAccessKey", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    assert!(!e.what.contains(UNDO_USER), "{}", e.what);
    assert_eq!(fake.users(), [USER]);
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c == "CreateUser" || c == "DeleteUser")
    );
}

#[test]
fn a_policy_attached_before_the_run_is_not_detached() {
    let fake = FakeIam::new().with_user(USER).with_policy(USER, P1);
    fake.fail("CreateAccessKey", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(
        e.what,
        rolled_back(
            "CreateAccessKey",
            &denied("CreateAccessKey"),
            &format!("{UNDO_EXPIRY}, detached {P2}")
        )
    );
    assert_eq!(fake.policies_of(USER), [P1]);
    let calls = fake.calls();
    assert_eq!(calls.iter().filter(|c| *c == "AttachUserPolicy").count(), 1);
    assert_eq!(calls.iter().filter(|c| *c == "DetachUserPolicy").count(), 1);
}

/// The expiry policy handoff would have written for a deny date.
fn earlier_expiry() -> String {
    crate::aws::names::expiry_policy("2026-12-04T08:00:00Z".parse().unwrap())
}

#[test]
fn moving_a_users_deny_date_needs_replace_expiry() {
    let fake = FakeIam::new().with_user(USER).with_inline_policy(
        USER,
        "handoff-expiry",
        &earlier_expiry(),
    );
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Conflict);
    assert_eq!(
        e.what,
        "boot already has a handoff-expiry policy (AWS denies everything after 2026-12-04T08:00:00Z): --expires would replace it for every key of the user"
    );
    assert_no_mutating_call(&fake);
}

#[test]
fn an_expiry_policy_from_before_survives_a_later_failure() {
    // Found by the attack review: the rollback deleted the user's earlier expiry, so
    // keys that were to die at that date never did (exit 6 said "as before").
    let fake = FakeIam::new().with_user(USER).with_inline_policy(
        USER,
        "handoff-expiry",
        &earlier_expiry(),
    );
    fake.fail("CreateAccessKey", On::Call(1), "AccessDenied");
    let e = fails_unchanged(
        &fake,
        Order {
            allow: Allow {
                replace_expiry: true,
                adopt: false,
            },
            ..order()
        },
    );
    assert_eq!(e.code, ExitCode::Aws);
    assert!(
        e.what
            .contains("put back the user's earlier handoff-expiry policy"),
        "{}",
        e.what
    );
}

#[test]
fn an_attachment_another_run_may_rely_on_is_kept_and_said() {
    // Two creates for one reused user: the one that fails must not detach what the
    // other, which minted a key meanwhile, relies on.
    let fake = FakeIam::new().with_user(USER);
    fake.fail("CreateAccessKey", On::Call(2), "AccessDenied");
    let twisted = Twisted {
        fake: fake.clone(),
        twist: Twist::AnotherRunMintsAfterAttach,
    };
    let order = Order {
        expires: None,
        console_password: None,
        ..order()
    };
    let e = create_on(&twisted, order, None, &MemKeychain::default(), now).unwrap_err();
    // Nothing of this run's is left to clean up; what it kept is said (exit 6).
    assert_eq!(e.code, ExitCode::Aws, "{e:?}");
    assert!(
        e.what.contains(&format!(
            "not detached: access key {}, which this run did not make, is on the user",
            k(1)
        )),
        "{}",
        e.what
    );
    assert_eq!(fake.policies_of(USER), [P1, P2]);
    assert_eq!(fake.keys_of(USER), [k(1)]);
}

#[test]
fn a_lost_key_reply_while_another_run_mints_deletes_neither_key_nor_the_user() {
    // Two keys could each be the lost one: deleting either would guess.
    let fake = FakeIam::new();
    // Call 1 is the other run's.
    fake.lose_reply("CreateAccessKey", On::Call(2));
    let twisted = Twisted {
        fake: fake.clone(),
        twist: Twist::AnotherRunMintsAfterAttach,
    };
    let order = Order {
        expires: None,
        console_password: None,
        ..order()
    };
    let e = create_on(&twisted, order, None, &MemKeychain::default(), now).unwrap_err();
    assert_eq!(e.code, ExitCode::RollbackFailed, "{e:?}");
    assert!(
        e.what.contains(&k(1)) && e.what.contains(&k(2)),
        "{}",
        e.what
    );
    assert_eq!(fake.keys_of(USER), [k(1), k(2)]);
    assert_eq!(fake.policies_of(USER), [P1, P2]);
}

#[test]
fn a_deny_date_another_run_wrote_after_the_plan_is_not_overwritten() {
    let fake = FakeIam::new().with_user(USER);
    let twisted = Twisted {
        fake: fake.clone(),
        twist: Twist::AnotherRunPutsAfterPlan("the other run's expiry"),
    };
    let e = create_on(&twisted, order(), None, &MemKeychain::default(), now).unwrap_err();
    assert_eq!(e.code, ExitCode::Conflict, "{e:?}");
    assert_eq!(
        fake.inline_policy(USER, "handoff-expiry")
            .unwrap()
            .as_deref(),
        Some("the other run's expiry")
    );
    assert!(fake.keys_of(USER).is_empty());
}

#[test]
fn a_policy_another_run_wrote_meanwhile_is_left_alone() {
    // Two creates for one user: the one that fails must not undo the other's expiry.
    let fake = FakeIam::new().with_user(USER);
    fake.fail("CreateAccessKey", On::Call(1), "AccessDenied");
    let twisted = Twisted {
        fake: fake.clone(),
        twist: Twist::AnotherRunPutsAfterUs("the other run's expiry"),
    };
    let e = create_on(&twisted, order(), None, &MemKeychain::default(), now).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws, "{e:?}");
    assert_eq!(
        fake.inline_of(USER, "handoff-expiry").as_deref(),
        Some("the other run's expiry")
    );
}

#[test]
fn a_refused_put_keeps_the_expiry_policy_from_before() {
    let fake = FakeIam::new().with_user(USER).with_inline_policy(
        USER,
        "handoff-expiry",
        "the earlier expiry",
    );
    fake.fail("PutUserPolicy", On::Call(1), "AccessDenied");
    let e = fails_unchanged(
        &fake,
        Order {
            allow: Allow {
                replace_expiry: true,
                adopt: false,
            },
            ..order()
        },
    );
    assert_eq!(e.code, ExitCode::Aws);
}

#[test]
fn a_lost_key_that_cannot_be_listed_is_not_orphaned_silently() {
    let fake = FakeIam::new().with_user(USER);
    let before = fake.snapshot();
    fake.lose_reply("CreateAccessKey", On::Call(1));
    // The plan's ListAccessKeys is call 1; the search for the lost key is call 2.
    fake.fail("ListAccessKeys", On::Call(2), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_exit_6_means_unchanged(&e, &before, &fake.snapshot());
    if e.code == ExitCode::RollbackFailed {
        assert!(e.what.contains("access key"), "{}", e.what);
    }
}

#[test]
fn the_fix_for_a_reused_user_spares_what_it_had_before() {
    let fake = FakeIam::new()
        .with_user(USER)
        .with_key(USER)
        .with_policy(USER, P1);
    fake.fail("CreateAccessKey", On::Call(1), "AccessDenied");
    // P2 is the one attachment this run made; its detach fails.
    fake.fail("DetachUserPolicy", On::Call(1), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(e.code, ExitCode::RollbackFailed);
    run_fix(&fake, e.fix.as_deref().unwrap()).unwrap();
    assert_eq!(
        fake.keys_of(USER),
        [k(1)],
        "the fix deleted the user's own key"
    );
    assert_eq!(
        fake.policies_of(USER),
        [P1],
        "the fix detached its own policy"
    );
}

// ---- conflicts refused before any change ----

const MUTATING: [&str; 6] = ["Create", "Delete", "Attach", "Detach", "Put", "Update"];

fn assert_no_mutating_call(fake: &FakeIam) {
    for c in fake.calls() {
        assert!(
            !MUTATING.iter().any(|m| c.starts_with(m)),
            "mutating call {c}"
        );
    }
}

#[test]
fn two_keys_already_is_refused_before_any_change() {
    let fake = FakeIam::new().with_user(USER).with_key(USER).with_key(USER);
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Conflict);
    assert!(
        e.what.starts_with(&format!(
            "boot already has two access keys, the most IAM allows: {} (Active, ",
            k(1)
        )),
        "{}",
        e.what
    );
    assert!(e.what.contains(&format!("; {} (Active, ", k(2))));
    assert_eq!(
        e.fix.as_deref(),
        Some("delete one first: handoff revoke --user boot --access-key-id ID")
    );
    assert_eq!(
        fake.calls(),
        [
            "GetCallerIdentity",
            "GetUser",
            "ListAttachedUserPolicies",
            "ListAccessKeys",
            "GetLoginProfile",
            "GetUserPolicy",
            // one survey: every read is made before any is judged
            "GetAccountPasswordPolicy",
            "ListAccountAliases"
        ]
    );
    assert_no_mutating_call(&fake);
}

fn in_100_days() -> Timestamp {
    Timestamp::now() + SignedDuration::from_hours(24 * 100)
}

#[test]
fn two_keys_already_says_how_old_the_keys_are() {
    let fake = FakeIam::new().with_user(USER).with_key(USER).with_key(USER);
    let e = create_on(&fake, order(), None, &MemKeychain::default(), in_100_days).unwrap_err();
    assert_eq!(e.code, ExitCode::Conflict);
    assert!(e.what.contains("(Active, 100 days old)"), "{}", e.what);
}

#[test]
fn a_console_password_already_is_refused_before_any_change() {
    let fake = FakeIam::new().with_user(USER).with_login_profile(USER);
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Conflict);
    assert_eq!(e.what, "boot already has a console password");
    assert_eq!(
        e.fix.as_deref(),
        Some("pass --reset-password to replace it, or leave out --console-password")
    );
    assert_no_mutating_call(&fake);
}

#[test]
fn reset_password_replaces_a_console_password_already_there() {
    let fake = FakeIam::new().with_user(USER).with_login_profile(USER);
    let before = fake.snapshot().users[USER].login_profile.clone().unwrap();
    create(&fake, order_resetting_password()).unwrap();
    let after = fake.snapshot().users[USER].login_profile.clone().unwrap();
    assert_ne!(after.password_serial, before.password_serial);
    assert!(after.reset_required);
    let calls = fake.calls();
    assert!(calls.iter().any(|c| c == "UpdateLoginProfile"));
    assert!(!calls.iter().any(|c| c == "CreateLoginProfile"));
}

#[test]
fn a_lost_key_that_still_cannot_be_listed_at_rollback_is_exit_7_naming_it() {
    let fake = FakeIam::new().with_user(USER);
    fake.lose_reply("CreateAccessKey", On::Call(1));
    // The plan's ListAccessKeys is call 1; the search and the rollback's are 2 and 3.
    fake.fail("ListAccessKeys", On::Call(2), "AccessDenied");
    fake.fail("ListAccessKeys", On::Call(3), "AccessDenied");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(e.code, ExitCode::RollbackFailed);
    assert!(
        e.what
            .contains("maybe an access key whose CreateAccessKey reply was lost"),
        "{}",
        e.what
    );
    assert!(
        e.what.contains("aws iam list-access-keys --user-name boot"),
        "{}",
        e.what
    );
    assert_eq!(
        fake.keys_of(USER).len(),
        1,
        "the lost key is there, and named"
    );
}

// ---- the writes sent at once, as the SDK sends them ----

#[test]
fn writes_sent_at_once_a_refused_attachment_undoes_the_key_and_password_made_beside_it() {
    let fake = FakeIam::new();
    fake.all_at_once();
    fake.fail("AttachUserPolicy", On::Call(2), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    assert_eq!(e.code, ExitCode::Aws);
    // Everything the round made, newest first: the refused attachment made nothing.
    let words = [
        UNDO_PASSWORD.to_string(),
        format!("deleted access key {}", k(1)),
        UNDO_EXPIRY.to_string(),
        format!("detached {P1}"),
        UNDO_USER.to_string(),
    ]
    .join(", ");
    assert!(e.what.ends_with(&words), "{}", e.what);
}

#[test]
fn writes_sent_at_once_a_lost_key_reply_beside_a_refusal_finds_and_deletes_the_key() {
    let fake = FakeIam::new();
    fake.all_at_once();
    fake.lose_reply("CreateAccessKey", On::Call(1));
    fake.fail("CreateLoginProfile", On::Call(1), "AccessDenied");
    let e = fails_unchanged(&fake, order());
    // The first failure in the plan's order is the one reported.
    assert!(e.what.starts_with("CreateAccessKey failed"), "{}", e.what);
    assert!(
        e.what.contains(&format!("deleted access key {}", k(1))),
        "{}",
        e.what
    );
}

#[test]
fn writes_sent_at_once_all_succeed_and_the_round_is_journalled_in_the_plans_order() {
    let fake = FakeIam::new();
    fake.all_at_once();
    create(&fake, order()).unwrap();
    let writes: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|c| !c.starts_with("Get") && !c.starts_with("List"))
        .collect();
    assert_eq!(
        writes,
        [
            "CreateUser",
            "AttachUserPolicy",
            "AttachUserPolicy",
            "PutUserPolicy",
            "CreateAccessKey",
            "CreateLoginProfile"
        ]
    );
}

// ---- adopting a user handoff did not create ----

#[test]
fn a_user_handoff_did_not_create_is_changed_only_by_decision() {
    let fake = FakeIam::new().with_foreign_user(USER);
    let before = fake.snapshot();
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(e.code, ExitCode::Conflict);
    assert!(
        e.what
            .contains("handoff did not create it (it has no created-by=handoff tag): attaching"),
        "{}",
        e.what
    );
    assert!(e.fix.unwrap().contains("--adopt"));
    assert_eq!(fake.snapshot(), before);
    // Found by the issue-13 attack review (F9): with no policy to attach, a key, a
    // password and a deny date were still put on someone's user without a word.
    let no_policy = Order {
        policies: Policies::None,
        console_password: Some(PasswordOrder {
            reset_required: true,
            replace_existing: false,
        }),
        expires: Some(jiff::SignedDuration::from_hours(1)),
        ..order()
    };
    let e = create(&fake, no_policy.clone()).unwrap_err();
    assert_eq!(e.code, ExitCode::Conflict);
    assert!(
        e.what.contains(
            "a deny date (handoff-expiry, 2026-12-03T09:00:00Z), a new access key, a console password would change an existing identity"
        ),
        "{}",
        e.what
    );
    assert_eq!(fake.snapshot(), before);
    // Asked on a terminal: a no changes nothing (exit 10), a yes goes ahead.
    let asked = std::cell::RefCell::new(Vec::new());
    let no = |q: &str| {
        asked.borrow_mut().push(q.to_string());
        Ok(false)
    };
    let ask = |order: Order, answer: &dyn Fn(&str) -> Result<bool>| {
        create_asking(
            &fake,
            order,
            None,
            &MemKeychain::default(),
            now,
            Default::default(),
            Some(answer),
        )
    };
    let e = ask(no_policy.clone(), &no).unwrap_err();
    assert_eq!(e.code, ExitCode::Cancelled);
    assert_eq!(fake.snapshot(), before);
    assert_eq!(
        asked.borrow().as_slice(),
        [
            "User boot exists and handoff did not create it (no created-by=handoff tag). Go ahead with a deny date (handoff-expiry, 2026-12-03T09:00:00Z), a new access key, a console password?"
        ]
    );
    ask(no_policy, &|_| Ok(true)).unwrap();
    assert_eq!(fake.keys_of(USER).len(), 1);
    // --adopt goes ahead without asking.
    let fake = FakeIam::new().with_foreign_user(USER);
    create(
        &fake,
        Order {
            allow: Allow {
                replace_expiry: false,
                adopt: true,
            },
            ..order()
        },
    )
    .unwrap();
    assert_eq!(fake.policies_of(USER), [P1, P2]);
}

#[test]
fn undoing_a_deny_date_that_never_landed_or_is_anothers_says_so() {
    // Found by the issue-13 attack review (F8): the rollback said "deleted the
    // handoff-expiry policy" when there was none to delete.
    use crate::mint::journal::{Change, Run, Undid};
    let change = Change::Expiry {
        before: None,
        wrote: "ours".into(),
        keys_before: vec![],
    };
    let run = Run {
        user: USER.into(),
        started: None,
        ledger: None,
    };
    let kc = MemKeychain::default();
    let fake = FakeIam::new().with_user(USER);
    let undid = change.undo(&fake, &kc, &run, &[]).unwrap();
    assert_eq!(undid, Undid::Gone);
    assert_eq!(
        change.undid_words(&undid, USER),
        "the handoff-expiry policy was not there to undo"
    );
    let fake = FakeIam::new()
        .with_user(USER)
        .with_inline_policy(USER, "handoff-expiry", "theirs");
    let e = change.undo(&fake, &kc, &run, &[]).unwrap_err();
    assert_eq!(e.code.as_deref(), Some(crate::mint::journal::KEPT));
    assert_eq!(
        fake.inline_policy(USER, "handoff-expiry")
            .unwrap()
            .as_deref(),
        Some("theirs")
    );
    let fake = FakeIam::new()
        .with_user(USER)
        .with_inline_policy(USER, "handoff-expiry", "ours");
    assert_eq!(change.undo(&fake, &kc, &run, &[]).unwrap(), Undid::Done);
    assert_eq!(fake.inline_policy(USER, "handoff-expiry").unwrap(), None);
}

#[test]
fn a_new_user_not_yet_visible_to_its_writes_is_waited_for() {
    // Found by the second issue-13 review (F13): IAM is eventually consistent, and a
    // write on the user made a round trip earlier may be refused with NoSuchEntity; the
    // create was rolled back although nothing had gone wrong.
    let fake = FakeIam::new();
    fake.fail("AttachUserPolicy", On::Call(1), "NoSuchEntity");
    create(&fake, order()).unwrap();
    assert_eq!(fake.policies_of(USER), [P1, P2]);
    assert_eq!(fake.keys_of(USER).len(), 1);
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|c| c.as_str() == "AttachUserPolicy")
            .count(),
        3,
        "the refused attachment is sent again, and the one not sent after it"
    );
    // On a user that was there before, NoSuchEntity means it is gone: no waiting.
    let fake = FakeIam::new().with_user(USER);
    fake.fail("AttachUserPolicy", On::Call(1), "NoSuchEntity");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws);
}

#[test]
fn a_rollback_believes_no_such_entity_for_what_it_made_only_once_iam_agrees() {
    // Found by the third issue-13 review (F5): a propagation NoSuchEntity on DeleteUser
    // was taken for "already gone", and the user stayed, reported as rolled back.
    let fake = FakeIam::new();
    fake.fail("CreateLoginProfile", On::Call(1), "AccessDenied");
    fake.fail("DeleteUser", On::Call(1), "NoSuchEntity");
    fake.fail("DeleteAccessKey", On::Call(1), "NoSuchEntity");
    let e = create(&fake, order()).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws, "{e:?}");
    assert!(fake.users().is_empty(), "{:?}", fake.users());
    assert_eq!(fake.snapshot(), FakeIam::new().snapshot());
}

#[test]
fn a_lost_create_user_reply_on_someone_elses_user_deletes_nothing_of_theirs() {
    // Found by the third issue-13 review (F7): the user appeared between GetUser and
    // CreateUser, CreateUser's EntityAlreadyExists was lost, and the rollback deleted it.
    let fake = FakeIam::new().with_foreign_user(USER);
    fake.fail("GetUser", On::Call(1), "NoSuchEntity");
    fake.lose_reply("CreateUser", On::Call(1));
    let e = create(&fake, order()).unwrap_err();
    assert!(
        e.what
            .contains("not deleted: it has no created-by=handoff tag"),
        "{}",
        e.what
    );
    assert_eq!(fake.users(), [USER], "their user is kept");
}
