//! `revoke` against the in-memory fake IAM: every delete failing in turn (exit 6 when
//! nothing was deleted before it, 12 with exactly what was), running again finishing
//! the job, what is already gone, a "no" at the prompt, and what each scope keeps.

use std::cell::RefCell;

use super::*;
use crate::aws::fake::{FakeIam, On};

const USER: &str = "boot";
const P1: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
/// AccessDenied's hint, then revoke's own.
const FIX: &str = "use an identity allowed to manage IAM users (--profile), e.g. an administrator: this one, your AWS credentials, may not call ACTION; then run the same command again (revoke is safe to repeat)";

fn k(n: usize) -> String {
    FakeIam::key_id(n)
}

/// A user with everything revoke deletes: two keys, a console password, an attached
/// policy, handoff's expiry policy and an inline policy of the owner's.
fn full_user() -> FakeIam {
    FakeIam::new()
        .with_user(USER)
        .with_key(USER)
        .with_key(USER)
        .with_login_profile(USER)
        .with_policy(USER, P1)
        .with_inline_policy(USER, EXPIRY_POLICY, "{}")
        .with_inline_policy(USER, "own", "{}")
}

fn request(scope: Scope, confirm: Confirm) -> RevokeRequest {
    RevokeRequest {
        user: USER.into(),
        scope,
        confirm,
        json: false,
        aws: AwsConfig::default(),
    }
}

fn revoke(fake: &FakeIam, scope: Scope) -> Result<()> {
    execute(
        &request(scope, Confirm::Yes),
        &Deps {
            iam: fake,
            confirm: &|_| panic!("--yes asks nothing"),
        },
    )
}

/// Revoking the whole user with `action`'s `nth` call failing: checks the error and
/// that nothing past it was deleted, then that running again finishes the job.
fn stops_at(fake: &FakeIam, action: &str, nth: usize, deleted: &[String]) -> Error {
    fake.fail(action, On::Call(nth), "AccessDenied");
    let e = revoke(fake, Scope::User).unwrap_err();
    let so_far = if deleted.is_empty() {
        "nothing was deleted".to_string()
    } else {
        format!("already deleted: {}", deleted.join(", "))
    };
    assert_eq!(
        e.what,
        format!("{action} failed: AccessDenied: scripted by the test ({so_far})")
    );
    assert_eq!(
        e.code,
        if deleted.is_empty() {
            ExitCode::Aws
        } else {
            ExitCode::RevokeIncomplete
        }
    );
    assert_eq!(e.fix, Some(FIX.replace("ACTION", action)));
    assert_eq!(fake.users(), [USER]);
    revoke(fake, Scope::User).expect("running again finishes");
    assert!(fake.users().is_empty());
    assert_eq!(fake.snapshot(), FakeIam::new().snapshot());
    e
}

fn mutating_calls(fake: &FakeIam) -> Vec<String> {
    let mutating = ["Create", "Delete", "Attach", "Detach", "Put", "Update"];
    fake.calls()
        .into_iter()
        .filter(|c| mutating.iter().any(|m| c.starts_with(m)))
        .collect()
}

#[test]
fn revoking_the_user_deletes_everything_in_order() {
    let fake = full_user();
    revoke(&fake, Scope::User).unwrap();
    assert!(fake.users().is_empty());
    assert_eq!(
        mutating_calls(&fake),
        [
            "DeleteAccessKey",
            "DeleteAccessKey",
            "DeleteLoginProfile",
            "DetachUserPolicy",
            "DeleteUserPolicy",
            "DeleteUserPolicy",
            "DeleteUser"
        ]
    );
}

#[test]
fn first_key_delete_fails_nothing_was_deleted_exit_6() {
    let fake = full_user();
    let before = fake.snapshot();
    fake.fail("DeleteAccessKey", On::Call(1), "AccessDenied");
    let e = revoke(&fake, Scope::User).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        "DeleteAccessKey failed: AccessDenied: scripted by the test (nothing was deleted)"
    );
    assert_eq!(fake.snapshot(), before);
    revoke(&fake, Scope::User).unwrap();
    assert!(fake.users().is_empty());
}

#[test]
fn second_key_delete_fails_exit_12_names_the_first() {
    let fake = full_user();
    stops_at(
        &fake,
        "DeleteAccessKey",
        2,
        &[format!("access key {}", k(1))],
    );
}

#[test]
fn second_key_delete_fails_leaves_exactly_the_rest() {
    let fake = full_user();
    fake.fail("DeleteAccessKey", On::Call(2), "AccessDenied");
    revoke(&fake, Scope::User).unwrap_err();
    let u = &fake.snapshot().users[USER];
    assert_eq!(fake.keys_of(USER), [k(2)]);
    assert!(u.login_profile.is_some());
    assert_eq!(u.policies, [P1]);
    assert_eq!(u.inline.len(), 2);
}

