//! The exact standard error of the main user-facing failures, pinned: one table, one
//! row per failure (how to run it, the exit code, the whole stderr compared with
//! `assert_eq!`). Each row is its own test, `stderr::<row>`, so one can be run alone.
//! The table pins today's text: a change to a message shows up here as a diff, to be
//! made on purpose.
//!
//! In arguments, `{dir}` is the test's temp dir and `{r}` the recipient of
//! `{dir}/key.txt`; in the expected stderr, the temp dir is written `{dir}`. Every test
//! starts with `key.txt` (an identity), `accessKeys.csv` (the sample key) and `b.age`
//! (the sample key sealed to `key.txt`, for account 123456789012 and user
//! mgmt-org-admin).

use std::process::{Command, Stdio};

use crate::keyring::Keyring;
use crate::moto::Moto;
use crate::support::*;

/// A public OpenPGP key (ed25519 with a cv25519 subkey) made by `gpg --quick-gen-key`.
const OPENPGP_KEY: &str = include_str!("data/openpgp-bob.asc");

/// Where a case runs.
#[derive(Clone, Copy)]
enum On {
    /// Plain pipes.
    Pipes,
    /// AWS pointed at 127.0.0.1:9, where nothing listens (with test credentials).
    NoAws,
    /// AWS pointed at a fresh moto server.
    Moto,
    /// A private Secret Service (gnome-keyring on a private bus).
    Keyring,
    /// No controlling terminal (a new session) and no pinentry: a prompt cannot be shown.
    NoTerminal,
    /// No controlling terminal, no PINENTRY_PROGRAM, no display: nobody can be asked.
    NoPrompt,
    /// A terminal (`script`): stdout and stderr both go to it, and what it shows is
    /// compared, with the terminal's CRLF line ends read as LF.
    Terminal,
}

/// One row: a handoff run and what must be set up for it.
struct Case {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    given: Option<fn(&Fx)>,
    env: Vec<(String, String)>,
    on: On,
}

/// The test's files.
struct Fx {
    env: TestEnv,
    r: String,
}

impl Fx {
    fn new() -> Fx {
        let env = TestEnv::new();
        let (_, r) = env.keygen("key.txt");
        env.seal_sample(&r);
        Fx { env, r }
    }

    fn dir(&self) -> String {
        self.env.dir.path().to_str().unwrap().to_string()
    }

    /// `text` with `{dir}` and `{r}` filled in.
    fn fill(&self, text: &str) -> String {
        text.replace("{dir}", &self.dir()).replace("{r}", &self.r)
    }

    fn bundle(&self) -> Vec<u8> {
        std::fs::read(self.env.path("b.age")).unwrap()
    }
}

/// A run of handoff with these arguments.
fn handoff(args: &[&str]) -> Case {
    Case {
        args: args.iter().map(|a| a.to_string()).collect(),
        stdin: None,
        given: None,
        env: Vec::new(),
        on: On::Pipes,
    }
}

