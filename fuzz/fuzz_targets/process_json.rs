//! credential_process JSON encoder: for any id and secret, the document is valid JSON
//! with exactly Version, AccessKeyId and SecretAccessKey, holding exactly those values.
#![no_main]
use handoff::deliver::process_json;
use handoff::secret::from_foreign;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: (String, String)| {
    let (id, secret) = data;
    let out = process_json::encode(&id, &from_foreign(secret.clone()), None);
    assert_eq!(out.last(), Some(&b'\n'));
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    let o = v.as_object().expect("an object");
    assert_eq!(o.len(), 3);
    assert_eq!(o["Version"], 1);
    assert_eq!(o["AccessKeyId"].as_str(), Some(id.as_str()));
    assert_eq!(o["SecretAccessKey"].as_str(), Some(secret.as_str()));
});
