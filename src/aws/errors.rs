//! The one place a failed AWS call becomes the user's error. What the user should do
//! depends on whose key signed the call: the caller's own credentials (`create`,
//! `revoke`: refresh them, use an identity allowed to manage IAM) or a received key
//! (`open --verify/--rotate`: AWS refusing it is a refusal of the bundle, exit 9).

use super::AwsError;
use crate::error::{Error, ExitCode};

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
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" | "AuthFailure"
    )
}

fn is_access_denied(code: &str) -> bool {
    matches!(code, "AccessDenied" | "AccessDeniedException")
}

/// The user's error for a failed call: exit 6 (AWS failed), or 9 when AWS refuses a
/// received key.
pub fn failed(e: &AwsError, whose: Whose) -> Error {
    let code = e.code.as_deref().unwrap_or_default();
    let (exit, what, fix) = match whose {
        // A young key, refused for longer than handoff waits.
        _ if e.no_credentials => (
            ExitCode::Aws,
            crate::error::one_line(&e.message),
            "pass --profile NAME, run `aws configure sso` (or `aws sso login` for an expired session), set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run in AWS CloudShell",
        ),
        _ if let Some(waited) = e.waited => (
            ExitCode::Aws,
            format!(
                "AWS has not accepted the new key after {} s of waiting ({})",
                waited.as_secs(),
                e.describe()
            ),
            "a key made minutes ago can take a while to work everywhere: run the command again in a few minutes; if it is still refused then, ask the sender",
        ),
        Whose::Received if is_bad_credentials(code) => (
            ExitCode::Refused,
            format!("AWS does not accept the received key ({})", e.describe()),
            "the bundle does not say the key is minutes old (a new one can take a minute to work), so it was deleted, deactivated or never real: ask the sender for a new bundle",
        ),
        Whose::Received if is_access_denied(code) => (
            ExitCode::Aws,
            e.describe(),
            "the received key is valid but may not do this; ask the sender to check the user's policies",
        ),
        Whose::Caller if is_access_denied(code) => (
            ExitCode::Aws,
            e.describe(),
            "use an identity allowed to manage IAM users (--profile), e.g. an administrator",
        ),
        Whose::Caller if is_bad_credentials(code) && code != "AuthFailure" => (
            ExitCode::Aws,
            e.describe(),
            "refresh your AWS credentials (aws sso login, aws configure)",
        ),
        Whose::Received if e.outcome_unknown => (
            ExitCode::Aws,
            e.describe(),
            "check your network and --endpoint-url/--region, then run the command again",
        ),
        Whose::Caller if e.outcome_unknown => (
            ExitCode::Aws,
            e.describe(),
            "check your network and the endpoint, then run the command again",
        ),
        _ => (
            ExitCode::Aws,
            e.describe(),
            "AWS refused for the reason above: fix what it names, then run the command again",
        ),
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
            assert_eq!(
                caller.fix.as_deref(),
                Some("refresh your AWS credentials (aws sso login, aws configure)")
            );
        }
    }

    #[test]
    fn each_kind_of_failure_has_its_own_hint() {
        let hint = |code, unknown, whose| failed(&err(code, unknown), whose).fix.unwrap();
        assert!(hint(Some("AccessDenied"), false, Whose::Caller).contains("allowed to manage IAM"));
        assert!(hint(Some("AccessDenied"), false, Whose::Received).contains("may not do this"));
        assert!(hint(None, true, Whose::Caller).contains("check your network and the endpoint"));
        assert!(hint(None, true, Whose::Received).contains("--endpoint-url/--region"));
        assert!(hint(Some("LimitExceeded"), false, Whose::Caller).contains("reason above"));
    }
}
