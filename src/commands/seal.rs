//! `handoff seal`: seals a credential made elsewhere, from the console's CSV or typed
//! at hidden prompts. Order: recipients and output are checked first, then the
//! credential is read, sealed in memory and written; the CSV is shredded only after
//! the bundle is safely on disk.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use crate::access_key::{AccessKey, KeyError};
use crate::bundle::Credential;
use crate::cli::SealArgs;
use crate::console_csv;
use crate::error::{Error, ExitCode, Result, shown};
use crate::prompt;
use crate::sealing::Sealing;
use crate::sealing::bundle_io::BundleOutput;
use crate::secret::{ExposeSecret, Zeroizing};

/// Where the credential comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The console's CSV; `shred` removes it after a successful seal.
    Csv {
        /// The file.
        path: PathBuf,
        /// Overwrite and remove it once the bundle is written.
        shred: bool,
    },
    /// The console's CSV piped in (`--from-csv -`): it never touches the disk.
    CsvStdin,
    /// Typed at hidden prompts.
    Prompt,
}

/// A checked `seal` command line.
pub struct SealRequest {
    /// Where the credential comes from.
    pub source: Source,
    /// `--account-id`, recorded in the bundle.
    pub account_id: Option<String>,
    /// `--user`, recorded in the bundle.
    pub user: Option<String>,
    /// `--note`.
    pub note: Option<String>,
    /// Who can open it (and the signing key).
    pub sealing: Sealing,
    /// Where the bundle goes.
    pub output: BundleOutput,
}

/// Runs `seal`.
pub fn run(args: &SealArgs) -> Result<()> {
    execute(resolve(args)?)
}

/// Checks the flags, the output and the recipients (asking for a passphrase or the
/// signing key's) before the credential is read.
pub fn resolve(args: &SealArgs) -> Result<SealRequest> {
    crate::preflight::check_note(args.note.as_deref())?;
    let from_stdin = args.from_csv.as_deref() == Some(Path::new("-"));
    if args.shred && from_stdin {
        return Err(Error::new(
            ExitCode::Usage,
            "--shred removes the CSV file, and --from-csv - reads standard input, which is none",
        )
        .fix("drop --shred (a piped CSV leaves no file), or pass the CSV file"));
    }
    let recipients = &args.recipients;
    if from_stdin && (recipients.to.iter().chain(&recipients.recipients_file)).any(|f| f == "-") {
        // Checked before either is read: the first reader would take both.
        return Err(Error::new(
            ExitCode::Usage,
            "the CSV and the recipients cannot both come from standard input",
        )
        .fix("pass the recipients as a file or with -r, or the CSV as a file"));
    }
    if let (true, Some(path)) = (args.shred, &args.from_csv) {
        // Shredding a link would zero its target and unlink only the link.
        let regular = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
        if !regular {
            return Err(Error::input(format!(
                "--shred needs a regular file, and {} is a link, a device or missing",
                shown(&path.display().to_string())
            ))
            .fix("pass the CSV file itself (not a link to it), or drop --shred"));
        }
    }
    let output = BundleOutput::from_flags(&args.out);
    if let (Some(csv), Some(out)) = (&args.from_csv, &output.path)
        && crate::os::same_file(csv, out)
    {
        return Err(Error::new(
            ExitCode::Usage,
            format!(
                "-o {} is the CSV the credential is read from: the bundle would replace it{}",
                shown(&out.display().to_string()),
                if args.shred {
                    ", and --shred would then destroy the bundle"
                } else {
                    ""
                }
            ),
        )
        .fix("write the bundle to another file, e.g. -o bootstrap.age"));
    }
    output.check()?;
    let sealing = crate::sealing::sealing_from(&args.recipients, args.out.sign_with.as_deref())?;
    Ok(SealRequest {
        source: match &args.from_csv {
            Some(_) if from_stdin => Source::CsvStdin,
            Some(path) => Source::Csv {
                path: path.clone(),
                shred: args.shred,
            },
            None => Source::Prompt,
        },
        account_id: args.account_id.clone(),
        user: args.user.clone(),
        note: args.note.clone(),
        sealing,
        output,
    })
}

