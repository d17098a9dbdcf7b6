//! `handoff completions SHELL` and `handoff man`: generated from the clap definitions,
//! so they never drift from the real flags.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Result;
use crate::output::write_stdout;

/// Prints completions for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "handoff", &mut buf);
    write_stdout(&buf)
}

/// Prints the man page.
pub fn man() -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| {
            crate::error::Error::new(
                crate::error::ExitCode::Internal,
                format!("cannot render the man page: {e}"),
            )
        })?;
    write_stdout(&buf)
}
