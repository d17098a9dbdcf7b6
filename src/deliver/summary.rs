//! The default delivery: what a bundle holds, without any secret, and the commands
//! that deliver it, with the bundle's path quoted so that pasting them runs nothing
//! else.

use crate::bundle::Credential;
use crate::error::shown;

/// The bundle's path as a shell word that is safe to paste into the suggested commands:
/// as it is when it is made of ordinary characters, single-quoted otherwise (a name
/// like `b$(touch x).age` must not run anything), `./`-prefixed when it starts with `-`.
fn pasteable(bundle: &str) -> String {
    if bundle == "-" {
        return "BUNDLE".into();
    }
    let path = if bundle.starts_with('-') {
        format!("./{bundle}")
    } else {
        bundle.to_string()
    };
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._/+-=@,:%~".contains(&b))
        && !path.starts_with('~');
    if plain {
        return path;
    }
    let mut out = Vec::new();
    match crate::deliver::sh::quote_into(&mut out, &path) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| "BUNDLE".into()),
        Err(_) => "BUNDLE".into(),
    }
}

/// What the bundle holds, without any secret.
pub fn summary(c: &Credential, bundle: &str) -> String {
    let mut s = format!("This bundle holds: {}\n", c.contents());
    let mut row = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            s.push_str(&format!("  {k:<12} {}\n", shown(v)));
        }
    };
    row("account", &c.account_id);
    row("user", &c.user_name);
    row("user ARN", &c.user_arn);
    row("access key", &c.access_key_id().map(str::to_string));
    row("sign-in URL", &c.sign_in_url);
    row("created", &c.created_at.map(|t| t.to_string()));
    row("created by", &c.created_by);
    row("expires", &c.expires_at.map(|t| t.to_string()));
    row("note", &c.note);
    let b = shown(&pasteable(bundle));
    s.push_str("\nDeliver it to exactly one place (add the same -i):\n");
    if c.has_access_key() {
        s.push_str(&format!(
            "  handoff open {b} --aws-profile NAME    # into ~/.aws/credentials\n"
        ));
        s.push_str(&format!(
            "  handoff open {b} --json                # credential_process JSON\n"
        ));
        s.push_str(&format!(
            "  handoff open {b} --env                 # export lines for eval\n"
        ));
        s.push_str(&format!(
            "  handoff open {b} --csv FILE            # the console's access-key CSV\n"
        ));
    }
    if c.console_password.is_some() {
        s.push_str(&format!(
            "  handoff open {b} --reveal-password     # the console password, on a terminal\n"
        ));
    }
    s
}
