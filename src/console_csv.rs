//! The CSV files the AWS console downloads, read and written. Three layouts exist:
//! the access-key CSV (`Access key ID,Secret access key`), the console-user CSV
//! (`User name,Password,Console sign-in URL`), and the older combined one
//! (`User name,Password,Access key ID,Secret access key,Console login link`). Files
//! may start with a UTF-8 BOM and use CRLF or LF. Pure code, fuzzed: headers are
//! matched strictly, exactly one data row is accepted, and cells are never echoed.

use crate::access_key::{AccessKey, KeyError};
use crate::bundle::Credential;
use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretBytes, from_foreign};

/// Largest CSV accepted: the console's files are under 1 KiB.
pub const MAX_CSV_BYTES: u64 = 64 * 1024;

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

fn bad(what: impl Into<String>) -> Error {
    Error::input(what).fix(
        "pass the CSV exactly as the AWS console downloaded it (accessKeys.csv or credentials.csv)",
    )
}

/// Parses a console CSV into a credential (without account or timestamps, which
/// the console's files do not carry).
pub fn parse(bytes: &[u8]) -> Result<Credential> {
    if bytes.len() as u64 > MAX_CSV_BYTES {
        return Err(bad(format!("the CSV is larger than {MAX_CSV_BYTES} bytes")));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| {
            bad(format!(
                "the CSV's header row cannot be read ({})",
                csv_error_kind(&e)
            ))
        })?
        .clone();
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
    let mut c = Credential::default();
    let (mut key_id, mut secret) = (None, None);
    for (col, cell) in columns.iter().zip(record.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        match col {
            Column::UserName => c.user_name = Some(cell.to_string()),
            Column::Password => c.console_password = Some(from_foreign(cell.to_string())),
            Column::AccessKeyId => key_id = Some(cell.to_string()),
            Column::SecretAccessKey => secret = Some(from_foreign(cell.to_string())),
            Column::SignInUrl => c.sign_in_url = Some(cell.to_string()),
        }
    }
    drop(record);
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

/// The console's access-key CSV, exact headers, no BOM, as `leverage credentials
/// configure --credentials-file` and the console's own import read it.
pub fn access_key_csv(key_id: &str, secret: &crate::secret::SecretString) -> SecretBytes {
    let mut out = crate::secret::buffer(128);
    out.extend_from_slice(b"Access key ID,Secret access key\n");
    out.extend_from_slice(key_id.as_bytes());
    out.push(b',');
    out.extend_from_slice(secret.expose_secret().as_bytes());
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let out = access_key_csv(KEY, &from_foreign(SECRET.into()));
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
}
