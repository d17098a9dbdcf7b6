//! Secret types. A secret is never a bare `String` or `Vec<u8>`: it is a
//! [`SecretString`] or [`SecretBytes`], which have no `Debug`/`Display` that shows the
//! value, cannot be cloned by accident, and are wiped on drop. Foreign secret types (SDK
//! output, keychain reads, CSV cells) become ours in [`from_foreign`] at the boundary;
//! `expose_secret()` is called only at the final use. Both kinds have their pages locked
//! out of swap and core dumps where the system allows ([`crate::memlock`]).

pub use age::secrecy::{ExposeSecret, SecretBox, SecretString};
pub use zeroize::{Zeroize, Zeroizing};

/// Secret bytes (a plaintext payload, a file holding secrets), wiped on drop.
pub type SecretBytes = Zeroizing<Vec<u8>>;

/// The one boundary function: takes ownership of a foreign `String` holding a secret
/// and turns it into ours. Shrinking to a boxed str may move the bytes; the old block
/// is wiped by the zero-on-free allocator.
pub fn from_foreign(s: String) -> SecretString {
    let s = SecretString::from(s);
    crate::memlock::lock(s.expose_secret().as_bytes());
    s
}

/// An empty secret buffer with room for `capacity` bytes, its pages locked. Size it for
/// the whole secret: growing past it moves the bytes to pages that are not locked.
pub fn buffer(capacity: usize) -> SecretBytes {
    let v = Vec::with_capacity(capacity);
    crate::memlock::lock_allocation(&v);
    SecretBytes::new(v)
}

/// Compares two secrets in constant time with respect to their contents.
pub fn secrets_equal(a: &SecretString, b: &SecretString) -> bool {
    let (a, b) = (a.expose_secret().as_bytes(), b.expose_secret().as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = from_foreign("wJalrXUtnFEMI/K7MDENG".to_string());
        let shown = format!("{s:?}");
        assert!(!shown.contains("wJalr"), "{shown}");
    }

    #[test]
    fn equality_is_by_content() {
        let a = from_foreign("abc".into());
        assert!(secrets_equal(&a, &from_foreign("abc".into())));
        assert!(!secrets_equal(&a, &from_foreign("abd".into())));
        assert!(!secrets_equal(&a, &from_foreign("ab".into())));
    }
}
