//! `handoff create`: ensure the bootstrap user, attach its policies, mint its access key
//! and/or console password, and seal the credential in memory at once.
//!
//! Order: everything that can be checked is checked before the first change (flags,
//! recipients, output path, then read-only AWS calls). Each change is journalled as it
//! happens; on any later failure the journal is undone in reverse, and the user is told
//! what was rolled back, or, if the rollback failed, the exact `handoff revoke` command
//! that finishes it. A create is never retried blindly: a lost CreateAccessKey reply is
//! resolved by listing the user's keys.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};

use crate::access_key::AccessKey;
use crate::aws::{AwsError, Caller, Iam, KeyInfo, password};
use crate::bundle::Credential;
use crate::bundle::valid_user_name;
use crate::cli::CreateArgs;
use crate::error::{Error, ExitCode, Result, shown};
use crate::keychain::{Keychain, Kind, OsKeychain};
use crate::secret::SecretString;

/// The policy every run attaches unless told otherwise.
pub const DEFAULT_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
/// The inline policy that makes AWS deny everything after `--expires`.
pub const EXPIRY_POLICY: &str = "handoff-expiry";
/// The tag marking users handoff created.
pub const CREATED_BY_TAG: &str = "created-by";

/// Parses `72h`, `7d`, `30m`, `2w` into a duration (1 minute to 366 days).
pub fn parse_duration(s: &str) -> Result<SignedDuration> {
    let bad = || {
        Error::input(format!("--expires {} is not a duration", shown(s)))
            .fix("write a number and a unit: 30m, 72h, 7d, 2w (1 minute to 366 days)")
    };
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let minutes = match unit {
        "m" | "min" => n,
        "h" => n.saturating_mul(60),
        "d" => n.saturating_mul(60 * 24),
        "w" => n.saturating_mul(60 * 24 * 7),
        _ => return Err(bad()),
    };
    if !(1..=366 * 24 * 60).contains(&minutes) {
        return Err(Error::input(format!(
            "--expires {} is out of range: it must be 1 minute to 366 days",
            shown(s)
        ))
        .fix("pass a duration from 1m to 366d, e.g. 72h"));
    }
    Ok(SignedDuration::from_mins(minutes))
}

/// The deny-after policy document.
pub fn expiry_policy(at: Timestamp) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "HandoffExpiry",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": at.to_string()}}
        }]
    })
    .to_string()
}

/// The console sign-in URL for the caller's partition.
pub fn sign_in_url(caller: &Caller, alias: Option<&str>) -> String {
    let who = alias.unwrap_or(&caller.account);
    match caller.partition() {
        "aws-cn" => format!("https://{who}.signin.amazonaws.cn/console"),
        "aws-us-gov" => format!("https://{who}.signin.amazonaws-us-gov.com/console"),
        _ => format!("https://{who}.signin.aws.amazon.com/console"),
    }
}

/// One change made in AWS, and how to undo it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// CreateUser.
    User,
    /// AttachUserPolicy.
    Policy(String),
    /// PutUserPolicy of the expiry policy.
    Expiry,
    /// CreateAccessKey.
    Key(String),
    /// CreateLoginProfile / UpdateLoginProfile.
    LoginProfile,
    /// The credential stored in the creator's OS keychain.
    Keychain(String),
}

impl Change {
    fn undo(
        &self,
        iam: &dyn Iam,
        user: &str,
        keychain: &dyn Keychain,
    ) -> std::result::Result<(), AwsError> {
        if let Change::Keychain(name) = self {
            return keychain
                .delete(Kind::Credential, name)
                .map(|_| ())
                .map_err(|e| AwsError {
                    action: "keychain delete",
                    code: None,
                    message: e.what,
                    outcome_unknown: false,
                });
        }
        let gone_is_fine = |r: std::result::Result<(), AwsError>| match r {
            Err(e) if e.is_no_such_entity() => Ok(()),
            other => other,
        };
        gone_is_fine(match self {
            Change::User => iam.delete_user(user),
            Change::Policy(arn) => iam.detach_policy(user, arn),
            Change::Expiry => iam.delete_inline_policy(user, EXPIRY_POLICY),
            Change::Key(id) => iam.delete_access_key(user, id),
            Change::LoginProfile => iam.delete_login_profile(user),
            Change::Keychain(_) => Ok(()),
        })
    }

