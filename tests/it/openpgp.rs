//! OpenPGP recipients with keys made by the real `gpg --batch --quick-gen-key` (ed25519
//! with a cv25519 subkey, and RSA with an RSA encryption subkey and a passphrase):
//! handoff seals and `gpg -d` opens; gpg encrypts a handoff payload and `handoff open`
//! opens it; a signed OpenPGP bundle checks; mixing OpenPGP and age recipients is a
//! clear error.

use std::process::Command;

use crate::support::*;

/// gpg with a private home in a test directory; its agent is stopped on drop.
pub struct Gpg<'a> {
    env: &'a TestEnv,
    home: String,
}

impl<'a> Gpg<'a> {
    pub fn new(env: &'a TestEnv) -> Gpg<'a> {
        let home = env.p("gnupg");
        std::fs::create_dir(&home).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        Gpg { env, home }
    }

    /// An ed25519/cv25519 key without a passphrase, exported to NAME.asc and
    /// NAME.sec.asc.
    pub fn bob(&self, name: &str) {
        self.run(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            "Bob <bob@example.com>",
            "future-default",
            "default",
            "never",
        ]);
        self.run(&[
            "--armor",
            "--output",
            &format!("{name}.asc"),
            "--export",
            "bob@example.com",
        ]);
        self.run(&[
            "--passphrase",
            "",
            "--armor",
            "--output",
            &format!("{name}.sec.asc"),
            "--export-secret-keys",
            "bob@example.com",
        ]);
    }

