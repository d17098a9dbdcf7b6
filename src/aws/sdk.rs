//! The [`Iam`] trait over the AWS SDK for Rust. Credentials and region come from the
//! SDK's default chain (environment, profiles with SSO and credential_process,
//! container credentials as in CloudShell, instance metadata) plus `--profile`,
//! `--region` and `--endpoint-url`/`AWS_ENDPOINT_URL`.
//!
//! The SDK's own retries are off: a create whose reply is lost must not be sent again.
//! Reads and deletes (idempotent) are retried here, a few times, with backoff.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio::runtime::Runtime;

use super::{
    AwsConfig, AwsError, AwsResult, Caller, Iam, KeyInfo, KeyUse, PasswordPolicy, Written,
};
use crate::error::{Error, ExitCode, Result};
use crate::secret::{ExposeSecret, SecretString, from_foreign};

/// IAM and STS clients on a current-thread runtime.
pub struct SdkIam {
    rt: Runtime,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
}

impl SdkIam {
    /// Loads the configuration with the SDK's default credential chain (no network
    /// call yet).
    pub fn new(config: &AwsConfig) -> Result<SdkIam> {
        let profile = config
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
        super::errors::note_caller(caller_source(config), profile);
        Self::build(config, None)
    }

    /// The same, acting as the holder of one access key (a received one, to verify or
    /// rotate it): the default chain is not consulted.
    pub fn with_key(config: &AwsConfig, id: &str, secret: &SecretString) -> Result<SdkIam> {
        let creds = aws_sdk_iam::config::Credentials::new(
            id,
            secret.expose_secret(),
            None,
            None,
            "handoff-received-key",
        );
        Self::build(config, Some(creds))
    }

    fn build(aws: &AwsConfig, creds: Option<aws_sdk_iam::config::Credentials>) -> Result<SdkIam> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    ExitCode::Internal,
                    format!("cannot start the async runtime: {e}"),
                )
            })?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(p) = &aws.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &aws.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(u) = &aws.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        // As the AWS CLI does: an explicit --profile wins over AWS_ACCESS_KEY_ID in the
        // environment (the default chain would look there first), so the profile's
        // provider is set alone, once the region is known.
        let profile_only = creds.is_none() && aws.profile.is_some();
        if let Some(c) = creds {
            loader = loader.credentials_provider(c);
        } else if profile_only {
            loader = loader.no_credentials();
        }
        let mut config = rt.block_on(loader.load());
        if config.region().is_none() {
            // IAM is global; STS needs a region to sign. us-east-1 is the default partition's.
            config = config
                .into_builder()
                .region(aws_config::Region::new("us-east-1"))
                .build();
        }
        if let (true, Some(p)) = (profile_only, &aws.profile) {
            // Configured with the region: a profile that assumes a role (role_arn with
            // source_profile or credential_source) calls STS, which must sign for one.
            let provider_config = aws_config::provider_config::ProviderConfig::without_region()
                .with_region(config.region().cloned());
            let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&provider_config)
                .profile_name(p)
                .build();
            config = config
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
        }
        if config.credentials_provider().is_none() {
            return Err(Error::new(ExitCode::Aws, "no AWS credentials found").fix(
                "run `aws configure`, `aws sso login`, pass --profile, or run in AWS CloudShell",
            ));
        }
        Ok(SdkIam {
            iam: aws_sdk_iam::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            rt,
        })
    }

    /// Sends one request, once: creates and attaches, whose lost reply may mean the
    /// change was made (the caller checks, never resends).
    fn once<T, E>(
        &self,
        action: &'static str,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> AwsResult<T>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.rt.block_on(request).map_err(|e| aws_error(action, &e))
    }

    /// Sends an idempotent request (a read or a delete) up to three times when the
    /// failure may be passing.
    fn retried<T, E, F>(&self, action: &'static str, request: impl Fn() -> F) -> AwsResult<T>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        self.rt.block_on(retried(action, request))
    }
}

