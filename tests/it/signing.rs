//! Signed bundles with keys made by the real `ssh-keygen`, checked by handoff and by
//! `ssh-keygen -Y verify`; tampered, wrongly signed, unsigned and re-sealed bundles are
//! refused (exit 9) and deliver nothing. Re-sealing and tampering are done the way an
//! attacker would: the real `age` decrypts, the plaintext is edited, `age` encrypts.

use crate::moto::Moto;
use crate::support::*;

/// An ssh-keygen ed25519 key pair at `name` / `name.pub`, with an optional passphrase.
fn ssh_key(env: &TestEnv, name: &str, passphrase: &str) -> String {
    let out = sh(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            &format!("{name}@example.com"),
            "-f",
            name,
        ],
        env.dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    env.p(name)
}

fn sign_sample(env: &TestEnv, to: &str, key: &str, out: &str) -> Run {
    let csv = env.access_key_csv("accessKeys.csv");
    env.run(&[
        "seal",
        "--from-csv",
        &csv,
        "--to",
        to,
        "--account-id",
        "123456789012",
        "--user",
        "boot",
        "--sign-with",
        key,
        "-o",
        out,
    ])
}

/// Decrypts with the real age, edits the plaintext, encrypts to `recipient`.
fn reseal(
    env: &TestEnv,
    bundle: &str,
    identity: &str,
    recipient: &str,
    edit: impl Fn(String) -> String,
) -> String {
    let plain = sh("age", &["-d", "-i", identity, bundle], env.dir.path());
    assert!(plain.status.success(), "{plain:?}");
    let edited = edit(String::from_utf8(plain.stdout).unwrap());
    let out = env.p("resealed.age");
    age_encrypt(recipient, edited.as_bytes(), &out);
    out
}

#[test]
fn signed_bundles_verify_with_handoff_and_ssh_keygen() {
    if !have("ssh-keygen") || !have("age") {
        return;
    }
    let env = TestEnv::new();
    let alice = ssh_key(&env, "alice", "");
    let (id, r) = env.keygen("me.txt");
    let b = env.p("signed.age");
    sign_sample(&env, &r, &alice, &b).ok().no_secret(SECRET);

    // handoff checks it against a .pub, a key string and an allowed_signers file
    let pubkey = env.read("alice.pub").trim().to_string();
    env.write(
        "allowed_signers",
        format!("alice@example.com namespaces=\"git,handoff\" {pubkey}\n"),
    );
    for from in [env.p("alice.pub"), pubkey.clone(), env.p("allowed_signers")] {
        let run = env
            .run(&["open", &b, "-i", &id, "--from", &from, "--json"])
            .ok();
        assert!(run.stdout.contains(KEY_ID));
        assert!(run.stderr.contains("Signature checked"), "{}", run.stderr);
    }
    // a signer allowed only for git is not a handoff signer
    env.write(
        "git_only",
        format!("alice@example.com namespaces=\"git\" {pubkey}\n"),
    );
    env.run(&[
        "open",
        &b,
        "-i",
        &id,
        "--from",
        &env.p("git_only"),
        "--json",
    ])
    .fails(3);

    // ssh-keygen checks the exported manifest independently
    let m = env.p("manifest.json");
    env.run(&[
        "open",
        &b,
        "-i",
        &id,
        "--from",
        &env.p("alice.pub"),
        "--export-signature",
        &m,
    ])
    .ok();
    let manifest = env.read("manifest.json");
    assert!(!manifest.contains(SECRET));
    assert!(
        manifest.contains(&r) && manifest.contains(KEY_ID),
        "{manifest}"
    );
    let verify = |manifest: &str, namespace: &str| {
        let mut c = std::process::Command::new("ssh-keygen");
        c.args([
            "-Y",
            "verify",
            "-f",
            "allowed_signers",
            "-I",
            "alice@example.com",
        ])
        .args(["-n", namespace, "-s", "manifest.json.sig"])
        .current_dir(env.dir.path())
        .stdin(std::fs::File::open(manifest).unwrap());
        c.output().unwrap()
    };
    let good = verify(&m, "handoff");
    assert!(good.status.success(), "{good:?}");
    assert!(String::from_utf8_lossy(&good.stdout).contains("Good \"handoff\" signature"));
    env.write(
        "tampered.json",
        manifest.replace("123456789012", "210987654321"),
    );
    assert!(!verify(&env.p("tampered.json"), "handoff").status.success());
    // and the signature is not valid in another namespace
    assert!(!verify(&m, "git").status.success());
}