    fn undo_words(&self) -> String {
        match self {
            Change::User => "deleted the user it created".into(),
            Change::Policy(arn) => format!("detached {arn}"),
            Change::Expiry => format!("deleted the {EXPIRY_POLICY} policy"),
            Change::Key(id) => format!("deleted access key {id}"),
            Change::LoginProfile => "deleted the console password".into(),
            Change::Keychain(name) => format!("removed {name} from the keychain"),
        }
    }
}

/// Reports progress on stderr: a spinner with a line per finished step on a terminal,
/// plain lines otherwise, nothing with --quiet.
struct Progress {
    quiet: bool,
    spinner: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg}") {
                pb.set_style(style);
            }
            pb.set_message("talking to AWS…");
            pb.enable_steady_tick(std::time::Duration::from_millis(100));
            pb
        });
        Progress { quiet, spinner }
    }

    fn step(&self, line: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        match &self.spinner {
            // IAM's answers (ARNs, ids, policy names) end up in these lines.
            Some(pb) => pb.println(format!("• {}", crate::sanitize::escape_raw(line.as_ref()))),
            None => eprintln!("• {}", crate::sanitize::escape_raw(line.as_ref())),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(pb) = &self.spinner {
            pb.finish_and_clear();
        }
    }
}

/// What the run decided after its read-only checks.
struct Plan {
    caller: Caller,
    user_exists: bool,
    user_arn: Option<String>,
    attach: Vec<String>,
    expires_at: Option<Timestamp>,
    access_key: bool,
    console_password: bool,
    replace_password: bool,
    keys_before: Vec<KeyInfo>,
    password_policy: Option<crate::aws::PasswordPolicy>,
    alias: Option<String>,
}

fn aws_failed(e: &AwsError) -> Error {
    let fix = match e.code.as_deref() {
        Some("AccessDenied") | Some("AccessDeniedException") => {
            "use an identity allowed to manage IAM users (--profile), e.g. an administrator"
        }
        Some("InvalidClientTokenId") | Some("ExpiredToken") | Some("SignatureDoesNotMatch") => {
            "refresh your AWS credentials (aws sso login, aws configure)"
        }
        _ if e.outcome_unknown => "check your network and the endpoint, then run the command again",
        _ => "check the message above, then run the command again",
    };
    Error::new(ExitCode::Aws, e.describe()).fix(fix)
}

/// Runs `create` against the real AWS (or the endpoint given).
pub fn run(args: &CreateArgs) -> Result<()> {
    // Pre-flight: nothing here talks to AWS.
    if !valid_user_name(&args.user) {
        return Err(Error::input(format!(
            "--user {} is not a valid IAM user name",
            shown(&args.user)
        ))
        .fix("use 1-64 letters, digits and + = , . @ _ -"));
    }
    super::check_note(args.note.as_deref())?;
    for p in &args.policies {
        if !p.starts_with("arn:") {
            return Err(
                Error::input(format!("--policy {} is not a policy ARN", shown(p)))
                    .fix("pass an ARN such as arn:aws:iam::aws:policy/AdministratorAccess"),
            );
        }
    }
    let expires = args.expires.as_deref().map(parse_duration).transpose()?;
    let to_keychain_only =
        args.keychain.is_some() && !args.recipients.passphrase && no_recipients(args);
    if to_keychain_only && super::bundle_file(&args.out).is_some() {
        return Err(Error::new(
            ExitCode::Usage,
            "-o names a bundle file, but no recipient was given",
        )
        .fix("add --to RECIPIENT, or drop -o to keep the credential in the keychain only"));
    }
    if to_keychain_only && args.out.sign_with.is_some() {
        return Err(Error::new(
            ExitCode::Usage,
            "--sign-with signs a bundle, but no recipient was given",
        )
        .fix(
            "add --to RECIPIENT, or drop --sign-with to keep the credential in the keychain only",
        ));
    }
    let sealer = if to_keychain_only || (args.dry_run && args.recipients.passphrase) {
        None
    } else {
        // In a dry run this still checks that the recipients parse.
        Some(super::sealing_from(
            &args.recipients,
            args.out.sign_with.as_deref(),
        )?)
    };
    if !args.dry_run && sealer.is_some() {
        super::check_bundle_output(&args.out)?;
    }
    if let Some(name) = &args.keychain {
        crate::keychain::check_name(name)?;
        if !args.out.force && OsKeychain.exists(Kind::Credential, name)? {
            return Err(Error::output(format!(
                "the keychain already has a credential named {}",
                shown(name)
            ))
            .fix("choose another --keychain name, or pass --force to replace it"));
        }
    }
    let iam = crate::aws::sdk::SdkIam::new(&args.aws)?;
    create(
        &iam,
        &OsKeychain,
        args,
        expires,
        if args.dry_run { None } else { sealer },
    )
}

