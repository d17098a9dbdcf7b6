//! keygen, seal, open, inspect: every output, interop with the real age and ssh-keygen,
//! file safety, and the error paths.

use std::os::unix::fs::PermissionsExt;

use crate::support::*;

fn mode(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_writes_a_0600_identity_and_prints_the_recipient() {
    let env = TestEnv::new();
    let (id, recipient) = env.keygen("key.txt");
    assert!(recipient.starts_with("age1"), "{recipient}");
    assert_eq!(mode(&id), 0o600);
    let text = env.read("key.txt");
    assert!(text.contains(&format!("# public key: {recipient}")));
    assert!(text.contains("AGE-SECRET-KEY-1"));
}

#[test]
fn keygen_never_overwrites_an_identity() {
    let env = TestEnv::new();
    let (id, _) = env.keygen("key.txt");
    let before = env.read("key.txt");
    env.run(&["keygen", "-o", &id]).fails(5);
    assert_eq!(env.read("key.txt"), before);
}

#[test]
fn keygen_to_a_pipe_writes_the_identity_and_the_recipient_on_stderr() {
    let env = TestEnv::new();
    let r = env.run(&["keygen"]).ok();
    assert!(r.stdout.contains("AGE-SECRET-KEY-1"));
    assert!(r.stderr.contains("Public key: age1"));
}

#[test]
fn keygen_refuses_to_print_an_identity_on_a_terminal() {
    if !have("script") {
        return;
    }
    let env = TestEnv::new();
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{} keygen", bin.display()), "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(
        text.contains("refusing to print a secret identity"),
        "{text}"
    );
    assert!(!text.contains("AGE-SECRET-KEY"));
    drop(env);
}

#[test]
fn age_cli_opens_a_bundle_sealed_by_handoff() {
    if !have("age") {
        return;
    }
    let env = TestEnv::new();
    let (id, recipient) = env.keygen("key.txt");
    let bundle = env.seal_sample(&recipient);
    assert_eq!(mode(&bundle), 0o600);
    let out = sh("age", &["-d", "-i", &id, &bundle], env.dir.path());
    let payload: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(payload["format"], "handoff/v1");
    assert_eq!(payload["access_key_id"], KEY_ID);
    assert_eq!(payload["secret_access_key"], SECRET);
    assert_eq!(payload["account_id"], "123456789012");
}

#[test]
fn age_cli_opens_an_armored_bundle_to_an_age_keygen_recipient() {
    if !have("age") || !have("age-keygen") {
        return;
    }
    let env = TestEnv::new();
    sh("age-keygen", &["-o", &env.p("k.txt")], env.dir.path());
    let recipient =
        String::from_utf8(sh("age-keygen", &["-y", &env.p("k.txt")], env.dir.path()).stdout)
            .unwrap();
    let csv = env.access_key_csv("accessKeys.csv");
    let r = env
        .run(&["seal", "--from-csv", &csv, "-r", recipient.trim(), "-a"])
        .ok();
    assert!(r.stdout.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    env.write("b.age", &r.raw_stdout);
    let out = sh(
        "age",
        &["-d", "-i", &env.p("k.txt"), &env.p("b.age")],
        env.dir.path(),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(SECRET));
    // and handoff opens it with age-keygen's identity
    env.run(&["open", &env.p("b.age"), "-i", &env.p("k.txt"), "--json"])
        .ok();
}

#[test]
fn handoff_opens_a_payload_encrypted_by_the_age_cli() {
    if !have("age") {
        return;
    }
    let env = TestEnv::new();
    let (id, recipient) = env.keygen("key.txt");
    env.write(
        "payload.json",
        format!(
            r#"{{"format":"handoff/v1","access_key_id":"{KEY_ID}","secret_access_key":"{SECRET}"}}"#
        ),
    );
    sh(
        "age",
        &[
            "-e",
            "-r",
            &recipient,
            "-o",
            &env.p("b.age"),
            &env.p("payload.json"),
        ],
        env.dir.path(),
    );
    let r = env
        .run(&["open", &env.p("b.age"), "-i", &id, "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["Version"], 1);
    assert_eq!(v["AccessKeyId"], KEY_ID);
    assert_eq!(v["SecretAccessKey"], SECRET);
}

#[test]
fn passphrase_bundles_interoperate_with_age_p_both_ways() {
    if !have("age") || !have("python3") {
        return;
    }
    let env = TestEnv::new();
    // age -p → handoff open (passphrase asked through the prompt)
    env.write(
        "payload.json",
        format!(
            r#"{{"format":"handoff/v1","access_key_id":"{KEY_ID}","secret_access_key":"{SECRET}"}}"#
        ),
    );
    let code = on_tty(
        "age",
        &["-p", "-o", &env.p("p.age"), &env.p("payload.json")],
        &["tr0ub4dor&3", "tr0ub4dor&3"],
        env.dir.path(),
    );
    assert_eq!(code, 0);
    env.answers(&["tr0ub4dor&3"]);
    env.run(&["open", &env.p("p.age"), "--json"]).ok();
    // handoff seal --passphrase (asked twice) → age -d
    let csv = env.access_key_csv("accessKeys.csv");
    env.answers(&["correct horse battery", "correct horse battery"]);
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--passphrase",
        "-o",
        &env.p("h.age"),
    ])
    .ok();
    let code = on_tty(
        "age",
        &["-d", "-o", &env.p("out.json"), &env.p("h.age")],
        &["correct horse battery"],
        env.dir.path(),
    );
    assert_eq!(code, 0);
    assert!(env.read("out.json").contains(SECRET));
}

#[test]
fn a_wrong_passphrase_or_mismatched_confirmation_fails_cleanly() {
    let env = TestEnv::new();
    let csv = env.access_key_csv("accessKeys.csv");
    env.answers(&["one", "two"]);
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--passphrase",
        "-o",
        &env.p("h.age"),
    ])
    .fails(3);
    assert!(!env.path("h.age").exists());
    env.answers(&["pw-pw-pw", "pw-pw-pw"]);
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--passphrase",
        "-o",
        &env.p("h.age"),
    ])
    .ok();
    env.answers(&["not-it"]);
    env.run(&["open", &env.p("h.age"), "--json"])
        .fails(4)
        .no_secret(SECRET);
    env.answers(&[]);
    env.run(&["open", &env.p("h.age"), "--json"]).fails(10);
}

