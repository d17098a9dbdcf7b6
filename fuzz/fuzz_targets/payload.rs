//! Payload parser: never panics; whatever parses re-encodes to bytes that parse to the
//! same encoding (parse → encode → parse → encode is stable).
#![no_main]
use handoff::bundle::Credential;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Credential::parse(data) {
        let once = c.encode().expect("a parsed payload encodes");
        let again = Credential::parse(&once).expect("an encoded payload parses");
        assert_eq!(&once[..], &again.encode().unwrap()[..]);
    }
});
