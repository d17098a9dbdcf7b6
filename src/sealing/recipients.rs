//! Recipients, the same for every sealing command: `--to VALUE` (an `age1…` key, an
//! `ssh-ed25519`/`ssh-rsa` public key, a `.pub` or recipients file, `-` for stdin), plus
//! age's own `-r` (a recipient string) and `-R` (a recipients file). Parsing is the age
//! crate's own (`age::cli_common`); this module only sorts values and words the errors.

use std::path::Path;

use age::cli_common::{ReadError, StdinGuard, read_recipients};

use crate::error::{Error, Result, shown};

/// What every accepted value looks like, for error hints.
pub const ACCEPTED: &str =
    "use an age1… key, an ssh-ed25519/ssh-rsa public key, or the path of a .pub or recipients file";

/// Recipients as given on the command line, before parsing.
#[derive(Debug, Default, Clone)]
pub struct RecipientArgs {
    /// `--to`: sorted into strings and files by what exists.
    pub to: Vec<String>,
    /// `-r`: recipient strings.
    pub strings: Vec<String>,
    /// `-R`: recipients files.
    pub files: Vec<String>,
}

impl RecipientArgs {
    /// Whether no recipient was given at all.
    pub fn is_empty(&self) -> bool {
        self.to.is_empty() && self.strings.is_empty() && self.files.is_empty()
    }
}

/// A parsed recipient, ready for age.
pub type Recipient = Box<dyn age::Recipient + Send>;

/// The most recipients one bundle may have. Each adds a stanza of up to ~1 KiB (an
/// armored ssh-rsa 4096 one): this keeps every header well inside the 256 KiB that
/// `inspect` reads and the 1 MiB that `open` reads, so what handoff seals, it opens.
pub const MAX_RECIPIENTS: usize = 100;

/// Largest recipients file read (as rage's `RECIPIENT_FILE_SIZE_LIMIT`).
const MAX_RECIPIENTS_FILE_BYTES: u64 = 1 << 24;

/// One recipient line, and where it came from (for error messages).
struct Line {
    text: String,
    /// The file and 1-based line number, for a line read from a recipients file.
    origin: Option<(String, usize)>,
}

/// Reads a recipients file (or standard input, `-`), keeping its recipient lines.
fn read_file(f: &str, out: &mut Vec<Line>) -> Result<()> {
    let bytes = if f == "-" {
        use std::io::Read;
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_RECIPIENTS_FILE_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| {
                Error::input(format!("cannot read recipients from standard input: {e}"))
                    .fix(ACCEPTED)
            })?;
        buf
    } else {
        let path = Path::new(f);
        if !path.exists() {
            return Err(
                Error::input(format!("recipients file {} does not exist", shown(f))).fix(ACCEPTED),
            );
        }
        crate::output::read_capped(path, MAX_RECIPIENTS_FILE_BYTES, "recipients file")?
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::input(format!("recipients file {} is not UTF-8 text", shown(f))).fix(ACCEPTED)
    })?;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(Line {
            text: line.to_string(),
            origin: Some((f.to_string(), i + 1)),
        });
    }
    Ok(())
}

