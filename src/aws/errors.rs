//! The one place a failed AWS call becomes the user's error. What the user should do
//! depends on whose key signed the call: the caller's own credentials (`create`,
//! `revoke`: refresh them, use an identity allowed to manage IAM) or a received key
//! (`open --verify/--rotate`: AWS refusing it is a refusal of the bundle, exit 9).

use std::sync::OnceLock;

use super::AwsError;
use crate::error::{Error, ExitCode};

/// Where the caller's credentials come from ("profile admin", "access key AKIA… from
/// AWS_ACCESS_KEY_ID"): the principal an error line names. One caller per process, so
/// it is noted once, when its client is built ([`note_caller`]).
static CALLER: OnceLock<(String, Option<String>)> = OnceLock::new();

/// Notes where the caller's credentials come from, and the profile they are read from
/// when one is named (the first note wins).
pub fn note_caller(source: String, profile: Option<String>) {
    let _ = CALLER.set((source, profile));
}

fn caller() -> &'static str {
    CALLER
        .get()
        .map_or("your AWS credentials", |(s, _)| s.as_str())
}

/// ` --profile NAME` for a printed AWS CLI command, when the caller named a profile.
fn profile_flag() -> String {
    match CALLER.get().and_then(|(_, p)| p.as_deref()) {
        Some(p) => format!(" --profile {}", super::shell_word(p)),
        None => String::new(),
    }
}

/// What to do when the credentials could not be loaded, by what the chain said.
fn credentials_fix(message: &str) -> String {
    if message.contains("AssumeRole") {
        format!(
            "check the role_arn of {}: the role's trust policy must name the source identity, and that identity must be allowed sts:AssumeRole",
            caller()
        )
    } else if (message.contains("SSO") && !message.starts_with("no AWS credentials found"))
        // A legacy SSO profile (sso_start_url) never logged in: only the token cache's
        // path is said.
        || message.contains("/sso/cache/")
    {
        format!("run `aws sso login{}` and try again", profile_flag())
    } else if !message.starts_with("no AWS credentials found")
        && (message.contains("external process") || message.contains("credential_process"))
    {
        format!(
            "the credential_process of {} failed: run it by hand to see why (aws configure get credential_process{})",
            caller(),
            profile_flag()
        )
    } else if !profile_flag().is_empty() {
        format!(
            "check {} in the AWS config and credentials files (aws configure list{}), or pass another --profile",
            caller(),
            profile_flag()
        )
    } else {
        "pass --profile NAME, run `aws configure sso` (or `aws sso login` for an expired session), set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run in AWS CloudShell".to_string()
    }
}

/// Whose credentials signed the failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The user's own, from the SDK's default chain.
    Caller,
    /// The access key received in a bundle.
    Received,
}

/// AWS's codes for "these credentials are not valid".
fn is_bad_credentials(code: &str) -> bool {
    matches!(
        code,
        "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "AuthFailure"
    )
}

/// A session's temporary credentials that ran out (SSO, an assumed role).
fn is_expired_session(code: &str) -> bool {
    matches!(code, "ExpiredToken" | "ExpiredTokenException")
}

fn is_access_denied(code: &str) -> bool {
    matches!(code, "AccessDenied" | "AccessDeniedException")
}

/// The user's error for a failed call: exit 6 (AWS failed), or 9 when AWS refuses a
/// received key.
pub fn failed(e: &AwsError, whose: Whose) -> Error {
    failed_or(
        e,
        whose,
        "AWS refused for the reason above: fix what it names, then run the command again",
    )
}

/// Whether AWS's answer says the request's time is off: SigV4 signatures are valid for
/// 5 minutes either side of AWS's clock.
fn is_clock_skew(e: &AwsError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("RequestTimeTooSkewed" | "RequestExpired" | "RequestInTheFuture")
    ) || e.message.contains("Signature expired")
        || e.message.contains("Signature not yet current")
}

/// The caller's credentials could not be loaded, so nothing was sent.
fn unloaded(e: &AwsError) -> Error {
    // A profile was named and gave nothing: most likely a typo, or another machine's.
    if e.message.starts_with("no AWS credentials found") && caller().starts_with("profile ") {
        return Error::new(
            ExitCode::Aws,
            format!(
                "no AWS credentials found for {}: the shared config and credentials files have no such profile, or it holds no credentials",
                caller()
            ),
        )
        .fix("check the name (aws configure list-profiles), or set it up (aws configure --profile NAME, or aws configure sso)");
    }
    Error::new(ExitCode::Aws, crate::error::one_line(&e.message)).fix(credentials_fix(&e.message))
}

