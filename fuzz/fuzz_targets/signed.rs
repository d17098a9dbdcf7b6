//! Signed envelopes: any bytes that unwrap as a signed envelope are refused by the
//! check (nobody can forge the fixed key's signature); and any payload signed with the
//! fixed key unwraps to the same bytes and passes the check (round trip). Never panics.
#![no_main]
use handoff::secret::SecretBytes;
use handoff::sealing::signing::{Opened, check, sign, unwrap};
use libfuzzer_sys::fuzz_target;
use ssh_key::PrivateKey;
use ssh_key::private::Ed25519Keypair;

fuzz_target!(|data: &[u8]| {
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&[7; 32]));
    let trusted = [key.public_key().clone()];
    let mine = ["age1me".to_string()];
    if let Some((&0, payload)) = data.split_first()
        && let Ok(text) = std::str::from_utf8(payload)
    {
        let envelope = sign(text.as_bytes(), &mine, &key, jiff_now()).expect("signing valid UTF-8 works");
        let Ok(Opened::Signed(s)) = unwrap(envelope) else { panic!("a signed envelope must unwrap as signed") };
        assert_eq!(&s.payload[..], text.as_bytes());
        check(&s, &trusted, &mine).expect("a fresh signature checks");
        return;
    }
    if let Ok(Opened::Signed(s)) = unwrap(SecretBytes::new(data.to_vec())) {
        assert!(check(&s, &trusted, &mine).is_err(), "a forged envelope passed the check");
    }
});

fn jiff_now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).unwrap()
}
