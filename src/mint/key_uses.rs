//! The calls handoff on this machine made with a received access key (`open --verify`,
//! `open --rotate`). AWS keeps only a key's *last* use, so without these the rotation's
//! tripwire ([`crate::rotation::check_unused`]) would take an earlier open's own call, or
//! a first `--rotate` that failed, for a stranger holding a copy. Each call is noted here
//! before it is sent (`uses.jsonl` in the state directory, 0600: a key id and a time,
//! no secret); a recorded last use near one of them is handoff's own. Best effort: a
//! note that cannot be written only makes the tripwire stricter, never laxer.

use std::path::Path;

use jiff::Timestamp;

use super::state_dir::{append_record, ensure_state_dir, read_records, state_dir};

const USES: &str = "uses.jsonl";

#[derive(serde::Serialize, serde::Deserialize)]
struct Use {
    key: String,
    at: String,
}

/// Notes that a call made with key `id` is about to be sent.
pub fn record(id: &str) {
    if let Ok(dir) = ensure_state_dir() {
        record_in(&dir, id, Timestamp::now());
    }
}

fn record_in(dir: &Path, id: &str, at: Timestamp) {
    let entry = Use {
        key: id.into(),
        at: at.to_string(),
    };
    append_record(&dir.join(USES), &entry);
}

/// When handoff here sent calls made with key `id`.
pub fn own(id: &str) -> Vec<Timestamp> {
    state_dir().map_or_else(Vec::new, |dir| own_in(&dir, id))
}

fn own_in(dir: &Path, id: &str) -> Vec<Timestamp> {
    read_records::<Use>(&dir.join(USES))
        .into_iter()
        .filter(|u| u.key == id)
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
        assert_eq!(
            own_in(d, "AKIA1"),
            [t, t + jiff::SignedDuration::from_secs(5)]
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join(USES))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_planted_fifo_or_link_is_neither_read_nor_written() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            d.join(USES),
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        )
        .unwrap();
        record_in(d, "AKIA1", Timestamp::now());
        assert!(own_in(d, "AKIA1").is_empty());
        std::fs::remove_file(d.join(USES)).unwrap();
        let target = d.join("elsewhere");
        std::os::unix::fs::symlink(&target, d.join(USES)).unwrap();
        record_in(d, "AKIA1", Timestamp::now());
        assert!(!target.exists());
    }
}
