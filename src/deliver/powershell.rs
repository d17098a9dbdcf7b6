//! PowerShell quoting for `open --env=powershell`, whose output users run with
//! `Out-String | Invoke-Expression`. In a single-quoted PowerShell string nothing is
//! special but the quote itself, written twice to stand for one; PowerShell counts the
//! typographic quotes U+2018 to U+201B as single quotes too, so each of those is written
//! twice as well. Correct for every string without NUL (refused).

use super::sh::NulInValue;
use crate::secret::SecretBytes;

/// The characters PowerShell reads as a single quote.
fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}')
}

/// Appends `value`, single-quoted for PowerShell, to `out`.
pub fn quote_into(out: &mut Vec<u8>, value: &str) -> Result<(), NulInValue> {
    if value.contains('\0') {
        return Err(NulInValue);
    }
    out.push(b'\'');
    let mut utf8 = [0; 4];
    for c in value.chars() {
        let encoded = c.encode_utf8(&mut utf8).as_bytes();
        if is_single_quote(c) {
            out.extend_from_slice(encoded);
        }
        out.extend_from_slice(encoded);
    }
    out.push(b'\'');
    Ok(())
}

/// `$env:NAME = 'value'` for each pair, then a `Remove-Item Env:NAME` for each name in
/// `unset`, into a buffer that is wiped on drop. Names are ours, never input.
pub fn exports(vars: &[(&str, &str)], unset: &[&str]) -> Result<SecretBytes, NulInValue> {
    let size: usize = vars.iter().map(|(n, v)| n.len() + 12 + v.len() * 2).sum();
    let mut out = crate::secret::buffer(size + 64 * unset.len());
    for (name, value) in vars {
        out.extend_from_slice(b"$env:");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b" = ");
        quote_into(&mut out, value)?;
        out.push(b'\n');
    }
    for name in unset {
        out.extend_from_slice(b"Remove-Item Env:");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b" -ErrorAction SilentlyContinue\n");
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

    /// PowerShell's rules (about_Quoting_Rules): in single quotes `$`, backticks,
    /// double quotes and newlines are literal; each single quote, typographic ones
    /// included, is doubled.
    #[test]
    fn every_kind_of_single_quote_is_doubled_and_nothing_else_changes() {
        for (value, expected) in [
            ("abc", "'abc'"),
            ("", "''"),
            ("a'b", "'a''b'"),
            ("\u{2018}x\u{2019}", "'\u{2018}\u{2018}x\u{2019}\u{2019}'"),
            ("\u{201a}\u{201b}", "'\u{201a}\u{201a}\u{201b}\u{201b}'"),
            (
                "$env:HOME `n \"$(Get-Date)\"",
                "'$env:HOME `n \"$(Get-Date)\"'",
            ),
            ("line\nbreak", "'line\nbreak'"),
            ("\u{201c}double\u{201d}", "'\u{201c}double\u{201d}'"),
        ] {
            assert_eq!(quoted(value), expected, "{value:?}");
        }
        assert_eq!(quote_into(&mut Vec::new(), "a\0b"), Err(NulInValue));
    }

    /// Reads a quoted string back as PowerShell's tokenizer does: the proof that the
    /// quoting is exact for any value, when no PowerShell is installed to ask.
    fn unquote(s: &str) -> String {
        let inner: Vec<char> = s.chars().collect();
        assert!(is_single_quote(inner[0]) && is_single_quote(*inner.last().unwrap()));
        let mut out = String::new();
        let mut i = 1;
        while i < inner.len() - 1 {
            let c = inner[i];
            if is_single_quote(c) {
                // Inside, a quote must be followed by a quote, or the string ends early.
                assert!(
                    i + 1 < inner.len() - 1 && is_single_quote(inner[i + 1]),
                    "{s:?}"
                );
                i += 1;
            }
            out.push(c);
            i += 1;
        }
        out
    }

    #[test]
    fn any_value_reads_back_exactly() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let alphabet: Vec<char> = "'\u{2018}\u{2019}\u{201a}\u{201b}\u{201c}$`\"\\\n a\u{e9}()"
            .chars()
            .collect();
        for _ in 0..2000 {
            let mut v = String::new();
            for _ in 0..(rng % 12) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                v.push(alphabet[(rng % alphabet.len() as u64) as usize]);
            }
            rng = rng.wrapping_add(0x9e37_79b9);
            assert_eq!(unquote(&quoted(&v)), v);
        }
    }
}
