//! `open` on arbitrary bytes with a fixed identity: never panics, never returns more
//! than the payload cap, and bounded memory (libFuzzer's -rss_limit_mb).
#![no_main]
use handoff::sealing::age_file::{Unlock, open};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let identity: age::x25519::Identity =
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX".parse().unwrap();
    let no_prompt = || Err(handoff::error::Error::input("no passphrase in fuzzing"));
    if let Ok(plaintext) = open(data, Unlock { identity_files: vec![], extra: vec![Box::new(identity)], ask_passphrase: &no_prompt }) {
        assert!(plaintext.len() <= handoff::bundle::MAX_PAYLOAD_BYTES);
        let _ = handoff::bundle::Credential::parse(&plaintext);
    }
});
