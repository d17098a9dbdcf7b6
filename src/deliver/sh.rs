//! POSIX shell quoting for `open --env`, whose output users `eval`. A value is wrapped in
//! single quotes, inside which every byte but `'` is literal in sh, dash, bash, zsh and
//! ksh; a `'` becomes `'\''` (close, an escaped quote, reopen). That is correct for every
//! string without NUL, which no shell variable can hold: a NUL is refused.

use crate::secret::SecretBytes;

/// A value no shell variable can hold.
#[derive(Debug, PartialEq, Eq)]
pub struct NulInValue;

/// Appends `value`, single-quoted, to `out`.
pub fn quote_into(out: &mut Vec<u8>, value: &str) -> Result<(), NulInValue> {
    if value.contains('\0') {
        return Err(NulInValue);
    }
    out.push(b'\'');
    for &b in value.as_bytes() {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    Ok(())
}

/// `export NAME='value'` lines for each pair, then `unset` for each name in `unset`,
/// into a buffer that is wiped on drop. Names are ours (fixed, `[A-Z_][A-Z0-9_]*`), never input.
pub fn exports(vars: &[(&str, &str)], unset: &[&str]) -> Result<SecretBytes, NulInValue> {
    let size: usize = vars.iter().map(|(n, v)| n.len() + 12 + v.len() * 4).sum();
    let mut out = crate::secret::buffer(size + 16 * unset.len());
    for (name, value) in vars {
        debug_assert!(
            !name.starts_with(|c: char| c.is_ascii_digit())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        );
        out.extend_from_slice(b"export ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        quote_into(&mut out, value)?;
        out.push(b'\n');
    }
    for name in unset {
        out.extend_from_slice(b"unset ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(v: &str) -> String {
        let mut out = Vec::new();
        quote_into(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_are_closed_escaped_and_reopened() {
        assert_eq!(quoted("abc"), "'abc'");
        assert_eq!(quoted(""), "''");
        assert_eq!(quoted("a'b"), "'a'\\''b'");
        assert_eq!(quoted("'$(id)'"), "''\\''$(id)'\\'''");
        assert_eq!(quoted("`x`\\\n$HOME"), "'`x`\\\n$HOME'");
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(quote_into(&mut Vec::new(), "a\0b"), Err(NulInValue));
    }

    #[test]
    fn exports_then_unsets() {
        let out = exports(&[("A", "x'y")], &["B"]).unwrap();
        assert_eq!(&out[..], b"export A='x'\\''y'\nunset B\n");
    }
}