    /// An RSA signing primary with an RSA encryption subkey and the passphrase "pw",
    /// exported (binary) to NAME.gpg and NAME.sec.gpg.
    fn rita(&self, name: &str) {
        let uid = "rita@example.com";
        let with_pw = ["--passphrase", "pw"];
        self.run(
            &[
                &with_pw[..],
                &[
                    "--quick-gen-key",
                    "Rita <rita@example.com>",
                    "rsa3072",
                    "sign",
                    "never",
                ],
            ]
            .concat(),
        );
        let fpr = self.fingerprint(uid);
        self.run(
            &[
                &with_pw[..],
                &["--quick-add-key", &fpr, "rsa3072", "encr", "never"],
            ]
            .concat(),
        );
        self.run(&["--output", &format!("{name}.gpg"), "--export", uid]);
        let secret = format!("{name}.sec.gpg");
        self.run(
            &[
                &with_pw[..],
                &["--output", &secret, "--export-secret-keys", uid],
            ]
            .concat(),
        );
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--pinentry-mode", "loopback"])
            .args(args)
            .current_dir(self.env.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn fingerprint(&self, uid: &str) -> String {
        let out = self.run(&["--with-colons", "--list-keys", uid]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .unwrap()
    }
}

impl Drop for Gpg<'_> {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

#[test]
fn gpg_keys_seal_and_open_both_ways() {
    if !have("gpg") {
        return;
    }
    let env = TestEnv::new();
    let gpg = Gpg::new(&env);
    gpg.bob("bob"); // ed25519 + cv25519, no passphrase
    gpg.rita("rita"); // RSA + RSA encryption subkey, with a passphrase
    let csv = env.access_key_csv("k.csv");
    handoff_seals_and_gpg_opens(&env, &gpg, &csv);
    let age_r = handoff_opens_what_gpg_sealed(&env, &gpg);
    // mixing OpenPGP and age recipients is refused before anything is written
    let mixed = [
        "seal",
        "--from-csv",
        &csv,
        "--to",
        "bob.asc",
        "--to",
        &age_r,
        "-o",
        "mixed",
    ];
    let run = env.run(&mixed).fails(3);
    assert!(
        run.stderr.contains("cannot share one bundle"),
        "{}",
        run.stderr
    );
    assert!(!env.path("mixed").exists());
    if have("ssh-keygen") {
        signed_bundle_names_the_fingerprint(&env, &gpg, &csv);
    }
}

/// handoff seals (armored and binary); `gpg -d` opens.
fn handoff_seals_and_gpg_opens(env: &TestEnv, gpg: &Gpg, csv: &str) {
    for (to, out, armor, pass) in [
        ("bob.asc", "b.asc", true, ""),
        ("rita.gpg", "r.gpg", false, "pw"),
    ] {
        let mut args = vec![
            "seal",
            "--from-csv",
            csv,
            "--to",
            to,
            "--account-id",
            "123456789012",
            "-o",
            out,
        ];
        if armor {
            args.push("-a");
        }
        env.run(&args).ok().no_secret(SECRET);
        if armor {
            assert!(env.read(out).starts_with("-----BEGIN PGP MESSAGE-----"));
        }
        let inspect = env.run(&["inspect", out]).ok();
        assert!(
            inspect.stdout.starts_with("OpenPGP message"),
            "{}",
            inspect.stdout
        );
        let plain = gpg.run(&["--passphrase", pass, "--decrypt", out]);
        assert!(
            String::from_utf8_lossy(&plain.stdout).contains(SECRET),
            "{to}"
        );
    }
}

/// handoff opens its own OpenPGP bundles with the exported secret keys, and a payload gpg
/// encrypted itself; the wrong key is exit 4. Returns an age recipient for later checks.
fn handoff_opens_what_gpg_sealed(env: &TestEnv, gpg: &Gpg) -> String {
    let open_json = |bundle: &str, key: &str| env.run(&["open", bundle, "-i", key, "--json"]);
    let run = open_json(&env.p("b.asc"), &env.p("bob.sec.asc")).ok();
    assert!(run.stdout.contains(SECRET));
    // the RSA key asks for its passphrase
    env.answers(&["pw"]);
    let run = open_json(&env.p("r.gpg"), &env.p("rita.sec.gpg")).ok();
    assert!(run.stdout.contains(SECRET));
    // the wrong key: exit 4, nothing delivered
    let run = open_json(&env.p("r.gpg"), &env.p("bob.sec.asc")).fails(4);
    assert!(run.stdout.is_empty());
    // no OpenPGP key at all
    let (age_id, age_r) = env.keygen("age.txt");
    open_json(&env.p("b.asc"), &age_id).fails(4);
    // gpg encrypts a handoff payload (compressed, as gpg does by default); handoff opens it
    env.write(
        "payload.json",
        format!(
            r#"{{"format":"handoff/v1","access_key_id":"{KEY_ID}","secret_access_key":"{SECRET}"}}"#
        ),
    );
    gpg.run(&[
        "--trust-model",
        "always",
        "--recipient",
        "bob@example.com",
        "--output",
        "g.gpg",
        "--encrypt",
        "payload.json",
    ]);
    let run = open_json(&env.p("g.gpg"), &env.p("bob.sec.asc")).ok();
    assert!(run.stdout.contains(SECRET));
    age_r
}

/// A signed OpenPGP bundle: the recipient entry is the key's fingerprint.
fn signed_bundle_names_the_fingerprint(env: &TestEnv, gpg: &Gpg, csv: &str) {
    let keygen = ["-q", "-t", "ed25519", "-N", "", "-f", "alice"];
    assert!(sh("ssh-keygen", &keygen, env.dir.path()).status.success());
    let seal = [
        "seal",
        "--from-csv",
        csv,
        "--to",
        "bob.asc",
        "--sign-with",
        "alice",
        "-o",
        "s.gpg",
    ];
    env.run(&seal).ok();
    let open = [
        "open",
        "s.gpg",
        "-i",
        "bob.sec.asc",
        "--from",
        "alice.pub",
        "--export-signature",
        "m.json",
    ];
    env.run(&open).ok();
    let bob = gpg.fingerprint("bob@example.com").to_ascii_lowercase();
    let signed = env.read("m.json");
    assert!(signed.contains(&format!("openpgp:{bob}")), "{signed}");
}
