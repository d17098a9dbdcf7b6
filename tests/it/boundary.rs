//! Standard output means what it says, and inputs keep their meaning (issue 10): `-o -`,
//! a stdout that loses what it is given (/dev/null, closed, a full disk, a closed pipe),
//! secrets refused on a terminal, pasted armor, passphrase work factors, duplicate
//! recipients, and errors that name the sender's own flag. Exact messages are pinned.

use std::process::Stdio;

use crate::moto::*;
use crate::support::*;

/// Runs handoff with stdout sent to `stdout`.
fn run_with_stdout(env: &TestEnv, args: &[&str], stdout: Stdio) -> Run {
    let out = env
        .cmd()
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Run::from_output(out)
}

fn dev(path: &str) -> Stdio {
    Stdio::from(std::fs::OpenOptions::new().write(true).open(path).unwrap())
}

/// Runs handoff (`cmd`'s environment, `args`) with stdout to a file in the test
/// directory and a file-size limit of `blocks` × 512 bytes (`ulimit -f`), so that a
/// write past it fails as on a full disk. handoff ignores SIGXFSZ itself: nothing here
/// traps it.
fn run_with_full_stdout(
    env: &TestEnv,
    cmd: &std::process::Command,
    args: &[&str],
    blocks: u32,
) -> Run {
    use std::os::unix::fs::PermissionsExt;
    let stdout = std::fs::File::create(env.path("stdout")).unwrap();
    // As a shell with umask 022 creates it.
    stdout
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .unwrap();
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("ulimit -f {blocks}; exec \"$0\" \"$@\""))
        .arg(cmd.get_program())
        .args(args)
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(env.dir.path())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::piped());
    Run::from_output(sh.output().unwrap())
}

/// A pipe whose reading end is already closed: writing to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn dash_o_dash_is_standard_output_as_in_age() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    let out = env
        .run(&["seal", "--from-csv", &csv, "--to", &r, "-a", "-o", "-"])
        .ok();
    assert!(out.stdout.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    assert!(!env.path("-").exists(), "a file named - was written");
    let k = env.run(&["keygen", "-o", "-"]).ok();
    assert!(k.stdout.contains("AGE-SECRET-KEY-1"));
    assert!(!env.path("-").exists());
}

#[test]
fn a_bundle_or_secret_to_dev_null_is_refused_before_anything_happens() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    let b = env.seal_sample(&r);
    let expected = |what: &str| {
        // open has no -o: its hint does not offer one
        let o = if what == "secret" {
            ""
        } else {
            "pass -o FILE, or "
        };
        format!(
            "handoff: error: standard output is /dev/null, /dev/full or closed, so the {what} would be lost\nhint: {o}send standard output to a file or a pipe\n"
        )
    };
    let s = run_with_stdout(
        &env,
        &["seal", "--from-csv", &csv, "--to", &r, "-a"],
        dev("/dev/null"),
    )
    .fails(5);
    assert_eq!(s.stderr, expected("bundle"));
    for flag in [&["--json"][..], &["--env"], &["--csv", "-"]] {
        let mut args = vec!["open", &b, "-i", &id];
        args.extend_from_slice(flag);
        let s = run_with_stdout(&env, &args, dev("/dev/null")).fails(5);
        assert_eq!(s.stderr, expected("secret"), "{flag:?}");
    }
    let s = run_with_stdout(&env, &["keygen"], dev("/dev/null")).fails(5);
    assert_eq!(s.stderr, expected("new identity"));
    // a summary (no secret) to /dev/null is fine
    run_with_stdout(&env, &["open", &b, "-i", &id], dev("/dev/null")).ok();
}

