//! `handoff man`: the man page, generated from the clap definitions, so it never drifts
//! from the real flags.

use crate::error::{Error, ExitCode, Result};
use crate::output::write_stdout;

/// Prints the man page.
pub fn run() -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(crate::cli::command())
        .render(&mut buf)
        .map_err(|e| {
            Error::new(
                ExitCode::Internal,
                format!("cannot render the man page: {e}"),
            )
        })?;
    write_stdout(&buf)
}
