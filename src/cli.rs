//! The command line, as data only: clap derive structs whose doc comments are the help
//! text. Checks that need more than clap can say live in the commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Examples:
  handoff keygen -o teammate.key                      # the teammate, once
  handoff create --to age1… -o bootstrap.age           # the account owner
  handoff open bootstrap.age -i teammate.key --aws-profile myexample-bootstrap
  handoff revoke --delete-user                         # when bootstrap is done

Run `handoff COMMAND --help` for each command's examples.";

/// The command line with its help text complete: the examples and the exit-code table
/// (from [`crate::error::ExitCode`], so the help cannot drift from the code).
pub fn command() -> clap::Command {
    let after = format!("{AFTER_HELP}\n\n{}", crate::error::ExitCode::table());
    <Cli as clap::CommandFactory>::command()
        .after_help(after.clone())
        .after_long_help(after)
}

/// Parses the process's arguments (clap exits on `--help` or a usage error).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Hand a freshly minted AWS credential to a teammate, sealed with age at birth.
///
/// Bundles are standard age files: `age -d` opens them too.
#[derive(Debug, Parser)]
#[command(name = "handoff", version)]
pub struct Cli {
    /// Where keychain items live: secret-service (Linux default), keyutils (the Linux
    /// kernel keyring: no D-Bus needed), pass, macos (macOS default), windows (Windows
    /// default). Also read from HANDOFF_STORE (empty means the default).
    #[arg(long, global = true, value_enum, value_name = "NAME")]
    pub store: Option<crate::store::StoreName>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a new age identity (X25519) and print its recipient.
    #[command(
        after_help = "Examples:\n  handoff keygen -o ~/.config/handoff/key.txt   # prints the age1… recipient to share\n  handoff keygen > key.txt                      # identity to a file, recipient on stderr"
    )]
    Keygen(KeygenArgs),
    /// Ensure the bootstrap IAM user, mint its credential and seal it at once.
    #[command(
        after_help = "Examples:\n  handoff create --to teammate.pub -o bootstrap.age\n  handoff create --to age1… --console-password --expires 72h -o bootstrap.age\n  handoff create --dry-run --to age1…                 # print the plan, change nothing\n  handoff create --profile admin --region eu-west-1 --to team.txt -o b.age"
    )]
    Create(CreateArgs),
    /// Seal a credential made elsewhere (an AWS console CSV, or typed at a hidden prompt).
    #[command(
        after_help = "Examples:\n  handoff seal --from-csv accessKeys.csv --shred --to age1… -o bootstrap.age\n  handoff seal --to ~/.ssh/teammate.pub -a > bootstrap.age   # asks for the key at hidden prompts\n  handoff seal --from-csv credentials.csv --passphrase -o bootstrap.age"
    )]
    Seal(SealArgs),
    /// Decrypt a bundle and deliver the credential to exactly one place.
    #[command(
        after_help = "Examples:\n  handoff open bootstrap.age -i key.txt                          # summary only, no secret\n  handoff open bootstrap.age -i ~/.ssh/id_ed25519 --aws-profile myexample-bootstrap\n  eval \"$(handoff open bootstrap.age -i key.txt --env)\"\n  handoff open bootstrap.age -i key.txt --env=fish | source\n  handoff open bootstrap.age -i key.txt --csv accessKeys.csv\n  handoff open bootstrap.age -i key.txt --reveal-password       # terminal only\n  handoff open bootstrap.age -i key.txt --expect-account 123456789012 --verify --json\n  handoff open bootstrap.age -i key.txt --rotate --aws-profile boot   # the bundle's key dies"
    )]
    Open(OpenArgs),
    /// Show what can be known about a bundle without decrypting it.
    #[command(
        after_help = "Examples:\n  handoff inspect bootstrap.age\n  handoff inspect --json bootstrap.age"
    )]
    Inspect(InspectArgs),
    /// Delete the bootstrap user's keys, password and policies (and the user).
    #[command(
        after_help = "Examples:\n  handoff revoke --access-key-id AKIA…         # one key\n  handoff revoke                                # keys, password, policies; keeps the user\n  handoff revoke --delete-user --yes            # everything, no question"
    )]
    Revoke(RevokeArgs),
    /// Finish the rollback of a create that was killed or crashed, from its journal.
    #[command(
        after_help = "Examples:\n  handoff recover --dry-run                     # what interrupted runs left\n  handoff recover --yes                         # undo it, without asking"
    )]
    Recover(RecoverArgs),
    /// Print AWS credential_process JSON for a credential in the OS keychain.
    #[command(
        after_help = "Example, in ~/.aws/config:\n  [profile myexample-bootstrap]\n  credential_process = handoff credential-process myexample-bootstrap"
    )]
    CredentialProcess {
        /// The keychain name given to `open --keychain` or `create --keychain`.
        name: String,
    },
    /// List, delete, or show the recipient of what handoff keeps in the OS keychain.
    #[command(subcommand)]
    Keychain(KeychainCommand),
    /// Print shell completions.
    #[command(
        after_help = "Example:\n  handoff completions bash > ~/.local/share/bash-completion/completions/handoff"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a directory.
    #[command(
        after_help = "Examples:\n  handoff man > handoff.1 && man ./handoff.1\n  handoff man --dir ~/.local/share/man/man1 && man handoff-open"
    )]
    Man {
        /// Write handoff.1 and a page per command (handoff-open.1, …) into DIR, which
        /// must exist; pages already there are replaced.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// `handoff keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Write the identity to FILE (mode 0600; never replaces a file).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep the identity only in the OS keychain, under NAME.
    #[arg(long, value_name = "NAME", conflicts_with = "output")]
    pub keychain: Option<String>,
}

