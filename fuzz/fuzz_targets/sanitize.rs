//! Terminal escaping: on any text (bytes read as lossy UTF-8) the output holds no
//! character of an escaped class, a second pass only doubles backslashes, a cut output
//! is a prefix of the whole, and `shown` / `one_line` never let a class through either.
#![no_main]
use handoff::sanitize::{CUT, escape, escape_cut, is_escaped};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let once = escape(&text);
    assert!(!once.chars().any(is_escaped), "{once:?}");
    let twice = escape(&once);
    assert_eq!(twice.replace('\\', ""), once.replace('\\', ""));
    let cut = escape_cut(&text, data.len() % 64);
    if cut != once {
        assert!(once.starts_with(cut.strip_suffix(CUT).expect("marked")));
    }
    for out in [handoff::error::shown(&text), handoff::error::one_line(&text)] {
        assert!(!out.chars().any(is_escaped), "{out:?}");
    }
});
