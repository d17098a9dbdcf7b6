//! The payload inside a bundle: a small, versioned JSON document describing one AWS IAM
//! credential (`"format": "handoff/v1"`, specified in docs/bundle-format.md). Pure code:
//! encode and parse, no I/O, so it can be fuzzed. An unknown version, an unknown or
//! repeated field, a `null`, a value of the wrong type or one that breaks its rule is an
//! error naming the field (never echoing its value), never a guess.

use std::borrow::Cow;
use std::fmt;

use jiff::Timestamp;
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::access_key::AccessKey;
use crate::aws::names::{USER_NAME_RULE, valid_user_name};
use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretBytes, SecretString, from_foreign};

/// The one format this version reads and writes.
pub const FORMAT_V1: &str = "handoff/v1";

/// Largest payload accepted (bytes). Real payloads are under 1 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Longest note accepted (characters).
pub const MAX_NOTE_CHARS: usize = 4096;

/// Longest ARN accepted (IAM's own limit for an ARN, in characters).
pub const MAX_ARN_CHARS: usize = 2048;

/// Longest console password accepted (IAM's limit).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// One AWS IAM credential, as handed over. Every field but the format is optional,
/// but at least one of an access key or a console password is present.
/// `Debug` is safe: secret fields print as `[REDACTED]`.
#[derive(Default, Debug)]
pub struct Credential {
    /// The 12-digit AWS account id.
    pub account_id: Option<String>,
    /// The IAM user name.
    pub user_name: Option<String>,
    /// The IAM user ARN.
    pub user_arn: Option<String>,
    /// The access key: its id and secret, valid by construction.
    pub access_key: Option<AccessKey>,
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

/// A field that breaks its rule: the field's name and the rule, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The payload field (`secret_access_key`, `note`, …), or `payload` for the whole.
    pub field: &'static str,
    /// What the field must be.
    pub rule: Cow<'static, str>,
}

