//! The CSV files the AWS console downloads, read and written. Three layouts exist:
//! the access-key CSV (`Access key ID,Secret access key`), the console-user CSV
//! (`User name,Password,Console sign-in URL`), and the older combined one
//! (`User name,Password,Access key ID,Secret access key,Console login link`).
//!
//! Reading is two layers: [`read_table`] turns bytes into the raw header and the one
//! data row (UTF-8 with or without a BOM, UTF-16 with a BOM, an Excel `sep=,` line,
//! CRLF or LF), and [`parse`] matches the headers strictly and builds a credential.
//! Writing is one encoder, [`write_table`], on the `csv` crate: any string is quoted
//! as RFC 4180 says, and a free-form cell a spreadsheet would run as a formula is
//! refused rather than altered. Pure code, fuzzed; errors never echo a cell.

use crate::access_key::{AccessKey, AccessKeyId, KeyError, SecretAccessKey};
use crate::bundle::Credential;
use crate::error::{Error, ExitCode, Result, shown};
use crate::secret::{SecretBytes, Zeroize, Zeroizing, from_foreign};

/// Largest CSV accepted: the console's files are under 1 KiB.
pub const MAX_CSV_BYTES: u64 = 64 * 1024;

/// The headers of the console's access-key CSV, in its order.
pub const ACCESS_KEY_HEADERS: [&str; 2] = ["Access key ID", "Secret access key"];

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    UserName,
    Password,
    AccessKeyId,
    SecretAccessKey,
    SignInUrl,
}

fn column(header: &str) -> Option<Column> {
    match header.trim().to_ascii_lowercase().as_str() {
        "user name" => Some(Column::UserName),
        "password" => Some(Column::Password),
        "access key id" => Some(Column::AccessKeyId),
        "secret access key" => Some(Column::SecretAccessKey),
        "console sign-in url" | "console login link" => Some(Column::SignInUrl),
        _ => None,
    }
}

const AS_DOWNLOADED: &str =
    "pass the CSV exactly as the AWS console downloaded it (accessKeys.csv or credentials.csv)";

fn bad(what: impl Into<String>) -> Error {
    Error::input(what).fix(AS_DOWNLOADED)
}

/// A console CSV read but not interpreted: its header row and its one data row, every
/// cell exactly as the file holds it (not trimmed). The row holds secrets: it is wiped
/// on drop and has no `Debug`.
pub struct Table {
    /// The header row.
    pub headers: Vec<String>,
    /// The data row, one cell per header.
    pub cells: Zeroizing<Vec<String>>,
}

/// Reads a console CSV into its header row and its one data row, without looking at
/// what the headers say. Accepts UTF-8 (with or without a BOM) and UTF-16 with a BOM
/// (little or big endian, decoded into a buffer that is wiped), an Excel `sep=,` first
/// line, CRLF or LF. Refuses, without echoing a cell: more than [`MAX_CSV_BYTES`], NUL
/// bytes without a UTF-16 BOM, a `sep=` line naming another separator, rows of unequal
/// length, no data row, or more than one.
pub fn read_table(bytes: &[u8]) -> Result<Table> {
    if bytes.len() as u64 > MAX_CSV_BYTES {
        return Err(bad(format!("the CSV is larger than {MAX_CSV_BYTES} bytes")));
    }
    let decoded: SecretBytes;
    let text: &[u8] = match bytes {
        [0xFF, 0xFE, rest @ ..] => {
            decoded = decode_utf16(rest, u16::from_le_bytes)?;
            &decoded
        }
        [0xFE, 0xFF, rest @ ..] => {
            decoded = decode_utf16(rest, u16::from_be_bytes)?;
            &decoded
        }
        _ => {
            let text = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
            if text.contains(&0) {
                return Err(Error::input(
                    "the CSV holds NUL bytes: it may be UTF-16 without a byte-order mark",
                )
                .fix("save it as CSV UTF-8, or pass the console's download unchanged"));
            }
            text
        }
    };
    let text = skip_sep_line(text)?;
    // The csv crate stages what it reads in its own buffers; those blocks are wiped
    // when freed by the zero-on-free allocator (crate::alloc). What we keep is in
    // `Table::cells`, wiped on drop.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text);
    let headers = reader
        .headers()
        .map_err(|e| {
            bad(format!(
                "the CSV's header row cannot be read ({})",
                csv_error_kind(&e)
            ))
        })?
        .iter()
        .map(String::from)
        .collect();
    let mut records = reader.records();
    let record = match records.next() {
        None => return Err(bad("the CSV has a header but no credential row")),
        Some(r) => r.map_err(|e| {
            bad(format!(
                "the CSV's credential row cannot be read ({})",
                csv_error_kind(&e)
            ))
        })?,
    };
    if records.next().is_some() {
        return Err(bad(
            "the CSV has more than one credential row; handoff seals one credential per bundle",
        )
        .fix("split the file, one credential per CSV"));
    }
    let cells = Zeroizing::new(record.iter().map(String::from).collect());
    Ok(Table { headers, cells })
}