#[test]
fn ssh_keys_from_ssh_keygen_seal_and_open() {
    if !have("ssh-keygen") {
        return;
    }
    for (kind, bits) in [("ed25519", None), ("rsa", Some("3072"))] {
        let env = TestEnv::new();
        let key = env.p("id");
        let mut args = vec!["-q", "-t", kind, "-N", "", "-f", &key];
        if let Some(b) = bits {
            args.extend(["-b", b]);
        }
        sh("ssh-keygen", &args, env.dir.path());
        let bundle = env.seal_sample(&format!("{key}.pub"));
        let r = env.run(&["inspect", &bundle]).ok();
        assert!(r.stdout.contains(&format!("ssh-{kind}")), "{}", r.stdout);
        let r = env.run(&["open", &bundle, "-i", &key, "--env"]).ok();
        assert!(
            r.stdout
                .contains(&format!("export AWS_SECRET_ACCESS_KEY='{SECRET}'"))
        );
        // the public key as a string works too
        let pubkey = env.read("id.pub");
        env.run(&[
            "seal",
            "--from-csv",
            &env.p("accessKeys.csv"),
            "--to",
            pubkey.trim(),
            "-o",
            &env.p("c.age"),
        ])
        .ok();
        env.run(&["open", &env.p("c.age"), "-i", &key, "--json"])
            .ok();
    }
}

#[test]
fn a_passphrase_protected_ssh_key_prompts_for_its_passphrase() {
    if !have("ssh-keygen") {
        return;
    }
    let env = TestEnv::new();
    let key = env.p("id");
    sh(
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "s3cret-ssh", "-f", &key],
        env.dir.path(),
    );
    let bundle = env.seal_sample(&format!("{key}.pub"));
    env.answers(&["s3cret-ssh"]);
    env.run(&["open", &bundle, "-i", &key, "--json"]).ok();
    env.answers(&["wrong"]);
    env.run(&["open", &bundle, "-i", &key, "--json"])
        .fails(4)
        .no_secret(SECRET);
}

