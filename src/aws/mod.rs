//! IAM and STS, behind the small [`Iam`] trait that the commands use; SDK types end in
//! `sdk.rs`, and the layer takes its own [`AwsConfig`], never a command-line type.
//! Errors say which action failed and whether its outcome is known: a create whose
//! reply was lost may have happened, and is never retried blindly. [`errors`] is the
//! one place they become the user's message; [`names`] holds IAM's names and the
//! documents handoff writes; [`fake`] is the scriptable in-memory IAM of the unit tests.

mod error_body;
pub mod errors;
#[cfg(test)]
pub mod fake;
pub mod names;
pub mod password;
pub mod patience;
pub mod sdk;

use crate::secret::SecretString;

/// Where and as whom to call AWS, beyond the SDK's default chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsConfig {
    /// The profile of the shared config files (default: the SDK's chain).
    pub profile: Option<String>,
    /// The region (IAM is global; this picks the partition and STS endpoint).
    pub region: Option<String>,
    /// An endpoint for every call, e.g. a local IAM server.
    pub endpoint_url: Option<String>,
}

impl AwsConfig {
    /// The flags that make a printed `handoff` command reach the same AWS as this run
    /// (` --profile P --region R --endpoint-url U`, each value quoted for sh when it
    /// needs it), so that a clean-up hint never acts on another account.
    pub fn command_flags(&self) -> String {
        let mut out = String::new();
        for (flag, value) in [
            ("--profile", &self.profile),
            ("--region", &self.region),
            ("--endpoint-url", &self.endpoint_url),
        ] {
            if let Some(v) = value {
                out.push(' ');
                out.push_str(flag);
                out.push(' ');
                out.push_str(&shell_word(v));
            }
        }
        out
    }
}

/// `s` as one sh word: bare when it is plainly safe, else single-quoted.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@=+,".contains(&b));
    if plain {
        return s.to_string();
    }
    let mut out = Vec::new();
    if crate::deliver::sh::quote_into(&mut out, s).is_err() {
        return "'?'".to_string();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The 12-digit account id.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
}

impl Caller {
    /// The ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &str {
        self.arn
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
    }
}

/// An access key's public facts.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// The access key id.
    pub id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// When it was created.
    pub created: Option<jiff::Timestamp>,
}

/// The last use AWS recorded of an access key.
#[derive(Debug, Clone)]
pub struct KeyUse {
    /// When (AWS records this with a delay, and coarsely).
    pub when: jiff::Timestamp,
    /// The service it was used with (`iam`, `s3`, …, or `N/A`).
    pub service: String,
    /// The region (`N/A` for global services).
    pub region: String,
}

/// The account's password policy (the parts a generated password must meet).
#[derive(Debug, Clone, Default)]
pub struct PasswordPolicy {
    /// Minimum length.
    pub min_length: usize,
}

/// A failed AWS call.
#[derive(Debug, Clone)]
pub struct AwsError {
    /// The API action, e.g. `CreateAccessKey`.
    pub action: &'static str,
    /// AWS's error code, when it sent one (`NoSuchEntity`, `LimitExceeded`, …).
    pub code: Option<String>,
    /// AWS's message or the transport's.
    pub message: String,
    /// Whether the request may have been carried out anyway (no answer, a 5xx, an
    /// unreadable answer).
    pub outcome_unknown: bool,
    /// How long a refusal of a new key was waited out before it was given up
    /// ([`patience`]): AWS may still accept the key later.
    pub waited: Option<std::time::Duration>,
    /// The SDK's credential chain found no credentials (nothing was sent).
    pub no_credentials: bool,
}

impl AwsError {
    /// Whether AWS said the entity does not exist.
    pub fn is_no_such_entity(&self) -> bool {
        self.code.as_deref() == Some("NoSuchEntity")
    }

    /// One line for the user. The code and the message are the server's (an
    /// `--endpoint-url` can point anywhere), so both are escaped for the terminal.
    pub fn describe(&self) -> String {
        let code = self
            .code
            .as_deref()
            .map(|c| format!("{}: ", crate::error::shown(c)))
            .unwrap_or_default();
        format!(
            "{} failed: {code}{}",
            self.action,
            crate::error::one_line(&self.message)
        )
    }
}

/// A user GetUser found.
#[derive(Debug, Clone, PartialEq)]
pub struct UserFound {
    /// Its ARN.
    pub arn: String,
    /// Whether it carries handoff's `created-by=handoff` tag.
    pub made_by_handoff: bool,
}

/// The result of an AWS call.
pub type AwsResult<T> = Result<T, AwsError>;