/// Decodes UTF-16 (the BOM already removed) into UTF-8, in a buffer that is wiped on
/// drop and sized up front: a UTF-16 unit becomes at most 3 bytes of UTF-8 (a
/// surrogate pair, two units, becomes 4).
fn decode_utf16(body: &[u8], unit: fn([u8; 2]) -> u16) -> Result<SecretBytes> {
    if !body.len().is_multiple_of(2) {
        return Err(bad(
            "the CSV starts with a UTF-16 byte-order mark but has an odd number of bytes",
        ));
    }
    let mut out = crate::secret::buffer(body.len() / 2 * 3);
    let mut utf8 = [0u8; 4];
    let units = body.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    for c in char::decode_utf16(units) {
        let Ok(c) = c else {
            return Err(bad(
                "the CSV starts with a UTF-16 byte-order mark but is not valid UTF-16",
            ));
        };
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
    utf8.zeroize();
    Ok(out)
}

/// Skips Excel's separator line (`sep=,`, which Excel writes first to name the
/// separator); refuses one naming another separator, which the console never writes.
fn skip_sep_line(text: &[u8]) -> Result<&[u8]> {
    let end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let line = &text[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() < 4 || !line[..4].eq_ignore_ascii_case(b"sep=") {
        return Ok(text);
    }
    if &line[4..] != b"," {
        return Err(Error::input(
            "the CSV's first line (sep=) sets a separator other than a comma",
        )
        .fix("save it with commas as separators (CSV UTF-8), or pass the console's download unchanged"));
    }
    Ok(&text[(end + 1).min(text.len())..])
}

/// Parses a console CSV into a credential (without account or timestamps, which
/// the console's files do not carry). Headers and cells are trimmed, except the
/// password: an IAM password may begin or end with a space, so it is kept exactly.
pub fn parse(bytes: &[u8]) -> Result<Credential> {
    let Table { headers, mut cells } = read_table(bytes)?;
    let mut columns = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let c = column(h).ok_or_else(|| {
            bad(format!(
                "column {} of the CSV header is not one the AWS console writes",
                i + 1
            ))
        })?;
        if columns.contains(&c) {
            return Err(bad(format!(
                "column {} of the CSV header is a duplicate",
                i + 1
            )));
        }
        columns.push(c);
    }
    let mut c = Credential::default();
    let (mut key_id, mut secret) = (None, None);
    for (col, cell) in columns.iter().zip(cells.iter_mut()) {
        if *col == Column::Password {
            if !cell.is_empty() {
                c.console_password = Some(from_foreign(std::mem::take(cell)));
            }
            continue;
        }
        let value = cell.trim();
        if value.is_empty() {
            continue;
        }
        match col {
            Column::UserName => c.user_name = Some(value.to_string()),
            Column::AccessKeyId => key_id = Some(value.to_string()),
            Column::SecretAccessKey => secret = Some(from_foreign(value.to_string())),
            Column::SignInUrl => c.sign_in_url = Some(value.to_string()),
            Column::Password => unreachable!("handled above"),
        }
    }
    drop(cells);
    c.access_key = match (key_id, secret) {
        (Some(id), Some(secret)) => Some(AccessKey::new(&id, secret).map_err(|e| {
            bad(format!(
                "the CSV's {} column {}",
                match e {
                    KeyError::Id => "Access key ID",
                    KeyError::Secret => "Secret access key",
                },
                e.rule()
            ))
        })?),
        (None, None) => None,
        _ => {
            return Err(bad(
                "the CSV has an access key ID without its secret access key, or the reverse",
            ));
        }
    };
    if !c.has_access_key() && c.console_password.is_none() {
        return Err(bad(
            "the CSV holds neither an access key pair nor a console password",
        ));
    }
    c.validate().map_err(|e| bad(format!("the CSV's {e}")))?;
    Ok(c)
}

fn csv_error_kind(e: &csv::Error) -> &'static str {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8",
        csv::ErrorKind::UnequalLengths { .. } => "rows have different numbers of columns",
        csv::ErrorKind::Io(_) => "read error",
        _ => "malformed CSV",
    }
}