/// Parses every recipient. A `--to` value is a file when it is `-` or names an existing
/// path, and a recipient string otherwise. The same recipient given twice (an SSH key
/// with two comments, a key both in a file and on the command line) is sealed to once.
pub fn parse(args: &RecipientArgs) -> Result<Vec<Recipient>> {
    let mut lines: Vec<Line> = Vec::new();
    let mut files = args.files.clone();
    let line = |value: &String| Line {
        text: value.trim().to_string(),
        origin: None,
    };
    lines.extend(args.strings.iter().map(line));
    for value in &args.to {
        if value == "-" || Path::new(value).exists() {
            files.push(value.clone());
        } else {
            lines.push(line(value));
        }
    }
    for f in &files {
        if f != "-" && Path::new(f).is_dir() {
            return Err(
                Error::input(format!("recipients file {} is a directory", shown(f))).fix(ACCEPTED),
            );
        }
        read_file(f, &mut lines)?;
    }
    if let Some(l) = lines.iter().find(|l| {
        // `get`, not a slice: byte 4 need not be a character boundary.
        l.text.len() > 4
            && l.text
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("age1"))
            && l.text != l.text.to_lowercase()
    }) {
        // age refuses upper case too; accepting it would also defeat de-duplication and
        // put a string in a signed manifest that the opener never finds.
        return Err(Error::input(format!(
            "{} is an age recipient with upper-case letters; age recipients are lower case",
            shown(&l.text)
        ))
        .fix("use the age1… line exactly as handoff keygen or age-keygen printed it"));
    }
    let mut seen = std::collections::HashSet::new();
    lines.retain(|l| {
        let key = ssh_key::PublicKey::from_openssh(&l.text)
            .map(|k| crate::sealing::ssh_keys::canonical(&k))
            .unwrap_or_else(|_| l.text.clone());
        seen.insert(key)
    });
    if lines.is_empty() {
        return Err(Error::input(
            "no recipients: the recipients files hold only comments or blank lines",
        )
        .fix(ACCEPTED));
    }
    if lines.len() > MAX_RECIPIENTS {
        return Err(Error::input(format!(
            "{} recipients: a bundle may have at most {MAX_RECIPIENTS}",
            lines.len()
        ))
        .fix("seal separate bundles for smaller groups"));
    }
    let mut guard = StdinGuard::new(false);
    let all: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
    read_recipients(all, vec![], vec![], None, &mut guard).map_err(|e| {
        // Find the line that failed, to name its file and line number.
        lines
            .iter()
            .find_map(|l| {
                let mut guard = StdinGuard::new(false);
                let err = read_recipients(vec![l.text.clone()], vec![], vec![], None, &mut guard).err()?;
                Some(match (&l.origin, err) {
                    (Some((file, n)), ReadError::InvalidRecipient(_)) => Error::input(format!(
                        "line {n} of {} is not a recipient",
                        shown(file)
                    ))
                    .fix("a recipients file holds one age1… or ssh-ed25519/ssh-rsa key per line; # starts a comment"),
                    (_, err) => read_error(err),
                })
            })
            .unwrap_or_else(|| read_error(e))
    })
}

/// A plugin recipient or identity whose plugin binary is not installed.
pub fn plugin_missing(e: &age::plugin::ResolveError) -> Error {
    match e {
        age::plugin::ResolveError::MissingPlugin { binary_name } => Error::input(format!(
            "the age plugin {} is not installed: it is not on PATH",
            shown(binary_name)
        ))
        .fix(format!(
            "install {} (see the plugin's documentation) and make sure it is on PATH",
            shown(binary_name)
        )),
        other => Error::input(crate::error::one_line(&other.to_string()))
            .fix("check the plugin recipient or identity: age1NAME1… or AGE-PLUGIN-NAME-1…"),
    }
}

