//! `handoff inspect BUNDLE`: what is knowable without decrypting: armored or binary,
//! size, and the recipient stanzas (types and count); for an OpenPGP bundle, that it
//! is one. The stanza types come from the file: the header parser admits printable
//! ASCII only, and they are printed through [`shown`] all the same.

use crate::cli::InspectArgs;
use crate::error::{Result, shown};
use crate::output::write_stdout;
use crate::sealing::age_file::is_armored;
use crate::sealing::age_header;

/// Runs `inspect`.
pub fn run(args: &InspectArgs) -> Result<()> {
    let bundle = crate::sealing::bundle_io::read_bundle(&args.bundle)?;
    if crate::sealing::openpgp::is_message(&bundle) {
        let armored = bundle
            .trim_ascii_start()
            .starts_with(b"-----BEGIN PGP MESSAGE-----");
        let out = if args.json {
            let v = serde_json::json!({
                "format": "openpgp",
                "armored": armored,
                "size": bundle.len(),
            });
            crate::sanitize::json_line(&v)
        } else {
            format!(
                "OpenPGP message, {}, {} bytes\nopens with the recipient's OpenPGP secret key: handoff open BUNDLE -i secret-key.asc (or gpg -d)\n",
                if armored { "armored" } else { "binary" },
                bundle.len()
            )
        };
        return write_stdout(out.as_bytes());
    }
    let header = age_header::parse(&bundle)?;
    let armored = is_armored(&bundle);
    let passphrase = header.stanza_types.iter().any(|t| t == "scrypt");
    let out = if args.json {
        let v = serde_json::json!({
            "format": "age-encryption.org/v1",
            "armored": armored,
            "size": bundle.len(),
            "recipients": header.stanza_types.len(),
            "stanza_types": header.stanza_types,
            "passphrase": passphrase,
            "grease_stanzas": header.grease,
        });
        crate::sanitize::json_line(&v)
    } else {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for t in &header.stanza_types {
            match counts.iter_mut().find(|(k, _)| k == t) {
                Some((_, n)) => *n += 1,
                None => counts.push((t.clone(), 1)),
            }
        }
        let list: Vec<String> = counts
            .iter()
            .map(|(t, n)| format!("{n} × {}", shown(t)))
            .collect();
        format!(
            "age file (age-encryption.org/v1), {}, {} bytes\nrecipients: {} ({})\n{}",
            if armored { "armored" } else { "binary" },
            bundle.len(),
            header.stanza_types.len(),
            list.join(", "),
            if passphrase {
                "opens with a passphrase\n"
            } else {
                ""
            }
        )
    };
    write_stdout(out.as_bytes())
}