#[test]
fn a_closed_pipe_or_a_full_disk_on_stdout_is_an_error_not_exit_0() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let s = run_with_stdout(&env, &["open", &b, "-i", &id, "--json"], closed_pipe()).fails(5);
    assert_eq!(
        s.stderr,
        "handoff: error: cannot write to standard output: the reading end was closed\nhint: check where standard output goes (a full disk, a closed pipe)\n"
    );
    // /dev/full is known to lose everything: refused before decrypting.
    let s = run_with_stdout(&env, &["open", &b, "-i", &id, "--env"], dev("/dev/full")).fails(5);
    assert!(
        s.stderr
            .starts_with("handoff: error: standard output is /dev/null, /dev/full or closed"),
        "{}",
        s.stderr
    );
    // A disk that fills up (here: a file-size limit) is found by the write itself.
    let s = run_with_full_stdout(&env, &env.cmd(), &["open", &b, "-i", &id, "--env"], 0).fails(5);
    assert!(
        s.stderr
            .contains("handoff: error: cannot write to standard output: File too large"),
        "{}",
        s.stderr
    );
    // The file the shell opened with umask 022 is readable by others: said first.
    assert!(
        s.stderr.starts_with(
            "warning: --env writes the secret access key to a file that others can read (mode 0644)"
        ),
        "{}",
        s.stderr
    );
    let csv = env.access_key_csv("accessKeys.csv");
    run_with_stdout(
        &env,
        &["seal", "--from-csv", &csv, "--to", &r, "-a"],
        closed_pipe(),
    )
    .fails(5);
}

/// The orphan the review feared: a key minted into a bundle nobody receives. Refused
/// before any AWS call for /dev/null; rolled back for a full disk.
#[test]
fn create_to_a_stdout_that_loses_the_bundle_leaves_nothing_in_iam() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let before = moto.state();
    let mut c = env.cmd();
    Moto::env_for(&mut c, moto.port);
    let out = c
        .args(["create", "--to", &r, "-a"])
        .stdout(dev("/dev/null"))
        .output()
        .unwrap();
    let run = Run::from_output(out).fails(5);
    assert!(
        run.stderr
            .contains("standard output is /dev/null, /dev/full or closed")
    );
    assert_eq!(moto.state(), before, "IAM was changed");

    let mut c = env.cmd();
    Moto::env_for(&mut c, moto.port);
    let out = c
        .args(["create", "--to", &r, "-a"])
        .stdout(dev("/dev/full"))
        .output()
        .unwrap();
    Run::from_output(out).fails(5);
    assert_eq!(moto.state(), before, "IAM was changed");

    // A full disk is found only by the write: rolled back.
    let mut c = env.cmd();
    Moto::env_for(&mut c, moto.port);
    // 512 bytes: create's journal fits, the armored bundle does not.
    let run = run_with_full_stdout(&env, &c, &["create", "--to", &r, "-a"], 1).fails(5);
    assert!(run.stderr.contains("File too large"), "{}", run.stderr);
    assert!(
        run.stderr.contains("rolled back: deleted access key"),
        "{}",
        run.stderr
    );
    assert!(
        !moto.user_exists("mgmt-org-admin"),
        "the user was left behind"
    );

    // Found by the review: only the --json summary fails after a complete create. The
    // error must say that the credential exists, or a script retries and mints again.
    let mut c = env.cmd();
    Moto::env_for(&mut c, moto.port);
    let out = c
        .args([
            "create",
            "--to",
            &r,
            "-o",
            &env.p("ok.age"),
            "--json",
            "--quiet",
        ])
        .stdout(dev("/dev/full"))
        .output()
        .unwrap();
    let run = Run::from_output(out).fails(5);
    assert!(
        run.stderr.starts_with("handoff: error: the credential was created and sealed, but the --json summary could not be written"),
        "{}",
        run.stderr
    );
    assert!(env.path("ok.age").exists());
    assert_eq!(moto.access_key_ids("mgmt-org-admin").len(), 1);
}

#[test]
fn secrets_are_refused_on_a_terminal_and_the_summary_is_not() {
    if !have("python3") {
        return;
    }
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let handoff = env.cmd().get_program().to_str().unwrap().to_string();
    for flag in ["--json", "--env"] {
        let code = on_tty(
            &handoff,
            &["open", &b, "-i", &id, flag],
            &[],
            env.dir.path(),
        );
        assert_eq!(code, 5, "{flag} printed a secret on a terminal");
    }
    let code = on_tty(
        &handoff,
        &["open", &b, "-i", &id, "--csv", "-"],
        &[],
        env.dir.path(),
    );
    assert_eq!(code, 5);
    let code = on_tty(&handoff, &["open", &b, "-i", &id], &[], env.dir.path());
    assert_eq!(code, 0);
}

