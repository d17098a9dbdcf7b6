//! `handoff create`: ensure the bootstrap user, attach its policies, mint its access key
//! and/or console password, and seal the credential in memory at once.
//!
//! Order: [`resolve`] checks everything that needs no AWS call (flags, recipients and
//! the signing key, output path, keychain name); [`execute`] then reads AWS
//! ([`crate::mint::plan`]) and makes the changes ([`crate::mint`]), each journalled as
//! it happens and rolled back in reverse on any later failure.

use crate::aws::AwsConfig;
use crate::aws::names::valid_user_name;
use crate::cli::CreateArgs;
use crate::error::{Error, ExitCode, Result, shown};
use crate::mint::{self, Allow, Order, PasswordOrder, Policies, SealTo};
use crate::progress::Progress;
use crate::sealing::bundle_io::BundleOutput;
use crate::store::{Keychain, Kind};

/// Whether the run changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Make the changes.
    Run,
    /// `--dry-run`: print the plan, change nothing.
    DryRun,
}

/// What `create` prints on stdout besides the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Progress lines on stderr.
    Progress,
    /// Nothing (`--quiet`).
    Quiet,
    /// A JSON summary on stdout, no progress (`--json`).
    Json,
}

/// A checked `create` command line.
pub struct CreateRequest {
    /// What to make.
    pub order: Order,
    /// Where the sealed bundle goes; `None` keeps the credential in the keychain only
    /// (or, in a dry run, seals nothing).
    pub seal: Option<SealTo>,
    /// Where the bundle goes, as the plan shows it; `None` when the credential goes
    /// to the keychain only.
    pub output: Option<BundleOutput>,
    /// Run or dry run.
    pub mode: Mode,
    /// What to print.
    pub report: Report,
    /// Where AWS calls go.
    pub aws: AwsConfig,
}

/// Runs `create` against the real AWS (or the endpoint given).
pub fn run(args: &CreateArgs, keychain: &dyn Keychain) -> Result<()> {
    let request = resolve(args, keychain)?;
    crate::mint::journal_file::warn_if_unfinished();
    let iam = crate::aws::sdk::SdkIam::new(&request.aws)?;
    let progress = Progress::new(request.report != Report::Progress);
    let aws_flags = request.aws.command_flags();
    let durable = Some(request.aws.clone());
    let on_terminal = |question: &str| crate::prompt::yes_no(question, no_terminal);
    execute(
        request,
        &mint::Deps {
            iam: &iam,
            keychain,
            now: jiff::Timestamp::now,
            progress: &progress,
            aws_flags,
            durable,
            // The question goes to stderr and the answer comes from stdin: both must be
            // the terminal, or the question is never seen.
            ask: (std::io::IsTerminal::is_terminal(&std::io::stdin())
                && std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .then_some(&on_terminal as &dyn Fn(&str) -> Result<bool>),
        },
    )
}

/// Never called: `ask` is `None` without a terminal.
fn no_terminal() -> Error {
    Error::new(ExitCode::Conflict, "there is no terminal to ask on")
}

/// Every check that needs no AWS call, in the order the user reads the flags.
pub fn resolve(args: &CreateArgs, keychain: &dyn Keychain) -> Result<CreateRequest> {
    if !valid_user_name(&args.user) {
        return Err(crate::preflight::bad_user_name(&args.user));
    }
    crate::preflight::check_note(args.note.as_deref())?;
    for p in &args.policies {
        if !p.starts_with("arn:") {
            return Err(
                Error::input(format!("--policy {} is not a policy ARN", shown(p)))
                    .fix("pass an ARN such as arn:aws:iam::aws:policy/AdministratorAccess"),
            );
        }
    }
    let expires = args
        .expires
        .as_deref()
        .map(crate::preflight::parse_duration)
        .transpose()?;
    let output = BundleOutput::from_flags(&args.out);
    let r = &args.recipients;
    let no_recipients = r.to.is_empty() && r.recipient.is_empty() && r.recipients_file.is_empty();
    let keychain_only = args.keychain.is_some() && !r.passphrase && no_recipients;
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Run
    };
    check_combination(args, keychain_only, mode, &output)?;
    let sealing = if keychain_only || (mode == Mode::DryRun && r.passphrase) {
        None
    } else {
        // In a dry run this still checks that the recipients parse.
        Some(crate::sealing::sealing_from(
            r,
            args.out.sign_with.as_deref(),
        )?)
    };
    if mode == Mode::Run && sealing.is_some() {
        output.check()?;
    }
    if let Some(name) = &args.keychain {
        crate::store::check_name(name)?;
        crate::store::refuse_existing(keychain, Kind::Credential, name, args.out.force)?;
    }
    let report = if args.json {
        Report::Json
    } else if args.quiet {
        Report::Quiet
    } else {
        Report::Progress
    };
    Ok(CreateRequest {
        order: order(args, expires),
        seal: match mode {
            Mode::Run => sealing.map(|sealing| SealTo {
                sealing,
                output: output.clone(),
            }),
            Mode::DryRun => None,
        },
        output: (!keychain_only).then_some(output),
        mode,
        report,
        aws: args.aws.config(),
    })
}

