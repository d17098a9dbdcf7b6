//! create and revoke against a real IAM-compatible server (moto on 127.0.0.1), with a
//! fault-injecting proxy for every step. State is checked with raw IAM queries, never
//! by trusting handoff's own output.

use crate::moto::*;
use crate::support::*;

fn setup() -> Option<(TestEnv, Moto, String, String)> {
    // Signatures and permissions checked, as AWS checks them.
    let moto = Moto::start_authed()?;
    let env = TestEnv::new();
    env.sign_with(&moto);
    let (id, recipient) = env.keygen("key.txt");
    Some((env, moto, id, recipient))
}

#[test]
fn create_open_use_revoke_round_trip_leaves_nothing() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    let out = env
        .run_aws(
            moto.port,
            &[
                "create",
                "--to",
                &r,
                "-o",
                &env.p("b.age"),
                "--json",
                "--note",
                "for the first deployment",
            ],
        )
        .ok();
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let key_id = summary["access_key_id"].as_str().unwrap().to_string();
    assert_eq!(summary["user_name"], "mgmt-org-admin");
    assert_eq!(summary["created_user"], true);
    assert_eq!(summary["account_id"], "123456789012");
    // IAM holds the user, the policy and exactly that key
    assert!(moto.user_exists("mgmt-org-admin"));
    assert_eq!(moto.access_key_ids("mgmt-org-admin"), vec![key_id.clone()]);
    let (_, attached) = moto.iam(
        "ListAttachedUserPolicies",
        &[("UserName", "mgmt-org-admin")],
    );
    assert!(attached.contains("arn:aws:iam::aws:policy/AdministratorAccess"));
    let (_, tags) = moto.iam("ListUserTags", &[("UserName", "mgmt-org-admin")]);
    assert!(tags.contains("handoff"), "{tags}");
    // the bundle opens with plain age too, and holds that key
    let json = env
        .run(&["open", &env.p("b.age"), "-i", &id, "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["AccessKeyId"], key_id.as_str());
    let secret = v["SecretAccessKey"].as_str().unwrap().to_string();
    out.no_secret(&secret);
    let summary_text = env
        .run(&["open", &env.p("b.age"), "-i", &id])
        .ok()
        .no_secret(&secret);
    assert!(summary_text.stdout.contains("for the first deployment"));
    // the received key works: the AWS CLI lists the user's keys with it
    if have_aws_cli() {
        env.run(&["open", &env.p("b.age"), "-i", &id, "--aws-profile", "boot"])
            .ok();
        let o = std::process::Command::new(aws_cli())
            .args([
                "iam",
                "list-access-keys",
                "--user-name",
                "mgmt-org-admin",
                "--profile",
                "boot",
                "--endpoint-url",
                &moto.url(),
                "--region",
                "us-east-1",
                "--output",
                "json",
            ])
            .env("AWS_SHARED_CREDENTIALS_FILE", env.path("aws-credentials"))
            .env("AWS_CONFIG_FILE", env.path("aws-config"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains(&key_id));
    }
    // revoke everything, then nothing is left; a second revoke is a no-op
    env.run_aws(moto.port, &["revoke", "--delete-user", "--yes"])
        .ok();
    assert!(!moto.user_exists("mgmt-org-admin"));
    assert!(!moto.state().contains(&key_id));
    let again = env
        .run_aws(moto.port, &["revoke", "--delete-user", "--yes"])
        .ok();
    assert!(again.stderr.contains("already gone"), "{}", again.stderr);
}

fn aws_cli() -> String {
    let local = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/aws");
    if std::path::Path::new(local).exists() {
        local.into()
    } else {
        "aws".into()
    }
}

fn have_aws_cli() -> bool {
    std::path::Path::new(&aws_cli()).exists() || have("aws")
}

#[test]
fn console_password_with_reset_and_sign_in_url() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    moto.iam("CreateAccountAlias", &[("AccountAlias", "myexample")]);
    env.run_aws(
        moto.port,
        &[
            "create",
            "--to",
            &r,
            "--console-password",
            "--no-policy",
            "-o",
            &env.p("b.age"),
        ],
    )
    .ok();
    assert!(moto.has_login_profile("mgmt-org-admin"));
    assert!(
        moto.access_key_ids("mgmt-org-admin").is_empty(),
        "--console-password alone mints no key"
    );
    let out = sh("age", &["-d", "-i", &id, &env.p("b.age")], env.dir.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pw = v["console_password"].as_str().unwrap();
    assert!(pw.len() >= 24);
    assert_eq!(
        v["sign_in_url"],
        "https://myexample.signin.aws.amazon.com/console"
    );
    // an existing login profile is met head-on
    let e = env
        .run_aws(
            moto.port,
            &[
                "create",
                "--to",
                &r,
                "--console-password",
                "-o",
                &env.p("c.age"),
            ],
        )
        .fails(11);
    assert!(e.stderr.contains("--reset-password"));
    assert!(!env.path("c.age").exists());
    env.run_aws(
        moto.port,
        &[
            "create",
            "--to",
            &r,
            "--console-password",
            "--reset-password",
            "-o",
            &env.p("c.age"),
        ],
    )
    .ok();
}

#[test]
fn the_two_key_limit_is_an_error_before_anything_is_minted() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    env.run_aws(moto.port, &["create", "--to", &r, "-o", &env.p("1.age")])
        .ok();
    env.run_aws(moto.port, &["create", "--to", &r, "-o", &env.p("2.age")])
        .ok();
    let keys = moto.access_key_ids("mgmt-org-admin");
    assert_eq!(keys.len(), 2);
    let e = env
        .run_aws(moto.port, &["create", "--to", &r, "-o", &env.p("3.age")])
        .fails(11);
    for k in &keys {
        assert!(e.stderr.contains(k.as_str()), "{}", e.stderr);
    }
    assert!(e.stderr.contains("Active") && e.stderr.contains("days old"));
    assert!(
        e.stderr
            .contains("handoff revoke --user mgmt-org-admin --access-key-id")
    );
    assert_eq!(moto.access_key_ids("mgmt-org-admin"), keys);
    // revoke one key, then create works again
    env.run_aws(moto.port, &["revoke", "--access-key-id", &keys[0], "--yes"])
        .ok();
    assert_eq!(moto.access_key_ids("mgmt-org-admin").len(), 1);
    env.run_aws(moto.port, &["create", "--to", &r, "-o", &env.p("3.age")])
        .ok();
}

#[test]
fn expires_attaches_a_deny_after_policy_and_records_it() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    env.run_aws(
        moto.port,
        &[
            "create",
            "--to",
            &r,
            "--expires",
            "72h",
            "-o",
            &env.p("b.age"),
        ],
    )
    .ok();
    let (status, body) = moto.iam(
        "GetUserPolicy",
        &[
            ("UserName", "mgmt-org-admin"),
            ("PolicyName", "handoff-expiry"),
        ],
    );
    let body = percent_decode(&body);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("DateGreaterThan")
            && body.contains("aws:CurrentTime")
            && body.contains("Deny"),
        "{body}"
    );
    let out = sh("age", &["-d", "-i", &id, &env.p("b.age")], env.dir.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at: jiff::Timestamp = v["expires_at"].as_str().unwrap().parse().unwrap();
    let hours = at.duration_since(jiff::Timestamp::now()).as_secs() / 3600;
    assert!((71..=72).contains(&hours), "{hours}");
    assert!(
        body.contains(&at.to_string()),
        "the policy names the same instant"
    );
    env.run_aws(
        moto.port,
        &[
            "create",
            "--to",
            &r,
            "--expires",
            "soon",
            "-o",
            &env.p("x.age"),
        ],
    )
    .fails(3);
}

