//! The `credential_process` JSON (Version 1) that the AWS CLI and SDKs read from a
//! credential process's standard output. Written by `serde_json` (so any string is
//! escaped as JSON requires) straight into a zeroizing buffer sized up front.

use serde::Serialize;

use crate::secret::{ExposeSecret, SecretBytes, SecretString};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessCredentials<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

/// The JSON document and a newline.
pub fn encode(id: &str, secret: &SecretString, expires: Option<jiff::Timestamp>) -> SecretBytes {
    let doc = ProcessCredentials {
        version: 1,
        access_key_id: id,
        secret_access_key: secret.expose_secret(),
        expiration: expires.map(|t| t.to_string()),
    };
    // An escaped character takes at most 6 bytes (\uXXXX): no reallocation, so no copy
    // of the secret is left behind in a freed block.
    let mut out = crate::secret::buffer(128 + 6 * (id.len() + secret.expose_secret().len()));
    serde_json::to_writer(&mut *out, &doc).expect("writing JSON to memory cannot fail");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::from_foreign;

    #[test]
    fn the_document_is_version_1_with_the_pascal_case_names() {
        let out = encode(
            "AKIAIOSFODNN7EXAMPLE",
            &from_foreign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            Some("2026-12-01T00:00:00Z".parse().unwrap()),
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"AKIAIOSFODNN7EXAMPLE\",\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\"Expiration\":\"2026-12-01T00:00:00Z\"}\n"
        );
    }

    #[test]
    fn quotes_and_controls_are_escaped() {
        let out = encode(
            "a\"b",
            &from_foreign("x\",\"SessionToken\":\"t\n".into()),
            None,
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["AccessKeyId"], "a\"b");
        assert_eq!(v["SecretAccessKey"], "x\",\"SessionToken\":\"t\n");
        assert!(v.get("SessionToken").is_none());
    }
}