/// Quotes `s` for sh.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Case {
    /// Runs `f` on the test's files first.
    fn given(mut self, f: fn(&Fx)) -> Case {
        self.given = Some(f);
        self
    }

    fn stdin(mut self, bytes: &[u8]) -> Case {
        self.stdin = Some(bytes.to_vec());
        self
    }

    fn env(mut self, key: &str, value: &str) -> Case {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    fn on(mut self, on: On) -> Case {
        self.on = on;
        self
    }

    /// Runs the case and asserts its exit code and its whole stderr.
    #[track_caller]
    fn pins(self, name: &str, code: i32, stderr: &str) {
        let fx = Fx::new();
        if let Some(f) = self.given {
            f(&fx);
        }
        let args: Vec<String> = self.args.iter().map(|a| fx.fill(a)).collect();
        let mut cmd = fx.env.cmd();
        cmd.envs(self.env.iter().map(|(k, v)| (k, fx.fill(v))));
        // Kept alive until the run is over.
        let mut _moto = None;
        let mut _keyring = None;
        match self.on {
            On::Pipes | On::Terminal => {}
            On::NoTerminal | On::NoPrompt => {
                use std::os::unix::process::CommandExt;
                if matches!(self.on, On::NoPrompt) {
                    cmd.env_remove("PINENTRY_PROGRAM");
                } else {
                    cmd.env("PINENTRY_PROGRAM", "/nonexistent/pinentry");
                }
                // SAFETY: setsid is async-signal-safe; the closure allocates nothing.
                unsafe {
                    cmd.pre_exec(|| {
                        rustix::process::setsid()?;
                        Ok(())
                    });
                }
            }
            On::NoAws => Moto::env_for(&mut cmd, 9),
            On::Moto => {
                let Some(m) = Moto::start() else { return };
                Moto::env_for(&mut cmd, m.port);
                _moto = Some(m);
            }
            On::Keyring => {
                let Some(k) = Keyring::start() else { return };
                cmd.envs(k.env());
                _keyring = Some(k);
            }
        }
        let run = match self.on {
            On::Terminal => {
                if !have("script") {
                    return;
                }
                on_terminal(&cmd, &args)
            }
            _ => {
                cmd.args(&args);
                match &self.stdin {
                    Some(bytes) => {
                        use std::io::Write;
                        let mut child = cmd
                            .stdin(Stdio::piped())
                            .stdout(Stdio::piped())
                            .stderr(Stdio::piped())
                            .spawn()
                            .unwrap();
                        child.stdin.take().unwrap().write_all(bytes).unwrap();
                        Run::from_output(child.wait_with_output().unwrap())
                    }
                    None => Run::from_output(cmd.output().unwrap()),
                }
            }
        };
        let seen = run.stderr.replace(&fx.dir(), "{dir}");
        assert_eq!(
            (run.code, seen.as_str()),
            (code, stderr),
            "stderr::{name}: exit code and stderr (left: now, right: pinned)\nstdout: {}",
            run.stdout
        );
        assert!(!seen.contains(SECRET), "stderr::{name} printed the secret");
    }
}

/// Runs `cmd` (its program and environment, with `args`) on a terminal made by
/// `script`; returns what the terminal showed as its stderr.
fn on_terminal(cmd: &Command, args: &[String]) -> Run {
    let mut line = format!(
        "cd {} && exec env -i",
        quoted(cmd.get_current_dir().unwrap().to_str().unwrap())
    );
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            line.push_str(&format!(
                " {}={}",
                k.to_str().unwrap(),
                quoted(v.to_str().unwrap())
            ));
        }
    }
    line.push(' ');
    line.push_str(&quoted(cmd.get_program().to_str().unwrap()));
    for a in args {
        line.push(' ');
        line.push_str(&quoted(a));
    }
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: shown,
        raw_stdout: Vec::new(),
    }
}

/// The table: `name: run => exit code, whole stderr;`. Each row becomes `#[test] fn
/// name`.
macro_rules! pinned {
    ($($name:ident: $case:expr => $code:expr, $stderr:expr;)+) => {
        $(
            #[test]
            fn $name() {
                $case.pins(stringify!($name), $code, $stderr);
            }
        )+

        /// Every row's name.
        const ROWS: &[&str] = &[$(stringify!($name)),+];
    };
}

/// The hint for a CSV that is not the console's.
macro_rules! csv_hint {
    () => {
        "hint: pass the CSV exactly as the AWS console downloaded it (accessKeys.csv or credentials.csv)\n"
    };
}

/// The hint for a file that is not an age file.
macro_rules! not_age_hint {
    () => {
        "hint: pass the .age bundle that `handoff create` or `handoff seal` wrote\n"
    };
}