#[test]
fn several_recipients_and_a_recipients_file_each_open_it() {
    let env = TestEnv::new();
    let (a, ra) = env.keygen("a.txt");
    let (b, rb) = env.keygen("b.txt");
    let (c, rc) = env.keygen("c.txt");
    let team = env.write("team.txt", format!("# the team\n{rb}\n\n{rc}\n"));
    let csv = env.access_key_csv("accessKeys.csv");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &ra,
        "-R",
        &team,
        "-o",
        &env.p("b.age"),
    ])
    .ok();
    let r = env.run(&["inspect", "--json", &env.p("b.age")]).ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["recipients"], 3);
    assert_eq!(v["armored"], false);
    for id in [a, b, c] {
        env.run(&["open", &env.p("b.age"), "-i", &id, "--json"])
            .ok();
    }
}

#[test]
fn recipients_from_stdin() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    env.run_stdin(
        &[
            "seal",
            "--from-csv",
            &csv,
            "--to",
            "-",
            "-o",
            &env.p("b.age"),
        ],
        format!("{r}\n").as_bytes(),
    )
    .ok();
    env.run(&["open", &env.p("b.age"), "-i", &id, "--json"])
        .ok();
}

#[test]
fn bad_recipients_name_the_value_or_the_file_and_line() {
    let env = TestEnv::new();
    let csv = env.access_key_csv("accessKeys.csv");
    let r = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "--to",
            "bob@example.com",
            "-o",
            &env.p("b.age"),
        ])
        .fails(3);
    assert!(
        r.stderr.contains("bob@example.com") && r.stderr.contains("age1"),
        "{}",
        r.stderr
    );
    let bad = env.write("team.txt", "# ok\nage1notakey\n");
    let r = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "-R",
            &bad,
            "-o",
            &env.p("b.age"),
        ])
        .fails(3);
    assert!(
        r.stderr.contains("line 2") && r.stderr.contains("team.txt"),
        "{}",
        r.stderr
    );
    let r = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "-R",
            &env.p("missing.txt"),
            "-o",
            &env.p("b.age"),
        ])
        .fails(3);
    assert!(r.stderr.contains("missing.txt"));
    assert!(!env.path("b.age").exists());
}

#[test]
fn seal_reads_the_console_user_and_combined_csvs() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    env.write("user.csv", "User name,Password,Console sign-in URL\nalice,Xy7!pass-word,https://123456789012.signin.aws.amazon.com/console\n");
    env.run(&[
        "seal",
        "--from-csv",
        &env.p("user.csv"),
        "--to",
        &r,
        "-o",
        &env.p("u.age"),
    ])
    .ok();
    let s = env
        .run(&["open", &env.p("u.age"), "-i", &id])
        .ok()
        .no_secret("Xy7!pass-word");
    assert!(
        s.stdout.contains("console password") && s.stdout.contains("alice"),
        "{}",
        s.stdout
    );
    assert!(s.stdout.contains("--reveal-password"));
    // no access key in it: the key outputs say so
    env.run(&["open", &env.p("u.age"), "-i", &id, "--json"])
        .fails(3);
    // --reveal-password refuses a pipe
    env.run(&["open", &env.p("u.age"), "-i", &id, "--reveal-password"])
        .fails(5)
        .no_secret("Xy7!pass-word");
    env.write("old.csv", format!("User name,Password,Access key ID,Secret access key,Console login link\nbob,Pw-1234567890,{KEY_ID},{SECRET},https://x.signin.aws.amazon.com/console\n"));
    env.run(&[
        "seal",
        "--from-csv",
        &env.p("old.csv"),
        "--to",
        &r,
        "-o",
        &env.p("o.age"),
    ])
    .ok();
    let s = env
        .run(&["open", &env.p("o.age"), "-i", &id])
        .ok()
        .no_secret(SECRET);
    assert!(s.stdout.contains("access key and console password"));
}

