//! The hostile-input suite: over a hundred inputs built to break handoff (damaged and
//! oversized bundles, bad identities, malicious payloads, broken CSVs and recipients
//! files, outputs that are directories, FIFOs, symlinks or full devices, broken
//! credentials files, a failing IAM server). Each must end with a documented non-zero
//! exit code, an `error:` and a `hint:` line, no panic, within a time bound, without
//! printing the secret, without leaving a file behind, and without anything left in IAM.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::moto::{Fault, Moto, Proxy};
use crate::support::*;

struct Case {
    name: String,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    codes: &'static [i32],
    aws_port: Option<u16>,
}

fn files(env: &TestEnv) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![env.dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p.clone());
            }
            out.insert(p.display().to_string());
        }
    }
    out.remove(&env.p("answers"));
    out
}

fn payload_bundle(
    env: &TestEnv,
    recipient: &age::x25519::Recipient,
    name: &str,
    payload: &[u8],
) -> String {
    let ct = age::encrypt(recipient, payload).unwrap();
    env.write(name, ct)
}

#[test]
fn every_hostile_input_fails_cleanly() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let recipient: age::x25519::Recipient = r.parse().unwrap();
    let csv = env.access_key_csv("accessKeys.csv");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &r,
        "-o",
        &env.p("good.age"),
    ])
    .ok();
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &r,
        "-a",
        "-o",
        &env.p("good.asc"),
    ])
    .ok();
    let good = std::fs::read(env.path("good.age")).unwrap();
    let good_armored = std::fs::read_to_string(env.path("good.asc")).unwrap();
    let (other, _) = env.keygen("other.txt");
    let mut cases: Vec<Case> = Vec::new();
    let open = |bundle: &str| {
        vec![
            "open".to_string(),
            bundle.to_string(),
            "-i".into(),
            id.clone(),
            "--json".into(),
        ]
    };
    let open_case = |name: String, bundle: String, codes: &'static [i32]| Case {
        name,
        args: open(&bundle),
        stdin: None,
        codes,
        aws_port: None,
    };

    // ---- damaged bundles
    let n = good.len();
    for cut in [1, 10, 21, 22, 50, 100, n / 2, n - 17, n - 1] {
        cases.push(open_case(
            format!("bundle truncated to {cut} bytes"),
            env.write(&format!("trunc{cut}.age"), &good[..cut]),
            &[4],
        ));
    }
    for at in [0, 3, 25, 40, 60, 90, n - 40, n - 20, n - 1] {
        let mut b = good.clone();
        b[at] ^= 0x20;
        cases.push(open_case(
            format!("bundle byte {at} flipped"),
            env.write(&format!("flip{at}.age"), &b),
            &[4],
        ));
    }
    {
        let text = String::from_utf8_lossy(&good).into_owned();
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.swap(1, 2);
        cases.push(open_case(
            "bundle header lines re-ordered".into(),
            env.write("reorder.age", lines.join("\n")),
            &[4],
        ));
        let mut rev = good.clone();
        let tail = rev.split_off(n - 64);
        rev.extend(tail.iter().rev());
        cases.push(open_case(
            "bundle payload bytes re-ordered".into(),
            env.write("rev.age", &rev),
            &[4],
        ));
        let mut doubled = good.clone();
        doubled.extend_from_slice(&good);
        cases.push(open_case(
            "two bundles concatenated".into(),
            env.write("double.age", &doubled),
            &[4],
        ));
    }
    cases.push(open_case(
        "bundle of 2 MiB".into(),
        env.write("huge.age", vec![b'A'; 2 << 20]),
        &[3],
    ));
    let mut big = good.clone();
    big.extend(vec![0u8; 1 << 20]);
    cases.push(open_case(
        "real bundle padded past 1 MiB".into(),
        env.write("padded.age", &big),
        &[3],
    ));
    cases.push(open_case(
        "empty bundle".into(),
        env.write("empty.age", ""),
        &[4],
    ));
    cases.push(open_case("bundle is a directory".into(), env.p(""), &[3]));
    cases.push(open_case(
        "bundle does not exist".into(),
        env.p("nope.age"),
        &[3],
    ));
    cases.push(open_case(
        "bundle is /dev/null".into(),
        "/dev/null".into(),
        &[4],
    ));
    cases.push(open_case(
        "random bytes".into(),
        env.write(
            "random.age",
            (0..4096u32)
                .map(|i| (i * 7919 % 251) as u8)
                .collect::<Vec<u8>>(),
        ),
        &[4],
    ));
    cases.push(open_case(
        "only the age header line".into(),
        env.write("hdr.age", "age-encryption.org/v1\n"),
        &[4],
    ));
    cases.push(open_case(
        "header with no stanza".into(),
        env.write("nostanza.age", "age-encryption.org/v1\n--- AAAA\n"),
        &[4],
    ));
    cases.push(open_case(
        "future age version".into(),
        env.write("v2.age", "age-encryption.org/v2\n-> X25519 a\nb\n--- c\n"),
        &[4],
    ));

    // ---- armored with garbage
    let arm_lines: Vec<&str> = good_armored.lines().collect();
    cases.push(open_case("armor with garbage body".into(), env.write("g1.asc", "-----BEGIN AGE ENCRYPTED FILE-----\n!!!not base64!!!\n-----END AGE ENCRYPTED FILE-----\n"), &[4]));
    cases.push(open_case(
        "armor without end line".into(),
        env.write("g2.asc", arm_lines[..arm_lines.len() - 1].join("\n")),
        &[4],
    ));
    cases.push(open_case(
        "armor with a line too long".into(),
        env.write(
            "g3.asc",
            format!(
                "{}\n{}\n{}\n",
                arm_lines[0],
                "QUFB".repeat(40),
                arm_lines[arm_lines.len() - 1]
            ),
        ),
        &[4],
    ));
    cases.push(open_case(
        "armor with text after the end".into(),
        env.write("g4.asc", format!("{good_armored}trailing garbage\n")),
        &[4],
    ));
    cases.push(open_case(
        "armor with a body line removed".into(),
        env.write("g5.asc", {
            let mut l = arm_lines.clone();
            l.remove(2);
            l.join("\n")
        }),
        &[4],
    ));
    cases.push(open_case(
        "armor header only".into(),
        env.write("g6.asc", "-----BEGIN AGE ENCRYPTED FILE-----\n"),
        &[4],
    ));

    // ---- identities
    let bad_id = |name: &str, contents: &[u8]| env.write(name, contents);
    for (name, contents) in [
        ("identity of garbage", &b"hello\n"[..]),
        ("identity with a bad checksum", b"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n"),
        ("identity that is a public key", r.as_bytes()),
        ("identity of binary junk", &[0u8, 159, 146, 150, 255, 0, 1][..]),
        ("identity that is an SSH public key", b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpuf0sZ9V4nW/qd0bgqBgk5uuqzEh6X2Lhp x\n"),
        ("identity that is a truncated SSH key", b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"),
    ] {
        let f = bad_id(&format!("{}.id", name.replace(' ', "_")), contents);
        cases.push(Case { name: name.into(), args: vec!["open".into(), env.p("good.age"), "-i".into(), f, "--json".into()], stdin: None, codes: &[3, 4], aws_port: None });
    }
    cases.push(Case {
        name: "wrong identity".into(),
        args: vec![
            "open".into(),
            env.p("good.age"),
            "-i".into(),
            other.clone(),
            "--json".into(),
        ],
        stdin: None,
        codes: &[4],
        aws_port: None,
    });
    cases.push(Case {
        name: "identity missing".into(),
        args: vec![
            "open".into(),
            env.p("good.age"),
            "-i".into(),
            env.p("missing.txt"),
            "--json".into(),
        ],
        stdin: None,
        codes: &[3],
        aws_port: None,
    });
    cases.push(Case {
        name: "identity is a directory".into(),
        args: vec![
            "open".into(),
            env.p("good.age"),
            "-i".into(),
            env.p(""),
            "--json".into(),
        ],
        stdin: None,
        codes: &[3],
        aws_port: None,
    });
    cases.push(Case {
        name: "bundle and identity both stdin".into(),
        args: vec!["open".into(), "-".into(), "-i".into(), "-".into()],
        stdin: Some(good.clone()),
        codes: &[3],
        aws_port: None,
    });

    // ---- malicious payloads, properly encrypted to our key
    let k = KEY_ID;
    let s = SECRET;
    let mut payloads: Vec<(String, Vec<u8>)> = vec![
        ("unknown version".into(), br#"{"format":"handoff/v9","x":1}"#.to_vec()),
        ("format missing".into(), format!(r#"{{"access_key_id":"{k}","secret_access_key":"{s}"}}"#).into_bytes()),
        ("format is a number".into(), br#"{"format":1}"#.to_vec()),
        ("format is null".into(), br#"{"format":null}"#.to_vec()),
        ("payload is an array".into(), br#"["handoff/v1"]"#.to_vec()),
        ("payload is a string".into(), br#""handoff/v1""#.to_vec()),
        ("payload is empty".into(), b"".to_vec()),
        ("empty object".into(), b"{}".to_vec()),
        ("only the format".into(), br#"{"format":"handoff/v1"}"#.to_vec()),
        ("unknown field".into(), format!(r#"{{"format":"handoff/v1","access_key_id":"{k}","secret_access_key":"{s}","region":"x"}}"#).into_bytes()),
        ("duplicate field".into(), format!(r#"{{"format":"handoff/v1","access_key_id":"{k}","access_key_id":"{k}","secret_access_key":"{s}"}}"#).into_bytes()),
        ("invalid UTF-8".into(), b"{\"format\":\"handoff/v1\",\"note\":\"\xff\xfe\"}".to_vec()),
        ("truncated JSON".into(), br#"{"format":"handoff/v1","access_key_id":"#.to_vec()),
        ("trailing garbage".into(), format!(r#"{{"format":"handoff/v1","access_key_id":"{k}","secret_access_key":"{s}"}} junk"#).into_bytes()),
        ("deep nesting".into(), format!(r#"{{"format":"handoff/v1","note":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
        ("huge note".into(), format!(r#"{{"format":"handoff/v1","console_password":"p","note":"{}"}}"#, "x".repeat(60_000)).into_bytes()),
        ("payload over 64 KiB".into(), format!(r#"{{"format":"handoff/v1","console_password":"p","note":"{}"}}"#, "x".repeat(70_000)).into_bytes()),
        ("lowercase access key id".into(), format!(r#"{{"format":"handoff/v1","access_key_id":"akiaiosfodnn7example","secret_access_key":"{s}"}}"#).into_bytes()),
        ("secret with spaces".into(), format!(r#"{{"format":"handoff/v1","access_key_id":"{k}","secret_access_key":"a b c"}}"#).into_bytes()),
        ("secret with a newline".into(), format!(r#"{{"format":"handoff/v1","access_key_id":"{k}","secret_access_key":"abc\ndef"}}"#).into_bytes()),
        ("empty secret".into(), format!(r#"{{"format":"handoff/v1","access_key_id":"{k}","secret_access_key":""}}"#).into_bytes()),
        ("account id of 11 digits".into(), format!(r#"{{"format":"handoff/v1","account_id":"12345678901","access_key_id":"{k}","secret_access_key":"{s}"}}"#).into_bytes()),
        ("bad created_at".into(), format!(r#"{{"format":"handoff/v1","created_at":"tomorrow","access_key_id":"{k}","secret_access_key":"{s}"}}"#).into_bytes()),
        ("bad expires_at".into(), format!(r#"{{"format":"handoff/v1","expires_at":"2026-13-45T99:00:00Z","access_key_id":"{k}","secret_access_key":"{s}"}}"#).into_bytes()),
        ("http sign-in URL".into(), br#"{"format":"handoff/v1","console_password":"p","sign_in_url":"http://evil.example/console"}"#.to_vec()),
        ("escape sequence in user name".into(), format!("{{\"format\":\"handoff/v1\",\"user_name\":\"a\\u001b[31mb\",\"access_key_id\":\"{k}\",\"secret_access_key\":\"{s}\"}}").into_bytes()),
        ("password of 200 characters".into(), format!(r#"{{"format":"handoff/v1","console_password":"{}"}}"#, "p".repeat(200)).into_bytes()),
    ];
    for field in [
        "account_id",
        "user_name",
        "user_arn",
        "access_key_id",
        "secret_access_key",
        "console_password",
        "sign_in_url",
        "created_at",
        "expires_at",
        "created_by",
        "note",
    ] {
        payloads.push((
            format!("{field} of the wrong type"),
            format!(
                r#"{{"format":"handoff/v1","console_password":"p","{field}":{{"nested":[1,2]}}}}"#
            )
            .replace(
                r#""console_password":"p","console_password""#,
                r#""console_password""#,
            )
            .into_bytes(),
        ));
    }
    for (i, (name, payload)) in payloads.into_iter().enumerate() {
        let f = payload_bundle(&env, &recipient, &format!("p{i}.age"), &payload);
        cases.push(open_case(format!("payload: {name}"), f, &[3]));
    }

    // ---- output injections (issue 10): planted payloads whose key fields carry the
    // syntax of each output's consumer, opened into each output. The typed key refuses
    // them all before anything is written.
    let injections: Vec<(&str, serde_json::Value)> = vec![
        (
            "shell quote in the secret",
            serde_json::json!("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMP'$(id)'"),
        ),
        (
            "command substitution in the secret",
            serde_json::json!("$(touch /tmp/handoff-pwned)wJalrXUtnFEMI/K7MDEN"),
        ),
        (
            "backticks in the secret",
            serde_json::json!("`id`wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLE"),
        ),
        (
            "JSON fields in the secret",
            serde_json::json!("x\",\"SessionToken\":\"FORGED\",\"x\":\"wJalrXUtnFEMI"),
        ),
        (
            "a newline and a new INI section in the secret",
            serde_json::json!("wJalrXUtnFEMI/K7MDENG\n[default]\naws_access_key_id=AKIAATTACKER"),
        ),
        (
            "a CSV row and a formula in the secret",
            serde_json::json!("wJalrXUtnFEMI/K7MDENG,=HYPERLINK(\"http://x\")"),
        ),
        ("a 41-character secret", serde_json::json!(format!("{s}A"))),
        ("a null secret", serde_json::Value::Null),
    ];
    let outputs: [&[&str]; 5] = [
        &["--env"],
        &["--json"],
        &["--csv", "-"],
        &["--csv", "out.csv"],
        &["--aws-profile", "injected"],
    ];
    for (i, (name, secret)) in injections.iter().enumerate() {
        let payload = serde_json::json!({"format": "handoff/v1", "access_key_id": k, "secret_access_key": secret});
        let f = payload_bundle(
            &env,
            &recipient,
            &format!("inj{i}.age"),
            payload.to_string().as_bytes(),
        );
        for out in outputs {
            let mut args = vec!["open".to_string(), f.clone(), "-i".into(), id.clone()];
            args.extend(out.iter().map(|s| s.to_string()));
            cases.push(Case {
                name: format!("injection: {name}, open {}", out.join(" ")),
                args,
                stdin: None,
                codes: &[3],
                aws_port: None,
            });
        }
    }
    for (name, key_id) in [
        ("a shell quote in the key id", "AKIA'$(id)'AAAAAAAAA"),
        ("JSON in the key id", "AKIA\",\"x\":\"AAAAAAAA"),
        ("a 21-character key id", "AKIAIOSFODNN7EXAMPLEX"),
    ] {
        let payload = serde_json::json!({"format": "handoff/v1", "access_key_id": key_id, "secret_access_key": s});
        let f = payload_bundle(
            &env,
            &recipient,
            &format!("injid{}.age", cases.len()),
            payload.to_string().as_bytes(),
        );
        cases.push(open_case(format!("injection: {name}"), f, &[3]));
    }

    // ---- console CSVs
    let seal_csv = |name: &str, contents: Vec<u8>| {
        let f = env.write(&format!("{name}.csv"), contents);
        Case {
            name: format!("CSV: {name}"),
            args: vec![
                "seal".into(),
                "--from-csv".into(),
                f,
                "--to".into(),
                r.clone(),
                "-o".into(),
                env.p("csv-out.age"),
            ],
            stdin: None,
            codes: &[3],
            aws_port: None,
        }
    };
    for (name, contents) in [
        ("empty", String::new()),
        ("BOM only", "\u{feff}".into()),
        ("header only", "Access key ID,Secret access key\n".into()),
        ("missing secret column", format!("Access key ID\n{k}\n")),
        (
            "extra column",
            format!("Access key ID,Secret access key,Region\n{k},{s},x\n"),
        ),
        (
            "duplicated column",
            format!("Access key ID,Access key ID,Secret access key\n{k},{k},{s}\n"),
        ),
        (
            "row longer than header",
            format!("Access key ID,Secret access key\n{k},{s},x\n"),
        ),
        (
            "row shorter than header",
            format!("Access key ID,Secret access key\n{k}\n"),
        ),
        (
            "two rows",
            format!("Access key ID,Secret access key\n{k},{s}\n{k},{s}\n"),
        ),
        (
            "unbalanced quote",
            format!("Access key ID,Secret access key\n\"{k},{s}\n"),
        ),
        (
            "semicolons",
            format!("Access key ID;Secret access key\n{k};{s}\n"),
        ),
        (
            "tabs",
            format!("Access key ID\tSecret access key\n{k}\t{s}\n"),
        ),
        (
            "quoted newline in secret",
            format!("Access key ID,Secret access key\n{k},\"ab\ncd\"\n"),
        ),
        ("wrong headers", format!("Key,Secret\n{k},{s}\n")),
        (
            "key id without secret",
            format!("Access key ID,Secret access key\n{k},\n"),
        ),
    ] {
        cases.push(seal_csv(name, contents.into_bytes()));
    }
    cases.push(seal_csv(
        "10 MB line",
        format!(
            "Access key ID,Secret access key\n{k},{}\n",
            "x".repeat(10 << 20)
        )
        .into_bytes(),
    ));
    cases.push(seal_csv(
        "binary junk",
        (0..2000u32).map(|i| (i * 31 % 256) as u8).collect(),
    ));
    cases.push(seal_csv(
        "invalid UTF-8",
        b"Access key ID,Secret access key\n\xff\xfe,\xfd\n".to_vec(),
    ));

    // ---- recipients
    let seal_to = |name: &str, args: Vec<String>| Case {
        name: format!("recipients: {name}"),
        args: [
            vec![
                "seal".to_string(),
                "--from-csv".into(),
                csv.clone(),
                "-o".into(),
                env.p("r-out.age"),
            ],
            args,
        ]
        .concat(),
        stdin: None,
        codes: &[2, 3],
        aws_port: None,
    };
    let lines_file = |name: &str, contents: Vec<u8>| env.write(name, contents);
    let junk = lines_file(
        "junk100k.txt",
        "not a recipient\n".repeat(100_000).into_bytes(),
    );
    cases.push(seal_to("10^5 junk lines", vec!["-R".into(), junk]));
    let comments = lines_file(
        "comments100k.txt",
        "# nothing\n".repeat(100_000).into_bytes(),
    );
    cases.push(seal_to("10^5 comment lines", vec!["-R".into(), comments]));
    let binary = lines_file(
        "binary.txt",
        (0..5000u32).map(|i| (i * 13 % 256) as u8).collect(),
    );
    cases.push(seal_to("binary junk file", vec!["-R".into(), binary]));
    let huge = lines_file("huge.txt", vec![b'a'; 17 << 20]);
    cases.push(seal_to("file over 16 MiB", vec!["-R".into(), huge]));
    cases.push(seal_to("a directory", vec!["-R".into(), env.p("")]));
    cases.push(seal_to(
        "a missing file",
        vec!["-R".into(), env.p("gone.txt")],
    ));
    for (name, value) in [
        ("bare age1", "age1"),
        (
            "age1 with a bad checksum",
            "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gz",
        ),
        ("truncated ssh-ed25519", "ssh-ed25519 AAAA"),
        (
            "ssh-rsa of 1024 bits",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDcJ9",
        ),
        ("ssh-dss key", "ssh-dss AAAAB3NzaC1kc3MAAACBAP"),
        (
            "a secret key by mistake",
            "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
        ),
        ("an e-mail address", "alice@example.com"),
        ("control characters", "age1\u{1b}[2J"),
        ("empty string", ""),
    ] {
        cases.push(seal_to(name, vec!["--to".into(), value.into()]));
    }

    // ---- outputs
    std::fs::create_dir(env.path("adir")).unwrap();
    let fifo = env.p("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink(env.path("elsewhere"), env.path("dangling")).unwrap();
    env.write("target.txt", "keep");
    std::os::unix::fs::symlink(env.path("target.txt"), env.path("link")).unwrap();
    for (name, path) in [
        ("a directory", env.p("adir")),
        ("a FIFO", fifo.clone()),
        ("a dangling symlink", env.p("dangling")),
        ("a symlink to a file", env.p("link")),
        ("/dev/full", "/dev/full".into()),
        ("a missing directory", env.p("no/such/dir/x")),
    ] {
        for force in [false, true] {
            let mut args = vec![
                "seal".to_string(),
                "--from-csv".into(),
                csv.clone(),
                "--to".into(),
                r.clone(),
                "-o".into(),
                path.clone(),
            ];
            if force {
                args.push("--force".into());
            }
            cases.push(Case {
                name: format!(
                    "bundle output is {name}{}",
                    if force { " (--force)" } else { "" }
                ),
                args,
                stdin: None,
                codes: &[5],
                aws_port: None,
            });
            let mut args = vec![
                "open".to_string(),
                env.p("good.age"),
                "-i".into(),
                id.clone(),
                "--csv".into(),
                path.clone(),
            ];
            if force {
                args.push("--force".into());
            }
            cases.push(Case {
                name: format!(
                    "CSV output is {name}{}",
                    if force { " (--force)" } else { "" }
                ),
                args,
                stdin: None,
                codes: &[5],
                aws_port: None,
            });
        }
    }
    cases.push(Case {
        name: "keygen into a directory".into(),
        args: vec!["keygen".into(), "-o".into(), env.p("adir")],
        stdin: None,
        codes: &[5],
        aws_port: None,
    });
    cases.push(Case {
        name: "keygen over an existing file".into(),
        args: vec!["keygen".into(), "-o".into(), id.clone()],
        stdin: None,
        codes: &[5],
        aws_port: None,
    });

    // ---- signatures, pinning, OpenPGP: bad values of the trust-in-transit flags
    let good_path = env.p("good.age");
    env.write("junk.pub", "ssh-ed25519 not-base64!! x\n");
    env.write("cert_authority", "* cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk2T3rKe1GkmFQ3ZlC2VvKkS/9w3e2w0dcmQ6Jm6Ijj\n");
    env.write(
        "fake.asc",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n",
    );
    env.write(
        "fake.pgp",
        "-----BEGIN PGP MESSAGE-----\n\ngarbage\n-----END PGP MESSAGE-----\n",
    );
    env.write(
        "fake-secret.asc",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot a key\n-----END PGP PRIVATE KEY BLOCK-----\n",
    );
    let with = |extra: &[&str]| {
        let mut a = open(&good_path);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    for (name, args, codes) in [
        ("--from with junk", with(&["--from", "not a key"]), &[3][..]),
        (
            "--from a broken .pub",
            with(&["--from", &env.p("junk.pub")]),
            &[3],
        ),
        (
            "--from a cert-authority line",
            with(&["--from", &env.p("cert_authority")]),
            &[3],
        ),
        (
            "--from an empty file",
            with(&["--from", &env.write("empty-signers", "")]),
            &[3],
        ),
        (
            "--from with an unsigned bundle",
            with(&[
                "--from",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk2T3rKe1GkmFQ3ZlC2VvKkS/9w3e2w0dcmQ6Jm6Ijj",
            ]),
            &[9],
        ),
        (
            "--export-signature of an unsigned bundle",
            with(&["--export-signature", &env.p("m.json")]),
            &[9],
        ),
        (
            "--export-signature into a directory",
            with(&["--export-signature", &env.p("adir")]),
            &[5],
        ),
        (
            "--expect-account not 12 digits",
            with(&["--expect-account", "12345678901x"]),
            &[3],
        ),
        (
            "--expect-account another account",
            with(&["--expect-account", "210987654321"]),
            &[9],
        ),
        (
            "--rotate with nowhere to deliver",
            vec![
                "open".into(),
                good_path.clone(),
                "-i".into(),
                id.clone(),
                "--rotate".into(),
            ],
            &[2],
        ),
        (
            "an OpenPGP message of garbage",
            vec![
                "open".into(),
                env.p("fake.pgp"),
                "-i".into(),
                env.p("fake-secret.asc"),
                "--json".into(),
            ],
            &[3, 4],
        ),
        (
            "an OpenPGP message and no OpenPGP key",
            vec![
                "open".into(),
                env.p("fake.pgp"),
                "-i".into(),
                id.clone(),
                "--json".into(),
            ],
            &[4],
        ),
        (
            "seal to a fake OpenPGP key",
            vec![
                "seal".into(),
                "--from-csv".into(),
                csv.clone(),
                "--to".into(),
                env.p("fake.asc"),
                "-o".into(),
                env.p("pgp.out"),
            ],
            &[3],
        ),
        (
            "sign with an age identity",
            vec![
                "seal".into(),
                "--from-csv".into(),
                csv.clone(),
                "--to".into(),
                r.clone(),
                "--sign-with".into(),
                id.clone(),
                "-o".into(),
                env.p("signed.out"),
            ],
            &[3],
        ),
        (
            "sign with a missing key",
            vec![
                "seal".into(),
                "--from-csv".into(),
                csv.clone(),
                "--to".into(),
                r.clone(),
                "--sign-with".into(),
                env.p("nope"),
                "-o".into(),
                env.p("signed.out"),
            ],
            &[3, 5],
        ),
        (
            "sign for recipients on stdin",
            vec![
                "seal".into(),
                "--from-csv".into(),
                csv.clone(),
                "--to".into(),
                "-".into(),
                "--sign-with".into(),
                env.p("junk.pub"),
                "-o".into(),
                env.p("signed.out"),
            ],
            &[3],
        ),
    ] {
        cases.push(Case {
            name: name.into(),
            args,
            stdin: None,
            codes,
            aws_port: None,
        });
    }

    // ---- credentials files (AWS_SHARED_CREDENTIALS_FILE is TestEnv's aws-credentials)
    let profile = |name: &str, profile: &str| Case {
        name: format!("credentials file: {name}"),
        args: vec![
            "open".into(),
            env.p("good.age"),
            "-i".into(),
            id.clone(),
            // one argument, so that "-x" reaches handoff instead of clap
            format!("--aws-profile={profile}"),
        ],
        stdin: None,
        codes: &[3, 5],
        aws_port: None,
    };
    for bad in [
        "a]b",
        "a b",
        "",
        "[x",
        "x\ny",
        "-x",
        "DEFAULT",
        "p]\n[default",
    ] {
        cases.push(profile(&format!("profile name {bad:?}"), bad));
    }

    let moto = Moto::start();
    let mut proxies = Vec::new();
    if let Some(m) = &moto {
        for (action, fault) in [
            ("GetCallerIdentity", Fault::ServerError),
            ("GetUser", Fault::Throttling),
            ("GetUser", Fault::Garbage),
            ("GetCallerIdentity", Fault::Drop),
            ("ListAccessKeys", Fault::ServerError),
        ] {
            let p = Proxy::start(m.port);
            p.fail(action, fault);
            m.iam("CreateUser", &[("UserName", "existing")]);
            cases.push(Case {
                name: format!("IAM {action} answers {fault:?}"),
                args: [
                    "create",
                    "--user",
                    "existing",
                    "--to",
                    &r,
                    "-o",
                    &env.p("iam.age"),
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                stdin: None,
                codes: &[6],
                aws_port: Some(p.port),
            });
            proxies.push(p);
        }
    }

    // ---- run them all
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let before = files(&env);
        let start = Instant::now();
        let mut cmd = env.cmd();
        if let Some(port) = c.aws_port {
            Moto::env_for(&mut cmd, port);
        }
        cmd.args(&c.args);
        let out = match &c.stdin {
            Some(bytes) => {
                use std::io::Write;
                let mut child = cmd
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child.stdin.take().unwrap().write_all(bytes).ok();
                child.wait_with_output().unwrap()
            }
            None => cmd.output().unwrap(),
        };
        let took = start.elapsed();
        let run = Run::from_output(out);
        let after = files(&env);
        let mut problems = Vec::new();
        if !c.codes.contains(&run.code) {
            problems.push(format!("exit {} (expected {:?})", run.code, c.codes));
        }
        if run.stderr.contains("panicked") {
            problems.push("panic".into());
        }
        if run.code != 2 && !(run.stderr.contains("error: ") && run.stderr.contains("hint: ")) {
            problems.push("no error + hint lines".into());
        }
        if run
            .stderr
            .lines()
            .filter(|l| l.starts_with("handoff: error:"))
            .count()
            > 1
        {
            problems.push("more than one error".into());
        }
        if took > Duration::from_secs(15) {
            problems.push(format!("took {took:?}"));
        }
        if run.stdout.contains(SECRET) || run.stderr.contains(SECRET) {
            problems.push("printed the secret".into());
        }
        if after != before {
            problems.push(format!(
                "files changed: {:?}",
                after.symmetric_difference(&before).collect::<Vec<_>>()
            ));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    stderr: {}",
                c.name,
                problems.join("; "),
                run.stderr.trim().replace('\n', "\n            ")
            ));
        }
    }
    if let Some(m) = &moto {
        let (_, users) = m.iam("ListUsers", &[]);
        assert_eq!(
            users.matches("<UserName>").count(),
            1,
            "only the pre-existing user: {users}"
        );
        assert!(m.access_key_ids("existing").is_empty(), "a key was minted");
    }
    assert_eq!(
        std::fs::read_to_string(env.path("target.txt")).unwrap(),
        "keep"
    );
    eprintln!(
        "hostile inputs: {} cases, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
