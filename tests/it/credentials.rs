//! The credentials-file merge proven by its consumer: botocore (the AWS CLI's library)
//! reads files generated from a grammar of realistic and hostile lines before and after
//! `credentials_file::merge`, with `botocore.configloader.raw_config_parse`, many files
//! per Python run. Then the real AWS CLI reads a profile `handoff open` wrote.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use handoff::deliver::credentials_file::{MergeError, merge};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

use crate::support::*;

/// A Python that can import botocore (scripts/test's .venv, put first on PATH, has the
/// AWS CLI and so botocore). Missing: skip locally (printing why), fail under CI=true.
fn botocore_python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import botocore.configloader"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("python3 with botocore is required under CI=true: scripts/test provides it");
        }
        eprintln!("SKIPPED: python3 cannot import botocore (scripts/test's .venv has it)");
        return None;
    }
    Some("python3")
}

/// Reads `{dir}/{i}.before` and `{dir}/{i}.after` for each i with botocore; for each
/// file prints null (absent), {"error"} (botocore refuses it) or the sections
/// `raw_config_parse` returns and configparser's `[DEFAULT]` keys.
const READ_ALL: &str = r#"
import configparser, json, os, sys
import botocore.configloader as loader
d, n = sys.argv[1], int(sys.argv[2])
def read(path):
    if not os.path.exists(path):
        return None
    try:
        sections = loader.raw_config_parse(path)
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, getattr(e, "kwargs", {}).get("error", e))}
    cp = configparser.RawConfigParser()
    cp.read([path])
    return {"sections": sections, "defaults": dict(cp.defaults())}
json.dump([[read("%s/%d.%s" % (d, i, w)) for w in ("before", "after")] for i in range(n)], sys.stdout)
"#;

/// One generated case.
#[derive(Debug, Clone)]
struct Case {
    file: String,
    profile: String,
    key_id: String,
    secret: String,
    replace: bool,
}

/// A profile name handoff accepts (never DEFAULT), often one the lines below reuse.
fn profile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("default".to_string()),
        4 => "[A-Za-z0-9_.@+=,][A-Za-z0-9_.@+=,-]{0,12}",
    ]
    .prop_filter("DEFAULT is refused", |p| p != "DEFAULT")
}

/// A line (without its end), `P` standing for the profile being merged.
fn line() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => Just("P"),
        2 => Just("default"),
        2 => Just("other"),
        1 => Just(" P "),
        1 => Just("P "),
        1 => Just("P]b"),
        1 => Just("a]b"),
        1 => Just("DEFAULT"),
    ];
    let indent = prop_oneof![
        12 => Just(""),
        1 => Just(" "),
        1 => Just("  "),
        1 => Just("\t"),
        1 => Just("\u{c}"),
    ];
    let after_header = prop_oneof![
        6 => Just(""),
        1 => Just("x"),
        1 => Just(" ; note"),
        1 => Just("]"),
    ];
    let key = prop_oneof![
        Just("aws_access_key_id"),
        Just("aws_secret_access_key"),
        Just("aws_session_token"),
        Just("region"),
        Just("Region"),
        Just("s3"),
        Just("[P"),
        Just("k1"),
        Just("k2"),
        Just("k3"),
        Just("k4"),
        Just("k5"),
        Just("k6"),
    ];
    let delimiter = prop_oneof![Just(" = "), Just("="), Just(": "), Just(" :")];
    let value = prop_oneof![
        Just(""),
        Just("v"),
        Just("AKIAOLDOLDOLDOLD1234"),
        Just("x = 1"),
        Just("#not a comment"),
        Just("a ; b"),
        Just("[P]"),
    ];
    let comment = prop_oneof![
        Just("# a comment"),
        Just("; a comment"),
        Just("#[P]"),
        Just("# [P]"),
    ];
    let blank = prop_oneof![Just(""), Just("  "), Just("\t")];
    let hostile = prop_oneof![
        Just("= x"),
        Just("novalue"),
        Just("\u{feff}[P]"),
        Just("[]"),
        Just("[oops"),
        Just("\u{1c}[P]"),
        Just("k = 1\u{b}2"),
    ];
    prop_oneof![
        4 => (indent.clone(), name, after_header).prop_map(|(i, n, t)| format!("{i}[{n}]{t}")),
        6 => (indent.clone(), key, delimiter, value).prop_map(|(i, k, d, v)| format!("{i}{k}{d}{v}")),
        2 => (indent, comment).prop_map(|(i, c)| format!("{i}{c}")),
        2 => blank.prop_map(str::to_string),
        1 => hostile.prop_map(str::to_string),
    ]
}

