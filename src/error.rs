//! Every user-facing failure: a documented exit code, one line saying what failed and
//! one saying how to fix it. Messages never contain a secret; values from the user that
//! are echoed back go through [`shown`], and messages from libraries through
//! [`one_line`]: both escape for the terminal with [`crate::sanitize`].

use std::fmt;

/// The exit codes, documented in the README and in `handoff --help`. Stable: scripts
/// may depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Success.
    Ok = 0,
    /// An internal error (a bug): please report it.
    Internal = 1,
    /// Bad command line (clap's own code).
    Usage = 2,
    /// Bad input: a recipient, identity, CSV, payload or duration that cannot be used.
    Input = 3,
    /// The bundle could not be decrypted (no matching identity, wrong passphrase,
    /// tampered or truncated bundle).
    Decrypt = 4,
    /// An output could not be written, or exists and `--force` was not given.
    Output = 5,
    /// An AWS call failed, and AWS is as it was before the run: nothing had been
    /// changed, or everything changed was rolled back.
    Aws = 6,
    /// An AWS call failed and the rollback failed too: something is left in AWS.
    RollbackFailed = 7,
    /// The OS keychain failed or is unavailable.
    Keychain = 8,
    /// A check refused the bundle (wrong account, signer or verification).
    Refused = 9,
    /// The user cancelled (a prompt was refused or interrupted), or a prompt could not be
    /// shown (no terminal, no pinentry).
    Cancelled = 10,
    /// Refused before any change: what AWS holds conflicts with the request (the user
    /// already has two access keys, or a console password without --reset-password).
    Conflict = 11,
    /// `revoke` stopped partway: some of it was deleted, the rest is still there; it is
    /// safe to run again.
    RevokeIncomplete = 12,
    /// Stopped by SIGHUP (the terminal closed) between two changes (128 + 1): create and
    /// rotation rolled back what they had made; revoke kept what it had deleted.
    Hangup = 129,
    /// Stopped by SIGINT (Ctrl-C) between two changes (128 + 2); as for [`Self::Hangup`].
    Interrupted = 130,
    /// Stopped by SIGTERM between two changes (128 + 15); as for [`Self::Hangup`].
    Terminated = 143,
}

impl ExitCode {
    /// Every code, in order, for documentation and tests.
    pub const ALL: [ExitCode; 16] = [
        ExitCode::Ok,
        ExitCode::Internal,
        ExitCode::Usage,
        ExitCode::Input,
        ExitCode::Decrypt,
        ExitCode::Output,
        ExitCode::Aws,
        ExitCode::RollbackFailed,
        ExitCode::Keychain,
        ExitCode::Refused,
        ExitCode::Cancelled,
        ExitCode::Conflict,
        ExitCode::RevokeIncomplete,
        ExitCode::Hangup,
        ExitCode::Interrupted,
        ExitCode::Terminated,
    ];

    /// The process exit status.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// One line for the help text and the README.
    pub fn meaning(self) -> &'static str {
        match self {
            ExitCode::Ok => "success",
            ExitCode::Internal => "internal error (a bug: please report it)",
            ExitCode::Usage => "bad command line",
            ExitCode::Input => "bad input (recipient, identity, CSV, payload, duration)",
            ExitCode::Decrypt => {
                "cannot decrypt the bundle (wrong identity or passphrase, tampered)"
            }
            ExitCode::Output => "cannot write the output, or it exists and --force was not given",
            ExitCode::Aws => {
                "an AWS call failed; AWS is as before the run (nothing changed, or rolled back)"
            }
            ExitCode::RollbackFailed => "an AWS call failed and the rollback failed too",
            ExitCode::Keychain => "the keychain store failed or is unavailable",
            ExitCode::Refused => "a check refused the bundle (account, signer, verification)",
            ExitCode::Cancelled => "cancelled at a prompt, or no prompt could be shown",
            ExitCode::Conflict => {
                "refused before any change: the user already has two keys, or a password"
            }
            ExitCode::RevokeIncomplete => "revoke stopped partway; run it again to finish",
            ExitCode::Hangup => {
                "stopped by SIGHUP (terminal closed) between two changes; nothing half-done"
            }
            ExitCode::Interrupted => {
                "stopped by SIGINT (Ctrl-C) between two changes; nothing half-done"
            }
            ExitCode::Terminated => "stopped by SIGTERM between two changes; nothing half-done",
        }
    }

    /// The table of exit codes, as shown after `handoff --help`.
    pub fn table() -> String {
        let mut out = String::from("Exit codes:\n");
        for c in Self::ALL {
            out.push_str(&format!("  {:>2}  {}\n", c.code(), c.meaning()));
        }
        out
    }
}

/// A user-facing failure: what failed, and how to fix it.
#[derive(Debug)]
pub struct Error {
    /// The exit code.
    pub code: ExitCode,
    /// One line: what failed.
    pub what: String,
    /// One line: how to fix it.
    pub fix: Option<String>,
}

impl Error {
    /// A failure with an exit code and a message.
    pub fn new(code: ExitCode, what: impl Into<String>) -> Self {
        Error {
            code,
            what: what.into(),
            fix: None,
        }
    }