/// Text in the access-key alphabet, `A-Z a-z 0-9 / +`: the only text a [`Cell::Key`]
/// can hold, which is what exempts it from the formula guard.
///
/// A secret access key starts with `+` in 1 of 64 cases, and the consumers of the CSV
/// (`leverage credentials configure`, the console's import) read it by value, so it
/// must be written unchanged. With this alphabet a spreadsheet can at worst compute
/// `+AB12/CD34`-style arithmetic or show `#NAME?`: no function call (no `(`), no
/// string (no `"`), no DDE or external reference (no `|` or `!`) can be formed, so
/// nothing can run or be fetched. Pinned by `a_key_starting_with_plus_is_written_unchanged`.
#[derive(Clone, Copy)]
pub struct KeyPart<'a>(&'a str);

impl<'a> KeyPart<'a> {
    /// `Some` if `s` is non-empty and entirely in the access-key alphabet.
    pub fn new(s: &'a str) -> Option<KeyPart<'a>> {
        let ok = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+');
        ok.then_some(KeyPart(s))
    }
}

impl<'a> From<&'a AccessKeyId> for KeyPart<'a> {
    fn from(id: &'a AccessKeyId) -> Self {
        KeyPart(id.as_str())
    }
}

impl<'a> From<&'a SecretAccessKey> for KeyPart<'a> {
    fn from(secret: &'a SecretAccessKey) -> Self {
        KeyPart(secret.expose_secret())
    }
}

/// One cell of a row to write. No `Debug`: a cell may be a secret.
#[derive(Clone, Copy)]
pub enum Cell<'a> {
    /// Free-form text (a user name, a password, a URL): refused if it starts like a
    /// spreadsheet formula or holds a NUL.
    Free(&'a str),
    /// Part of an access key, written unchanged (see [`KeyPart`]).
    Key(KeyPart<'a>),
}

impl<'a> Cell<'a> {
    fn text(&self) -> &'a str {
        match *self {
            Cell::Free(s) => s,
            Cell::Key(KeyPart(s)) => s,
        }
    }
}

/// Why a table was not written. The message names the column, never the cell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A free-form cell starts with `=`, `+`, `-`, `@`, a tab or a carriage return.
    #[error(
        "the \"{}\" cell starts with a character a spreadsheet would run as a formula (=, +, -, @, a tab or a carriage return)",
        shown(.column)
    )]
    Formula {
        /// The cell's header.
        column: String,
    },
    /// A header starts like a formula.
    #[error(
        "the header of column {column} starts with a character a spreadsheet would run as a formula (=, +, -, @, a tab or a carriage return)"
    )]
    FormulaHeader {
        /// The column, from 1.
        column: usize,
    },
    /// A cell or header holds a NUL character.
    #[error(
        "the \"{}\" cell holds a NUL character, which CSV readers refuse or cut",
        shown(.column)
    )]
    Nul {
        /// The cell's header (or `header N`).
        column: String,
    },
    /// Not one cell per column, or no column at all (a bug in the caller).
    #[error("a CSV row of {cells} cells cannot be written under {columns} columns")]
    Shape {
        /// How many headers.
        columns: usize,
        /// How many cells.
        cells: usize,
    },
    /// The csv crate failed to write into memory (a bug).
    #[error("the CSV could not be encoded")]
    Encode,
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Error {
        match e {
            WriteError::Formula { .. } | WriteError::FormulaHeader { .. } => Error::input(
                e.to_string(),
            )
            .fix("handoff writes a cell unchanged or not at all: change the value, or use an output other than CSV"),
            WriteError::Nul { .. } => Error::input(e.to_string())
                .fix("change the value, or use an output other than CSV"),
            WriteError::Shape { .. } | WriteError::Encode => {
                Error::new(ExitCode::Internal, e.to_string()).fix("please report this bug")
            }
        }
    }
}

