//! The test harness: a temp dir per test, `handoff` runs with a clean environment
//! pointed at that dir, a fake pinentry that answers hidden prompts from a file, and
//! helpers for the external tools.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// A sample access key: AWS's documented example values.
pub const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A temp dir and a way to run handoff in it.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    /// The key this env's AWS runs are signed with, when the server checks signatures
    /// ([`TestEnv::sign_with`]); moto's "testing" otherwise.
    pub aws_key: std::sync::OnceLock<(String, String)>,
}

/// What a run printed, and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
}

impl Run {
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            raw_stdout: out.stdout,
        }
    }

    /// Asserts success and returns self.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code, an `error:` line and a `hint:` line, no panic.
    #[track_caller]
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "wrong exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        if code != 2 {
            assert!(
                self.stderr.contains("error: "),
                "no error line: {}",
                self.stderr
            );
            assert!(
                self.stderr.contains("hint: "),
                "no hint line: {}",
                self.stderr
            );
        }
        self
    }

    /// Asserts that neither stream holds the secret.
    #[track_caller]
    pub fn no_secret(self, secret: &str) -> Run {
        assert!(
            !self.stdout.contains(secret),
            "secret on stdout: {}",
            self.stdout
        );
        assert!(
            !self.stderr.contains(secret),
            "secret on stderr: {}",
            self.stderr
        );
        self
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().unwrap(),
            aws_key: std::sync::OnceLock::new(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn p(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        std::fs::write(self.path(name), contents).unwrap();
        self.p(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    /// A handoff command with a clean, contained environment.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("handoff").unwrap();
        c.current_dir(self.dir.path());
        c.env_clear();
        c.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        c.env("HOME", self.dir.path());
        c.env("AWS_SHARED_CREDENTIALS_FILE", self.path("aws-credentials"));
        c.env("AWS_CONFIG_FILE", self.path("aws-config"));
        c.env("PINENTRY_PROGRAM", self.fake_pinentry());
        c.env("FAKE_PIN_FILE", self.path("answers"));
        c.stdin(Stdio::null());
        c
    }

    /// Runs handoff with these arguments.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from_output(self.cmd().args(args).output().unwrap())
    }

    /// Runs handoff with stdin.
    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        Run::from_output(child.wait_with_output().unwrap())
    }

    /// Queues answers for hidden prompts, one per line, in order.
    pub fn answers(&self, answers: &[&str]) {
        let mut s = String::new();
        for a in answers {
            s.push_str(a);
            s.push('\n');
        }
        std::fs::write(self.path("answers"), s).unwrap();
    }

    /// A pinentry speaking just enough Assuan for age's prompts: each GETPIN pops the
    /// next line of $FAKE_PIN_FILE; an empty file means the user cancelled.
    fn fake_pinentry(&self) -> PathBuf {
        let p = self.path("fake-pinentry");
        if !p.exists() {
            std::fs::write(
                &p,
                r#"#!/bin/sh
echo "OK Pleased to meet you"
while read -r line; do
  case "$line" in
    GETPIN*)
      pin=$(head -n 1 "$FAKE_PIN_FILE" 2>/dev/null)
      if [ -z "$pin" ]; then echo "ERR 83886179 Operation cancelled <Pinentry>"; continue; fi
      sed -i 1d "$FAKE_PIN_FILE"
      printf 'D %s\nOK\n' "$pin";;
    BYE*) echo OK; exit 0;;
    *) echo OK;;
  esac
done
"#,
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        p
    }

    /// Makes an age identity with handoff keygen; returns (identity path, recipient).
    pub fn keygen(&self, name: &str) -> (String, String) {
        let r = self.run(&["keygen", "-o", &self.p(name)]).ok();
        (self.p(name), r.stdout.trim().to_string())
    }

    /// Seals the sample access key (with account id and user) to `recipient` into
    /// b.age, checking that no secret is printed; returns the bundle path.
    pub fn seal_sample(&self, recipient: &str) -> String {
        let csv = self.access_key_csv("accessKeys.csv");
        let out = self.p("b.age");
        self.run(&[
            "seal",
            "--from-csv",
            &csv,
            "--to",
            recipient,
            "--account-id",
            "123456789012",
            "--user",
            "mgmt-org-admin",
            "-o",
            &out,
        ])
        .ok()
        .no_secret(SECRET);
        out
    }

    /// Writes the console's access-key CSV.
    pub fn access_key_csv(&self, name: &str) -> String {
        self.write(
            name,
            format!("\u{feff}Access key ID,Secret access key\r\n{KEY_ID},{SECRET}\r\n"),
        )
    }
}