/// [`SdkIam::retried`], to be awaited beside other requests.
async fn retried<T, E, F>(action: &'static str, request: impl Fn() -> F) -> AwsResult<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let mut last = None;
    for attempt in 0..3u32 {
        match request().await.map_err(|e| aws_error(action, &e)) {
            Ok(v) => return Ok(v),
            Err(e) if e.outcome_unknown || e.code.as_deref().is_some_and(is_throttling) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
            Err(e) => return Err(e),
        }
    }
    let mut e = last.expect("three attempts");
    e.message.push_str(" (tried 3 times)");
    Err(e)
}

/// The reads a create plans with, and the writes it makes once the user exists, as
/// futures, so that [`Iam::survey`] and [`Iam::apply`] can send them at once; the
/// blocking [`Iam`] methods run them one at a time.
impl SdkIam {
    /// Sends a change once (see [`SdkIam::once`]).
    async fn once_now<T, E>(
        action: &'static str,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> AwsResult<T>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        request.await.map_err(|e| aws_error(action, &e))
    }

    async fn attach_now(&self, user: &str, arn: &str) -> AwsResult<()> {
        let req = self.iam.attach_user_policy().user_name(user);
        Self::once_now("AttachUserPolicy", req.policy_arn(arn).send())
            .await
            .map(drop)
    }

    async fn put_inline_now(&self, user: &str, name: &str, document: &str) -> AwsResult<()> {
        let req = self.iam.put_user_policy().user_name(user).policy_name(name);
        Self::once_now("PutUserPolicy", req.policy_document(document).send())
            .await
            .map(drop)
    }

    async fn inline_names_now(&self, user: &str) -> AwsResult<Vec<String>> {
        let out = retried("ListUserPolicies", || {
            let req = self.iam.list_user_policies().user_name(user);
            req.max_items(1000).send()
        })
        .await?;
        Ok(out.policy_names().to_vec())
    }

    async fn create_key_now(&self, user: &str) -> AwsResult<(String, SecretString)> {
        // Never retried: a lost reply may mean a key exists (the caller checks).
        let out = Self::once_now(
            "CreateAccessKey",
            self.iam.create_access_key().user_name(user).send(),
        )
        .await?;
        let key = out.access_key.ok_or_else(|| AwsError {
            action: "CreateAccessKey",
            code: None,
            message: "the answer held no access key".into(),
            outcome_unknown: true,
            waited: None,
            no_credentials: false,
        })?;
        // The boundary: the SDK's String becomes our secret type here and only here.
        Ok((key.access_key_id, from_foreign(key.secret_access_key)))
    }

    /// CreateLoginProfile, or UpdateLoginProfile when `update`.
    async fn login_profile_write_now(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
        update: bool,
    ) -> AwsResult<()> {
        if update {
            let req = self.iam.update_login_profile().user_name(user);
            let req = req.password(password.expose_secret());
            Self::once_now(
                "UpdateLoginProfile",
                req.password_reset_required(reset_required).send(),
            )
            .await
            .map(drop)
        } else {
            let req = self.iam.create_login_profile().user_name(user);
            let req = req.password(password.expose_secret());
            Self::once_now(
                "CreateLoginProfile",
                req.password_reset_required(reset_required).send(),
            )
            .await
            .map(drop)
        }
    }