/// The OWASP CSV-injection starts: a spreadsheet runs a cell beginning with one of
/// these as a formula (https://owasp.org/www-community/attacks/CSV_Injection).
fn starts_like_formula(s: &str) -> bool {
    matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// Writes a header row and one data row as CSV into a buffer that is wiped on drop:
/// no BOM, `\n` line ends, every cell quoted where RFC 4180 needs it (a comma, a quote,
/// CR or LF), and every cell of a row quoted when one of them begins or ends with
/// whitespace (so readers that trim unquoted cells keep it) or, in the header row,
/// when the first cell begins with a BOM or `sep=` (which readers would swallow).
///
/// Refused, never altered: a [`Cell::Free`] or header that starts like a formula
/// (`=`, `+`, `-`, `@`, TAB, CR) or holds a NUL, and a row without one cell per
/// header. [`Cell::Key`] cells are exempt from the formula guard (see [`KeyPart`]).
pub fn write_table(headers: &[&str], row: &[Cell<'_>]) -> Result<SecretBytes, WriteError> {
    if headers.is_empty() || headers.len() != row.len() {
        return Err(WriteError::Shape {
            columns: headers.len(),
            cells: row.len(),
        });
    }
    for (i, h) in headers.iter().enumerate() {
        if starts_like_formula(h) {
            return Err(WriteError::FormulaHeader { column: i + 1 });
        }
        if h.contains('\0') {
            return Err(WriteError::Nul {
                column: format!("header {}", i + 1),
            });
        }
    }
    for (h, cell) in headers.iter().zip(row) {
        if let Cell::Free(s) = cell {
            if starts_like_formula(s) {
                return Err(WriteError::Formula {
                    column: h.to_string(),
                });
            }
            if s.contains('\0') {
                return Err(WriteError::Nul {
                    column: h.to_string(),
                });
            }
        }
    }
    let cells: Vec<&str> = row.iter().map(Cell::text).collect();
    // Sized for the worst case (every byte a doubled quote, every cell quoted, a
    // delimiter or line end after each), so the secret is never moved by a regrowth.
    let worst = |r: &[&str]| r.iter().map(|c| 2 * c.len() + 3).sum::<usize>();
    let mut out = crate::secret::buffer(worst(headers) + worst(&cells));
    let swallowed = |h: &str| {
        h.starts_with('\u{feff}') || h.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("sep="))
    };
    write_row(&mut out, headers, swallowed(headers[0]))?;
    write_row(&mut out, &cells, false)?;
    Ok(out)
}

/// Writes one record with the csv crate. Its own staging buffer is freed on drop and
/// wiped by the zero-on-free allocator (crate::alloc).
fn write_row(out: &mut Vec<u8>, cells: &[&str], force_quotes: bool) -> Result<(), WriteError> {
    let edge_space = cells
        .iter()
        .any(|c| c.starts_with(char::is_whitespace) || c.ends_with(char::is_whitespace));
    let style = if force_quotes || edge_space {
        csv::QuoteStyle::Always
    } else {
        csv::QuoteStyle::Necessary
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(style)
        .from_writer(out);
    w.write_record(cells).map_err(|_| WriteError::Encode)?;
    w.flush().map_err(|_| WriteError::Encode)
}

/// The console's access-key CSV, exact headers, no BOM, as `leverage credentials
/// configure --credentials-file` (Python's `csv.DictReader`) and the console's own
/// import read it.
///
/// # Panics
///
/// If `key_id` or `secret` is outside the access-key alphabet: callers pass the two
/// halves of a validated [`AccessKey`], so that is a bug, and no cell is ever altered.
pub fn access_key_csv(key: &AccessKey) -> SecretBytes {
    let row = [Cell::Key((&key.id).into()), Cell::Key((&key.secret).into())];
    write_table(&ACCESS_KEY_HEADERS, &row).expect("two key cells under two headers are written")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret;

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn access_key_csv_with_bom_and_crlf() {
        let csv = format!("\u{feff}Access key ID,Secret access key\r\n{KEY},{SECRET}\r\n");
        let c = parse(csv.as_bytes()).unwrap();
        assert_eq!(c.access_key_id(), Some(KEY));
        assert_eq!(c.access_key.unwrap().secret.expose_secret(), SECRET);
    }

    #[test]
    fn console_user_csv() {
        let csv = "User name,Password,Console sign-in URL\nalice,Pa55word!x,https://123456789012.signin.aws.amazon.com/console\n";
        let c = parse(csv.as_bytes()).unwrap();
        assert_eq!(c.user_name.as_deref(), Some("alice"));
        assert_eq!(c.console_password.unwrap().expose_secret(), "Pa55word!x");
        assert!(c.sign_in_url.unwrap().starts_with("https://"));
        assert!(c.access_key.is_none());
    }

    #[test]
    fn older_combined_csv() {
        let csv = format!(
            "User name,Password,Access key ID,Secret access key,Console login link\nbob,,{KEY},{SECRET},https://x.signin.aws.amazon.com/console\n"
        );
        let c = parse(csv.as_bytes()).unwrap();
        assert_eq!(c.user_name.as_deref(), Some("bob"));
        assert!(c.has_access_key());
        assert!(c.console_password.is_none());
    }

    #[test]
    fn written_csv_parses_back() {
        let out = access_key_csv(&AccessKey::new(KEY, from_foreign(SECRET.into())).unwrap());
        assert_eq!(
            &out[..],
            format!("Access key ID,Secret access key\n{KEY},{SECRET}\n").as_bytes()
        );
        assert!(parse(&out).unwrap().has_access_key());
    }

    #[test]
    fn hostile_csvs_fail_without_echoing_cells() {
        let cases = [
            "".to_string(),
            "Access key ID,Secret access key\n".to_string(),
            format!("Access key ID\n{KEY}\n"),
            format!("Access key ID,Secret access key,Colour\n{KEY},{SECRET},red\n"),
            format!("Access key ID,Access key ID\n{KEY},{KEY}\n"),
            format!("Access key ID,Secret access key\n{KEY},{SECRET},extra\n"),
            format!("Access key ID,Secret access key\n{KEY},{SECRET}\n{KEY},{SECRET}\n"),
            format!("Access key ID,Secret access key\n\"{KEY},{SECRET}\n"),
            format!("Access key ID,Secret access key\nnot a key,{SECRET}\n"),
        ];
        for case in cases {
            let e = parse(case.as_bytes())
                .err()
                .unwrap_or_else(|| panic!("accepted {case:?}"));
            assert!(
                !e.what.contains(SECRET) && !e.what.contains("not a key"),
                "{}",
                e.what
            );
        }
        assert!(parse(&vec![b'a'; MAX_CSV_BYTES as usize + 1]).is_err());
        assert!(parse(b"Access key ID,Secret access key\n\xff\xfe,x\n").is_err());
    }

    const URL: &str = "https://123456789012.signin.aws.amazon.com/console";

    fn what(r: Result<impl Sized>) -> String {
        match r {
            Ok(_) => panic!("accepted"),
            Err(e) => e.what,
        }
    }

    fn utf16(text: &str, unit: fn(u16) -> [u8; 2], bom: [u8; 2]) -> Vec<u8> {
        let mut out = bom.to_vec();
        for u in text.encode_utf16() {
            out.extend_from_slice(&unit(u));
        }
        out
    }

    #[test]
    fn each_formula_start_is_refused_naming_the_column() {
        for start in ["=", "+", "-", "@", "\t", "\r"] {
            let cell = format!("{start}HYPERLINK(\"http://x\")");
            let e = write_table(
                &["User name", "Password"],
                &[Cell::Free("alice"), Cell::Free(&cell)],
            )
            .err()
            .unwrap_or_else(|| panic!("wrote {cell:?}"));
            assert_eq!(
                e,
                WriteError::Formula {
                    column: "Password".into()
                }
            );
            let e = Error::from(e);
            assert_eq!(e.code, ExitCode::Input);
            assert_eq!(
                e.what,
                "the \"Password\" cell starts with a character a spreadsheet would run as a formula (=, +, -, @, a tab or a carriage return)"
            );
            assert_eq!(
                e.fix.as_deref(),
                Some(
                    "handoff writes a cell unchanged or not at all: change the value, or use an output other than CSV"
                )
            );
        }
        assert_eq!(
            Error::from(write_table(&["=x"], &[Cell::Free("a")]).err().unwrap()).what,
            "the header of column 1 starts with a character a spreadsheet would run as a formula (=, +, -, @, a tab or a carriage return)"
        );
    }

    #[test]
    fn a_key_starting_with_plus_is_written_unchanged() {
        let secret = format!("+{}", &SECRET[1..]);
        let out = access_key_csv(&AccessKey::new(KEY, from_foreign(secret.clone())).unwrap());
        assert_eq!(
            &out[..],
            format!("Access key ID,Secret access key\n{KEY},{secret}\n").as_bytes()
        );
        let back = parse(&out).unwrap();
        assert_eq!(back.access_key.unwrap().secret.expose_secret(), secret);
        // The exemption is the cell's type, not its column: as free text it is refused.
        assert!(matches!(
            write_table(&ACCESS_KEY_HEADERS, &[Cell::Free(KEY), Cell::Free(&secret)]),
            Err(WriteError::Formula { .. })
        ));
    }

    #[test]
    fn a_key_part_holds_only_the_key_alphabet() {
        assert!(KeyPart::new("+AZaz09/+").is_some());
        for bad in [
            "", "=1", "-1", "@A1", "\tA", "\rA", "A(1)", "A|B", "A!B", "\"A", "A B", "é",
        ] {
            assert!(KeyPart::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn cells_are_quoted_where_rfc_4180_needs_it() {
        let write = |h: &[&str], r: &[&str]| {
            let row: Vec<Cell> = r.iter().map(|s| Cell::Free(s)).collect();
            String::from_utf8(write_table(h, &row).unwrap().to_vec()).unwrap()
        };
        assert_eq!(
            write(&["a", "b", "c"], &["x,y", "say \"hi\"", "l1\nl2\rl3"]),
            "a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\rl3\"\n"
        );
        assert_eq!(write(&["a", "b"], &["名前é", ""]), "a,b\n名前é,\n");
        assert_eq!(write(&["a"], &[""]), "a\n\"\"\n");
        // a cell with edge whitespace: the whole row quoted, so trimming readers keep it
        assert_eq!(
            write(&["a", "b"], &[" p w ", "q"]),
            "a,b\n\" p w \",\"q\"\n"
        );
        // a first header a reader would swallow (BOM, Excel's sep=): quoted
        assert_eq!(
            write(&["sep=;", "b"], &["1", "2"]),
            "\"sep=;\",\"b\"\n1,2\n"
        );
        assert_eq!(write(&["\u{feff}a"], &["1"]), "\"\u{feff}a\"\n1\n");
    }

    #[test]
    fn shapes_and_nuls_are_refused() {
        let e = Error::from(write_table(&["a", "b"], &[Cell::Free("1")]).err().unwrap());
        assert_eq!(e.code, ExitCode::Internal);
        assert_eq!(
            e.what,
            "a CSV row of 1 cells cannot be written under 2 columns"
        );
        assert!(write_table(&[], &[]).is_err());
        let e = Error::from(
            write_table(&["Password"], &[Cell::Free("a\0b")])
                .err()
                .unwrap(),
        );
        assert_eq!(
            e.what,
            "the \"Password\" cell holds a NUL character, which CSV readers refuse or cut"
        );
        assert!(write_table(&["a\0"], &[Cell::Free("1")]).is_err());
    }

    #[test]
    fn passwords_keep_their_spaces_other_cells_are_trimmed() {
        for (row, password) in [
            (
                format!("\" alice \",\" pass word \",{URL}\n"),
                " pass word ",
            ),
            (format!(" alice , pass word ,{URL}\n"), " pass word "),
        ] {
            let csv = format!("User name,Password,Console sign-in URL\n{row}");
            let c = parse(csv.as_bytes()).unwrap();
            assert_eq!(c.user_name.as_deref(), Some("alice"));
            assert_eq!(c.console_password.unwrap().expose_secret(), password);
        }
        let t = read_table(b"a,b\n\" x \", y\n").unwrap();
        assert_eq!(t.headers, ["a", "b"]);
        assert_eq!(&t.cells[..], [" x ", " y"]);
    }

    #[test]
    fn utf16_with_a_bom_is_read_in_both_byte_orders() {
        let csv = format!("User name,Password,Console sign-in URL\r\nalice,Pässwörd ¿1,{URL}\r\n");
        for bytes in [
            utf16(&csv, u16::to_le_bytes, [0xFF, 0xFE]),
            utf16(&csv, u16::to_be_bytes, [0xFE, 0xFF]),
        ] {
            let c = parse(&bytes).unwrap();
            assert_eq!(c.user_name.as_deref(), Some("alice"));
            assert_eq!(c.console_password.unwrap().expose_secret(), "Pässwörd ¿1");
        }
        let mut odd = utf16(&csv, u16::to_le_bytes, [0xFF, 0xFE]);
        odd.pop();
        assert_eq!(
            what(parse(&odd)),
            "the CSV starts with a UTF-16 byte-order mark but has an odd number of bytes"
        );
        let mut lone = utf16("a,b\n", u16::to_le_bytes, [0xFF, 0xFE]);
        lone.extend_from_slice(&0xD800u16.to_le_bytes());
        assert_eq!(
            what(parse(&lone)),
            "the CSV starts with a UTF-16 byte-order mark but is not valid UTF-16"
        );
        let no_bom = utf16(&csv, u16::to_le_bytes, [0xFF, 0xFE])[2..].to_vec();
        assert_eq!(
            what(parse(&no_bom)),
            "the CSV holds NUL bytes: it may be UTF-16 without a byte-order mark"
        );
    }

    #[test]
    fn an_excel_sep_line_is_skipped_and_another_separator_refused() {
        for head in ["sep=,\n", "sep=,\r\n", "\u{feff}SEP=,\r\n"] {
            let csv = format!("{head}Access key ID,Secret access key\n{KEY},{SECRET}\n");
            assert!(parse(csv.as_bytes()).unwrap().has_access_key(), "{head:?}");
        }
        let csv = format!("sep=;\nAccess key ID;Secret access key\n{KEY};{SECRET}\n");
        let e = parse(csv.as_bytes()).err().unwrap();
        assert_eq!(
            e.what,
            "the CSV's first line (sep=) sets a separator other than a comma"
        );
        assert_eq!(
            e.fix.as_deref(),
            Some(
                "save it with commas as separators (CSV UTF-8), or pass the console's download unchanged"
            )
        );
    }

    #[test]
    fn reader_errors_are_pinned() {
        assert_eq!(
            what(parse(b"Access key ID,Colour\nx,y\n")),
            "column 2 of the CSV header is not one the AWS console writes"
        );
        assert_eq!(
            what(parse(b"Access key ID,Secret access key\n")),
            "the CSV has a header but no credential row"
        );
        assert_eq!(
            what(parse(
                format!("Access key ID,Secret access key\n{KEY},{SECRET},x\n").as_bytes()
            )),
            "the CSV's credential row cannot be read (rows have different numbers of columns)"
        );
        assert_eq!(
            what(parse(
                format!("Access key ID,Secret access key\n{KEY},=1+1\n").as_bytes()
            )),
            "the CSV's Secret access key column must be 40 characters of A-Z a-z 0-9 / +"
        );
    }

    proptest::proptest! {
        #[test]
        fn written_tables_read_back_cell_for_cell(
            row in proptest::collection::vec("[ a,\"\r\n\té😀=+@-]{0,8}", 1..5)
        ) {
            let headers: Vec<String> = (0..row.len()).map(|i| format!("h{i}")).collect();
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let cells: Vec<Cell> = row.iter().map(|s| Cell::Free(s)).collect();
            match write_table(&headers, &cells) {
                Ok(out) => {
                    let t = read_table(&out).unwrap();
                    proptest::prop_assert_eq!(&t.headers, &headers);
                    proptest::prop_assert_eq!(&t.cells[..], &row[..]);
                }
                Err(e) => {
                    proptest::prop_assert!(row.iter().any(|c| starts_like_formula(c)), "{e}")
                }
            }
        }
    }
}