/// A whole file: mostly starting with a header, line ends all LF, all CRLF or mixed
/// (with bare CRs), with or without a final line end.
fn file() -> impl Strategy<Value = String> {
    let ends = prop_oneof![
        3 => Just(vec!["\n"]),
        2 => Just(vec!["\r\n"]),
        1 => Just(vec!["\n", "\r\n", "\r"]),
    ];
    (
        prop::bool::weighted(0.85),
        prop::collection::vec((line(), 0..3usize), 0..14),
        ends,
        prop::bool::weighted(0.8),
    )
        .prop_map(|(header, lines, ends, final_end)| {
            let mut out = String::new();
            if header {
                out.push_str("[first]\n");
            }
            for (i, (l, e)) in lines.iter().enumerate() {
                out.push_str(l);
                if i + 1 < lines.len() || final_end {
                    out.push_str(ends[e % ends.len()]);
                }
            }
            out
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        file(),
        profile_name(),
        "(AKIA|ASIA)[A-Z0-9]{16}",
        "[A-Za-z0-9/+]{40}",
        prop::bool::weighted(0.7),
    )
        .prop_map(|(file, profile, key_id, secret, replace)| Case {
            file: file.replace('P', &profile),
            profile,
            key_id,
            secret,
            replace,
        })
}

/// The `line`th line (1-based) as Python reads lines: ends at "\r\n", "\r" or "\n".
fn python_line(text: &str, line: usize) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .nth(line - 1)
        .unwrap_or("")
        .to_string()
}

/// Checks one case against botocore's readings of the file before and after; returns
/// which outcome it was.
fn check(
    case: &Case,
    merged: &Result<String, MergeError>,
    before: &Value,
    after: &Value,
) -> Result<String, String> {
    let p = case.profile.as_str();
    let sections = |v: &Value| v["sections"].as_object().cloned().unwrap_or_default();
    let readable = before.get("error").is_none();
    match merged {
        Ok(_) => {
            if !readable {
                return Err(format!(
                    "merged a file botocore cannot read: {}",
                    before["error"]
                ));
            }
            if let Some(e) = after.get("error") {
                return Err(format!("botocore cannot read the merged file: {e}"));
            }
            let (was, is) = (sections(before), sections(after));
            if was.contains_key(p) && !case.replace {
                return Err("replaced an existing profile without replace".into());
            }
            let want: BTreeMap<&str, &str> = [
                ("aws_access_key_id", case.key_id.as_str()),
                ("aws_secret_access_key", case.secret.as_str()),
            ]
            .into();
            let got: BTreeMap<&str, &str> = is
                .get(p)
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("<not a string>")))
                        .collect()
                })
                .unwrap_or_default();
            if got != want {
                return Err(format!("botocore reads [{p}] as {got:?}"));
            }
            for (name, v) in &was {
                if name != p && is.get(name) != Some(v) {
                    return Err(format!(
                        "section {name:?} read {v} before and {:?} after",
                        is.get(name)
                    ));
                }
            }
            if is.keys().any(|k| k != p && !was.contains_key(k)) {
                return Err(format!(
                    "new sections appeared: {:?}",
                    is.keys().collect::<Vec<_>>()
                ));
            }
            if before["defaults"] != after["defaults"] {
                return Err("[DEFAULT] changed".into());
            }
            Ok(if was.contains_key(p) {
                "replaced"
            } else {
                "added"
            }
            .into())
        }
        // Refused: botocore fails on the whole file (any line we point at).
        Err(MergeError::Unreadable(_, why)) if !readable => {
            Ok(format!("refused: botocore cannot read the file ({why:?})"))
        }
        // Refused: the profile is there and replacing was not asked for.
        Err(MergeError::Exists)
            if readable && !case.replace && sections(before).contains_key(p) =>
        {
            Ok("refused: exists".into())
        }
        // Refused: [DEFAULT] holds a key other than ours, which [P] would inherit.
        Err(MergeError::Inherits(_))
            if readable
                && before["defaults"].as_object().is_some_and(|d| {
                    d.keys()
                        .any(|k| k != "aws_access_key_id" && k != "aws_secret_access_key")
                }) =>
        {
            Ok("refused: [DEFAULT] keys would be inherited".into())
        }
        // Refused: the header after [P] is indented, so after our unindented last line
        // botocore would read it as a continuation of the secret.
        Err(MergeError::IndentedHeader(n))
            if readable && case.replace && sections(before).contains_key(p) && {
                let l = python_line(&case.file, *n);
                l.trim_start() != l && l.trim_start().starts_with('[')
            } =>
        {
            Ok("refused: indented header after the profile".into())
        }
        Err(e) => Err(format!(
            "refused with {e:?}, but botocore read the file as {before}"
        )),
    }
}