#[test]
fn seal_asks_for_a_typed_key_at_hidden_prompts() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    env.answers(&[KEY_ID, SECRET]);
    env.run(&["seal", "--to", &r, "-o", &env.p("b.age")])
        .ok()
        .no_secret(SECRET);
    let out = env
        .run(&["open", &env.p("b.age"), "-i", &id, "--json"])
        .ok();
    assert!(out.stdout.contains(SECRET));
    env.answers(&["not-a-key-id", SECRET]);
    env.run(&["seal", "--to", &r, "-o", &env.p("c.age")])
        .fails(3)
        .no_secret(SECRET);
}

#[test]
fn shred_removes_the_csv_only_after_a_successful_seal() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    // a failing seal (output exists) leaves the CSV
    env.write("b.age", "taken");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--shred",
        "--to",
        &r,
        "-o",
        &env.p("b.age"),
    ])
    .fails(5);
    assert!(env.path("accessKeys.csv").exists());
    let s = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "--shred",
            "--to",
            &r,
            "-o",
            &env.p("c.age"),
        ])
        .ok();
    assert!(!env.path("accessKeys.csv").exists());
    assert!(s.stderr.contains("best effort"));
}

#[test]
fn open_summary_shows_no_secret_and_the_output_flags() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let s = env.run(&["open", &b, "-i", &id]).ok().no_secret(SECRET);
    for want in [
        "access key",
        KEY_ID,
        "123456789012",
        "mgmt-org-admin",
        "--aws-profile",
        "--json",
        "--env",
        "--csv",
    ] {
        assert!(s.stdout.contains(want), "{want}: {}", s.stdout);
    }
}

#[test]
fn open_to_an_aws_profile_keeps_the_rest_of_the_file_byte_for_byte() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let before = "# my keys\r\n[default]\r\naws_access_key_id = AKIAOLDOLDOLDOLD1234\r\naws_secret_access_key = old\r\n";
    env.write("aws-credentials", before);
    env.run(&["open", &b, "-i", &id, "--aws-profile", "boot"])
        .ok()
        .no_secret(SECRET);
    let after = env.read("aws-credentials");
    assert!(after.starts_with(before));
    assert!(after.ends_with(&format!(
        "[boot]\r\naws_access_key_id = {KEY_ID}\r\naws_secret_access_key = {SECRET}\r\n"
    )));
    assert_eq!(mode(&env.p("aws-credentials")), 0o600);
    // an existing profile needs --force
    let r2 = env
        .run(&["open", &b, "-i", &id, "--aws-profile", "boot"])
        .fails(5);
    assert!(r2.stderr.contains("--force"));
    env.run(&["open", &b, "-i", &id, "--aws-profile", "boot", "--force"])
        .ok();
    assert_eq!(env.read("aws-credentials"), after);
}