/// [`failed`], with `fallback` as the fix when AWS's refusal is none handoff knows.
pub fn failed_or(e: &AwsError, whose: Whose, fallback: &str) -> Error {
    let code = e.code.as_deref().unwrap_or_default();
    if e.no_credentials {
        return unloaded(e);
    }
    let (exit, what, fix) = match whose {
        // A young key, refused for longer than handoff waits.
        _ if let Some(waited) = e.waited => (
            ExitCode::Aws,
            format!(
                "AWS has not accepted the new key after {} s of waiting ({})",
                waited.as_secs(),
                e.describe()
            ),
            "a key made minutes ago can take a while to work everywhere: run the command again in a few minutes; if it is still refused then, ask the sender",
        ),
        // Never sent: the SDK could not make a request of the configuration.
        _ if e.message.starts_with("the request could not be built") => (
            ExitCode::Aws,
            e.describe(),
            "check the region (--region, AWS_REGION, the profile's region) and the endpoint (--endpoint-url, AWS_ENDPOINT_URL)",
        ),
        // Before the key checks: a signature out of its time window is refused with
        // SignatureDoesNotMatch too, and says nothing about the key.
        _ if is_clock_skew(e) => (
            ExitCode::Aws,
            format!(
                "AWS refused {}: this machine's clock is off by more than the 5 minutes a signature allows ({})",
                e.action,
                e.describe()
            ),
            "set the clock right (timedatectl set-ntp true, or the OS's date and time settings), then run the command again",
        ),
        Whose::Received if is_bad_credentials(code) => (
            ExitCode::Refused,
            format!("AWS does not accept the received key ({})", e.describe()),
            "by the bundle's date the key is not minutes old (or the bundle gives no date), so it was deleted, deactivated or never real: ask the sender for a new bundle",
        ),
        Whose::Received if is_access_denied(code) => (
            ExitCode::Aws,
            e.describe(),
            "the received key is valid but may not do this; ask the sender to check the user's policies",
        ),
        // AWS's message names the principal's ARN; the hint says where it came from.
        Whose::Caller if is_access_denied(code) => {
            return Error::new(ExitCode::Aws, e.describe()).fix(format!(
                "use an identity allowed to manage IAM users (--profile), e.g. an administrator: this one, {}, may not call {}",
                caller(),
                e.action
            ));
        }
        Whose::Caller if code == "SignatureDoesNotMatch" => (
            ExitCode::Aws,
            format!(
                "AWS refused the signature on {}: the secret key of {} does not match its key id ({})",
                e.action,
                caller(),
                e.describe()
            ),
            "set the right secret access key (aws configure, or the AWS_SECRET_ACCESS_KEY that goes with AWS_ACCESS_KEY_ID), or pass another --profile",
        ),
        Whose::Caller if is_expired_session(code) => (
            ExitCode::Aws,
            format!(
                "the session of {} has expired: AWS refused {} ({})",
                caller(),
                e.action,
                e.describe()
            ),
            "start a new session (aws sso login, or fresh temporary credentials), then run the command again",
        ),
        Whose::Caller if is_bad_credentials(code) && code != "AuthFailure" => (
            ExitCode::Aws,
            format!(
                "AWS does not know the key that signed {}: {} ({})",
                e.action,
                caller(),
                e.describe()
            ),
            "the key was deleted or deactivated, is of another partition, or was made seconds ago and is not accepted yet (then run again in a minute): refresh your AWS credentials (aws configure, aws sso login) or pass another --profile",
        ),
        Whose::Received if e.outcome_unknown => (
            ExitCode::Aws,
            e.describe(),
            "check your network and --endpoint-url/--region, then run the command again",
        ),
        Whose::Caller if e.outcome_unknown => (
            ExitCode::Aws,
            e.describe(),
            "check your network and the endpoint (--region, --endpoint-url), then run the command again",
        ),
        // The plan saw no console password: someone set one since (another run?).
        Whose::Caller if e.action == "CreateLoginProfile" && code == "EntityAlreadyExists" => (
            ExitCode::Aws,
            e.describe(),
            "the user got a console password after this run read it (another run?): run the command again, with --reset-password to replace it",
        ),
        _ => (ExitCode::Aws, e.describe(), fallback),
    };
    Error::new(exit, what).fix(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: Option<&str>, unknown: bool) -> AwsError {
        AwsError {
            action: "GetCallerIdentity",
            code: code.map(str::to_string),
            message: "m".into(),
            outcome_unknown: unknown,
            waited: None,
            no_credentials: false,
        }
    }

    #[test]
    fn a_clock_out_of_the_signature_window_is_said_to_be_the_clock() {
        for (code, message) in [
            (
                "SignatureDoesNotMatch",
                "Signature expired: 20261204T100000Z is now earlier than 20261204T100500Z (20261204T101000Z - 5 min.)",
            ),
            (
                "SignatureDoesNotMatch",
                "Signature not yet current: 20261204T102000Z is still later than 20261204T101500Z (20261204T101000Z + 5 min.)",
            ),
            ("RequestTimeTooSkewed", "m"),
            ("RequestExpired", "m"),
        ] {
            let e = AwsError {
                message: message.into(),
                ..err(Some(code), false)
            };
            for whose in [Whose::Caller, Whose::Received] {
                let f = failed(&e, whose);
                assert_eq!(f.code, ExitCode::Aws, "{code} {whose:?}");
                assert!(f.what.contains("this machine's clock is off"), "{}", f.what);
                assert!(f.fix.unwrap().starts_with("set the clock right"));
            }
        }
    }

    #[test]
    fn credentials_that_cannot_be_loaded_get_the_fix_for_their_kind() {
        let unloaded = |message: &str| {
            let e = AwsError {
                message: message.into(),
                no_credentials: true,
                ..err(None, false)
            };
            failed(&e, Whose::Caller)
        };
        let sso = unloaded(
            "the AWS credentials could not be loaded: the SSO token has expired and cannot be refreshed",
        );
        assert_eq!(sso.code, ExitCode::Aws);
        assert!(sso.fix.unwrap().starts_with("run `aws sso login"));
        let role = unloaded(
            "the AWS credentials could not be loaded: AssumeRole failed: AccessDenied: no",
        );
        assert!(role.fix.unwrap().contains("trust policy"));
        let legacy = unloaded(
            "the AWS credentials could not be loaded: failed to read `/home/u/.aws/sso/cache/e8be54.json`: No such file or directory (os error 2)",
        );
        assert!(legacy.fix.unwrap().starts_with("run `aws sso login"));
        let process = unloaded(
            "the AWS credentials could not be loaded: an error occurred while loading credentials: external process exited with code exit status: 1. Stderr:",
        );
        assert!(process.fix.unwrap().contains("credential_process"));
        let other = unloaded("the AWS credentials could not be loaded: the file is broken");
        assert!(other.fix.unwrap().starts_with("pass --profile NAME"));
        // The list of places searched names SSO too; it is not an SSO failure.
        let none = unloaded("no AWS credentials found: checked the environment, profiles (SSO)");
        assert!(none.fix.unwrap().starts_with("pass --profile NAME"));
    }

    #[test]
    fn a_refused_received_key_refuses_the_bundle_but_a_refused_caller_is_an_aws_failure() {
        for code in [
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
        ] {
            let received = failed(&err(Some(code), false), Whose::Received);
            assert_eq!(received.code, ExitCode::Refused, "{code}");
            assert!(
                received
                    .what
                    .starts_with("AWS does not accept the received key")
            );
            let caller = failed(&err(Some(code), false), Whose::Caller);
            assert_eq!(caller.code, ExitCode::Aws, "{code}");
        }
    }

    #[test]
    fn a_refused_signature_an_expired_session_and_a_missing_permission_each_have_their_own_line() {
        let said = |code| failed(&err(Some(code), false), Whose::Caller);
        // No client was built in unit tests, so the principal is the generic one.
        let signature = said("SignatureDoesNotMatch");
        assert!(signature.what.starts_with(
            "AWS refused the signature on GetCallerIdentity: the secret key of your AWS credentials does not match"
        ), "{}", signature.what);
        assert!(
            signature
                .fix
                .unwrap()
                .contains("set the right secret access key")
        );
        let unknown = said("InvalidClientTokenId");
        assert!(
            unknown.what.starts_with(
                "AWS does not know the key that signed GetCallerIdentity: your AWS credentials ("
            ),
            "{}",
            unknown.what
        );
        assert!(unknown.fix.unwrap().contains("deleted or deactivated"));
        for code in ["ExpiredToken", "ExpiredTokenException"] {
            let expired = said(code);
            assert!(
                expired.what.starts_with(
                    "the session of your AWS credentials has expired: AWS refused GetCallerIdentity"
                ),
                "{}",
                expired.what
            );
            assert!(
                expired
                    .fix
                    .unwrap()
                    .starts_with("start a new session (aws sso login")
            );
        }
        let denied = said("AccessDenied");
        assert_eq!(denied.what, "GetCallerIdentity failed: AccessDenied: m");
        assert!(
            denied
                .fix
                .as_deref()
                .unwrap()
                .ends_with("this one, your AWS credentials, may not call GetCallerIdentity")
        );
    }

    #[test]
    fn each_kind_of_failure_has_its_own_hint() {
        let hint = |code, unknown, whose| failed(&err(code, unknown), whose).fix.unwrap();
        assert!(hint(Some("AccessDenied"), false, Whose::Caller).contains("allowed to manage IAM"));
        assert!(hint(Some("AccessDenied"), false, Whose::Received).contains("may not do this"));
        assert!(hint(None, true, Whose::Caller).contains("check your network and the endpoint"));
        assert!(hint(None, true, Whose::Received).contains("--endpoint-url/--region"));
        assert!(hint(Some("LimitExceeded"), false, Whose::Caller).contains("reason above"));
        let mut raced = err(Some("EntityAlreadyExists"), false);
        raced.action = "CreateLoginProfile";
        let raced = failed(&raced, Whose::Caller).fix.unwrap();
        assert!(raced.contains("--reset-password"), "{raced}");
    }
}