fn no_recipients(args: &CreateArgs) -> bool {
    let r = &args.recipients;
    r.to.is_empty() && r.recipient.is_empty() && r.recipients_file.is_empty()
}

/// The body of `create`, against any [`Iam`] and [`Keychain`].
pub fn create(
    iam: &dyn Iam,
    keychain: &dyn Keychain,
    args: &CreateArgs,
    expires: Option<SignedDuration>,
    sealer: Option<super::Sealing>,
) -> Result<()> {
    let progress = Progress::new(args.quiet || args.json);
    let plan = plan(iam, args, expires, &progress)?;
    if args.dry_run {
        return print_plan(args, &plan);
    }
    let mut journal: Vec<Change> = Vec::new();
    match mint_and_seal(iam, keychain, args, &plan, sealer, &mut journal, &progress) {
        Ok(summary) => {
            if args.json {
                // Everything is done; only the summary is lost. Say so, or a script
                // would retry and mint a second key.
                crate::output::write_stdout(format!("{summary}\n").as_bytes()).map_err(|e| {
                    Error::output(format!(
                        "the credential was created and sealed, but the --json summary could not be written ({})",
                        e.what
                    ))
                    .fix("do not run create again: the bundle is where -o said; `handoff inspect BUNDLE` describes it")
                })?;
            }
            Ok(())
        }
        Err(failure) => Err(roll_back(
            iam, keychain, &args.user, journal, failure, &progress,
        )),
    }
}

fn plan(
    iam: &dyn Iam,
    args: &CreateArgs,
    expires: Option<SignedDuration>,
    progress: &Progress,
) -> Result<Plan> {
    let caller = iam.caller().map_err(|e| aws_failed(&e))?;
    progress.step(format!(
        "GetCallerIdentity: account {}, caller {}",
        caller.account,
        shown(&caller.arn)
    ));
    let user_arn = iam.user_arn(&args.user).map_err(|e| aws_failed(&e))?;
    let user_exists = user_arn.is_some();
    progress.step(if user_exists {
        format!("GetUser: {} exists, reusing it", args.user)
    } else {
        format!("GetUser: {} does not exist yet", args.user)
    });
    let console_password = args.console_password;
    let access_key = args.access_key || !args.console_password;
    let wanted: Vec<String> = if args.no_policy {
        vec![]
    } else if args.policies.is_empty() {
        vec![DEFAULT_POLICY.replace("arn:aws:", &format!("arn:{}:", caller.partition()))]
    } else {
        args.policies.clone()
    };
    let (attached, keys_before, has_password) = if user_exists {
        (
            iam.attached_policies(&args.user)
                .map_err(|e| aws_failed(&e))?,
            iam.access_keys(&args.user).map_err(|e| aws_failed(&e))?,
            if console_password {
                iam.has_login_profile(&args.user)
                    .map_err(|e| aws_failed(&e))?
            } else {
                false
            },
        )
    } else {
        (vec![], vec![], false)
    };
    if access_key && keys_before.len() >= 2 {
        let now = Timestamp::now();
        let mut list = String::new();
        for k in &keys_before {
            let age = k
                .created
                .map(|c| format!("{} days old", (now - c).get_days().max(0)))
                .unwrap_or_else(|| "age unknown".into());
            let _ = write!(list, "{} ({}, {age}); ", k.id, k.status);
        }
        return Err(Error::new(
            ExitCode::Aws,
            format!(
                "{} already has two access keys, the most IAM allows: {}",
                args.user,
                list.trim_end_matches("; ")
            ),
        )
        .fix(format!(
            "delete one first: handoff revoke --user {} --access-key-id ID",
            args.user
        )));
    }
    if has_password && !args.reset_password {
        return Err(Error::new(
            ExitCode::Aws,
            format!("{} already has a console password", args.user),
        )
        .fix("pass --reset-password to replace it, or leave out --console-password"));
    }
    let (password_policy, alias) = if console_password {
        (
            iam.password_policy().map_err(|e| aws_failed(&e))?,
            iam.account_alias().map_err(|e| aws_failed(&e))?,
        )
    } else {
        (None, None)
    };
    Ok(Plan {
        attach: wanted
            .into_iter()
            .filter(|p| !attached.contains(p))
            .collect(),
        expires_at: expires.map(|d| {
            Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| Timestamp::now())
                + d
        }),
        caller,
        user_exists,
        user_arn,
        access_key,
        console_password,
        replace_password: has_password,
        keys_before,
        password_policy,
        alias,
    })
}