/// `handoff keychain …`.
#[derive(Debug, Subcommand)]
pub enum KeychainCommand {
    /// List stored credentials and identities (names and non-secret facts only).
    #[command(after_help = "Examples:\n  handoff keychain list\n  handoff keychain list --json")]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a stored credential (or, with --identity, an identity).
    #[command(after_help = "Example:\n  handoff keychain delete myexample-bootstrap")]
    Delete {
        /// The name.
        name: String,
        /// Delete the identity of that name instead of the credential.
        #[arg(long)]
        identity: bool,
    },
    /// Print the age recipient of an identity kept in the keychain.
    #[command(after_help = "Example:\n  handoff keychain recipient me")]
    Recipient {
        /// The identity's name (from `handoff keygen --keychain NAME`).
        name: String,
    },
}

/// Who can open the bundle.
#[derive(Debug, Args, Clone, Default)]
pub struct RecipientFlags {
    /// A recipient: an age1… key, an ssh-ed25519/ssh-rsa public key, or a .pub or
    /// recipients file ("-" reads stdin). Repeat for several.
    #[arg(long = "to", value_name = "RECIPIENT")]
    pub to: Vec<String>,
    /// A recipient string (as age's -r).
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipient: Vec<String>,
    /// A recipients file (as age's -R).
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_file: Vec<String>,
    /// Seal with a passphrase (scrypt), asked twice at a hidden prompt.
    #[arg(short = 'p', long, conflicts_with_all = ["to", "recipient", "recipients_file"])]
    pub passphrase: bool,
}

/// Where the bundle goes.
#[derive(Debug, Args, Clone, Default)]
pub struct BundleOutputFlags {
    /// Write the bundle to FILE (mode 0600, atomically). Default: standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// ASCII-armor the bundle (PEM-like text, safe to paste).
    #[arg(short, long)]
    pub armor: bool,
    /// Replace what is already there: the output file, or the --keychain item of a
    /// command that has one.
    #[arg(long)]
    pub force: bool,
    /// Sign the bundle, and the list of its recipients, with this OpenSSH ed25519
    /// private key (SSHSIG, namespace "handoff"); asks for the key's passphrase.
    #[arg(long, value_name = "KEY")]
    pub sign_with: Option<PathBuf>,
}

/// The shells `open --env` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvShell {
    /// POSIX sh and its kin.
    #[value(alias = "bash", alias = "zsh", alias = "ksh", alias = "dash")]
    Sh,
    /// fish.
    Fish,
    /// PowerShell (Windows PowerShell and pwsh).
    #[value(alias = "pwsh")]
    Powershell,
}

