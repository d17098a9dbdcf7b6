//! The calls handoff on this machine made with a received access key (`open --verify`,
//! `open --rotate`). AWS keeps only a key's *last* use, so without these the rotation's
//! tripwire ([`crate::rotation::check_unused`]) would take an earlier open's own call, or
//! a first `--rotate` that failed, for a stranger holding a copy. Each call is noted here
//! before it is sent (`uses.jsonl` in the state directory, 0600: a key id and a time,
//! no secret); a recorded last use near one of them is handoff's own. An earlier open
//! that saw a stranger's use before its own call hid it notes that use here too.
//! Best effort: a note that cannot be written only makes the tripwire stricter, except
//! that a stranger's use an earlier `--verify` saw (and warned about) is then not
//! remembered by a later `--rotate`.

use std::path::Path;

use jiff::Timestamp;

use super::state_dir::{append_record, ensure_state_dir, read_records, state_dir};

const USES: &str = "uses.jsonl";

#[derive(serde::Serialize, serde::Deserialize)]
struct Use {
    key: String,
    at: String,
    /// A use AWS reported that was none of handoff's (seen by an earlier open, which
    /// its own call then hid); absent: one of handoff's own calls.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    stranger: bool,
}

/// The state directory, created if missing; none in unit tests, which must not write
/// the user's own (they test the `_in` functions with a directory of their own).
fn writable_dir() -> Option<std::path::PathBuf> {
    if cfg!(test) {
        return None;
    }
    ensure_state_dir().ok()
}

/// The state directory to read; none in unit tests.
fn readable_dir() -> Option<std::path::PathBuf> {
    if cfg!(test) {
        return None;
    }
    state_dir()
}

/// Notes that a call made with key `id` is about to be sent.
pub fn record(id: &str) {
    if let Some(dir) = writable_dir() {
        record_in(&dir, id, Timestamp::now());
    }
}

fn record_in(dir: &Path, id: &str, at: Timestamp) {
    append(dir, id, at, false);
}

fn append(dir: &Path, id: &str, at: Timestamp, stranger: bool) {
    let entry = Use {
        key: id.into(),
        at: at.to_string(),
        stranger,
    };
    append_record(&dir.join(USES), &entry);
}

/// Notes a use of key `id` at `when` that AWS reported and that was none of handoff's.
pub fn record_stranger(id: &str, when: Timestamp) {
    if let Some(dir) = writable_dir() {
        append(&dir, id, when, true);
    }
}

/// When handoff here sent calls made with key `id`.
pub fn own(id: &str) -> Vec<Timestamp> {
    readable_dir().map_or_else(Vec::new, |dir| own_in(&dir, id))
}

/// When strangers used key `id`, as earlier opens here saw it.
pub fn strangers(id: &str) -> Vec<Timestamp> {
    readable_dir().map_or_else(Vec::new, |dir| times_in(&dir, id, true))
}

fn own_in(dir: &Path, id: &str) -> Vec<Timestamp> {
    times_in(dir, id, false)
}

fn times_in(dir: &Path, id: &str, stranger: bool) -> Vec<Timestamp> {
    read_records::<Use>(&dir.join(USES))
        .into_iter()
        .filter(|u| u.key == id && u.stranger == stranger)
        .filter_map(|u| u.at.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_kept_per_key_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(own_in(d, "AKIA1").is_empty());
        let t: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        record_in(d, "AKIA1", t);
        record_in(d, "AKIA2", t);
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.join(USES))
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"not json\n"))
            .unwrap();
        record_in(d, "AKIA1", t + jiff::SignedDuration::from_secs(5));
        append(d, "AKIA1", t - jiff::SignedDuration::from_secs(60), true);
        assert_eq!(
            times_in(d, "AKIA1", true),
            [t - jiff::SignedDuration::from_secs(60)]
        );
        assert_eq!(
            own_in(d, "AKIA1"),
            [t, t + jiff::SignedDuration::from_secs(5)]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(USES))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    #[cfg(unix)]
    fn a_planted_fifo_or_link_is_neither_read_nor_written() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let made = std::process::Command::new("mkfifo")
            .arg(d.join(USES))
            .status()
            .unwrap();
        assert!(made.success());
        record_in(d, "AKIA1", Timestamp::now());
        assert!(own_in(d, "AKIA1").is_empty());
        std::fs::remove_file(d.join(USES)).unwrap();
        let target = d.join("elsewhere");
        std::os::unix::fs::symlink(&target, d.join(USES)).unwrap();
        record_in(d, "AKIA1", Timestamp::now());
        assert!(!target.exists());
    }
}