#[test]
fn keygen_to_a_file_others_can_read_warns_as_age_keygen_does() {
    use std::os::unix::fs::OpenOptionsExt;
    let env = TestEnv::new();
    let open = |name: &str, mode: u32| {
        Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .mode(mode)
                .open(env.path(name))
                .unwrap(),
        )
    };
    let r = run_with_stdout(&env, &["keygen"], open("shared.txt", 0o644)).ok();
    assert!(
        r.stderr.starts_with(
            "warning: writing the secret identity to a file that others can read (mode 0644); run chmod 600 on it, or use -o FILE (created 0600)\n"
        ),
        "{}",
        r.stderr
    );
    let r = run_with_stdout(&env, &["keygen"], open("private.txt", 0o600)).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert!(env.read("private.txt").contains("AGE-SECRET-KEY-1"));
}

#[test]
fn an_armored_bundle_pasted_from_mail_or_chat_opens() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    let armored = env
        .run(&["seal", "--from-csv", &csv, "--to", &r, "-a"])
        .ok()
        .stdout;
    let pasted = [
        format!("\n\n   {armored}\n \n"),
        armored.replace('\n', "\r\n"),
        armored.replace('\n', "  \n"),
        armored
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
    ];
    for (i, text) in pasted.iter().enumerate() {
        let f = env.write(&format!("pasted{i}.age"), text);
        let out = env.run(&["open", &f, "-i", &id, "--json"]).ok();
        assert!(out.stdout.contains(SECRET), "case {i}");
        env.run(&["inspect", &f]).ok();
        let out = env
            .run_stdin(&["open", "-", "-i", &id, "--json"], text.as_bytes())
            .ok();
        assert!(out.stdout.contains(SECRET), "stdin case {i}");
    }
    // text around the armor is not whitespace: refused as before
    let f = env.write("junk.age", format!("see below\n{armored}"));
    env.run(&["open", &f, "-i", &id]).fails(4);
}

#[test]
fn passphrase_bundles_use_work_factor_18_and_a_greater_one_is_one_clear_line() {
    let env = TestEnv::new();
    env.answers(&["correct horse", "correct horse"]);
    let csv = env.access_key_csv("accessKeys.csv");
    let out = env
        .run(&["seal", "--from-csv", &csv, "--passphrase", "-a"])
        .ok()
        .stdout;
    let f = env.write("p.age", &out);
    // the header is inside the armor: decode it
    let body: String = out.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let header = String::from_utf8_lossy(&bytes[..200]).to_string();
    let stanza = header
        .lines()
        .find(|l| l.starts_with("-> scrypt "))
        .unwrap()
        .to_string();
    assert!(stanza.ends_with(" 18"), "{stanza}");
    env.answers(&["correct horse"]);
    env.run(&["open", &f, "--json"]).ok();
    // the same bundle, with the stanza asking for 2^21
    let mut edited = bytes.clone();
    let at = header.find(&stanza).unwrap() + stanza.len() - 2;
    edited[at..at + 2].copy_from_slice(b"21");
    let g = env.path("p21.age");
    std::fs::write(&g, &edited).unwrap();
    env.answers(&["correct horse"]);
    let r = env.run(&["open", g.to_str().unwrap(), "--json"]).fails(4);
    assert_eq!(
        r.stderr,
        "handoff: error: the bundle asks for scrypt work factor 2^21; handoff opens at most 2^20 (1 GiB of memory)\nhint: ask the sender to seal it again with handoff or age -p (work factor 2^18)\n"
    );
}

#[test]
fn the_same_recipient_twice_gets_one_stanza() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let team = env.write("team.txt", format!("# team\n{r}\n{r}\n"));
    let csv = env.access_key_csv("accessKeys.csv");
    let b = env.p("b.age");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &r,
        "-r",
        &r,
        "-R",
        &team,
        "-o",
        &b,
    ])
    .ok();
    let i = env.run(&["inspect", &b]).ok();
    assert!(
        i.stdout.contains("recipients: 1 (1 × X25519)"),
        "{}",
        i.stdout
    );
    env.run(&["open", &b, "-i", &id, "--json"]).ok();
}