    /// Adds the line that says how to fix it.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Shorthand for [`ExitCode::Input`].
    pub fn input(what: impl Into<String>) -> Self {
        Self::new(ExitCode::Input, what)
    }

    /// Shorthand for [`ExitCode::Output`].
    pub fn output(what: impl Into<String>) -> Self {
        Self::new(ExitCode::Output, what)
    }

    /// Shorthand for [`ExitCode::Decrypt`].
    pub fn decrypt(what: impl Into<String>) -> Self {
        Self::new(ExitCode::Decrypt, what)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What and fix are one line each, whatever went into them.
        write!(f, "error: {}", crate::sanitize::escape_raw(&self.what))?;
        if let Some(fix) = &self.fix {
            write!(f, "\nhint: {}", crate::sanitize::escape_raw(fix))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Result with our error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest value [`shown`] prints (characters, escapes included).
pub const MAX_SHOWN: usize = 120;

/// Longest message [`one_line`] prints (characters, escapes included).
pub const MAX_ONE_LINE: usize = 500;

/// Whether a text holds, or is, a secret key: never echoed, not even escaped. An age
/// identity in any case (bech32 is read case-insensitively), or a PEM block's
/// `PRIVATE KEY` marker (upper case, as PEM writes it: "not a private key" is fine).
fn quotes_a_secret_key(text: &str) -> bool {
    text.to_ascii_uppercase().contains("AGE-SECRET-KEY-") || text.contains("PRIVATE KEY")
}

/// A message from a library (age's are localized, with Unicode isolate marks around
/// values, and may span lines; a plugin's or a server's are anyone's) as one plain
/// line, escaped for the terminal by [`crate::sanitize`] and cut at [`MAX_ONE_LINE`].
pub fn one_line(message: &str) -> String {
    if quotes_a_secret_key(message) {
        return "<a message that quotes a secret key: not shown>".to_string();
    }
    let joined = message
        .replace(['\u{2068}', '\u{2069}'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    crate::sanitize::escape_cut(&joined, MAX_ONE_LINE)
}

/// A user-supplied or otherwise untrusted value made safe to print: escaped for the
/// terminal by [`crate::sanitize`] (controls, bidi, invisible characters, …), cut at
/// [`MAX_SHOWN`] characters, and never echoed when it looks like a secret key.
pub fn shown(value: &str) -> String {
    if quotes_a_secret_key(value) {
        return "<a secret key: not shown>".to_string();
    }
    crate::sanitize::escape_cut(value, MAX_SHOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_two_lines_whatever_went_into_it() {
        let e = Error::input("bad \u{1b}[2Jthing\nsecond").fix("do\u{202e} this");
        assert_eq!(
            e.to_string(),
            "error: bad \\u{1b}[2Jthing\\u{a}second\nhint: do\\u{202e} this"
        );
    }

    #[test]
    fn exit_codes_are_distinct_and_in_order() {
        // 0..=12 in order, then the signals' 128 + n.
        let codes: Vec<u8> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        let mut expected: Vec<u8> = (0..=12).collect();
        expected.extend([129, 130, 143]);
        assert_eq!(codes, expected);
        assert!(ExitCode::ALL.iter().all(|c| !c.meaning().is_empty()));
    }

    #[test]
    fn exit_code_table_lists_every_code() {
        let t = ExitCode::table();
        for c in ExitCode::ALL {
            assert!(t.contains(c.meaning()));
        }
    }

    #[test]
    fn shown_escapes_control_and_bidi_characters() {
        assert_eq!(shown("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(shown("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(shown("a\u{200b}\u{e0041}b"), "a\\u{200b}\\u{e0041}b");
    }

    #[test]
    fn shown_cuts_long_values_whole_escapes_included() {
        assert_eq!(
            shown(&"a".repeat(200)),
            format!("{}…", "a".repeat(MAX_SHOWN))
        );
        let tags = shown(&"\u{e0041}".repeat(200));
        assert!(tags.chars().count() <= MAX_SHOWN + 1, "{tags}");
        assert!(tags.ends_with("}…"), "{tags}");
    }

    #[test]
    fn one_line_joins_lines_and_escapes_the_rest() {
        assert_eq!(one_line("bad \u{2068}x\u{2069}\n  y"), "bad x y");
        assert_eq!(
            one_line("plugin: \x1b]0;pwned\x07 \u{202e}"),
            "plugin: \\u{1b}]0;pwned\\u{7} \\u{202e}"
        );
        assert!(!one_line("key AGE-SECRET-KEY-1QQQ here").contains("QQQ"));
    }

    #[test]
    fn shown_never_echoes_a_secret_key() {
        for v in [
            "AGE-SECRET-KEY-1QQQ",
            "age-secret-key-1qqq",
            "x AGE-SECRET-KEY-1QQQ",
            "-----BEGIN OPENSSH PRIVATE KEY-----QQQ",
        ] {
            assert!(!one_line(v).to_ascii_uppercase().contains("QQQ"), "{v}");
            assert!(!shown(v).to_ascii_uppercase().contains("QQQ"), "{v}");
        }
    }

    #[test]
    fn error_displays_what_and_fix_on_two_lines() {
        let e = Error::input("bad thing").fix("do this");
        assert_eq!(e.to_string(), "error: bad thing\nhint: do this");
    }
}