fn print_plan(args: &CreateArgs, plan: &Plan) -> Result<()> {
    let u = &args.user;
    let mut s = String::from("Plan (dry run: nothing was changed):\n");
    if !plan.user_exists {
        let _ = writeln!(
            s,
            "  iam:CreateUser UserName={u} Tags=[{CREATED_BY_TAG}=handoff]"
        );
    }
    for p in &plan.attach {
        let _ = writeln!(s, "  iam:AttachUserPolicy UserName={u} PolicyArn={p}");
    }
    if let Some(at) = plan.expires_at {
        let _ = writeln!(
            s,
            "  iam:PutUserPolicy UserName={u} PolicyName={EXPIRY_POLICY} PolicyDocument={}",
            expiry_policy(at)
        );
    }
    if plan.access_key {
        let _ = writeln!(s, "  iam:CreateAccessKey UserName={u}");
    }
    if plan.console_password {
        let verb = if plan.replace_password {
            "UpdateLoginProfile"
        } else {
            "CreateLoginProfile"
        };
        let _ = writeln!(
            s,
            "  iam:{verb} UserName={u} Password=<generated> PasswordResetRequired={}",
            !args.no_password_reset
        );
    }
    let _ = writeln!(
        s,
        "  seal the credential → {}",
        args.out
            .output
            .as_ref()
            .map(|p| shown(&p.display().to_string()))
            .unwrap_or_else(|| "standard output".into())
    );
    crate::output::write_stdout(s.as_bytes())
}

/// A failure in the middle: which step, and the error.
struct Failure {
    step: String,
    error: Error,
}

fn at(step: &str) -> impl Fn(Error) -> Failure + '_ {
    move |error| Failure {
        step: step.to_string(),
        error,
    }
}