#[test]
fn identity_mistakes_get_a_hint_that_says_so() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(std::fs::read(&id).unwrap());
    let bom = env.write("bom.txt", bom);
    assert_eq!(
        env.run(&["open", &b, "-i", &bom]).fails(3).stderr,
        format!(
            "handoff: error: identity file {bom} starts with a byte-order mark (BOM), which age identity files must not have\nhint: save the file as UTF-8 without a BOM, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE\n"
        )
    );
    let public = env.write("recipient.txt", format!("{r}\n"));
    assert_eq!(
        env.run(&["open", &b, "-i", &public]).fails(3).stderr,
        format!(
            "handoff: error: identity file {public} holds a public key (a recipient), not a secret identity\nhint: pass your secret key to -i: for SSH the file without .pub (e.g. ~/.ssh/id_ed25519), for age the file `handoff keygen -o FILE` wrote\n"
        )
    );
}

/// Found by the review: age's passphrase prompt for an encrypted SSH key printed the
/// `-i` file name raw, escape sequences included. Such a name is refused first.
#[test]
fn an_identity_file_name_with_terminal_controls_is_refused() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let evil = env.p("\u{1b}]0;PWNED\u{7}\u{202e}yek");
    std::fs::copy(&id, &evil).unwrap();
    let s = env.run(&["open", &b, "-i", &evil]).fails(3);
    assert!(
        !s.stderr.contains('\u{1b}') && !s.stderr.contains('\u{202e}'),
        "{}",
        s.stderr
    );
    assert!(
        s.stderr.contains("holds control or invisible characters"),
        "{}",
        s.stderr
    );
}

#[test]
fn errors_about_the_senders_own_flags_name_the_flag_and_the_limit() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    let long = "n".repeat(4097);
    let s = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "--to",
            &r,
            "--note",
            &long,
            "-o",
            &env.p("x.age"),
        ])
        .fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: --note is 4097 characters; the limit is 4096\nhint: shorten the note\n"
    );
    let s = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "--to",
            &r,
            "--user",
            "a\u{1b}b",
            "-o",
            &env.p("x.age"),
        ])
        .fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: --user must be 1-64 of A-Z a-z 0-9 + = , . @ _ -\nhint: change --user and run again\n"
    );
    let s = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "--to",
            &r,
            "--account-id",
            "12",
            "-o",
            &env.p("x.age"),
        ])
        .fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: --account-id must be 12 digits\nhint: change --account-id and run again\n"
    );
    // create checks before any AWS call (no server is listening on port 9)
    let s = env
        .run_aws(
            9,
            &["create", "--to", &r, "-o", &env.p("y.age"), "--note", &long],
        )
        .fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: --note is 4097 characters; the limit is 4096\nhint: shorten the note\n"
    );
    let s = env
        .run_aws(
            9,
            &[
                "create",
                "--to",
                &r,
                "-o",
                &env.p("y.age"),
                "--expires",
                "400d",
            ],
        )
        .fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: --expires 400d is out of range: it must be 1 minute to 366 days\nhint: pass a duration from 1m to 366d, e.g. 72h\n"
    );
}

#[test]
fn keychain_names_that_look_like_options_are_refused() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let s = env.run(&["open", &b, "-i", &id, "--keychain=-x"]).fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: -x is not a usable keychain name: it starts with '-', so it would read as an option\nhint: start the name with a letter or digit\n"
    );
}

#[test]
fn a_typed_secret_is_held_to_the_rule() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    env.answers(&[KEY_ID, "not'a$secret"]);
    let s = env
        .run(&["seal", "--to", &r, "-o", &env.p("x.age")])
        .fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: what was typed is not an access key: the secret access key must be 40 characters of A-Z a-z 0-9 / +\nhint: type the access key ID (AKIA…) and its secret exactly as AWS gave them\n"
    );
}

/// Found by the review of issue 10: the summary's suggested commands pasted the bundle's
/// file name unquoted, so pasting `handoff open boot$(touch PWNED).age --json` ran it.
#[test]
fn suggested_commands_quote_a_hostile_bundle_name() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let evil = env.p("boot$(touch PWNED).age");
    std::fs::copy(&b, &evil).unwrap();
    let out = env.run(&["open", &evil, "-i", &id]).ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("--json"))
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(line, format!("handoff open '{evil}' --json"));
    // pasted into a shell (with printf standing in for handoff), it is one word and runs nothing
    let pasted = line.replacen("handoff open", "printf '%s\\n'", 1);
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(&pasted)
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{evil}\n--json\n")
    );
    assert!(!env.path("PWNED").exists());
}

