//! Console CSV parser: never panics; an access key it reads survives a write in the
//! console's format and a read back.
#![no_main]
use handoff::console_csv;
use handoff::secret::ExposeSecret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = console_csv::parse(data) {
        if let Some(key) = &c.access_key {
            let written = console_csv::access_key_csv(key.id.as_str(), key.secret.as_secret());
            let back = console_csv::parse(&written).expect("our own CSV parses");
            assert_eq!(back.access_key_id(), Some(key.id.as_str()));
            assert_eq!(back.access_key.unwrap().secret.expose_secret(), key.secret.expose_secret());
        }
    }
});