fn mint_and_seal(
    iam: &dyn Iam,
    keychain: &dyn Keychain,
    args: &CreateArgs,
    plan: &Plan,
    sealer: Option<super::Sealing>,
    journal: &mut Vec<Change>,
    progress: &Progress,
) -> std::result::Result<String, Failure> {
    let user = args.user.as_str();
    let aws = |e: AwsError| Failure {
        step: e.action.to_string(),
        error: aws_failed(&e),
    };
    let user_arn = if plan.user_exists {
        plan.user_arn.clone().unwrap_or_default()
    } else {
        match iam.create_user(user, &[(CREATED_BY_TAG, "handoff")]) {
            Ok(arn) => {
                journal.push(Change::User);
                progress.step(format!("CreateUser: {arn}"));
                arn
            }
            Err(e) => {
                // Someone else made it meanwhile: not ours to delete. Otherwise it may
                // exist: undoing a user that is not there is harmless.
                if e.code.as_deref() != Some("EntityAlreadyExists") && e.outcome_unknown {
                    journal.push(Change::User);
                }
                return Err(aws(e));
            }
        }
    };
    for policy in &plan.attach {
        if let Err(e) = iam.attach_policy(user, policy) {
            if e.outcome_unknown {
                journal.push(Change::Policy(policy.clone()));
            }
            return Err(aws(e));
        }
        journal.push(Change::Policy(policy.clone()));
        progress.step(format!("AttachUserPolicy: {policy}"));
    }
    // An answer that cannot be read may still look like success to the SDK (these
    // calls return no data): check that the changes took effect before minting.
    let unconfirmed = |action: &'static str, what: String| AwsError {
        action,
        code: None,
        message: format!("AWS answered, but {what} is not in place"),
        outcome_unknown: true,
    };
    if !plan.attach.is_empty() {
        let now = iam.attached_policies(user).map_err(aws)?;
        if let Some(missing) = plan.attach.iter().find(|p| !now.contains(p)) {
            return Err(aws(unconfirmed(
                "AttachUserPolicy",
                format!("policy {missing}"),
            )));
        }
    }
    if let Some(at) = plan.expires_at {
        if let Err(e) = iam.put_inline_policy(user, EXPIRY_POLICY, &expiry_policy(at)) {
            journal.push(Change::Expiry);
            return Err(aws(e));
        }
        journal.push(Change::Expiry);
        if !iam
            .inline_policies(user)
            .map_err(aws)?
            .iter()
            .any(|p| p == EXPIRY_POLICY)
        {
            return Err(aws(unconfirmed(
                "PutUserPolicy",
                format!("the {EXPIRY_POLICY} policy"),
            )));
        }
        progress.step(format!(
            "PutUserPolicy: {EXPIRY_POLICY}, AWS denies everything after {at}"
        ));
    }
    let mut credential = Credential {
        account_id: Some(plan.caller.account.clone()).filter(|a| a.len() == 12),
        user_name: Some(user.to_string()),
        user_arn: Some(user_arn).filter(|a| !a.is_empty()),
        created_at: Some(
            Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| Timestamp::now()),
        ),
        expires_at: plan.expires_at,
        created_by: Some(plan.caller.arn.clone()).filter(|a| !a.is_empty()),
        note: args.note.clone(),
        ..Default::default()
    };
    if plan.access_key {
        match iam.create_access_key(user) {
            Ok((id, secret)) => {
                journal.push(Change::Key(id.clone()));
                progress.step(format!("CreateAccessKey: {}", shown(&id)));
                // IAM's answer is held to the same rules as any other: an odd key is
                // rolled back, never handed on.
                let key = AccessKey::new(&id, secret)
                    .map_err(|e| {
                        Error::new(
                            ExitCode::Aws,
                            format!(
                                "IAM returned an access key whose {} breaks the rule ({})",
                                e.field(),
                                e.rule()
                            ),
                        )
                        .fix("check --endpoint-url points at IAM")
                    })
                    .map_err(at("CreateAccessKey"))?;
                credential.access_key = Some(key);
            }
            Err(e) => {
                if e.outcome_unknown {
                    // The key may exist although its secret never reached us: find it
                    // by listing, so that the rollback deletes it. Never create again.
                    if let Ok(now) = iam.access_keys(user) {
                        for k in now
                            .iter()
                            .filter(|k| !plan.keys_before.iter().any(|b| b.id == k.id))
                        {
                            journal.push(Change::Key(k.id.clone()));
                        }
                    }
                }
                return Err(aws(e));
            }
        }
    }
    if plan.console_password {
        let password: SecretString = password::generate(plan.password_policy.as_ref());
        let reset = !args.no_password_reset;
        let result = if plan.replace_password {
            iam.update_login_profile(user, &password, reset)
        } else {
            iam.create_login_profile(user, &password, reset)
        };
        // Created, or maybe created, or an old password replaced by one nobody will
        // receive if a later step fails: in each case the rollback deletes it.
        journal.push(Change::LoginProfile);
        result.map_err(aws)?;
        progress.step(format!(
            "{}: console password set{}",
            if plan.replace_password {
                "UpdateLoginProfile"
            } else {
                "CreateLoginProfile"
            },
            if reset {
                ", new password required at first sign-in"
            } else {
                ""
            }
        ));
        credential.console_password = Some(password);
        credential.sign_in_url = Some(sign_in_url(&plan.caller, plan.alias.as_deref()));
    }
    if let Some(name) = &args.keychain {
        super::keychain::store_credential(keychain, name, &credential, args.out.force)
            .map_err(at("store in the keychain"))?;
        journal.push(Change::Keychain(name.clone()));
        progress.step(format!("Stored {} in the OS keychain as {name} (credential_process = handoff credential-process {name})", credential.contents()));
    }
    let Some(sealer) = sealer else {
        return Ok(summary_json(args, plan, &credential, journal));
    };
    let plaintext = credential.encode().map_err(at("encode the payload"))?;
    let bundle = sealer
        .seal(&plaintext, args.out.armor)
        .map_err(at("seal"))?;
    drop(plaintext);
    super::write_bundle(&args.out, &bundle).map_err(at("write the bundle"))?;
    let whereto = super::bundle_file(&args.out)
        .map(|p| shown(&p.display().to_string()))
        .unwrap_or_else(|| "standard output".into());
    progress.step(format!(
        "Sealed {} for {} into {whereto}",
        credential.contents(),
        user
    ));
    Ok(summary_json(args, plan, &credential, journal))
}

fn summary_json(
    args: &CreateArgs,
    plan: &Plan,
    credential: &Credential,
    journal: &[Change],
) -> String {
    let summary = serde_json::json!({
        "account_id": plan.caller.account,
        "user_name": args.user,
        "user_arn": credential.user_arn,
        "created_user": journal.contains(&Change::User),
        "attached_policies": plan.attach,
        "access_key_id": credential.access_key_id(),
        "console_password": credential.console_password.is_some(),
        "sign_in_url": credential.sign_in_url,
        "expires_at": plan.expires_at.map(|t| t.to_string()),
        "bundle": super::bundle_file(&args.out).map(|p| p.display().to_string()),
        "keychain": args.keychain,
    });
    crate::sanitize::json_line(&summary)
}