#[test]
fn open_to_an_aws_profile_creates_the_file_and_refuses_a_symlink() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let mut cmd = env.cmd();
    cmd.env_remove("AWS_SHARED_CREDENTIALS_FILE").args([
        "open",
        &b,
        "-i",
        &id,
        "--aws-profile",
        "boot",
    ]);
    assert!(cmd.status().unwrap().success());
    let made = env.p(".aws/credentials");
    assert_eq!(mode(&made), 0o600);
    assert_eq!(
        std::fs::metadata(env.path(".aws"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    env.write("real", "[x]\n");
    std::os::unix::fs::symlink(env.path("real"), env.path("aws-credentials")).unwrap();
    env.run(&["open", &b, "-i", &id, "--aws-profile", "boot"])
        .fails(5);
    assert_eq!(env.read("real"), "[x]\n");
}

#[test]
fn a_credentials_file_changed_during_the_merge_is_not_overwritten() {
    // handoff is stopped (debug-only hook) after writing the merged file to its temporary
    // file and before renaming it into place; another program edits the file meanwhile.
    // Its edit must survive, and handoff must say so and exit 5.
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    env.write("aws-credentials", "[default]\nregion = x\n");
    let mut cmd = env.cmd();
    cmd.args(["open", &b, "-i", &id, "--aws-profile", "boot"])
        .env("HANDOFF_TEST_STOP_AT", "credentials-rename")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    wait_until_stopped(child.id());
    let theirs = "[default]\nregion = y\n[other]\naws_access_key_id = AKIAOTHER\n";
    env.write("aws-credentials", theirs);
    resume(child.id());
    let run = Run::from_output(child.wait_with_output().unwrap())
        .fails(5)
        .no_secret(SECRET);
    assert!(
        run.stderr.contains("changed while handoff was writing it"),
        "{}",
        run.stderr
    );
    assert_eq!(env.read("aws-credentials"), theirs);
    // no temporary file is left beside it
    let left: Vec<_> = std::fs::read_dir(env.path("."))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".handoff-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // and without the race the same command succeeds
    env.run(&["open", &b, "-i", &id, "--aws-profile", "boot"])
        .ok();
}

#[test]
fn open_to_csv_writes_the_console_format_0600_and_never_clobbers() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    env.run(&["open", &b, "-i", &id, "--csv", &env.p("out.csv")])
        .ok()
        .no_secret(SECRET);
    assert_eq!(
        env.read("out.csv"),
        format!("Access key ID,Secret access key\n{KEY_ID},{SECRET}\n")
    );
    assert_eq!(mode(&env.p("out.csv")), 0o600);
    env.run(&["open", &b, "-i", &id, "--csv", &env.p("out.csv")])
        .fails(5);
    let s = env.run(&["open", &b, "-i", &id, "--csv", "-"]).ok();
    assert!(s.stdout.starts_with("Access key ID,Secret access key\n"));
}

#[test]
fn open_env_lines_work_in_a_shell() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let s = env.run(&["open", &b, "-i", &id, "--env"]).ok();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{}\necho \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\"",
            s.stdout
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{KEY_ID}:{SECRET}")
    );
}

#[test]
fn exactly_one_output_and_consistent_flags() {
    let env = TestEnv::new();
    env.run(&["open", "x.age", "--json", "--env"]).fails(2);
    env.run(&["open", "x.age", "--csv", "-", "--aws-profile", "p"])
        .fails(2);
    env.run(&["seal", "--passphrase", "--to", "age1x"]).fails(2);
    env.run(&["seal", "--shred"]).fails(2);
    env.run(&["seal", "--from-csv", "x.csv", "-o", &env.p("b.age")])
        .fails(2);
}

#[test]
fn wrong_identity_and_damaged_bundles_fail_with_exit_4() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let (other, _) = env.keygen("other.txt");
    let b = env.seal_sample(&r);
    let e = env
        .run(&["open", &b, "-i", &other, "--json"])
        .fails(4)
        .no_secret(SECRET);
    assert!(e.stderr.contains("handoff inspect"));
    let (id, _) = (env.p("key.txt"), ());
    let mut bytes = std::fs::read(&b).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 1;
    env.write("tampered.age", &bytes);
    env.run(&["open", &env.p("tampered.age"), "-i", &id, "--json"])
        .fails(4)
        .no_secret(SECRET);
    env.write("trunc.age", &std::fs::read(&b).unwrap()[..n - 20]);
    env.run(&["open", &env.p("trunc.age"), "-i", &id, "--json"])
        .fails(4);
    env.write("empty.age", "");
    env.run(&["open", &env.p("empty.age"), "-i", &id]).fails(4);
    env.run(&["open", &env.p("missing.age"), "-i", &id])
        .fails(3);
    env.run(&["open", &b]).fails(3);
}

