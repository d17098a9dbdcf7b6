//! Every encoder proven by its real consumer, with arbitrary values (issue 10): the
//! `--env` lines evaluated by sh, dash, bash, zsh and ksh, and `--env=fish` by fish
//! (PowerShell, which no package source here offers, has its quoting proven against
//! its rules in `deliver::powershell`); the credential_process JSON
//! read by Python's json and by botocore (the AWS CLI's library) running it as a
//! credential_process. Each property hands the encoder strings full of quotes, `$`,
//! backticks, backslashes, newlines and non-ASCII, and checks that the consumer sees
//! exactly the original value and nothing else.

use std::process::Command;

use handoff::deliver::{fish, process_json, sh};
use handoff::secret::from_foreign;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

use crate::support::*;

/// Strings that stress a quoting function: shell and JSON syntax, controls, Unicode.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\x01-\\x7f]{0,24}",
        "('|\"|\\$|`|\\\\|\n|\r|\t|!|\\*|~|#|;|&|\\||\\(|\\)|\\{|\\}| |=|%|a|é|\u{202e}|\u{7f})*",
        "\\PC{0,16}",
        any::<String>().prop_map(|s| s.replace('\0', "")),
    ]
}

/// Evaluates `script` with `shell` as users do (`eval "$(cat FILE)"`), then prints the
/// named variables NUL-separated.
fn eval_in(shell: &str, script: &[u8], names: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.sh");
    std::fs::write(&file, script).unwrap();
    let print: Vec<String> = names.iter().map(|n| format!("\"${n}\"")).collect();
    let program = format!(
        "eval \"$(cat \"$1\")\" || exit 99; printf '%s\\0' {}",
        print.join(" ")
    );
    let out = Command::new(shell)
        .arg("-c")
        .arg(&program)
        .arg(shell)
        .arg(&file)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{shell} said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    nul_separated(&out.stdout, shell)
}

/// Runs `script` with fish as users do (`… | source`), then prints the named variables
/// NUL-separated.
fn source_in_fish(script: &[u8], names: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.fish");
    std::fs::write(&file, script).unwrap();
    let print: Vec<String> = names.iter().map(|n| format!("\"${n}\"")).collect();
    let program = format!(
        "source $argv[1]; or exit 99; printf '%s\\0' {}",
        print.join(" ")
    );
    let out = Command::new("fish")
        .arg("--no-config")
        .arg("-c")
        .arg(&program)
        .arg(&file)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C.UTF-8")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "fish: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    nul_separated(&out.stdout, "fish")
}

/// The values a shell printed with `printf '%s\0'`, each NUL-terminated.
fn nul_separated(stdout: &[u8], shell: &str) -> Vec<String> {
    let mut values: Vec<String> = stdout
        .split(|&b| b == 0)
        .map(|v| String::from_utf8(v.to_vec()).unwrap())
        .collect();
    assert_eq!(
        values.pop().as_deref(),
        Some(""),
        "{shell}: output ends in NUL"
    );
    values
}

const SHELLS: [&str; 5] = ["sh", "dash", "bash", "zsh", "ksh"];

fn shells_present() -> bool {
    SHELLS.iter().all(|s| have(s))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `--env` output: each shell's variables hold exactly the encoded values, and no
    /// value ran as code (a command substitution would leave a mark or fail the run).
    #[test]
    fn env_lines_evaluate_to_exactly_the_values_in_every_shell(
        values in proptest::collection::vec(hostile_string(), 1..6)
    ) {
        if !shells_present() {
            return Ok(());
        }
        let names: Vec<String> = (0..values.len()).map(|i| format!("HANDOFF_V{i}")).collect();
        let vars: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(values.iter().map(String::as_str)).collect();
        let script = sh::exports(&vars, &["AWS_SESSION_TOKEN"]).unwrap();
        for shell in SHELLS {
            let seen = eval_in(shell, &script, &names);
            prop_assert_eq!(&seen, &values, "{}", shell);
        }
    }

    /// `--env=fish` output: fish's variables hold exactly the encoded values.
    #[test]
    fn fish_lines_source_to_exactly_the_values(
        values in proptest::collection::vec(hostile_string(), 1..6)
    ) {
        if !have("fish") {
            return Ok(());
        }
        let names: Vec<String> = (0..values.len()).map(|i| format!("HANDOFF_V{i}")).collect();
        let vars: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(values.iter().map(String::as_str)).collect();
        let script = fish::exports(&vars, &["AWS_SESSION_TOKEN"]).unwrap();
        prop_assert_eq!(&source_in_fish(&script, &names), &values);
    }

    /// credential_process JSON: Python's json reads exactly the id and secret, and no
    /// other field.
    #[test]
    fn credential_process_json_reads_back_exactly_in_python(
        pairs in proptest::collection::vec((hostile_string(), hostile_string()), 1..8)
    ) {
        if !have("python3") {
            return Ok(());
        }
        let mut docs = Vec::new();
        for (id, secret) in &pairs {
            docs.extend_from_slice(&process_json::encode(id, &from_foreign(secret.clone()), None));
        }
        let out = python(
            "import json,sys\nfor line in sys.stdin.buffer.read().split(b'\\n')[:-1]:\n    d = json.loads(line)\n    assert sorted(d) == ['AccessKeyId', 'SecretAccessKey', 'Version'], sorted(d)\n    assert d['Version'] == 1\n    print(json.dumps([d['AccessKeyId'], d['SecretAccessKey']]))\n",
            &[],
            &docs,
        );
        let seen: Vec<(String, String)> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        prop_assert_eq!(seen, pairs);
    }
}

