//! The stores beyond Secret Service, each through the real thing: the Linux kernel
//! keyring (a new session keyring per command, no D-Bus at all) and `pass`
//! (the real program, a store directory and a gpg key made in the test). Each store
//! runs the same journey: keygen, open into it, credential-process, the AWS CLI
//! through `credential_process`, list, refusal to clobber, delete.

use std::process::{Command, Output, Stdio};

use crate::moto::Moto;
use crate::support::*;

/// A store prepared for one test: how to run handoff (and other programs) against it.
struct Store {
    name: &'static str,
    /// Environment for every command (PASSWORD_STORE_DIR, GNUPGHOME, PATH).
    env: Vec<(String, String)>,
    /// Programs run through this prefix (`keyctl session NAME`), or none.
    prefix: Vec<String>,
    /// Whether `keychain list` shows the facts (pass keeps them encrypted).
    lists_facts: bool,
    /// Files of the pass shim's log, if any.
    argv_log: Option<std::path::PathBuf>,
}

impl Store {
    /// Writes `contents` into pass entry `entry` with the real `pass insert`, as a
    /// user writing an entry by hand would.
    fn insert(&self, entry: &str, contents: &[u8]) {
        use std::io::Write;
        let mut insert = Command::new("pass")
            .args(["insert", "--multiline", entry])
            .envs(self.env.clone())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        insert.stdin.take().unwrap().write_all(contents).unwrap();
        assert!(insert.wait().unwrap().success());
    }

    /// The kernel keyring, through `keyctl session NAME`: each command gets a session
    /// keyring of its own, so what one command stores reaches the next through the
    /// user's persistent keyring, as it would after a logout. No D-Bus variable is set.
    fn keyutils(env: &TestEnv) -> Option<Store> {
        if !have("keyctl") {
            return None;
        }
        let ring = format!(
            "handoff-test-{}-{}",
            std::process::id(),
            env.dir.path().file_name().unwrap().to_string_lossy()
        );
        Some(Store {
            name: "keyutils",
            env: vec![],
            prefix: vec!["keyctl".into(), "session".into(), ring],
            lists_facts: true,
            argv_log: None,
        })
    }

