//! `--env` encoder: for any string without NUL, the `export` line is one shell word
//! after `export NAME=` that a POSIX word splitter (shell-words, an independent
//! implementation) reads back as exactly the string. The real shells are run on the
//! same property in tests/it/encoders.rs.
#![no_main]
use handoff::deliver::sh;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    match sh::exports(&[("V", &value)], &[]) {
        Err(_) => assert!(value.contains('\0')),
        Ok(out) => {
            let text = std::str::from_utf8(&out).expect("UTF-8 in, UTF-8 out");
            let word = text
                .strip_prefix("export V=")
                .and_then(|t| t.strip_suffix('\n'))
                .expect("one export line");
            let words = shell_words::split(word).expect("the quoting parses");
            assert_eq!(words, vec![value.into_owned()]);
        }
    }
});
