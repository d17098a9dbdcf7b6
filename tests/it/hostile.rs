//! The hostile-input suite: over a hundred inputs built to break handoff (damaged and
//! oversized bundles, bad identities, malicious payloads, broken CSVs and recipients
//! files, outputs that are directories, FIFOs, symlinks or full devices, broken
//! credentials files, a failing IAM server). Each must end with a documented non-zero
//! exit code, an `error:` and a `hint:` line, no panic, within a time bound, without
//! printing the secret, without leaving a file behind, and without anything left in IAM.
//!
//! Each input is its own test, `hostile::<name>` (run one alone with
//! `cargo test --test it hostile::<name>`, or a family with a prefix such as
//! `hostile::payload_`); [`Fx::check`] holds the checks they share.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::moto::{Fault, Moto, Proxy};
use crate::support::*;

const K: &str = KEY_ID;
const S: &str = SECRET;

/// One hostile run of handoff.
struct Case {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    codes: &'static [i32],
    aws_port: Option<u16>,
}

/// What every case starts from, made once per test run with the real handoff: an
/// identity and its recipient, a second identity, and the sample key sealed to the
/// first one, binary and armored.
struct Made {
    id: Vec<u8>,
    other: Vec<u8>,
    r: String,
    good: Vec<u8>,
    good_armored: String,
}

fn made() -> &'static Made {
    static MADE: OnceLock<Made> = OnceLock::new();
    MADE.get_or_init(|| {
        let env = TestEnv::new();
        let (id, r) = env.keygen("key.txt");
        let (other, _) = env.keygen("other.txt");
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
        Made {
            id: std::fs::read(id).unwrap(),
            other: std::fs::read(other).unwrap(),
            r,
            good: std::fs::read(env.path("good.age")).unwrap(),
            good_armored: env.read("good.asc"),
        }
    })
}

/// A test's directory: `key.txt` (the identity), `other.txt` (another identity),
/// `accessKeys.csv` (the sample key), `good.age` and `good.asc` (the sample key sealed
/// to `key.txt`).
struct Fx {
    env: TestEnv,
    id: String,
    other: String,
    r: String,
    recipient: age::x25519::Recipient,
    csv: String,
    good: Vec<u8>,
    good_armored: String,
}

/// Things an output path can be instead of a new file.
#[derive(Clone, Copy)]
enum Target {
    Directory,
    Fifo,
    DanglingSymlink,
    SymlinkToFile,
    DevFull,
    MissingDirectory,
}

/// Every file under the test's directory (but the prompt answers).
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

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

