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

/// Parses every recipient. A `--to` value is a file when it is `-` or names an existing
/// path, and a recipient string otherwise.
pub fn parse(args: &RecipientArgs) -> Result<Vec<Recipient>> {
    let mut strings = args.strings.clone();
    let mut files = args.files.clone();
    for value in &args.to {
        if value == "-" || Path::new(value).exists() {
            files.push(value.clone());
        } else {
            strings.push(value.clone());
        }
    }
    for f in &files {
        if f != "-" && Path::new(f).is_dir() {
            return Err(
                Error::input(format!("recipients file {} is a directory", shown(f))).fix(ACCEPTED),
            );
        }
    }
    let mut guard = StdinGuard::new(false);
    let recipients =
        read_recipients(strings, files, vec![], None, &mut guard).map_err(read_error)?;
    if recipients.is_empty() {
        return Err(Error::input(
            "no recipients: the recipients files hold only comments or blank lines",
        )
        .fix(ACCEPTED));
    }
    Ok(recipients)
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