/// What a create reads before it changes anything: the caller, the user, and (when
/// asked) the user's state and the account's password settings. Each read's own result,
/// so that the plan reports the first failure in a fixed order.
pub struct Survey {
    /// GetCallerIdentity.
    pub caller: AwsResult<Caller>,
    /// GetUser.
    pub user: AwsResult<Option<UserFound>>,
    /// ListAttachedUserPolicies (empty for a user that does not exist).
    pub attached: AwsResult<Vec<String>>,
    /// ListAccessKeys (empty for a user that does not exist).
    pub keys: AwsResult<Vec<KeyInfo>>,
    /// GetLoginProfile, when a password is wanted (else false).
    pub has_login_profile: AwsResult<bool>,
    /// GetUserPolicy of this inline policy (None for a user that does not exist).
    pub inline: AwsResult<Option<String>>,
    /// GetAccountPasswordPolicy, when a password is wanted (else None).
    pub password_policy: AwsResult<Option<PasswordPolicy>>,
    /// ListAccountAliases, when a password is wanted (else None).
    pub alias: AwsResult<Option<String>>,
}

/// A user-scoped read of a user that does not exist reads as `empty`.
pub fn absent_user<T>(r: AwsResult<T>, empty: T) -> AwsResult<T> {
    match r {
        Err(e) if e.is_no_such_entity() => Ok(empty),
        other => other,
    }
}

/// One of the changes a create makes once its user exists. They do not depend on each
/// other, so the SDK sends them at once ([`Iam::apply`]).
#[derive(Clone, Copy)]
pub enum Write<'a> {
    /// AttachUserPolicy of this ARN.
    Attach(&'a str),
    /// PutUserPolicy.
    PutInline {
        /// The policy's name.
        name: &'a str,
        /// Its document.
        document: &'a str,
    },
    /// CreateAccessKey.
    CreateKey,
    /// CreateLoginProfile.
    CreateLoginProfile {
        /// The new password.
        password: &'a SecretString,
        /// Whether AWS asks for a new one at the first sign-in.
        reset_required: bool,
    },
    /// UpdateLoginProfile.
    UpdateLoginProfile {
        /// The new password.
        password: &'a SecretString,
        /// Whether AWS asks for a new one at the first sign-in.
        reset_required: bool,
    },
}

/// What a [`Write`] answered.
pub enum Written {
    /// The change was made (AWS answered without data).
    Done,
    /// CreateAccessKey's id and secret.
    Key(String, SecretString),
}

/// The read-backs of a create's writes ([`Iam::confirm`]).
pub struct Confirmed {
    /// ListAttachedUserPolicies, when asked for.
    pub attached: Option<AwsResult<Vec<String>>>,
    /// ListUserPolicies, when asked for.
    pub inline: Option<AwsResult<Vec<String>>>,
}

/// Sends `writes` one after another with `send`; with `stop_at_failure`, those after
/// a failure are not sent (`None`).
pub fn apply_each(
    writes: &[Write],
    stop_at_failure: bool,
    mut send: impl FnMut(&Write) -> AwsResult<Written>,
) -> Vec<Option<AwsResult<Written>>> {
    let mut failed = false;
    writes
        .iter()
        .map(|w| {
            if failed && stop_at_failure {
                return None;
            }
            let answer = send(w);
            failed |= answer.is_err();
            Some(answer)
        })
        .collect()
}

/// Sends one write with the blocking calls.
pub fn send_one<I: Iam + ?Sized>(iam: &I, user: &str, w: &Write) -> AwsResult<Written> {
    match w {
        Write::Attach(arn) => iam.attach_policy(user, arn).map(|()| Written::Done),
        Write::PutInline { name, document } => iam
            .put_inline_policy(user, name, document)
            .map(|()| Written::Done),
        Write::CreateKey => iam
            .create_access_key(user)
            .map(|(id, secret)| Written::Key(id, secret)),
        Write::CreateLoginProfile {
            password,
            reset_required,
        } => iam
            .create_login_profile(user, password, *reset_required)
            .map(|()| Written::Done),
        Write::UpdateLoginProfile {
            password,
            reset_required,
        } => iam
            .update_login_profile(user, password, *reset_required)
            .map(|()| Written::Done),
    }
}

/// The IAM and STS calls handoff makes.
pub trait Iam {
    /// Sends `writes`, each once. By default one after another, stopping at the first
    /// failure (`None`: not sent); the SDK sends them all at once (one round), so each
    /// has its own answer. Answers are in the order of `writes`.
    fn apply(&self, user: &str, writes: &[Write]) -> Vec<Option<AwsResult<Written>>> {
        apply_each(writes, true, |w| send_one(self, user, w))
    }

    /// Reads back what a create's writes should have made: the attached policies
    /// and the inline policy names, each when asked for. By default one after the
    /// other; the SDK sends them at once.
    fn confirm(&self, user: &str, attached: bool, inline: bool) -> Confirmed {
        Confirmed {
            attached: attached.then(|| self.attached_policies(user)),
            inline: inline.then(|| self.inline_policies(user)),
        }
    }