/// The CSV piped in, read into a buffer that is wiped on drop, at most
/// [`console_csv::MAX_CSV_BYTES`].
fn csv_from_stdin() -> Result<Zeroizing<Vec<u8>>> {
    use std::io::{IsTerminal, Read};
    if std::io::stdin().is_terminal() {
        return Err(Error::input(
            "--from-csv - reads the CSV from standard input, which is a terminal",
        )
        .fix("pipe the CSV in (… | handoff seal --from-csv - …), or pass its file"));
    }
    // Room for the cap at once: a Vec that grew would leave copies in freed memory.
    let mut bytes = Zeroizing::new(Vec::with_capacity(
        usize::try_from(console_csv::MAX_CSV_BYTES).unwrap_or(65_536) + 1,
    ));
    std::io::stdin()
        .lock()
        .take(console_csv::MAX_CSV_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Error::input(format!("cannot read the CSV from standard input: {e}"))
                .fix("pipe the console's CSV in")
        })?;
    if bytes.is_empty() {
        return Err(Error::input("no CSV: standard input was empty")
            .fix("pipe the console's CSV in (handoff seal --from-csv - … < accessKeys.csv)"));
    }
    if bytes.len() as u64 > console_csv::MAX_CSV_BYTES {
        return Err(
            Error::input("the CSV on standard input is too large to be the console's")
                .fix("pipe the CSV the AWS console downloaded"),
        );
    }
    Ok(bytes)
}

/// Reads the credential, seals it in memory, writes the bundle, then shreds the CSV.
pub fn execute(request: SealRequest) -> Result<()> {
    let mut credential = match &request.source {
        Source::Csv { path, .. } => {
            let bytes = Zeroizing::new(crate::output::read_capped(
                path,
                console_csv::MAX_CSV_BYTES,
                "CSV",
            )?);
            console_csv::parse(&bytes)?
        }
        Source::CsvStdin => console_csv::parse(&csv_from_stdin()?)?,
        Source::Prompt => typed_credential()?,
    };
    if request.account_id.is_some() {
        credential.account_id = request.account_id.clone();
    }
    if request.user.is_some() {
        credential.user_name = request.user.clone();
    }
    credential.note = request.note.clone();
    credential.created_at = None;
    credential
        .validate()
        .map_err(crate::preflight::sender_input)?;
    let plaintext = credential.encode()?;
    let bundle = request.sealing.seal(&plaintext, request.output.armor)?;
    drop(plaintext);
    request.output.write(&bundle)?;
    if let Source::Csv { path, shred: true } = &request.source {
        shred(path)?;
        crate::say!(
            "Shredded {} (overwritten, then removed; on SSDs and journaling or copy-on-write file systems, overwriting is best effort).",
            shown(&path.display().to_string())
        );
    }
    Ok(())
}

fn typed_credential() -> Result<Credential> {
    let key_id = prompt::hidden("access key ID")?;
    let secret = prompt::hidden("secret access key")?;
    let key = AccessKey::new(
        key_id.expose_secret().trim(),
        crate::secret::from_foreign(secret.expose_secret().trim().to_string()),
    )
    .map_err(|e| {
        Error::input(format!(
            "what was typed is not an access key: the {} {}",
            match e {
                KeyError::Id => "access key ID",
                KeyError::Secret => "secret access key",
            },
            e.rule()
        ))
        .fix("type the access key ID (AKIA…) and its secret exactly as AWS gave them")
    })?;
    Ok(Credential {
        access_key: Some(key),
        ..Default::default()
    })
}

/// Overwrites a file with zeros, syncs, then removes it. Best effort by nature.
fn shred(path: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::output(format!(
            "the bundle was written, but {} could not be shredded: {e}",
            shown(&path.display().to_string())
        ))
        .fix("delete the CSV by hand")
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(fail)?;
    let len = f.metadata().map_err(fail)?.len();
    f.seek(std::io::SeekFrom::Start(0)).map_err(fail)?;
    let zeros = vec![0u8; 4096];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n]).map_err(fail)?;
        left -= n as u64;
    }
    f.sync_all().map_err(fail)?;
    drop(f);
    std::fs::remove_file(path).map_err(fail)
}
