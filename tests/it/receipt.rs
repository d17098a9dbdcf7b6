//! Checks on receipt against a real IAM-compatible server (moto on 127.0.0.1):
//! `--expect-account`, `--verify` (STS with the received key) and `--rotate`, with a
//! fault-injecting proxy between the create and the delete of a rotation. State is
//! checked with raw IAM queries.

use crate::moto::*;
use crate::support::*;

struct Setup {
    env: TestEnv,
    moto: Moto,
    id: String,
    r: String,
}

fn setup() -> Option<Setup> {
    let moto = Moto::start()?;
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    Some(Setup { env, moto, id, r })
}

impl Setup {
    /// `handoff create` for `user` into `NAME.age`; returns the bundle and the key id.
    fn create(&self, user: &str) -> (String, String) {
        let out = self.env.p(&format!("{user}.age"));
        let run = self
            .env
            .run_aws(
                self.moto.port,
                &[
                    "create", "--user", user, "--to", &self.r, "-o", &out, "--json",
                ],
            )
            .ok();
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        (out, v["access_key_id"].as_str().unwrap().to_string())
    }

    /// Someone with a copy of the bundle's key calls AWS with it (the AWS CLI, not
    /// handoff: no note of the use is kept here).
    fn stranger_uses(&self, bundle: &str) {
        let opened = self.open(self.moto.port, bundle, &["--json"]).ok();
        let v: serde_json::Value = serde_json::from_str(&opened.stdout).unwrap();
        let out = std::process::Command::new("aws")
            .args(["sts", "get-caller-identity", "--region", "us-east-1"])
            .env("AWS_ACCESS_KEY_ID", v["AccessKeyId"].as_str().unwrap())
            .env(
                "AWS_SECRET_ACCESS_KEY",
                v["SecretAccessKey"].as_str().unwrap(),
            )
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", self.moto.url())
            .env("AWS_CONFIG_FILE", self.env.p("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.env.p("no-aws-credentials"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `handoff open BUNDLE -i key.txt ARGS…` against the IAM server on `port`.
    fn open(&self, port: u16, bundle: &str, args: &[&str]) -> Run {
        let mut all = vec!["open", bundle, "-i", &self.id];
        all.extend_from_slice(args);
        self.env.run_aws(port, &all)
    }

    /// A bundle made with `seal` holding the real key of `bundle`, but claiming another
    /// account and user.
    fn forged(&self, bundle: &str, account: &str, user: &str) -> String {
        let csv = self.env.p("forged.csv");
        self.open(self.moto.port, bundle, &["--csv", &csv]).ok();
        let out = self.env.p(&format!("forged-{account}-{user}.age"));
        self.env
            .run(&[
                "seal",
                "--from-csv",
                &csv,
                "--to",
                &self.r,
                "--account-id",
                account,
                "--user",
                user,
                "-o",
                &out,
            ])
            .ok();
        std::fs::remove_file(&csv).unwrap();
        out
    }

    fn profile_key(&self) -> String {
        let text = self.env.read("aws-credentials");
        text.lines()
            .rev()
            .find_map(|l| l.strip_prefix("aws_access_key_id = "))
            .unwrap_or_default()
            .to_string()
    }
}

#[test]
fn expect_account_refuses_another_account_and_delivers_nothing() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r); // account 123456789012
    env.run(&[
        "open",
        &b,
        "-i",
        &id,
        "--expect-account",
        "123456789012",
        "--json",
    ])
    .ok();
    let run = env
        .run(&[
            "open",
            &b,
            "-i",
            &id,
            "--expect-account",
            "210987654321",
            "--aws-profile",
            "x",
        ])
        .fails(9)
        .no_secret(SECRET);
    assert!(
        run.stderr
            .contains("for account 123456789012, not 210987654321"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    assert!(!env.path("aws-credentials").exists());
    env.run(&["open", &b, "-i", &id, "--expect-account", "12345", "--json"])
        .fails(3);
}

#[test]
fn verify_asks_aws_whose_key_it_is() {
    let Some(s) = setup() else {
        return;
    };
    let (b, key) = s.create("boot");
    let run = s
        .open(s.moto.port, &b, &["--verify", "--aws-profile", "boot"])
        .ok();
    assert!(run.stderr.contains("Verified with AWS"), "{}", run.stderr);
    assert!(run.stderr.contains("user/boot"), "{}", run.stderr);
    assert_eq!(s.profile_key(), key);

    // The real key of boot, in bundles that lie about the account or the user.
    for (account, user, says) in [
        (
            "210987654321",
            "boot",
            "the bundle says account 210987654321",
        ),
        (
            "123456789012",
            "someone-else",
            "the bundle says user someone-else",
        ),
    ] {
        let forged = s.forged(&b, account, user);
        let run = s
            .open(
                s.moto.port,
                &forged,
                &["--verify", "--aws-profile", "forged"],
            )
            .fails(9);
        assert!(run.stderr.contains(says), "{}", run.stderr);
        assert!(!s.env.read("aws-credentials").contains("[forged]"));
    }
    // A key AWS does not know (moto answers with a default identity, not boot).
    let sample = s.env.seal_sample(&s.r);
    s.open(s.moto.port, &sample, &["--verify", "--json"])
        .fails(9)
        .no_secret(SECRET);
    // An unreachable endpoint is an AWS failure (6), not a refusal.
    let run = s.open(1, &b, &["--verify", "--json"]).fails(6);
    assert!(run.stdout.is_empty());
}

#[test]
fn rotate_delivers_a_new_key_and_kills_the_received_one() {
    let Some(s) = setup() else {
        return;
    };
    let (b, old) = s.create("boot");
    let run = s
        .open(s.moto.port, &b, &["--rotate", "--aws-profile", "boot"])
        .ok();
    let keys = s.moto.access_key_ids("boot");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_ne!(keys[0], old);
    assert_eq!(s.profile_key(), keys[0]);
    assert!(run.stderr.contains("Rotated"), "{}", run.stderr);
    // The bundle now holds a dead key: verifying it is refused.
    s.open(s.moto.port, &b, &["--verify", "--json"]).fails(9);
    // Rotation needs somewhere to deliver the new key, checked before any change.
    let (b2, old2) = s.create("boot2");
    s.open(s.moto.port, &b2, &["--rotate"]).fails(2);
    s.open(s.moto.port, &b2, &["--rotate", "--aws-profile", "boot"])
        .fails(5);
    assert_eq!(s.moto.access_key_ids("boot2"), vec![old2]);
}

#[test]
fn rotate_stops_when_the_received_key_was_already_used() {
    let Some(s) = setup() else {
        return;
    };
    if !have("aws") {
        return;
    }
    let (b, old) = s.create("boot");
    // Someone else uses the key: the AWS CLI, with a copy of its secret.
    s.stranger_uses(&b);
    // A use within the slack (HANDOFF_TEST_ROTATE_SLACK_SECS, 1 s below) of the run
    // counts as the run's own: wait until moto's record of that use is older.
    let slack = jiff::SignedDuration::from_secs(1);
    wait_until(
        std::time::Duration::from_secs(10),
        "moto's record of the key's use is more than the slack old",
        || {
            s.moto
                .key_last_used(&old)
                .is_some_and(|used| used + slack < jiff::Timestamp::now())
        },
    );
    // AWS records uses with a delay; the proxy makes moto answer the same way.
    let proxy = Proxy::start(s.moto.port);
    proxy.fail("GetAccessKeyLastUsed", Fault::AsAdmin);
    let rotate = |force: bool| {
        let mut c = s.env.cmd();
        Moto::env_for(&mut c, proxy.port);
        c.env("HANDOFF_TEST_ROTATE_SLACK_SECS", "1");
        c.args(["open", &b, "-i", &s.id, "--rotate", "--aws-profile", "boot"]);
        if force {
            c.arg("--force");
        }
        Run::from_output(c.output().unwrap())
    };
    let run = rotate(false).fails(9);
    assert!(run.stderr.contains("was already used"), "{}", run.stderr);
    assert_eq!(s.moto.access_key_ids("boot"), vec![old.clone()]);
    assert!(!s.env.path("aws-credentials").exists());
    // Run again at once, with the real two-minute slack (the stranger's use is now
    // inside it): the refusal is remembered (found by the third review, F1).
    let mut c = s.env.cmd();
    Moto::env_for(&mut c, proxy.port);
    c.args(["open", &b, "-i", &s.id, "--rotate", "--aws-profile", "boot"]);
    let again = Run::from_output(c.output().unwrap()).fails(9);
    assert!(
        again.stderr.contains("was already used"),
        "{}",
        again.stderr
    );
    assert_eq!(s.moto.access_key_ids("boot"), vec![old.clone()]);
    let run = rotate(true).ok();
    assert!(run.stderr.contains("WARNING"), "{}", run.stderr);
    let keys = s.moto.access_key_ids("boot");
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0], old);
}

#[test]
fn handoffs_own_earlier_calls_with_the_key_do_not_trip_the_rotation() {
    // Found by the issue-13 attack review (F7): a `--verify` (or a first `--rotate` that
    // failed) is a use AWS records; the tripwire took it for a stranger's and exit 9
    // blocked every later rotation.
    let Some(s) = setup() else {
        return;
    };
    let proxy = Proxy::start(s.moto.port);
    proxy.fail("GetAccessKeyLastUsed", Fault::AsAdmin);
    let rotate = |b: &str, port: u16| {
        let mut c = s.env.cmd();
        Moto::env_for(&mut c, port);
        c.env("HANDOFF_TEST_ROTATE_SLACK_SECS", "1");
        c.args(["open", b, "-i", &s.id, "--rotate", "--aws-profile", "boot"]);
        Run::from_output(c.output().unwrap())
    };
    let older_than_slack = |id: &str| {
        let slack = jiff::SignedDuration::from_secs(1);
        wait_until(
            std::time::Duration::from_secs(10),
            "moto's record of the key's use is more than the slack old",
            || {
                s.moto
                    .key_last_used(id)
                    .is_some_and(|used| used + slack < jiff::Timestamp::now())
            },
        );
        // A fixed sleep on purpose: the own use must be older than the slack too.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    };
    // A verify first, then the rotation.
    let (b, old) = s.create("verified");
    s.open(s.moto.port, &b, &["--verify", "--json"]).ok();
    older_than_slack(&old);
    let run = rotate(&b, proxy.port);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("by handoff on this machine (an earlier open)"),
        "{}",
        run.stderr
    );
    assert_ne!(s.moto.access_key_ids("verified"), vec![old]);
    std::fs::remove_file(s.env.path("aws-credentials")).unwrap();
    // A first rotation that failed after its calls, then the second.
    let (b, old) = s.create("retried");
    proxy.fail("CreateAccessKey", Fault::ServerError);
    rotate(&b, proxy.port).fails(6);
    proxy.clear();
    proxy.fail("GetAccessKeyLastUsed", Fault::AsAdmin);
    older_than_slack(&old);
    let run = rotate(&b, proxy.port);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_ne!(s.moto.access_key_ids("retried"), vec![old]);
    std::fs::remove_file(s.env.path("aws-credentials")).unwrap();
    // A stranger's use after handoff's own still trips it.
    if !have("aws") {
        return;
    }
    let (b, old) = s.create("both");
    s.open(s.moto.port, &b, &["--verify", "--json"]).ok();
    older_than_slack(&old);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    s.stranger_uses(&b);
    older_than_slack(&old);
    let run = rotate(&b, proxy.port).fails(9);
    assert!(run.stderr.contains("was already used"), "{}", run.stderr);
    assert_eq!(s.moto.access_key_ids("both"), vec![old]);
    // A stranger's use *before* a verify: the verify warns, and (its own call having
    // hidden that use from AWS's record) a later rotation still trips (review 2, F9).
    let (b, old) = s.create("hidden");
    s.stranger_uses(&b);
    older_than_slack(&old);
    let mut c = s.env.cmd();
    Moto::env_for(&mut c, proxy.port);
    c.env("HANDOFF_TEST_ROTATE_SLACK_SECS", "1")
        .args(["open", &b, "-i", &s.id, "--verify", "--json"]);
    let verify = Run::from_output(c.output().unwrap());
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert!(
        verify
            .stderr
            .contains("warning: AWS says the received key was already used at"),
        "{}",
        verify.stderr
    );
    older_than_slack(&old);
    let run = rotate(&b, proxy.port).fails(9);
    assert!(run.stderr.contains("was already used"), "{}", run.stderr);
    assert_eq!(s.moto.access_key_ids("hidden"), vec![old]);
}

#[test]
fn every_failure_during_a_rotation_leaves_exactly_one_working_key() {
    let Some(s) = setup() else {
        return;
    };
    let proxy = Proxy::start(s.moto.port);
    // CreateAccessKey fails in every way: the received key is the one key left.
    for (n, fault) in ALL_FAULTS.into_iter().enumerate() {
        let user = format!("c{n}");
        let (b, old) = s.create(&user);
        proxy.clear();
        proxy.fail("CreateAccessKey", fault);
        let run = s.open(proxy.port, &b, &["--rotate", "--json"]).fails(6);
        assert!(run.stdout.is_empty(), "{fault:?}");
        assert!(
            run.stderr
                .contains(&format!("the received key {old} still works")),
            "{fault:?}: {}",
            run.stderr
        );
        assert_eq!(s.moto.access_key_ids(&user), vec![old], "{fault:?}");
        assert_eq!(proxy.count("CreateAccessKey"), 1, "{fault:?}");
    }
    proxy.clear();

    // The delivery fails after the new key was made (stdout is a pipe nobody reads):
    // the new key is deleted again.
    let (b, old) = s.create("deliver");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = s.env.cmd();
    Moto::env_for(&mut c, s.moto.port);
    let out = c
        .args(["open", &b, "-i", &s.id, "--rotate", "--json"])
        .stdout(std::process::Stdio::from(writer))
        .output()
        .unwrap();
    let run = Run::from_output(out).fails(5);
    assert!(run.stderr.contains("deleted again"), "{}", run.stderr);
    assert_eq!(s.moto.access_key_ids("deliver"), vec![old]);

    // Deleting the received key fails: the new key is delivered, both work, exit 7
    // names the command; running it leaves the new key alone.
    let (b, old) = s.create("delete");
    proxy.fail("DeleteAccessKey", Fault::ServerError);
    let run = s
        .open(proxy.port, &b, &["--rotate", "--aws-profile", "delete"])
        .fails(7);
    let new = s.profile_key();
    assert_ne!(new, old);
    // The printed command uses the key it was delivered to (the profile), never
    // whatever the default chain holds; the endpoint came from the environment here
    // (AWS_ENDPOINT_URL), so the same shell reaches the same IAM.
    let command = format!("handoff revoke --profile delete --user delete --access-key-id {old}");
    assert!(run.stderr.contains(&command), "{}", run.stderr);
    let mut keys = s.moto.access_key_ids("delete");
    keys.sort();
    let mut both = vec![old.clone(), new.clone()];
    both.sort();
    assert_eq!(keys, both);
    proxy.clear();
    // Run exactly as printed (through sh), with no credentials in the default chain.
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    let printed = command.replacen("handoff", &bin.display().to_string(), 1);
    let mut c = s.env.cmd();
    Moto::env_for(&mut c, proxy.port);
    c.env_remove("AWS_ACCESS_KEY_ID");
    c.env_remove("AWS_SECRET_ACCESS_KEY");
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c").arg(format!("{printed} --yes"));
    sh.env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))));
    sh.current_dir(s.env.dir.path());
    Run::from_output(sh.output().unwrap()).ok();
    assert_eq!(s.moto.access_key_ids("delete"), vec![new]);
}

#[test]
fn a_rotation_that_fails_before_delivery_prints_commands_that_work_as_printed() {
    // Found by the second issue-13 review (F2): the hint named `--profile` of the
    // delivery profile, which the failed rotation never wrote.
    let Some(s) = setup() else {
        return;
    };
    let (b1, _) = s.create("full");
    std::fs::rename(&b1, s.env.path("full-1.age")).unwrap();
    let (b2, _) = s.create("full");
    assert_eq!(s.moto.access_key_ids("full").len(), 2);
    let run = s
        .open(
            s.moto.port,
            &b2,
            &["--rotate", "--aws-profile", "never-written"],
        )
        .fails(6);
    assert!(
        run.stderr
            .contains("handoff revoke --user full --access-key-id ID")
            && !run.stderr.contains("--profile never-written"),
        "{}",
        run.stderr
    );
    assert!(!s.env.path("aws-credentials").exists());
}
