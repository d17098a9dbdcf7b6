//! The durable journal. Before each change a create makes, the change it is about to
//! make is appended to a file under `$XDG_STATE_HOME/handoff/` (default
//! `~/.local/state/handoff/`; directory 0700, file 0600) and fsynced: which user, which
//! policy, which key (or "CreateAccessKey sent, these keys before it"). No secret is
//! ever written: a keychain item's earlier content is not kept here. While the run
//! lives, the file is locked (flock), so that `handoff recover` leaves a live run
//! alone; it is removed when the run finishes or is fully rolled back. After a
//! SIGKILL, a power cut or a crash, it is what `handoff recover` undoes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::journal::Change;
pub use super::state_dir::{ensure_state_dir, state_dir};
use crate::aws::AwsConfig;
use crate::error::{Error, Result, shown};

/// The journal's first line: what run it was, and where its AWS calls went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    /// The format's version (1).
    pub v: u32,
    /// The command, as the user would know it (`create`).
    pub command: String,
    /// The IAM user the changes are on.
    pub user: String,
    /// The account the run's caller was in.
    pub account: String,
    /// The profile, region and endpoint the run used.
    pub profile: Option<String>,
    /// See `profile`.
    pub region: Option<String>,
    /// See `profile`.
    pub endpoint_url: Option<String>,
    /// When the run started (RFC 3339).
    pub started: String,
    /// The run's process id, for the user's information.
    pub pid: u32,
}

impl Header {
    /// Where the run's AWS calls went.
    pub fn aws(&self) -> AwsConfig {
        AwsConfig {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// An open journal, locked for as long as it lives.
pub struct JournalFile {
    file: File,
    path: PathBuf,
    /// Where its keys go in the key ledger.
    account: String,
    user: String,
}

fn journal_error(what: String) -> Error {
    Error::output(what).fix(
        "set XDG_STATE_HOME to a directory you can write to (handoff keeps its journal of changes there)",
    )
}

impl JournalFile {
    /// Creates the journal (0600, in a 0700 directory) with its header; before any
    /// change, so that a run that cannot keep a journal changes nothing. The file is
    /// locked and holds its header before it gets its name: a recover never sees it
    /// empty, or unlocked while its run lives.
    pub fn start(header: &Header) -> Result<JournalFile> {
        let dir = ensure_state_dir()?;
        let shown_dir = shown(&dir.display().to_string());
        let cannot = |what: &str, e: std::io::Error| {
            journal_error(format!("cannot {what} a journal in {shown_dir}: {e}"))
        };
        let mut pending = crate::atomic_file::create_in(&dir).map_err(|e| cannot("create", e))?;
        pending.file().lock().map_err(|e| cannot("lock", e))?;
        let line = serde_json::to_string(header).unwrap_or_default();
        pending
            .write_synced(format!("{line}\n").as_bytes())
            .map_err(|e| cannot("write", e))?;
        let name = format!(
            "run-{}-{}.jsonl",
            jiff::Timestamp::now().as_millisecond(),
            header.pid
        );
        let path = dir.join(name);
        let file = pending
            .link_new_keeping(&path)
            .map_err(|e| cannot("name", e))?;
        Ok(JournalFile {
            file,
            path,
            account: header.account.clone(),
            user: header.user.clone(),
        })
    }

    fn append(&mut self, line: &str) -> Result<()> {
        let shown_path = shown(&self.path.display().to_string());
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| journal_error(format!("cannot write the journal {shown_path}: {e}")))
    }

    /// Records a change that is about to be made (or was just found), before anything
    /// else happens.
    pub fn intend(&mut self, change: &Change) -> Result<()> {
        let line = serde_json::to_string(change).unwrap_or_default();
        self.append(&line)?;
        // A key's id is this run's: no other run's lost reply may claim it.
        if let Change::Key(id) | Change::FoundKey(id) = change {
            super::key_ledger::record(&self.account, &self.user, id);
        }
        Ok(())
    }

    /// Records several changes about to be made at once: one write, one fsync.
    pub fn intend_all(&mut self, changes: &[Change]) -> Result<()> {
        let lines: Vec<String> = changes
            .iter()
            .map(|c| serde_json::to_string(c).unwrap_or_default())
            .collect();
        self.append(&lines.join("\n"))
    }

    /// The run is over, and nothing of it is left to undo: the journal goes.
    pub fn finish(self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// The journal's path (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A journal left by a run that is not running any more.
pub struct Unfinished {
    /// Its file.
    pub path: PathBuf,
    /// What run it was.
    pub header: Header,
    /// The changes it may have made, in order.
    pub changes: Vec<Change>,
    /// Why it cannot be trusted, when it cannot (a damaged line, an unknown version):
    /// then nothing of it is undone, and it is kept.
    pub damaged: Option<String>,
    /// Held: no other `recover` works on it meanwhile.
    _lock: File,
}

impl Unfinished {
    /// Removes the journal: everything in it is undone.
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the state directory is the user's own and nobody else can write in it (a
/// planted journal would name what `recover` deletes). Says why not, once.
fn trusted_dir(dir: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    if !meta.is_dir() || !crate::os::mine_with_closed(&meta, 0o022) {
        crate::say!(
            "handoff: warning: {} is not a directory only you can write to: its journals are not trusted, and nothing in it is undone",
            shown(&dir.display().to_string())
        );
        return false;
    }
    true
}

/// How many journals are there at all (live runs' included).
pub fn journal_count() -> usize {
    let Some(dir) = state_dir() else { return 0 };
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with("run-") && n.ends_with(".jsonl"))
            })
            .count()
    })
}

