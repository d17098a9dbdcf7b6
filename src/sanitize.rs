//! Makes untrusted text safe to print on a terminal: every character that a terminal
//! acts on, or that a reader cannot see, is replaced by a visible escape `\u{hex}`
//! (lower-case hex, as Rust writes it). Untrusted means anything handoff did not write
//! itself: payload fields of a bundle anyone could have made with `age -e`, file names,
//! IAM and AWS answers, keychain attributes, key comments, age header stanza types.
//! Like fd's `src/sanitize.rs`, with a wider set (see [`Class`]) and one more rule:
//!
//! **The escape is unambiguous.** A value holding the literal text `\u{202e}` must not
//! print like one holding U+202E, so a run of backslashes right before `u{`, or before
//! an escape, is doubled (the rule Windows uses for backslashes before a quote):
//! `\u{202e}` typed by an attacker prints as `\\u{202e}`, and `\` then U+202E as
//! `\\\u{202e}`. Every other backslash prints as it is, so `C:\Users\alice` and
//! `\n` are unchanged. Reading back: a run of k backslashes before `u{` stands for
//! k/2 backslashes when k is even, and for (k-1)/2 backslashes and an escape when k is
//! odd ([`tests::unescape`] is that reader, and the property tests prove the round
//! trip). Escaping is therefore one-to-one, and its output never contains a character
//! of any class: what you see is all there is, and two values that differ print
//! differently.
//!
//! Not escaped, on purpose: ordinary and wide spaces (U+0020, U+00A0, U+2000–U+200A,
//! U+3000: visible as blank space), look-alike letters (Cyrillic `а`: not a terminal
//! problem, and escaping every non-ASCII letter would garble real names), combining
//! marks, private-use and unassigned code points (terminals draw a box for these).

use std::fmt::Write as _;

/// Why a character is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// C0 controls, DEL and C1 controls (U+0000–U+001F, U+007F–U+009F): ESC starts
    /// the terminal's escape sequences (title, clipboard, screen clearing, cursor
    /// moves), and U+009B is CSI on its own. Tab and newline too: a value is one line.
    Control,
    /// Bidi controls and isolates (U+061C, U+200E, U+200F, U+202A–U+202E,
    /// U+2066–U+2069): they reorder what follows ("Trojan Source").
    Bidi,
    /// Zero-width and invisible characters: U+200B–U+200D (zero-width space,
    /// non-joiner, joiner: this also breaks emoji joined with U+200D, which then
    /// show as their parts), U+2060–U+2064 (word joiner, invisible operators),
    /// U+FEFF (BOM), U+00AD (soft hyphen: drawn only at a line break), U+034F
    /// (combining grapheme joiner), U+180E (Mongolian vowel separator).
    Invisible,
    /// The other Unicode format characters (general category Cf, Unicode 15) and the
    /// holes in the U+2060–U+206F block: U+0600–U+0605, U+06DD, U+070F,
    /// U+0890–U+0891, U+08E2, U+2065, U+206A–U+206F (deprecated format characters),
    /// U+FFF9–U+FFFB (interlinear annotation: hides the annotated text), U+110BD,
    /// U+110CD, U+13430–U+1343F, U+1BCA0–U+1BCA3, U+1D173–U+1D17A.
    Format,
    /// Line and paragraph separators (U+2028, U+2029): line breaks to some
    /// terminals and viewers, and a value is one line.
    LineBreak,
    /// Unicode tag characters (U+E0000–U+E007F): invisible ASCII look-alikes that can
    /// carry hidden text (also the tail of subdivision flags such as England's, which
    /// then show as a black flag and escapes).
    Tag,
    /// Variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF, Mongolian U+180B–U+180D
    /// and U+180F): invisible, and a run of them can smuggle any bytes after one
    /// visible character. Also the emoji presentation selector U+FE0F: `❤️` shows as
    /// `❤\u{fe0f}`, the price of seeing everything.
    VariationSelector,
    /// Letters drawn as blank (Hangul fillers U+115F, U+1160, U+3164, U+FFA0, and the
    /// blank Braille pattern U+2800): used to make names that look empty or equal.
    Filler,
}

