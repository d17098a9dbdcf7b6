//! Where plaintext may go: one encoder per consumer, each built with the consumer's own
//! rules and proven against the real consumer in the tests (`tests/it/encoders.rs`):
//! [`sh`] for `eval` in a POSIX shell, [`process_json`] for the AWS SDKs'
//! `credential_process`. Every encoder is correct for *any* input string, not only for
//! the validated keys it is normally given, and writes into a zeroizing buffer.

pub mod process_json;
pub mod sh;