/// Every journal in the state directory whose run is over (its lock is free), oldest
/// first. Only files that are the user's own, 0600 and not links count.
pub fn unfinished() -> Vec<Unfinished> {
    let Some(dir) = state_dir() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    if !trusted_dir(&dir) {
        return Vec::new();
    }
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("run-") && n.ends_with(".jsonl"))
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| read_unlocked(&p))
        .collect()
}

fn read_unlocked(path: &Path) -> Option<Unfinished> {
    use std::io::Read;
    // Non-blocking: a FIFO planted under a journal's name must not hang the run.
    let file = crate::os::no_follow(std::fs::OpenOptions::new().read(true))
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || !crate::os::mine_with_closed(&meta, 0o077) {
        crate::say!(
            "handoff: warning: {} is not a 0600 file of yours: not trusted, not undone",
            shown(&path.display().to_string())
        );
        return None;
    }
    // A live run holds it: not ours to touch.
    file.try_lock().ok()?;
    let mut bytes = Vec::new();
    (&file).read_to_end(&mut bytes).ok()?;
    let (header, changes, damaged) = parse(&bytes);
    Some(Unfinished {
        path: path.to_path_buf(),
        header,
        changes,
        damaged,
        _lock: file,
    })
}

/// The header a journal gets when its own does not parse.
fn unknown_header() -> Header {
    Header {
        v: 0,
        command: "?".into(),
        user: "?".into(),
        account: "?".into(),
        profile: None,
        region: None,
        endpoint_url: None,
        started: "?".into(),
        pid: 0,
    }
}