#[test]
fn login_profile_delete_fails_exit_12_names_both_keys() {
    let fake = full_user();
    stops_at(
        &fake,
        "DeleteLoginProfile",
        1,
        &[
            format!("access key {}", k(1)),
            format!("access key {}", k(2)),
        ],
    );
}

#[test]
fn detach_fails_exit_12_names_keys_and_password() {
    let fake = full_user();
    stops_at(
        &fake,
        "DetachUserPolicy",
        1,
        &[
            format!("access key {}", k(1)),
            format!("access key {}", k(2)),
            "console password".into(),
        ],
    );
}

#[test]
fn inline_policy_delete_fails_exit_12_names_the_attachment_too() {
    let fake = full_user();
    stops_at(
        &fake,
        "DeleteUserPolicy",
        1,
        &[
            format!("access key {}", k(1)),
            format!("access key {}", k(2)),
            "console password".into(),
            format!("attachment of {P1}"),
        ],
    );
}

#[test]
fn delete_user_fails_exit_12_names_everything_else() {
    let fake = full_user();
    stops_at(
        &fake,
        "DeleteUser",
        1,
        &[
            format!("access key {}", k(1)),
            format!("access key {}", k(2)),
            "console password".into(),
            format!("attachment of {P1}"),
            "inline policy handoff-expiry".into(),
            "inline policy own".into(),
        ],
    );
}

#[test]
fn a_late_failure_with_nothing_deleted_before_it_is_exit_6() {
    let fake = FakeIam::new().with_user(USER).with_policy(USER, P1);
    let e = stops_at(&fake, "DetachUserPolicy", 1, &[]);
    assert_eq!(e.code, ExitCode::Aws);
}

#[test]
fn get_user_fails_exit_6_and_nothing_else_is_called() {
    let fake = full_user();
    fake.fail("GetUser", On::Call(1), "AccessDenied");
    let e = revoke(&fake, Scope::User).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        "GetUser failed: AccessDenied: scripted by the test (nothing was deleted)"
    );
    assert_eq!(fake.calls(), ["GetUser"]);
}

#[test]
fn a_listing_failing_is_exit_6_before_any_delete() {
    let fake = full_user();
    let before = fake.snapshot();
    fake.unavailable("ListUserPolicies", On::Call(1));
    let e = revoke(&fake, Scope::User).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws);
    assert!(e.what.ends_with("(nothing was deleted)"), "{}", e.what);
    assert_eq!(fake.snapshot(), before);
    assert!(mutating_calls(&fake).is_empty());
}

#[test]
fn no_such_entity_mid_way_counts_as_already_gone_not_deleted() {
    let fake = full_user();
    fake.fail("DeleteAccessKey", On::Call(1), "NoSuchEntity");
    fake.fail("DeleteLoginProfile", On::Call(1), "AccessDenied");
    let e = revoke(&fake, Scope::User).unwrap_err();
    assert_eq!(e.code, ExitCode::RevokeIncomplete);
    assert_eq!(
        e.what,
        format!(
            "DeleteLoginProfile failed: AccessDenied: scripted by the test (already deleted: access key {})",
            k(2)
        )
    );
}

#[test]
fn only_already_gone_before_a_failure_is_still_exit_6() {
    let fake = FakeIam::new()
        .with_user(USER)
        .with_key(USER)
        .with_login_profile(USER);
    fake.fail("DeleteAccessKey", On::Call(1), "NoSuchEntity");
    fake.fail("DeleteLoginProfile", On::Call(1), "AccessDenied");
    let e = revoke(&fake, Scope::User).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws);
    assert!(e.what.ends_with("(nothing was deleted)"), "{}", e.what);
}

#[test]
fn a_key_deleted_by_someone_else_meanwhile_is_gone_and_the_user_still_goes() {
    let fake = full_user();
    let other = fake.clone();
    // Between the listing and the deletes, someone else deletes the first key.
    let confirm = move |_: &str| {
        other.delete_access_key(USER, &k(1)).unwrap();
        Ok(true)
    };
    execute(
        &request(Scope::User, Confirm::Ask),
        &Deps {
            iam: &fake,
            confirm: &confirm,
        },
    )
    .unwrap();
    assert!(fake.users().is_empty());
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|c| *c == "DeleteAccessKey")
            .count(),
        3
    );
}

#[test]
fn a_user_deleted_meanwhile_is_gone_not_a_failure() {
    let fake = FakeIam::new().with_user(USER).with_key(USER);
    fake.fail("DeleteUser", On::Call(1), "NoSuchEntity");
    revoke(&fake, Scope::User).unwrap();
    assert!(fake.keys_of(USER).is_empty());
}