    async fn caller_now(&self) -> AwsResult<Caller> {
        let out = retried("GetCallerIdentity", || {
            self.sts.get_caller_identity().send()
        })
        .await?;
        Ok(Caller {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }

    async fn user_now(&self, user: &str) -> AwsResult<Option<super::UserFound>> {
        let out = absent_as_none(
            retried("GetUser", || self.iam.get_user().user_name(user).send()).await,
        )?;
        Ok(out.and_then(|o| {
            o.user().map(|u| super::UserFound {
                arn: u.arn().to_string(),
                made_by_handoff: u.tags().iter().any(|t| {
                    t.key() == crate::aws::names::CREATED_BY_TAG && t.value() == "handoff"
                }),
            })
        }))
    }

    async fn attached_now(&self, user: &str) -> AwsResult<Vec<String>> {
        let out = retried("ListAttachedUserPolicies", || {
            let req = self.iam.list_attached_user_policies().user_name(user);
            req.max_items(1000).send()
        })
        .await?;
        Ok(out
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect())
    }

    async fn inline_now(&self, user: &str, name: &str) -> AwsResult<Option<String>> {
        let out = absent_as_none(
            retried("GetUserPolicy", || {
                let req = self.iam.get_user_policy().user_name(user);
                req.policy_name(name).send()
            })
            .await,
        )?;
        // IAM sends the document URL-encoded (RFC 3986); some servers send it plain.
        Ok(out.map(|o| crate::aws::names::percent_decoded(o.policy_document())))
    }

    async fn keys_now(&self, user: &str) -> AwsResult<Vec<KeyInfo>> {
        let out = retried("ListAccessKeys", || {
            self.iam.list_access_keys().user_name(user).send()
        })
        .await?;
        Ok(out
            .access_key_metadata()
            .iter()
            .map(|k| KeyInfo {
                id: k.access_key_id().unwrap_or_default().to_string(),
                status: k
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                created: time(k.create_date()),
            })
            .collect())
    }

    async fn login_profile_now(&self, user: &str) -> AwsResult<bool> {
        let out = absent_as_none(
            retried("GetLoginProfile", || {
                self.iam.get_login_profile().user_name(user).send()
            })
            .await,
        )?;
        Ok(out.is_some())
    }

    async fn password_policy_now(&self) -> AwsResult<Option<PasswordPolicy>> {
        let out = absent_as_none(
            retried("GetAccountPasswordPolicy", || {
                self.iam.get_account_password_policy().send()
            })
            .await,
        )?;
        Ok(out.and_then(|o| {
            o.password_policy().map(|p| PasswordPolicy {
                min_length: p.minimum_password_length().unwrap_or(8).max(0) as usize,
            })
        }))
    }

    async fn alias_now(&self) -> AwsResult<Option<String>> {
        let out = retried("ListAccountAliases", || {
            self.iam.list_account_aliases().send()
        })
        .await?;
        Ok(out.account_aliases().first().cloned())
    }
}

/// How long to wait for a connection, and for one request's answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// `NoSuchEntity` as `None`: for reads where absence is an answer, not a failure.
fn absent_as_none<T>(r: AwsResult<T>) -> AwsResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_no_such_entity() => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "ServiceUnavailable"
    )
}

/// Where the default chain will find the caller's credentials, in the words an error
/// line names the principal with: what the AWS CLI would use, in its order (the key id
/// is not a secret; the secret is never read here).
fn caller_source(aws: &AwsConfig) -> String {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let shown = crate::error::shown;
    if let Some(p) = &aws.profile {
        return format!("profile {}", shown(p));
    }
    if let Some(id) = var("AWS_ACCESS_KEY_ID") {
        return format!("access key {} from AWS_ACCESS_KEY_ID", shown(&id));
    }
    match var("AWS_PROFILE") {
        Some(p) => format!("profile {} from AWS_PROFILE", shown(&p)),
        None => "the default profile (or the container or instance role)".to_string(),
    }
}

