//! Which store holds handoff's keychain items: the user's choice (`--store NAME`, or
//! `HANDOFF_STORE`), the OS's default, and which stores answer on this machine — the
//! list an "unreachable" error's hint names.

/// A store handoff can keep credentials and identities in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreName {
    /// The freedesktop Secret Service over D-Bus (gnome-keyring, KeePassXC): the Linux
    /// default.
    SecretService,
    /// The Linux kernel key retention service: no daemon, no D-Bus; gone at reboot.
    Keyutils,
    /// The standard Unix password manager (`pass`, gpg underneath).
    Pass,
    /// The macOS login Keychain: the macOS default.
    Macos,
    /// The Windows Credential Manager: the Windows default.
    Windows,
}

impl StoreName {
    /// Every store, in the order hints name them.
    pub const ALL: [StoreName; 5] = [
        StoreName::SecretService,
        StoreName::Keyutils,
        StoreName::Pass,
        StoreName::Macos,
        StoreName::Windows,
    ];

    /// The name `--store` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreName::SecretService => "secret-service",
            StoreName::Keyutils => "keyutils",
            StoreName::Pass => "pass",
            StoreName::Macos => "macos",
            StoreName::Windows => "windows",
        }
    }

    /// The store used when none is chosen.
    pub fn os_default() -> StoreName {
        if cfg!(target_os = "macos") {
            StoreName::Macos
        } else if cfg!(windows) {
            StoreName::Windows
        } else {
            StoreName::SecretService
        }
    }

    /// Whether this build can talk to the store at all (pass runs wherever Unix does).
    pub fn built_here(self) -> bool {
        match self {
            StoreName::SecretService | StoreName::Keyutils => cfg!(target_os = "linux"),
            StoreName::Pass => cfg!(unix),
            StoreName::Macos => cfg!(target_os = "macos"),
            StoreName::Windows => cfg!(windows),
        }
    }

    /// The store, in words.
    pub fn label(self) -> &'static str {
        match self {
            StoreName::SecretService => "the Secret Service keychain",
            StoreName::Keyutils => "the kernel keyring (keyutils)",
            StoreName::Pass => "pass",
            StoreName::Macos => "the macOS login Keychain",
            StoreName::Windows => "Windows Credential Manager",
        }
    }

    /// The OS the store belongs to, for "not on this OS" errors.
    pub fn home_os(self) -> &'static str {
        match self {
            StoreName::SecretService | StoreName::Keyutils => "Linux",
            StoreName::Pass => "Unix systems",
            StoreName::Macos => "macOS",
            StoreName::Windows => "Windows",
        }
    }
}

impl std::fmt::Display for StoreName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The store a command line chose, and whether it was chosen (then the printed
/// `credential_process` line names it, as the AWS CLI may not see `HANDOFF_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The store.
    pub name: StoreName,
    /// Chosen by `--store` or `HANDOFF_STORE`, not the OS default.
    pub explicit: bool,
    /// A `HANDOFF_STORE` that names no store: an error when a keychain is used, and
    /// only then (`seal` and `inspect` never touch one).
    pub bad_env: Option<String>,
}

impl Choice {
    /// `--store`'s value, else `HANDOFF_STORE` (empty counts as unset), else the OS
    /// default.
    pub fn from_flag(flag: Option<StoreName>) -> Choice {
        Choice::resolve(flag, std::env::var_os("HANDOFF_STORE"))
    }

    /// [`Choice::from_flag`] with the environment's value given.
    pub fn resolve(flag: Option<StoreName>, env: Option<std::ffi::OsString>) -> Choice {
        let chosen = |name| Choice {
            name,
            explicit: true,
            bad_env: None,
        };
        if let Some(name) = flag {
            return chosen(name);
        }
        let default = Choice {
            name: StoreName::os_default(),
            explicit: false,
            bad_env: None,
        };
        let Some(value) = env.filter(|v| !v.is_empty()) else {
            return default;
        };
        let text = value.to_string_lossy();
        match <StoreName as clap::ValueEnum>::from_str(text.trim(), true) {
            Ok(name) => chosen(name),
            Err(_) => Choice {
                bad_env: Some(text.into_owned()),
                ..default
            },
        }
    }

    /// `--store NAME ` when chosen, for command lines handoff prints.
    pub fn flag(&self) -> String {
        if self.explicit {
            format!("--store {} ", self.name)
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn the_flag_names_match_the_clap_values() {
        for s in StoreName::ALL {
            assert_eq!(
                s.to_possible_value().unwrap().get_name(),
                s.as_str(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn handoff_store_is_read_leniently_and_a_bad_one_is_kept_for_later() {
        let env = |v: &str| Some(std::ffi::OsString::from(v));
        assert!(!Choice::resolve(None, env("")).explicit);
        assert_eq!(
            Choice::resolve(None, env("KeyUtils ")).name,
            StoreName::Keyutils
        );
        assert_eq!(
            Choice::resolve(Some(StoreName::Pass), env("junk")).bad_env,
            None
        );
        let bad = Choice::resolve(None, env("junk"));
        assert_eq!(
            (bad.explicit, bad.bad_env.as_deref()),
            (false, Some("junk"))
        );
    }

    #[test]
    fn only_a_chosen_store_is_named_in_printed_commands() {
        assert_eq!(Choice::from_flag(None).flag(), "");
        assert_eq!(
            Choice::from_flag(Some(StoreName::Pass)).flag(),
            "--store pass "
        );
        assert!(StoreName::os_default().built_here());
    }
}