#[test]
fn botocore_reads_every_merge_as_the_new_profile_and_the_rest_unchanged() {
    let Some(python) = botocore_python() else {
        return;
    };
    let seed: u64 = std::env::var("CREDENTIALS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let n: usize = std::env::var("CREDENTIALS_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = case();
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::with_capacity(n);
    for i in 0..n {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        let entries = [
            ("aws_access_key_id", case.key_id.as_str()),
            ("aws_secret_access_key", case.secret.as_str()),
        ];
        let merged =
            merge(&case.file, &case.profile, &entries, case.replace).map(|m| m.to_string());
        std::fs::write(dir.path().join(format!("{i}.before")), &case.file).unwrap();
        if let Ok(m) = &merged {
            std::fs::write(dir.path().join(format!("{i}.after")), m).unwrap();
        }
        cases.push((case, merged));
    }
    let out = Command::new(python)
        .args(["-c", READ_ALL, dir.path().to_str().unwrap(), &n.to_string()])
        .env("PYTHONUTF8", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Vec<[Value; 2]> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(n > 0, "CREDENTIALS_CASES=0: no case to check");
    assert_eq!(read.len(), n, "botocore read every case");
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for ((case, merged), [before, after]) in cases.iter().zip(&read) {
        match check(case, merged, before, after) {
            Ok(kind) => *outcomes.entry(kind).or_default() += 1,
            Err(why) => failures.push(format!("{why}\n  {case:?}\n  merged: {merged:?}")),
        }
    }
    eprintln!("{n} cases (CREDENTIALS_SEED={seed}): {outcomes:?}");
    assert!(
        failures.is_empty(),
        "{} of {n} cases disagree with botocore (CREDENTIALS_SEED={seed}):\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let count = |kind: &str| -> usize {
        outcomes
            .iter()
            .filter(|(k, _)| k.starts_with(kind))
            .map(|(_, n)| n)
            .sum()
    };
    assert!(
        count("added") + count("replaced") >= n / 3,
        "too few merges to prove much: {outcomes:?}"
    );
    for kind in [
        "added",
        "replaced",
        "refused: botocore cannot read",
        "refused: exists",
    ] {
        assert!(count(kind) > 0, "no case was {kind:?}: {outcomes:?}");
    }
}

/// `aws configure get KEY --profile P` with the test's files.
fn aws_get(env: &TestEnv, credentials: &str, key: &str, profile: &str) -> Run {
    Run::from_output(
        Command::new("aws")
            .args(["configure", "get", key, "--profile", profile])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", env.dir.path())
            .env("AWS_SHARED_CREDENTIALS_FILE", credentials)
            .env("AWS_CONFIG_FILE", env.path("aws-config"))
            .output()
            .unwrap(),
    )
}

#[test]
fn the_aws_cli_reads_the_profile_open_wrote_into_a_file_the_old_merge_got_wrong() {
    if !have("aws") {
        return;
    }
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    // Bare-CR line ends; "[ boot ]" is the profile " boot "; the indented "[boot]" is
    // part of the value of `note`. The old merge took either for [boot].
    let before = "[default]\raws_access_key_id = AKIAOLDOLDOLDOLD1234\raws_secret_access_key = old\r\r[ boot ]\rk = 1\r[other]\rnote = x\r  [boot]\r";
    env.write("aws-credentials", before);
    env.run(&["open", &b, "-i", &id, "--aws-profile", "boot"])
        .ok()
        .no_secret(SECRET);
    let after = env.read("aws-credentials");
    assert!(after.starts_with(before), "{after:?}");
    let file = env.p("aws-credentials");
    assert_eq!(
        aws_get(&env, &file, "aws_secret_access_key", "boot")
            .ok()
            .stdout,
        format!("{SECRET}\n")
    );
    assert_eq!(
        aws_get(&env, &file, "aws_access_key_id", "boot")
            .ok()
            .stdout,
        format!("{KEY_ID}\n")
    );
    assert_eq!(
        aws_get(&env, &file, "aws_secret_access_key", "default")
            .ok()
            .stdout,
        "old\n"
    );
    assert_eq!(
        aws_get(&env, &file, "note", "other").ok().stdout,
        "x\n[boot]\n"
    );
    // and again with --force: the same file
    env.run(&["open", &b, "-i", &id, "--aws-profile", "boot", "--force"])
        .ok();
    assert_eq!(env.read("aws-credentials"), after);
}

#[test]
fn a_tilde_in_aws_shared_credentials_file_is_expanded_as_the_aws_cli_does() {
    if !have("aws") {
        return;
    }
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let mut cmd = env.cmd();
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", "~/creds/file")
        .args(["open", &b, "-i", &id, "--aws-profile", "boot"]);
    Run::from_output(cmd.output().unwrap())
        .ok()
        .no_secret(SECRET);
    assert!(env.path("creds/file").is_file());
    assert!(!env.path("~").exists());
    let got = aws_get(&env, "~/creds/file", "aws_secret_access_key", "boot").ok();
    assert_eq!(got.stdout, format!("{SECRET}\n"));
}

#[test]
fn an_empty_aws_shared_credentials_file_is_refused_as_the_aws_cli_reads_no_file() {
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let mut cmd = env.cmd();
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", "").args([
        "open",
        &b,
        "-i",
        &id,
        "--aws-profile",
        "boot",
    ]);
    let run = Run::from_output(cmd.output().unwrap())
        .fails(5)
        .no_secret(SECRET);
    assert!(
        run.stderr.contains(
            "error: AWS_SHARED_CREDENTIALS_FILE is set but empty, so AWS tools read no credentials file\n\
             hint: unset AWS_SHARED_CREDENTIALS_FILE to use ~/.aws/credentials, or set it to a file"
        ),
        "{}",
        run.stderr
    );
    assert!(!env.path(".aws").exists());
    if have("aws") {
        // what the AWS CLI does with it: reads no credentials file at all
        std::fs::create_dir(env.path(".aws")).unwrap();
        env.write(".aws/credentials", "[boot]\naws_access_key_id = x\n");
        let got = aws_get(&env, "", "aws_access_key_id", "boot");
        assert_ne!(got.code, 0, "{}", got.stdout);
    }
}

