//! Where a received credential goes: exactly one [`Delivery`], used by `open`,
//! `credential-process` and rotation. Plaintext leaves the process only here, through
//! one encoder per consumer, each built with the consumer's own rules and proven
//! against the real consumer in the tests (`tests/it/encoders.rs`): [`sh`] for `eval`
//! in a POSIX shell, [`fish`] for fish's `source`, [`powershell`] for
//! `Invoke-Expression`, [`process_json`] for the AWS SDKs' `credential_process`,
//! [`credentials_file`] for the AWS CLI's shared credentials file, the console CSV
//! ([`crate::console_csv`]). Every encoder is correct for *any* input string, and
//! writes into a zeroizing buffer.

pub mod credentials_file;
pub mod fish;
pub mod keychain;
pub mod powershell;
pub mod process_json;
pub mod sh;
pub mod summary;

use std::path::{Path, PathBuf};

use crate::bundle::Credential;
use crate::error::{Error, ExitCode, Result, shown};
use crate::output::{self, Clobber};
use crate::secret::{ExposeSecret, SecretString};
use crate::store::{Keychain, Kind};

/// The one place a credential is delivered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A summary without any secret (the default), naming the bundle as given.
    Summary {
        /// The bundle's path, for the suggested commands.
        bundle: String,
    },
    /// A profile of the AWS shared credentials file: the one AWS tools read, or the
    /// file given (`--credentials-file`).
    Profile(String, Option<PathBuf>),
    /// `credential_process` JSON on standard output.
    ProcessJson,
    /// Lines that set the AWS variables in a shell, on standard output.
    Env(Shell),
    /// The console's access-key CSV on standard output.
    CsvStdout,
    /// The console's access-key CSV in a file (0600).
    CsvFile(PathBuf),
    /// The OS keychain, under a name.
    Keychain(String),
    /// The console password, on a terminal only.
    RevealPassword,
}

/// The credentials file a profile goes to: the one given, or the one AWS tools read.
fn profile_file(given: Option<&Path>) -> Result<PathBuf> {
    match given {
        Some(p) => Ok(p.to_path_buf()),
        None => credentials_file::default_path(),
    }
}

/// The shell `--env` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// sh, dash, bash, zsh, ksh: `eval "$(…)"`.
    Sh,
    /// fish: `… | source`.
    Fish,
    /// PowerShell: `… | Out-String | Invoke-Expression`.
    PowerShell,
}

impl Shell {
    /// How a user runs the lines, as a whole command.
    pub fn usage(self) -> &'static str {
        match self {
            Shell::Sh => "eval \"$(handoff open BUNDLE -i ID --env)\"",
            Shell::Fish => "handoff open BUNDLE -i ID --env=fish | source",
            Shell::PowerShell => {
                "handoff open BUNDLE -i ID --env=powershell | Out-String | Invoke-Expression"
            }
        }
    }

    /// The lines that set the access key's variables and clear a stale session token.
    fn access_key_lines(
        self,
        id: &str,
        secret: &SecretString,
    ) -> std::result::Result<crate::secret::SecretBytes, sh::NulInValue> {
        let vars = [
            ("AWS_ACCESS_KEY_ID", id),
            ("AWS_SECRET_ACCESS_KEY", secret.expose_secret()),
        ];
        let unset = ["AWS_SESSION_TOKEN"];
        match self {
            Shell::Sh => sh::exports(&vars, &unset),
            Shell::Fish => fish::exports(&vars, &unset),
            Shell::PowerShell => powershell::exports(&vars, &unset),
        }
    }
}

impl Delivery {
    /// Whether this delivery hands over the key itself (what `--rotate` needs).
    pub fn delivers_a_key(&self) -> bool {
        !matches!(self, Delivery::Summary { .. } | Delivery::RevealPassword)
    }

    /// Checks, before anything is decrypted or changed, that the delivery can happen:
    /// standard output is what it must be, and (with `targets`) the profile, file or
    /// keychain name is free unless `replace`.
    pub fn check(&self, keychain: &dyn Keychain, replace: bool, targets: bool) -> Result<()> {
        self.check_stdout()?;
        if let Delivery::Keychain(name) = self {
            crate::store::check_name(name)?;
        }
        if !targets {
            return Ok(());
        }
        match self {
            Delivery::Profile(name, file) => {
                credentials_file::check_profile(&profile_file(file.as_deref())?, name, replace)
            }
            Delivery::CsvFile(path) => output::check_writable(path, Clobber::from_force(replace)),
            Delivery::Keychain(name) => {
                crate::store::refuse_existing(keychain, Kind::Credential, name, replace)
            }
            _ => Ok(()),
        }
    }