#[test]
fn dry_run_prints_every_call_and_changes_nothing() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let before = moto.user_names();
    let out = env
        .run_aws(
            moto.port,
            &[
                "create",
                "--to",
                &r,
                "--access-key",
                "--console-password",
                "--expires",
                "7d",
                "--dry-run",
            ],
        )
        .ok();
    for call in [
        "iam:CreateUser",
        "iam:AttachUserPolicy",
        "AdministratorAccess",
        "iam:PutUserPolicy",
        "iam:CreateAccessKey",
        "iam:CreateLoginProfile",
    ] {
        assert!(out.stdout.contains(call), "{call}: {}", out.stdout);
    }
    assert!(!moto.user_exists("mgmt-org-admin"));
    assert_eq!(moto.user_names(), before, "users changed");
    assert_eq!(moto.all_access_key_ids(), Vec::<String>::new());
}

#[test]
fn an_existing_user_is_reused_and_pre_flight_failures_touch_nothing() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    // Made by an earlier handoff run: it carries the tag.
    moto.iam(
        "CreateUser",
        &[
            ("UserName", "mgmt-org-admin"),
            ("Tags.member.1.Key", "created-by"),
            ("Tags.member.1.Value", "handoff"),
        ],
    );
    let out = env
        .run_aws(moto.port, &["create", "--to", &r, "-o", &env.p("b.age")])
        .ok();
    assert!(out.stderr.contains("reusing"), "{}", out.stderr);
    // pre-flight: a bad recipient or a taken output path stops before any AWS call
    let proxy = Proxy::start(moto.port);
    env.run_aws(
        proxy.port,
        &[
            "create",
            "--user",
            "u2",
            "--to",
            "nobody",
            "-o",
            &env.p("c.age"),
        ],
    )
    .fails(3);
    env.run_aws(
        proxy.port,
        &["create", "--user", "u2", "--to", &r, "-o", &env.p("b.age")],
    )
    .fails(5);
    env.run_aws(
        proxy.port,
        &[
            "create",
            "--user",
            "u2",
            "--to",
            &r,
            "-o",
            &env.p("missing/c.age"),
        ],
    )
    .fails(5);
    env.run_aws(
        proxy.port,
        &[
            "create",
            "--user",
            "bad name",
            "--to",
            &r,
            "-o",
            &env.p("c.age"),
        ],
    )
    .fails(3);
    assert_eq!(
        proxy.count("GetCallerIdentity") + proxy.count("GetUser"),
        0,
        "no AWS call before pre-flight passes"
    );
}

