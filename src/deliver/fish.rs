//! fish quoting for `open --env=fish`, whose output users pipe to `source`. Inside fish's
//! single quotes only two sequences are special, `\\` and `\'`; every other character,
//! a newline or a `$` included, is literal. So `\` becomes `\\` and `'` becomes `\'`:
//! correct for every string without NUL, which no variable can hold (refused).

use super::sh::NulInValue;
use crate::secret::SecretBytes;

/// Appends `value`, single-quoted for fish, to `out`.
pub fn quote_into(out: &mut Vec<u8>, value: &str) -> Result<(), NulInValue> {
    if value.contains('\0') {
        return Err(NulInValue);
    }
    out.push(b'\'');
    for &b in value.as_bytes() {
        if b == b'\'' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'\'');
    Ok(())
}

/// `set -e NAME; or true` for each name in `unset` (erasing an unset variable fails, and
/// fish's `set` leaves the status as it found it: without the `true`, `source` would
/// end with that failure), then `set -gx NAME 'value'` for each pair, into a buffer
/// that is wiped on drop. Names are ours, never input.
pub fn exports(vars: &[(&str, &str)], unset: &[&str]) -> Result<SecretBytes, NulInValue> {
    let size: usize = vars.iter().map(|(n, v)| n.len() + 12 + v.len() * 2).sum();
    let mut out = crate::secret::buffer(size + 16 * unset.len());
    for name in unset {
        out.extend_from_slice(b"set -e ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"; or true\n");
    }
    for (name, value) in vars {
        out.extend_from_slice(b"set -gx ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        quote_into(&mut out, value)?;
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
    fn quotes_and_backslashes_are_escaped_and_nothing_else() {
        assert_eq!(quoted("abc"), "'abc'");
        assert_eq!(quoted(""), "''");
        assert_eq!(quoted("a'b"), r"'a\'b'");
        assert_eq!(quoted(r"a\b\'"), r"'a\\b\\\''");
        assert_eq!(quoted("$(id)\n(x)*"), "'$(id)\n(x)*'");
        assert_eq!(quote_into(&mut Vec::new(), "a\0b"), Err(NulInValue));
    }

    #[test]
    fn unsets_then_exports() {
        let out = exports(&[("A", "x'y")], &["B"]).unwrap();
        assert_eq!(&out[..], b"set -e B; or true\nset -gx A 'x\\'y'\n");
    }
}