    /// `--json`, `--env` and `--csv -` put a secret on standard output. To a terminal
    /// it would stay in the scrollback (and tmux's history, and a shared screen):
    /// refused, as these outputs are for programs (`eval "$(…)"`, credential_process, a
    /// pipe). `--reveal-password` is the one output made for a terminal, and only for
    /// one. To /dev/null or a closed stdout the secret (after `--rotate`, the only copy
    /// of the new key) would be lost.
    fn check_stdout(&self) -> Result<()> {
        let flag = match self {
            Delivery::RevealPassword if !output::stdout_is_terminal() => {
                return Err(Error::output(
                    "--reveal-password prints only to a terminal, and standard output is not one",
                )
                .fix("run it in a terminal without redirecting its output"));
            }
            Delivery::ProcessJson => "--json",
            Delivery::Env(_) => "--env",
            Delivery::CsvStdout => "--csv -",
            _ => return Ok(()),
        };
        match output::stdout_kind() {
            output::Stdout::Terminal => Err(Error::output(format!(
                "{flag} writes the secret access key to standard output, which is a terminal: it would stay in the scrollback"
            ))
            .fix(match self {
                Delivery::Env(shell) => {
                    format!("use it in the shell: {}; or pipe or redirect it", shell.usage())
                }
                Delivery::ProcessJson => "pipe or redirect it (it is credential_process JSON); or deliver with --aws-profile NAME or --keychain NAME".into(),
                _ => "pass --csv FILE (written 0600), or pipe or redirect it".into(),
            })),
            // As keygen (and age-keygen) do: the shell opened the file with its umask.
            output::Stdout::File(mode) if mode & 0o077 != 0 => {
                crate::say!(
                    "warning: {flag} writes the secret access key to a file that others can read (mode {:04o}); run chmod 600 on it, or use umask 077",
                    mode & 0o777
                );
                Ok(())
            }
            _ => output::check_stdout_keeps("secret", false),
        }
    }

    /// Delivers the credential; `replace` allows replacing an existing profile, file or
    /// keychain item.
    pub fn deliver(&self, c: &Credential, keychain: &dyn Keychain, replace: bool) -> Result<()> {
        if let Some(notice) = self.deliver_quietly(c, keychain, replace)? {
            crate::say!("{notice}");
        }
        Ok(())
    }

    /// [`Delivery::deliver`], returning the line that says where the credential went
    /// instead of printing it (rotation records the delivery before it says anything).
    pub fn deliver_quietly(
        &self,
        c: &Credential,
        keychain: &dyn Keychain,
        replace: bool,
    ) -> Result<Option<String>> {
        match self {
            Delivery::Summary { bundle } => {
                output::write_stdout(summary::summary(c, bundle).as_bytes()).map(|()| None)
            }
            Delivery::Profile(profile, file) => {
                let (id, secret) = need_key(c)?;
                let path = profile_file(file.as_deref())?;
                credentials_file::write_profile(&path, profile, id, secret, replace)?;
                let shown_path = shown(&path.display().to_string());
                // A file of one's own is read only when AWS tools are told where it is.
                let told = match file {
                    Some(_) => format!(
                        "AWS_SHARED_CREDENTIALS_FILE={} ",
                        crate::aws::shell_word(&path.display().to_string())
                    ),
                    None => String::new(),
                };
                Ok(Some(format!(
                    "Wrote profile [{profile}] to {shown_path}. Try: {told}aws sts get-caller-identity --profile {profile}"
                )))
            }
            Delivery::Keychain(name) => {
                keychain::store_credential(keychain, name, c, replace)?;
                Ok(Some(format!(
                    "Stored the credential in {} as {name}. In ~/.aws/config:\n  credential_process = handoff {}credential-process {name}",
                    keychain.label(),
                    keychain.flag()
                )))
            }
            Delivery::ProcessJson => {
                let (id, secret) = need_key(c)?;
                output::write_stdout_secret(&process_json::encode(id, secret, c.expires_at))
                    .map(|()| None)
            }
            Delivery::Env(shell) => {
                let (id, secret) = need_key(c)?;
                let out = shell.access_key_lines(id, secret).map_err(|_| {
                    Error::input(
                        "the access key holds a NUL character, which no shell variable can hold",
                    )
                    .fix("ask the sender for a new bundle")
                })?;
                output::write_stdout_secret(&out).map(|()| None)
            }
            Delivery::CsvStdout => {
                let key = c.access_key.as_ref().ok_or_else(no_key)?;
                output::write_stdout_secret(&crate::console_csv::access_key_csv(key)).map(|()| None)
            }
            Delivery::CsvFile(path) => {
                let key = c.access_key.as_ref().ok_or_else(no_key)?;
                let csv = crate::console_csv::access_key_csv(key);
                output::write_file(path, &csv, Clobber::from_force(replace))?;
                Ok(Some(format!(
                    "Wrote {} (mode 0600). Delete it once it has been imported.",
                    shown(&path.display().to_string())
                )))
            }
            Delivery::RevealPassword => reveal_password(c).map(|()| None),
        }
    }
}

fn reveal_password(c: &Credential) -> Result<()> {
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
    output::write_stdout_secret(&out)
}

fn no_key() -> Error {
    Error::input("this bundle holds no access key, only a console password")
        .fix("use --reveal-password to see the password on a terminal")
}

/// The credential's access key id and secret, or the error that it holds none.
pub fn need_key(c: &Credential) -> Result<(&str, &SecretString)> {
    let k = c.access_key.as_ref().ok_or_else(no_key)?;
    Ok((k.id.as_str(), k.secret.as_secret()))
}

/// Where `--csv TARGET` goes: "-" is standard output.
pub fn csv(target: &str) -> Delivery {
    if target == "-" {
        Delivery::CsvStdout
    } else {
        Delivery::CsvFile(Path::new(target).to_path_buf())
    }
}

/// The error `--rotate` gives without a delivery of the key.
pub fn rotate_needs_a_delivery() -> Error {
    Error::new(
        ExitCode::Usage,
        "--rotate needs somewhere to deliver the new key",
    )
    .fix("add --aws-profile NAME, --keychain NAME, --json, --env or --csv FILE")
}