#[test]
fn confirm_false_cancels_with_no_mutating_call() {
    let fake = full_user();
    let before = fake.snapshot();
    let asked = RefCell::new(Vec::new());
    let confirm = |q: &str| {
        asked.borrow_mut().push(q.to_string());
        Ok(false)
    };
    let e = execute(
        &request(Scope::User, Confirm::Ask),
        &Deps {
            iam: &fake,
            confirm: &confirm,
        },
    )
    .unwrap_err();
    assert_eq!(e.code, ExitCode::Cancelled);
    assert_eq!(e.what, "nothing was deleted");
    assert_eq!(e.fix.as_deref(), Some("answer y to delete, or pass --yes"));
    assert_eq!(
        asked.into_inner(),
        [format!(
            "Delete from boot: access key {}, access key {}, the console password, attachment of {P1}, inline policy handoff-expiry, inline policy own, the user boot?",
            k(1),
            k(2)
        )]
    );
    assert_eq!(
        fake.calls(),
        [
            "GetUser",
            "ListAccessKeys",
            "ListAttachedUserPolicies",
            "ListUserPolicies",
            "GetLoginProfile",
            "GetCallerIdentity"
        ]
    );
    assert_eq!(fake.snapshot(), before);
}

#[test]
fn confirm_false_for_one_key_cancels_and_keeps_it() {
    let fake = full_user();
    let asked = RefCell::new(Vec::new());
    let confirm = |q: &str| {
        asked.borrow_mut().push(q.to_string());
        Ok(false)
    };
    let e = execute(
        &request(Scope::Key(k(1)), Confirm::Ask),
        &Deps {
            iam: &fake,
            confirm: &confirm,
        },
    )
    .unwrap_err();
    assert_eq!(e.code, ExitCode::Cancelled);
    assert_eq!(
        asked.into_inner(),
        [format!("Delete access key {} of boot?", k(1))]
    );
    assert!(mutating_calls(&fake).is_empty());
    assert_eq!(fake.keys_of(USER), [k(1), k(2)]);
}

#[test]
fn scope_key_deletes_only_that_key() {
    let fake = full_user();
    let mut expected = fake.snapshot();
    expected.users.get_mut(USER).unwrap().keys.remove(0);
    revoke(&fake, Scope::Key(k(1))).unwrap();
    assert_eq!(fake.snapshot(), expected);
    assert_eq!(mutating_calls(&fake), ["DeleteAccessKey"]);
}

#[test]
fn scope_key_on_a_missing_key_is_ok_and_already_gone() {
    let fake = FakeIam::new().with_user(USER).with_key(USER);
    let before = fake.snapshot();
    let missing = "AKIAFAKE999999999999";
    revoke(&fake, Scope::Key(missing.into())).unwrap();
    assert_eq!(fake.snapshot(), before);
    // IAM is asked whose key it is; it has none: nothing to delete.
    assert_eq!(fake.calls(), ["GetAccessKeyLastUsed"]);
    // How that answer is reported (execute prints the report on stderr): gone, not done.
    let mut report = Report::default();
    step(
        || fake.delete_access_key(USER, missing),
        format!("access key {missing}"),
        &mut report,
    )
    .unwrap();
    assert!(report.done.is_empty());
    assert_eq!(report.gone, [format!("access key {missing}")]);
}

#[test]
fn scope_key_delete_failing_is_exit_6() {
    let fake = full_user();
    fake.fail("DeleteAccessKey", On::Call(1), "AccessDenied");
    let e = revoke(&fake, Scope::Key(k(2))).unwrap_err();
    assert_eq!(e.code, ExitCode::Aws);
    assert_eq!(
        e.what,
        "DeleteAccessKey failed: AccessDenied: scripted by the test (nothing was deleted)"
    );
    assert_eq!(fake.keys_of(USER), [k(1), k(2)]);
}

#[test]
fn a_missing_user_is_ok_with_no_delete() {
    let fake = FakeIam::new();
    revoke(&fake, Scope::User).unwrap();
    revoke(&fake, Scope::Key(k(1))).unwrap();
    // For one key, IAM is asked whose it is first: no such key, nothing to delete.
    assert_eq!(fake.calls(), ["GetUser", "GetAccessKeyLastUsed"]);
}

#[test]
fn scope_credentials_keeps_the_user_and_the_owners_inline_policy() {
    let fake = full_user();
    revoke(&fake, Scope::Credentials).unwrap();
    let u = &fake.snapshot().users[USER];
    assert!(u.keys.is_empty());
    assert!(u.login_profile.is_none());
    assert!(u.policies.is_empty());
    assert_eq!(u.inline.keys().collect::<Vec<_>>(), ["own"]);
    assert!(!fake.calls().iter().any(|c| c == "DeleteUser"));
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|c| *c == "DeleteUserPolicy")
            .count(),
        1
    );
}