#[test]
fn every_failing_step_is_rolled_back_and_nothing_is_orphaned() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let proxy = Proxy::start(moto.port);
    let steps = [
        "CreateUser",
        "AttachUserPolicy",
        "PutUserPolicy",
        "CreateAccessKey",
        "CreateLoginProfile",
    ];
    let mut case = 0;
    for step in steps {
        for fault in ALL_FAULTS {
            case += 1;
            let user = format!("boot{case}");
            let out = env.p(&format!("{user}.age"));
            proxy.clear();
            proxy.fail(step, fault);
            let run = env.run_aws(
                proxy.port,
                &[
                    "create",
                    "--user",
                    &user,
                    "--to",
                    &r,
                    "--access-key",
                    "--console-password",
                    "--expires",
                    "1d",
                    "-o",
                    &out,
                ],
            );
            // A garbled 200 to a call whose answer has no data is read as success
            // by the SDK; the change is then checked (read back) and the run goes on.
            if fault == Fault::GarbledReply && run.code == 0 {
                assert!(std::path::Path::new(&out).exists(), "{step}: no bundle");
                assert_eq!(moto.access_key_ids(&user).len(), 1, "{step}");
                let revoke = ["revoke", "--user", &user, "--delete-user", "--yes"];
                env.run_aws(moto.port, &revoke).ok();
                continue;
            }
            let run = run.fails(6);
            assert!(
                run.stderr.contains(step),
                "{step} {fault:?}: {}",
                run.stderr
            );
            assert!(
                run.stderr.contains("rolled back")
                    || run.stderr.contains("nothing had been changed"),
                "{step} {fault:?}: {}",
                run.stderr
            );
            assert!(
                !std::path::Path::new(&out).exists(),
                "{step} {fault:?}: bundle left behind"
            );
            assert!(
                !moto.user_exists(&user),
                "{step} {fault:?}: user left in IAM"
            );
            assert!(
                proxy.count("CreateAccessKey") <= 1,
                "{step} {fault:?}: CreateAccessKey sent twice"
            );
            assert!(
                proxy.count("CreateUser") <= 1,
                "{step} {fault:?}: CreateUser sent twice"
            );
        }
    }
    // nothing of any case is left in moto's state
    assert_eq!(moto.user_names(), Vec::<String>::new(), "users left in IAM");
}

