//! Nothing untrusted reaches the terminal raw: bundles planted with the real `age -e`
//! whose payload fields hold terminal escape sequences, bidi overrides, zero-width and
//! tag characters; bundle files named with them; keychain items written by another
//! client. `open` (summary mode) and `inspect` must write none of those characters, on
//! stdout or stderr, and must show each one escaped (so it was shown, not dropped).

use crate::keyring::Keyring;
use crate::support::*;

/// What an attacker plants: an OSC title change ended by BEL, a screen clear, a C1
/// CSI, bidi overrides and isolates, zero-width characters, a BOM, tag characters, a
/// variation selector, a line separator.
const PLANTED: &[char] = &[
    '\x1b',
    '\x07',
    '\u{9b}',
    '\u{7f}',
    '\u{202e}',
    '\u{2066}',
    '\u{2069}',
    '\u{200b}',
    '\u{200d}',
    '\u{feff}',
    '\u{2060}',
    '\u{e0041}',
    '\u{e007f}',
    '\u{fe0f}',
    '\u{2028}',
    '\u{3164}',
];

/// The note: every planted character, the two classic sequences first.
fn hostile_note() -> String {
    let mut note = String::from("\x1b]0;title\x07\x1b[2Jcall me ");
    note.extend(PLANTED);
    note
}

/// Asserts that no planted character (nor any other C0 control but the line ends
/// handoff writes itself) is in `text`.
#[track_caller]
fn assert_clean(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for c in PLANTED {
        assert!(
            !text.contains(*c),
            "{what} holds U+{:04X} raw: {text:?}",
            *c as u32
        );
    }
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what} holds a control character: {text:?}"
    );
}

/// Runs handoff and checks both streams (stderr is read raw, like stdout).
fn run_clean(env: &TestEnv, args: &[&str]) -> Run {
    let out = env.cmd().args(args).output().unwrap();
    assert_clean("stdout", &out.stdout);
    assert_clean("stderr", &out.stderr);
    Run::from_output(out)
}

/// Encrypts `payload` to `recipient` with the real age CLI into `name`.
fn age_encrypt(env: &TestEnv, recipient: &str, payload: &serde_json::Value, name: &str) -> String {
    env.write("payload.json", payload.to_string());
    sh(
        "age",
        &[
            "-e",
            "-r",
            recipient,
            "-o",
            &env.p(name),
            &env.p("payload.json"),
        ],
        env.dir.path(),
    );
    std::fs::remove_file(env.path("payload.json")).unwrap();
    env.p(name)
}

fn hostile_payload() -> serde_json::Value {
    // The ARN and URL fields refuse controls and spaces, but not the invisible rest.
    serde_json::json!({
        "format": "handoff/v1",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "account_id": "123456789012",
        "user_arn": "arn:aws:iam::123456789012:user/al\u{202e}ecila\u{202c}\u{200b}\u{e0041}",
        "created_by": "arn:aws:iam::123456789012:user/\u{2066}boss\u{2069}\u{feff}\u{fe0f}",
        "sign_in_url": "https://123456789012.signin.aws.amazon.com/console\u{202e}\u{2060}\u{3164}",
        "note": hostile_note(),
    })
}

#[test]
fn open_summary_escapes_every_planted_payload_field() {
    if !have("age") {
        return;
    }
    let env = TestEnv::new();
    let (id, recipient) = env.keygen("key.txt");
    let bundle = age_encrypt(&env, &recipient, &hostile_payload(), "b.age");
    let r = run_clean(&env, &["open", &bundle, "-i", &id])
        .ok()
        .no_secret(SECRET);
    for escaped in [
        // note: the OSC title sequence and the screen clear, visible and inert
        "\\u{1b}]0;title\\u{7}\\u{1b}[2Jcall me",
        // user_arn, created_by, sign_in_url
        "user/al\\u{202e}ecila\\u{202c}\\u{200b}\\u{e0041}",
        "user/\\u{2066}boss\\u{2069}\\u{feff}\\u{fe0f}",
        "console\\u{202e}\\u{2060}\\u{3164}",
    ] {
        assert!(
            r.stdout.contains(escaped),
            "{escaped} missing: {}",
            r.stdout
        );
    }
}

