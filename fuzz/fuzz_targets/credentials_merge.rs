//! Credentials-file merge: never panics and never fails its own read-back; adding keeps
//! the old text as a prefix; replacing keeps every byte outside the profile and is
//! idempotent; the profile then reads back (configparser's reading) as exactly E.
#![no_main]
use handoff::deliver::credentials_file::{MergeError, merge, profile};
use libfuzzer_sys::fuzz_target;

const E: &[(&str, &str)] = &[("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"), ("aws_secret_access_key", "S")];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match (merge(text, "p", E, false), profile(text, "p")) {
        (Ok(out), Ok(None)) => assert!(out.starts_with(text)),
        (Err(MergeError::Exists), Ok(Some(_))) | (Err(_), Err(_)) => {}
        (Err(MergeError::Inherits(_)), Ok(_)) => {}
        (add, had) => panic!("add {add:?} but the profile read {:?}", had.map(|p| p.is_some())),
    }
    let once = match merge(text, "p", E, true) {
        Ok(once) => once,
        Err(e) => return assert_ne!(e, MergeError::Unverified),
    };
    assert_eq!(*merge(&once, "p", E, true).expect("merges again"), *once, "idempotent");
    let got = profile(&once, "p").unwrap().expect("the profile is there");
    assert!(got.iter().map(|(k, v)| (k.as_str(), v.as_str())).eq(E.iter().copied()));
    let kept = ["\n", "\r\n"].iter().any(|eol| {
        let section = format!("[p]{eol}aws_access_key_id = AKIAIOSFODNN7EXAMPLE{eol}aws_secret_access_key = S{eol}");
        once.match_indices(&section).any(|(i, s)| {
            let (head, tail) = (&once[..i], &once[i + s.len()..]);
            let added = head.strip_prefix(text).filter(|_| tail.is_empty());
            let appended = added.is_some_and(|a| a.bytes().all(|b| b == b'\n' || b == b'\r'));
            appended || (head.len() + tail.len() <= text.len() && text.starts_with(head) && text.ends_with(tail))
        })
    });
    assert!(kept, "bytes outside the profile changed");
});
