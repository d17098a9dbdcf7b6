//! The payload inside a bundle: a small, versioned JSON document describing one AWS IAM
//! credential (`"format": "handoff/v1"`, specified in docs/bundle-format.md). Pure code:
//! encode and parse, no I/O, so it can be fuzzed. An unknown version, an unknown field
//! or a malformed value is an error, never a guess.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretBytes, SecretString, from_foreign};

/// The one format this version reads and writes.
pub const FORMAT_V1: &str = "handoff/v1";

/// Largest payload accepted (bytes). Real payloads are under 1 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Longest string field accepted (characters).
const MAX_FIELD_CHARS: usize = 4096;

/// One AWS IAM credential, as handed over. Every field but the format is optional,
/// but an access key id and its secret come together, and at least one of an access
/// key or a console password is present.
/// `Debug` is safe: secret fields print as `[REDACTED]`.
#[derive(Default, Debug)]
pub struct Credential {
    /// The 12-digit AWS account id.
    pub account_id: Option<String>,
    /// The IAM user name.
    pub user_name: Option<String>,
    /// The IAM user ARN.
    pub user_arn: Option<String>,
    /// The access key id (not secret).
    pub access_key_id: Option<String>,
    /// The secret access key.
    pub secret_access_key: Option<SecretString>,
    /// The console password.
    pub console_password: Option<SecretString>,
    /// The console sign-in URL.
    pub sign_in_url: Option<String>,
    /// When the credential was minted.
    pub created_at: Option<Timestamp>,
    /// When AWS stops honouring it (handoff's deny-after policy).
    pub expires_at: Option<Timestamp>,
    /// Who minted it (the caller's ARN).
    pub created_by: Option<String>,
    /// A free-form note from the sender.
    pub note: Option<String>,
}

/// The wire form, borrowed for writing.
#[derive(Serialize)]
struct WireOut<'a> {
    format: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_access_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    console_password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_in_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// First pass: only the format, every other field skipped unread.
#[derive(Deserialize)]
struct Probe {
    format: Option<serde_json::Value>,
}

/// The wire form, owned for reading. Strict: unknown fields are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIn {
    #[allow(dead_code)]
    format: String,
    account_id: Option<String>,
    user_name: Option<String>,
    user_arn: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    console_password: Option<String>,
    sign_in_url: Option<String>,
    created_at: Option<String>,
    expires_at: Option<String>,
    created_by: Option<String>,
    note: Option<String>,
}

fn malformed(why: impl std::fmt::Display) -> Error {
    Error::input(format!("the bundle's payload is malformed: {why}"))
        .fix("ask the sender for a new bundle made with handoff (payload format handoff/v1)")
}

impl Credential {
    /// Whether it holds an access key pair.
    pub fn has_access_key(&self) -> bool {
        self.access_key_id.is_some() && self.secret_access_key.is_some()
    }

