//! The memory claim, measured: real handoff processes (create against moto, seal, every
//! open output, the keychain, credential-process) are stopped just before they exit
//! (a debug-build-only SIGSTOP hook), their whole memory is read through /proc/PID/mem,
//! and copies of the secret access key and console password are counted: raw,
//! URL-encoded, JSON-escaped, UTF-16, and any 24-character window of them.

use std::io::{Read, Seek, SeekFrom};
use std::process::{Command, Stdio};

use crate::keyring::Keyring;
use crate::moto::Moto;
use crate::support::*;

/// Every readable mapping of a stopped process.
struct Image(Vec<Vec<u8>>);

/// A value put in the environment of every scanned process: each image must hold it,
/// or the scan did not read that process's memory and its count of copies proves
/// nothing.
const SCAN_MARKER: &str = "HANDOFF_TEST_SCAN_MARKER=the-scanner-reads-this-process";

fn snapshot(pid: u32) -> Image {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut regions = Vec::new();
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let range = parts.next().unwrap();
        let perms = parts.next().unwrap();
        if !perms.starts_with('r') || line.contains("[vvar") || line.contains("[vsyscall]") {
            continue;
        }
        let (a, b) = range.split_once('-').unwrap();
        let (a, b) = (
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        );
        let mut buf = vec![0u8; (b - a) as usize];
        if mem.seek(SeekFrom::Start(a)).is_ok() && mem.read_exact(&mut buf).is_ok() {
            regions.push(buf);
        }
    }
    Image(regions)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn json_escape(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap()
        .trim_matches('"')
        .replace('/', "\\/")
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(hay, needle).collect()
}

impl Image {
    fn bytes(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }

    /// Asserts that the scan read the memory of the process: some regions, some
    /// bytes, and the marker of its environment among them.
    #[track_caller]
    fn assert_scanned(&self, what: &str) {
        assert!(
            !self.0.is_empty() && self.bytes() > 0,
            "the memory scan of {what} read nothing: {} regions, {} bytes",
            self.0.len(),
            self.bytes()
        );
        assert!(
            self.0
                .iter()
                .any(|r| memchr::memmem::find(r, SCAN_MARKER.as_bytes()).is_some()),
            "the memory scan of {what} ({} regions, {} bytes) did not find the marker in its environment: it did not read that process",
            self.0.len(),
            self.bytes()
        );
    }

    /// Copies of `secret`, in any of its forms or any 24-character window of them.
    fn copies(&self, secret: &str) -> usize {
        let mut forms: Vec<Vec<u8>> = vec![
            secret.as_bytes().to_vec(),
            url_encode(secret).into_bytes(),
            json_escape(secret).into_bytes(),
            utf16(secret),
        ];
        forms.dedup();
        let mut total = 0;
        for region in &self.0 {
            for form in &forms {
                // a copy counts once, wherever a window of it matches
                let window = 24.min(form.len());
                let mut starts = std::collections::BTreeSet::new();
                for off in 0..=form.len() - window {
                    for at in find_all(region, &form[off..off + window]) {
                        starts.insert(at as i64 - off as i64);
                    }
                }
                total += starts.len();
            }
        }
        total
    }
}

/// Runs handoff with the stop hook; returns its memory image (asserted to be that
/// process's) and its output.
fn stopped(mut cmd: Command) -> (Image, Run) {
    let (marker, value) = SCAN_MARKER.split_once('=').unwrap();
    cmd.env("HANDOFF_TEST_STOP_BEFORE_EXIT", "1")
        .env(marker, value)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{:?}", cmd.get_args().collect::<Vec<_>>());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    wait_until_stopped(pid);
    let image = snapshot(pid);
    resume(pid);
    let out = child.wait_with_output().unwrap();
    image.assert_scanned(&what);
    (image, Run::from_output(out))
}

/// The runs scanned so far, and how to start the next one.
struct Scan<'a> {
    env: &'a TestEnv,
    moto_port: u16,
    keyring: Option<&'a Keyring>,
    no_wipe: bool,
    images: Vec<(String, Image)>,
}

impl Scan<'_> {
    /// Runs handoff with `args` (against moto when `aws`), stopped at its exit and scanned.
    fn run(&mut self, name: &str, args: &[&str], aws: bool) {
        let mut c = self.env.cmd();
        if aws {
            Moto::env_for(&mut c, self.moto_port);
        }
        if let Some(k) = self.keyring {
            c.envs(k.env());
        }
        if self.no_wipe {
            c.env("HANDOFF_TEST_NO_WIPE", "1");
        }
        c.args(args);
        let (img, run) = stopped(c);
        run.ok();
        self.images.push((name.into(), img));
    }
}

