//! Signals are a failure like any other (issue 12): SIGINT, SIGTERM and SIGHUP at each
//! change step of create, rotation and revoke, sent by the debug-only
//! `HANDOFF_TEST_SIGNAL=POINT:SIG` right after that step's answer arrived (the worst
//! moment: the change is made, not yet journalled), and once for real, by this test,
//! while a slowed CreateAccessKey is in flight. Each run: the exit code (128 + the
//! signal), what stderr says, and IAM's state afterwards, read with raw queries.

use std::process::Stdio;

use crate::keyring::Keyring;
use crate::moto::*;
use crate::support::*;

const SIGNALS: [(&str, i32, &str); 3] = [
    ("INT", 130, "SIGINT (Ctrl-C)"),
    ("TERM", 143, "SIGTERM"),
    ("HUP", 129, "SIGHUP (the terminal closed)"),
];

/// Every change step of a create with a key, a password and an expiry.
const CREATE_STEPS: [&str; 5] = [
    "CreateUser",
    "AttachUserPolicy",
    "PutUserPolicy",
    "CreateAccessKey",
    "CreateLoginProfile",
];

fn setup() -> Option<(TestEnv, Moto, String, String)> {
    let moto = Moto::start_authed()?;
    let env = TestEnv::new();
    env.sign_with(&moto);
    let (id, r) = env.keygen("key.txt");
    Some((env, moto, id, r))
}

/// handoff with `args` against moto, signalled as `spec` says.
fn signalled(env: &TestEnv, port: u16, spec: &str, args: &[&str]) -> Run {
    let mut c = env.cmd();
    env.aws_env(&mut c, port);
    c.env("HANDOFF_TEST_SIGNAL", spec).args(args);
    Run::from_output(c.output().unwrap())
}

#[test]
fn a_signal_at_any_create_step_rolls_back_everything_the_run_made() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let mut runs = 0;
    for (sig, code, name) in SIGNALS {
        for step in CREATE_STEPS {
            runs += 1;
            let user = format!("s{runs}");
            let out = env.p(&format!("{user}.age"));
            let args = [
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
            ];
            let run = signalled(&env, moto.port, &format!("{step}:{sig}"), &args);
            assert_eq!(run.code, code, "{sig} at {step}: {}", run.stderr);
            assert!(
                run.stderr
                    .contains(&format!("handoff: error: stopped by {name} before ")),
                "{sig} at {step}: {}",
                run.stderr
            );
            assert!(
                run.stderr.contains("rolled back: ")
                    && run.stderr.contains("deleted the user it created"),
                "{sig} at {step}: {}",
                run.stderr
            );
            assert!(!moto.user_exists(&user), "{sig} at {step}: user left");
            assert!(
                !env.path(&format!("{user}.age")).exists(),
                "{sig} at {step}"
            );
        }
    }
    eprintln!("signals: {runs} create runs interrupted, 0 users left");
}

#[test]
fn on_a_reused_user_a_signal_removes_only_what_the_run_made() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let first = [
        "create",
        "--user",
        "boot",
        "--to",
        &r,
        "-o",
        &env.p("a.age"),
    ];
    env.run_aws(moto.port, &first).ok();
    let before = moto.access_key_ids("boot");
    let second = [
        "create",
        "--user",
        "boot",
        "--to",
        &r,
        "-o",
        &env.p("b.age"),
    ];
    let run = signalled(&env, moto.port, "CreateAccessKey:TERM", &second);
    assert_eq!(run.code, 143, "{}", run.stderr);
    assert_eq!(moto.access_key_ids("boot"), before);
    let (_, attached) = moto.iam("ListAttachedUserPolicies", &[("UserName", "boot")]);
    assert!(attached.contains("AdministratorAccess"), "{attached}");
}

#[test]
fn a_signal_during_the_last_change_lets_the_run_finish() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    let out = env.p("b.age");
    let run = signalled(
        &env,
        moto.port,
        "bundle:INT",
        &["create", "--to", &r, "-o", &out],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("handoff: SIGINT (Ctrl-C) came during the last change, which completed: the run finished"),
        "{}",
        run.stderr
    );
    env.run(&["open", &out, "-i", &id, "--json"]).ok();
    assert_eq!(moto.access_key_ids("mgmt-org-admin").len(), 1);
}