/// Flag combinations that would make the run's result unusable, refused before any change.
fn check_combination(
    args: &CreateArgs,
    keychain_only: bool,
    mode: Mode,
    output: &BundleOutput,
) -> Result<()> {
    if keychain_only && output.path.is_some() {
        return Err(Error::new(
            ExitCode::Usage,
            "-o names a bundle file, but no recipient was given",
        )
        .fix("add --to RECIPIENT, or drop -o to keep the credential in the keychain only"));
    }
    if keychain_only && args.out.sign_with.is_some() {
        return Err(Error::new(
            ExitCode::Usage,
            "--sign-with signs a bundle, but no recipient was given",
        )
        .fix(
            "add --to RECIPIENT, or drop --sign-with to keep the credential in the keychain only",
        ));
    }
    // The summary and a bundle cannot share standard output: the bundle would not open.
    if args.json && mode == Mode::Run && !keychain_only && output.path.is_none() {
        return Err(Error::new(
            ExitCode::Usage,
            "--json prints the summary on standard output, where the bundle would go too",
        )
        .fix("pass -o FILE for the bundle"));
    }
    Ok(())
}

/// What to ask of IAM, as plain values.
fn order(args: &CreateArgs, expires: Option<jiff::SignedDuration>) -> Order {
    Order {
        user: args.user.clone(),
        policies: if args.no_policy {
            Policies::None
        } else if args.policies.is_empty() {
            Policies::Default
        } else {
            Policies::These(args.policies.clone())
        },
        access_key: args.access_key || !args.console_password,
        console_password: args.console_password.then_some(PasswordOrder {
            reset_required: !args.no_password_reset,
            replace_existing: args.reset_password,
        }),
        expires,
        allow: Allow {
            replace_expiry: args.replace_expiry,
            adopt: args.adopt,
        },
        note: args.note.clone(),
        keychain: args.keychain.clone(),
        replace_keychain: args.out.force,
    }
}

/// Reads AWS, then prints the plan (dry run) or makes the changes and reports them.
pub fn execute(request: CreateRequest, deps: &mint::Deps) -> Result<()> {
    let plan = mint::plan::plan(
        deps.iam,
        &request.order,
        (deps.now)(),
        deps.progress,
        &deps.aws_flags,
    )?;
    if request.mode == Mode::DryRun {
        let bundle = request.output.as_ref().map(BundleOutput::describe);
        let text = mint::plan::describe(&request.order, &plan, bundle.as_deref());
        return crate::output::write_stdout(text.as_bytes());
    }
    // Asked with the spinner still, or its redraws erase the question.
    let suspended = |question: &str| match deps.ask {
        Some(ask) => deps.progress.suspend(|| ask(question)),
        None => Ok(false),
    };
    let ask = deps.ask.map(|_| &suspended as crate::prompt::Ask<'_>);
    mint::plan::decide_adoption(&request.order.user, &plan, ask)?;
    let summary = mint::mint(&request.order, &plan, request.seal, deps)?;
    if request.report == Report::Json {
        // Everything is done; only the summary is lost. Say so, or a script would
        // retry and mint a second key.
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
