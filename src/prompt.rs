//! Hidden prompts. They go through the age crate's `read_secret`: a `pinentry` program
//! when one is installed (or named by `PINENTRY_PROGRAM`), else the terminal with echo
//! off (rpassword). Never argv, never the environment, never stdin when stdin carries
//! data.

use crate::error::{Error, ExitCode, Result};
use crate::secret::{SecretString, secrets_equal};

fn prompt_error(what: &str, e: pinentry::Error) -> Error {
    match e {
        pinentry::Error::Cancelled => Error::new(
            ExitCode::Cancelled,
            format!("cancelled at the {what} prompt"),
        )
        .fix("run the command again and answer the prompt"),
        pinentry::Error::Timeout => {
            Error::new(ExitCode::Cancelled, format!("the {what} prompt timed out"))
                .fix("run the command again and answer within 30 seconds")
        }
        // No terminal (ENXIO on /dev/tty) and no working pinentry: nothing was wrong
        // with the input, the question could not be asked.
        other => Error::new(
            ExitCode::Cancelled,
            format!("cannot ask for the {what}: no terminal or pinentry answered ({other})"),
        )
        .fix("run handoff in a terminal, or install pinentry (or set PINENTRY_PROGRAM)"),
    }
}

/// Asks the user a yes/no question (a prompt on the terminal; a script in tests).
pub type Ask<'a> = &'a dyn Fn(&str) -> Result<bool>;

/// Asks a yes/no question on the terminal (stderr, then a line of stdin); `no_terminal`
/// words the refusal when stdin is not a terminal. Only "y" or "yes" is a yes.
pub fn yes_no(question: &str, no_terminal: fn() -> Error) -> Result<bool> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        return Err(no_terminal());
    }
    crate::stderr::text(format_args!("{question} [y/N] "));
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::input(format!("cannot read the answer: {e}")).fix("pass --yes"))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES"))
}

/// Whether a hidden prompt can be shown at all: a pinentry was named, the process has
/// a terminal, or a desktop session could show a graphical pinentry. When none holds,
/// asking would only print pinentry's fallback noise and fail.
pub fn can_ask() -> bool {
    std::env::var_os("PINENTRY_PROGRAM").is_some()
        || std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok()
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

/// The error for a prompt that cannot be shown ([`can_ask`] is false).
pub fn cannot_ask(what: &str) -> Error {
    Error::new(
        ExitCode::Cancelled,
        format!("cannot ask for the {what}: there is no terminal, and no pinentry can be shown"),
    )
    .fix("run handoff in a terminal, or install pinentry (or set PINENTRY_PROGRAM)")
}

/// Asks once for a secret, hidden. An empty answer is refused.
pub fn hidden(what: &str) -> Result<SecretString> {
    if !can_ask() {
        return Err(cannot_ask(what));
    }
    let s = age::cli_common::read_secret(&format!("Enter the {what}"), what, None)
        .map_err(|e| prompt_error(what, e))?;
    Ok(s)
}

/// Asks twice for a new secret (a passphrase), hidden, and checks both answers match.
pub fn hidden_confirmed(what: &str) -> Result<SecretString> {
    let first = hidden(what)?;
    let second = age::cli_common::read_secret(&format!("Confirm the {what}"), what, None)
        .map_err(|e| prompt_error(what, e))?;
    if !secrets_equal(&first, &second) {
        return Err(Error::input(format!("the two {what}s do not match"))
            .fix("run the command again and type the same value twice"));
    }
    Ok(first)
}