#[test]
fn a_second_signal_says_what_would_be_left_and_a_third_stops_at_once() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let args = |user: &'static str, out: String| {
        vec![
            "create".to_string(),
            "--user".into(),
            user.into(),
            "--to".into(),
            r.clone(),
            "-o".into(),
            out,
        ]
    };
    // Two: the rollback goes on to the end.
    let a = args("two", env.p("two.age"));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let run = signalled(&env, moto.port, "CreateAccessKey:INT,undo:INT", &a);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "handoff: SIGINT (Ctrl-C) again: the rollback goes on (stopping now would leave "
        ),
        "{}",
        run.stderr
    );
    assert!(!moto.user_exists("two"));
    // Three: stops at once, names what is left and the command that removes it.
    let a = args("three", env.p("three.age"));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let run = signalled(&env, moto.port, "CreateAccessKey:INT,undo:INT,undo:INT", &a);
    assert_eq!(run.code, 130, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("handoff: stopped at once by SIGINT (Ctrl-C), leaving "))
        .unwrap_or_else(|| panic!("{}", run.stderr))
        .to_string();
    assert!(
        moto.user_exists("three"),
        "the third signal stopped nothing"
    );
    let command = line
        .split_once("clean up with: handoff recover (or: ")
        .unwrap()
        .1
        .trim_end_matches(')');
    assert_eq!(command, "handoff revoke --user three --delete-user --yes");
    // The printed command does what it says.
    let words: Vec<&str> = command.split(' ').skip(1).collect();
    env.run_aws(moto.port, &words).ok();
    assert!(!moto.user_exists("three"));
}

/// handoff with `args` through `proxy`, which holds CreateAccessKey for a second;
/// returns once that call is in flight.
fn in_flight(
    env: &TestEnv,
    proxy: &Proxy,
    args: &[&str],
) -> (std::process::Child, rustix::process::Pid) {
    proxy.fail("CreateAccessKey", Fault::Slow);
    let mut c = env.cmd();
    env.aws_env(&mut c, proxy.port);
    let child = c
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        std::time::Duration::from_secs(20),
        "CreateAccessKey reached the proxy",
        || proxy.count("CreateAccessKey") == 1,
    );
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    (child, pid)
}

#[test]
fn a_real_sigterm_while_create_access_key_is_in_flight_is_rolled_back() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let proxy = Proxy::start(moto.port);
    let (child, pid) = in_flight(&env, &proxy, &["create", "--to", &r, "-o", &env.p("b.age")]);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let run = Run::from_output(child.wait_with_output().unwrap());
    assert_eq!(run.code, 143, "{}", run.stderr);
    assert!(
        run.stderr.contains("rolled back: deleted access key"),
        "{}",
        run.stderr
    );
    assert!(!moto.user_exists("mgmt-org-admin"));
    assert!(!env.path("b.age").exists());
}

#[test]
fn a_signal_after_the_keychain_step_removes_the_item_again() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let Some(k) = Keyring::start() else { return };
    let mut c = env.cmd();
    env.aws_env(&mut c, moto.port);
    c.envs(k.env())
        .env("HANDOFF_TEST_SIGNAL", "keychain:HUP")
        .args([
            "create",
            "--keychain",
            "kc",
            "--to",
            &r,
            "-o",
            &env.p("b.age"),
        ]);
    let run = Run::from_output(c.output().unwrap());
    assert_eq!(run.code, 129, "{}", run.stderr);
    assert!(
        run.stderr.contains("removed kc from the keychain"),
        "{}",
        run.stderr
    );
    let list = k.run(&env, &["keychain", "list"]).ok();
    assert!(!list.stdout.contains("kc"), "{}", list.stdout);
    assert!(!moto.user_exists("mgmt-org-admin"));
}

/// A user with one key, and its bundle (`USER.age`), to rotate.
fn rotatable(env: &TestEnv, moto: &Moto, r: &str, user: &str) -> (String, Vec<String>) {
    let b = env.p(&format!("{user}.age"));
    let create = ["create", "--user", user, "--to", r, "-o", &b];
    env.run_aws(moto.port, &create).ok();
    (b, moto.access_key_ids(user))
}