/// A journal's header, its changes, and why it cannot be trusted, if it cannot. Only
/// the last line may be cut short (a crash while it was written); any other line that
/// does not parse (not even as UTF-8) makes the journal damaged, as does a header that
/// does not parse with anything after it. A header alone that does not parse (v0,
/// not damaged) is a run that died before any change.
fn parse(bytes: &[u8]) -> (Header, Vec<Change>, Option<String>) {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let Some((first, body)) = lines.split_first() else {
        return (unknown_header(), Vec::new(), None);
    };
    let (header, mut damaged) = match serde_json::from_slice::<Header>(first) {
        Ok(h) if h.v == 1 => (h, None),
        Ok(h) => {
            let why = format!("it is version {} of the format", h.v);
            (h, Some(why))
        }
        Err(_) if body.is_empty() => return (unknown_header(), Vec::new(), None),
        Err(e) => (
            unknown_header(),
            Some(format!("its first line does not parse ({e})")),
        ),
    };
    let mut changes = Vec::new();
    for (i, line) in body.iter().enumerate() {
        match serde_json::from_slice::<Change>(line) {
            Ok(c) => changes.push(c),
            Err(_) if i + 1 == body.len() => {}
            Err(e) => {
                damaged.get_or_insert(format!("line {} does not parse ({e})", i + 2));
                break;
            }
        }
    }
    (header, without_resolved_lost_keys(changes), damaged)
}

/// A "CreateAccessKey sent" line is resolved by the key's id written after it: the
/// listing it stood for would also catch keys that other runs made since.
fn without_resolved_lost_keys(changes: Vec<Change>) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::with_capacity(changes.len());
    for c in changes {
        if matches!(c, Change::Key(_) | Change::FoundKey(_))
            && matches!(out.last(), Some(Change::LostKey(_)))
        {
            out.pop();
        }
        out.push(c);
    }
    out
}

/// Says, once, that an earlier run left changes, with the command that finishes them.
pub fn warn_if_unfinished() {
    let left = unfinished();
    if let Some(first) = left.iter().find(|u| u.header.v != 0) {
        crate::say!(
            "handoff: warning: {} interrupted run(s) left changes in AWS (the first: {} for user {} at {}); see and undo them with: handoff recover",
            left.len(),
            first.header.command,
            shown(&first.header.user),
            first.header.started
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"v":1,"command":"create","user":"u","account":"123456789012","profile":null,"region":null,"endpoint_url":null,"started":"2026-12-03T00:00:00Z","pid":1}"#;

    #[test]
    fn a_header_alone_that_does_not_parse_is_a_run_before_any_change() {
        for bytes in [&b""[..], b"{\"v\":1,\"comm", b"{\"v\":1,\"comm\n"] {
            let (h, changes, damaged) = parse(bytes);
            assert_eq!((h.v, changes.len(), damaged), (0, 0, None), "{bytes:?}");
        }
    }

    #[test]
    fn a_damaged_header_with_changes_after_it_is_damaged_not_empty() {
        let bad = HEADER.replace(r#""pid":1"#, r#""pid":"1""#);
        let (h, _, damaged) = parse(format!("{bad}\n\"User\"\n").as_bytes());
        assert_eq!(h.v, 0);
        assert!(damaged.unwrap().contains("first line"));
    }

    #[test]
    fn a_line_that_is_not_utf8_in_the_middle_makes_the_journal_damaged() {
        let mut bytes = format!("{HEADER}\n").into_bytes();
        bytes.extend_from_slice(b"\"Us\xffer\"\n\"LoginProfile\"\n");
        let (h, changes, damaged) = parse(&bytes);
        assert_eq!(h.v, 1);
        assert!(changes.is_empty());
        assert!(damaged.unwrap().contains("line 2"));
        // Cut short at the end: a crash while it was written, not damage.
        let (_, changes, damaged) = parse(format!("{HEADER}\n\"User\"\n\"Logi").as_bytes());
        assert_eq!((changes, damaged), (vec![Change::User], None));
    }

    #[test]
    fn a_key_id_resolves_the_lost_key_line_before_it() {
        let changes = vec![
            Change::User,
            Change::LostKey(vec![]),
            Change::Key("AKIA1".into()),
            Change::LostKey(vec!["AKIA1".into()]),
        ];
        assert_eq!(
            without_resolved_lost_keys(changes),
            [
                Change::User,
                Change::Key("AKIA1".into()),
                Change::LostKey(vec!["AKIA1".into()])
            ]
        );
    }
}
