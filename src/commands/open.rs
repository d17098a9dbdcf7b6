//! `handoff open BUNDLE -i ID`: decrypts and delivers to exactly one place: a summary
//! without any secret (the default), a profile of the AWS credentials file,
//! credential_process JSON, `export` lines, the console CSV, or the console password
//! on a terminal. The bundle itself is never modified. Before delivering, it can check
//! the account (`--expect-account`), ask AWS whose key it is (`--verify`, [`receipt`])
//! and replace the key (`--rotate`, [`rotate`]).

use std::path::PathBuf;

use ssh_key::PublicKey;

use crate::aws::sdk::SdkIam;
use crate::aws::{AwsConfig, Iam};
use crate::bundle::Credential;
use crate::cli::{EnvShell, OpenArgs};
use crate::deliver::{self, Delivery, Shell};
use crate::error::{Error, ExitCode, Result, shown};
use crate::output::{self, Clobber};
use crate::receipt;
use crate::rotation::{self, ClientFor, Rotation};
use crate::sealing::age_file::{self, Unlock};
use crate::sealing::signing::{self, Opened, Signed};
use crate::secret::SecretString;
use crate::store::Keychain;

/// A decrypted bundle: its credential, its signature if signed, and whether it was
/// opened with a passphrase.
pub struct Received {
    /// The credential.
    pub credential: Credential,
    /// The signed envelope, when there is one (signature not yet checked).
    pub signed: Option<Box<Signed>>,
    /// Whether the bundle was sealed with a passphrase.
    pub passphrase: bool,
}

/// Decrypts and parses a bundle.
pub fn decrypt(
    bundle_arg: &str,
    identities: &[String],
    extra: Vec<Box<dyn age::Identity>>,
) -> Result<Received> {
    let bundle = crate::sealing::bundle_io::read_bundle(bundle_arg)?;
    let ask = || crate::prompt::hidden("passphrase");
    let passphrase = crate::sealing::age_header::parse(&bundle)
        .is_ok_and(|h| h.stanza_types.iter().any(|t| t == "scrypt"));
    let plaintext = if crate::sealing::openpgp::is_message(&bundle) {
        crate::sealing::openpgp::decrypt(&bundle, identities)?
    } else {
        age_file::open(
            &bundle,
            Unlock {
                identity_files: identities.to_vec(),
                extra,
                ask_passphrase: &ask,
            },
        )?
    };
    let (credential, signed) = match signing::unwrap(plaintext)? {
        Opened::Unsigned(p) => (Credential::parse(&p)?, None),
        Opened::Signed(s) => (Credential::parse(&s.payload)?, Some(s)),
    };
    Ok(Received {
        credential,
        signed,
        passphrase,
    })
}

/// What to ask AWS about the received key before delivering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsCheck {
    /// Nothing: the bundle is delivered as it is.
    None,
    /// `--verify`: whose key is it?
    Verify,
    /// `--rotate`: verify, then replace the key with a new one.
    Rotate,
}

/// A checked `open` command line: plain values, every flag already validated.
pub struct OpenRequest {
    /// The bundle ("-" is standard input).
    pub bundle: String,
    /// Identity files.
    pub identities: Vec<String>,
    /// Names of age identities kept in the OS keychain.
    pub identity_keychain: Vec<String>,
    /// `--from`: the signers one of which must have signed the bundle.
    pub trusted: Vec<PublicKey>,
    /// Where to export the signed manifest.
    pub export_signature: Option<PathBuf>,
    /// The account the bundle must claim.
    pub expect_account: Option<String>,
    /// What to ask AWS.
    pub aws_check: AwsCheck,
    /// Where `--verify` and `--rotate` calls go.
    pub aws: AwsConfig,
    /// Where the credential goes.
    pub delivery: Delivery,
    /// `--force`: replace an existing target; rotate a key already used.
    pub force: bool,
}

/// What `execute` needs from outside.
pub struct Deps<'a> {
    /// The OS keychain (identities in, `--keychain` out).
    pub keychain: &'a dyn Keychain,
    /// Makes an IAM client acting as an access key (the received one, the new one).
    pub client_for: ClientFor<'a>,
}