#[test]
fn a_slow_server_is_waited_for_and_a_silent_one_times_out_and_rolls_back() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    // Slow: every call of the run answers after a second; create still finishes.
    let proxy = Proxy::start(moto.port);
    for action in [
        "GetCallerIdentity",
        "GetUser",
        "CreateUser",
        "CreateAccessKey",
    ] {
        proxy.fail(action, Fault::Slow);
    }
    let out = env.p("slow.age");
    env.run_aws(
        proxy.port,
        &["create", "--user", "slow", "--to", &r, "-o", &out],
    )
    .ok();
    env.run(&["open", &out, "-i", &id]).ok();
    // Silent: CreateAccessKey is never answered. The attempt times out (20 s), the
    // outcome is unknown, the user made by this run is rolled back, exit 6.
    proxy.clear();
    proxy.fail("CreateAccessKey", Fault::Hang);
    let start = std::time::Instant::now();
    let out = env.p("silent.age");
    let run = env
        .run_aws(
            proxy.port,
            &["create", "--user", "silent", "--to", &r, "-o", &out],
        )
        .fails(6);
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(45), "took {took:?}");
    assert!(
        run.stderr.contains("CreateAccessKey") && run.stderr.contains("rolled back"),
        "{}",
        run.stderr
    );
    assert!(!moto.user_exists("silent"));
    assert!(!std::path::Path::new(&out).exists());
    assert_eq!(proxy.count("CreateAccessKey"), 1);
}

#[test]
fn a_failed_bundle_write_after_minting_rolls_back() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(format!(
            // 512 bytes: the journal fits, the armored bundle does not.
            "trap '' XFSZ; ulimit -f 1; exec {} create --to {r} -a -o {}",
            bin.display(),
            env.p("b.age")
        ))
        .env("HOME", env.dir.path())
        .current_dir(env.dir.path());
    env.aws_env(&mut c, moto.port);
    let run = Run::from_output(c.output().unwrap()).fails(5);
    assert!(
        run.stderr.contains("write the bundle") && run.stderr.contains("rolled back"),
        "{}",
        run.stderr
    );
    assert!(!moto.user_exists("mgmt-org-admin"));
    assert!(!env.path("b.age").exists());
    assert_eq!(
        std::fs::read_dir(env.dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".handoff"))
            .count(),
        0
    );
}

#[test]
fn a_failed_rollback_names_the_key_and_the_revoke_command() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    moto.iam("CreateUser", &[("UserName", "mgmt-org-admin")]);
    let proxy = Proxy::start(moto.port);
    proxy.fail("CreateLoginProfile", Fault::ServerError);
    proxy.fail("DeleteAccessKey", Fault::ServerError);
    let run = env
        .run_aws(
            proxy.port,
            &[
                "create",
                "--to",
                &r,
                "--access-key",
                "--console-password",
                "--no-policy",
                "--adopt",
                "-o",
                &env.p("b.age"),
            ],
        )
        .fails(7);
    let keys = moto.access_key_ids("mgmt-org-admin");
    assert_eq!(keys.len(), 1);
    assert!(run.stderr.contains(&keys[0]), "{}", run.stderr);
    let cmd = format!(
        "handoff revoke --user mgmt-org-admin --access-key-id {}",
        keys[0]
    );
    assert!(run.stderr.contains(&cmd), "{}", run.stderr);
    assert!(!env.path("b.age").exists());
    // the command it names finishes the clean-up
    env.run_aws(moto.port, &["revoke", "--access-key-id", &keys[0], "--yes"])
        .ok();
    assert!(moto.access_key_ids("mgmt-org-admin").is_empty());
}

