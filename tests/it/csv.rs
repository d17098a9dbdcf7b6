//! The console CSVs, proven by their consumers: what handoff writes is read back cell
//! for cell by Python's `csv` module (what `leverage credentials configure` uses) and
//! by handoff's own reader; `open --csv` is read as Leverage reads it; and what `seal
//! --from-csv` reads (UTF-16, Excel's `sep=` line, spaced passwords, formula cells).

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use handoff::console_csv::{Cell, KeyPart, WriteError, read_table, write_table};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::*;

/// Reads each CSV document with Python's `csv.reader` (UTF-8, `newline=""` as the
/// csv module's documentation requires), all in one process; returns the rows.
fn python_csv_rows(docs: &[Vec<u8>]) -> Vec<Vec<Vec<String>>> {
    let script = r#"
import base64, csv, io, json, sys
docs = json.load(sys.stdin)
out = [list(csv.reader(io.StringIO(base64.b64decode(d).decode("utf-8"), newline=""))) for d in docs]
json.dump(out, sys.stdout)
"#;
    let input: Vec<String> = docs
        .iter()
        .map(|d| base64::engine::general_purpose::STANDARD.encode(d))
        .collect();
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3 csv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What `leverage credentials configure --credentials-file FILE` does with the file
/// (binbash/leverage, leverage/modules/credentials.py, `_extract_credentials`): `open`
/// with the defaults, the first row of `csv.DictReader`, the two columns by name, and
/// its two regexes. Prints `[key id, secret]` as JSON.
fn leverage_reads(path: &str) -> (String, String) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(LEVERAGE_READER)
        .arg(path)
        .output()
        .unwrap();
    leverage_read(out)
}