impl FieldError {
    fn new(field: &'static str, rule: impl Into<Cow<'static, str>>) -> Self {
        FieldError {
            field,
            rule: rule.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

impl From<crate::access_key::KeyError> for FieldError {
    fn from(e: crate::access_key::KeyError) -> Self {
        FieldError::new(e.field(), e.rule())
    }
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

/// Every field of v1, in the order of the specification.
const FIELDS: [&str; 12] = [
    "format",
    "account_id",
    "user_name",
    "user_arn",
    "access_key_id",
    "secret_access_key",
    "console_password",
    "sign_in_url",
    "created_at",
    "expires_at",
    "created_by",
    "note",
];

/// The payload object's entries in order, duplicates kept (a map type would silently
/// keep the last of two equal keys, and the specification says a repeat is an error).
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn malformed(why: impl fmt::Display) -> Error {
    Error::input(format!("the bundle's payload is malformed: {why}"))
        .fix("ask the sender for a new bundle made with handoff (payload format handoff/v1)")
}

fn no_control(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

impl Credential {
    /// Whether it holds an access key pair.
    pub fn has_access_key(&self) -> bool {
        self.access_key.is_some()
    }

    /// The access key id, if any.
    pub fn access_key_id(&self) -> Option<&str> {
        self.access_key.as_ref().map(|k| k.id.as_str())
    }

    /// Checks the invariants and the rule of each field (the access key is valid by
    /// its type). The error names the field, never its value.
    pub fn validate(&self) -> std::result::Result<(), FieldError> {
        if !self.has_access_key() && self.console_password.is_none() {
            return Err(FieldError::new(
                "payload",
                "it holds neither an access key nor a console password",
            ));
        }
        if let Some(id) = &self.account_id
            && (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(FieldError::new("account_id", "must be 12 digits"));
        }
        if let Some(name) = &self.user_name
            && !valid_user_name(name)
        {
            return Err(FieldError::new("user_name", USER_NAME_RULE));
        }
        if let Some(p) = &self.console_password {
            let p = p.expose_secret();
            // IAM's own pattern is [\t\n\r\x20-\xFF]; without the controls, a password
            // from a planted bundle cannot reorder or hide what --reveal-password shows.
            let iam = |c: char| ('\u{20}'..='\u{ff}').contains(&c) && !c.is_control();
            if p.is_empty() || p.chars().count() > MAX_PASSWORD_CHARS || !p.chars().all(iam) {
                return Err(FieldError::new(
                    "console_password",
                    "must be 1-128 characters from U+0020-U+00FF (IAM's set), no control characters",
                ));
            }
        }
        for (name, value) in [
            ("user_arn", &self.user_arn),
            ("created_by", &self.created_by),
        ] {
            if let Some(v) = value
                && (!v.starts_with("arn:")
                    || v.chars().count() > MAX_ARN_CHARS
                    || !no_control(v)
                    || v.contains(char::is_whitespace))
            {
                return Err(FieldError::new(
                    name,
                    "must be an ARN (arn:…, at most 2048 characters, no spaces or control characters)",
                ));
            }
        }
        if let Some(url) = &self.sign_in_url
            && (!url.starts_with("https://")
                || url.chars().count() > MAX_ARN_CHARS
                || !no_control(url)
                || url.contains(char::is_whitespace))
        {
            return Err(FieldError::new(
                "sign_in_url",
                "must be an https:// URL (at most 2048 characters, no spaces or control characters)",
            ));
        }
        if let Some(note) = &self.note
            && note.chars().count() > MAX_NOTE_CHARS
        {
            return Err(FieldError::new(
                "note",
                format!("must be at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        Ok(())
    }

    /// Encodes the payload as JSON into a buffer that is wiped on drop.
    pub fn encode(&self) -> Result<SecretBytes> {
        self.validate().map_err(|e| {
            Error::new(
                crate::error::ExitCode::Internal,
                format!("refusing to encode an invalid payload ({e})"),
            )
        })?;
        let wire = WireOut {
            format: FORMAT_V1,
            account_id: self.account_id.as_deref(),
            user_name: self.user_name.as_deref(),
            user_arn: self.user_arn.as_deref(),
            access_key_id: self.access_key_id(),
            secret_access_key: self.access_key.as_ref().map(|k| k.secret.expose_secret()),
            console_password: self.console_password.as_ref().map(|s| s.expose_secret()),
            sign_in_url: self.sign_in_url.as_deref(),
            created_at: self.created_at.map(|t| t.to_string()),
            expires_at: self.expires_at.map(|t| t.to_string()),
            created_by: self.created_by.as_deref(),
            note: self.note.as_deref(),
        };
        // Sized up front so the buffer is not reallocated while the secret is in it
        // (the allocator wipes old blocks anyway). A 4096-character note can take
        // 6 bytes a character once escaped: size for that too.
        let mut out = crate::secret::buffer(2048 + self.note.as_ref().map_or(0, |n| n.len() * 6));
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
    /// is its own error), then every field: known, not repeated, a string (not `null`),
    /// and following its rule.
    pub fn parse(bytes: &[u8]) -> Result<Credential> {
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(malformed(format!(
                "it is larger than {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        let Entries(entries) = serde_json::from_slice(bytes)
            .map_err(|e| malformed(format!("it is not a JSON object ({})", e.classify_name())))?;
        check_format(&entries)?;
        let fields = string_fields(entries)?;
        let [
            _,
            account_id,
            user_name,
            user_arn,
            key_id,
            secret,
            password,
            sign_in_url,
            created_at,
            expires_at,
            created_by,
            note,
        ] = fields;
        let access_key = match (key_id, secret) {
            (Some(id), Some(secret)) => Some(
                AccessKey::new(&id, from_foreign(secret))
                    .map_err(|e| malformed(FieldError::from(e)))?,
            ),
            (None, None) => None,
            (Some(_), None) => {
                return Err(malformed(
                    "secret_access_key: missing (an access key id and its secret come together)",
                ));
            }
            (None, Some(_)) => {
                return Err(malformed(
                    "access_key_id: missing (an access key id and its secret come together)",
                ));
            }
        };
        let credential = Credential {
            account_id,
            user_name,
            user_arn,
            access_key,
            console_password: password.map(from_foreign),
            sign_in_url,
            created_at: parse_time("created_at", created_at)?,
            expires_at: parse_time("expires_at", expires_at)?,
            created_by,
            note,
        };
        credential.validate().map_err(malformed)?;
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

/// Whether `v` has RFC 3339's shape (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`), which
/// jiff's parser is more lenient than (basic formats, hour-only times, time zone names).
fn rfc3339_shape(v: &str) -> bool {
    let b = v.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        || !matches!(b[10], b'T' | b't')
        || !(digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':' && digits(17..19))
    {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    matches!(rest, [b'Z' | b'z'])
        || (rest.len() == 6
            && matches!(rest[0], b'+' | b'-')
            && rest[1..3].iter().all(u8::is_ascii_digit)
            && rest[3] == b':'
            && rest[4..6].iter().all(u8::is_ascii_digit))
}

fn parse_time(field: &str, value: Option<String>) -> Result<Option<Timestamp>> {
    let rule = || {
        malformed(format!(
            "{field}: must be an RFC 3339 timestamp from 1970 to 9998 (YYYY-MM-DDTHH:MM:SSZ)"
        ))
    };
    value
        .map(|v| {
            if !rfc3339_shape(&v) {
                return Err(rule());
            }
            // The range is checked on the instant, not on the text: an offset can move
            // 1970-01-01T00:00:00+05:30 into 1969, which would not read back once
            // written in UTC.
            let t = v.parse::<Timestamp>().map_err(|_| rule())?;
            let (first, last): (Timestamp, Timestamp) = (
                "1970-01-01T00:00:00Z".parse().map_err(|_| rule())?,
                "9999-01-01T00:00:00Z".parse().map_err(|_| rule())?,
            );
            if t < first || t >= last {
                return Err(rule());
            }
            Ok(t)
        })
        .transpose()
}
/// The `format` field: present once, a string, and the one version this handoff reads
/// (an unknown version is its own error, with its own hint).
fn check_format(entries: &[(String, serde_json::Value)]) -> Result<()> {
    let formats: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|(k, _)| k == "format")
        .map(|(_, v)| v)
        .collect();
    match formats.as_slice() {
        [] => return Err(malformed("it has no \"format\" field")),
        [serde_json::Value::String(f)] if f == FORMAT_V1 => {}
        [serde_json::Value::String(f)] => {
            return Err(Error::input(format!(
                "the bundle's payload has format \"{}\", which this handoff cannot read",
                crate::error::shown(f)
            ))
            .fix(format!("this handoff reads {FORMAT_V1}: upgrade handoff, or ask the sender for a {FORMAT_V1} bundle")));
        }
        [other] => {
            return Err(malformed(format!(
                "format: must be a string, not {}",
                type_name(other)
            )));
        }
        _ => return Err(malformed("the field \"format\" appears more than once")),
    }
    Ok(())
}

/// Every field but `format`, by its place in [`FIELDS`]: known, not repeated, and a
/// string (not `null`).
fn string_fields(entries: Vec<(String, serde_json::Value)>) -> Result<[Option<String>; 12]> {
    let mut fields: [Option<String>; 12] = Default::default();
    for (key, value) in entries {
        let Some(i) = FIELDS.iter().position(|f| *f == key) else {
            return Err(malformed(format!(
                "unknown field \"{}\" (a new field means a new format version)",
                crate::error::shown(&key)
            )));
        };
        let name = FIELDS[i];
        if i == 0 {
            continue;
        }
        if fields[i].is_some() {
            return Err(malformed(format!(
                "the field \"{name}\" appears more than once"
            )));
        }
        match value {
            serde_json::Value::String(s) => fields[i] = Some(s),
            serde_json::Value::Null => {
                return Err(malformed(format!(
                    "{name}: must be a string; null is not allowed (an absent field is left out)"
                )));
            }
            other => {
                return Err(malformed(format!(
                    "{name}: must be a string, not {}",
                    type_name(&other)
                )));
            }
        }
    }
    Ok(fields)
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
            access_key: Some(
                AccessKey::new(
                    "AKIAIOSFODNN7EXAMPLE",
                    from_foreign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
                )
                .unwrap(),
            ),
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
        assert_eq!(back.access_key_id(), c.access_key_id());
        assert_eq!(
            back.access_key.unwrap().secret.expose_secret(),
            c.access_key.unwrap().secret.expose_secret()
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
        assert!(e.what.contains("come together"), "{}", e.what);
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

    fn error_of(json: &str) -> String {
        match Credential::parse(json.as_bytes()) {
            Ok(_) => panic!("accepted {json}"),
            Err(e) => e.what,
        }
    }

    /// Issue 10: a planted bundle (anyone can make one with `age -e`) put shell code in
    /// the secret access key; `--env` then ran it. The payload rules now refuse it.
    #[test]
    fn a_secret_with_shell_or_json_syntax_is_refused_naming_the_rule() {
        for secret in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEK'$(id)'",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEK\\\"",
            "x\",\"SessionToken\":\"t",
        ] {
            let json = format!(
                r#"{{"format":"handoff/v1","access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":{}}}"#,
                serde_json::to_string(secret).unwrap()
            );
            let e = error_of(&json);
            assert_eq!(
                e,
                "the bundle's payload is malformed: secret_access_key: must be 40 characters of A-Z a-z 0-9 / +"
            );
        }
        let e = error_of(
            r#"{"format":"handoff/v1","access_key_id":"AKIA'; rm -rf ~; '","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#,
        );
        assert_eq!(
            e,
            "the bundle's payload is malformed: access_key_id: must be 20 characters: AKIA or ASIA, then 16 of A-Z 0-9"
        );
    }

    #[test]
    fn null_duplicates_and_wrong_types_name_the_field() {
        let base = r#""format":"handoff/v1","console_password":"p""#;
        assert_eq!(
            error_of(&format!("{{{base},\"note\":null}}")),
            "the bundle's payload is malformed: note: must be a string; null is not allowed (an absent field is left out)"
        );
        assert_eq!(
            error_of(&format!("{{{base},\"note\":\"a\",\"note\":\"b\"}}")),
            "the bundle's payload is malformed: the field \"note\" appears more than once"
        );
        assert_eq!(
            error_of(&format!("{{{base},\"account_id\":123456789012}}")),
            "the bundle's payload is malformed: account_id: must be a string, not a number"
        );
        assert_eq!(
            error_of(r#"{"format":"handoff/v1","format":"handoff/v1","console_password":"p"}"#),
            "the bundle's payload is malformed: the field \"format\" appears more than once"
        );
        assert_eq!(
            error_of(&format!("{{{base},\"user_name\":\"a b\"}}")),
            "the bundle's payload is malformed: user_name: must be 1-64 of A-Z a-z 0-9 + = , . @ _ -"
        );
        assert_eq!(
            error_of(&format!("{{{base},\"colour\":\"red\"}}")),
            "the bundle's payload is malformed: unknown field \"colour\" (a new field means a new format version)"
        );
    }

    /// Found by the review: jiff accepts forms RFC 3339 does not (and years botocore
    /// cannot read back from credential_process); the payload takes RFC 3339 only.
    #[test]
    fn timestamps_are_rfc_3339_from_1970_to_9998() {
        let with = |t: &str| {
            Credential::parse(
                format!(r#"{{"format":"handoff/v1","console_password":"p","expires_at":"{t}"}}"#)
                    .as_bytes(),
            )
        };
        for ok in [
            "2026-11-23T10:00:00Z",
            "2026-11-23t10:00:00.123z",
            "2026-11-23T10:00:00+05:30",
            "1970-01-01T00:00:00Z",
            "1970-01-01T00:00:00-01:00",
        ] {
            assert!(with(ok).is_ok(), "{ok}");
        }
        for bad in [
            "20261123T100000Z",
            "2026-11-23T10Z",
            "2026-11-23T10:00:00+2500",
            "2026-11-23T10:00:00+05:30[Asia/Kolkata]",
            "+002026-11-23T10:00:00Z",
            "-000001-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1970-01-01T00:00:00+05:30",
            "9998-12-31T23:00:00-05:00",
            "2026-11-23 10:00:00Z",
            "2026-11-23T10:00:00.Z",
        ] {
            let e = with(bad).err().map(|e| e.what).unwrap_or_default();
            assert_eq!(
                e,
                "the bundle's payload is malformed: expires_at: must be an RFC 3339 timestamp from 1970 to 9998 (YYYY-MM-DDTHH:MM:SSZ)",
                "{bad}"
            );
        }
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
            id in "(AKIA|ASIA)[A-Z0-9]{16}",
            secret in "[A-Za-z0-9/+]{40}",
            password in proptest::option::of("[ -~]{1,64}"),
            note in proptest::option::of("\\PC{0,50}"),
            account in proptest::option::of("[0-9]{12}"),
        ) {
            let c = Credential {
                access_key: Some(AccessKey::new(&id, from_foreign(secret.clone())).unwrap()),
                console_password: password.clone().map(from_foreign),
                note: note.clone(),
                account_id: account.clone(),
                ..Default::default()
            };
            let back = Credential::parse(&c.encode().unwrap()).unwrap();
            prop_assert_eq!(back.access_key_id(), Some(id.as_str()));
            let back_key = back.access_key.unwrap();
            prop_assert_eq!(back_key.secret.expose_secret(), secret.as_str());
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