#[test]
fn concurrent_profile_writes_all_land_and_none_is_refused() {
    // Two `open --aws-profile` at once on one credentials file, 50 times: each waits
    // for the other (a lock beside the file), so both profiles are there every time.
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let file = env.path("aws-credentials");
    for i in 0..50 {
        let _ = std::fs::remove_file(&file);
        let (a, c) = (format!("a{i}"), format!("c{i}"));
        let spawn = |profile: &str| {
            env.cmd()
                .args(["open", &b, "-i", &id, "--aws-profile", profile])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (first, second) = (spawn(&a), spawn(&c));
        for child in [first, second] {
            let run = Run::from_output(child.wait_with_output().unwrap());
            assert_eq!(run.code, 0, "iteration {i}: {}", run.stderr);
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(&format!("[{a}]")) && text.contains(&format!("[{c}]")),
            "iteration {i}: a profile was lost:\n{text}"
        );
    }
}

#[test]
fn credentials_file_writes_another_file_made_private_and_the_aws_cli_reads_it() {
    // Issue 14, item 3: Leverage keeps a project's keys in ~/.aws/PROJECT/credentials.
    if !have("aws") {
        return;
    }
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let file = env.path(".aws/le/credentials");
    let file_arg = file.display().to_string();
    let args = [
        "open",
        &b,
        "-i",
        &id,
        "--aws-profile",
        "le-bootstrap",
        "--credentials-file",
        &file_arg,
    ];
    let run = env.run(&args).ok();
    assert!(
        run.stderr.contains(&format!(
            "Try: AWS_SHARED_CREDENTIALS_FILE={file_arg} aws sts get-caller-identity --profile le-bootstrap"
        )),
        "{}",
        run.stderr
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&env.path(".aws/le")), 0o700);
    assert_eq!(mode(&env.path(".aws")), 0o700);
    // The default file is untouched; the AWS CLI reads the key from the one named.
    assert!(!env.path("aws-credentials").exists());
    for (key, want) in [
        ("aws_access_key_id", KEY_ID),
        ("aws_secret_access_key", SECRET),
    ] {
        let got = aws_get(&env, &file_arg, key, "le-bootstrap").ok();
        assert_eq!(got.stdout.trim(), want);
    }
    // The profile is there now: replacing it needs --force, as in the default file.
    let again = env.run(&args).fails(5);
    assert!(again.stderr.contains("le-bootstrap"), "{}", again.stderr);
    let mut forced = args.to_vec();
    forced.push("--force");
    env.run(&forced).ok();
    // Without --aws-profile, or with --rotate, the flag is refused by the command line.
    env.run(&["open", &b, "-i", &id, "--credentials-file", &file_arg])
        .fails(2);
    let mut rotate = args.to_vec();
    rotate.push("--rotate");
    env.run(&rotate).fails(2);
}