#[test]
fn a_bundle_without_a_handoff_payload_is_refused_clearly() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &r,
        "-o",
        &env.p("b.age"),
    ])
    .ok();
    let id_text = env.read("key.txt");
    let secret_line = id_text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY"))
        .unwrap();
    let identity: age::x25519::Identity = secret_line.parse().unwrap();
    for (name, payload) in [
        (
            "v2",
            r#"{"format":"handoff/v2","access_key_id":"AKIAIOSFODNN7EXAMPLE"}"#,
        ),
        ("text", "just some text"),
    ] {
        let ct = age::encrypt(&identity.to_public(), payload.as_bytes()).unwrap();
        env.write(name, ct);
        let e = env
            .run(&["open", &env.p(name), "-i", &id, "--json"])
            .fails(3);
        if name == "v2" {
            assert!(
                e.stderr.contains("handoff/v2") && e.stderr.contains("upgrade"),
                "{}",
                e.stderr
            );
        }
    }
}

#[test]
fn bundles_open_from_stdin() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let bytes = std::fs::read(&b).unwrap();
    let s = env
        .run_stdin(&["open", "-", "-i", &id, "--json"], &bytes)
        .ok();
    assert!(s.stdout.contains(KEY_ID));
    let s = env.run_stdin(&["inspect", "-"], &bytes).ok();
    assert!(s.stdout.contains("1 × X25519"), "{}", s.stdout);
}

#[test]
fn a_bundle_output_that_exists_is_never_replaced_without_force() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    env.write("b.age", "keep me");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &r,
        "-o",
        &env.p("b.age"),
    ])
    .fails(5);
    assert_eq!(env.read("b.age"), "keep me");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &r,
        "-o",
        &env.p("b.age"),
        "--force",
    ])
    .ok();
    assert_ne!(std::fs::read(env.path("b.age")).unwrap(), b"keep me");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &r,
        "-o",
        &env.p("nodir/b.age"),
    ])
    .fails(5);
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &r,
        "-o",
        "/dev/full",
        "--force",
    ])
    .fails(5);
}

#[test]
fn help_teaches_by_example_and_lists_exit_codes_in_the_readme() {
    let env = TestEnv::new();
    let h = env.run(&["--help"]).ok();
    assert!(h.stdout.contains("Examples:"));
    for sub in ["keygen", "create", "seal", "open", "inspect", "revoke"] {
        let h = env.run(&[sub, "--help"]).ok();
        assert!(h.stdout.contains("Example"), "{sub}");
    }
    assert!(env.run(&["--version"]).ok().stdout.starts_with("handoff "));
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for code in handoff::error::ExitCode::ALL {
        assert!(
            readme.contains(&format!("| {} | {} |", code.code(), code.meaning())),
            "README lacks exit code {}",
            code.code()
        );
    }
    // `--help` shows the same table, from the same code.
    let help = env.run(&["--help"]).ok().stdout;
    for code in handoff::error::ExitCode::ALL {
        assert!(
            help.contains(&format!("{:>2}  {}", code.code(), code.meaning())),
            "--help lacks exit code {}",
            code.code()
        );
    }
}

#[test]
fn completions_and_man_page_are_generated() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let s = env.run(&["completions", shell]).ok();
        assert!(s.stdout.contains("aws-profile"), "{shell}");
    }
    let m = env.run(&["man"]).ok();
    assert!(m.stdout.contains(".TH handoff"));
    let dir = env.path("man1");
    std::fs::create_dir(&dir).unwrap();
    env.run(&["man", "--dir", &dir.display().to_string()]).ok();
    let open = std::fs::read_to_string(dir.join("handoff-open.1")).unwrap();
    assert!(open.contains(".TH handoff-open") && open.contains("credentials\\-file"));
    // a directory that is not there: exit 5, no panic
    env.run(&["man", "--dir", &env.p("nosuch")]).fails(5);
}

#[test]
fn a_failed_replacement_leaves_the_old_file_intact() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    env.write("b.age", "the old bundle");
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    // RLIMIT_FSIZE 0: every write of a byte fails (EFBIG), as on a full disk
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 0; exec {} seal --from-csv {csv} --to {r} -o {} --force",
            bin.display(),
            env.p("b.age")
        ))
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let run = Run::from_output(out).fails(5);
    assert!(run.stderr.contains("b.age"), "{}", run.stderr);
    assert_eq!(env.read("b.age"), "the old bundle");
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".handoff"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}
