//! `handoff credential-process NAME`: prints AWS `credential_process` JSON for a
//! credential kept in the OS keychain, for the AWS CLI and SDKs to run on demand.

use crate::bundle::Credential;
use crate::error::{Error, ExitCode, Result, shown};
use crate::output::write_stdout_secret;
use crate::store::{Keychain, Kind};

/// `handoff credential-process NAME`.
pub fn run(keychain: &dyn Keychain, name: &str) -> Result<()> {
    if crate::output::stdout_is_terminal() {
        return Err(Error::output(
            "credential-process writes the secret access key to standard output, which is a terminal",
        )
        .fix(format!(
            "it is for the AWS CLI: put `credential_process = handoff {}credential-process {}` in ~/.aws/config, then run: aws sts get-caller-identity --profile PROFILE",
            keychain.flag(),
            shown(name)
        )));
    }
    let payload = keychain.get(Kind::Credential, name)?;
    let c = Credential::parse(&payload).map_err(|e| {
        // The payload parser speaks of bundles; this one came from the store.
        let why = e.what.strip_prefix("the bundle's payload is malformed: ");
        let e = Error::new(
            ExitCode::Keychain,
            format!(
                "the keychain item {} does not hold a handoff credential ({})",
                shown(name),
                why.unwrap_or(&e.what)
            ),
        )
        .fix("store it again with `handoff open BUNDLE -i ID --keychain NAME --force`");
        crate::store::naming(e, &keychain.label(), &keychain.flag())
    })?;
    let Some(key) = &c.access_key else {
        return Err(Error::input(format!(
            "the credential {} holds no access key",
            shown(name)
        ))
        .fix("credential_process serves access keys only"));
    };
    if c.is_expired(jiff::Timestamp::now()) {
        crate::say!(
            "warning: the credential {} expired; AWS denies every request made with it.",
            shown(name)
        );
    }
    write_stdout_secret(&crate::deliver::process_json::encode(
        key.id.as_str(),
        key.secret.as_secret(),
        c.expires_at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemKeychain;

    #[test]
    fn a_missing_entry_is_bad_input_not_a_keychain_failure() {
        let kc = MemKeychain::default();
        assert_eq!(run(&kc, "nope").unwrap_err().code, ExitCode::Input);
    }
}