impl Fx {
    fn new() -> Fx {
        use std::os::unix::fs::PermissionsExt;
        let m = made();
        let env = TestEnv::new();
        let id = env.write("key.txt", &m.id);
        let other = env.write("other.txt", &m.other);
        for f in [&id, &other] {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let csv = env.access_key_csv("accessKeys.csv");
        env.write("good.age", &m.good);
        env.write("good.asc", &m.good_armored);
        // the first command writes the fake pinentry: before any snapshot of the files
        drop(env.cmd());
        Fx {
            id,
            other,
            r: m.r.clone(),
            recipient: m.r.parse().unwrap(),
            csv,
            good: m.good.clone(),
            good_armored: m.good_armored.clone(),
            env,
        }
    }

    fn case(&self, args: Vec<String>, codes: &'static [i32]) -> Case {
        Case {
            args,
            stdin: None,
            codes,
            aws_port: None,
        }
    }

    /// `open BUNDLE -i key.txt --json`.
    fn open(&self, bundle: &str) -> Vec<String> {
        strings(&["open", bundle, "-i", &self.id, "--json"])
    }

    /// `open BUNDLE -i key.txt --json EXTRA…` on the good bundle.
    fn open_with(&self, extra: &[&str]) -> Vec<String> {
        let mut a = self.open(&self.env.p("good.age"));
        a.extend(strings(extra));
        a
    }

    /// Opens the bundle at `path`.
    fn open_path(&self, path: String, codes: &'static [i32]) -> Case {
        self.case(self.open(&path), codes)
    }

    /// Opens a bundle file `name` holding `contents`.
    fn open_file(&self, name: &str, contents: impl AsRef<[u8]>, codes: &'static [i32]) -> Case {
        self.open_path(self.env.write(name, contents), codes)
    }

    fn truncated_to(&self, cut: usize) -> Case {
        self.open_file(&format!("trunc{cut}.age"), &self.good[..cut], &[4])
    }

    fn flipped_at(&self, at: usize) -> Case {
        let mut b = self.good.clone();
        b[at] ^= 0x20;
        self.open_file(&format!("flip{at}.age"), &b, &[4])
    }

    fn armored_lines(&self) -> Vec<&str> {
        self.good_armored.lines().collect()
    }

    /// Opens the good bundle with the identity file `contents`.
    fn bad_identity(&self, contents: impl AsRef<[u8]>) -> Case {
        let f = self.env.write("bad.id", contents);
        self.case(
            strings(&["open", &self.env.p("good.age"), "-i", &f, "--json"]),
            &[3, 4],
        )
    }

    fn with_identity(&self, identity: &str, codes: &'static [i32]) -> Case {
        self.case(
            strings(&["open", &self.env.p("good.age"), "-i", identity, "--json"]),
            codes,
        )
    }

    /// A bundle properly encrypted to key.txt holding `payload`.
    fn payload_bundle(&self, name: &str, payload: &[u8]) -> String {
        let ct = age::encrypt(&self.recipient, payload).unwrap();
        self.env.write(name, ct)
    }

    /// Opens a malicious payload, properly encrypted to key.txt.
    fn payload(&self, payload: impl AsRef<[u8]>) -> Case {
        let f = self.payload_bundle("payload.age", payload.as_ref());
        self.open_path(f, &[3])
    }

    /// A payload whose `field` is an object.
    fn wrong_type(&self, field: &str) -> Case {
        self.payload(
            format!(
                r#"{{"format":"handoff/v1","console_password":"p","{field}":{{"nested":[1,2]}}}}"#
            )
            .replace(
                r#""console_password":"p","console_password""#,
                r#""console_password""#,
            ),
        )
    }

    /// Output injection (issue 10): a planted payload whose secret carries the syntax
    /// of an output's consumer, opened into that output (`out`). The typed key refuses
    /// it before anything is written.
    fn injected_secret(&self, secret: serde_json::Value, out: &[&str]) -> Case {
        let payload = serde_json::json!({"format": "handoff/v1", "access_key_id": K, "secret_access_key": secret});
        let f = self.payload_bundle("inj.age", payload.to_string().as_bytes());
        let mut args = strings(&["open", &f, "-i", &self.id]);
        args.extend(strings(out));
        self.case(args, &[3])
    }

    fn injected_key_id(&self, key_id: &str) -> Case {
        let payload = serde_json::json!({"format": "handoff/v1", "access_key_id": key_id, "secret_access_key": S});
        let f = self.payload_bundle("injid.age", payload.to_string().as_bytes());
        self.open_path(f, &[3])
    }

    /// Seals from a console CSV holding `contents`.
    fn seal_csv(&self, contents: impl AsRef<[u8]>) -> Case {
        let f = self.env.write("hostile.csv", contents);
        self.case(
            strings(&[
                "seal",
                "--from-csv",
                &f,
                "--to",
                &self.r,
                "-o",
                &self.env.p("csv-out.age"),
            ]),
            &[3],
        )
    }

    /// Seals the sample CSV with these recipient arguments.
    fn seal_to(&self, args: &[&str]) -> Case {
        let mut a = strings(&[
            "seal",
            "--from-csv",
            &self.csv,
            "-o",
            &self.env.p("r-out.age"),
        ]);
        a.extend(strings(args));
        self.case(a, &[2, 3])
    }

    /// Seals to the recipients file `contents`.
    fn recipients_file(&self, contents: impl AsRef<[u8]>) -> Case {
        let f = self.env.write("recipients.txt", contents);
        self.seal_to(&["-R", &f])
    }

    /// Makes `target`; returns its path.
    fn target(&self, target: Target) -> String {
        match target {
            Target::Directory => {
                std::fs::create_dir(self.env.path("adir")).unwrap();
                self.env.p("adir")
            }
            Target::Fifo => {
                let fifo = self.env.p("fifo");
                assert!(
                    std::process::Command::new("mkfifo")
                        .arg(&fifo)
                        .status()
                        .unwrap()
                        .success()
                );
                fifo
            }
            Target::DanglingSymlink => {
                std::os::unix::fs::symlink(self.env.path("elsewhere"), self.env.path("dangling"))
                    .unwrap();
                self.env.p("dangling")
            }
            Target::SymlinkToFile => {
                // check() asserts that target.txt still holds "keep"
                self.env.write("target.txt", "keep");
                std::os::unix::fs::symlink(self.env.path("target.txt"), self.env.path("link"))
                    .unwrap();
                self.env.p("link")
            }
            Target::DevFull => "/dev/full".into(),
            Target::MissingDirectory => self.env.p("no/such/dir/x"),
        }
    }

    /// Seals into an output that is `target`.
    fn bundle_output(&self, target: Target, force: bool) -> Case {
        let path = self.target(target);
        let mut args = strings(&[
            "seal",
            "--from-csv",
            &self.csv,
            "--to",
            &self.r,
            "-o",
            &path,
        ]);
        if force {
            args.push("--force".into());
        }
        self.case(args, &[5])
    }

    /// Opens into a CSV that is `target`.
    fn csv_output(&self, target: Target, force: bool) -> Case {
        let path = self.target(target);
        let mut args = strings(&[
            "open",
            &self.env.p("good.age"),
            "-i",
            &self.id,
            "--csv",
            &path,
        ]);
        if force {
            args.push("--force".into());
        }
        self.case(args, &[5])
    }

    /// Seals the sample CSV to key.txt with these extra arguments.
    fn seal_with(&self, extra: &[&str], codes: &'static [i32]) -> Case {
        let mut args = strings(&["seal", "--from-csv", &self.csv]);
        args.extend(strings(extra));
        self.case(args, codes)
    }

    /// Opens into a profile of the credentials file (AWS_SHARED_CREDENTIALS_FILE is
    /// TestEnv's aws-credentials).
    fn profile(&self, profile: &str) -> Case {
        self.case(
            strings(&[
                "open",
                &self.env.p("good.age"),
                "-i",
                &self.id,
                // one argument, so that "-x" reaches handoff instead of clap
                &format!("--aws-profile={profile}"),
            ]),
            &[3, 5],
        )
    }

    /// Runs the case and asserts everything every hostile input must satisfy.
    #[track_caller]
    fn check(&self, name: &str, c: Case) {
        let env = &self.env;
        let before = files(env);
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
        let after = files(env);
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
        if env.path("target.txt").exists() && env.read("target.txt") != "keep" {
            problems.push("wrote through the symlink into target.txt".into());
        }
        assert!(
            problems.is_empty(),
            "hostile::{name} misbehaved: {}\n    args: {:?}\n    stderr: {}",
            problems.join("; "),
            c.args,
            run.stderr.trim().replace('\n', "\n            ")
        );
    }
}

/// The cases: `name => Case;`, each its own `#[test] fn name` run through
/// [`Fx::check`], with `$fx` (a fresh [`Fx`]) in scope.
macro_rules! hostile {
    ($fx:ident; $($name:ident => $case:expr;)+) => {
        $(
            #[test]
            fn $name() {
                let $fx = Fx::new();
                let case = $case;
                $fx.check(stringify!($name), case);
            }
        )+

        /// Every case's name.
        const CASES: &[&str] = &[$(stringify!($name)),+];
    };
}

hostile! { fx;
    // ---- damaged bundles
    bundle_truncated_to_1_byte => fx.truncated_to(1);
    bundle_truncated_to_10_bytes => fx.truncated_to(10);
    bundle_truncated_to_21_bytes => fx.truncated_to(21);
    bundle_truncated_to_22_bytes => fx.truncated_to(22);
    bundle_truncated_to_50_bytes => fx.truncated_to(50);
    bundle_truncated_to_100_bytes => fx.truncated_to(100);
    bundle_truncated_to_half => fx.truncated_to(fx.good.len() / 2);
    bundle_truncated_by_17_bytes => fx.truncated_to(fx.good.len() - 17);
    bundle_truncated_by_1_byte => fx.truncated_to(fx.good.len() - 1);
    bundle_byte_0_flipped => fx.flipped_at(0);
    bundle_byte_3_flipped => fx.flipped_at(3);
    bundle_byte_25_flipped => fx.flipped_at(25);
    bundle_byte_40_flipped => fx.flipped_at(40);
    bundle_byte_60_flipped => fx.flipped_at(60);
    bundle_byte_90_flipped => fx.flipped_at(90);
    bundle_byte_40_from_the_end_flipped => fx.flipped_at(fx.good.len() - 40);
    bundle_byte_20_from_the_end_flipped => fx.flipped_at(fx.good.len() - 20);
    bundle_last_byte_flipped => fx.flipped_at(fx.good.len() - 1);
    bundle_header_lines_reordered => {
        let text = String::from_utf8_lossy(&fx.good).into_owned();
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.swap(1, 2);
        fx.open_file("reorder.age", lines.join("\n"), &[4])
    };
    bundle_payload_bytes_reordered => {
        let mut rev = fx.good.clone();
        let tail = rev.split_off(fx.good.len() - 64);
        rev.extend(tail.iter().rev());
        fx.open_file("rev.age", &rev, &[4])
    };
    two_bundles_concatenated => fx.open_file("double.age", [&fx.good[..], &fx.good[..]].concat(), &[4]);
    bundle_of_2_mib => fx.open_file("huge.age", vec![b'A'; 2 << 20], &[3]);
    real_bundle_padded_past_1_mib => fx.open_file("padded.age", [fx.good.clone(), vec![0u8; 1 << 20]].concat(), &[3]);
    empty_bundle => fx.open_file("empty.age", "", &[4]);
    bundle_is_a_directory => fx.open_path(fx.env.p(""), &[3]);
    bundle_does_not_exist => fx.open_path(fx.env.p("nope.age"), &[3]);
    bundle_is_dev_null => fx.open_path("/dev/null".into(), &[4]);
    bundle_of_random_bytes => fx.open_file(
        "random.age",
        (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<u8>>(),
        &[4],
    );
    bundle_of_only_the_age_header_line => fx.open_file("hdr.age", "age-encryption.org/v1\n", &[4]);
    bundle_header_with_no_stanza => fx.open_file("nostanza.age", "age-encryption.org/v1\n--- AAAA\n", &[4]);
    bundle_of_a_future_age_version => fx.open_file("v2.age", "age-encryption.org/v2\n-> X25519 a\nb\n--- c\n", &[4]);

    // ---- armored with garbage
    armor_with_a_garbage_body => fx.open_file(
        "g1.asc",
        "-----BEGIN AGE ENCRYPTED FILE-----\n!!!not base64!!!\n-----END AGE ENCRYPTED FILE-----\n",
        &[4],
    );
    armor_without_end_line => {
        let l = fx.armored_lines();
        fx.open_file("g2.asc", l[..l.len() - 1].join("\n"), &[4])
    };
    armor_with_a_line_too_long => {
        let l = fx.armored_lines();
        fx.open_file("g3.asc", format!("{}\n{}\n{}\n", l[0], "QUFB".repeat(40), l[l.len() - 1]), &[4])
    };
    armor_with_text_after_the_end => fx.open_file("g4.asc", format!("{}trailing garbage\n", fx.good_armored), &[4]);
    armor_with_a_body_line_removed => {
        let mut l = fx.armored_lines();
        l.remove(2);
        fx.open_file("g5.asc", l.join("\n"), &[4])
    };
    armor_header_only => fx.open_file("g6.asc", "-----BEGIN AGE ENCRYPTED FILE-----\n", &[4]);

    // ---- identities
    identity_of_garbage => fx.bad_identity("hello\n");
    identity_with_a_bad_checksum => fx.bad_identity("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n");
    identity_that_is_a_public_key => fx.bad_identity(fx.r.as_bytes());
    identity_of_binary_junk => fx.bad_identity([0u8, 159, 146, 150, 255, 0, 1]);
    identity_that_is_an_ssh_public_key => fx.bad_identity("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpuf0sZ9V4nW/qd0bgqBgk5uuqzEh6X2Lhp x\n");
    identity_that_is_a_truncated_ssh_key => fx.bad_identity("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
    wrong_identity => fx.with_identity(&fx.other, &[4]);
    identity_missing => fx.with_identity(&fx.env.p("missing.txt"), &[3]);
    identity_is_a_directory => fx.with_identity(&fx.env.p(""), &[3]);
    bundle_and_identity_both_stdin => Case {
        args: strings(&["open", "-", "-i", "-"]),
        stdin: Some(fx.good.clone()),
        codes: &[3],
        aws_port: None,
    };

    // ---- malicious payloads, properly encrypted to our key
    payload_of_an_unknown_version => fx.payload(r#"{"format":"handoff/v9","x":1}"#);
    payload_format_missing => fx.payload(format!(r#"{{"access_key_id":"{K}","secret_access_key":"{S}"}}"#));
    payload_format_is_a_number => fx.payload(r#"{"format":1}"#);
    payload_format_is_null => fx.payload(r#"{"format":null}"#);
    payload_is_an_array => fx.payload(r#"["handoff/v1"]"#);
    payload_is_a_string => fx.payload(r#""handoff/v1""#);
    payload_is_empty => fx.payload("");
    payload_is_an_empty_object => fx.payload("{}");
    payload_of_only_the_format => fx.payload(r#"{"format":"handoff/v1"}"#);
    payload_with_an_unknown_field => fx.payload(format!(r#"{{"format":"handoff/v1","access_key_id":"{K}","secret_access_key":"{S}","region":"x"}}"#));
    payload_with_a_duplicate_field => fx.payload(format!(r#"{{"format":"handoff/v1","access_key_id":"{K}","access_key_id":"{K}","secret_access_key":"{S}"}}"#));
    payload_of_invalid_utf8 => fx.payload(b"{\"format\":\"handoff/v1\",\"note\":\"\xff\xfe\"}");
    payload_of_truncated_json => fx.payload(r#"{"format":"handoff/v1","access_key_id":"#);
    payload_with_trailing_garbage => fx.payload(format!(r#"{{"format":"handoff/v1","access_key_id":"{K}","secret_access_key":"{S}"}} junk"#));
    payload_nested_deeply => fx.payload(format!(r#"{{"format":"handoff/v1","note":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000)));
    payload_with_a_huge_note => fx.payload(format!(r#"{{"format":"handoff/v1","console_password":"p","note":"{}"}}"#, "x".repeat(60_000)));
    payload_over_64_kib => fx.payload(format!(r#"{{"format":"handoff/v1","console_password":"p","note":"{}"}}"#, "x".repeat(70_000)));
    payload_with_a_lowercase_access_key_id => fx.payload(format!(r#"{{"format":"handoff/v1","access_key_id":"akiaiosfodnn7example","secret_access_key":"{S}"}}"#));
    payload_secret_with_spaces => fx.payload(format!(r#"{{"format":"handoff/v1","access_key_id":"{K}","secret_access_key":"a b c"}}"#));
    payload_secret_with_a_newline => fx.payload(format!(r#"{{"format":"handoff/v1","access_key_id":"{K}","secret_access_key":"abc\ndef"}}"#));
    payload_secret_empty => fx.payload(format!(r#"{{"format":"handoff/v1","access_key_id":"{K}","secret_access_key":""}}"#));
    payload_account_id_of_11_digits => fx.payload(format!(r#"{{"format":"handoff/v1","account_id":"12345678901","access_key_id":"{K}","secret_access_key":"{S}"}}"#));
    payload_with_a_bad_created_at => fx.payload(format!(r#"{{"format":"handoff/v1","created_at":"tomorrow","access_key_id":"{K}","secret_access_key":"{S}"}}"#));
    payload_with_a_bad_expires_at => fx.payload(format!(r#"{{"format":"handoff/v1","expires_at":"2026-13-45T99:00:00Z","access_key_id":"{K}","secret_access_key":"{S}"}}"#));
    payload_with_an_http_sign_in_url => fx.payload(r#"{"format":"handoff/v1","console_password":"p","sign_in_url":"http://evil.example/console"}"#);
    payload_with_an_escape_sequence_in_the_user_name => fx.payload(format!("{{\"format\":\"handoff/v1\",\"user_name\":\"a\\u001b[31mb\",\"access_key_id\":\"{K}\",\"secret_access_key\":\"{S}\"}}"));
    payload_password_of_200_characters => fx.payload(format!(r#"{{"format":"handoff/v1","console_password":"{}"}}"#, "p".repeat(200)));
    payload_account_id_of_the_wrong_type => fx.wrong_type("account_id");
    payload_user_name_of_the_wrong_type => fx.wrong_type("user_name");
    payload_user_arn_of_the_wrong_type => fx.wrong_type("user_arn");
    payload_access_key_id_of_the_wrong_type => fx.wrong_type("access_key_id");
    payload_secret_access_key_of_the_wrong_type => fx.wrong_type("secret_access_key");
    payload_console_password_of_the_wrong_type => fx.wrong_type("console_password");
    payload_sign_in_url_of_the_wrong_type => fx.wrong_type("sign_in_url");
    payload_created_at_of_the_wrong_type => fx.wrong_type("created_at");
    payload_expires_at_of_the_wrong_type => fx.wrong_type("expires_at");
    payload_created_by_of_the_wrong_type => fx.wrong_type("created_by");
    payload_note_of_the_wrong_type => fx.wrong_type("note");

    // ---- output injections (issue 10): each planted secret, opened into each output
    injection_shell_quote_in_the_secret_env => fx.injected_secret(INJ_SHELL_QUOTE.into(), &["--env"]);
    injection_shell_quote_in_the_secret_json => fx.injected_secret(INJ_SHELL_QUOTE.into(), &["--json"]);
    injection_shell_quote_in_the_secret_csv_stdout => fx.injected_secret(INJ_SHELL_QUOTE.into(), &["--csv", "-"]);
    injection_shell_quote_in_the_secret_csv_file => fx.injected_secret(INJ_SHELL_QUOTE.into(), &["--csv", "out.csv"]);
    injection_shell_quote_in_the_secret_aws_profile => fx.injected_secret(INJ_SHELL_QUOTE.into(), &["--aws-profile", "injected"]);
    injection_command_substitution_in_the_secret_env => fx.injected_secret(INJ_SUBSTITUTION.into(), &["--env"]);
    injection_command_substitution_in_the_secret_json => fx.injected_secret(INJ_SUBSTITUTION.into(), &["--json"]);
    injection_command_substitution_in_the_secret_csv_stdout => fx.injected_secret(INJ_SUBSTITUTION.into(), &["--csv", "-"]);
    injection_command_substitution_in_the_secret_csv_file => fx.injected_secret(INJ_SUBSTITUTION.into(), &["--csv", "out.csv"]);
    injection_command_substitution_in_the_secret_aws_profile => fx.injected_secret(INJ_SUBSTITUTION.into(), &["--aws-profile", "injected"]);
    injection_backticks_in_the_secret_env => fx.injected_secret(INJ_BACKTICKS.into(), &["--env"]);
    injection_backticks_in_the_secret_json => fx.injected_secret(INJ_BACKTICKS.into(), &["--json"]);
    injection_backticks_in_the_secret_csv_stdout => fx.injected_secret(INJ_BACKTICKS.into(), &["--csv", "-"]);
    injection_backticks_in_the_secret_csv_file => fx.injected_secret(INJ_BACKTICKS.into(), &["--csv", "out.csv"]);
    injection_backticks_in_the_secret_aws_profile => fx.injected_secret(INJ_BACKTICKS.into(), &["--aws-profile", "injected"]);
    injection_json_fields_in_the_secret_env => fx.injected_secret(INJ_JSON.into(), &["--env"]);
    injection_json_fields_in_the_secret_json => fx.injected_secret(INJ_JSON.into(), &["--json"]);
    injection_json_fields_in_the_secret_csv_stdout => fx.injected_secret(INJ_JSON.into(), &["--csv", "-"]);
    injection_json_fields_in_the_secret_csv_file => fx.injected_secret(INJ_JSON.into(), &["--csv", "out.csv"]);
    injection_json_fields_in_the_secret_aws_profile => fx.injected_secret(INJ_JSON.into(), &["--aws-profile", "injected"]);
    injection_ini_section_in_the_secret_env => fx.injected_secret(INJ_INI.into(), &["--env"]);
    injection_ini_section_in_the_secret_json => fx.injected_secret(INJ_INI.into(), &["--json"]);
    injection_ini_section_in_the_secret_csv_stdout => fx.injected_secret(INJ_INI.into(), &["--csv", "-"]);
    injection_ini_section_in_the_secret_csv_file => fx.injected_secret(INJ_INI.into(), &["--csv", "out.csv"]);
    injection_ini_section_in_the_secret_aws_profile => fx.injected_secret(INJ_INI.into(), &["--aws-profile", "injected"]);
    injection_csv_row_and_formula_in_the_secret_env => fx.injected_secret(INJ_CSV.into(), &["--env"]);
    injection_csv_row_and_formula_in_the_secret_json => fx.injected_secret(INJ_CSV.into(), &["--json"]);
    injection_csv_row_and_formula_in_the_secret_csv_stdout => fx.injected_secret(INJ_CSV.into(), &["--csv", "-"]);
    injection_csv_row_and_formula_in_the_secret_csv_file => fx.injected_secret(INJ_CSV.into(), &["--csv", "out.csv"]);
    injection_csv_row_and_formula_in_the_secret_aws_profile => fx.injected_secret(INJ_CSV.into(), &["--aws-profile", "injected"]);
    injection_secret_of_41_characters_env => fx.injected_secret(INJ_41.into(), &["--env"]);
    injection_secret_of_41_characters_json => fx.injected_secret(INJ_41.into(), &["--json"]);
    injection_secret_of_41_characters_csv_stdout => fx.injected_secret(INJ_41.into(), &["--csv", "-"]);
    injection_secret_of_41_characters_csv_file => fx.injected_secret(INJ_41.into(), &["--csv", "out.csv"]);
    injection_secret_of_41_characters_aws_profile => fx.injected_secret(INJ_41.into(), &["--aws-profile", "injected"]);
    injection_null_secret_env => fx.injected_secret(serde_json::Value::Null, &["--env"]);
    injection_null_secret_json => fx.injected_secret(serde_json::Value::Null, &["--json"]);
    injection_null_secret_csv_stdout => fx.injected_secret(serde_json::Value::Null, &["--csv", "-"]);
    injection_null_secret_csv_file => fx.injected_secret(serde_json::Value::Null, &["--csv", "out.csv"]);
    injection_null_secret_aws_profile => fx.injected_secret(serde_json::Value::Null, &["--aws-profile", "injected"]);
    injection_shell_quote_in_the_key_id => fx.injected_key_id("AKIA'$(id)'AAAAAAAAA");
    injection_json_in_the_key_id => fx.injected_key_id("AKIA\",\"x\":\"AAAAAAAA");
    injection_key_id_of_21_characters => fx.injected_key_id("AKIAIOSFODNN7EXAMPLEX");

    // ---- console CSVs
    csv_empty => fx.seal_csv("");
    csv_of_a_bom_only => fx.seal_csv("\u{feff}");
    csv_of_the_header_only => fx.seal_csv("Access key ID,Secret access key\n");
    csv_missing_the_secret_column => fx.seal_csv(format!("Access key ID\n{K}\n"));
    csv_with_an_extra_column => fx.seal_csv(format!("Access key ID,Secret access key,Region\n{K},{S},x\n"));
    csv_with_a_duplicated_column => fx.seal_csv(format!("Access key ID,Access key ID,Secret access key\n{K},{K},{S}\n"));
    csv_row_longer_than_the_header => fx.seal_csv(format!("Access key ID,Secret access key\n{K},{S},x\n"));
    csv_row_shorter_than_the_header => fx.seal_csv(format!("Access key ID,Secret access key\n{K}\n"));
    csv_of_two_rows => fx.seal_csv(format!("Access key ID,Secret access key\n{K},{S}\n{K},{S}\n"));
    csv_with_an_unbalanced_quote => fx.seal_csv(format!("Access key ID,Secret access key\n\"{K},{S}\n"));
    csv_with_semicolons => fx.seal_csv(format!("Access key ID;Secret access key\n{K};{S}\n"));
    csv_with_tabs => fx.seal_csv(format!("Access key ID\tSecret access key\n{K}\t{S}\n"));
    csv_with_a_quoted_newline_in_the_secret => fx.seal_csv(format!("Access key ID,Secret access key\n{K},\"ab\ncd\"\n"));
    csv_with_wrong_headers => fx.seal_csv(format!("Key,Secret\n{K},{S}\n"));
    csv_key_id_without_a_secret => fx.seal_csv(format!("Access key ID,Secret access key\n{K},\n"));
    csv_with_a_10_mb_line => fx.seal_csv(format!("Access key ID,Secret access key\n{K},{}\n", "x".repeat(10 << 20)));
    csv_of_binary_junk => fx.seal_csv((0..2000u32).map(|i| (i * 31 % 256) as u8).collect::<Vec<u8>>());
    csv_of_invalid_utf8 => fx.seal_csv(b"Access key ID,Secret access key\n\xff\xfe,\xfd\n");

    // ---- recipients
    recipients_file_of_100k_junk_lines => fx.recipients_file("not a recipient\n".repeat(100_000));
    recipients_file_of_100k_comment_lines => fx.recipients_file("# nothing\n".repeat(100_000));
    recipients_file_of_binary_junk => fx.recipients_file((0..5000u32).map(|i| (i * 13 % 256) as u8).collect::<Vec<u8>>());
    recipients_file_over_16_mib => fx.recipients_file(vec![b'a'; 17 << 20]);
    recipients_file_is_a_directory => fx.seal_to(&["-R", &fx.env.p("")]);
    recipients_file_missing => fx.seal_to(&["-R", &fx.env.p("gone.txt")]);
    recipient_bare_age1 => fx.seal_to(&["--to", "age1"]);
    recipient_age1_with_a_bad_checksum => fx.seal_to(&["--to", "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gz"]);
    recipient_truncated_ssh_ed25519 => fx.seal_to(&["--to", "ssh-ed25519 AAAA"]);
    recipient_ssh_rsa_of_1024_bits => fx.seal_to(&["--to", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDcJ9"]);
    recipient_ssh_dss_key => fx.seal_to(&["--to", "ssh-dss AAAAB3NzaC1kc3MAAACBAP"]);
    recipient_a_secret_key_by_mistake => fx.seal_to(&["--to", "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"]);
    recipient_an_email_address => fx.seal_to(&["--to", "alice@example.com"]);
    recipient_with_control_characters => fx.seal_to(&["--to", "age1\u{1b}[2J"]);
    recipient_empty_string => fx.seal_to(&["--to", ""]);

    // ---- outputs
    bundle_output_is_a_directory => fx.bundle_output(Target::Directory, false);
    bundle_output_is_a_directory_with_force => fx.bundle_output(Target::Directory, true);
    bundle_output_is_a_fifo => fx.bundle_output(Target::Fifo, false);
    bundle_output_is_a_fifo_with_force => fx.bundle_output(Target::Fifo, true);
    bundle_output_is_a_dangling_symlink => fx.bundle_output(Target::DanglingSymlink, false);
    bundle_output_is_a_dangling_symlink_with_force => fx.bundle_output(Target::DanglingSymlink, true);
    bundle_output_is_a_symlink_to_a_file => fx.bundle_output(Target::SymlinkToFile, false);
    bundle_output_is_a_symlink_to_a_file_with_force => fx.bundle_output(Target::SymlinkToFile, true);
    bundle_output_is_dev_full => fx.bundle_output(Target::DevFull, false);
    bundle_output_is_dev_full_with_force => fx.bundle_output(Target::DevFull, true);
    bundle_output_in_a_missing_directory => fx.bundle_output(Target::MissingDirectory, false);
    bundle_output_in_a_missing_directory_with_force => fx.bundle_output(Target::MissingDirectory, true);
    csv_output_is_a_directory => fx.csv_output(Target::Directory, false);
    csv_output_is_a_directory_with_force => fx.csv_output(Target::Directory, true);
    csv_output_is_a_fifo => fx.csv_output(Target::Fifo, false);
    csv_output_is_a_fifo_with_force => fx.csv_output(Target::Fifo, true);
    csv_output_is_a_dangling_symlink => fx.csv_output(Target::DanglingSymlink, false);
    csv_output_is_a_dangling_symlink_with_force => fx.csv_output(Target::DanglingSymlink, true);
    csv_output_is_a_symlink_to_a_file => fx.csv_output(Target::SymlinkToFile, false);
    csv_output_is_a_symlink_to_a_file_with_force => fx.csv_output(Target::SymlinkToFile, true);
    csv_output_is_dev_full => fx.csv_output(Target::DevFull, false);
    csv_output_is_dev_full_with_force => fx.csv_output(Target::DevFull, true);
    csv_output_in_a_missing_directory => fx.csv_output(Target::MissingDirectory, false);
    csv_output_in_a_missing_directory_with_force => fx.csv_output(Target::MissingDirectory, true);
    keygen_into_a_directory => fx.case(strings(&["keygen", "-o", &fx.target(Target::Directory)]), &[5]);
    keygen_over_an_existing_file => fx.case(strings(&["keygen", "-o", &fx.id]), &[5]);

    // ---- signatures, pinning, OpenPGP: bad values of the trust-in-transit flags
    from_with_junk => fx.case(fx.open_with(&["--from", "not a key"]), &[3]);
    from_a_broken_pub_file => {
        let f = fx.env.write("junk.pub", "ssh-ed25519 not-base64!! x\n");
        fx.case(fx.open_with(&["--from", &f]), &[3])
    };
    from_a_cert_authority_line => {
        let f = fx.env.write("cert_authority", "* cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk2T3rKe1GkmFQ3ZlC2VvKkS/9w3e2w0dcmQ6Jm6Ijj\n");
        fx.case(fx.open_with(&["--from", &f]), &[3])
    };
    from_an_empty_file => fx.case(fx.open_with(&["--from", &fx.env.write("empty-signers", "")]), &[3]);
    from_with_an_unsigned_bundle => fx.case(
        fx.open_with(&["--from", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk2T3rKe1GkmFQ3ZlC2VvKkS/9w3e2w0dcmQ6Jm6Ijj"]),
        &[9],
    );
    export_signature_of_an_unsigned_bundle => fx.case(fx.open_with(&["--export-signature", &fx.env.p("m.json")]), &[9]);
    export_signature_into_a_directory => fx.case(fx.open_with(&["--export-signature", &fx.target(Target::Directory)]), &[5]);
    expect_account_not_12_digits => fx.case(fx.open_with(&["--expect-account", "12345678901x"]), &[3]);
    expect_account_of_another_account => fx.case(fx.open_with(&["--expect-account", "210987654321"]), &[9]);
    rotate_with_nowhere_to_deliver => fx.case(strings(&["open", &fx.env.p("good.age"), "-i", &fx.id, "--rotate"]), &[2]);
    openpgp_message_of_garbage => {
        let msg = fx.env.write("fake.pgp", "-----BEGIN PGP MESSAGE-----\n\ngarbage\n-----END PGP MESSAGE-----\n");
        let key = fx.env.write("fake-secret.asc", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot a key\n-----END PGP PRIVATE KEY BLOCK-----\n");
        fx.case(strings(&["open", &msg, "-i", &key, "--json"]), &[3, 4])
    };
    openpgp_message_and_no_openpgp_key => {
        let msg = fx.env.write("fake.pgp", "-----BEGIN PGP MESSAGE-----\n\ngarbage\n-----END PGP MESSAGE-----\n");
        fx.case(fx.open(&msg), &[4])
    };
    seal_to_a_fake_openpgp_key => {
        let key = fx.env.write("fake.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n");
        fx.seal_with(&["--to", &key, "-o", &fx.env.p("pgp.out")], &[3])
    };
    sign_with_an_age_identity => fx.seal_with(&["--to", &fx.r, "--sign-with", &fx.id, "-o", &fx.env.p("signed.out")], &[3]);
    sign_with_a_missing_key => fx.seal_with(&["--to", &fx.r, "--sign-with", &fx.env.p("nope"), "-o", &fx.env.p("signed.out")], &[3, 5]);
    sign_for_recipients_on_stdin => {
        let f = fx.env.write("junk.pub", "ssh-ed25519 not-base64!! x\n");
        fx.seal_with(&["--to", "-", "--sign-with", &f, "-o", &fx.env.p("signed.out")], &[3])
    };

    // ---- credentials files
    profile_name_with_a_closing_bracket => fx.profile("a]b");
    profile_name_with_a_space => fx.profile("a b");
    profile_name_empty => fx.profile("");
    profile_name_with_an_opening_bracket => fx.profile("[x");
    profile_name_with_a_newline => fx.profile("x\ny");
    profile_name_starting_with_a_dash => fx.profile("-x");
    profile_name_default_section => fx.profile("DEFAULT");
    profile_name_injecting_a_section => fx.profile("p]\n[default");
}

// Planted secrets for the output injections.
const INJ_SHELL_QUOTE: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMP'$(id)'";
const INJ_SUBSTITUTION: &str = "$(touch /tmp/handoff-pwned)wJalrXUtnFEMI/K7MDEN";
const INJ_BACKTICKS: &str = "`id`wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLE";
const INJ_JSON: &str = "x\",\"SessionToken\":\"FORGED\",\"x\":\"wJalrXUtnFEMI";
const INJ_INI: &str = "wJalrXUtnFEMI/K7MDENG\n[default]\naws_access_key_id=AKIAATTACKER";
const INJ_CSV: &str = "wJalrXUtnFEMI/K7MDENG,=HYPERLINK(\"http://x\")";
/// The sample secret and one more character.
const INJ_41: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYA";

/// A failing IAM server: `fault` on `action`, for a create of a user that exists.
/// Nothing may be left in IAM: only the pre-existing user, and no key.
fn iam_fault(name: &str, action: &str, fault: Fault) {
    let Some(m) = Moto::start() else { return };
    let fx = Fx::new();
    let p = Proxy::start(m.port);
    p.fail(action, fault);
    m.iam("CreateUser", &[("UserName", "existing")]);
    let case = Case {
        args: strings(&[
            "create",
            "--user",
            "existing",
            "--to",
            &fx.r,
            "-o",
            &fx.env.p("iam.age"),
        ]),
        stdin: None,
        codes: &[6],
        aws_port: Some(p.port),
    };
    fx.check(name, case);
    let (_, users) = m.iam("ListUsers", &[]);
    assert_eq!(
        users.matches("<UserName>").count(),
        1,
        "hostile::{name}: only the pre-existing user: {users}"
    );
    assert!(
        m.access_key_ids("existing").is_empty(),
        "hostile::{name}: a key was minted"
    );
}

macro_rules! iam_faults {
    ($($name:ident => $action:literal, $fault:expr;)+) => {
        $(
            #[test]
            fn $name() {
                iam_fault(stringify!($name), $action, $fault);
            }
        )+

        /// Every IAM fault case's name.
        const IAM_CASES: &[&str] = &[$(stringify!($name)),+];
    };
}

iam_faults! {
    iam_get_caller_identity_answers_server_error => "GetCallerIdentity", Fault::ServerError;
    iam_get_user_answers_throttling => "GetUser", Fault::Throttling;
    iam_get_user_answers_garbage => "GetUser", Fault::Garbage;
    iam_get_caller_identity_drops_the_connection => "GetCallerIdentity", Fault::Drop;
    iam_list_access_keys_answers_server_error => "ListAccessKeys", Fault::ServerError;
}

#[test]
fn the_suite_has_over_a_hundred_cases() {
    let all = CASES.len() + IAM_CASES.len();
    assert!(all >= 100, "only {all} cases");
    eprintln!("hostile inputs: {all} cases, each its own test");
}