/// Found by the review: `AGE1…` (upper case) was accepted, sealed to twice next to the
/// same key in lower case, and written into signed manifests the opener never matched.
#[test]
fn an_upper_case_age_recipient_is_refused_as_age_refuses_it() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("accessKeys.csv");
    let upper = r.to_uppercase();
    let s = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "--to",
            &r,
            "--to",
            &upper,
            "-o",
            &env.p("u.age"),
        ])
        .fails(3);
    assert_eq!(
        s.stderr,
        format!(
            "handoff: error: {upper} is an age recipient with upper-case letters; age recipients are lower case\nhint: use the age1… line exactly as handoff keygen or age-keygen printed it\n"
        )
    );
    assert!(!env.path("u.age").exists());
}

/// Found by the review: `--reveal-password` printed a planted password holding a
/// right-to-left override and zero-width characters raw. Passwords are now held to
/// IAM's character set when the bundle is read.
fn a_planted_password_is_refused(password: &str) {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let recipient: age::x25519::Recipient = r.parse().unwrap();
    let payload = serde_json::json!({"format": "handoff/v1", "console_password": password});
    let ct = age::encrypt(&recipient, payload.to_string().as_bytes()).unwrap();
    let f = env.write("pw.age", ct);
    let s = env.run(&["open", &f, "-i", &id]).fails(3);
    assert!(
        s.stderr.contains("console_password: must be 1-128 characters from U+0020-U+00FF (IAM's set), no control characters"),
        "{}",
        s.stderr
    );
}

/// One test per planted password: `name => password;`.
macro_rules! planted_passwords {
    ($($name:ident => $password:expr;)+) => {
        $(
            #[test]
            fn $name() {
                a_planted_password_is_refused($password);
            }
        )+
    };
}

planted_passwords! {
    a_planted_password_with_a_bidi_override_is_refused => "abc\u{202e}def";
    a_planted_password_with_a_zero_width_space_is_refused => "zero\u{200b}width";
    a_planted_password_with_a_line_separator_is_refused => "line\u{2028}sep";
    a_planted_password_with_a_tab_is_refused => "tab\there";
}

/// Latin-1 and spaces are IAM's, and open.
#[test]
fn a_password_of_latin_1_and_spaces_opens() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let recipient: age::x25519::Recipient = r.parse().unwrap();
    let payload = serde_json::json!({"format": "handoff/v1", "console_password": " Pässwörd ¿1 "});
    let ct = age::encrypt(&recipient, payload.to_string().as_bytes()).unwrap();
    let f = env.write("ok.age", ct);
    env.run(&["open", &f, "-i", &id]).ok();
}

/// Found by the review: the age crate parses a header in quadratic time, so a planted
/// 1 MiB bundle of 10 000 stanzas cost 22 s of CPU. handoff's linear header check now
/// refuses more stanzas than it ever seals, at once.
#[test]
fn a_planted_header_with_thousands_of_stanzas_is_refused_at_once() {
    use base64::Engine;
    let env = TestEnv::new();
    let (id, _) = env.keygen("key.txt");
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD_NO_PAD.encode(vec![7u8; n]);
    for count in [200, 10_000] {
        let mut h = String::from("age-encryption.org/v1\n");
        for _ in 0..count {
            h.push_str(&format!("-> X25519 {}\n{}\n", b64(32), b64(32)));
        }
        h.push_str(&format!("--- {}\n", b64(32)));
        let f = env.write("many.age", h);
        let start = std::time::Instant::now();
        let s = env.run(&["open", &f, "-i", &id]).fails(4);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        if count == 200 {
            assert_eq!(
                s.stderr,
                "handoff: error: the bundle has 200 recipient stanzas; handoff opens bundles for at most 100 recipients\nhint: this is not a bundle handoff made; ask the sender for a new one\n"
            );
        }
    }
}

/// Found by the review: `revoke --user 'bad name'` and `--access-key-id AKIAlower` said
/// "already gone" and exited 0. Both are now checked before any AWS call.
#[test]
fn revoke_holds_its_inputs_to_iams_rules() {
    let env = TestEnv::new();
    let s = env
        .run_aws(9, &["revoke", "--user", "bad name", "--yes"])
        .fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: --user bad name is not a valid IAM user name\nhint: use 1-64 letters, digits and + = , . @ _ - (e.g. --user mgmt-org-admin)\n"
    );
    let s = env
        .run_aws(9, &["revoke", "--access-key-id", "AKIAlower", "--yes"])
        .fails(3);
    assert_eq!(
        s.stderr,
        "handoff: error: --access-key-id AKIAlower must be 20 characters: AKIA or ASIA, then 16 of A-Z 0-9\nhint: copy the access key ID (AKIA…) from `handoff open BUNDLE` or the IAM console\n"
    );
}

