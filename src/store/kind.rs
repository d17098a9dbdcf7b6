//! What a keychain item holds, and how long a call to the store may take: the two
//! facts both the store and its errors name.

use std::time::Duration;

/// How long one keychain call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What an item holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A credential payload (handoff/v1 JSON).
    Credential,
    /// An age identity (AGE-SECRET-KEY-1…).
    Identity,
}

impl Kind {
    /// The Secret Service `service` attribute.
    pub fn service(self) -> &'static str {
        match self {
            Kind::Credential => "handoff",
            Kind::Identity => "handoff-identity",
        }
    }

    /// The service of the companion item that holds the facts, in stores that keep no
    /// attributes (keyutils, macOS, Windows).
    pub fn meta_service(self) -> &'static str {
        match self {
            Kind::Credential => "handoff-meta",
            Kind::Identity => "handoff-identity-meta",
        }
    }

    /// "a credential", "an identity".
    pub fn with_article(self) -> &'static str {
        match self {
            Kind::Credential => "a credential",
            Kind::Identity => "an identity",
        }
    }

    /// "credential", "identity".
    pub fn words(self) -> &'static str {
        match self {
            Kind::Credential => "credential",
            Kind::Identity => "identity",
        }
    }
}