/// The class of a character that is escaped, or `None` for one printed as it is.
pub fn class(c: char) -> Option<Class> {
    Some(match c {
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Class::Control,
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            Class::Bidi
        }
        '\u{200b}'..='\u{200d}'
        | '\u{2060}'..='\u{2064}'
        | '\u{feff}'
        | '\u{ad}'
        | '\u{34f}'
        | '\u{180e}' => Class::Invisible,
        '\u{600}'..='\u{605}'
        | '\u{6dd}'
        | '\u{70f}'
        | '\u{890}'..='\u{891}'
        | '\u{8e2}'
        | '\u{2065}'
        | '\u{206a}'..='\u{206f}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}'
        | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}' => Class::Format,
        '\u{2028}' | '\u{2029}' => Class::LineBreak,
        '\u{e0000}'..='\u{e007f}' => Class::Tag,
        '\u{fe00}'..='\u{fe0f}'
        | '\u{e0100}'..='\u{e01ef}'
        | '\u{180b}'..='\u{180d}'
        | '\u{180f}' => Class::VariationSelector,
        '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' | '\u{2800}' => Class::Filler,
        _ => return None,
    })
}

/// Whether `c` is printed as an escape.
pub fn is_escaped(c: char) -> bool {
    class(c).is_some()
}

/// The backstop at the last step before the terminal (error lines, progress lines): any
/// character of a [`Class`] still raw in a message that was put together elsewhere is
/// escaped; backslashes are left alone, since the message may already hold escapes
/// made by [`escape`]. Not one-to-one: untrusted values go through [`escape`] first,
/// this only guarantees that nothing raw reaches the terminal.
pub fn escape_raw(message: &str) -> std::borrow::Cow<'_, str> {
    if !message.chars().any(is_escaped) {
        return message.into();
    }
    let mut out = String::with_capacity(message.len() + 16);
    for c in message.chars() {
        if is_escaped(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Marks a value cut by [`escape_cut`].
pub const CUT: char = '…';

/// `value` with every character of a [`Class`] escaped, and backslashes doubled where
/// they would otherwise read as part of an escape (see the module docs). Never cut.
pub fn escape(value: &str) -> String {
    escape_cut(value, usize::MAX)
}

/// Like [`escape`], but an output longer than `max` characters is cut to at most
/// `max` and ends with [`CUT`]. An escape is never cut in half. (A cut value is not
/// one-to-one, of course: the tail is gone, and `…` says so.)
pub fn escape_cut(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max.saturating_add(8)));
    let mut len = 0usize;
    // Backslashes seen but not yet written: how many to write depends on what follows.
    let mut backslashes = 0usize;
    let mut unit = String::new();
    let mut chars = value.chars().peekable();
    loop {
        unit.clear();
        let next = chars.next();
        let doubled = match next {
            Some('\\') => {
                backslashes += 1;
                continue;
            }
            Some(c) if is_escaped(c) => true,
            Some('u') => chars.peek() == Some(&'{'),
            _ => false,
        };
        let n = if doubled {
            2 * backslashes
        } else {
            backslashes
        };
        unit.extend(std::iter::repeat_n('\\', n));
        backslashes = 0;
        match next {
            Some(c) if is_escaped(c) => {
                let _ = write!(unit, "\\u{{{:x}}}", c as u32);
            }
            Some(c) => unit.push(c),
            None => {}
        }
        let unit_len = unit.chars().count();
        if len.saturating_add(unit_len) > max {
            out.push(CUT);
            return out;
        }
        out.push_str(&unit);
        len += unit_len;
        if next.is_none() {
            return out;
        }
    }
}

/// Serializes a JSON value on one line, with every character of a [`Class`] written
/// as a JSON `\uXXXX` escape: the value a JSON reader gets is unchanged, and the text
/// is safe on a terminal. (serde_json escapes C0 controls only; DEL, C1 controls and
/// bidi characters would reach the terminal raw.)
pub fn json_line(value: &serde_json::Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, TerminalSafe);
    serde::Serialize::serialize(value, &mut ser).expect("a JSON value serializes");
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    text.push('\n');
    text
}