/// Found by the review: `--shred` on a link zeroed the link's target and removed only
/// the link, while saying it shredded the file.
#[test]
fn shred_refuses_a_link_and_touches_nothing() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let csv = env.access_key_csv("real.csv");
    let link = env.p("link.csv");
    std::os::unix::fs::symlink(&csv, &link).unwrap();
    let before = std::fs::read(&csv).unwrap();
    let s = env
        .run(&[
            "seal",
            "--from-csv",
            &link,
            "--shred",
            "--to",
            &r,
            "-o",
            &env.p("x.age"),
        ])
        .fails(3);
    assert_eq!(
        s.stderr,
        format!(
            "handoff: error: --shred needs a regular file, and {link} is a link, a device or missing\nhint: pass the CSV file itself (not a link to it), or drop --shred\n"
        )
    );
    assert_eq!(std::fs::read(&csv).unwrap(), before);
    assert!(std::path::Path::new(&link).exists());
    assert!(!env.path("x.age").exists());
}

#[test]
fn open_and_inspect_read_standard_input_without_a_bundle_and_seal_reads_a_piped_csv() {
    // age's convention (issue 14, item 3): no input file is standard input.
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let bundle = std::fs::read(&b).unwrap();
    let json = env.run_stdin(&["open", "-i", &id, "--json"], &bundle).ok();
    assert!(json.stdout.contains(SECRET), "{}", json.stdout);
    let dash = env
        .run_stdin(&["open", "-", "-i", &id, "--json"], &bundle)
        .ok();
    assert_eq!(dash.stdout, json.stdout);
    let inspect = env.run_stdin(&["inspect"], &bundle).ok();
    assert!(
        inspect.stdout.contains("recipients: 1"),
        "{}",
        inspect.stdout
    );
    let empty = env.run_stdin(&["open", "-i", &id], b"").fails(4);
    assert!(
        empty.stderr.contains("no bundle: standard input was empty")
            && empty
                .stderr
                .contains("hint: pass the .age file as BUNDLE, or pipe it in"),
        "{}",
        empty.stderr
    );
    // The console CSV piped into seal: the same bundle contents, and no file.
    let csv = std::fs::read(env.access_key_csv("piped.csv")).unwrap();
    let out = env.p("piped.age");
    env.run_stdin(&["seal", "--from-csv", "-", "--to", &r, "-o", &out], &csv)
        .ok();
    let opened = env.run(&["open", &out, "-i", &id, "--json"]).ok();
    assert!(opened.stdout.contains(SECRET) && opened.stdout.contains(KEY_ID));
    let shred = env
        .run_stdin(
            &[
                "seal",
                "--from-csv",
                "-",
                "--shred",
                "--to",
                &r,
                "-o",
                &env.p("s.age"),
            ],
            &csv,
        )
        .fails(2);
    assert!(
        shred.stderr.contains("--shred removes the CSV file"),
        "{}",
        shred.stderr
    );
    let none = env
        .run_stdin(
            &["seal", "--from-csv", "-", "--to", &r, "-o", &env.p("n.age")],
            b"",
        )
        .fails(3);
    assert!(
        none.stderr.contains("no CSV: standard input was empty"),
        "{}",
        none.stderr
    );
    // The CSV and the recipients cannot share standard input (review 2, finding 5).
    for flag in ["--to", "-R"] {
        let both = env
            .run_stdin(
                &[
                    "seal",
                    "--from-csv",
                    "-",
                    flag,
                    "-",
                    "-o",
                    &env.p("both.age"),
                ],
                format!("{r}\n").as_bytes(),
            )
            .fails(2);
        assert!(
            both.stderr
                .contains("error: the CSV and the recipients cannot both come from standard input")
                && both.stderr.contains("hint: pass the recipients as a file"),
            "{}",
            both.stderr
        );
    }
    assert!(
        !env.path("s.age").exists()
            && !env.path("n.age").exists()
            && !env.path("both.age").exists()
    );
}