/// Runs `open`.
pub fn run(args: &OpenArgs, keychain: &dyn Keychain) -> Result<()> {
    let request = resolve(args, keychain)?;
    let aws = request.aws.clone();
    let client_for = move |id: &str, secret: &SecretString| -> Result<Box<dyn Iam>> {
        Ok(Box::new(SdkIam::with_key(&aws, id, secret)?))
    };
    execute(
        &request,
        &Deps {
            keychain,
            client_for: &client_for,
        },
    )
}

/// The delivery the flags name (clap allows at most one).
fn delivery(args: &OpenArgs) -> Delivery {
    if let Some(p) = &args.aws_profile {
        Delivery::Profile(p.clone(), args.credentials_file.clone())
    } else if args.json {
        Delivery::ProcessJson
    } else if let Some(shell) = args.env {
        Delivery::Env(match shell {
            EnvShell::Sh => Shell::Sh,
            EnvShell::Fish => Shell::Fish,
            EnvShell::Powershell => Shell::PowerShell,
        })
    } else if let Some(t) = &args.csv {
        deliver::csv(t)
    } else if args.reveal_password {
        Delivery::RevealPassword
    } else if let Some(n) = &args.keychain {
        Delivery::Keychain(n.clone())
    } else {
        Delivery::Summary {
            bundle: args.bundle.clone(),
        }
    }
}

/// Checks every flag, and (for `--rotate`) every delivery target, before anything is
/// decrypted or changed.
pub fn resolve(args: &OpenArgs, keychain: &dyn Keychain) -> Result<OpenRequest> {
    let delivery = delivery(args);
    let aws_check = if args.rotate {
        AwsCheck::Rotate
    } else if args.verify {
        AwsCheck::Verify
    } else {
        AwsCheck::None
    };
    // Every target is checked before a passphrase is asked or AWS is called (and a
    // rotation changes AWS before it delivers).
    delivery.check(keychain, args.force, true)?;
    if let Some(want) = &args.expect_account {
        receipt::check_account_id(want)?;
    }
    if args.bundle == "-" && args.identities.iter().any(|i| i == "-") {
        return Err(Error::input(
            "the bundle and an identity cannot both come from standard input",
        )
        .fix("pass one of them as a file"));
    }
    if aws_check == AwsCheck::Rotate && !delivery.delivers_a_key() {
        return Err(deliver::rotate_needs_a_delivery());
    }
    let trusted = crate::sealing::ssh_keys::trusted_signers(&args.from)?;
    if let Some(path) = &args.export_signature {
        output::check_writable(path, Clobber::from_force(args.force))?;
    }
    Ok(OpenRequest {
        bundle: args.bundle.clone(),
        identities: args.identities.clone(),
        identity_keychain: args.identity_keychain.clone(),
        trusted,
        export_signature: args.export_signature.clone(),
        expect_account: args.expect_account.clone(),
        aws_check,
        aws: AwsConfig {
            profile: None,
            region: args.region.clone(),
            endpoint_url: args.endpoint_url.clone(),
        },
        delivery,
        force: args.force,
    })
}

/// Decrypts, checks the signature and the account, asks AWS if asked, and delivers.
pub fn execute(request: &OpenRequest, deps: &Deps) -> Result<()> {
    let credential = open_checked(request, deps)?;
    if let Some(account) = &request.expect_account {
        receipt::expect_account(&credential, account)?;
    }
    let deliver = |c: &Credential| request.delivery.deliver(c, deps.keychain, request.force);
    if request.aws_check == AwsCheck::None {
        return deliver(&credential);
    }
    check_with_aws(request, deps, credential, &deliver)
}