/// serde_json's compact formatter, escaping the classes inside strings.
struct TerminalSafe;

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_escaped(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reader of [`escape`]'s output (module docs): proves it is one-to-one.
    pub(crate) fn unescape(s: &str) -> String {
        let mut out = String::new();
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '\\' {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && chars[i] == '\\' {
                i += 1;
            }
            let k = i - start;
            let before_brace = chars.get(i) == Some(&'u') && chars.get(i + 1) == Some(&'{');
            if !before_brace {
                out.extend(std::iter::repeat_n('\\', k));
                continue;
            }
            out.extend(std::iter::repeat_n('\\', k / 2));
            if k % 2 == 0 {
                continue;
            }
            let close = chars[i..].iter().position(|&c| c == '}').expect("closed") + i;
            let hex: String = chars[i + 2..close].iter().collect();
            out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            i = close + 1;
        }
        out
    }

    /// One table per class: each character escapes to `\u{hex}` and says its class.
    fn check_class(class_: Class, table: &[(char, &str)]) {
        for &(c, escaped) in table {
            assert_eq!(class(c), Some(class_), "U+{:04X}", c as u32);
            assert_eq!(escape(&format!("a{c}b")), format!("a{escaped}b"));
        }
    }

    #[test]
    fn c0_del_and_c1_controls_are_escaped() {
        check_class(
            Class::Control,
            &[
                ('\0', "\\u{0}"),
                ('\t', "\\u{9}"),
                ('\n', "\\u{a}"),
                ('\r', "\\u{d}"),
                ('\x07', "\\u{7}"),
                ('\x1b', "\\u{1b}"),
                ('\x7f', "\\u{7f}"),
                ('\u{80}', "\\u{80}"),
                ('\u{85}', "\\u{85}"),
                ('\u{9b}', "\\u{9b}"),
                ('\u{9f}', "\\u{9f}"),
            ],
        );
        assert_eq!(escape("\x1b]0;title\x07"), "\\u{1b}]0;title\\u{7}");
        assert_eq!(escape("\x1b[2J"), "\\u{1b}[2J");
    }

    #[test]
    fn bidi_controls_and_isolates_are_escaped() {
        check_class(
            Class::Bidi,
            &[
                ('\u{61c}', "\\u{61c}"),
                ('\u{200e}', "\\u{200e}"),
                ('\u{200f}', "\\u{200f}"),
                ('\u{202a}', "\\u{202a}"),
                ('\u{202d}', "\\u{202d}"),
                ('\u{202e}', "\\u{202e}"),
                ('\u{2066}', "\\u{2066}"),
                ('\u{2068}', "\\u{2068}"),
                ('\u{2069}', "\\u{2069}"),
            ],
        );
        assert_eq!(escape("txt.\u{202e}exe"), "txt.\\u{202e}exe");
    }

    #[test]
    fn zero_width_and_invisible_characters_are_escaped() {
        check_class(
            Class::Invisible,
            &[
                ('\u{200b}', "\\u{200b}"),
                ('\u{200c}', "\\u{200c}"),
                ('\u{200d}', "\\u{200d}"),
                ('\u{2060}', "\\u{2060}"),
                ('\u{2064}', "\\u{2064}"),
                ('\u{feff}', "\\u{feff}"),
                ('\u{ad}', "\\u{ad}"),
                ('\u{34f}', "\\u{34f}"),
                ('\u{180e}', "\\u{180e}"),
            ],
        );
    }

    #[test]
    fn other_format_characters_are_escaped() {
        check_class(
            Class::Format,
            &[
                ('\u{600}', "\\u{600}"),
                ('\u{6dd}', "\\u{6dd}"),
                ('\u{2065}', "\\u{2065}"),
                ('\u{206a}', "\\u{206a}"),
                ('\u{206f}', "\\u{206f}"),
                ('\u{fff9}', "\\u{fff9}"),
                ('\u{fffb}', "\\u{fffb}"),
                ('\u{110bd}', "\\u{110bd}"),
                ('\u{1343f}', "\\u{1343f}"),
                ('\u{1bca3}', "\\u{1bca3}"),
                ('\u{1d173}', "\\u{1d173}"),
            ],
        );
    }

    #[test]
    fn line_and_paragraph_separators_are_escaped() {
        check_class(
            Class::LineBreak,
            &[('\u{2028}', "\\u{2028}"), ('\u{2029}', "\\u{2029}")],
        );
    }

    #[test]
    fn tag_characters_are_escaped() {
        check_class(
            Class::Tag,
            &[
                ('\u{e0000}', "\\u{e0000}"),
                ('\u{e0001}', "\\u{e0001}"),
                ('\u{e0041}', "\\u{e0041}"),
                ('\u{e007f}', "\\u{e007f}"),
            ],
        );
    }

    #[test]
    fn variation_selectors_are_escaped() {
        check_class(
            Class::VariationSelector,
            &[
                ('\u{fe00}', "\\u{fe00}"),
                ('\u{fe0f}', "\\u{fe0f}"),
                ('\u{e0100}', "\\u{e0100}"),
                ('\u{e01ef}', "\\u{e01ef}"),
                ('\u{180b}', "\\u{180b}"),
                ('\u{180f}', "\\u{180f}"),
            ],
        );
    }

    #[test]
    fn blank_fillers_are_escaped() {
        check_class(
            Class::Filler,
            &[
                ('\u{115f}', "\\u{115f}"),
                ('\u{1160}', "\\u{1160}"),
                ('\u{3164}', "\\u{3164}"),
                ('\u{ffa0}', "\\u{ffa0}"),
                ('\u{2800}', "\\u{2800}"),
            ],
        );
    }

    #[test]
    fn ordinary_text_passes_unchanged() {
        for s in [
            "",
            "mgmt-org-admin",
            "arn:aws:iam::123456789012:user/alice",
            "C:\\Users\\alice\\key.txt",
            "a\\nb",
            "\\u0041 \\U{41} u{41}",
            "naïve café, Ελληνικά, 日本語, עברית, 🎉",
            "a\u{a0}b\u{2003}c\u{3000}d",
        ] {
            assert_eq!(escape(s), s);
        }
    }

    #[test]
    fn backslashes_before_an_escape_or_u_brace_are_doubled() {
        for (input, shown) in [
            ("\\u{202e}", "\\\\u{202e}"),
            ("\\\u{202e}", "\\\\\\u{202e}"),
            ("\\\\u{41}", "\\\\\\\\u{41}"),
            ("\\\\\u{1b}", "\\\\\\\\\\u{1b}"),
            ("x\\", "x\\"),
            ("\\u", "\\u"),
            ("u{41}", "u{41}"),
        ] {
            assert_eq!(escape(input), shown, "{input:?}");
            assert_eq!(unescape(shown), input);
        }
        // The attacker's text and the real thing print differently.
        assert_ne!(escape("\\u{202e}"), escape("\u{202e}"));
    }

    #[test]
    fn a_cut_stops_before_max_and_never_splits_an_escape() {
        assert_eq!(escape_cut("abcdef", 6), "abcdef");
        assert_eq!(escape_cut("abcdefg", 6), "abcdef…");
        // `\u{1b}` is 6 characters: it fits whole or not at all.
        assert_eq!(escape_cut("ab\x1b", 7), "ab…");
        assert_eq!(escape_cut("ab\x1b", 8), "ab\\u{1b}");
        assert_eq!(
            escape_cut("\u{e0041}".repeat(100).as_str(), 20),
            "\\u{e0041}\\u{e0041}…"
        );
    }

    #[test]
    fn json_keeps_the_value_and_escapes_the_classes() {
        let v = serde_json::json!({
            "note": "a\x1b]0;t\x07\u{9b}\u{202e}\u{200b}\u{e0041}\u{7f}b",
            "plain": "ok \\ \"q\" é",
        });
        let line = json_line(&v);
        assert!(!line.trim_end().chars().any(is_escaped), "{line}");
        assert!(
            line.contains("\\u202e") && line.contains("\\udb40\\udc41"),
            "{line}"
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, v);
    }

    proptest! {
        #[test]
        fn escaped_output_holds_no_escaped_class_and_reads_back(s in any::<String>()) {
            let e = escape(&s);
            prop_assert!(!e.chars().any(is_escaped), "{:?}", e);
            prop_assert_eq!(unescape(&e), s);
        }

        #[test]
        fn mixed_hostile_text_reads_back(
            s in "[a-z\\\\u{}\u{1b}\u{7}\u{9b}\u{202e}\u{2066}\u{200b}\u{feff}\u{e0041}\u{fe0f}\u{2028}]{0,40}"
        ) {
            let e = escape(&s);
            prop_assert!(!e.chars().any(is_escaped), "{:?}", e);
            prop_assert_eq!(unescape(&e), s);
        }

        #[test]
        fn printable_ascii_without_backslash_u_brace_is_unchanged(s in "[ -~]{0,80}") {
            prop_assume!(!s.contains("\\u{"));
            prop_assert_eq!(escape(&s), s);
        }

        #[test]
        fn escaping_again_only_doubles_backslashes(s in any::<String>()) {
            // The output holds no character to escape, so a second pass can only
            // double backslashes (those before `u{`): everything else is a fixed point.
            let once = escape(&s);
            let twice = escape(&once);
            prop_assert_eq!(twice.replace('\\', ""), once.replace('\\', ""));
            prop_assert_eq!(unescape(&twice), once.clone());
            if !once.contains("\\u{") {
                prop_assert_eq!(twice, once);
            }
        }

        #[test]
        fn a_cut_output_is_a_prefix_of_the_whole(s in any::<String>(), max in 0usize..60) {
            let whole = escape(&s);
            let cut = escape_cut(&s, max);
            match cut.strip_suffix(CUT) {
                Some(head) if cut != whole => {
                    prop_assert!(whole.starts_with(head));
                    prop_assert!(head.chars().count() <= max);
                }
                _ => prop_assert_eq!(&cut, &whole),
            }
        }
    }
}