    /// Checks the invariants and the format of each field. Error messages name the
    /// field, never its value when it is a secret.
    pub fn validate(&self) -> Result<()> {
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(malformed(
                "an access key id and its secret access key must come together",
            ));
        }
        if !self.has_access_key() && self.console_password.is_none() {
            return Err(malformed(
                "it holds neither an access key nor a console password",
            ));
        }
        if let Some(id) = &self.account_id
            && (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(malformed("account_id is not a 12-digit AWS account id"));
        }
        if let Some(id) = &self.access_key_id {
            let ok = (16..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                return Err(malformed(
                    "access_key_id is not an AWS access key id (16-128 of A-Z, 0-9)",
                ));
            }
        }
        if let Some(s) = &self.secret_access_key {
            let s = s.expose_secret();
            if s.is_empty()
                || s.len() > 128
                || s.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(malformed(
                    "secret_access_key is empty, too long or has spaces",
                ));
            }
        }
        if let Some(p) = &self.console_password {
            let p = p.expose_secret();
            if p.is_empty() || p.len() > 128 || p.chars().any(|c| c.is_control()) {
                return Err(malformed(
                    "console_password is empty, too long or has control characters",
                ));
            }
        }
        for (name, value) in [
            ("user_name", &self.user_name),
            ("user_arn", &self.user_arn),
            ("sign_in_url", &self.sign_in_url),
            ("created_by", &self.created_by),
            ("note", &self.note),
        ] {
            if let Some(v) = value {
                if v.chars().count() > MAX_FIELD_CHARS {
                    return Err(malformed(format!(
                        "{name} is longer than {MAX_FIELD_CHARS} characters"
                    )));
                }
                if name != "note" && v.chars().any(|c| c.is_control()) {
                    return Err(malformed(format!("{name} contains control characters")));
                }
            }
        }
        if let Some(url) = &self.sign_in_url
            && !url.starts_with("https://")
        {
            return Err(malformed("sign_in_url is not an https:// URL"));
        }
        Ok(())
    }

    /// Encodes the payload as JSON into a buffer that is wiped on drop.
    pub fn encode(&self) -> Result<SecretBytes> {
        self.validate()?;
        let wire = WireOut {
            format: FORMAT_V1,
            account_id: self.account_id.as_deref(),
            user_name: self.user_name.as_deref(),
            user_arn: self.user_arn.as_deref(),
            access_key_id: self.access_key_id.as_deref(),
            secret_access_key: self.secret_access_key.as_ref().map(|s| s.expose_secret()),
            console_password: self.console_password.as_ref().map(|s| s.expose_secret()),
            sign_in_url: self.sign_in_url.as_deref(),
            created_at: self.created_at.map(|t| t.to_string()),
            expires_at: self.expires_at.map(|t| t.to_string()),
            created_by: self.created_by.as_deref(),
            note: self.note.as_deref(),
        };
        // Sized up front so the buffer is not reallocated while the secret is in it
        // (the allocator wipes old blocks anyway).
        let mut out = crate::secret::buffer(2048);
        serde_json::to_writer_pretty(&mut *out, &wire).map_err(|e| {
            Error::new(
                crate::error::ExitCode::Internal,
                format!("cannot encode the payload: {e}"),
            )
        })?;
        out.push(b'\n');
        Ok(out)
    }

    /// Parses a payload. Checks, in order: size, JSON, the format (an unknown version
    /// is its own error), then every field.
    pub fn parse(bytes: &[u8]) -> Result<Credential> {
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(malformed(format!(
                "it is larger than {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| malformed(format!("not a JSON object ({})", e.classify_name())))?;
        let format = match probe.format {
            None => return Err(malformed("it has no \"format\" field")),
            Some(serde_json::Value::String(f)) => f,
            Some(_) => return Err(malformed("\"format\" is not a string")),
        };
        if format != FORMAT_V1 {
            return Err(Error::input(format!(
                "the bundle's payload has format \"{}\", which this handoff cannot read",
                crate::error::shown(&format)
            ))
            .fix(format!("this handoff reads {FORMAT_V1}: upgrade handoff, or ask the sender for a {FORMAT_V1} bundle")));
        }
        let wire: WireIn =
            serde_json::from_slice(bytes).map_err(|e| malformed(describe_json_error(&e)))?;
        let credential = Credential {
            account_id: wire.account_id,
            user_name: wire.user_name,
            user_arn: wire.user_arn,
            access_key_id: wire.access_key_id,
            secret_access_key: wire.secret_access_key.map(from_foreign),
            console_password: wire.console_password.map(from_foreign),
            sign_in_url: wire.sign_in_url,
            created_at: parse_time("created_at", wire.created_at)?,
            expires_at: parse_time("expires_at", wire.expires_at)?,
            created_by: wire.created_by,
            note: wire.note,
        };
        credential.validate()?;
        Ok(credential)
    }

    /// Whether the credential's expiry has passed.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// What the bundle holds, in words, for summaries.
    pub fn contents(&self) -> &'static str {
        match (self.has_access_key(), self.console_password.is_some()) {
            (true, true) => "access key and console password",
            (true, false) => "access key",
            (false, true) => "console password",
            (false, false) => "nothing",
        }
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "not an object",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// serde's message names the field and the expected type but, for wrong types, may
/// quote the value: keep the message only when it cannot hold a value.
fn describe_json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    if msg.starts_with("unknown field")
        || msg.starts_with("duplicate field")
        || msg.starts_with("missing field")
    {
        // "unknown field `x`, expected one of ..." : the field name is not secret.
        msg.split(", expected")
            .next()
            .unwrap_or("unknown field")
            .to_string()
    } else {
        format!(
            "a field has the wrong type or the JSON is invalid ({}, line {} column {})",
            e.classify_name(),
            e.line(),
            e.column()
        )
    }
}

fn parse_time(field: &str, value: Option<String>) -> Result<Option<Timestamp>> {
    value
        .map(|v| {
            v.parse::<Timestamp>()
                .map_err(|_| malformed(format!("{field} is not an RFC 3339 timestamp")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Credential {
        Credential {
            account_id: Some("123456789012".into()),
            user_name: Some("mgmt-org-admin".into()),
            user_arn: Some("arn:aws:iam::123456789012:user/mgmt-org-admin".into()),
            access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
            secret_access_key: Some(from_foreign(
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            )),
            console_password: None,
            sign_in_url: None,
            created_at: Some("2026-11-23T10:00:00Z".parse().unwrap()),
            expires_at: None,
            created_by: Some("arn:aws:iam::123456789012:root".into()),
            note: Some("for the first deployment".into()),
        }
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let c = sample();
        let back = Credential::parse(&c.encode().unwrap()).unwrap();
        assert_eq!(back.account_id, c.account_id);
        assert_eq!(back.access_key_id, c.access_key_id);
        assert_eq!(
            back.secret_access_key.unwrap().expose_secret(),
            c.secret_access_key.unwrap().expose_secret()
        );
        assert_eq!(back.created_at, c.created_at);
        assert_eq!(back.note, c.note);
    }

    #[test]
    fn unknown_version_is_its_own_error() {
        let e = Credential::parse(br#"{"format":"handoff/v2","access_key_id":"x"}"#)
            .err()
            .unwrap();
        assert!(e.what.contains("handoff/v2"), "{}", e.what);
        assert!(e.fix.unwrap().contains("upgrade"));
    }

    #[test]
    fn unknown_field_is_refused_by_name() {
        let e =
            Credential::parse(br#"{"format":"handoff/v1","console_password":"p","colour":"red"}"#)
                .err()
                .unwrap();
        assert!(e.what.contains("colour"), "{}", e.what);
    }

    #[test]
    fn wrong_type_error_does_not_echo_the_value() {
        let e = Credential::parse(br#"{"format":"handoff/v1","access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":["TOPSECRETVALUE"]}"#)
            .err()
            .unwrap();
        assert!(!e.what.contains("TOPSECRET"), "{}", e.what);
    }

    #[test]
    fn half_an_access_key_is_refused() {
        let e =
            Credential::parse(br#"{"format":"handoff/v1","access_key_id":"AKIAIOSFODNN7EXAMPLE"}"#)
                .err()
                .unwrap();
        assert!(e.what.contains("come together"));
    }

    #[test]
    fn empty_credential_is_refused() {
        assert!(Credential::parse(br#"{"format":"handoff/v1"}"#).is_err());
    }

    #[test]
    fn missing_format_and_non_objects_are_refused() {
        for input in [
            &b"{}"[..],
            b"[]",
            b"null",
            b"",
            b"{\"format\":1}",
            b"\xff\xfe",
        ] {
            assert!(Credential::parse(input).is_err(), "{:?}", input);
        }
    }

    #[test]
    fn oversized_payload_is_refused() {
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert!(Credential::parse(&big).unwrap_err().what.contains("larger"));
    }

    #[test]
    fn bad_timestamp_and_account_are_refused() {
        assert!(
            Credential::parse(
                br#"{"format":"handoff/v1","console_password":"p","created_at":"yesterday"}"#
            )
            .is_err()
        );
        assert!(
            Credential::parse(
                br#"{"format":"handoff/v1","console_password":"p","account_id":"12"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn expiry_is_compared_with_now() {
        let mut c = sample();
        c.expires_at = Some("2026-01-01T00:00:00Z".parse().unwrap());
        assert!(c.is_expired("2026-06-01T00:00:00Z".parse().unwrap()));
        assert!(!c.is_expired("2025-06-01T00:00:00Z".parse().unwrap()));
    }

    proptest! {
        #[test]
        fn any_valid_credential_round_trips(
            id in "[A-Z0-9]{16,40}",
            secret in "[A-Za-z0-9/+]{1,60}",
            password in proptest::option::of("[ -~]{1,64}"),
            note in proptest::option::of("\\PC{0,50}"),
            account in proptest::option::of("[0-9]{12}"),
        ) {
            let c = Credential {
                access_key_id: Some(id.clone()),
                secret_access_key: Some(from_foreign(secret.clone())),
                console_password: password.clone().map(from_foreign),
                note: note.clone(),
                account_id: account.clone(),
                ..Default::default()
            };
            let back = Credential::parse(&c.encode().unwrap()).unwrap();
            prop_assert_eq!(back.access_key_id, Some(id));
            let back_secret = back.secret_access_key.unwrap();
            prop_assert_eq!(back_secret.expose_secret(), secret.as_str());
            prop_assert_eq!(back.console_password.map(|p| p.expose_secret().to_string()), password);
            prop_assert_eq!(back.note, note);
            prop_assert_eq!(back.account_id, account);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Credential::parse(&bytes);
        }
    }
}