fn leverage_read(out: std::process::Output) -> (String, String) {
    assert!(
        out.status.success(),
        "leverage's reader refused the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Leverage's reader (see [`leverage_reads`]).
const LEVERAGE_READER: &str = r#"
import csv, json, re, sys
KEY_ID = r"[A-Z0-9]{20}"
SECRET_KEY = r"[a-zA-Z0-9/\+]{40}"
with open(sys.argv[1]) as f:
    keys = next(csv.DictReader(f))
key_id, secret = keys["Access key ID"], keys["Secret access key"]
if not re.match(KEY_ID, key_id) or not re.match(SECRET_KEY, secret):
    sys.exit("Malformed keys in access keys file")
json.dump([key_id, secret], sys.stdout)
"#;

#[derive(Debug, Clone)]
enum TestCell {
    Free(String),
    Key(String),
}

impl TestCell {
    fn text(&self) -> &str {
        match self {
            TestCell::Free(s) | TestCell::Key(s) => s,
        }
    }
}

/// Free text weighted towards what CSV quoting must survive; any string now and then.
fn free_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[ a-zA-Z0-9,\"'\r\n\t;|!()éß名😀\u{feff}\u{2028}=+@-]{0,12}",
        1 => "\\PC{0,12}",
        1 => any::<String>(),
    ]
}

fn table() -> impl Strategy<Value = (Vec<String>, Vec<TestCell>)> {
    let cell = prop_oneof![
        3 => free_text().prop_map(TestCell::Free),
        1 => "[A-Za-z0-9/+]{1,40}".prop_map(TestCell::Key),
    ];
    (1..5usize).prop_flat_map(move |n| {
        (
            proptest::collection::vec(free_text(), n),
            proptest::collection::vec(cell.clone(), n),
        )
    })
}

fn starts_like_formula(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

#[test]
fn written_cells_are_read_back_exactly_by_python_csv_and_handoff() {
    if !have("python3") {
        return;
    }
    let mut runner = TestRunner::new(Config::with_cases(32));
    let strategy = proptest::collection::vec(table(), 1..12);
    // tables python read back, over all cases: a run where every table was refused
    // would prove nothing about the reading
    let read_back = std::cell::Cell::new(0usize);
    runner
        .run(&strategy, |tables| {
            let mut docs = Vec::new();
            let mut expected = Vec::new();
            for (headers, row) in &tables {
                let h: Vec<&str> = headers.iter().map(String::as_str).collect();
                let cells: Vec<Cell> = row
                    .iter()
                    .map(|c| match c {
                        TestCell::Free(s) => Cell::Free(s),
                        TestCell::Key(s) => Cell::Key(KeyPart::new(s).unwrap()),
                    })
                    .collect();
                let texts: Vec<String> = row.iter().map(|c| c.text().to_string()).collect();
                match write_table(&h, &cells) {
                    Ok(bytes) => {
                        prop_assert!(!bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM was written");
                        prop_assert_eq!(bytes.last(), Some(&b'\n'));
                        let t = read_table(&bytes).unwrap();
                        prop_assert_eq!(&t.headers, headers);
                        prop_assert_eq!(&t.cells[..], &texts[..]);
                        docs.push(bytes.to_vec());
                        expected.push(vec![headers.clone(), texts]);
                    }
                    Err(e) => {
                        let free_refused = row.iter().any(|c| match c {
                            TestCell::Free(s) => starts_like_formula(s) || s.contains('\0'),
                            TestCell::Key(_) => false,
                        });
                        let header_refused = headers
                            .iter()
                            .any(|s| starts_like_formula(s) || s.contains('\0'));
                        prop_assert!(
                            matches!(
                                e,
                                WriteError::Formula { .. }
                                    | WriteError::FormulaHeader { .. }
                                    | WriteError::Nul { .. }
                            ) && (free_refused || header_refused),
                            "refused without cause: {}",
                            e
                        );
                    }
                }
            }
            if !docs.is_empty() {
                read_back.set(read_back.get() + docs.len());
                prop_assert_eq!(python_csv_rows(&docs), expected);
            }
            Ok(())
        })
        .unwrap();
    assert!(
        read_back.get() > 0,
        "no written table was read back by python's csv: every one was refused"
    );
}

#[test]
fn hostile_cells_and_a_plus_secret_are_read_back_exactly_by_python_csv() {
    if !have("python3") {
        return;
    }
    let plus = format!("+{}", &SECRET[1..]);
    let free = |s: &str| TestCell::Free(s.to_string());
    let cases: Vec<(Vec<&str>, Vec<TestCell>)> = vec![
        (vec!["a", "b"], vec![free("x,y"), free("say \"hi\"")]),
        (vec!["a"], vec![free("l1\r\nl2\rl3\n")]),
        (vec!["a", "b"], vec![free("  spaced  "), free("名前 é 😀")]),
        (vec!["sep=;", "b"], vec![free(""), free("\"")]),
        (vec!["\u{feff}a"], vec![free("\u{feff}")]),
        (
            vec!["Access key ID", "Secret access key"],
            vec![TestCell::Key(KEY_ID.into()), TestCell::Key(plus.clone())],
        ),
    ];
    let docs: Vec<Vec<u8>> = cases
        .iter()
        .map(|(h, r)| {
            let cells: Vec<Cell> = r
                .iter()
                .map(|c| match c {
                    TestCell::Free(s) => Cell::Free(s),
                    TestCell::Key(s) => Cell::Key(KeyPart::new(s).unwrap()),
                })
                .collect();
            write_table(h, &cells).unwrap().to_vec()
        })
        .collect();
    assert_eq!(
        docs[5],
        format!("Access key ID,Secret access key\n{KEY_ID},{plus}\n").as_bytes(),
        "the + secret is written unchanged"
    );
    let read = python_csv_rows(&docs);
    assert_eq!(read.len(), cases.len(), "python read every document");
    for ((h, r), got) in cases.iter().zip(read) {
        let want: Vec<String> = r.iter().map(|c| c.text().to_string()).collect();
        assert_eq!(got, vec![h.iter().map(|s| s.to_string()).collect(), want]);
    }
}

/// Seals a console access-key CSV holding `secret` to `recipient`; returns the bundle.
fn seal_key(env: &TestEnv, recipient: &str, secret: &str, name: &str) -> String {
    let csv = env.write(
        &format!("{name}.csv"),
        format!("Access key ID,Secret access key\r\n{KEY_ID},{secret}\r\n"),
    );
    let out = env.p(&format!("{name}.age"));
    env.run(&["seal", "--from-csv", &csv, "--to", recipient, "-o", &out])
        .ok()
        .no_secret(secret);
    out
}

#[test]
fn open_csv_is_read_by_csv_dictreader_as_leverage_reads_it() {
    if !have("python3") {
        return;
    }
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    // 1 real secret in 64 starts with '+': written unchanged, read back by value
    let plus = format!("+{}", &SECRET[1..]);
    for (name, secret) in [("sample", SECRET), ("plus", plus.as_str())] {
        let b = seal_key(&env, &r, secret, name);
        let file = env.p(&format!("{name}-out.csv"));
        env.run(&["open", &b, "-i", &id, "--csv", &file])
            .ok()
            .no_secret(secret);
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            bytes,
            format!("Access key ID,Secret access key\n{KEY_ID},{secret}\n").as_bytes()
        );
        assert_eq!(
            leverage_reads(&file),
            (KEY_ID.to_string(), secret.to_string())
        );
        let piped = env.run(&["open", &b, "-i", &id, "--csv", "-"]).ok();
        assert_eq!(piped.raw_stdout, bytes);
        // The README's founding workflow: straight into `leverage credentials configure
        // --credentials-file <(handoff open … --csv -)`, no CSV left on disk.
        let bin = assert_cmd::cargo::cargo_bin("handoff");
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "exec python3 -c \"$1\" <('{}' open '{b}' -i '{id}' --csv -)",
                bin.display()
            ))
            .arg("bash")
            .arg(LEVERAGE_READER)
            .env("HOME", env.dir.path())
            .output()
            .unwrap();
        assert_eq!(leverage_read(out), (KEY_ID.to_string(), secret.to_string()));
    }
}

