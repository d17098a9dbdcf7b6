//! placeholder
use crate::cli::RevokeArgs;
use crate::error::{Error, Result};
/// Runs `revoke`.
pub fn run(_a: &RevokeArgs) -> Result<()> {
    Err(Error::new(
        crate::error::ExitCode::Internal,
        "revoke: not built yet",
    ))
}