/// Decrypts the bundle with the identities given and applies the signer policy.
fn open_checked(request: &OpenRequest, deps: &Deps) -> Result<Credential> {
    let mut extra: Vec<Box<dyn age::Identity>> = Vec::new();
    let mut mine: Vec<String> = Vec::new();
    for name in &request.identity_keychain {
        let identity = crate::store::identity(deps.keychain, name)?;
        mine.push(identity.to_public().to_string());
        extra.push(Box::new(identity));
    }
    let received = decrypt(&request.bundle, &request.identities, extra)?;
    if received.passphrase {
        mine.push(signing::PASSPHRASE.to_string());
    }
    for file in &request.identities {
        mine.extend(crate::sealing::ssh_keys::recipients_of_identity_file(file));
    }
    mine.extend(crate::sealing::openpgp::identity_recipients(
        &request.identities,
    ));
    crate::sealing::signer_policy::check(received.signed.as_deref(), &request.trusted, &mine)?;
    if let Some(path) = &request.export_signature {
        crate::sealing::signer_policy::export(received.signed.as_deref(), path, request.force)?;
    }
    let credential = received.credential;
    if credential.is_expired(jiff::Timestamp::now()) {
        crate::say!(
            "warning: this credential expired at {}: AWS denies every request made with it.",
            credential
                .expires_at
                .map(|t| t.to_string())
                .unwrap_or_default()
        );
    }
    Ok(credential)
}

/// `--verify` or `--rotate`: asks AWS with the received key, then delivers.
fn check_with_aws(
    request: &OpenRequest,
    deps: &Deps,
    credential: Credential,
    deliver: &dyn Fn(&Credential) -> Result<()>,
) -> Result<()> {
    let started = jiff::Timestamp::now();
    let (id, secret) = deliver::need_key(&credential)?;
    // A key made minutes ago may not work everywhere yet: its refusals are waited out.
    let noted = id.to_string();
    let received = crate::aws::patience::Patient::new(
        (deps.client_for)(id, secret)?,
        credential.created_at,
        started,
    )
    .before_each(move || crate::mint::key_uses::record(&noted));
    if request.aws_check == AwsCheck::Rotate {
        crate::mint::journal_file::warn_if_unfinished();
        let user = credential.user_name.as_deref().unwrap_or("USER");
        crate::tripwire::check_unused(
            &received,
            id,
            user,
            request.force,
            started,
            &request.aws.command_flags(),
        )?;
    }
    if request.aws_check == AwsCheck::Verify {
        // Before its own call hides it: an earlier use by someone else.
        crate::tripwire::note_earlier_use(&received, id, started);
    }
    let caller = receipt::verify(&received, &credential)?;
    crate::say!(
        "Verified with AWS: the key belongs to {} in account {}.",
        shown(&caller.arn),
        shown(&caller.account)
    );
    if request.aws_check == AwsCheck::Verify {
        return deliver(&credential);
    }
    let user = crate::aws::names::user_of_arn(&caller.arn)
        .ok_or_else(|| {
            Error::new(
                ExitCode::Refused,
                format!("AWS says the key belongs to {}, not to an IAM user: only a user's access key can be rotated", shown(&caller.arn)),
            )
            .fix("open it without --rotate")
        })?
        .to_string();
    let rotation = Rotation {
        received: &received,
        client_for: deps.client_for,
        aws_flags: request.aws.command_flags(),
        delivered_flags: revoke_flags(request),
        patience: crate::aws::patience::bound(),
        durable: Some(crate::mint::journal_file::Header {
            v: 1,
            command: "open --rotate".into(),
            user: user.clone(),
            account: caller.account.clone(),
            // The new key may clean up after its own rotation: where it went.
            profile: match &request.delivery {
                Delivery::Profile(p, _) => Some(p.clone()),
                _ => None,
            },
            region: request.aws.region.clone(),
            endpoint_url: request.aws.endpoint_url.clone(),
            started: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
            pid: std::process::id(),
        }),
        user,
    };
    let old = id.to_string();
    let new = rotation::rotate(&rotation, credential, &mut |c| {
        request
            .delivery
            .deliver_quietly(c, deps.keychain, request.force)
    })?;
    crate::say!(
        "Rotated: {new} was delivered; the received key {old} is deleted, so the bundle now holds a dead key."
    );
    Ok(())
}

/// The flags a printed `handoff revoke` needs once the new key is delivered: the
/// endpoint and region of this run, and the profile the new key went to (it may delete
/// the other).
fn revoke_flags(request: &OpenRequest) -> String {
    let profile = match &request.delivery {
        Delivery::Profile(p, _) => Some(p.clone()),
        _ => None,
    };
    AwsConfig {
        profile,
        ..request.aws.clone()
    }
    .command_flags()
}
