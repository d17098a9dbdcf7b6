//! Console CSV parser: never panics; an access key it reads survives a write in the
//! console's format and a read back; a table `read_table` accepts is written again
//! (unless the formula guard refuses a cell) and reads back to the same cells.
#![no_main]
use handoff::console_csv::{self, Cell};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = console_csv::parse(data) {
        if let Some(key) = &c.access_key {
            let written = console_csv::access_key_csv(key);
            let back = console_csv::parse(&written).expect("our own CSV parses");
            assert_eq!(back.access_key_id(), Some(key.id.as_str()));
            assert_eq!(back.access_key.unwrap().secret.expose_secret(), key.secret.expose_secret());
        }
    }
    if let Ok(t) = console_csv::read_table(data) {
        let headers: Vec<&str> = t.headers.iter().map(String::as_str).collect();
        let row: Vec<Cell> = t.cells.iter().map(|s| Cell::Free(s)).collect();
        if let Ok(out) = console_csv::write_table(&headers, &row) {
            if out.len() as u64 <= console_csv::MAX_CSV_BYTES {
                let again = console_csv::read_table(&out).expect("our own CSV reads");
                assert_eq!(again.headers, t.headers);
                assert_eq!(&again.cells[..], &t.cells[..]);
            }
        }
    }
});