pinned! {
    // ---- keygen
    keygen_output_exists:
        handoff(&["keygen", "-o", "{dir}/key.txt"])
        => 5, "handoff: error: {dir}/key.txt already exists\n\
               hint: choose another path: an existing file is never replaced\n";
    keygen_keychain_name_starting_with_a_dash:
        handoff(&["keygen", "--keychain=-x"])
        => 3, "handoff: error: -x is not a usable keychain name: it starts with '-', so it would read as an option\n\
               hint: start the name with a letter or digit\n";
    keygen_keychain_name_empty:
        handoff(&["keygen", "--keychain", ""])
        => 3, "handoff: error:  is not a usable keychain name\n\
               hint: use letters, digits and - _ . @ + = , (at most 64)\n";

    // ---- seal
    seal_no_recipient:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "-o", "{dir}/x.age"])
        => 2, "handoff: error: no recipient: nobody could open the bundle\n\
               hint: pass --to with the recipient's age1… key or SSH public key, or --passphrase\n";
    seal_bad_age_recipient:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--to", "age1bad", "-o", "{dir}/x.age"])
        => 3, "handoff: error: age1bad is not a valid age recipient (bad checksum or length)\n\
               hint: copy the whole age1… line printed by `handoff keygen` or `age-keygen -y`\n";
    seal_recipient_neither_a_key_nor_a_file:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--to", "alice", "-o", "{dir}/x.age"])
        => 3, "handoff: error: alice is not a recipient, nor a file that exists\n\
               hint: use an age1… key, an ssh-ed25519/ssh-rsa public key, or the path of a .pub or recipients file\n";
    seal_openpgp_and_age_recipients_mixed:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--to", "{dir}/bob.asc", "--to", "{r}", "-o", "{dir}/x.age"])
            .given(|f| { f.env.write("bob.asc", OPENPGP_KEY); })
        => 3, "handoff: error: OpenPGP keys and age/SSH recipients cannot share one bundle: it is either an OpenPGP message or an age file\n\
               hint: seal one bundle for the OpenPGP keys and another for the age/SSH recipients\n";
    seal_passphrase_without_a_terminal:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--passphrase", "-o", "{dir}/x.age"])
            .on(On::NoTerminal)
        => 10, "handoff: error: cannot ask for the passphrase: no terminal or pinentry answered (No such device or address (os error 6))\n\
               hint: run handoff in a terminal, or install pinentry (or set PINENTRY_PROGRAM)\n";
    seal_to_an_ecdsa_public_key:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--to", "{dir}/ec.pub", "-o", "{dir}/x.age"])
            .given(|f| {
                let keygen = ["-q", "-t", "ecdsa", "-N", "", "-f", "ec"];
                assert!(sh("ssh-keygen", &keygen, f.env.dir.path()).status.success());
            })
        => 3, "handoff: error: a recipient is an SSH key of a type age cannot use (ECDSA, DSA or a security key)\n\
               hint: use an ssh-ed25519 or ssh-rsa key\n";
    seal_passphrase_with_nobody_to_ask:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--passphrase", "-o", "{dir}/x.age"])
            .on(On::NoPrompt)
        => 10, "handoff: error: cannot ask for the passphrase: there is no terminal, and no pinentry can be shown\n\
               hint: run handoff in a terminal, or install pinentry (or set PINENTRY_PROGRAM)\n";
    seal_csv_missing:
        handoff(&["seal", "--from-csv", "{dir}/missing.csv", "--to", "{r}", "-o", "{dir}/x.age"])
        => 3, "handoff: error: cannot read CSV {dir}/missing.csv: No such file or directory (os error 2)\n\
               hint: check the path and its permissions\n";
    seal_csv_with_headers_the_console_does_not_write:
        handoff(&["seal", "--from-csv", "{dir}/bad.csv", "--to", "{r}", "-o", "{dir}/x.age"])
            .given(|f| { f.env.write("bad.csv", format!("Key,Secret\n{KEY_ID},{SECRET}\n")); })
        => 3, concat!("handoff: error: column 1 of the CSV header is not one the AWS console writes\n", csv_hint!());
    seal_csv_without_a_credential_row:
        handoff(&["seal", "--from-csv", "{dir}/bad.csv", "--to", "{r}", "-o", "{dir}/x.age"])
            .given(|f| { f.env.write("bad.csv", "Access key ID,Secret access key\n"); })
        => 3, concat!("handoff: error: the CSV has a header but no credential row\n", csv_hint!());
    seal_csv_empty:
        handoff(&["seal", "--from-csv", "{dir}/empty.csv", "--to", "{r}", "-o", "{dir}/x.age"])
            .given(|f| { f.env.write("empty.csv", ""); })
        => 3, concat!("handoff: error: the CSV has a header but no credential row\n", csv_hint!());
    seal_note_too_long:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--to", "{r}", "--note", &"n".repeat(4097), "-o", "{dir}/x.age"])
        => 3, "handoff: error: --note is 4097 characters; the limit is 4096\n\
               hint: shorten the note\n";
    seal_account_id_not_12_digits:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--to", "{r}", "--account-id", "12345", "-o", "{dir}/x.age"])
        => 3, "handoff: error: --account-id must be 12 digits\n\
               hint: change --account-id and run again\n";
    seal_output_exists_without_force:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--to", "{r}", "-o", "{dir}/b.age"])
        => 5, "handoff: error: {dir}/b.age already exists\n\
               hint: choose another path, or pass --force to replace it\n";
    seal_output_is_the_csv_it_shreds:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--shred", "--to", "{r}", "-o", "{dir}/accessKeys.csv", "--force"])
        => 2, "handoff: error: -o {dir}/accessKeys.csv is the CSV the credential is read from: the bundle would replace it, and --shred would then destroy the bundle\n\
               hint: write the bundle to another file, e.g. -o bootstrap.age\n";
    seal_binary_bundle_to_a_terminal:
        handoff(&["seal", "--from-csv", "{dir}/accessKeys.csv", "--to", "{r}"]).on(On::Terminal)
        => 5, "handoff: error: refusing to print a binary bundle to the terminal\n\
               hint: pass -o FILE, or -a for an armored (text) bundle\n";

    // ---- open
    open_with_a_passphrase_ssh_key_and_nobody_to_ask:
        handoff(&["open", "{dir}/s.age", "-i", "{dir}/edp"])
            .given(|f| {
                let keygen = ["-q", "-t", "ed25519", "-N", "pw", "-f", "edp"];
                assert!(sh("ssh-keygen", &keygen, f.env.dir.path()).status.success());
                let csv = f.env.p("accessKeys.csv");
                f.env.run(&["seal", "--from-csv", &csv, "--to", "edp.pub", "-o", "s.age"]).ok();
            })
            .on(On::NoPrompt)
        => 10, "handoff: error: cannot ask for the passphrase of {dir}/edp: there is no terminal, and no pinentry can be shown\n\
               hint: run handoff in a terminal, or install pinentry (or set PINENTRY_PROGRAM)\n";
    open_profile_in_a_directory_nothing_can_be_written_to:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/key.txt", "--aws-profile", "boot"])
            .env("AWS_SHARED_CREDENTIALS_FILE", "/proc/handoff-test/credentials")
        => 5, "handoff: error: cannot write in /proc: No such file or directory (os error 2)\n\
               hint: choose a directory you can write to\n";
    open_without_identity:
        handoff(&["open", "{dir}/b.age"])
        => 3, "handoff: error: no identity given to open the bundle\n\
               hint: pass -i with your age identity file or SSH private key, e.g. -i ~/.ssh/id_ed25519\n";
    open_identity_file_missing:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/missing.txt"])
        => 3, "handoff: error: identity file {dir}/missing.txt does not exist\n\
               hint: pass -i with an age identity file (handoff keygen -o FILE) or an SSH private key\n";
    open_wrong_identity:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/other.txt", "--json"])
            .given(|f| { f.env.keygen("other.txt"); })
        => 4, "handoff: error: none of the given identities can open this bundle\n\
               hint: it was sealed to other recipients: `handoff inspect BUNDLE` lists them; pass the matching -i\n";
    open_empty_bundle:
        handoff(&["open", "{dir}/empty.age", "-i", "{dir}/key.txt", "--json"])
            .given(|f| { f.env.write("empty.age", ""); })
        => 4, "handoff: error: bundle {dir}/empty.age is empty\n\
               hint: pass the .age file the sender gave you\n";
    open_bundle_truncated_in_its_header:
        handoff(&["open", "{dir}/t.age", "-i", "{dir}/key.txt", "--json"])
            .given(|f| { f.env.write("t.age", &f.bundle()[..100]); })
        => 4, concat!("handoff: error: this is not an age file, or its header is damaged\n", not_age_hint!());
    open_bundle_truncated_in_its_payload:
        handoff(&["open", "{dir}/t.age", "-i", "{dir}/key.txt", "--json"])
            .given(|f| { let b = f.bundle(); f.env.write("t.age", &b[..b.len() - 17]); })
        => 4, "handoff: error: the bundle is damaged or was tampered with (decryption error)\n\
               hint: ask the sender for the bundle again; do not use this one\n";
    open_tampered_bundle:
        handoff(&["open", "{dir}/t.age", "-i", "{dir}/key.txt", "--json"])
            .given(|f| { let mut b = f.bundle(); let n = b.len(); b[n - 5] ^= 1; f.env.write("t.age", &b); })
        => 4, "handoff: error: the bundle is damaged or was tampered with (decryption error)\n\
               hint: ask the sender for the bundle again; do not use this one\n";
    open_bundle_over_1_mib:
        handoff(&["open", "{dir}/big.age", "-i", "{dir}/key.txt", "--json"])
            .given(|f| { f.env.write("big.age", vec![b'A'; 2 << 20]); })
        => 3, "handoff: error: bundle {dir}/big.age is larger than 1048576 bytes\n\
               hint: pass the right file: a bundle is much smaller\n";
    open_not_an_age_file:
        handoff(&["open", "{dir}/hello.age", "-i", "{dir}/key.txt", "--json"])
            .given(|f| { f.env.write("hello.age", "hello\n"); })
        => 4, concat!("handoff: error: this is not an age file, or its header is damaged\n", not_age_hint!());
    open_bundle_missing:
        handoff(&["open", "{dir}/nope.age", "-i", "{dir}/key.txt"])
        => 3, "handoff: error: cannot read bundle {dir}/nope.age: No such file or directory (os error 2)\n\
               hint: check the path and its permissions\n";
    open_bundle_and_identity_both_on_stdin:
        handoff(&["open", "-", "-i", "-"]).stdin(b"age-encryption.org/v1\n")
        => 3, "handoff: error: the bundle and an identity cannot both come from standard input\n\
               hint: pass one of them as a file\n";
    open_two_delivery_flags:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/key.txt", "--json", "--env"])
        => 2, "error: the argument '--json' cannot be used with '--env[=<SHELL>]'\n\
               \n\
               Usage: handoff open --identity <FILE> --json <BUNDLE>\n\
               \n\
               For more information, try '--help'.\n";
    open_reveal_password_not_on_a_terminal:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/key.txt", "--reveal-password"])
        => 5, "handoff: error: --reveal-password prints only to a terminal, and standard output is not one\n\
               hint: run it in a terminal without redirecting its output\n";
    open_expect_account_mismatch:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/key.txt", "--expect-account", "210987654321", "--json"])
        => 9, "handoff: error: this bundle is for account 123456789012, not 210987654321; nothing was delivered\n\
               hint: do not use it: ask the sender who made it, and for a bundle of the right account\n";
    open_expect_account_not_12_digits:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/key.txt", "--expect-account", "12345", "--json"])
        => 3, "handoff: error: --expect-account 12345 is not a 12-digit AWS account id\n\
               hint: pass the account id as 12 digits, e.g. --expect-account 123456789012\n";
    open_aws_profile_exists_without_force:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/key.txt", "--aws-profile", "boot"])
            .given(|f| { f.env.write("aws-credentials", "[boot]\naws_access_key_id = AKIAOLDOLDOLDOLD1234\n"); })
        => 5, "handoff: error: profile [boot] already exists in {dir}/aws-credentials\n\
               hint: choose another --aws-profile, or pass --force to replace it\n";
    open_csv_file_exists:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/key.txt", "--csv", "{dir}/accessKeys.csv"])
        => 5, "handoff: error: {dir}/accessKeys.csv already exists\n\
               hint: choose another path, or pass --force to replace it\n";
    open_rotate_without_a_delivery:
        handoff(&["open", "{dir}/b.age", "-i", "{dir}/key.txt", "--rotate"]).on(On::NoAws)
        => 2, "handoff: error: --rotate needs somewhere to deliver the new key\n\
               hint: add --aws-profile NAME, --keychain NAME, --json, --env or --csv FILE\n";

    // ---- inspect
    inspect_not_a_bundle:
        handoff(&["inspect", "{dir}/hello.age"])
            .given(|f| { f.env.write("hello.age", "hello\n"); })
        => 4, concat!("handoff: error: this is not an age file, or its header is damaged\n", not_age_hint!());

    // ---- create (AWS at 127.0.0.1:9: every check but the last comes before any call)
    create_output_names_a_directory:
        handoff(&["create", "--to", "{r}", "-o", "newdir/"]).on(On::NoAws)
        => 5, "handoff: error: newdir/ names a directory, not a file\n\
               hint: add a file name, e.g. bootstrap.age\n";
    create_json_and_the_bundle_on_stdout:
        handoff(&["create", "--json", "--to", "{r}"]).on(On::NoAws)
        => 2, "handoff: error: --json prints the summary on standard output, where the bundle would go too\n\
               hint: pass -o FILE for the bundle\n";
    create_invalid_user:
        handoff(&["create", "--user", "bad name", "--to", "{r}", "-o", "{dir}/c.age"]).on(On::NoAws)
        => 3, "handoff: error: --user bad name is not a valid IAM user name\n\
               hint: use 1-64 letters, digits and + = , . @ _ - (e.g. --user mgmt-org-admin)\n";
    create_policy_not_an_arn:
        handoff(&["create", "--policy", "AdministratorAccess", "--to", "{r}", "-o", "{dir}/c.age"]).on(On::NoAws)
        => 3, "handoff: error: --policy AdministratorAccess is not a policy ARN\n\
               hint: pass an ARN such as arn:aws:iam::aws:policy/AdministratorAccess\n";
    create_expires_not_a_duration:
        handoff(&["create", "--expires", "3x", "--to", "{r}", "-o", "{dir}/c.age"]).on(On::NoAws)
        => 3, "handoff: error: --expires 3x is not a duration\n\
               hint: write a number and a unit: 30m, 72h, 7d, 2w (1 minute to 366 days)\n";
    create_expires_out_of_range:
        handoff(&["create", "--expires", "0m", "--to", "{r}", "-o", "{dir}/c.age"]).on(On::NoAws)
        => 3, "handoff: error: --expires 0m is out of range: it must be 1 minute to 366 days\n\
               hint: pass a duration from 1m to 366d, e.g. 72h\n";
    create_output_without_a_recipient_with_keychain:
        handoff(&["create", "--keychain", "boot", "-o", "{dir}/c.age"]).on(On::NoAws)
        => 2, "handoff: error: -o names a bundle file, but no recipient was given\n\
               hint: add --to RECIPIENT, or drop -o to keep the credential in the keychain only\n";
    create_aws_unreachable:
        handoff(&["create", "--to", "{r}", "-o", "{dir}/c.age"]).on(On::NoAws)
        => 6, "handoff: error: GetCallerIdentity failed: the request could not be sent, or the connection broke (network error) (tried 3 times)\n\
               hint: check your network and the endpoint (--region, --endpoint-url), then run the command again\n";

    // ---- revoke
    revoke_invalid_user:
        handoff(&["revoke", "--user", "bad name", "--yes"]).on(On::NoAws)
        => 3, "handoff: error: --user bad name is not a valid IAM user name\n\
               hint: use 1-64 letters, digits and + = , . @ _ - (e.g. --user mgmt-org-admin)\n";
    revoke_without_yes_and_no_terminal:
        handoff(&["revoke"]).on(On::NoAws)
        => 10, "handoff: error: revoke needs a confirmation and there is no terminal to ask on\n\
               hint: pass --yes to delete without asking\n";
    revoke_aws_unreachable:
        handoff(&["revoke", "--yes"]).on(On::NoAws)
        => 6, "handoff: error: GetUser failed: the request could not be sent, or the connection broke (network error) (tried 3 times) (nothing was deleted)\n\
               hint: check your network and the endpoint (--region, --endpoint-url), then run the command again (revoke is safe to repeat)\n";
    revoke_missing_user_is_not_an_error:
        handoff(&["revoke", "--user", "ghost", "--yes"]).on(On::Moto)
        => 0, "already gone: user ghost\n\
               Nothing to delete.\n";

    // ---- credential-process
    credential_process_name_not_found:
        handoff(&["credential-process", "nosuch"]).on(On::Keyring)
        => 3, "handoff: error: the Secret Service keychain has no credential named nosuch\n\
               hint: `handoff keychain list` shows what is stored\n";
    credential_process_no_session_bus:
        handoff(&["credential-process", "boot"]).env("DBUS_SESSION_BUS_ADDRESS", "unix:path={dir}/no-bus")
        => 8, "handoff: error: the secret-service store cannot be reached (zbus error: Failed to connect to address `unix:path={dir}/no-bus`: No such file or directory (os error 2))\n\
               hint: start and unlock a Secret Service (gnome-keyring or KeePassXC) in this session; over SSH, check DBUS_SESSION_BUS_ADDRESS; or use a store that answers here: keyutils (--store NAME, or HANDOFF_STORE=NAME)\n";
}

#[test]
fn the_table_pins_the_main_failures_of_every_command() {
    assert!(ROWS.len() >= 30, "only {} rows", ROWS.len());
    for command in [
        "keygen",
        "seal",
        "open",
        "inspect",
        "create",
        "revoke",
        "credential_process",
    ] {
        assert!(
            ROWS.iter().any(|r| r.starts_with(command)),
            "no row for {command}"
        );
    }
}