/// AWS access: the SDK's default chain plus these.
#[derive(Debug, Args, Clone, Default)]
pub struct AwsFlags {
    /// The AWS profile to use (default: the SDK's default chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The AWS region (IAM is global; this picks the partition and STS endpoint).
    #[arg(long, value_name = "REGION", value_parser = region_name)]
    pub region: Option<String>,
    /// Send AWS calls to this endpoint (also AWS_ENDPOINT_URL), e.g. a local IAM server.
    #[arg(long, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
}

/// `--region`: a region's name, as AWS spells them (`us-east-1`, `eu-central-2`): the
/// SDK builds a host name from it, and an invalid one failed deep in the SDK.
fn region_name(s: &str) -> std::result::Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("not a region name: lowercase letters, digits and hyphens, like us-east-1".into())
    }
}

/// `--endpoint-url`: an http:// or https:// URL with a host.
fn endpoint_url(s: &str) -> std::result::Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !s.chars().any(char::is_whitespace) => {
            Ok(s.to_string())
        }
        _ => Err("not an endpoint URL: it starts with https:// (or http:// for a local server) and names a host, like http://127.0.0.1:5000".into()),
    }
}

impl AwsFlags {
    /// The AWS layer's own configuration: it never sees a command-line type.
    pub fn config(&self) -> crate::aws::AwsConfig {
        crate::aws::AwsConfig {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// `handoff create`.
#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "clap flags, one field each; `commands::create::resolve` turns them into enums"
)]
pub struct CreateArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub recipients: RecipientFlags,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub out: BundleOutputFlags,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsFlags,
    /// The bootstrap IAM user (created if missing, reused if present).
    #[arg(long, default_value = "mgmt-org-admin", value_name = "NAME")]
    pub user: String,
    /// A managed policy to attach (repeatable). Default: AdministratorAccess.
    #[arg(long = "policy", value_name = "ARN", conflicts_with = "no_policy")]
    pub policies: Vec<String>,
    /// Attach no policy.
    #[arg(long)]
    pub no_policy: bool,
    /// Attach the policies to an existing user that handoff did not create (it has no
    /// created-by=handoff tag), instead of refusing.
    #[arg(long)]
    pub adopt: bool,
    /// Mint an access key (the default when neither kind is named).
    #[arg(long)]
    pub access_key: bool,
    /// Mint a console password (PasswordResetRequired unless --no-password-reset).
    #[arg(long)]
    pub console_password: bool,
    /// Do not require a new password at first sign-in.
    #[arg(long, requires = "console_password")]
    pub no_password_reset: bool,
    /// Replace the user's existing console password.
    #[arg(long, requires = "console_password")]
    pub reset_password: bool,
    /// Make AWS deny everything this user does after DURATION (e.g. 72h, 7d, 30m).
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    /// With --expires on a user that already has handoff's expiry policy: move its deny
    /// date (for every key of the user), instead of refusing.
    #[arg(long, requires = "expires")]
    pub replace_expiry: bool,
    /// A note for the recipient, sealed in the bundle.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Also (or, without --to, only) keep the credential in your own OS keychain.
    #[arg(long, value_name = "NAME")]
    pub keychain: Option<String>,
    /// Print the plan (every API call with its parameters); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a machine-readable summary (no secret) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Print no progress.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `handoff seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub recipients: RecipientFlags,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub out: BundleOutputFlags,
    /// The CSV the AWS console downloaded (access key, console user, or combined; "-"
    /// reads it from standard input). Without it, the access key id and secret are asked
    /// at hidden prompts.
    #[arg(long, value_name = "FILE")]
    pub from_csv: Option<PathBuf>,
    /// After a successful seal, overwrite and remove the CSV (best effort on SSDs and
    /// journaling file systems).
    #[arg(long, requires = "from_csv")]
    pub shred: bool,
    /// The 12-digit account id, recorded in the bundle.
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// The IAM user name, recorded in the bundle.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// A note for the recipient, sealed in the bundle.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

/// `handoff open`: exactly one output.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("deliver").multiple(false))]
#[allow(
    clippy::struct_excessive_bools,
    reason = "clap flags, one field each; `commands::open::resolve` turns them into enums"
)]
pub struct OpenArgs {
    /// The bundle (standard input when left out, or "-", as age reads).
    #[arg(value_name = "BUNDLE", default_value = "-", hide_default_value = true)]
    pub bundle: String,
    /// An identity: an age identity file or an SSH private key (repeatable).
    #[arg(short, long = "identity", value_name = "FILE")]
    pub identities: Vec<String>,
    /// Write the access key into this profile of the AWS shared credentials file.
    #[arg(long, value_name = "NAME", group = "deliver")]
    pub aws_profile: Option<String>,
    /// With --aws-profile: write this credentials file instead of
    /// AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials (e.g. Leverage's
    /// ~/.aws/PROJECT/credentials; created 0600, in a 0700 directory, when missing).
    #[arg(
        long,
        value_name = "PATH",
        requires = "aws_profile",
        conflicts_with = "rotate"
    )]
    pub credentials_file: Option<PathBuf>,
    /// Print AWS credential_process JSON (Version 1).
    #[arg(long, group = "deliver")]
    pub json: bool,
    /// Print the lines that set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in a shell:
    /// sh (the default: `eval "$(…)"`; bash, zsh, ksh, dash), fish (`… | source`) or
    /// powershell (`… | Out-String | Invoke-Expression`).
    #[arg(
        long,
        group = "deliver",
        value_name = "SHELL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "sh",
        value_enum
    )]
    pub env: Option<EnvShell>,
    /// Write the console's access-key CSV to FILE ("-" for stdout).
    #[arg(long, value_name = "FILE", group = "deliver")]
    pub csv: Option<String>,
    /// Print the console password (only to a terminal).
    #[arg(long, group = "deliver")]
    pub reveal_password: bool,
    /// Store the credential in the OS keychain under NAME (serve it with
    /// `handoff credential-process NAME`).
    #[arg(long, value_name = "NAME", group = "deliver")]
    pub keychain: Option<String>,
    /// Use the age identity kept in the OS keychain under NAME.
    #[arg(long, value_name = "NAME")]
    pub identity_keychain: Vec<String>,
    /// Refuse the bundle unless it is signed by this signer and sealed for you: a public
    /// key, a .pub file or an OpenSSH allowed_signers file (repeatable).
    #[arg(long, value_name = "SIGNER")]
    pub from: Vec<String>,
    /// Write the signed manifest to FILE and its signature to FILE.sig, for
    /// `ssh-keygen -Y verify -n handoff` (neither holds a secret).
    #[arg(long, value_name = "FILE")]
    pub export_signature: Option<PathBuf>,
    /// Refuse the bundle unless it is for this 12-digit AWS account.
    #[arg(long, value_name = "ID")]
    pub expect_account: Option<String>,
    /// Before delivering, ask AWS (STS GetCallerIdentity, with the received key) whose
    /// key it is; refuse it unless the account and user match the bundle.
    #[arg(long)]
    pub verify: bool,
    /// Replace the received key: make a new key for the same user with it, deliver the
    /// new one, delete the received one (implies --verify; needs a delivery flag).
    #[arg(long)]
    pub rotate: bool,
    /// The AWS region for --verify and --rotate (STS's endpoint; IAM is global).
    #[arg(long, value_name = "REGION", value_parser = region_name)]
    pub region: Option<String>,
    /// Send --verify and --rotate calls to this endpoint (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
    /// Replace an existing profile, file or keychain entry; with --rotate, also rotate
    /// a key that AWS says was already used.
    #[arg(long)]
    pub force: bool,
}

/// `handoff inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The bundle (standard input when left out, or "-", as age reads).
    #[arg(value_name = "BUNDLE", default_value = "-", hide_default_value = true)]
    pub bundle: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `handoff recover`.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsFlags,
    /// Only say what would be undone.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
}

/// `handoff revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsFlags,
    /// The bootstrap IAM user.
    #[arg(long, default_value = "mgmt-org-admin", value_name = "NAME")]
    pub user: String,
    /// Delete only this access key.
    #[arg(long, value_name = "ID", conflicts_with = "delete_user")]
    pub access_key_id: Option<String>,
    /// Also delete the user itself.
    #[arg(long)]
    pub delete_user: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// Print a machine-readable summary on stdout.
    #[arg(long)]
    pub json: bool,
}