#[test]
fn scope_credentials_stopped_partway_then_run_again_finishes() {
    let fake = full_user();
    fake.fail("DeleteUserPolicy", On::Call(1), "AccessDenied");
    let e = revoke(&fake, Scope::Credentials).unwrap_err();
    assert_eq!(e.code, ExitCode::RevokeIncomplete);
    assert!(
        e.what.ends_with(&format!(
            "(already deleted: access key {}, access key {}, console password, attachment of {P1})",
            k(1),
            k(2)
        )),
        "{}",
        e.what
    );
    assert!(
        fake.snapshot().users[USER]
            .inline
            .contains_key(EXPIRY_POLICY)
    );
    revoke(&fake, Scope::Credentials).unwrap();
    let u = &fake.snapshot().users[USER];
    assert_eq!(u.inline.keys().collect::<Vec<_>>(), ["own"]);
}

#[test]
fn another_users_key_is_refused_with_the_owners_command() {
    // Found by the attack review: DeleteAccessKey on the wrong user answers "not
    // found", which revoke reported as "already gone" (exit 0) while the key lived on.
    let fake = FakeIam::new()
        .with_user(USER)
        .with_user("other")
        .with_key("other");
    let before = fake.snapshot();
    let mut req = request(Scope::Key(k(1)), Confirm::Yes);
    req.aws.endpoint_url = Some("http://127.0.0.1:5000".into());
    let e = execute(
        &req,
        &Deps {
            iam: &fake,
            confirm: &|_| panic!("--yes asks nothing"),
        },
    )
    .unwrap_err();
    assert_eq!(e.code, ExitCode::Conflict);
    assert_eq!(
        e.what,
        format!(
            "access key {} belongs to user other, not boot; nothing was deleted",
            k(1)
        )
    );
    assert_eq!(
        e.fix.as_deref(),
        Some(format!(
            "revoke it there: handoff revoke --endpoint-url http://127.0.0.1:5000 --user other --access-key-id {}",
            k(1)
        ))
        .as_deref()
    );
    assert_eq!(fake.snapshot(), before);
    // Run as printed (the user is the owner now): the key goes.
    let mut there = request(Scope::Key(k(1)), Confirm::Yes);
    there.user = "other".into();
    execute(
        &there,
        &Deps {
            iam: &fake,
            confirm: &|_| panic!("--yes asks nothing"),
        },
    )
    .unwrap();
    assert!(fake.keys_of("other").is_empty());
}

#[test]
fn a_user_in_a_group_says_what_blocks_the_delete_and_how_to_find_it() {
    // Real IAM refuses DeleteUser while a group membership, an MFA device, … remains:
    // "run the same command again" alone would loop for ever.
    let fake = full_user();
    fake.fail("DeleteUser", On::Call(1), "DeleteConflict");
    let e = revoke(&fake, Scope::User).unwrap_err();
    assert_eq!(e.code, ExitCode::RevokeIncomplete);
    assert!(
        e.what.contains("a group membership, an MFA device"),
        "{}",
        e.what
    );
    let fix = e.fix.unwrap();
    assert!(fix.contains("`aws iam list-groups-for-user`"), "{fix}");
}

#[test]
fn revoking_the_user_one_is_signed_in_as_is_refused_before_any_delete() {
    // Found by the second issue-13 review (F8): the teammate's own bootstrap profile
    // deleted its signing key first, then was refused the rest.
    let fake = full_user().acting_as("arn:aws:iam::123456789012:user/boot");
    let before = fake.snapshot();
    for scope in [Scope::User, Scope::Credentials] {
        let e = revoke(&fake, scope).unwrap_err();
        assert_eq!(e.code, ExitCode::Conflict);
        assert!(
            e.what.contains("revoke is signed in as boot itself"),
            "{}",
            e.what
        );
        assert!(
            e.fix
                .unwrap()
                .contains("handoff revoke --profile ADMIN --user boot")
        );
        assert_eq!(fake.snapshot(), before);
    }
}

#[test]
fn the_self_check_ignores_the_case_of_the_user_name() {
    // Found by the third issue-13 review (F4): IAM user names are unique whatever their
    // case, so BOOT signing a revoke of boot is boot revoking itself.
    let fake = full_user().acting_as("arn:aws:iam::123456789012:user/BOOT");
    let before = fake.snapshot();
    let e = revoke(&fake, Scope::User).unwrap_err();
    assert_eq!(e.code, ExitCode::Conflict);
    assert_eq!(fake.snapshot(), before);
}