/// Turns an SDK error into ours, deciding whether the call may have happened.
fn aws_error<E>(action: &'static str, e: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(why) = credentials_problem(e) {
        return AwsError {
            action,
            code: None,
            message: why,
            outcome_unknown: false,
            waited: None,
            no_credentials: true,
        };
    }
    let mut code = e.code().map(str::to_string);
    let message = match e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            // An error in a shape the SDK does not parse (EC2's `<Errors><Error>`, as
            // IAM-compatible servers send): read its code and message as botocore does.
            let (body_code, body_message) = match s.raw().body().bytes() {
                Some(body) if !(200..300).contains(&status) => super::error_body::fields(body),
                _ => (None, None),
            };
            code = code.or(body_code);
            match s.err().message().map(str::to_string).or(body_message) {
                // A read changed nothing: only a change may have been carried out.
                _ if (200..300).contains(&status)
                    && (action.starts_with("Get") || action.starts_with("List")) =>
                {
                    format!("the answer (HTTP {status}) could not be read: is the endpoint AWS?")
                }
                _ if (200..300).contains(&status) => format!(
                    "the answer (HTTP {status}) could not be read; the request may have been carried out"
                ),
                Some(m) => m,
                None => format!("AWS sent no message (HTTP {status})"),
            }
        }
        SdkError::DispatchFailure(_) => {
            "the request could not be sent, or the connection broke (network error)".to_string()
        }
        SdkError::TimeoutError(_) => format!(
            "no answer within {} s (the request may still have been carried out)",
            ATTEMPT_TIMEOUT.as_secs()
        ),
        SdkError::ResponseError(_) => "the answer could not be read".to_string(),
        SdkError::ConstructionFailure(_) => {
            format!("the request could not be built: {}", causes(e))
        }
        _ => format!("{}", aws_sdk_iam::error::DisplayErrorContext(e)),
    };
    let outcome_unknown = match e {
        SdkError::ConstructionFailure(_) => false,
        // AWS answered: a 4xx (throttling included) means it did nothing; a 5xx
        // may have come after the change was made, and so may a 2xx whose body could
        // not be read (the SDK reports that as a service error too).
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            status >= 500 || (200..300).contains(&status)
        }
        _ => true,
    };
    AwsError {
        action,
        code,
        message,
        outcome_unknown,
        waited: None,
        no_credentials: false,
    }
}

/// When the request was never sent because no credentials could be loaded: why, in
/// words (the SDK reports it as a dispatch failure, like a network error).
fn credentials_problem<E>(e: &SdkError<E, HttpResponse>) -> Option<String>
where
    E: std::error::Error + 'static,
{
    use aws_credential_types::provider::error::CredentialsError;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(problem) = c.downcast_ref::<CredentialsError>() {
            const NONE: &str = "no AWS credentials found: checked the environment, the shared config and credentials files (profiles, SSO, credential_process), web identity, container and instance metadata";
            return Some(match problem {
                CredentialsError::CredentialsNotLoaded(_) => NONE.to_string(),
                // The chain's last place, instance metadata, answering "no" off EC2 (a
                // proxy, a firewall): nothing was found anywhere, which is the news.
                other if causes(other).contains("IMDS") => {
                    format!("{NONE} (instance metadata said: {})", causes(other))
                }
                other => format!("the AWS credentials could not be loaded: {}", causes(other)),
            });
        }
        cause = c.source();
    }
    None
}

/// An error and its sources, each said once, joined by `: `. An STS call the chain
/// made (a profile's AssumeRole) is said with AWS's code and message, which the SDK's
/// display of it leaves out.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    use aws_sdk_sts::operation::{
        assume_role::AssumeRoleError, assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
    };
    let mut said: Vec<String> = Vec::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let sts = if let Some(e) = c.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            service_said("AssumeRole", e)
        } else if let Some(e) =
            c.downcast_ref::<SdkError<AssumeRoleWithWebIdentityError, HttpResponse>>()
        {
            service_said("AssumeRoleWithWebIdentity", e)
        } else {
            None
        };
        if let Some(text) = sts {
            said.push(text);
            break;
        }
        let text = c.to_string();
        if !said.iter().any(|s| s.contains(&text)) {
            said.push(text);
        }
        cause = c.source();
    }
    said.join(": ")
}