/// Whether an external tool is there. Missing: skip locally (printing why), fail in CI.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{tool} is required under CI=true: scripts/test installs it");
        }
        eprintln!("SKIPPED: {tool} is not installed (scripts/test installs it)");
    }
    found
}

/// Runs an external command, asserting success.
#[track_caller]
pub fn sh(program: &str, args: &[&str], dir: &Path) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Polls `condition` every 10 ms until it holds; fails, saying what was awaited, when
/// it still does not after `timeout`.
#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The exit code of [`on_tty`]'s script when a prompt never turned the echo off.
const NO_HIDDEN_PROMPT: i32 = 97;

/// Runs a program on a pseudo-terminal and types `lines` at its hidden prompts (for
/// `age -p`, which reads passphrases from the terminal only): each line is typed once
/// a prompt (a `:`) was shown and the terminal's echo is off, that is when the program
/// reads it. Returns its exit code.
pub fn on_tty(program: &str, args: &[&str], lines: &[&str], dir: &Path) -> i32 {
    let script = r#"
import os, pty, sys, time, select, termios
argv = sys.argv[1:]
n = int(argv[0]); answers = argv[1:1+n]; cmd = argv[1+n:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
out = b""
def echo_off():
    # on Linux the master's modes are the terminal's (the slave's)
    return not termios.tcgetattr(fd)[3] & termios.ECHO
for a in answers:
    deadline = time.time() + 10
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try: chunk = os.read(fd, 1024)
            except OSError: break
            out += chunk
            if b":" in chunk: break
    while not echo_off():
        if time.time() > deadline:
            sys.stderr.write("on_tty: no hidden prompt after %r\n" % out)
            sys.exit(97)
        time.sleep(0.01)
    os.write(fd, a.encode() + b"\r")
while True:
    try:
        if not os.read(fd, 1024): break
    except OSError: break
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let mut c = Command::new("python3");
    c.arg("-c").arg(script).arg(lines.len().to_string());
    c.args(lines).arg(program).args(args).current_dir(dir);
    let code = c.status().unwrap().code().unwrap_or(-1);
    assert_ne!(
        code, NO_HIDDEN_PROMPT,
        "{program} {args:?} showed no hidden prompt within 10 s"
    );
    code
}

/// Waits (up to 60 s) until process `pid` is stopped by a test hook's SIGSTOP.
#[track_caller]
pub fn wait_until_stopped(pid: u32) {
    wait_until(
        Duration::from_secs(60),
        &format!("process {pid} is stopped"),
        || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(')').next().unwrap_or("").trim().chars().next();
            assert!(
                state != Some('Z'),
                "the process exited without stopping: {stat}"
            );
            state == Some('T')
        },
    );
}

/// Resumes a stopped process.
pub fn resume(pid: u32) {
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::CONT,
    )
    .unwrap();
}

/// Encrypts `plaintext` to `recipient` with the real `age` binary into `out` (replacing
/// it): how anyone who knows a recipient makes a bundle handoff will open.
pub fn age_encrypt(recipient: &str, plaintext: &[u8], out: &str) {
    use std::io::Write;
    let _ = std::fs::remove_file(out);
    let mut age = Command::new("age")
        .args(["-e", "-r", recipient, "-o", out])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    age.stdin.take().unwrap().write_all(plaintext).unwrap();
    assert!(age.wait().unwrap().success(), "age -e failed");
}

/// Runs `cmd` with a terminal for its standard streams (util-linux `script`), typing
/// `input`: what a user at a prompt sees (stdout and stderr, merged) and the exit code.
/// `None` (locally) when `script` is missing.
pub fn on_terminal(cmd: &Command, input: &str) -> Option<Run> {
    on_terminal_typing_after(cmd, input, std::time::Duration::ZERO)
}

/// [`on_terminal`], typing `input` only after `delay` (a user reading the question).
pub fn on_terminal_typing_after(
    cmd: &Command,
    input: &str,
    delay: std::time::Duration,
) -> Option<Run> {
    use std::io::Write;
    if !have("script") {
        return None;
    }
    let mut line = sh_quote(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&sh_quote(&a.to_string_lossy()));
    }
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"]).env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        c.current_dir(dir);
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A fixed sleep on purpose: the delay *is* the user's.
    std::thread::sleep(delay);
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    Some(Run::from_output(child.wait_with_output().unwrap()))
}

/// `s` as one sh word, single-quoted.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
