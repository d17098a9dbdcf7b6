//! Checks made on receipt, before a credential is delivered anywhere. A bundle planted
//! by someone else opens just as well as the real one (age does not authenticate
//! senders), and its key would deploy into the planter's account: `--expect-account`
//! compares the account the payload claims with the one the user expects, and
//! `--verify` asks AWS (STS GetCallerIdentity, signed with the received key) whose key
//! it really is. Either mismatch exits 9 and delivers nothing.

use crate::aws::errors::{Whose, failed};
use crate::aws::names::user_of_arn;
use crate::aws::{Caller, Iam};
use crate::bundle::Credential;
use crate::error::{Error, ExitCode, Result, shown};

/// `--expect-account ID` is 12 digits: checked before the bundle is opened.
pub fn check_account_id(want: &str) -> Result<()> {
    if want.len() != 12 || !want.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::input(format!(
            "--expect-account {} is not a 12-digit AWS account id",
            shown(want)
        ))
        .fix("pass the account id as 12 digits, e.g. --expect-account 123456789012"));
    }
    Ok(())
}

/// `--expect-account ID`: the payload must claim exactly this account.
pub fn expect_account(c: &Credential, want: &str) -> Result<()> {
    check_account_id(want)?;
    match c.account_id.as_deref() {
        Some(got) if got == want => Ok(()),
        Some(got) => Err(Error::new(
            ExitCode::Refused,
            format!("this bundle is for account {got}, not {want}; nothing was delivered"),
        )
        .fix("do not use it: ask the sender who made it, and for a bundle of the right account")),
        None => Err(Error::new(
            ExitCode::Refused,
            format!("this bundle does not say which account it is for, so it cannot be checked against {want}"),
        )
        .fix("ask the sender for a bundle made with `handoff create` (or `seal --account-id`), or add --verify to ask AWS")),
    }
}

/// `--verify`: asks AWS whose key this is, signed with the received key itself, and
/// compares the answer with the account, user and ARN the payload claims.
pub fn verify(iam: &dyn Iam, c: &Credential) -> Result<Caller> {
    let caller = iam.caller().map_err(|e| failed(&e, Whose::Received))?;
    let refuse = |what: String| {
        Error::new(ExitCode::Refused, format!("{what}; nothing was delivered"))
            .fix("do not use this key: it is not what the bundle says it is; ask the sender")
    };
    match c.account_id.as_deref() {
        Some(claimed) if claimed != caller.account => {
            return Err(refuse(format!(
                "the bundle says account {claimed}, but AWS says the key belongs to account {}",
                shown(&caller.account)
            )));
        }
        Some(_) => {}
        None => return Err(unclaimed("account", &caller.account)),
    }
    let actual_user = user_of_arn(&caller.arn);
    if let Some(claimed) = c.user_arn.as_deref()
        && claimed != caller.arn
    {
        return Err(refuse(format!(
            "the bundle says {}, but AWS says the key belongs to {}",
            shown(claimed),
            shown(&caller.arn)
        )));
    }
    if let Some(claimed) = c.user_name.as_deref()
        && actual_user != Some(claimed)
    {
        return Err(refuse(format!(
            "the bundle says user {}, but AWS says the key belongs to {}",
            shown(claimed),
            shown(&caller.arn)
        )));
    }
    if c.user_name.is_none() && c.user_arn.is_none() {
        return Err(unclaimed("user", &caller.arn));
    }
    Ok(caller)
}

/// A bundle that claims no account or user (a console key sealed without them) has
/// nothing to check AWS's answer against: not a forgery, but not verifiable either.
fn unclaimed(what: &str, aws_says: &str) -> Error {
    Error::new(
        ExitCode::Refused,
        format!(
            "the bundle does not say which {what} the key is for (AWS says {}), so there is nothing to verify it against; nothing was delivered",
            shown(aws_says)
        ),
    )
    .fix("ask the sender to seal it with --account-id ID --user NAME (or to make it with handoff create); to use it unchecked, open it without --verify")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(account: Option<&str>) -> Credential {
        Credential {
            account_id: account.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn expect_account_compares_exactly() {
        assert!(expect_account(&cred(Some("123456789012")), "123456789012").is_ok());
        let e = expect_account(&cred(Some("123456789012")), "210987654321").unwrap_err();
        assert_eq!(e.code, ExitCode::Refused);
        assert!(
            e.to_string()
                .contains("for account 123456789012, not 210987654321")
        );
        assert_eq!(
            expect_account(&cred(None), "123456789012")
                .unwrap_err()
                .code,
            ExitCode::Refused
        );
        assert_eq!(
            expect_account(&cred(Some("123456789012")), "1234")
                .unwrap_err()
                .code,
            ExitCode::Input
        );
    }
}