/// Words an age read error as what failed + how to fix.
pub fn read_error(e: ReadError) -> Error {
    match e {
        ReadError::InvalidRecipient(v) if v.starts_with("age1") && v.len() > 4 && !v.contains(' ') => {
            Error::input(format!("{} is not a valid age recipient (bad checksum or length)", shown(&v)))
                .fix("copy the whole age1… line printed by `handoff keygen` or `age-keygen -y`")
        }
        ReadError::InvalidRecipient(v) => Error::input(format!("{} is not a recipient, nor a file that exists", shown(&v))).fix(ACCEPTED),
        ReadError::InvalidRecipientsFile { filename, line_number } => Error::input(format!(
            "line {line_number} of {} is not a recipient",
            shown(&filename)
        ))
        .fix("a recipients file holds one age1… or ssh-ed25519/ssh-rsa key per line; # starts a comment"),
        ReadError::MissingRecipientsFile(f) => {
            Error::input(format!("recipients file {} does not exist", shown(&f))).fix(ACCEPTED)
        }
        ReadError::IdentityNotFound(f) => Error::input(format!("identity file {} does not exist", shown(&f)))
            .fix("pass -i with an age identity file (handoff keygen -o FILE) or an SSH private key"),
        ReadError::MultipleStdin => Error::input("standard input (-) can be read only once")
            .fix("pass - at most once among --to, -R and -i"),
        ReadError::RsaModulusTooSmall => Error::input("an ssh-rsa key is weaker than 2048 bits")
            .fix("use an ssh-ed25519 key, or an RSA key of 2048 bits or more"),
        ReadError::RsaModulusTooLarge => Error::input("an ssh-rsa key is larger than 4096 bits")
            .fix("use an ssh-ed25519 key, or an RSA key of at most 4096 bits"),
        // age names no file when the key came straight from --to (a .pub path read as a key).
        ReadError::UnsupportedKey(f, _) if f.is_empty() => Error::input(
            "a recipient is an SSH key of a type age cannot use (ECDSA, DSA or a security key)",
        )
        .fix("use an ssh-ed25519 or ssh-rsa key"),
        ReadError::UnsupportedKey(f, _) => Error::input(format!("{} is an SSH key type age cannot use", shown(&f)))
            .fix("use an ssh-ed25519 or ssh-rsa key"),
        ReadError::PluginResolve(e) => plugin_missing(&e),
        ReadError::IdentityEncryptedWithoutPassphrase(f) => {
            Error::input(format!("identity file {} is encrypted but no passphrase was given", shown(&f)))
                .fix("run handoff in a terminal so it can ask for the passphrase")
        }
        ReadError::Io(e) => Error::input(format!("cannot read recipients or identities: {e}"))
            .fix("check the paths and their permissions"),
        other => Error::input(format!("cannot read recipients or identities: {other}"))
            .fix(ACCEPTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    fn args(to: &[&str]) -> RecipientArgs {
        RecipientArgs {
            to: to.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn an_age_key_parses() {
        assert_eq!(parse(&args(&[AGE])).unwrap().len(), 1);
    }

    #[test]
    fn a_bad_value_names_it_and_says_what_is_accepted() {
        let e = parse(&args(&["not-a-key"])).err().unwrap();
        assert!(e.what.contains("not-a-key"));
        assert!(e.fix.unwrap().contains("age1"));
    }

    #[test]
    fn a_secret_key_given_by_mistake_is_not_echoed() {
        let e = parse(&args(&[
            "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
        ]))
        .err()
        .unwrap();
        assert!(!e.what.contains("GFPYY"), "{}", e.what);
    }

    #[test]
    fn a_recipients_file_error_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("team.txt");
        std::fs::write(&p, format!("# team\n{AGE}\n\njunk here\n")).unwrap();
        let e = parse(&args(&[p.to_str().unwrap()])).err().unwrap();
        assert!(e.what.contains("line 4"), "{}", e.what);
        assert!(e.what.contains("team.txt"));
        assert!(!e.what.contains("junk"));
    }

    #[test]
    fn the_same_recipient_twice_is_sealed_to_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("team.txt");
        let ssh =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk2T3rKe1GkmFQ3ZlC2VvKkS/9w3e2w0dcmQ6Jm6Ijj";
        std::fs::write(&p, format!("{AGE}\n{ssh} alice@laptop\n")).unwrap();
        let a = RecipientArgs {
            to: vec![p.to_str().unwrap().into(), AGE.into()],
            strings: vec![format!("{ssh} alice@desktop")],
            files: vec![p.to_str().unwrap().into()],
        };
        assert_eq!(parse(&a).unwrap().len(), 2);
    }

    #[test]
    fn more_recipients_than_the_cap_are_refused_before_sealing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("many.txt");
        let keys: Vec<String> = (0..=MAX_RECIPIENTS)
            .map(|_| age::x25519::Identity::generate().to_public().to_string())
            .collect();
        std::fs::write(&p, keys.join("\n")).unwrap();
        let e = parse(&args(&[p.to_str().unwrap()])).err().unwrap();
        assert_eq!(e.what, "101 recipients: a bundle may have at most 100");
    }

    /// Found by the `recipients` fuzz target in a CI run: the upper-case check sliced at
    /// byte 4, which in ".\x18.Ë" is inside a character, and panicked.
    #[test]
    fn fuzz_regression_a_multibyte_character_at_byte_4_is_an_error_not_a_panic() {
        assert!(parse(&args(&[".\u{18}.\u{cb}"])).is_err());
        assert!(parse(&args(&["AGE1\u{cb}x"])).is_err());
    }

    #[test]
    fn comments_only_is_no_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.txt");
        std::fs::write(&p, "# nobody\n\n").unwrap();
        assert!(
            parse(&args(&[p.to_str().unwrap()]))
                .err()
                .unwrap()
                .what
                .contains("no recipients")
        );
    }
}