#[test]
fn a_signal_during_rotation_leaves_exactly_one_working_key() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    for (sig, code, _) in SIGNALS {
        let user = format!("rot-{sig}");
        let (b, old) = rotatable(&env, &moto, &r, &user);
        // After the new key was made: it is deleted again, nothing is delivered.
        let csv = env.p(&format!("{user}.csv"));
        let open = ["open", &b, "-i", &id, "--rotate", "--csv", &csv];
        let run = signalled(&env, moto.port, &format!("CreateAccessKey:{sig}"), &open);
        assert_eq!(run.code, code, "{sig}: {}", run.stderr);
        assert!(
            run.stderr.contains("was deleted again"),
            "{sig}: {}",
            run.stderr
        );
        assert_eq!(moto.access_key_ids(&user), old, "{sig}");
        assert!(!env.path(&format!("{user}.csv")).exists());
        // After the delivery: the rotation finishes (the received key is deleted).
        let run = signalled(&env, moto.port, &format!("deliver:{sig}"), &open);
        assert_eq!(run.code, 0, "{sig}: {}", run.stderr);
        let now = moto.access_key_ids(&user);
        assert_eq!(now.len(), 1, "{sig}: {now:?}");
        assert_ne!(now, old, "{sig}");
        assert!(env.read(&format!("{user}.csv")).contains(&now[0]));
    }
}

#[test]
fn a_signal_during_revoke_stops_between_deletes_and_a_rerun_finishes() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let create = [
        "create",
        "--to",
        &r,
        "-o",
        &env.p("b.age"),
        "--console-password",
        "--access-key",
    ];
    env.run_aws(moto.port, &create).ok();
    let key = moto.access_key_ids("mgmt-org-admin").remove(0);
    let revoke = ["revoke", "--delete-user", "--yes"];
    let run = signalled(&env, moto.port, "delete:INT", &revoke);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "handoff: SIGINT (Ctrl-C) received: no new change will start; the one in flight finishes first\n\
             handoff: error: stopped by SIGINT (Ctrl-C) before deleting the console password (already deleted: access key {key})\n\
             hint: run the same command again to finish: revoke is safe to repeat\n"
        )
    );
    assert!(moto.has_login_profile("mgmt-org-admin"));
    env.run_aws(moto.port, &revoke).ok();
    assert!(!moto.user_exists("mgmt-org-admin"));
}

#[test]
fn a_hangup_with_stderr_gone_still_rolls_back() {
    // A closed terminal: SIGHUP, and every write to stderr fails. Messages are dropped;
    // the rollback must not be (eprintln! would panic halfway through it).
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = env.cmd();
    env.aws_env(&mut c, moto.port);
    let out = c
        .env("HANDOFF_TEST_SIGNAL", "CreateAccessKey:HUP")
        .args(["create", "--to", &r, "-o", &env.p("b.age")])
        .stderr(Stdio::from(writer))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(129));
    assert!(
        !moto.user_exists("mgmt-org-admin"),
        "the rollback stopped halfway"
    );
}

#[test]
fn after_a_sigkill_at_any_create_step_recover_leaves_nothing() {
    // SIGKILL cannot be caught: the durable journal (written before each change) is
    // what `handoff recover` undoes.
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    for (n, step) in CREATE_STEPS.into_iter().enumerate() {
        let user = format!("k{n}");
        let out = env.p(&format!("{user}.age"));
        let args = [
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
        ];
        let run = signalled(&env, moto.port, &format!("{step}:KILL"), &args);
        assert_eq!(run.code, -1, "{step}: not killed: {}", run.stderr);
        assert!(
            moto.user_exists(&user),
            "{step}: the kill came before any change"
        );
        // Any IAM-touching command now says so, with the command to run.
        let dry = env.run_aws(moto.port, &["recover", "--dry-run"]).ok();
        assert!(
            dry.stderr.contains("An interrupted `create`"),
            "{step}: {}",
            dry.stderr
        );
        let warned = env
            .run_aws(moto.port, &["revoke", "--user", "nobody-here", "--yes"])
            .ok();
        assert!(
            warned
                .stderr
                .contains("interrupted run(s) left changes in AWS")
                && warned.stderr.contains("handoff recover"),
            "{step}: {}",
            warned.stderr
        );
        let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
        assert!(run.stderr.contains("Recovered: "), "{step}: {}", run.stderr);
        assert!(!moto.user_exists(&user), "{step}: recover left the user");
        assert!(
            moto.access_key_ids(&user).is_empty(),
            "{step}: recover left a key"
        );
        // The journal is gone with it.
        let again = env.run_aws(moto.port, &["recover", "--yes"]).ok();
        assert!(
            again.stderr.contains("Nothing to recover"),
            "{step}: {}",
            again.stderr
        );
    }
    eprintln!(
        "signals: {} creates killed, recovered, 0 objects left",
        CREATE_STEPS.len()
    );
}