    /// Every read a create plans with. By default one after another, the user's own
    /// reads only when GetUser found it; the SDK sends them all at once (one round).
    fn survey(&self, user: &str, inline: &str, password: bool) -> Survey {
        let caller = self.caller();
        let found = self.user(user);
        let exists = matches!(found, Ok(Some(_)));
        let when = |yes: bool| yes && exists;
        Survey {
            caller,
            attached: if exists {
                self.attached_policies(user)
            } else {
                Ok(Vec::new())
            },
            keys: if exists {
                self.access_keys(user)
            } else {
                Ok(Vec::new())
            },
            has_login_profile: if when(password) {
                self.has_login_profile(user)
            } else {
                Ok(false)
            },
            inline: if exists {
                self.inline_policy(user, inline)
            } else {
                Ok(None)
            },
            password_policy: if password {
                self.password_policy()
            } else {
                Ok(None)
            },
            alias: if password {
                self.account_alias()
            } else {
                Ok(None)
            },
            user: found,
        }
    }

    /// STS GetCallerIdentity.
    fn caller(&self) -> AwsResult<Caller>;
    /// GetUser: the user's ARN, or None if there is no such user.
    fn user_arn(&self, user: &str) -> AwsResult<Option<String>> {
        self.user(user).map(|u| u.map(|u| u.arn))
    }
    /// GetUser: the user's ARN and whether handoff made it, or None if there is no such
    /// user.
    fn user(&self, user: &str) -> AwsResult<Option<UserFound>>;
    /// CreateUser with tags; returns the ARN.
    fn create_user(&self, user: &str, tags: &[(&str, &str)]) -> AwsResult<String>;
    /// DeleteUser.
    fn delete_user(&self, user: &str) -> AwsResult<()>;
    /// ListAttachedUserPolicies: policy ARNs.
    fn attached_policies(&self, user: &str) -> AwsResult<Vec<String>>;
    /// AttachUserPolicy.
    fn attach_policy(&self, user: &str, arn: &str) -> AwsResult<()>;
    /// DetachUserPolicy.
    fn detach_policy(&self, user: &str, arn: &str) -> AwsResult<()>;
    /// ListUserPolicies: inline policy names.
    fn inline_policies(&self, user: &str) -> AwsResult<Vec<String>>;
    /// PutUserPolicy.
    fn put_inline_policy(&self, user: &str, name: &str, document: &str) -> AwsResult<()>;
    /// DeleteUserPolicy.
    fn delete_inline_policy(&self, user: &str, name: &str) -> AwsResult<()>;
    /// GetUserPolicy: the document, or None when the user has no policy of that name.
    fn inline_policy(&self, user: &str, name: &str) -> AwsResult<Option<String>>;
    /// ListAccessKeys.
    fn access_keys(&self, user: &str) -> AwsResult<Vec<KeyInfo>>;
    /// CreateAccessKey: the id and the secret.
    fn create_access_key(&self, user: &str) -> AwsResult<(String, SecretString)>;
    /// GetAccessKeyLastUsed: None when AWS has no record of a use.
    fn key_last_used(&self, id: &str) -> AwsResult<Option<KeyUse>>;
    /// GetAccessKeyLastUsed's user name: whose key this is; None when IAM has no such key.
    fn key_owner(&self, id: &str) -> AwsResult<Option<String>>;
    /// DeleteAccessKey.
    fn delete_access_key(&self, user: &str, id: &str) -> AwsResult<()>;
    /// GetLoginProfile: whether the user has a console password.
    fn has_login_profile(&self, user: &str) -> AwsResult<bool>;
    /// CreateLoginProfile.
    fn create_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()>;
    /// UpdateLoginProfile.
    fn update_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()>;
    /// DeleteLoginProfile.
    fn delete_login_profile(&self, user: &str) -> AwsResult<()>;
    /// GetAccountPasswordPolicy (None when the account has none).
    fn password_policy(&self) -> AwsResult<Option<PasswordPolicy>>;
    /// ListAccountAliases: the first alias.
    fn account_alias(&self) -> AwsResult<Option<String>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_flags_repeat_the_target_quoted_for_sh() {
        assert_eq!(AwsConfig::default().command_flags(), "");
        let c = AwsConfig {
            profile: Some("org admin's".into()),
            region: Some("eu-west-1".into()),
            endpoint_url: Some("http://127.0.0.1:5000".into()),
        };
        assert_eq!(
            c.command_flags(),
            " --profile 'org admin'\\''s' --region eu-west-1 --endpoint-url http://127.0.0.1:5000"
        );
    }

    #[test]
    fn describe_escapes_the_servers_code_and_message() {
        let e = AwsError {
            action: "CreateAccessKey",
            code: Some("Evil\u{1b}[2J".into()),
            message: "no\x1b]0;pwned\x07 \u{202e}way\nout".into(),
            outcome_unknown: false,
            waited: None,
            no_credentials: false,
        };
        assert_eq!(
            e.describe(),
            "CreateAccessKey failed: Evil\\u{1b}[2J: no\\u{1b}]0;pwned\\u{7} \\u{202e}way out"
        );
    }
}