    /// A password store of its own, with a gpg key made here, and a `pass` shim
    /// before the real one on PATH that logs its argv and environment.
    fn pass(env: &TestEnv) -> Option<Store> {
        if !have("pass") || !have("gpg") {
            return None;
        }
        let gnupg = env.path("gnupg");
        std::fs::create_dir(&gnupg).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
        let vars = vec![
            ("GNUPGHOME".to_string(), gnupg.display().to_string()),
            ("PASSWORD_STORE_DIR".to_string(), env.p("password-store")),
        ];
        let gpg = |args: &[&str]| {
            let o = Command::new("gpg")
                .args(["--batch", "--quiet", "--passphrase", ""])
                .args(args)
                .envs(vars.clone())
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        gpg(&[
            "--quick-gen-key",
            "handoff test <test@example.com>",
            "default",
            "default",
            "never",
        ]);
        let listed = gpg(&["--list-keys", "--with-colons"]);
        let fpr = listed
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .unwrap();
        let o = Command::new("pass")
            .args(["init", &fpr])
            .envs(vars.clone())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // The shim: what handoff hands pass in argv and env lands in a log.
        let real = String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v pass"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let shims = env.path("shims");
        std::fs::create_dir(&shims).unwrap();
        let log = env.path("pass-argv.log");
        let shim = shims.join("pass");
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{log}'\nenv >> '{log}'\nexec '{real}' \"$@\"\n",
                log = log.display(),
                real = real.trim()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            shims.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut env_vars = vars;
        env_vars.push(("PATH".into(), path));
        Some(Store {
            name: "pass",
            env: env_vars,
            prefix: vec![],
            lists_facts: false,
            argv_log: Some(log),
        })
    }

    /// `handoff --store NAME ARGS`, in this store's session.
    fn run(&self, env: &TestEnv, args: &[&str]) -> Run {
        Run::from_output(self.command(env, args).output().unwrap())
    }

    fn command(&self, env: &TestEnv, args: &[&str]) -> Command {
        let bin = assert_cmd::cargo::cargo_bin("handoff");
        let mut c = if self.prefix.is_empty() {
            Command::new(&bin)
        } else {
            let mut c = Command::new(&self.prefix[0]);
            c.args(&self.prefix[1..]).arg(&bin);
            c
        };
        let base = env.cmd();
        c.env_clear();
        for (k, v) in base.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c.current_dir(env.dir.path())
            .envs(self.env.clone())
            .args(["--store", self.name])
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Any program, in this store's session and environment.
    fn program(&self, env: &TestEnv, program: &str, args: &[&str]) -> Output {
        let mut c = if self.prefix.is_empty() {
            Command::new(program)
        } else {
            let mut c = Command::new(&self.prefix[0]);
            c.args(&self.prefix[1..]).arg(program);
            c
        };
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", env.dir.path())
            .envs(self.env.clone())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn assert_no_secret_in_argv_or_env(&self, secrets: &[&str]) {
        if let Some(log) = &self.argv_log {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            assert!(text.contains("insert"), "the shim saw no insert: {text}");
            for s in secrets {
                assert!(!text.contains(s), "a secret reached pass's argv or env");
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some((_, home)) = self.env.iter().find(|(k, _)| k == "GNUPGHOME") {
            let _ = Command::new("gpgconf")
                .args(["--kill", "gpg-agent"])
                .env("GNUPGHOME", home)
                .status();
        }
    }
}

/// The journey every store must make, with item names unique to this test (the
/// kernel's persistent keyring is shared by every session of the user).
fn journey(store: &Store, env: &TestEnv) {
    let tag = env.dir.path().file_name().unwrap().to_string_lossy()[3..].to_string();
    let (me, boot) = (format!("me-{tag}"), format!("boot-{tag}"));
    // an identity kept only in the store opens bundles
    let made = store.run(env, &["keygen", "--keychain", &me]).ok();
    let recipient = made.stdout.trim().to_string();
    assert!(recipient.starts_with("age1"), "{}", made.stdout);
    assert!(
        made.stderr
            .contains(&format!("handoff --store {} open", store.name)),
        "the hint names the store: {}",
        made.stderr
    );
    let again = store.run(env, &["keychain", "recipient", &me]).ok();
    assert_eq!(again.stdout.trim(), recipient);
    let bundle = env.seal_sample(&recipient);
    // open into the store, with the identity from the store
    let opened = store
        .run(
            env,
            &[
                "open",
                &bundle,
                "--identity-keychain",
                &me,
                "--keychain",
                &boot,
            ],
        )
        .ok()
        .no_secret(SECRET);
    assert!(
        opened.stderr.contains(&format!(
            "credential_process = handoff --store {} credential-process {boot}",
            store.name
        )),
        "{}",
        opened.stderr
    );
    // credential_process JSON
    let out = store.run(env, &["credential-process", &boot]).ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (v["AccessKeyId"].as_str(), v["SecretAccessKey"].as_str()),
        (Some(KEY_ID), Some(SECRET))
    );
    lists_both(store, env, &boot, &me);
    // a taken name needs --force; with it, the item is replaced
    store
        .run(
            env,
            &[
                "open",
                &bundle,
                "--identity-keychain",
                &me,
                "--keychain",
                &boot,
            ],
        )
        .fails(5);
    store
        .run(
            env,
            &[
                "open",
                &bundle,
                "--identity-keychain",
                &me,
                "--keychain",
                &boot,
                "--force",
            ],
        )
        .ok();
    store.assert_no_secret_in_argv_or_env(&[SECRET, "AGE-SECRET-KEY"]);
    // delete: gone, and a missing name is a wrong input
    store.run(env, &["keychain", "delete", &boot]).ok();
    store.run(env, &["credential-process", &boot]).fails(3);
    store.run(env, &["keychain", "delete", &boot]).fails(3);
    store
        .run(env, &["keychain", "delete", "--identity", &me])
        .ok();
    let list = store.run(env, &["keychain", "list", "--json"]).ok();
    assert!(
        !list.stdout.contains(&boot) && !list.stdout.contains(&me),
        "{}",
        list.stdout
    );
}

/// `keychain list`, text and JSON: both names, the facts where the store keeps them
/// readable, never a secret.
fn lists_both(store: &Store, env: &TestEnv, boot: &str, me: &str) {
    // list: names and facts, never a secret
    let list = store.run(env, &["keychain", "list"]).ok().no_secret(SECRET);
    assert!(
        list.stdout.contains(boot) && list.stdout.contains(me),
        "{}",
        list.stdout
    );
    assert!(!list.stdout.contains("AGE-SECRET-KEY"), "{}", list.stdout);
    if store.lists_facts {
        assert!(
            list.stdout.contains(KEY_ID) && list.stdout.contains("mgmt-org-admin"),
            "{}",
            list.stdout
        );
    }
    let json = store.run(env, &["keychain", "list", "--json"]).ok();
    let items: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == boot && i["kind"] == "credential"),
        "{}",
        json.stdout
    );
}

#[test]
fn keyutils_holds_identities_and_credentials_with_no_dbus_at_all() {
    let env = TestEnv::new();
    let Some(store) = Store::keyutils(&env) else {
        return;
    };
    journey(&store, &env);
}

#[test]
fn pass_holds_identities_and_credentials_through_the_real_pass_and_gpg() {
    let env = TestEnv::new();
    let Some(store) = Store::pass(&env) else {
        return;
    };
    journey(&store, &env);
}

#[test]
fn a_pass_entry_is_readable_with_pass_show() {
    let env = TestEnv::new();
    let Some(store) = Store::pass(&env) else {
        return;
    };
    let (id, recipient) = env.keygen("key.txt");
    let bundle = env.seal_sample(&recipient);
    store
        .run(&env, &["open", &bundle, "-i", &id, "--keychain", "boot"])
        .ok();
    let shown = store.program(&env, "pass", &["show", "handoff/boot"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    // the payload, a blank line, then `key: value` facts
    let (payload, facts) = text.split_once("\n\n").unwrap();
    let v: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert_eq!(v["secret_access_key"], SECRET);
    assert!(
        facts
            .lines()
            .any(|l| l == format!("access-key-id: {KEY_ID}")),
        "{facts}"
    );
    assert!(
        facts.lines().any(|l| l == "user-name: mgmt-org-admin"),
        "{facts}"
    );
    // the file pass keeps is encrypted
    let file = std::fs::read(env.path("password-store/handoff/boot.gpg")).unwrap();
    assert!(!String::from_utf8_lossy(&file).contains(SECRET));
}

#[test]
fn a_key_in_the_kernel_keyring_outlives_its_session() {
    // The persistent keyring is linked into every new session of the user: a key
    // stored in one session is served in a fresh one (what a logout leaves).
    let env = TestEnv::new();
    let Some(store) = Store::keyutils(&env) else {
        return;
    };
    let (id, recipient) = env.keygen("key.txt");
    let bundle = env.seal_sample(&recipient);
    let name = format!(
        "later-{}",
        &env.dir.path().file_name().unwrap().to_string_lossy()[3..]
    );
    store
        .run(&env, &["open", &bundle, "-i", &id, "--keychain", &name])
        .ok();
    let fresh = Store {
        name: "keyutils",
        env: vec![],
        prefix: vec!["keyctl".into(), "session".into(), "-".into()],
        lists_facts: true,
        argv_log: None,
    };
    let out = fresh.run(&env, &["credential-process", &name]).ok();
    assert!(out.stdout.contains(SECRET));
    fresh.run(&env, &["keychain", "delete", &name]).ok();
    store.run(&env, &["credential-process", &name]).fails(3);
}

#[test]
fn the_aws_cli_uses_a_key_each_store_serves() {
    let Some(moto) = Moto::start() else { return };
    let aws = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/aws");
    let aws = if std::path::Path::new(aws).exists() {
        aws.to_string()
    } else if have("aws") {
        "aws".to_string()
    } else {
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    for make in [Store::keyutils, Store::pass] {
        let env = TestEnv::new();
        let Some(store) = make(&env) else { continue };
        let name = format!(
            "cli-{}",
            &env.dir.path().file_name().unwrap().to_string_lossy()[3..]
        );
        // the creator keeps the minted key in the store only
        let mut c = store.command(
            &env,
            &["create", "--user", &name, "--keychain", &name, "--json"],
        );
        Moto::env_for(&mut c, moto.port);
        let run = Run::from_output(c.output().unwrap()).ok();
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let key_id = v["access_key_id"].as_str().unwrap().to_string();
        env.write(
            "aws-config",
            format!(
                "[profile boot]\ncredential_process = {} --store {} credential-process {name}\nregion = us-east-1\n",
                bin.display(),
                store.name
            ),
        );
        let (config, creds, url) = (
            format!("AWS_CONFIG_FILE={}", env.p("aws-config")),
            format!("AWS_SHARED_CREDENTIALS_FILE={}", env.p("none")),
            moto.url(),
        );
        let args = [
            config.as_str(),
            creds.as_str(),
            aws.as_str(),
            "iam",
            "list-access-keys",
            "--user-name",
            &name,
            "--profile",
            "boot",
            "--endpoint-url",
            &url,
            "--output",
            "json",
        ];
        let cli = store.program(&env, "env", &args);
        assert!(
            cli.status.success(),
            "{}: {}",
            store.name,
            String::from_utf8_lossy(&cli.stderr)
        );
        assert!(String::from_utf8_lossy(&cli.stdout).contains(&key_id));
        store.run(&env, &["keychain", "delete", &name]).ok();
    }
}

#[test]
fn an_unreachable_default_names_the_stores_that_answer() {
    let env = TestEnv::new();
    let Some(pass) = Store::pass(&env) else {
        return;
    };
    if !have("keyctl") {
        return;
    }
    // no D-Bus at all: the default (Secret Service) cannot be reached
    let mut c = env.cmd();
    c.envs(pass.env.clone()).args(["keychain", "list"]);
    let run = Run::from_output(c.output().unwrap()).fails(8);
    assert!(
        run.stderr.contains("the secret-service store cannot be reached")
            && run.stderr.contains("or use a store that answers here: keyutils, pass (--store NAME, or HANDOFF_STORE=NAME)"),
        "{}",
        run.stderr
    );
    // a store of another OS is named as such
    let run = env.run(&["--store", "macos", "keychain", "list"]).fails(8);
    assert!(
        run.stderr
            .contains("the macos store is not available on this system: it is on macOS"),
        "{}",
        run.stderr
    );
    // HANDOFF_STORE chooses too, and a pass with no store says how to make one
    let mut c = env.cmd();
    c.env("HANDOFF_STORE", "pass").args(["keychain", "list"]);
    let run = Run::from_output(c.output().unwrap()).fails(8);
    assert!(
        run.stderr.contains("the pass store cannot be reached")
            && run.stderr.contains("pass init GPG-KEY-ID"),
        "{}",
        run.stderr
    );
    // an unknown store is a usage error
    env.run(&["--store", "vault", "keychain", "list"]).fails(2);
}

#[test]
fn a_keyutils_put_that_fails_halfway_leaves_nothing() {
    // Review finding F1: a companion handoff cannot write (planted, read-only) made the
    // secret stay behind a failed store. Now the companion goes first: nothing stays.
    // One shell, so that every step shares one session keyring.
    let env = TestEnv::new();
    if !have("keyctl") {
        return;
    }
    let (id, recipient) = env.keygen("key.txt");
    let bundle = env.seal_sample(&recipient);
    let name = format!(
        "half-{}",
        &env.dir.path().file_name().unwrap().to_string_lossy()[3..]
    );
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    let script = format!(
        "h='{bin}'; k=$(keyctl add user handoff-meta:{name} '{{}}' @s) && keyctl setperm $k 0x0b0b0000 || exit 99
         \"$h\" --store keyutils open '{bundle}' -i '{id}' --keychain {name} 2>/dev/null; echo open=$?
         \"$h\" --store keyutils credential-process {name} 2>/dev/null; echo served=$?
         keyctl unlink $k @s >/dev/null
         \"$h\" --store keyutils open '{bundle}' -i '{id}' --keychain {name} 2>/dev/null; echo again=$?
         \"$h\" --store keyutils keychain delete {name} 2>/dev/null; echo deleted=$?",
        bin = bin.display()
    );
    let o = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out,
        "open=8\nserved=3\nagain=0\ndeleted=0\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn planted_keyutils_names_no_command_takes_are_not_listed() {
    // Review finding F3.
    let env = TestEnv::new();
    let Some(store) = Store::keyutils(&env) else {
        return;
    };
    for planted in ["handoff:", "handoff:a b/c", "handoff:-rf", "handoff:.."] {
        let o = store.program(&env, "keyctl", &["add", "user", planted, "x", "@s"]);
        assert!(o.status.success());
    }
    let list = store.run(&env, &["keychain", "list", "--json"]).ok();
    for bad in ["\"\"", "a b/c", "-rf", "\"..\""] {
        assert!(!list.stdout.contains(bad), "{bad}: {}", list.stdout);
    }
    // and `.` / `..` are no names anywhere (pass would take them as paths)
    store.run(&env, &["keygen", "--keychain", ".."]).fails(3);
    store.run(&env, &["keygen", "--keychain", "."]).fails(3);
}

#[test]
fn handoff_store_junk_or_empty_fails_only_what_uses_a_keychain() {
    // Review finding F7: clap read HANDOFF_STORE, so a typo broke seal and inspect.
    let env = TestEnv::new();
    let with = |value: &str, args: &[&str]| {
        let mut c = env.cmd();
        c.env("HANDOFF_STORE", value).args(args);
        Run::from_output(c.output().unwrap())
    };
    let (_, recipient) = env.keygen("key.txt");
    let bundle = env.seal_sample(&recipient);
    with("junk", &["inspect", &bundle]).ok();
    with("", &["inspect", &bundle]).ok();
    with("junk", &["keygen", "-o", &env.p("k2.txt")]).ok();
    let run = with("junk", &["keychain", "list"]).fails(3);
    assert_eq!(
        run.stderr,
        "handoff: error: HANDOFF_STORE=junk names no keychain store\nhint: set it to secret-service, keyutils, pass, macos or windows, or unset it for the default\n"
    );
    // --store wins over the environment
    if have("keyctl") {
        let mut c = env.cmd();
        c.env("HANDOFF_STORE", "junk")
            .args(["--store", "keyutils", "keychain", "list"]);
        Run::from_output(c.output().unwrap()).ok();
    }
}

#[test]
fn a_gpg_refusal_names_its_cause_not_a_reinstall() {
    // Review finding F4: a .gpg-id naming a key gpg lacks.
    let env = TestEnv::new();
    let Some(store) = Store::pass(&env) else {
        return;
    };
    std::fs::write(
        env.path("password-store/.gpg-id"),
        "DEADBEEFDEADBEEFDEADBEEFDEADBEEFDEADBEEF\n",
    )
    .unwrap();
    let (id, recipient) = env.keygen("key.txt");
    let bundle = env.seal_sample(&recipient);
    let run = store
        .run(&env, &["open", &bundle, "-i", &id, "--keychain", "x"])
        .fails(8);
    assert!(run.stderr.contains("No public key"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hint: pass and its store answered, but gpg refused"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("install pass"), "{}", run.stderr);
}

#[test]
fn hints_and_messages_name_the_chosen_store() {
    // Review finding F9: a hint pasted as printed must act on the store asked.
    let env = TestEnv::new();
    let Some(store) = Store::pass(&env) else {
        return;
    };
    store.run(&env, &["keygen", "--keychain", "me"]).ok();
    let run = store.run(&env, &["keychain", "delete", "me"]).fails(3);
    assert_eq!(
        run.stderr,
        "handoff: error: pass has no credential named me\n\
         hint: me is an identity: handoff --store pass keychain delete --identity me\n"
    );
    let run = store.run(&env, &["keygen", "--keychain", "me"]).fails(5);
    assert!(
        run.stderr
            .contains("handoff: error: pass already has an identity named me")
            && run
                .stderr
                .contains("handoff --store pass keychain delete --identity NAME"),
        "{}",
        run.stderr
    );
    let run = store.run(&env, &["credential-process", "nosuch"]).fails(3);
    assert!(
        run.stderr
            .contains("hint: `handoff --store pass keychain list` shows what is stored"),
        "{}",
        run.stderr
    );
    let run = store
        .run(&env, &["keychain", "delete", "--identity", "me"])
        .ok();
    assert_eq!(run.stderr, "Deleted me from pass.\n");
}

#[test]
fn a_store_of_another_os_offers_only_the_stores_here() {
    // Review finding F11: no macOS advice on Linux.
    let env = TestEnv::new();
    for other in ["macos", "windows"] {
        let run = env.run(&["--store", other, "keychain", "list"]).fails(8);
        assert!(
            run.stderr.contains(&format!(
                "handoff: error: the {other} store is not available on this system"
            )),
            "{}",
            run.stderr
        );
        let hint = run.stderr.lines().nth(1).unwrap_or_default();
        assert!(
            hint.starts_with("hint: use a store of this OS that answers here: ")
                || hint.starts_with("hint: no store of this OS answers here"),
            "{hint}"
        );
        assert!(
            !hint.contains("Keychain Access") && !hint.contains("cmdkey"),
            "{hint}"
        );
    }
}

#[test]
fn an_identity_written_into_pass_by_hand_opens_bundles() {
    // Review finding F11: age-keygen's output piped into pass, and pass's own
    // "secret first, fields after" shape, are both identities.
    let env = TestEnv::new();
    let Some(store) = Store::pass(&env) else {
        return;
    };
    if !have("age-keygen") {
        return;
    }
    let keygen = Command::new("age-keygen").output().unwrap();
    assert!(keygen.status.success());
    let text = String::from_utf8(keygen.stdout).unwrap();
    let key = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    let pass_shape = format!("{key}\nnote: written by hand\n");
    for (name, entry) in [("agek", text.as_str()), ("shaped", pass_shape.as_str())] {
        store.insert(&format!("handoff-identity/{name}"), entry.as_bytes());
        let bundle = env.seal_sample(&public);
        let run = store
            .run(&env, &["open", &bundle, "--identity-keychain", name])
            .ok();
        assert!(
            run.stdout.contains(KEY_ID) || run.stderr.contains(KEY_ID),
            "{}{}",
            run.stdout,
            run.stderr
        );
        std::fs::remove_file(&bundle).unwrap();
    }
}

#[test]
fn a_signal_that_ends_handoff_ends_a_pass_that_hangs() {
    // Review finding F6: SIGTERM to handoff left pass (and what it ran) waiting.
    let env = TestEnv::new();
    let Some(store) = Store::pass(&env) else {
        return;
    };
    let shims = env.path("hang");
    std::fs::create_dir(&shims).unwrap();
    let pidfile = env.path("sleep.pid");
    let shim = shims.join("pass");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nsleep 1000 &\necho $! > '{}'\nwait\n",
            pidfile.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut handoff = store
        .command(&env, &["keygen", "--keychain", "me"])
        .env("PATH", path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let sleeper = loop {
        if let Ok(pid) = std::fs::read_to_string(&pidfile)
            && let Ok(pid) = pid.trim().parse::<i32>()
        {
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "the shim never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // Review 2: a pass that waits is never silent (its notice comes after 5 s).
    std::thread::sleep(std::time::Duration::from_millis(5600));
    let pid = rustix::process::Pid::from_raw(handoff.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = handoff.wait().unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut handoff.stderr.take().unwrap(), &mut said).unwrap();
    assert!(
        said.contains("• waiting for pass: gpg may be asking for your passphrase"),
        "{said}"
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15), "{status:?}");
    // Gone, or a zombie nobody reaps (PID 1 in a container may not).
    let alive = || {
        std::fs::read_to_string(format!("/proc/{sleeper}/stat")).is_ok_and(|stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|s| !s.starts_with('Z'))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "pass's child outlived handoff"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_keyutils_delete_removes_a_second_copy_in_a_nested_keyring() {
    // Review finding F2: delete removed the first key a search found and said
    // "Deleted" while a copy in a nested keyring still served the secret.
    let env = TestEnv::new();
    let Some(store) = Store::keyutils(&env) else {
        return;
    };
    let (key, recipient) = env.keygen("key.txt");
    let bundle = env.seal_sample(&recipient);
    store
        .run(&env, &["open", &bundle, "-i", &key, "--keychain", "f2-dup"])
        .ok();
    // Each `keyctl session` is a new session keyring: the keys live on in the user's
    // persistent keyring, which handoff links into every session it runs in.
    let copy = "p=$(keyctl get_persistent @s) && inner=$(keyctl newring f2-inner $p) && \
        for d in handoff:f2-dup handoff-meta:f2-dup; do \
          keyctl pipe $(keyctl search $p user $d) | keyctl padd user $d $inner >/dev/null || exit 1; \
        done";
    let o = store.program(&env, "sh", &["-c", copy]);
    assert!(o.status.success(), "{o:?}");
    store.run(&env, &["keychain", "delete", "f2-dup"]).ok();
    let list = store.run(&env, &["keychain", "list", "--json"]).ok();
    assert!(!list.stdout.contains("\"f2-dup\""), "{}", list.stdout);
    store.run(&env, &["credential-process", "f2-dup"]).fails(3);
    let unlink =
        "p=$(keyctl get_persistent @s) && keyctl unlink $(keyctl search $p keyring f2-inner) $p";
    store.program(&env, "sh", &["-c", unlink]);
}

#[test]
fn a_keyutils_key_handoff_may_not_write_is_named_not_an_unreachable_keyring() {
    // Review finding F8: one key of the name that the user may not write read as "the
    // keyutils store cannot be reached", with a seccomp hint.
    let env = TestEnv::new();
    let Some(store) = Store::keyutils(&env) else {
        return;
    };
    let (key, recipient) = env.keygen("key.txt");
    let bundle = env.seal_sample(&recipient);
    // planted and refused in one session (each `keyctl session` makes a new one)
    let script = "id=$(keyctl add user handoff-meta:f8-$$ '{}' @s) && keyctl setperm $id 0x0b0b0000 && \
        \"$1\" --store keyutils open \"$2\" -i \"$3\" --keychain f8-$$; echo \"rc=$?\" >&2; \
        \"$1\" --store keyutils credential-process f8-$$ >/dev/null 2>&1; echo \"served=$?\" >&2; \
        id=$(keyctl add user handoff:f10-$$ x @s) && keyctl setperm $id 0x01000000 && \
        \"$1\" --store keyutils credential-process f10-$$; echo \"unreadable=$?\" >&2";
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    let bin = bin.to_str().unwrap();
    let o = store.program(&env, "sh", &["-c", script, "sh", bin, &bundle, &key]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(
            "handoff: error: the kernel keyring refused access to a key of the name f8-"
        ) && stderr.contains("keyctl unlink KEY-ID")
            && !stderr.contains("seccomp")
            && stderr.contains("rc=8")
            // nothing was stored under the name
            && stderr.contains("served=3")
            // one it may not read is named too (review 2, finding 10)
            && stderr.contains("refused access to a key of the name f10-")
            && stderr.contains("unreadable=8"),
        "{stderr}"
    );
}

#[test]
fn a_junk_pass_entry_is_named_as_the_stores_item_not_a_bundle() {
    // Review finding F11: "the bundle's payload is malformed" for a keychain item, and
    // a hint without the chosen store.
    let env = TestEnv::new();
    let Some(store) = Store::pass(&env) else {
        return;
    };
    store.insert("handoff/junk", b"{\"format\":\"handoff/v1\"}\n");
    let run = store.run(&env, &["credential-process", "junk"]).fails(8);
    assert!(
        run.stderr
            .starts_with("handoff: error: pass item junk does not hold a handoff credential (")
            && !run.stderr.contains("bundle's payload")
            && run
                .stderr
                .contains("`handoff --store pass open BUNDLE -i ID --keychain NAME --force`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_junk_identity_and_an_empty_listing_name_the_chosen_store() {
    // Review 2: "not an age identity" and "holds nothing" spoke of "the keychain",
    // and the hint's keygen went to the OS default store.
    let env = TestEnv::new();
    let Some(store) = Store::pass(&env) else {
        return;
    };
    let run = store.run(&env, &["keychain", "list"]).ok();
    assert!(
        run.stderr.contains("Pass holds nothing of handoff's."),
        "{}",
        run.stderr
    );
    store.insert("handoff-identity/i1", b"AGE-SECRET-KEY-1NOTVALID\n");
    let run = store.run(&env, &["keychain", "recipient", "i1"]).fails(8);
    assert_eq!(
        run.stderr,
        "handoff: error: pass item i1 is not an age identity\n\
         hint: delete it with `handoff --store pass keychain delete --identity NAME`, then make one with `handoff --store pass keygen --keychain NAME`\n"
    );
    // Two key lines in a hand-made entry: refused, not the first taken (review 2, 8).
    let (a, _) = env.keygen("a.txt");
    let (b, _) = env.keygen("b.txt");
    let two = [std::fs::read(a).unwrap(), std::fs::read(b).unwrap()].concat();
    store.insert("handoff-identity/i2", &two);
    let run = store.run(&env, &["keychain", "recipient", "i2"]).fails(8);
    assert!(
        run.stderr
            .starts_with("handoff: error: pass item i2 holds 2 age identities, not one\nhint: keep one AGE-SECRET-KEY-1 line in it")
            && run.stderr.contains("handoff --store pass keygen --keychain NAME")
            && String::from_utf8(two)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
                .all(|key| !run.stderr.contains(key)),
        "{}",
        run.stderr
    );
}