#[test]
fn revoke_asks_unless_yes_and_reports_what_was_gone() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    env.run_aws(
        moto.port,
        &[
            "create",
            "--to",
            &r,
            "--access-key",
            "--console-password",
            "--expires",
            "1d",
            "-o",
            &env.p("b.age"),
        ],
    )
    .ok();
    // No terminal to confirm on: refused before any call (exit 10: no prompt possible).
    env.run_aws(moto.port, &["revoke"]).fails(10);
    assert!(moto.user_exists("mgmt-org-admin"));
    let out = env.run_aws(moto.port, &["revoke", "--yes", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let deleted = v["deleted"].to_string();
    for what in [
        "access key",
        "console password",
        "AdministratorAccess",
        "handoff-expiry",
    ] {
        assert!(deleted.contains(what), "{what}: {deleted}");
    }
    assert!(
        moto.user_exists("mgmt-org-admin"),
        "without --delete-user the user stays"
    );
    assert!(moto.access_key_ids("mgmt-org-admin").is_empty());
    assert!(!moto.has_login_profile("mgmt-org-admin"));
    env.run_aws(moto.port, &["revoke", "--delete-user", "--yes"])
        .ok();
    assert!(!moto.user_exists("mgmt-org-admin"));
}

#[test]
fn no_credentials_or_an_unreachable_endpoint_fail_clearly() {
    let env = TestEnv::new();
    let (_, r) = env.keygen("key.txt");
    let mut c = env.cmd();
    c.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1");
    let run = Run::from_output(
        c.args(["create", "--to", &r, "-o", &env.p("b.age")])
            .output()
            .unwrap(),
    );
    let run = run.fails(6);
    assert!(!env.path("b.age").exists());
    drop(run);
    let run = env
        .run_aws(9, &["create", "--to", &r, "-o", &env.p("b.age")])
        .fails(6);
    assert!(run.stderr.contains("GetCallerIdentity"), "{}", run.stderr);
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn progress_is_a_spinner_on_a_terminal_plain_lines_otherwise_and_nothing_when_quiet() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    if !have("script") {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    let cmd = format!(
        "HOME={} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_REGION=us-east-1 AWS_ENDPOINT_URL={} AWS_EC2_METADATA_DISABLED=true {} create --user tty --to {r} -o {}",
        env.dir.path().display(),
        moto.admin.as_ref().unwrap().0,
        moto.admin.as_ref().unwrap().1,
        moto.url(),
        bin.display(),
        env.p("tty.age")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("• CreateAccessKey"), "{screen}");
    assert!(
        screen.contains("\u{1b}["),
        "a terminal gets the spinner's redraws: {screen}"
    );
    let plain = env
        .run_aws(
            moto.port,
            &[
                "create",
                "--user",
                "plain",
                "--to",
                &r,
                "-o",
                &env.p("plain.age"),
            ],
        )
        .ok();
    // every line is plain progress, and there are lines (or `all` checks nothing)
    assert!(
        plain.stderr.contains("• CreateAccessKey"),
        "{}",
        plain.stderr
    );
    assert!(
        plain.stderr.lines().all(|l| l.starts_with("• ")),
        "{}",
        plain.stderr
    );
    assert!(!plain.stderr.contains('\u{1b}'));
    let quiet = env
        .run_aws(
            moto.port,
            &[
                "create",
                "--user",
                "quiet",
                "--to",
                &r,
                "-o",
                &env.p("quiet.age"),
                "--quiet",
            ],
        )
        .ok();
    assert_eq!(quiet.stderr, "");
}

#[test]
fn a_users_deny_date_is_kept_said_and_moved_only_on_request() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    let create = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "create",
            "--user",
            "exp",
            "--no-policy",
            "--to",
            &r,
            "-o",
            out,
        ];
        args.extend_from_slice(extra);
        env.run_aws(moto.port, &args)
    };
    let expiration = |bundle: &str| -> Option<String> {
        let out = env.run(&["open", bundle, "-i", &id, "--json"]).ok();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["Expiration"].as_str().map(str::to_string)
    };
    let (a, b, c) = (env.p("a.age"), env.p("b.age"), env.p("c.age"));
    create(&a, &["--expires", "30m"]).ok();
    let first = expiration(&a).expect("the first bundle has its expiry");
    // Without --expires: the new key ends at the same date, and its bundle says so
    // (the policy document comes back from IAM as IAM encodes it).
    let run = create(&b, &["--access-key"]).ok();
    assert!(
        run.stderr
            .contains("handoff-expiry denies everything after"),
        "{}",
        run.stderr
    );
    assert_eq!(expiration(&b).as_deref(), Some(first.as_str()));
    // Moving the date for every key of the user needs --replace-expiry; refused first.
    let _ = std::fs::remove_file(&c);
    let run = create(&c, &["--expires", "2h", "--console-password"]).fails(11);
    assert!(run.stderr.contains("--replace-expiry"), "{}", run.stderr);
    assert_eq!(
        moto.access_key_ids("exp").len(),
        2,
        "refused, yet a key was made"
    );
    // With it, the date moves (a password this time: the user has two keys).
    let moved = ["--expires", "2h", "--replace-expiry", "--console-password"];
    create(&c, &moved).ok();
    let out = sh("age", &["-d", "-i", &id, &c], env.dir.path());
    let payload: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let later: jiff::Timestamp = payload["expires_at"].as_str().unwrap().parse().unwrap();
    let first: jiff::Timestamp = first.parse().unwrap();
    assert!(later > first, "{later} is not after {first}");
}

