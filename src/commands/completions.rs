//! `handoff completions SHELL`: generated from the clap definitions, so they never drift
//! from the real flags.

use crate::error::Result;
use crate::output::write_stdout;

/// Prints completions for `shell`.
pub fn run(shell: clap_complete::Shell) -> Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), "handoff", &mut buf);
    write_stdout(&buf)
}
