//! One module per subcommand, and nothing else. Each command has a `resolve` stage that
//! checks everything that needs no change anywhere, and an `execute` stage that orders
//! its side effects; the logic they order lives in the modules outside `commands`.

pub mod completions;
pub mod create;
pub mod credential_process;
pub mod inspect;
pub mod keychain;
pub mod keygen;
pub mod man;
pub mod open;
pub mod recover;
pub mod revoke;
pub mod seal;
