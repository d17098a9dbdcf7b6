//! Recipient parsing as handoff uses it (age's parser behind `--to`): never panics, and
//! an accepted value yields at least one recipient; errors never echo a secret key.
#![no_main]
use handoff::sealing::recipients::{RecipientArgs, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    // Only values that cannot name a file: the target must not read the disk.
    if value.is_empty() || value.contains('/') || value == "-" || std::path::Path::new(value).exists() {
        return;
    }
    let args = RecipientArgs { strings: vec![value.to_string()], ..Default::default() };
    match parse(&args) {
        Ok(r) => assert!(!r.is_empty()),
        Err(e) => {
            if value.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-1") {
                assert!(!e.what.contains(value));
            }
        }
    }
});