/// The number of secret access key and console password copies in each scanned run;
/// None when moto is missing (locally: skipped, with the reason printed).
fn scan_all(no_wipe: bool) -> Option<Vec<(String, usize, usize)>> {
    let moto = Moto::start()?;
    let keyring = Keyring::start();
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let mut scan = Scan {
        env: &env,
        moto_port: moto.port,
        keyring: keyring.as_ref(),
        no_wipe,
        images: Vec::new(),
    };
    let b = env.p("b.age");
    let mut create_args = vec![
        "create",
        "--to",
        &r,
        "--access-key",
        "--console-password",
        "-o",
        &b,
    ];
    if keyring.is_some() {
        create_args.extend(["--keychain", "mine"]);
    }
    scan.run("create (key + password + keychain)", &create_args, true);
    // learn the secrets (a normal run)
    let out = sh("age", &["-d", "-i", &id, &b], env.dir.path());
    let payload: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = payload["secret_access_key"].as_str().unwrap().to_string();
    let password = payload["console_password"].as_str().unwrap().to_string();
    // seal from a CSV holding the same key
    let csv = env.p("k.csv");
    env.write(
        "k.csv",
        format!(
            "Access key ID,Secret access key\n{},{secret}\n",
            payload["access_key_id"].as_str().unwrap()
        ),
    );
    let sealed = env.p("s.age");
    scan.run(
        "seal --from-csv",
        &["seal", "--from-csv", &csv, "--to", &r, "-o", &sealed],
        false,
    );
    let out_csv = env.p("out.csv");
    let mut opens: Vec<(&str, Vec<&str>)> = vec![
        ("open --json", vec!["--json"]),
        ("open --env", vec!["--env"]),
        ("open --csv FILE", vec!["--csv", &out_csv]),
        ("open --aws-profile", vec!["--aws-profile", "boot"]),
        ("open (summary)", vec![]),
    ];
    if keyring.is_some() {
        opens.push(("open --keychain", vec!["--keychain", "theirs"]));
    }
    for (name, extra) in opens {
        let mut args = vec!["open", &b, "-i", &id];
        args.extend(extra);
        scan.run(name, &args, false);
    }
    if keyring.is_some() {
        scan.run(
            "credential-process",
            &["credential-process", "theirs"],
            false,
        );
    }
    let gpg = scan_signed_and_openpgp(&mut scan, &csv, &id, &r);
    // last: rotation kills the key (the received secret must be gone from memory too)
    scan.run(
        "open --rotate --json",
        &["open", &b, "-i", &id, "--rotate", "--json"],
        true,
    );
    let images = scan.images;
    // every run above was scanned: create, seal, 5 opens, sign, verify, rotate
    let expected = 10 + 2 * usize::from(keyring.is_some()) + 2 * usize::from(gpg);
    assert_eq!(images.len(), expected, "scanned runs");
    let bytes: usize = images.iter().map(|(_, img)| img.bytes()).sum();
    eprintln!("memory scan: {} processes, {bytes} bytes", images.len());
    Some(
        images
            .into_iter()
            .map(|(name, img)| (name, img.copies(&secret), img.copies(&password)))
            .collect(),
    )
}

/// Scans a signed seal, its open with --from --verify, and (when gpg is here) an OpenPGP
/// seal and open; returns whether gpg was here.
fn scan_signed_and_openpgp(scan: &mut Scan, csv: &str, id: &str, r: &str) -> bool {
    // signed, then opened with the signature checked and the key verified with STS
    let keygen = ["-q", "-t", "ed25519", "-N", "", "-f", "signer"];
    assert!(
        sh("ssh-keygen", &keygen, scan.env.dir.path())
            .status
            .success()
    );
    let (signed, signer, signer_pub) = (
        scan.env.p("signed.age"),
        scan.env.p("signer"),
        scan.env.p("signer.pub"),
    );
    let seal_signed = [
        "seal",
        "--from-csv",
        csv,
        "--to",
        r,
        "--account-id",
        "123456789012",
        "--user",
        "mgmt-org-admin",
        "--sign-with",
        &signer,
        "-o",
        &signed,
    ];
    scan.run("seal --sign-with", &seal_signed, false);
    let open_signed = [
        "open",
        &signed,
        "-i",
        id,
        "--from",
        &signer_pub,
        "--verify",
        "--json",
    ];
    scan.run("open --from --verify --json", &open_signed, true);
    // OpenPGP: sealed to a gpg key, opened with its secret key
    let gpg = have("gpg");
    if gpg {
        crate::openpgp::Gpg::new(scan.env).bob("bob");
        let (bob, bob_sec, sealed) = (
            scan.env.p("bob.asc"),
            scan.env.p("bob.sec.asc"),
            scan.env.p("b.gpg"),
        );
        let seal = ["seal", "--from-csv", csv, "--to", &bob, "-o", &sealed];
        scan.run("seal --to OpenPGP key", &seal, false);
        scan.run(
            "open OpenPGP --json",
            &["open", &sealed, "-i", &bob_sec, "--json"],
            false,
        );
    }
    gpg
}

/// Fails unless the scan covered some processes.
#[track_caller]
fn assert_scanned_some(results: &[(String, usize, usize)]) {
    assert!(
        !results.is_empty(),
        "the memory scan scanned no process: it proves nothing"
    );
}

