//! A private Secret Service for the keychain tests: a dbus-daemon of our own (with an
//! empty service directory, so nothing is auto-started) and an unlocked gnome-keyring on
//! it, in a temp dir; plus the keychain tests themselves, cross-checked with the
//! independent `secret-tool` client.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::moto::Moto;
use crate::support::*;

/// A private session bus, with or without gnome-keyring on it.
pub struct Keyring {
    bus: Child,
    pub address: String,
    pub dir: tempfile::TempDir,
}

impl Keyring {
    /// A bus with an unlocked gnome-keyring; None (locally) when the tools are missing.
    pub fn start() -> Option<Keyring> {
        let k = Keyring::bus_only()?;
        if !have("gnome-keyring-daemon") {
            return None;
        }
        let mut d = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .envs(k.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        d.stdin
            .take()
            .unwrap()
            .write_all(b"test-keyring-password")
            .unwrap();
        let _ = d.wait();
        wait_until(
            Duration::from_secs(15),
            "gnome-keyring appears on the private bus",
            || k.secrets_pid().is_some(),
        );
        Some(k)
    }

    /// A private bus with no Secret Service on it.
    pub fn bus_only() -> Option<Keyring> {
        if !have("dbus-daemon") || !have("dbus-send") || !have("secret-tool") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        for sub in ["run", "data", "services"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir={}</listen><servicedir>{}</servicedir>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>"#,
                dir.path().join("run").display(),
                dir.path().join("services").display()
            ),
        )
        .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Some(Keyring {
            bus,
            address: line.trim().to_string(),
            dir,
        })
    }