#[test]
fn revoke_of_another_users_key_names_the_owner_and_a_missing_key_is_gone() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    for user in ["alice", "bob"] {
        let out = env.p(&format!("{user}.age"));
        let create = [
            "create",
            "--user",
            user,
            "--no-policy",
            "--to",
            &r,
            "-o",
            &out,
        ];
        env.run_aws(moto.port, &create).ok();
    }
    let bobs = moto.access_key_ids("bob").remove(0);
    let run = env
        .run_aws(
            moto.port,
            &[
                "revoke",
                "--user",
                "alice",
                "--access-key-id",
                &bobs,
                "--yes",
            ],
        )
        .fails(11);
    let command = format!("handoff revoke --user bob --access-key-id {bobs}");
    assert!(
        run.stderr
            .contains(&format!("hint: revoke it there: {command}\n")),
        "{}",
        run.stderr
    );
    assert_eq!(moto.access_key_ids("bob"), vec![bobs.clone()]);
    // As printed (+ --yes): the key goes.
    let words: Vec<&str> = command.split(' ').skip(1).chain(["--yes"]).collect();
    env.run_aws(moto.port, &words).ok();
    assert!(moto.access_key_ids("bob").is_empty());
    // A well-formed id IAM does not know: "already gone" because IAM says so.
    let run = env
        .run_aws(
            moto.port,
            &[
                "revoke",
                "--user",
                "alice",
                "--access-key-id",
                "AKIAAAAAAAAAAAAAAAAA",
                "--yes",
            ],
        )
        .ok();
    assert!(
        run.stderr.contains("(IAM has no such key)"),
        "{}",
        run.stderr
    );
    assert_eq!(moto.access_key_ids("alice").len(), 1);
}

#[test]
fn a_create_that_cannot_keep_its_journal_changes_nothing() {
    // The journal is written before the first change: where it cannot be (a full disk,
    // here a file-size limit of 0), nothing is changed in IAM.
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let mut c = env.cmd();
    env.aws_env(&mut c, moto.port);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -f 0; exec \"$0\" \"$@\"")
        .arg(c.get_program())
        .args(["create", "--to", &r, "-o", &env.p("b.age")])
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(env.dir.path());
    let run = Run::from_output(sh.output().unwrap()).fails(5);
    assert!(
        run.stderr.contains("cannot write a journal in"),
        "{}",
        run.stderr
    );
    assert!(!moto.user_exists("mgmt-org-admin"));
    let journals = env.path(".local/state/handoff");
    let left = std::fs::read_dir(&journals).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        left,
        0,
        "a partial journal was left in {}",
        journals.display()
    );
}

