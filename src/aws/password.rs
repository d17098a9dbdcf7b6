//! Console passwords drawn from the OS RNG that meet any IAM password policy: every
//! character class IAM can require (upper, lower, digit, symbol) is always present, and
//! the length is the policy's minimum or 24, whichever is longer.

use rand::Rng;
use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::secret::{SecretString, Zeroizing};

use super::PasswordPolicy;

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGIT: &[u8] = b"23456789";
/// IAM's accepted symbols: ! @ # $ % ^ & * ( ) _ + - = [ ] { } | '
const SYMBOL: &[u8] = b"!@#$%^&*()_+-=[]{}|";

/// A new password satisfying `policy` (AWS's defaults when None).
pub fn generate(policy: Option<&PasswordPolicy>) -> SecretString {
    let len = policy.map(|p| p.min_length).unwrap_or(8).clamp(24, 128);
    let mut rng = OsRng.unwrap_err();
    let all: Vec<u8> = [UPPER, LOWER, DIGIT, SYMBOL].concat();
    let mut bytes = Zeroizing::new(Vec::with_capacity(len));
    for class in [UPPER, LOWER, DIGIT, SYMBOL] {
        bytes.push(class[rng.random_range(0..class.len())]);
    }
    while bytes.len() < len {
        bytes.push(all[rng.random_range(0..all.len())]);
    }
    // Fisher-Yates, so the required classes are not always first.
    for i in (1..bytes.len()).rev() {
        let j = rng.random_range(0..=i);
        bytes.swap(i, j);
    }
    let text = String::from_utf8(bytes.to_vec()).expect("ASCII");
    crate::secret::from_foreign(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret;

    #[test]
    fn meets_every_class_and_the_minimum_length() {
        for min in [0, 8, 30, 128] {
            let p = generate(Some(&PasswordPolicy { min_length: min }));
            let s = p.expose_secret();
            assert!(s.len() >= min.max(24));
            assert!(s.bytes().any(|b| UPPER.contains(&b)));
            assert!(s.bytes().any(|b| LOWER.contains(&b)));
            assert!(s.bytes().any(|b| DIGIT.contains(&b)));
            assert!(s.bytes().any(|b| SYMBOL.contains(&b)));
        }
    }

    #[test]
    fn two_passwords_differ() {
        assert_ne!(
            generate(None).expose_secret(),
            generate(None).expose_secret()
        );
    }
}
