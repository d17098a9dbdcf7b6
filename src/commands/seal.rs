//! `handoff seal`: seals a credential made elsewhere, from the console's CSV or typed
//! at hidden prompts. Order: recipients and output are checked first, then the
//! credential is read, sealed in memory and written; the CSV is shredded only after
//! the bundle is safely on disk.

use std::io::{Seek, Write};
use std::path::Path;

use crate::access_key::{AccessKey, KeyError};
use crate::bundle::Credential;
use crate::cli::SealArgs;
use crate::console_csv;
use crate::error::{Error, Result, shown};
use crate::prompt;
use crate::secret::{ExposeSecret, Zeroizing};

/// Runs `seal`.
pub fn run(args: &SealArgs) -> Result<()> {
    super::check_note(args.note.as_deref())?;
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
    super::check_bundle_output(&args.out)?;
    let sealing = super::sealing_from(&args.recipients, args.out.sign_with.as_deref())?;
    let mut credential = match &args.from_csv {
        Some(path) => {
            let bytes = Zeroizing::new(crate::output::read_capped(
                path,
                console_csv::MAX_CSV_BYTES,
                "CSV",
            )?);
            console_csv::parse(&bytes)?
        }
        None => typed_credential()?,
    };
    if args.account_id.is_some() {
        credential.account_id = args.account_id.clone();
    }
    if args.user.is_some() {
        credential.user_name = args.user.clone();
    }
    credential.note = args.note.clone();
    credential.created_at = None;
    credential.validate().map_err(super::sender_input)?;
    let plaintext = credential.encode()?;
    let bundle = sealing.seal(&plaintext, args.out.armor)?;
    drop(plaintext);
    super::write_bundle(&args.out, &bundle)?;
    if let (true, Some(path)) = (args.shred, &args.from_csv) {
        shred(path)?;
        eprintln!(
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