#[test]
fn inspect_of_a_planted_bundle_prints_nothing_raw() {
    if !have("age") {
        return;
    }
    let env = TestEnv::new();
    let (_, recipient) = env.keygen("key.txt");
    let bundle = age_encrypt(&env, &recipient, &hostile_payload(), "b.age");
    let text = run_clean(&env, &["inspect", &bundle]).ok();
    assert!(text.stdout.contains("1 × X25519"), "{}", text.stdout);
    run_clean(&env, &["inspect", &bundle, "--json"]).ok();
}

/// `inspect` refuses a header whose stanza type is `stanza`, writing none of it.
fn inspect_refuses_a_stanza_type(stanza: &str) {
    let env = TestEnv::new();
    let header = format!("age-encryption.org/v1\n-> {stanza} abc\nZGVm\n--- bWFj\n\x00\x01");
    let bundle = env.write("planted.age", header);
    run_clean(&env, &["inspect", &bundle]).fails(4);
    run_clean(&env, &["inspect", &bundle, "--json"]).fails(4);
}

/// One test per planted stanza type: `name => stanza type;`.
macro_rules! planted_stanza_types {
    ($($name:ident => $stanza:expr;)+) => {
        $(
            #[test]
            fn $name() {
                inspect_refuses_a_stanza_type($stanza);
            }
        )+
    };
}

planted_stanza_types! {
    inspect_refuses_a_stanza_type_that_is_an_osc_sequence => "\x1b]0;title\x07";
    inspect_refuses_a_stanza_type_that_is_a_csi_sequence => "\x1b[2J";
    inspect_refuses_a_stanza_type_with_a_bidi_override => "X25519\u{202e}";
    inspect_refuses_a_stanza_type_with_a_tag_character => "X25519\u{e0041}";
}

#[test]
fn a_bundle_file_name_with_escape_sequences_is_printed_escaped() {
    if !have("age") {
        return;
    }
    let env = TestEnv::new();
    let (id, recipient) = env.keygen("key.txt");
    let name = "b\x1b]0;title\x07\x1b[2J\u{202e}gpj\u{200b}\u{e0041}\n.age";
    let payload = serde_json::json!({
        "format": "handoff/v1",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
    });
    let bundle = age_encrypt(&env, &recipient, &payload, name);
    // The summary repeats the bundle's name in the delivery commands it suggests.
    let r = run_clean(&env, &["open", &bundle, "-i", &id]).ok();
    assert!(
        r.stdout
            .contains("b\\u{1b}]0;title\\u{7}\\u{1b}[2J\\u{202e}gpj\\u{200b}\\u{e0041}\\u{a}.age"),
        "{}",
        r.stdout
    );
    run_clean(&env, &["inspect", &bundle]).ok();
    // Errors name the file too: an empty one, a missing one, one that is not age.
    let empty = env.write(&format!("empty{name}"), "");
    run_clean(&env, &["inspect", &empty]).fails(4);
    run_clean(&env, &["open", &empty, "-i", &id]).fails(4);
    let junk = env.write(&format!("junk{name}"), "hello\n");
    run_clean(&env, &["inspect", &junk]).fails(4);
    run_clean(&env, &["open", &junk, "-i", &id]).fails(4);
    let missing = env.p(&format!("missing{name}"));
    run_clean(&env, &["inspect", &missing]);
    run_clean(&env, &["open", &missing, "-i", &id]);
}

#[test]
fn keychain_list_escapes_names_and_attributes_written_by_another_client() {
    let Some(k) = Keyring::start() else { return };
    let env = TestEnv::new();
    let name = "evil\x1b]0;title\x07\u{202e}\u{200b}";
    let user = "admin\x1b[2J\u{2066}\u{e0041}";
    let o = k.secret_tool(
        &[
            "store",
            "--label=planted",
            "service",
            "handoff",
            "username",
            name,
            "user-name",
            user,
        ],
        b"{}",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list = |args: &[&str]| {
        let r = k.run(&env, args);
        assert_clean("stdout", &r.raw_stdout);
        assert_clean("stderr", r.stderr.as_bytes());
        r.ok()
    };
    let text = list(&["keychain", "list"]);
    assert!(
        text.stdout
            .contains("evil\\u{1b}]0;title\\u{7}\\u{202e}\\u{200b}")
            && text
                .stdout
                .contains("user-name=admin\\u{1b}[2J\\u{2066}\\u{e0041}"),
        "{}",
        text.stdout
    );
    // JSON: escaped for the terminal, the same values for a JSON reader.
    let json = list(&["keychain", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let item = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(item["attributes"]["user-name"], user);
}
