//! Console CSV parser: never panics; an access key it reads survives a write in the
//! console's format and a read back.
#![no_main]
use handoff::console_csv;
use handoff::secret::ExposeSecret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = console_csv::parse(data) {
        if let (Some(id), Some(secret)) = (&c.access_key_id, &c.secret_access_key) {
            let written = console_csv::access_key_csv(id, secret);
            let back = console_csv::parse(&written).expect("our own CSV parses");
            assert_eq!(back.access_key_id.as_deref(), Some(id.as_str()));
            assert_eq!(back.secret_access_key.unwrap().expose_secret(), secret.expose_secret());
        }
    }
});