#[test]
fn the_lock_beside_the_credentials_file_is_never_followed_through_a_link() {
    // Review 2: a planted FILE.lock link made handoff create a file at its target.
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let dir = env.path("lk");
    std::fs::create_dir(&dir).unwrap();
    let target = env.path("created-by-lock");
    std::os::unix::fs::symlink(&target, dir.join("credentials.lock")).unwrap();
    let file = dir.join("credentials").display().to_string();
    let args = [
        "open",
        &b,
        "-i",
        &id,
        "--aws-profile",
        "p",
        "--credentials-file",
        &file,
    ];
    let run = env.run(&args).fails(5);
    assert!(
        run.stderr.contains("cannot open the lock file")
            && run.stderr.contains("remove the lock file if it is a link"),
        "{}",
        run.stderr
    );
    assert!(!target.exists(), "a file was made through the link");
    assert!(!dir.join("credentials").exists());
    // A link as the file itself: the hint names both ways of giving its path.
    std::fs::remove_file(dir.join("credentials.lock")).unwrap();
    std::os::unix::fs::symlink(&target, dir.join("credentials")).unwrap();
    let run = env.run(&args).fails(5);
    assert!(
        run.stderr
            .contains("hint: give the real file's path (--credentials-file PATH, or AWS_SHARED_CREDENTIALS_FILE)"),
        "{}",
        run.stderr
    );
}