/// "ACTION failed: CODE: MESSAGE" for a call AWS answered with an error.
fn service_said<E>(action: &'static str, e: &SdkError<E, HttpResponse>) -> Option<String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    matches!(e, SdkError::ServiceError(_)).then(|| aws_error(action, e).describe())
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<jiff::Timestamp> {
    t.and_then(|t| jiff::Timestamp::from_second(t.secs()).ok())
}

impl Iam for SdkIam {
    fn survey(&self, user: &str, inline: &str, password: bool) -> super::Survey {
        use super::absent_user;
        // Every read at once: one round trip, not eight. What only a password needs is
        // not asked for otherwise.
        self.rt.block_on(async {
            let (caller, found, attached, keys, has_login_profile, inline, policy, alias) = tokio::join!(
                self.caller_now(),
                self.user_now(user),
                self.attached_now(user),
                self.keys_now(user),
                async {
                    if password {
                        self.login_profile_now(user).await
                    } else {
                        Ok(false)
                    }
                },
                self.inline_now(user, inline),
                async {
                    if password {
                        self.password_policy_now().await
                    } else {
                        Ok(None)
                    }
                },
                async {
                    if password {
                        self.alias_now().await
                    } else {
                        Ok(None)
                    }
                },
            );
            super::Survey {
                caller,
                user: found,
                attached: absent_user(attached, Vec::new()),
                keys: absent_user(keys, Vec::new()),
                has_login_profile,
                inline,
                password_policy: policy,
                alias,
            }
        })
    }

    fn apply(&self, user: &str, writes: &[super::Write]) -> Vec<Option<AwsResult<Written>>> {
        use super::Write;
        // All at once: one round trip. Each is sent once, as `once` would.
        self.rt.block_on(async {
            let sent = writes.iter().map(|w| async move {
                match w {
                    Write::Attach(arn) => self.attach_now(user, arn).await.map(|()| Written::Done),
                    Write::PutInline { name, document } => self
                        .put_inline_now(user, name, document)
                        .await
                        .map(|()| Written::Done),
                    Write::CreateKey => self
                        .create_key_now(user)
                        .await
                        .map(|(id, secret)| Written::Key(id, secret)),
                    Write::CreateLoginProfile {
                        password,
                        reset_required,
                    } => self
                        .login_profile_write_now(user, password, *reset_required, false)
                        .await
                        .map(|()| Written::Done),
                    Write::UpdateLoginProfile {
                        password,
                        reset_required,
                    } => self
                        .login_profile_write_now(user, password, *reset_required, true)
                        .await
                        .map(|()| Written::Done),
                }
            });
            futures_util::future::join_all(sent)
                .await
                .into_iter()
                .map(Some)
                .collect()
        })
    }

    fn confirm(&self, user: &str, attached: bool, inline: bool) -> super::Confirmed {
        self.rt.block_on(async {
            let (a, i) = tokio::join!(
                async {
                    if attached {
                        Some(self.attached_now(user).await)
                    } else {
                        None
                    }
                },
                async {
                    if inline {
                        Some(self.inline_names_now(user).await)
                    } else {
                        None
                    }
                },
            );
            super::Confirmed {
                attached: a,
                inline: i,
            }
        })
    }

    fn caller(&self) -> AwsResult<Caller> {
        self.rt.block_on(self.caller_now())
    }

    fn user(&self, user: &str) -> AwsResult<Option<super::UserFound>> {
        self.rt.block_on(self.user_now(user))
    }

    fn create_user(&self, user: &str, tags: &[(&str, &str)]) -> AwsResult<String> {
        let mut req = self.iam.create_user().user_name(user);
        for (k, v) in tags {
            req = req.tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(*k)
                    .value(*v)
                    .build()
                    .expect("key and value set"),
            );
        }
        let out = self.once("CreateUser", req.send())?;
        Ok(out.user().map(|u| u.arn().to_string()).unwrap_or_default())
    }

    fn delete_user(&self, user: &str) -> AwsResult<()> {
        self.retried("DeleteUser", || {
            self.iam.delete_user().user_name(user).send()
        })
        .map(drop)
    }

    fn attached_policies(&self, user: &str) -> AwsResult<Vec<String>> {
        self.rt.block_on(self.attached_now(user))
    }

    fn attach_policy(&self, user: &str, arn: &str) -> AwsResult<()> {
        self.rt.block_on(self.attach_now(user, arn))
    }

    fn detach_policy(&self, user: &str, arn: &str) -> AwsResult<()> {
        self.retried("DetachUserPolicy", || {
            let req = self.iam.detach_user_policy().user_name(user);
            req.policy_arn(arn).send()
        })
        .map(drop)
    }

    fn inline_policies(&self, user: &str) -> AwsResult<Vec<String>> {
        self.rt.block_on(self.inline_names_now(user))
    }

    fn put_inline_policy(&self, user: &str, name: &str, document: &str) -> AwsResult<()> {
        self.rt.block_on(self.put_inline_now(user, name, document))
    }

    fn delete_inline_policy(&self, user: &str, name: &str) -> AwsResult<()> {
        self.retried("DeleteUserPolicy", || {
            let req = self.iam.delete_user_policy().user_name(user);
            req.policy_name(name).send()
        })
        .map(drop)
    }

    fn inline_policy(&self, user: &str, name: &str) -> AwsResult<Option<String>> {
        self.rt.block_on(self.inline_now(user, name))
    }

    fn access_keys(&self, user: &str) -> AwsResult<Vec<KeyInfo>> {
        self.rt.block_on(self.keys_now(user))
    }

    fn create_access_key(&self, user: &str) -> AwsResult<(String, SecretString)> {
        self.rt.block_on(self.create_key_now(user))
    }

    fn key_last_used(&self, id: &str) -> AwsResult<Option<KeyUse>> {
        let out = self.retried("GetAccessKeyLastUsed", || {
            self.iam.get_access_key_last_used().access_key_id(id).send()
        })?;
        Ok(out.access_key_last_used().and_then(|u| {
            Some(KeyUse {
                when: time(u.last_used_date())?,
                service: u.service_name().to_string(),
                region: u.region().to_string(),
            })
        }))
    }

    fn key_owner(&self, id: &str) -> AwsResult<Option<String>> {
        let out = absent_as_none(self.retried("GetAccessKeyLastUsed", || {
            self.iam.get_access_key_last_used().access_key_id(id).send()
        }))?;
        Ok(out.and_then(|o| o.user_name().map(str::to_string)))
    }

    fn delete_access_key(&self, user: &str, id: &str) -> AwsResult<()> {
        self.retried("DeleteAccessKey", || {
            let req = self.iam.delete_access_key().user_name(user);
            req.access_key_id(id).send()
        })
        .map(drop)
    }

    fn has_login_profile(&self, user: &str) -> AwsResult<bool> {
        self.rt.block_on(self.login_profile_now(user))
    }

    fn create_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()> {
        self.rt
            .block_on(self.login_profile_write_now(user, password, reset_required, false))
    }

    fn update_login_profile(
        &self,
        user: &str,
        password: &SecretString,
        reset_required: bool,
    ) -> AwsResult<()> {
        self.rt
            .block_on(self.login_profile_write_now(user, password, reset_required, true))
    }

    fn delete_login_profile(&self, user: &str) -> AwsResult<()> {
        self.retried("DeleteLoginProfile", || {
            self.iam.delete_login_profile().user_name(user).send()
        })
        .map(drop)
    }

    fn password_policy(&self) -> AwsResult<Option<PasswordPolicy>> {
        self.rt.block_on(self.password_policy_now())
    }

    fn account_alias(&self) -> AwsResult<Option<String>> {
        self.rt.block_on(self.alias_now())
    }
}