/// Runs python3 with a script, arguments and stdin; returns stdout, asserting success.
fn python(script: &str, args: &[&str], stdin: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// botocore itself runs each document as a `credential_process` (through `cat`) and
/// gets exactly the id and secret, no session token, and the expiry when there is one.
#[test]
fn botocore_running_credential_process_sees_exactly_the_values() {
    if !have("python3") {
        return;
    }
    let env = TestEnv::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut config = String::new();
    let mut expected = Vec::new();
    for i in 0..40 {
        let id = hostile_string().new_tree(&mut runner).unwrap().current();
        let secret = hostile_string().new_tree(&mut runner).unwrap().current();
        // botocore refuses an empty id or secret as "no credentials": not ours to test.
        let (id, secret) = (format!("A{id}"), format!("S{secret}"));
        let expires: Option<jiff::Timestamp> =
            (i % 4 == 0).then(|| "2099-01-01T00:00:00Z".parse().unwrap());
        let doc = process_json::encode(&id, &from_foreign(secret.clone()), expires);
        let file = env.path(&format!("doc{i}.json"));
        std::fs::write(&file, &doc[..]).unwrap();
        config.push_str(&format!(
            "[profile p{i}]\ncredential_process = cat {}\n\n",
            file.display()
        ));
        expected.push((id, secret, expires.is_some()));
    }
    let config_file = env.write("config", config);
    let script = r#"
import json, os, sys
import botocore.session
os.environ['AWS_CONFIG_FILE'] = sys.argv[1]
os.environ['AWS_SHARED_CREDENTIALS_FILE'] = os.devnull
for i in range(int(sys.argv[2])):
    s = botocore.session.Session(profile='p%d' % i)
    c = s.get_credentials()
    f = c.get_frozen_credentials()
    print(json.dumps([f.access_key, f.secret_key, f.token, c.method, hasattr(c, '_expiry_time') and c._expiry_time is not None]))
"#;
    let out = python(script, &[&config_file, &expected.len().to_string()], b"");
    let seen: Vec<(String, String, Option<String>, String, bool)> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(seen.len(), expected.len());
    for ((id, secret, token, method, refreshable), (eid, esecret, eexp)) in
        seen.iter().zip(&expected)
    {
        assert_eq!((id, secret), (eid, esecret));
        assert_eq!(token, &None, "no session token appeared");
        assert_eq!(method, "custom-process");
        assert_eq!(refreshable, eexp);
    }
}

/// The end-to-end case the review found: `eval "$(handoff open planted.age --env)"` ran
/// code hidden in the secret. A bundle anyone can make with `age -e` now holds a key
/// that breaks the payload rules: refused (exit 3) before anything is written, so the
/// shell evaluates nothing, in every shell. `secret` makes the planted secret from the
/// path of a marker file that code run by it would create.
fn a_planted_bundle_runs_no_code(secret: fn(&str) -> String) {
    if !have("age") || !shells_present() {
        return;
    }
    let env = TestEnv::new();
    let (id, recipient) = env.keygen("key.txt");
    let marker = env.p("pwned");
    let secret = secret(&marker);
    let payload = serde_json::json!({
        "format": "handoff/v1",
        "access_key_id": KEY_ID,
        "secret_access_key": secret,
    })
    .to_string();
    let bundle = env.p("evil.age");
    age_encrypt(&recipient, payload.as_bytes(), &bundle);
    for flag in [&["--env"][..], &["--json"], &["--csv", "-"]] {
        let mut args = vec!["open", &bundle, "-i", &id];
        args.extend_from_slice(flag);
        let r = env.run(&args).fails(3);
        assert_eq!(r.stdout, "", "{flag:?} wrote something");
        assert_eq!(
            r.stderr,
            "handoff: error: the bundle's payload is malformed: secret_access_key: must be 40 characters of A-Z a-z 0-9 / +\nhint: ask the sender for a new bundle made with handoff (payload format handoff/v1)\n"
        );
    }
    let h = env.cmd();
    let handoff = h.get_program().to_str().unwrap().to_string();
    for shell in SHELLS {
        let status = Command::new(shell)
            .arg("-c")
            .arg(format!(
                "eval \"$(\"{handoff}\" open \"{bundle}\" -i \"{id}\" --env 2>/dev/null)\""
            ))
            .status()
            .unwrap();
        assert!(status.success(), "{shell}");
    }
    assert!(
        !std::path::Path::new(&marker).exists(),
        "code ran: {secret:?}"
    );
}

/// One test per planted secret: `name => |marker| secret;`.
macro_rules! planted {
    ($($name:ident => $secret:expr;)+) => {
        $(
            #[test]
            fn $name() {
                a_planted_bundle_runs_no_code($secret);
            }
        )+
    };
}

planted! {
    a_planted_shell_quote_breakout_runs_no_code => |marker| format!("x'; touch {marker}; '");
    a_planted_command_substitution_runs_no_code => |marker| format!("$(touch {marker})");
    a_planted_backtick_substitution_runs_no_code => |marker| format!("`touch {marker}`");
    a_planted_json_field_breakout_is_refused => |_| "x\",\"SessionToken\":\"FORGED".to_string();
    a_planted_csv_formula_is_refused => |_| "a,=HYPERLINK(\"http://x\")".to_string();
}

/// A real bundle's `--env` output, evaluated by each shell, sets exactly the key and
/// unsets a stale session token.
#[test]
fn open_env_sets_the_key_and_unsets_a_stale_session_token_in_every_shell() {
    if !shells_present() {
        return;
    }
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let out = env.run(&["open", &b, "-i", &id, "--env"]).ok();
    assert_eq!(
        out.stdout,
        format!(
            "export AWS_ACCESS_KEY_ID='{KEY_ID}'\nexport AWS_SECRET_ACCESS_KEY='{SECRET}'\nunset AWS_SESSION_TOKEN\n"
        )
    );
    for shell in SHELLS {
        let o = Command::new(shell)
            .arg("-c")
            .arg(format!(
                "AWS_SESSION_TOKEN=stale; export AWS_SESSION_TOKEN; eval \"$(cat <<'EOF'\n{}EOF\n)\"; printf '%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"${{AWS_SESSION_TOKEN-unset}}\"",
                out.stdout
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!("{KEY_ID}|{SECRET}|unset"),
            "{shell}"
        );
    }
}

/// `--env=SHELL` (issue 14): fish's lines, sourced by fish, set the key and clear a
/// stale session token; PowerShell's are the documented lines; `--env=bash` and the
/// other aliases are sh's; `--env=csh` is refused by the command line.
#[test]
fn open_env_writes_for_the_shell_named() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let sh = env.run(&["open", &b, "-i", &id, "--env"]).ok().stdout;
    for alias in ["sh", "bash", "zsh", "ksh", "dash"] {
        let flag = format!("--env={alias}");
        assert_eq!(env.run(&["open", &b, "-i", &id, &flag]).ok().stdout, sh);
    }
    let ps = env.run(&["open", &b, "-i", &id, "--env=powershell"]).ok();
    assert_eq!(
        ps.stdout,
        format!(
            "$env:AWS_ACCESS_KEY_ID = '{KEY_ID}'\n$env:AWS_SECRET_ACCESS_KEY = '{SECRET}'\nRemove-Item Env:AWS_SESSION_TOKEN -ErrorAction SilentlyContinue\n"
        )
    );
    let pwsh = env.run(&["open", &b, "-i", &id, "--env=pwsh"]).ok();
    assert_eq!(pwsh.stdout, ps.stdout);
    let bad = env.run(&["open", &b, "-i", &id, "--env=csh"]).fails(2);
    assert!(
        bad.stderr.contains("possible values: sh, fish, powershell"),
        "{}",
        bad.stderr
    );
    let fish = env.run(&["open", &b, "-i", &id, "--env=fish"]).ok();
    assert_eq!(
        fish.stdout,
        format!(
            "set -e AWS_SESSION_TOKEN; or true\nset -gx AWS_ACCESS_KEY_ID '{KEY_ID}'\nset -gx AWS_SECRET_ACCESS_KEY '{SECRET}'\n"
        )
    );
    if !have("fish") {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    let o = Command::new("fish")
        .args(["--no-config", "-c"])
        .arg(format!(
            "set -gx AWS_SESSION_TOKEN stale; {} open {b} -i {id} --env=fish | source; printf '%s|%s|%s' $AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY (set -q AWS_SESSION_TOKEN; and echo set; or echo unset)",
            bin.display()
        ))
        .current_dir(env.dir.path())
        .env("HOME", env.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{KEY_ID}|{SECRET}|unset"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