#[test]
fn after_a_sigkill_during_rotation_recover_leaves_exactly_one_working_key() {
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    for (point, keeps_new) in [("CreateAccessKey", false), ("deliver", true)] {
        let user = format!("rk-{point}");
        let (b, old) = rotatable(&env, &moto, &r, &user);
        let csv = env.p(&format!("{user}.csv"));
        let open = ["open", &b, "-i", &id, "--rotate", "--csv", &csv];
        let run = signalled(&env, moto.port, &format!("{point}:KILL"), &open);
        assert_eq!(run.code, -1, "{point}: not killed: {}", run.stderr);
        assert_eq!(
            moto.access_key_ids(&user).len(),
            2,
            "{point}: two keys after the kill"
        );
        let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
        assert!(
            run.stderr.contains("Recovered: "),
            "{point}: {}",
            run.stderr
        );
        let now = moto.access_key_ids(&user);
        assert_eq!(now.len(), 1, "{point}: {now:?}");
        if keeps_new {
            // Delivered: the rotation is finished, the received key is the one gone.
            assert_ne!(now, old, "{point}");
            assert!(env.read(&format!("{user}.csv")).contains(&now[0]));
        } else {
            assert_eq!(now, old, "{point}");
        }
    }
}

#[test]
fn recover_keeps_keys_that_later_runs_made() {
    // Found by the attack review: a journal's "keys before CreateAccessKey" line made
    // recover delete every key made since, including keys later runs had delivered.
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    let first = [
        "create",
        "--user",
        "shared",
        "--to",
        &r,
        "--console-password",
        "-o",
        &env.p("1.age"),
    ];
    // Killed after its key's id was journalled (a kill after the bundle is a
    // finished run).
    let run = signalled(&env, moto.port, "CreateLoginProfile:KILL", &first);
    assert_eq!(run.code, -1, "{}", run.stderr);
    let second = [
        "create",
        "--user",
        "shared",
        "--to",
        &r,
        "-o",
        &env.p("2.age"),
    ];
    env.run_aws(moto.port, &second).ok();
    let open = env
        .run(&["open", &env.p("2.age"), "-i", &id, "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&open.stdout).unwrap();
    let delivered = v["AccessKeyId"].as_str().unwrap().to_string();
    // The killed run's own key goes; the attachment stays, for the later run's key,
    // and recover says so (keeping it is the undo: exit 0).
    let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
    assert!(
        run.stderr.contains("Not undone: kept the attachment of arn:aws:iam::aws:policy/AdministratorAccess (not detached: access key"),
        "{}",
        run.stderr
    );
    assert!(moto.user_exists("shared"));
    // And the journal is done with: nothing is waiting.
    let again = env.run_aws(moto.port, &["recover", "--yes"]).ok();
    assert!(
        again.stderr.contains("Nothing to recover"),
        "{}",
        again.stderr
    );
    assert_eq!(
        moto.access_key_ids("shared"),
        vec![delivered],
        "recover deleted the key a later run delivered"
    );
}

#[test]
fn three_real_signals_while_a_call_is_in_flight_name_what_is_left() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let proxy = Proxy::start(moto.port);
    let (child, pid) = in_flight(
        &env,
        &proxy,
        &[
            "create",
            "--user",
            "busy",
            "--to",
            &r,
            "-o",
            &env.p("b.age"),
        ],
    );
    for _ in 0..3 {
        rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let run = Run::from_output(child.wait_with_output().unwrap());
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr.contains("handoff: stopped at once by SIGINT (Ctrl-C), leaving maybe an access key whose reply was lost, the attachment of arn:aws:iam::aws:policy/AdministratorAccess, user busy; clean up with: handoff recover"),
        "{}",
        run.stderr
    );
    let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
    assert!(run.stderr.contains("Recovered: "), "{}", run.stderr);
    assert!(!moto.user_exists("busy"));
}

/// A journal file in the test's state directory, as a run would have left it.
fn plant_journal(env: &TestEnv, name: &str, lines: &[String], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let dir = env.path(".local/state/handoff");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn header(account: &str, user: &str, port: u16) -> String {
    format!(
        r#"{{"v":1,"command":"create","user":"{user}","account":"{account}","profile":null,"region":null,"endpoint_url":"http://127.0.0.1:{port}","started":"2026-12-03T10:00:00Z","pid":1}}"#
    )
}

#[test]
fn a_damaged_foreign_or_planted_journal_is_not_undone_and_blocks_no_other() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let create = [
        "create",
        "--user",
        "victim",
        "--no-policy",
        "--to",
        &r,
        "-o",
        &env.p("v.age"),
    ];
    env.run_aws(moto.port, &create).ok();
    let keys = moto.access_key_ids("victim");
    // Damaged in the middle: the changes after the bad line are unknown.
    let damaged = [
        header("123456789012", "victim", moto.port),
        "not json".into(),
        r#""User""#.into(),
    ];
    plant_journal(&env, "run-1-1.jsonl", &damaged, 0o600);
    // Another account's.
    let foreign = [
        header("999999999999", "victim", moto.port),
        r#""User""#.into(),
    ];
    plant_journal(&env, "run-2-1.jsonl", &foreign, 0o600);
    // Readable by others: not one handoff wrote.
    let planted = [
        header("123456789012", "victim", moto.port),
        r#"{"LostKey":[]}"#.into(),
    ];
    plant_journal(&env, "run-3-1.jsonl", &planted, 0o644);
    // A real one after them all: still undone.
    let create = [
        "create",
        "--user",
        "k-late",
        "--to",
        &r,
        "-o",
        &env.p("late.age"),
    ];
    let run = signalled(&env, moto.port, "CreateUser:KILL", &create);
    assert_eq!(run.code, -1);
    let run = env.run_aws(moto.port, &["recover", "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("this journal cannot be trusted (line 2 does not parse"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the journal's changes are in account 999999999999"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("is not a 0600 file of yours"),
        "{}",
        run.stderr
    );
    assert!(
        !moto.user_exists("k-late"),
        "the real journal was blocked: {}",
        run.stderr
    );
    assert_eq!(
        moto.access_key_ids("victim"),
        keys,
        "a planted journal deleted a key"
    );
    assert!(
        env.path(".local/state/handoff/run-1-1.jsonl").exists(),
        "the damaged journal was removed"
    );
}

#[test]
fn a_journal_damaged_anywhere_is_kept_and_a_dry_run_removes_nothing() {
    let Some((env, moto, _, _)) = setup() else {
        return;
    };
    // A header that does not parse, with changes after it: damaged, not "before any
    // change".
    let bad_header = [
        header("123456789012", "victim", moto.port).replace(r#""pid":1"#, r#""pid":"1""#),
        r#""User""#.into(),
    ];
    plant_journal(&env, "run-4-1.jsonl", &bad_header, 0o600);
    // A line that is not UTF-8 in the middle: damaged too.
    plant_journal(
        &env,
        "run-5-1.jsonl",
        &[header("123456789012", "victim", moto.port)],
        0o600,
    );
    let mut bytes = std::fs::read(env.path(".local/state/handoff/run-5-1.jsonl")).unwrap();
    bytes.extend_from_slice(b"\"Us\xffer\"\n\"User\"\n");
    std::fs::write(env.path(".local/state/handoff/run-5-1.jsonl"), bytes).unwrap();
    // A FIFO under a journal's name must not hang anything.
    let fifo = env.path(".local/state/handoff/run-6-1.jsonl");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    // --dry-run changes nothing, and removes no journal.
    let names = |env: &TestEnv| {
        let mut v: Vec<String> = std::fs::read_dir(env.path(".local/state/handoff"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    let before = names(&env);
    let run = env.run_aws(moto.port, &["recover", "--dry-run"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_eq!(names(&env), before, "{}", run.stderr);
    let run = env.run_aws(moto.port, &["recover", "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_eq!(names(&env), before, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("this journal cannot be trusted (its first line does not parse"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("this journal cannot be trusted (line 2 does not parse (invalid"),
        "{}",
        run.stderr
    );
    // A header cut short with nothing after it is a run that died before any change:
    // removed by recover, but not by --dry-run.
    std::fs::remove_file(env.path(".local/state/handoff/run-6-1.jsonl")).unwrap();
    plant_journal(
        &env,
        "run-7-1.jsonl",
        &[r#"{"v":1,"comm"#.to_string()],
        0o600,
    );
    env.run_aws(moto.port, &["recover", "--dry-run"]);
    assert!(env.path(".local/state/handoff/run-7-1.jsonl").exists());
    env.run_aws(moto.port, &["recover", "--yes"]);
    assert!(!env.path(".local/state/handoff/run-7-1.jsonl").exists());
}

#[test]
fn recover_leaves_a_live_runs_journal_alone_and_says_so() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let proxy = Proxy::start(moto.port);
    let out = env.p("b.age");
    let (child, pid) = in_flight(
        &env,
        &proxy,
        &["create", "--user", "live", "--to", &r, "-o", &out],
    );
    // Held still while recover looks (a stopped process keeps its lock).
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
    rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
    assert!(
        run.stderr
            .contains("Nothing to recover now: 1 journal(s) belong to runs still going"),
        "{}",
        run.stderr
    );
    Run::from_output(child.wait_with_output().unwrap()).ok();
    assert!(moto.user_exists("live"), "recover undid a live run");
    assert_eq!(moto.access_key_ids("live").len(), 1);
}

#[test]
fn a_kill_after_the_last_delivery_leaves_a_finished_run_not_one_to_undo() {
    // Found by the attack review (F10): the journal outlived the bundle's write, so a
    // kill there made recover delete the key the complete bundle held. The journal now
    // goes as soon as the last destination has the credential.
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    let Some(k) = Keyring::start() else { return };
    let killed = |spec: &str, user: &str, args: &[&str]| {
        let mut c = env.cmd();
        env.aws_env(&mut c, moto.port);
        c.envs(k.env())
            .env("HANDOFF_TEST_SIGNAL", spec)
            .args(["create", "--user", user])
            .args(args);
        let run = Run::from_output(c.output().unwrap());
        assert_eq!(run.code, -1, "{spec}: not killed: {}", run.stderr);
    };
    let recover = || {
        let mut c = env.cmd();
        env.aws_env(&mut c, moto.port);
        c.envs(k.env()).args(["recover", "--yes"]);
        Run::from_output(c.output().unwrap()).ok()
    };
    // Killed right after the bundle was written: finished, the bundle works.
    let b = env.p("done.age");
    killed("bundle:KILL", "k-done", &["--to", &r, "-o", &b]);
    let run = recover();
    assert!(run.stderr.contains("Nothing to recover"), "{}", run.stderr);
    let opened = env.run(&["open", &b, "-i", &id, "--json"]).ok();
    let keys = moto.access_key_ids("k-done");
    assert_eq!(keys.len(), 1);
    assert!(opened.stdout.contains(&keys[0]), "{}", opened.stdout);
    // Killed after the keychain, when the keychain was the only destination: finished.
    killed("keychain:KILL", "k-kc", &["--keychain", "kc-only"]);
    assert!(recover().stderr.contains("Nothing to recover"));
    assert_eq!(moto.access_key_ids("k-kc").len(), 1);
    let list = k.run(&env, &["keychain", "list"]).ok();
    assert!(list.stdout.contains("kc-only"), "{}", list.stdout);
    // Killed after the keychain with the bundle still to write: nothing was delivered
    // where it was asked to be, so recover undoes it all, the keychain item too.
    killed(
        "keychain:KILL",
        "k-half",
        &[
            "--keychain",
            "kc-half",
            "--to",
            &r,
            "-o",
            &env.p("half.age"),
        ],
    );
    let run = recover();
    assert!(run.stderr.contains("Recovered: "), "{}", run.stderr);
    assert!(run.stderr.contains("kc-half"), "{}", run.stderr);
    assert!(!moto.user_exists("k-half"), "{}", run.stderr);
    let list = k.run(&env, &["keychain", "list"]).ok();
    assert!(!list.stdout.contains("kc-half"), "{}", list.stdout);
    assert!(!env.path("half.age").exists());
}

#[test]
fn a_signal_during_recover_stops_between_undos_and_a_rerun_finishes() {
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let create = [
        "create",
        "--user",
        "k-rec",
        "--to",
        &r,
        "--console-password",
        "--expires",
        "1d",
        "-o",
        &env.p("rec.age"),
    ];
    let run = signalled(&env, moto.port, "CreateLoginProfile:KILL", &create);
    assert_eq!(run.code, -1, "not killed: {}", run.stderr);
    for (sig, code, name) in SIGNALS {
        let run = signalled(
            &env,
            moto.port,
            &format!("recover:{sig}"),
            &["recover", "--yes"],
        );
        assert_eq!(run.code, code, "{sig}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{name} received: no new change will start")),
            "{sig}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains(&format!("stopped by {name} before undoing "))
                && run.stderr.contains("(already undone: ")
                && run
                    .stderr
                    .contains("hint: run handoff recover again to finish: it is safe to repeat"),
            "{sig}: {}",
            run.stderr
        );
        assert!(moto.user_exists("k-rec"), "{sig}: recover did not stop");
    }
    let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
    assert!(run.stderr.contains("Recovered: "), "{}", run.stderr);
    assert!(!moto.user_exists("k-rec"));
}

/// `create --user USER --to R -o OUT` as arguments.
fn create_args(env: &TestEnv, user: &str, r: &str, out: &str) -> Vec<String> {
    ["create", "--user", user, "--to", r, "-o", &env.p(out)]
        .map(String::from)
        .to_vec()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The access key id a bundle holds.
fn key_of_bundle(env: &TestEnv, bundle: &str, identity: &str) -> String {
    let opened = env
        .run(&["open", &env.p(bundle), "-i", identity, "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&opened.stdout).unwrap();
    v["AccessKeyId"].as_str().unwrap().to_string()
}

/// The journal files in the test's state directory.
fn journal_paths(env: &TestEnv) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(env.path(".local/state/handoff"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("run-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_lost_key_is_told_from_a_later_runs_key_on_this_machine() {
    // A run is killed after its CreateAccessKey, before its reply was journalled; the
    // user runs create again, which delivers a key. recover deletes only the killed
    // run's key, keeps the delivered one and the user it needs (the key ledger). Also
    // when the killed run's request never reached IAM: then the only new key is the
    // rerun's, and recover must not take it for the lost one.
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    for (user, reached) in [("rerun1", true), ("rerun2", false)] {
        let run = signalled(
            &env,
            moto.port,
            "CreateAccessKey:KILL",
            &strs(&create_args(&env, user, &r, "a.age")),
        );
        assert_eq!(run.code, -1, "not killed: {}", run.stderr);
        let lost = moto.access_key_ids(user);
        assert_eq!(lost.len(), 1);
        if !reached {
            let (status, body) = moto.iam(
                "DeleteAccessKey",
                &[("UserName", user), ("AccessKeyId", &lost[0])],
            );
            assert_eq!(status, 200, "{body}");
        }
        let b = format!("{user}-b.age");
        env.run_aws(moto.port, &strs(&create_args(&env, user, &r, &b)))
            .ok();
        let delivered = key_of_bundle(&env, &b, &id);
        let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
        assert_eq!(
            moto.access_key_ids(user),
            std::slice::from_ref(&delivered),
            "{user}: {}",
            run.stderr
        );
        assert!(moto.user_exists(user), "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "kept user {user} (not deleted: access key {delivered}, which this run did not make, is on the user"
            )),
            "{}",
            run.stderr
        );
        if reached {
            assert!(
                run.stderr
                    .contains(&format!("deleted access key {}", lost[0])),
                "{}",
                run.stderr
            );
        }
        assert!(journal_paths(&env).is_empty());
    }
}

#[test]
fn a_lost_key_that_cannot_be_told_from_another_machines_is_kept_and_named() {
    // Another machine (here the admin, straight to IAM) made a key on the user in the
    // killed run's minutes: either could be the lost one. recover deletes neither,
    // names both, says how to finish (exit 7), and keeps what the keys need.
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let run = signalled(
        &env,
        moto.port,
        "CreateAccessKey:KILL",
        &strs(&create_args(&env, "twice", &r, "1.age")),
    );
    assert_eq!(run.code, -1, "not killed: {}", run.stderr);
    let (status, body) = moto.iam("CreateAccessKey", &[("UserName", "twice")]);
    assert_eq!(status, 200, "{body}");
    let keys = moto.access_key_ids("twice");
    assert_eq!(keys.len(), 2);
    let run = env.run_aws(moto.port, &["recover", "--yes"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr.contains("which one cannot be told, so none was deleted")
            && keys.iter().all(|k| run.stderr.contains(k.as_str()))
            && run.stderr.contains("hint: delete the one no bundle or profile holds: handoff revoke --user twice --access-key-id ID --yes"),
        "{}",
        run.stderr
    );
    assert_eq!(moto.access_key_ids("twice"), keys);
    assert!(moto.user_exists("twice"));
    // Done with: a person finishes it, recover has nothing more to do.
    let again = env.run_aws(moto.port, &["recover", "--yes"]).ok();
    assert!(
        again.stderr.contains("Nothing to recover"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_lost_key_is_found_with_a_client_clock_minutes_off_or_a_slow_iam() {
    // The run's start is the client's clock, the key's date IAM's: SigV4 allows five
    // minutes between them, and a slow IAM takes minutes more. Simulated by moving the
    // journal's start.
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    for (user, minutes) in [("slow-clock", -4i64), ("fast-clock", 5), ("slow-iam", -25)] {
        let run = signalled(
            &env,
            moto.port,
            "CreateAccessKey:KILL",
            &strs(&create_args(&env, user, &r, "c.age")),
        );
        assert_eq!(run.code, -1, "not killed: {}", run.stderr);
        let [path] = journal_paths(&env).try_into().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let started = text
            .split(r#""started":""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let moved: jiff::Timestamp =
            started.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_mins(minutes);
        std::fs::write(&path, text.replace(started, &moved.to_string())).unwrap();
        let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
        assert!(!moto.user_exists(user), "{user}: {}", run.stderr);
        assert!(journal_paths(&env).is_empty());
    }
}

#[test]
fn a_lost_reply_while_another_run_waits_to_mint_deletes_only_its_own_key() {
    // Run A's CreateAccessKey reply is lost; it pauses before it lists the user's keys.
    // Run B (same machine, same user) waits for A to settle which key is its own
    // before it mints; A then deletes only its own key, and B's delivered key stays.
    // With a key made meanwhile on another machine, A cannot tell: it deletes none.
    let Some((env, moto, id, r)) = setup() else {
        return;
    };
    let proxy = Proxy::start(moto.port);
    proxy.fail("CreateAccessKey", Fault::LostReply);
    for (user, other_machine) in [("lostrace1", false), ("lostrace2", true)] {
        let mut a = env.cmd();
        env.aws_env(&mut a, proxy.port);
        a.env("HANDOFF_TEST_SIGNAL", "CreateAccessKey:STOP")
            .args(create_args(&env, user, &r, "a.age"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let a = a.spawn().unwrap();
        crate::support::wait_until_stopped(a.id());
        let b = if other_machine {
            let (status, body) = moto.iam("CreateAccessKey", &[("UserName", user)]);
            assert_eq!(status, 200, "{body}");
            None
        } else {
            let mut b = env.cmd();
            env.aws_env(&mut b, moto.port);
            b.args(create_args(&env, user, &r, "b.age"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let b = b.spawn().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1500));
            Some(b)
        };
        crate::support::resume(a.id());
        let a = Run::from_output(a.wait_with_output().unwrap());
        let b = b.map(|b| Run::from_output(b.wait_with_output().unwrap()));
        let keys = moto.access_key_ids(user);
        match b {
            Some(b) => {
                assert_eq!(a.code, 6, "{}", a.stderr);
                assert!(
                    b.stderr.contains(&format!(
                        "waiting for another handoff run that is making an access key or a deny date for user {user}"
                    )),
                    "{}",
                    b.stderr
                );
                // B may lose its user to A's rollback (it then rolls back too), or keep
                // it: either way every key left is the one B delivered.
                if b.code == 0 {
                    assert_eq!(keys, [key_of_bundle(&env, "b.age", &id)], "{}", a.stderr);
                } else {
                    assert!(keys.is_empty(), "{}\n{}", a.stderr, b.stderr);
                }
            }
            None => {
                assert_eq!(a.code, 7, "{}", a.stderr);
                assert_eq!(keys.len(), 2, "{}", a.stderr);
                assert!(
                    keys.iter().all(|k| a.stderr.contains(k.as_str())),
                    "{}",
                    a.stderr
                );
                assert!(moto.user_exists(user));
            }
        }
        env.run_aws(moto.port, &["recover", "--yes"]);
    }
}

#[test]
fn a_blocked_stderr_does_not_keep_the_third_signal_from_ending_the_run() {
    // Output paused (Ctrl-S) or a stopped pager: stderr blocks. The signal notices must
    // not block the thread that receives the signals, or no signal ends the run.
    let Some((env, moto, _, r)) = setup() else {
        return;
    };
    let (reader, writer) = std::io::pipe().unwrap();
    let pid = {
        let mut c = env.cmd();
        env.aws_env(&mut c, moto.port);
        c.env("HANDOFF_TEST_SIGNAL", "CreateUser:STOP")
            .args(create_args(&env, "blocked", &r, "b.age"))
            .stdout(Stdio::null())
            .stderr(writer);
        c.spawn().unwrap()
    };
    let mut child = pid;
    wait_until_stopped(child.id());
    // Empty the pipe, then fill it through a non-blocking description of its own, so
    // the run's next line to stderr blocks.
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    rustix::fs::fcntl_setfl(&reader, rustix::fs::OFlags::NONBLOCK).unwrap();
    let mut sink = [0u8; 65536];
    while (&reader).read(&mut sink).is_ok_and(|n| n > 0) {}
    let filler = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(format!("/proc/self/fd/{}", reader.as_raw_fd()))
        .unwrap();
    while (&filler).write(&sink).is_ok() {}
    resume(child.id());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    for _ in 0..3 {
        rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400));
    }
    wait_until(std::time::Duration::from_secs(10), "the run ends", || {
        child.try_wait().unwrap().is_some()
    });
    assert_eq!(child.wait().unwrap().code(), Some(130));
    drop(reader);
    let run = env.run_aws(moto.port, &["recover", "--yes"]).ok();
    assert!(!moto.user_exists("blocked"), "{}", run.stderr);
}