#[test]
fn a_user_handoff_did_not_create_is_adopted_only_when_asked_and_revoke_says_so() {
    // Someone's existing user (made here with the raw API, untagged): create refuses to
    // make it an admin without --adopt, and revoke says whose user it strips.
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let (status, body) = moto.iam("CreateUser", &[("UserName", "theirs")]);
    assert_eq!(status, 200, "{body}");
    let out = env.p("t.age");
    let args = ["create", "--user", "theirs", "--to", &r, "-o", &out];
    let run = env.run_aws(moto.port, &args).fails(11);
    assert!(
        run.stderr.contains(
            "user theirs exists and handoff did not create it (it has no created-by=handoff tag)"
        ) && run.stderr.contains("hint: pass --adopt"),
        "{}",
        run.stderr
    );
    assert!(moto.access_key_ids("theirs").is_empty());
    // Found by the issue-13 attack review (F9): with nothing to attach, a key, a
    // password and a deny date still went onto their user without a word.
    let quiet = [
        "create",
        "--user",
        "theirs",
        "--no-policy",
        "--access-key",
        "--console-password",
        "--expires",
        "1h",
        "--to",
        &r,
        "-o",
        &out,
    ];
    let run = env.run_aws(moto.port, &quiet).fails(11);
    assert!(
        run.stderr
            .contains("a new access key, a console password would change an existing identity"),
        "{}",
        run.stderr
    );
    let untouched = |moto: &Moto| {
        assert!(moto.access_key_ids("theirs").is_empty());
        assert!(!moto.has_login_profile("theirs"));
        let (_, policies) = moto.iam("ListUserPolicies", &[("UserName", "theirs")]);
        assert!(!policies.contains("handoff-expiry"), "{policies}");
    };
    untouched(&moto);
    // On a terminal it asks: a no changes nothing (exit 10), a yes goes ahead.
    let mut c = env.cmd();
    env.aws_env(&mut c, moto.port);
    c.args(quiet);
    // A terminal that shows a spinner.
    c.env("TERM", "xterm-256color");
    let a_second = std::time::Duration::from_secs(1);
    if let Some(run) = on_terminal_typing_after(&c, "n\n", a_second) {
        assert_eq!(run.code, 10, "{}", run.stdout);
        // Found by the second review: the spinner's redraws erased the question while
        // it waited for the answer.
        let asked = run.stdout.split("[y/N] ").nth(1).unwrap_or_default();
        let before_answer = asked.split('n').next().unwrap_or_default();
        assert!(
            !before_answer.contains("talking to AWS") && !before_answer.contains('\r'),
            "{:?}",
            run.stdout
        );
        assert!(
            run.stdout.contains("User theirs exists and handoff did not create it (no created-by=handoff tag). Go ahead with a deny date (handoff-expiry, ")
                && run.stdout.contains("nothing was changed on theirs"),
            "{}",
            run.stdout
        );
        untouched(&moto);
        let run = on_terminal(&c, "y\n").unwrap();
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(moto.access_key_ids("theirs").len(), 1);
        assert!(moto.has_login_profile("theirs"));
        env.run_aws(moto.port, &["revoke", "--user", "theirs", "--yes"])
            .ok();
        std::fs::remove_file(&out).unwrap();
    }
    let mut adopt = args.to_vec();
    adopt.push("--adopt");
    let run = env.run_aws(moto.port, &adopt).ok();
    assert!(run.stderr.contains("--adopt: attaching"), "{}", run.stderr);
    assert_eq!(moto.access_key_ids("theirs").len(), 1);
    let run = env
        .run_aws(
            moto.port,
            &["revoke", "--user", "theirs", "--delete-user", "--yes"],
        )
        .ok();
    assert!(
        run.stderr.contains("handoff did not create user theirs"),
        "{}",
        run.stderr
    );
    assert!(!moto.user_exists("theirs"));
}

#[test]
fn two_concurrent_deny_dates_for_one_user_keep_the_winners_and_the_loser_changes_nothing() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    // Found by the third attack review of issue 12: the second run planned before the
    // first wrote its deny date, checked before it landed, then overwrote it.
    let tagged = [
        ("UserName", "race"),
        ("Tags.member.1.Key", "created-by"),
        ("Tags.member.1.Value", "handoff"),
    ];
    assert_eq!(moto.iam("CreateUser", &tagged).0, 200);
    // The first run's PutUserPolicy waits a second before it reaches moto: the second
    // run plans meanwhile and sees no deny date.
    let proxy = Proxy::start(moto.port);
    proxy.fail("PutUserPolicy", Fault::Slow);
    let spawn = |out: &str, expires: &str| {
        let mut c = env.cmd();
        env.aws_env(&mut c, proxy.port);
        c.args([
            "create",
            "--user",
            "race",
            "--no-policy",
            "--expires",
            expires,
            "--to",
            &r,
            "-o",
            out,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
    };
    let (a, b) = (env.p("a.age"), env.p("b.age"));
    let first = spawn(&a, "24h");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = spawn(&b, "168h");
    let first = Run::from_output(first.wait_with_output().unwrap());
    let second = Run::from_output(second.wait_with_output().unwrap());
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(second.code, 11, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("the handoff-expiry policy of user race changed while this run was starting"),
        "{}",
        second.stderr
    );
    // The loser made nothing: one key, the winner's, and the winner's date on the user.
    assert_eq!(moto.access_key_ids("race").len(), 1);
    assert!(!std::path::Path::new(&b).exists());
    let opened = env.run(&["open", &a, "-i", &id, "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&opened.stdout).unwrap();
    let date = v["Expiration"].as_str().unwrap().to_string();
    let (_, policy) = moto.iam(
        "GetUserPolicy",
        &[("UserName", "race"), ("PolicyName", "handoff-expiry")],
    );
    let policy = policy.replace("%3A", ":");
    assert!(policy.contains(&date), "{date} not in {policy}");
}
