//! Reads an age file's header without decrypting anything: the recipient stanza types
//! (`X25519`, `ssh-ed25519`, `ssh-rsa`, `scrypt`, plugin names) and their count. Pure
//! and capped, so it can be fuzzed. Spec: <https://age-encryption.org/v1>.

use std::io::{BufReader, Read};

use age::armor::ArmoredReader;

use crate::error::{Error, Result};

/// Largest header read (bytes).
const MAX_HEADER_BYTES: u64 = 256 * 1024;

/// What the header of an age file says.
#[derive(Debug, PartialEq, Eq)]
pub struct Header {
    /// The type of each recipient stanza, in order (grease stanzas left out).
    pub stanza_types: Vec<String>,
    /// How many grease stanzas (random `*-grease` stanzas that age adds so that
    /// parsers stay tolerant; they are nobody's).
    pub grease: usize,
}

fn not_age() -> Error {
    Error::decrypt("this is not an age file, or its header is damaged")
        .fix("pass the .age bundle that `handoff create` or `handoff seal` wrote")
}

/// Parses the header of an age file, armored or binary.
pub fn parse(bundle: &[u8]) -> Result<Header> {
    let mut head = Vec::new();
    ArmoredReader::new(BufReader::new(bundle))
        .take(MAX_HEADER_BYTES)
        .read_to_end(&mut head)
        .or_else(|e| {
            // A damaged payload after the header still lets us read the header.
            if head.is_empty() {
                Err(e)
            } else {
                Ok(head.len())
            }
        })
        .map_err(|_| not_age())?;
    let mut lines = head.split(|&b| b == b'\n');
    if lines.next() != Some(b"age-encryption.org/v1") {
        return Err(not_age());
    }
    let mut stanza_types = Vec::new();
    let mut grease = 0;
    for line in lines {
        if let Some(rest) = line.strip_prefix(b"-> ") {
            let kind = rest.split(|&b| b == b' ').next().unwrap_or_default();
            let kind = std::str::from_utf8(kind).map_err(|_| not_age())?;
            if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_graphic()) {
                return Err(not_age());
            }
            if kind.ends_with("-grease") {
                grease += 1;
            } else {
                stanza_types.push(kind.to_string());
            }
        } else if line.starts_with(b"---") {
            if stanza_types.is_empty() {
                return Err(not_age());
            }
            return Ok(Header {
                stanza_types,
                grease,
            });
        }
    }
    Err(not_age())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stanza_types() {
        let h = b"age-encryption.org/v1\n-> X25519 abc\nZGVm\n-> ssh-ed25519 x y\nZGVm\n--- mac\n\x00\x01";
        assert_eq!(
            parse(h).unwrap().stanza_types,
            vec!["X25519", "ssh-ed25519"]
        );
    }

    #[test]
    fn refuses_non_age_and_truncated_headers() {
        assert!(parse(b"hello").is_err());
        assert!(parse(b"age-encryption.org/v1\n-> X25519 abc\n").is_err());
        assert!(parse(b"age-encryption.org/v1\n--- mac\n").is_err());
        assert!(parse(b"").is_err());
    }
}