fn roll_back(
    iam: &dyn Iam,
    keychain: &dyn Keychain,
    user: &str,
    journal: Vec<Change>,
    failure: Failure,
    progress: &Progress,
) -> Error {
    let mut undone = Vec::new();
    let mut left = Vec::new();
    for change in journal.iter().rev() {
        match change.undo(iam, user, keychain) {
            Ok(()) => {
                progress.step(format!("rolled back: {}", change.undo_words()));
                undone.push(change.undo_words());
            }
            Err(e) => left.push((change.clone(), e)),
        }
    }
    let step = failure.step;
    let cause = failure.error.what;
    if left.is_empty() {
        let rolled = if undone.is_empty() {
            "nothing had been changed".to_string()
        } else {
            format!("rolled back: {}", undone.join(", "))
        };
        let mut e = Error::new(
            failure.error.code,
            format!("{step} failed ({cause}); {rolled}"),
        );
        e.fix = failure.error.fix;
        return e;
    }
    let mut command = format!("handoff revoke --user {user}");
    if left.iter().any(|(c, _)| *c == Change::User) {
        command.push_str(" --delete-user");
    } else if let [(Change::Key(id), _)] = left.as_slice() {
        let _ = write!(command, " --access-key-id {id}");
    }
    let what_left: Vec<String> = left
        .iter()
        .map(|(c, e)| match c {
            Change::Key(id) => format!("access key {id} ({})", e.describe()),
            Change::User => format!("user {user} ({})", e.describe()),
            Change::Policy(p) => format!("policy attachment {p} ({})", e.describe()),
            Change::Expiry => format!("inline policy {EXPIRY_POLICY} ({})", e.describe()),
            Change::LoginProfile => format!("console password ({})", e.describe()),
            Change::Keychain(name) => format!(
                "keychain item {name} ({}); delete it with: handoff keychain delete {name}",
                e.describe()
            ),
        })
        .collect();
    Error::new(
        ExitCode::RollbackFailed,
        format!(
            "{step} failed ({cause}), and the rollback failed too: left in AWS: {}",
            what_left.join("; ")
        ),
    )
    .fix(format!("finish the clean-up with: {command} --yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("72h").unwrap(),
            SignedDuration::from_hours(72)
        );
        assert_eq!(
            parse_duration("7d").unwrap(),
            SignedDuration::from_hours(168)
        );
        assert_eq!(
            parse_duration("30m").unwrap(),
            SignedDuration::from_mins(30)
        );
        assert_eq!(
            parse_duration("2w").unwrap(),
            SignedDuration::from_hours(336)
        );
        for bad in [
            "",
            "h",
            "0h",
            "-1h",
            "5",
            "5y",
            "400d",
            "99999999999999999999d",
            "1.5h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry_policy_denies_everything_after_the_instant() {
        let doc: serde_json::Value =
            serde_json::from_str(&expiry_policy("2026-11-26T10:00:00Z".parse().unwrap())).unwrap();
        let st = &doc["Statement"][0];
        assert_eq!(st["Effect"], "Deny");
        assert_eq!(st["Action"], "*");
        assert_eq!(
            st["Condition"]["DateGreaterThan"]["aws:CurrentTime"],
            "2026-11-26T10:00:00Z"
        );
    }

    #[test]
    fn sign_in_urls_follow_alias_and_partition() {
        let c = Caller {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:root".into(),
        };
        assert_eq!(
            sign_in_url(&c, None),
            "https://123456789012.signin.aws.amazon.com/console"
        );
        assert_eq!(
            sign_in_url(&c, Some("myexample")),
            "https://myexample.signin.aws.amazon.com/console"
        );
        let cn = Caller {
            account: "123456789012".into(),
            arn: "arn:aws-cn:iam::123456789012:root".into(),
        };
        assert!(sign_in_url(&cn, None).ends_with(".signin.amazonaws.cn/console"));
    }

    #[test]
    fn user_names() {
        assert!(valid_user_name("mgmt-org-admin"));
        assert!(!valid_user_name(""));
        assert!(!valid_user_name("a b"));
        assert!(!valid_user_name(&"a".repeat(65)));
    }
}
