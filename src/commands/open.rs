//! `handoff open BUNDLE -i ID`: decrypts and delivers to exactly one place: a summary
//! without any secret (the default), a profile of the AWS credentials file,
//! credential_process JSON, `export` lines, the console CSV, or the console password
//! on a terminal. The bundle itself is never modified. Before delivering, it can check
//! the account (`--expect-account`), ask AWS whose key it is (`--verify`, [`receipt`])
//! and replace the key (`--rotate`, [`rotate`]).

use std::path::Path;

use super::receipt;
use super::rotate::{self, Rotation};
use crate::aws::Iam;
use crate::aws::sdk::SdkIam;
use crate::bundle::Credential;
use crate::cli::{AwsFlags, OpenArgs};
use crate::error::{Error, ExitCode, Result, shown};
use crate::output::{self, Clobber};
use crate::seal::{self, Unlock};
use crate::secret::{ExposeSecret, SecretString};
use crate::signing::{self, Opened, Signed};

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
    let bundle = super::read_bundle(bundle_arg)?;
    let ask = || crate::prompt::hidden("passphrase");
    let passphrase = crate::age_header::parse(&bundle)
        .is_ok_and(|h| h.stanza_types.iter().any(|t| t == "scrypt"));
    let plaintext = if crate::openpgp::is_message(&bundle) {
        crate::openpgp::decrypt(&bundle, identities)?
    } else {
        seal::open(
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

/// Runs `open`.
pub fn run(args: &OpenArgs) -> Result<()> {
    if args.reveal_password && !output::stdout_is_terminal() {
        return Err(Error::output(
            "--reveal-password prints only to a terminal, and standard output is not one",
        )
        .fix("run it in a terminal without redirecting its output"));
    }
    check_secret_stdout(args)?;
    if args.bundle == "-" && args.identities.iter().any(|i| i == "-") {
        return Err(Error::input(
            "the bundle and an identity cannot both come from standard input",
        )
        .fix("pass one of them as a file"));
    }
    if let Some(name) = &args.keychain {
        crate::keychain::check_name(name)?;
    }
    if args.rotate {
        check_outputs(args)?;
    }
    let trusted = crate::ssh_keys::trusted_signers(&args.from)?;
    if let Some(path) = &args.export_signature {
        output::check_writable(path, Clobber::from_force(args.force))?;
    }
    let mut extra: Vec<Box<dyn age::Identity>> = Vec::new();
    let mut mine: Vec<String> = Vec::new();
    for name in &args.identity_keychain {
        let identity = super::keychain::identity(&crate::keychain::OsKeychain, name)?;
        mine.push(identity.to_public().to_string());
        extra.push(Box::new(identity));
    }
    let received = decrypt(&args.bundle, &args.identities, extra)?;
    if received.passphrase {
        mine.push(crate::signing::PASSPHRASE.to_string());
    }
    for file in &args.identities {
        mine.extend(crate::ssh_keys::recipients_of_identity_file(file));
    }
    mine.extend(crate::openpgp::identity_recipients(&args.identities));
    super::signed::check(received.signed.as_deref(), &trusted, &mine)?;
    if let Some(path) = &args.export_signature {
        super::signed::export(received.signed.as_deref(), path, args.force)?;
    }
    let credential = received.credential;
    if credential.is_expired(jiff::Timestamp::now()) {
        eprintln!(
            "warning: this credential expired at {}: AWS denies every request made with it.",
            credential
                .expires_at
                .map(|t| t.to_string())
                .unwrap_or_default()
        );
    }
    if let Some(account) = &args.expect_account {
        receipt::expect_account(&credential, account)?;
    }
    if !(args.verify || args.rotate) {
        return deliver(args, &credential);
    }
    let started = jiff::Timestamp::now();
    let (id, secret) = need_key(&credential)?;
    let flags = AwsFlags {
        profile: None,
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
    };
    let received = SdkIam::with_key(&flags, id, secret)?;
    if args.rotate {
        let user = credential.user_name.as_deref().unwrap_or("USER");
        rotate::check_unused(&received, id, user, args.force, started)?;
    }
    let caller = receipt::verify(&received, &credential)?;
    eprintln!(
        "Verified with AWS: the key belongs to {} in account {}.",
        shown(&caller.arn),
        shown(&caller.account)
    );
    if !args.rotate {
        return deliver(args, &credential);
    }
    let client_for = |id: &str, secret: &SecretString| -> Result<Box<dyn Iam>> {
        Ok(Box::new(SdkIam::with_key(&flags, id, secret)?))
    };
    let user = receipt::user_of_arn(&caller.arn)
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
        client_for: &client_for,
        user,
    };
    let old = id.to_string();
    let new = rotate::rotate(&rotation, credential, &mut |c| deliver(args, c))?;
    eprintln!(
        "Rotated: {new} was delivered; the received key {old} is deleted, so the bundle now holds a dead key."
    );
    Ok(())
}

/// `--json`, `--env` and `--csv -` put a secret on standard output. To a terminal it
/// would stay in the scrollback (and tmux's history, and a shared screen): refused, as
/// these outputs are for programs (`eval "$(…)"`, credential_process, a pipe).
/// `--reveal-password` is the one output made for a terminal. To /dev/null or a closed
/// stdout the secret (after `--rotate`, the only copy of the new key) would be lost.
fn check_secret_stdout(args: &OpenArgs) -> Result<()> {
    let flag = if args.json {
        "--json"
    } else if args.env {
        "--env"
    } else if args.csv.as_deref() == Some("-") {
        "--csv -"
    } else {
        return Ok(());
    };
    match output::stdout_kind() {
        output::Stdout::Terminal => Err(Error::output(format!(
            "{flag} writes the secret access key to standard output, which is a terminal: it would stay in the scrollback"
        ))
        .fix(match flag {
            "--env" => "use it in a shell: eval \"$(handoff open BUNDLE -i ID --env)\"; or pipe or redirect it",
            "--json" => "pipe or redirect it (it is credential_process JSON); or deliver with --aws-profile NAME or --keychain NAME",
            _ => "pass --csv FILE (written 0600), or pipe or redirect it",
        })),
        _ => output::check_stdout_keeps("secret"),
    }
}

/// Checks every delivery target before anything is changed in AWS (for --rotate).
fn check_outputs(args: &OpenArgs) -> Result<()> {
    let force = args.force;
    if let Some(profile) = &args.aws_profile {
        crate::credentials_file::check_profile(
            &crate::credentials_file::default_path()?,
            profile,
            force,
        )?;
    }
    if let Some(target) = args.csv.as_deref().filter(|t| *t != "-") {
        output::check_writable(Path::new(target), Clobber::from_force(force))?;
    }
    if let Some(name) = &args.keychain {
        use crate::keychain::{Keychain, Kind, OsKeychain};
        if !force && OsKeychain.exists(Kind::Credential, name)? {
            return Err(Error::output(format!(
                "the keychain already holds a credential named {name}"
            ))
            .fix("choose another name, or pass --force to replace it"));
        }
    }
    let delivers = args.aws_profile.is_some()
        || args.json
        || args.env
        || args.csv.is_some()
        || args.keychain.is_some();
    if !delivers {
        return Err(Error::new(
            ExitCode::Usage,
            "--rotate needs somewhere to deliver the new key",
        )
        .fix("add --aws-profile NAME, --keychain NAME, --json, --env or --csv FILE"));
    }
    Ok(())
}

fn no_key() -> Error {
    Error::input("this bundle holds no access key, only a console password")
        .fix("use --reveal-password to see the password on a terminal")
}

fn need_key(c: &Credential) -> Result<(&str, &SecretString)> {
    let k = c.access_key.as_ref().ok_or_else(no_key)?;
    Ok((k.id.as_str(), k.secret.as_secret()))
}

fn deliver(args: &OpenArgs, c: &Credential) -> Result<()> {
    if let Some(profile) = &args.aws_profile {
        let (id, secret) = need_key(c)?;
        let path = crate::credentials_file::default_path()?;
        crate::credentials_file::write_profile(&path, profile, id, secret, args.force)?;
        eprintln!(
            "Wrote profile [{profile}] to {}. Try: aws sts get-caller-identity --profile {profile}",
            shown(&path.display().to_string())
        );
        return Ok(());
    }
    if let Some(name) = &args.keychain {
        super::keychain::store_credential(&crate::keychain::OsKeychain, name, c, args.force)?;
        eprintln!(
            "Stored the credential in the OS keychain as {name}. In ~/.aws/config:\n  credential_process = handoff credential-process {name}"
        );
        return Ok(());
    }
    if args.json {
        let (id, secret) = need_key(c)?;
        return output::write_stdout_secret(&crate::deliver::process_json::encode(
            id,
            secret,
            c.expires_at,
        ));
    }
    if args.env {
        let (id, secret) = need_key(c)?;
        let out = crate::deliver::sh::access_key_exports(id, secret).map_err(|_| {
            Error::input("the access key holds a NUL character, which no shell variable can hold")
                .fix("ask the sender for a new bundle")
        })?;
        return output::write_stdout_secret(&out);
    }
    if let Some(target) = &args.csv {
        let key = c.access_key.as_ref().ok_or_else(no_key)?;
        let csv = crate::console_csv::access_key_csv(key);
        if target == "-" {
            return output::write_stdout_secret(&csv);
        }
        output::write_file(Path::new(target), &csv, Clobber::from_force(args.force))?;
        eprintln!(
            "Wrote {} (mode 0600). Delete it once it has been imported.",
            shown(target)
        );
        return Ok(());
    }
    if args.reveal_password {
        let password = c.console_password.as_ref().ok_or_else(|| {
            Error::input("this bundle holds no console password")
                .fix("deliver its access key with --aws-profile, --json, --env or --csv")
        })?;
        let mut out = crate::secret::buffer(160);
        out.extend_from_slice(b"Console password: ");
        out.extend_from_slice(password.expose_secret().as_bytes());
        out.push(b'\n');
        if let Some(url) = &c.sign_in_url {
            out.extend_from_slice(format!("Sign in at:       {}\n", shown(url)).as_bytes());
        }
        return output::write_stdout_secret(&out);
    }
    output::write_stdout(summary(c, &args.bundle).as_bytes())
}

/// The bundle's path as a shell word that is safe to paste into the suggested commands:
/// as it is when it is made of ordinary characters, single-quoted otherwise (a name
/// like `b$(touch x).age` must not run anything), `./`-prefixed when it starts with `-`.
fn pasteable(bundle: &str) -> String {
    if bundle == "-" {
        return "BUNDLE".into();
    }
    let path = if bundle.starts_with('-') {
        format!("./{bundle}")
    } else {
        bundle.to_string()
    };
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._/+-=@,:%~".contains(&b))
        && !path.starts_with('~');
    if plain {
        return path;
    }
    let mut out = Vec::new();
    match crate::deliver::sh::quote_into(&mut out, &path) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| "BUNDLE".into()),
        Err(_) => "BUNDLE".into(),
    }
}