#[test]
fn no_copy_of_a_secret_survives_create_or_any_open() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(results) = scan_all(false) else {
        return;
    };
    assert_scanned_some(&results);
    for (name, s, p) in &results {
        eprintln!(
            "memory scan: {name:<36} secret access key copies: {s}  console password copies: {p}"
        );
    }
    assert!(
        results.iter().all(|(_, s, p)| *s == 0 && *p == 0),
        "secrets left in memory: {results:?}"
    );
}

#[test]
fn without_wiping_copies_are_left_behind() {
    // The counterfactual: the same scan with the zero-on-free allocator switched off
    // must find copies, or the scan above proves nothing.
    let Some(results) = scan_all(true) else {
        return;
    };
    assert_scanned_some(&results);
    for (name, s, p) in &results {
        eprintln!("memory scan, wiping off: {name:<36} secret: {s}  password: {p}");
    }
    assert!(
        results.iter().any(|(_, s, _)| *s > 0),
        "the scanner finds nothing even without wiping: {results:?}"
    );
}

#[test]
fn the_scanner_finds_a_secret_in_a_stopped_process() {
    // Control: a shell holding a value in its environment is found.
    let value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCONTROLKEY";
    let mut c = Command::new("sh");
    c.arg("-c").arg("kill -STOP $$; true").env("CONTROL", value);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let pid = child.id();
    wait_until_stopped(pid);
    let img = snapshot(pid);
    resume(pid);
    child.wait_with_output().unwrap();
    assert!(img.bytes() > 0, "the scan of the control read nothing");
    assert!(img.copies(value) >= 1);
}

/// Kilobytes of locked memory, and whether some mapping is both locked (`lo`) and
/// excluded from core dumps (`dd`), in a stopped process.
fn locked_pages(pid: u32) -> (u64, bool) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let vmlck = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let both = smaps.lines().any(|l| {
        l.strip_prefix("VmFlags:").is_some_and(|f| {
            let flags: Vec<&str> = f.split_whitespace().collect();
            flags.contains(&"lo") && flags.contains(&"dd")
        })
    });
    (vmlck, both)
}

#[test]
fn secret_pages_are_locked_and_kept_out_of_dumps() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let env = TestEnv::new();
    let (id, r) = env.keygen("key.txt");
    let b = env.seal_sample(&r);
    let stopped_locks = |args: &[&str]| {
        let mut cmd = env.cmd();
        cmd.args(args)
            .env("HANDOFF_TEST_STOP_BEFORE_EXIT", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        wait_until_stopped(child.id());
        let locks = locked_pages(child.id());
        resume(child.id());
        Run::from_output(child.wait_with_output().unwrap()).ok();
        locks
    };
    // Control: inspect handles no secret and locks nothing.
    let (control, _) = stopped_locks(&["inspect", &b]);
    let (vmlck, both) = stopped_locks(&["open", &b, "-i", &id, "--json"]);
    eprintln!("locked memory: open --json {vmlck} kB, inspect (control) {control} kB");
    assert_eq!(control, 0);
    let limit = rustix::process::getrlimit(rustix::process::Resource::Memlock).current;
    if rustix::process::geteuid().is_root() || limit.is_none_or(|l| l >= 1 << 20) {
        assert!(
            vmlck > 0 && both,
            "VmLck {vmlck} kB, locked+dontdump mapping: {both}"
        );
    } else {
        eprintln!(
            "SKIPPED: not root and RLIMIT_MEMLOCK is {limit:?} bytes: the locked pages are not checked"
        );
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "under CI=true the locked pages must be checked: run as root or with RLIMIT_MEMLOCK >= 1 MiB"
        );
    }
    // Locking is best effort: with no lockable memory at all (RLIMIT_MEMLOCK 0, and not
    // root, whose CAP_IPC_LOCK ignores the limit) the command still works.
    assert!(have("prlimit") && have("setpriv"));
    let as_root = rustix::process::geteuid().is_root();
    let dir = env.path(".");
    let mut cmd = Command::new(if as_root { "setpriv" } else { "prlimit" });
    if as_root {
        use std::os::unix::fs::PermissionsExt;
        for f in [".", "key.txt", "b.age"] {
            let mode = if f == "." { 0o777 } else { 0o644 };
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        std::fs::copy(assert_cmd::cargo::cargo_bin("handoff"), dir.join("handoff")).unwrap();
        cmd.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
            "prlimit",
        ]);
    }
    cmd.args(["--memlock=0:0", "--"])
        .arg(if as_root {
            dir.join("handoff")
        } else {
            assert_cmd::cargo::cargo_bin("handoff")
        })
        .args(["open", &b, "-i", &id, "--json"])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .stdin(Stdio::null());
    let run = Run::from_output(cmd.output().unwrap()).ok();
    assert!(run.stdout.contains(KEY_ID), "{}", run.stdout);
}
