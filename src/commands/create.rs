//! placeholder
use crate::cli::CreateArgs;
use crate::error::{Error, Result};
/// Runs `create`.
pub fn run(_a: &CreateArgs) -> Result<()> {
    Err(Error::new(
        crate::error::ExitCode::Internal,
        "create: not built yet",
    ))
}
