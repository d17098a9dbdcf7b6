//! age plugin recipients and identities (`age1NAME1…`, `AGE-PLUGIN-NAME-1…`) go through
//! the age crate's plugin support. The plugin is `tests/it/data/age-plugin-handofftest`,
//! a small Python program speaking the age plugin protocol (recipient-v1, identity-v1);
//! the real `age` opens what handoff seals with it. A missing plugin names its binary.

use crate::support::*;

const RECIPIENT: &str = "age1handofftest1wfjkx6tsd9jkuap3urwvjh";
const IDENTITY: &str = "AGE-PLUGIN-HANDOFFTEST-1D9JX2MN5D968JVP350P0YP";
const MISSING: &str = "age1nosuchplugin1wfjkx6tsd9jkuap3da03ka";

fn with_plugin(env: &TestEnv, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data");
    let path = format!("{}:{}", data.display(), std::env::var("PATH").unwrap());
    let mut c = env.cmd();
    c.env("PATH", &path).args(args);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    Run::from_output(c.output().unwrap())
}

#[test]
fn plugin_recipients_and_identities_work_and_a_missing_plugin_is_named() {
    if !have("python3") || !have("age") {
        return;
    }
    let env = TestEnv::new();
    let csv = env.access_key_csv("k.csv");
    let id = env.write(
        "plugin-id.txt",
        format!("# a plugin identity\n{IDENTITY}\n"),
    );
    let b = env.p("p.age");
    with_plugin(
        &env,
        &["seal", "--from-csv", &csv, "--to", RECIPIENT, "-o", &b],
        &[],
    )
    .ok()
    .no_secret(SECRET);
    let inspect = env.run(&["inspect", &b]).ok();
    assert!(inspect.stdout.contains("handofftest"), "{}", inspect.stdout);
    let run = with_plugin(&env, &["open", &b, "-i", &id, "--json"], &[]).ok();
    assert!(run.stdout.contains(KEY_ID));
    // the real age opens it with the same plugin
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data");
    let age = std::process::Command::new("age")
        .args(["-d", "-i", &id, &b])
        .env(
            "PATH",
            format!("{}:{}", data.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    assert!(age.status.success(), "{age:?}");
    assert!(String::from_utf8_lossy(&age.stdout).contains(KEY_ID));

    // the plugin refuses (an unplugged device): exit 4, one line, nothing printed
    let run = with_plugin(
        &env,
        &["open", &b, "-i", &id, "--json"],
        &[("FAKE_PLUGIN_FAIL", "1")],
    )
    .fails(4);
    assert!(
        run.stderr.contains("unplugged") && run.stdout.is_empty(),
        "{}",
        run.stderr
    );

    // the plugin is not installed: the binary is named, on sealing and on opening
    let run = env
        .run(&[
            "seal",
            "--from-csv",
            &csv,
            "--to",
            MISSING,
            "-o",
            &env.p("m.age"),
        ])
        .fails(3);
    assert!(
        run.stderr.contains("age-plugin-nosuchplugin"),
        "{}",
        run.stderr
    );
    assert!(!env.path("m.age").exists());
    let run = env.run(&["open", &b, "-i", &id, "--json"]).fails(3);
    assert!(
        run.stderr
            .contains("age-plugin-handofftest is not installed"),
        "{}",
        run.stderr
    );
}
