//! Credentials-file merge: never panics; adding a profile keeps the old text as a
//! prefix; replacing is idempotent; the result holds the profile exactly once.
#![no_main]
use handoff::credentials_file::{MergeError, merge};
use libfuzzer_sys::fuzz_target;

const E: &[(&str, &str)] = &[("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"), ("aws_secret_access_key", "S")];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match merge(text, "p", E, false) {
        Ok(out) => assert!(out.starts_with(text)),
        Err(MergeError::Exists) | Err(MergeError::Duplicate) | Err(MergeError::Malformed(_)) => {}
    }
    if let Ok(once) = merge(text, "p", E, true) {
        let twice = merge(&once, "p", E, true).expect("a merged file merges again");
        assert_eq!(&*once, &*twice, "replace is idempotent");
    }
});