#[test]
fn wrong_unsigned_tampered_and_resealed_bundles_are_refused() {
    if !have("ssh-keygen") || !have("age") {
        return;
    }
    let env = TestEnv::new();
    let alice = ssh_key(&env, "alice", "");
    ssh_key(&env, "mallory", "");
    let (id, r) = env.keygen("me.txt");
    let (other_id, other_r) = env.keygen("other.txt");
    let b = env.p("signed.age");
    sign_sample(&env, &r, &alice, &b).ok();
    let from = env.p("alice.pub");
    let refused = |bundle: &str, identity: &str, says: &str| {
        let run = env
            .run(&[
                "open",
                bundle,
                "-i",
                identity,
                "--from",
                &from,
                "--aws-profile",
                "x",
            ])
            .fails(9)
            .no_secret(SECRET);
        assert!(run.stderr.contains(says), "{says}: {}", run.stderr);
        assert!(!env.path("aws-credentials").exists());
    };
    // the wrong signer
    let run = env
        .run(&[
            "open",
            &b,
            "-i",
            &id,
            "--from",
            &env.p("mallory.pub"),
            "--json",
        ])
        .fails(9);
    assert!(run.stdout.is_empty());
    // an unsigned bundle
    let unsigned = env.seal_sample(&r);
    refused(&unsigned, &id, "not signed");
    // re-sealed by a recipient to someone else, signature intact
    let resealed = reseal(&env, &b, &id, &other_r, |p| p);
    refused(&resealed, &other_id, "re-sealed");
    // the manifest edited (to name the new recipient): the signature breaks
    let edited = reseal(&env, &b, &id, &other_r, |p| p.replace(&r, &other_r));
    refused(&edited, &other_id, "tampered");
    // the payload edited (another account): its hash no longer matches
    let edited = reseal(&env, &b, &id, &r, |p| {
        p.replace("123456789012", "210987654321")
    });
    refused(&edited, &id, "tampered");
    // without --from, a signed bundle opens and says who claims to have signed it
    let run = env.run(&["open", &b, "-i", &id, "--json"]).ok();
    assert!(run.stderr.contains("not checked"), "{}", run.stderr);
    // plain age still opens a signed bundle
    assert!(
        sh("age", &["-d", "-i", &id, &b], env.dir.path())
            .status
            .success()
    );
}

#[test]
fn protected_signing_keys_prompt_and_ssh_identities_are_known_recipients() {
    if !have("ssh-keygen") {
        return;
    }
    let env = TestEnv::new();
    let alice = ssh_key(&env, "alice", "correct horse");
    let bob = ssh_key(&env, "bob", "");
    let b = env.p("signed.age");
    env.answers(&["wrong"]);
    let run = sign_sample(&env, &env.p("bob.pub"), &alice, &b).fails(3);
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    assert!(!env.path("signed.age").exists());
    env.answers(&["correct horse"]);
    sign_sample(&env, &env.p("bob.pub"), &alice, &b).ok();
    // bob opens with his SSH private key: his recipient is read from the key itself
    let run = env
        .run(&[
            "open",
            &b,
            "-i",
            &bob,
            "--from",
            &env.p("alice.pub"),
            "--json",
        ])
        .ok();
    assert!(run.stdout.contains(KEY_ID));
    // only ed25519 keys sign
    let rsa = sh(
        "ssh-keygen",
        &["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", "rsa"],
        env.dir.path(),
    );
    assert!(rsa.status.success());
    let run = sign_sample(&env, &env.p("bob.pub"), &env.p("rsa"), &env.p("x.age")).fails(3);
    assert!(run.stderr.contains("ed25519"), "{}", run.stderr);
}

#[test]
fn create_signs_the_bundle_it_mints() {
    let Some(moto) = Moto::start() else {
        return;
    };
    if !have("ssh-keygen") {
        return;
    }
    let env = TestEnv::new();
    let alice = ssh_key(&env, "alice", "");
    let (id, r) = env.keygen("me.txt");
    let b = env.p("b.age");
    env.run_aws(
        moto.port,
        &["create", "--to", &r, "--sign-with", &alice, "-o", &b],
    )
    .ok();
    let run = env
        .run(&[
            "open",
            &b,
            "-i",
            &id,
            "--from",
            &env.p("alice.pub"),
            "--expect-account",
            "123456789012",
        ])
        .ok();
    assert!(run.stderr.contains("Signature checked"), "{}", run.stderr);
    // a bad signing key fails before anything is made in IAM
    env.run_aws(
        moto.port,
        &[
            "create",
            "--user",
            "other",
            "--to",
            &r,
            "--sign-with",
            &env.p("me.txt"),
            "-o",
            &env.p("c.age"),
        ],
    )
    .fails(3);
    assert!(!moto.user_exists("other"));
}