#[test]
fn seal_reads_a_utf16_csv_with_an_excel_sep_line_and_keeps_password_spaces() {
    if !have("age") {
        return;
    }
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let text = format!(
        "sep=,\r\nUser name,Password,Access key ID,Secret access key,Console login link\r\nbob,\" Pässwörd 1 \",{KEY_ID},{SECRET},https://x.signin.aws.amazon.com/console\r\n"
    );
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let csv = env.write("credentials.csv", utf16);
    let b = env.p("b.age");
    env.run(&["seal", "--from-csv", &csv, "--to", &r, "-o", &b])
        .ok()
        .no_secret(SECRET);
    let payload = sh("age", &["-d", "-i", &id, &b], env.dir.path());
    let v: serde_json::Value = serde_json::from_slice(&payload.stdout).unwrap();
    assert_eq!(v["console_password"], " Pässwörd 1 ");
    assert_eq!(v["user_name"], "bob");
    assert_eq!(v["access_key_id"], KEY_ID);
}

#[test]
fn seal_refuses_formula_cells_and_other_separators_without_echoing_them() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let cases = [
        (
            format!(
                "User name,Password,Access key ID,Secret access key,Console login link\n=cmd|' /C calc'!A0,Pw-1234567890,{KEY_ID},{SECRET},https://x.signin.aws.amazon.com/console\n"
            ),
            "cmd|",
        ),
        (
            format!("Access key ID,Secret access key\n{KEY_ID},=HYPERLINK(\"http://x\")\n"),
            "HYPERLINK",
        ),
        (
            format!("sep=;\nAccess key ID;Secret access key\n{KEY_ID};{SECRET}\n"),
            SECRET,
        ),
    ];
    let mut stderrs = Vec::new();
    for (i, (csv, cell)) in cases.iter().enumerate() {
        let path = env.write(&format!("{i}.csv"), csv);
        let run = env
            .run(&[
                "seal",
                "--from-csv",
                &path,
                "--to",
                &r,
                "-o",
                &env.p("b.age"),
            ])
            .fails(3)
            .no_secret(cell);
        assert!(!env.path("b.age").exists());
        stderrs.push(run.stderr);
    }
    let hint = "hint: pass the CSV exactly as the AWS console downloaded it (accessKeys.csv or credentials.csv)\n";
    assert_eq!(
        stderrs,
        [
            format!("handoff: error: the CSV's user_name: must be 1-64 of A-Z a-z 0-9 + = , . @ _ -\n{hint}"),
            format!("handoff: error: the CSV's Secret access key column must be 40 characters of A-Z a-z 0-9 / +\n{hint}"),
            "handoff: error: the CSV's first line (sep=) sets a separator other than a comma\nhint: save it with commas as separators (CSV UTF-8), or pass the console's download unchanged\n".to_string(),
        ]
    );
}
