//! A crashing handoff leaves no core dump, and a running one is not dumpable (other
//! processes of the same user cannot read its memory). handoff runs as `nobody` here,
//! so that the ownership of /proc/PID shows the kernel's dumpable flag; a `sleep` run
//! the same way is the control.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn nobody(env: &TestEnv, program: &str, args: &[&str]) -> std::process::Child {
    Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(program)
        .args(args)
        .current_dir(env.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("PINENTRY_PROGRAM", env.p("slow-pinentry"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for_exec(pid: u32, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .starts_with(name)
    {
        assert!(Instant::now() < deadline, "{name} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn a_crashing_handoff_leaves_no_core_dump_and_is_not_dumpable() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if !is_root || !have("setpriv") {
        eprintln!("SKIPPED: needs root and setpriv to run handoff as another user");
        if std::env::var("CI").as_deref() == Ok("true") && !is_root {
            panic!("CI runs as root");
        }
        return;
    }
    let env = TestEnv::new();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // a pinentry that never answers keeps handoff waiting at its passphrase prompt
    env.write("slow-pinentry", "#!/bin/sh\necho OK\nsleep 30\n");
    std::fs::set_permissions(
        env.path("slow-pinentry"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let (_, r) = env.keygen("key.txt");
    let bin = assert_cmd::cargo::cargo_bin("handoff");
    std::fs::copy(&bin, env.path("handoff")).unwrap();
    std::fs::set_permissions(env.path("handoff"), std::fs::Permissions::from_mode(0o755)).unwrap();

    // control: sleep as nobody is dumpable (its /proc entry belongs to nobody) and dumps core
    let mut control = nobody(&env, "sh", &["-c", "ulimit -c unlimited; exec sleep 30"]);
    wait_for_exec(control.id(), "sleep");
    let control_uid = std::fs::metadata(format!("/proc/{}/status", control.id()))
        .unwrap()
        .uid();
    Command::new("kill")
        .args(["-SEGV", &control.id().to_string()])
        .status()
        .unwrap();
    control.wait().unwrap();
    assert_ne!(control_uid, 0, "the control must be dumpable");

    let mut child = nobody(
        &env,
        &env.p("handoff"),
        &["seal", "--to", &r, "-o", &env.p("b.age")],
    );
    wait_for_exec(child.id(), "handoff");
    let pid = child.id();
    let status_uid = std::fs::metadata(format!("/proc/{pid}/status"))
        .unwrap()
        .uid();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    Command::new("kill")
        .args(["-SEGV", &pid.to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    assert_eq!(
        status_uid, 0,
        "handoff is dumpable: /proc/{pid} belongs to its user"
    );
    let core_line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert!(
        core_line.split_whitespace().filter(|w| *w == "0").count() >= 2,
        "{core_line}"
    );
    let cores: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("core"))
        .collect();
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.trim() == "core" || pattern.trim().starts_with("core.") {
        // only the control's core (named core or core.PID of the sleep), none of handoff's
        assert!(
            cores.iter().all(|c| !c.contains(&pid.to_string())),
            "{cores:?}"
        );
        assert_eq!(cores.len(), 1, "exactly the control's core: {cores:?}");
    }
}