    /// The environment that points a client at this bus.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            (
                "XDG_RUNTIME_DIR".into(),
                self.dir.path().join("run").display().to_string(),
            ),
            (
                "XDG_DATA_HOME".into(),
                self.dir.path().join("data").display().to_string(),
            ),
        ]
    }

    /// The pid owning org.freedesktop.secrets, if any.
    pub fn secrets_pid(&self) -> Option<u32> {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--dest=org.freedesktop.DBus",
                "--type=method_call",
                "--print-reply",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                "string:org.freedesktop.secrets",
            ])
            .envs(self.env())
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split("uint32")
            .nth(1)?
            .trim()
            .parse()
            .ok()
    }

    /// Runs secret-tool on this bus.
    pub fn secret_tool(&self, args: &[&str], stdin: &[u8]) -> std::process::Output {
        let mut c = Command::new("secret-tool")
            .args(args)
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin).unwrap();
        c.wait_with_output().unwrap()
    }

    /// Runs handoff (in `env`) on this bus.
    pub fn run(&self, env: &TestEnv, args: &[&str]) -> Run {
        let mut c = env.cmd();
        c.envs(self.env());
        Run::from_output(c.args(args).output().unwrap())
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        if let Some(pid) = self.secrets_pid() {
            let _ = Command::new("kill")
                .args(["-CONT", &pid.to_string()])
                .status();
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn sealed_bundle(env: &TestEnv) -> (String, String) {
    let (id, r) = env.keygen("key.txt");
    (id, env.seal_sample(&r))
}

#[test]
fn open_into_the_keychain_then_serve_it_as_credential_process() {
    let Some(k) = Keyring::start() else { return };
    let env = TestEnv::new();
    let (id, bundle) = sealed_bundle(&env);
    let before = std::fs::read(&bundle).unwrap();
    k.run(&env, &["open", &bundle, "-i", &id, "--keychain", "boot"])
        .ok()
        .no_secret(SECRET);
    assert_eq!(
        std::fs::read(&bundle).unwrap(),
        before,
        "the bundle is untouched"
    );
    // an independent client reads what handoff stored
    let looked = k.secret_tool(&["lookup", "service", "handoff", "username", "boot"], b"");
    let text = String::from_utf8_lossy(&looked.stdout);
    assert!(
        text.contains(SECRET) && text.contains("handoff/v1"),
        "{text}"
    );
    // credential_process JSON
    let out = k.run(&env, &["credential-process", "boot"]).ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["Version"], 1);
    assert_eq!(v["AccessKeyId"], KEY_ID);
    assert_eq!(v["SecretAccessKey"], SECRET);
    // list shows names and facts, never the secret
    let list = k.run(&env, &["keychain", "list"]).ok().no_secret(SECRET);
    assert!(
        list.stdout.contains("boot")
            && list.stdout.contains(KEY_ID)
            && list.stdout.contains("mgmt-org-admin"),
        "{}",
        list.stdout
    );
    // an existing entry needs --force
    k.run(&env, &["open", &bundle, "-i", &id, "--keychain", "boot"])
        .fails(5);
    k.run(
        &env,
        &["open", &bundle, "-i", &id, "--keychain", "boot", "--force"],
    )
    .ok();
    // delete, then it is gone
    k.run(&env, &["keychain", "delete", "boot"]).ok();
    // a name that is not there is a wrong input (3), not a keychain failure (8)
    k.run(&env, &["credential-process", "boot"]).fails(3);
    k.run(&env, &["keychain", "delete", "boot"]).fails(3);
    // an identity of that name: the hint names the flag that deletes it
    k.run(&env, &["keygen", "--keychain", "me"]).ok();
    let run = k.run(&env, &["keychain", "delete", "me"]).fails(3);
    assert_eq!(
        run.stderr,
        "handoff: error: the Secret Service keychain has no credential named me\nhint: me is an identity: handoff keychain delete --identity me\n"
    );
    // keygen has no --force: its hint does not offer one, and what it offers works
    let run = k.run(&env, &["keygen", "--keychain", "me"]).fails(5);
    assert!(
        run.stderr.ends_with("hint: choose another name, or delete the old one first: handoff keychain delete --identity NAME\n"),
        "{}",
        run.stderr
    );
    k.run(&env, &["keychain", "delete", "--identity", "me"])
        .ok();
    k.run(&env, &["keygen", "--keychain", "me"]).ok();
}

#[test]
fn an_entry_written_by_secret_tool_is_served() {
    let Some(k) = Keyring::start() else { return };
    let env = TestEnv::new();
    let payload = format!(
        r#"{{"format":"handoff/v1","access_key_id":"{KEY_ID}","secret_access_key":"{SECRET}"}}"#
    );
    let o = k.secret_tool(
        &[
            "store",
            "--label=test",
            "service",
            "handoff",
            "username",
            "manual",
        ],
        payload.as_bytes(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = k.run(&env, &["credential-process", "manual"]).ok();
    assert!(out.stdout.contains(SECRET));
    // and a foreign item that is not a handoff payload is refused clearly
    k.secret_tool(
        &[
            "store",
            "--label=x",
            "service",
            "handoff",
            "username",
            "junk",
        ],
        b"hello",
    );
    let e = k.run(&env, &["credential-process", "junk"]).fails(8);
    assert!(!e.stderr.contains("hello"));
}

#[test]
fn an_identity_kept_only_in_the_keychain_opens_bundles() {
    let Some(k) = Keyring::start() else { return };
    let env = TestEnv::new();
    let made = k.run(&env, &["keygen", "--keychain", "me"]).ok();
    let recipient = made.stdout.trim().to_string();
    assert!(recipient.starts_with("age1"));
    assert!(!made.stdout.contains("AGE-SECRET-KEY"));
    let again = k.run(&env, &["keychain", "recipient", "me"]).ok();
    assert_eq!(again.stdout.trim(), recipient);
    let csv = env.access_key_csv("accessKeys.csv");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        &recipient,
        "-o",
        &env.p("b.age"),
    ])
    .ok();
    let out = k
        .run(
            &env,
            &[
                "open",
                &env.p("b.age"),
                "--identity-keychain",
                "me",
                "--json",
            ],
        )
        .ok();
    assert!(out.stdout.contains(SECRET));
    k.run(&env, &["keygen", "--keychain", "me"]).fails(5);
    let list = k.run(&env, &["keychain", "list", "--json"]).ok();
    assert!(
        list.stdout.contains("\"identity\"") && list.stdout.contains(&recipient),
        "{}",
        list.stdout
    );
}

#[test]
fn the_aws_cli_uses_a_key_served_by_credential_process() {
    let Some(k) = Keyring::start() else { return };
    let Some(moto) = Moto::start() else { return };
    let aws = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/aws");
    if !std::path::Path::new(aws).exists() && !have("aws") {
        return;
    }
    let aws = if std::path::Path::new(aws).exists() {
        aws.to_string()
    } else {
        "aws".to_string()
    };
    let env = TestEnv::new();
    // the creator keeps the minted key in their own keychain only
    let mut c = env.cmd();
    c.envs(k.env());
    Moto::env_for(&mut c, moto.port);
    let run = Run::from_output(
        c.args(["create", "--keychain", "boot", "--json"])
            .output()
            .unwrap(),
    )
    .ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let key_id = v["access_key_id"].as_str().unwrap().to_string();
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    env.write(
        "aws-config",
        format!(
            "[profile boot]\ncredential_process = {} credential-process boot\nregion = us-east-1\n",
            bin.display()
        ),
    );
    let o = Command::new(&aws)
        .args([
            "iam",
            "list-access-keys",
            "--user-name",
            "mgmt-org-admin",
            "--profile",
            "boot",
            "--endpoint-url",
            &moto.url(),
            "--output",
            "json",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("HOME", env.dir.path())
        .env("AWS_CONFIG_FILE", env.path("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", env.path("none"))
        .envs(k.env())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&key_id));
}

fn assert_fast_keychain_failure(k: Option<&Keyring>, env: &TestEnv, extra_env: &[(&str, &str)]) {
    let start = Instant::now();
    let mut c = env.cmd();
    if let Some(k) = k {
        c.envs(k.env());
    }
    for (a, b) in extra_env {
        c.env(a, b);
    }
    let run = Run::from_output(c.args(["credential-process", "boot"]).output().unwrap()).fails(8);
    assert!(
        start.elapsed() < Duration::from_secs(7),
        "took {:?}",
        start.elapsed()
    );
    drop(run);
}

#[test]
fn no_bus_no_secret_service_and_a_stuck_daemon_fail_fast_and_clearly() {
    let env = TestEnv::new();
    // no bus at all
    assert_fast_keychain_failure(
        None,
        &env,
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    );
    // a bus without a Secret Service
    if let Some(bus) = Keyring::bus_only() {
        assert_fast_keychain_failure(Some(&bus), &env, &[]);
    }
    // a stuck daemon: gnome-keyring stopped with SIGSTOP
    if let Some(k) = Keyring::start() {
        let pid = k.secrets_pid().unwrap();
        assert!(
            Command::new("kill")
                .args(["-STOP", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
        assert_fast_keychain_failure(Some(&k), &env, &[]);
        let _ = Command::new("kill")
            .args(["-CONT", &pid.to_string()])
            .status();
    }
}

#[test]
fn a_locked_keyring_fails_clearly_and_create_rolls_back() {
    let Some(k) = Keyring::start() else { return };
    let Some(moto) = Moto::start() else { return };
    let env = TestEnv::new();
    // Make sure the login collection exists, then lock it over D-Bus.
    k.secret_tool(
        &["store", "--label=x", "service", "other", "username", "x"],
        b"x",
    );
    let o = Command::new("dbus-send")
        .args([
            "--session",
            "--dest=org.freedesktop.secrets",
            "--type=method_call",
            "--print-reply",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .envs(k.env())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let start = Instant::now();
    let mut c = env.cmd();
    c.envs(k.env());
    Moto::env_for(&mut c, moto.port);
    let run = Run::from_output(c.args(["create", "--keychain", "boot"]).output().unwrap()).fails(8);
    assert!(start.elapsed() < Duration::from_secs(20));
    // the keychain is searched (pre-flight) while locked, but storing fails after the
    // key was minted: the rollback must delete it
    assert!(
        run.stderr.contains("store in the keychain") && run.stderr.contains("rolled back"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("locked"), "{}", run.stderr);
    // whether it failed in pre-flight or after minting, nothing is left in IAM
    assert!(moto.access_key_ids("mgmt-org-admin").is_empty());
    assert!(!moto.user_exists("mgmt-org-admin"), "{}", run.stderr);
}

#[test]
fn a_keychain_item_replaced_with_force_is_put_back_when_the_create_fails() {
    // Found by the attack review: the rollback deleted the earlier item, whose key was
    // still active in IAM, so its secret was nowhere any more.
    let Some(moto) = Moto::start() else { return };
    let Some(k) = Keyring::start() else { return };
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let mut c = env.cmd();
    Moto::env_for(&mut c, moto.port);
    let first = c
        .envs(k.env())
        .args(["create", "--user", "kcu", "--keychain", "kc1"]);
    Run::from_output(first.output().unwrap()).ok();
    let before = k.run(&env, &["credential-process", "kc1"]).ok().stdout;
    // The same name with --force, and a bundle write that fails (ulimit -f 1: 512
    // bytes, enough for the journal, not for the armored bundle).
    let mut c = env.cmd();
    Moto::env_for(&mut c, moto.port);
    c.envs(k.env());
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -f 1; exec \"$0\" \"$@\"")
        .arg(c.get_program())
        .args([
            "create",
            "-a",
            "--user",
            "kcu",
            "--keychain",
            "kc1",
            "--force",
            "--to",
            &r,
        ])
        .args(["-o", &env.p("b.age")])
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(env.dir.path());
    let run = Run::from_output(sh.output().unwrap()).fails(5);
    assert!(
        run.stderr
            .contains("put the earlier kc1 back in the keychain"),
        "{}",
        run.stderr
    );
    let after = k.run(&env, &["credential-process", "kc1"]).ok().stdout;
    assert_eq!(after, before, "the earlier credential was not restored");
    assert_eq!(moto.access_key_ids("kcu").len(), 1);
}
