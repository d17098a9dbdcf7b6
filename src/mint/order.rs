//! What `create` is asked to make, as checked values: the output of
//! `commands::create::resolve` and the input of [`super::plan`] and [`super::mint`].

use jiff::SignedDuration;

/// Which managed policies the user gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policies {
    /// AdministratorAccess, in the caller's partition.
    Default,
    /// None (`--no-policy`).
    None,
    /// Exactly these ARNs (`--policy`).
    These(Vec<String>),
}

/// How the console password is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordOrder {
    /// PasswordResetRequired.
    pub reset_required: bool,
    /// `--reset-password`: replace a password the user already has.
    pub replace_existing: bool,
}

/// Changes a plan refuses unless the user allowed them by a flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allow {
    /// Move a deny date the user already has (`--replace-expiry`).
    pub replace_expiry: bool,
    /// Attach policies to an existing user handoff did not create (`--adopt`).
    pub adopt: bool,
}

/// What to make, checked: every value here is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The IAM user.
    pub user: String,
    /// Its managed policies.
    pub policies: Policies,
    /// Mint an access key.
    pub access_key: bool,
    /// Set a console password.
    pub console_password: Option<PasswordOrder>,
    /// Make AWS deny everything this long after now.
    pub expires: Option<SignedDuration>,
    /// What the user allowed that the plan would otherwise refuse.
    pub allow: Allow,
    /// A note for the recipient.
    pub note: Option<String>,
    /// Also keep the credential in the creator's OS keychain under this name.
    pub keychain: Option<String>,
    /// Replace an existing keychain item of that name.
    pub replace_keychain: bool,
}
