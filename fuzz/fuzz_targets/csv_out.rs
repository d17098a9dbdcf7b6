//! CSV writer: any header and cells either come back cell for cell through the csv
//! crate's reader and handoff's own (`read_table`), or were refused by the guard (a
//! header or free cell starting like a formula, or holding a NUL; no column at all).
#![no_main]
use handoff::console_csv::{Cell, KeyPart, MAX_CSV_BYTES, read_table, write_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|columns: Vec<(String, String, bool)>| {
    let headers: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    let cells: Vec<&str> = columns.iter().map(|c| c.1.as_str()).collect();
    let row: Vec<Cell> = columns
        .iter()
        .map(|(_, v, key)| match KeyPart::new(v) {
            Some(k) if *key => Cell::Key(k),
            _ => Cell::Free(v),
        })
        .collect();
    let Ok(out) = write_table(&headers, &row) else {
        let guarded = |s: &str| s.starts_with(['=', '+', '-', '@', '\t', '\r']) || s.contains('\0');
        let free = |c: &Cell| matches!(c, Cell::Free(_));
        assert!(
            headers.is_empty()
                || headers.iter().any(|h| guarded(h))
                || row.iter().zip(&cells).any(|(c, s)| free(c) && guarded(s)),
            "refused without cause"
        );
        return;
    };
    assert!(!out.starts_with(b"\xEF\xBB\xBF") && out.ends_with(b"\n"));
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&out[..]);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("our CSV reads").iter().map(String::from).collect())
        .collect();
    assert_eq!(rows, [headers.as_slice(), cells.as_slice()]);
    if out.len() as u64 <= MAX_CSV_BYTES {
        let table = read_table(&out).expect("our CSV reads back");
        assert_eq!(table.headers, headers);
        assert_eq!(&table.cells[..], &cells[..]);
    }
});