/// What the bundle holds, without any secret.
pub fn summary(c: &Credential, bundle: &str) -> String {
    let mut s = format!("This bundle holds: {}\n", c.contents());
    let mut row = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            s.push_str(&format!("  {k:<12} {}\n", shown(v)));
        }
    };
    row("account", &c.account_id);
    row("user", &c.user_name);
    row("user ARN", &c.user_arn);
    row("access key", &c.access_key_id().map(str::to_string));
    row("sign-in URL", &c.sign_in_url);
    row("created", &c.created_at.map(|t| t.to_string()));
    row("created by", &c.created_by);
    row("expires", &c.expires_at.map(|t| t.to_string()));
    row("note", &c.note);
    let b = shown(&pasteable(bundle));
    s.push_str("\nDeliver it to exactly one place (add the same -i):\n");
    if c.has_access_key() {
        s.push_str(&format!(
            "  handoff open {b} --aws-profile NAME    # into ~/.aws/credentials\n"
        ));
        s.push_str(&format!(
            "  handoff open {b} --json                # credential_process JSON\n"
        ));
        s.push_str(&format!(
            "  handoff open {b} --env                 # export lines for eval\n"
        ));
        s.push_str(&format!(
            "  handoff open {b} --csv FILE            # the console's access-key CSV\n"
        ));
    }
    if c.console_password.is_some() {
        s.push_str(&format!(
            "  handoff open {b} --reveal-password     # the console password, on a terminal\n"
        ));
    }
    s
}
