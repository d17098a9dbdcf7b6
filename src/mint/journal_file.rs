//! The durable journal. Before each change a create makes, the change it is about to
//! make is appended to a file under `$XDG_STATE_HOME/handoff/` (default
//! `~/.local/state/handoff/`; directory 0700, file 0600) and fsynced: which user, which
//! policy, which key (or "CreateAccessKey sent, these keys before it"). No secret is
//! ever written: a keychain item's earlier content is not kept here. While the run
//! lives, the file is locked (flock), so that `handoff recover` leaves a live run
//! alone; it is removed when the run finishes or is fully rolled back. After a
//! SIGKILL, a power cut or a crash, it is what `handoff recover` undoes.

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::journal::Change;
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

/// The directory journals live in.
pub fn state_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("handoff"))
}

/// An open journal, locked for as long as it lives.
pub struct JournalFile {
    file: File,
    path: PathBuf,
}

fn journal_error(what: String) -> Error {
    Error::output(what).fix(
        "set XDG_STATE_HOME to a directory you can write to (handoff keeps its journal of changes there)",
    )
}

impl JournalFile {
    /// Creates the journal (0600, in a 0700 directory) with its header; before any
    /// change, so that a run that cannot keep a journal changes nothing.
    pub fn start(header: &Header) -> Result<JournalFile> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let dir = state_dir()
            .ok_or_else(|| journal_error("neither XDG_STATE_HOME nor HOME is set".into()))?;
        let shown_dir = shown(&dir.display().to_string());
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| journal_error(format!("cannot create {shown_dir}: {e}")))?;
        let name = format!(
            "run-{}-{}.jsonl",
            jiff::Timestamp::now().as_millisecond(),
            header.pid
        );
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| journal_error(format!("cannot create a journal in {shown_dir}: {e}")))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| journal_error(format!("cannot lock the journal in {shown_dir}: {e}")))?;
        let mut j = JournalFile { file, path };
        if let Err(e) = j.append(&serde_json::to_string(header).unwrap_or_default()) {
            let _ = std::fs::remove_file(&j.path);
            return Err(e);
        }
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(j)
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
        self.append(&line)
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
    /// Held: no other `recover` works on it meanwhile.
    _lock: File,
}

impl Unfinished {
    /// Removes the journal: everything in it is undone.
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Every journal in the state directory whose run is over (its lock is free), oldest
/// first. A line that does not parse (a crash mid-write) ends its journal.
pub fn unfinished() -> Vec<Unfinished> {
    let Some(dir) = state_dir() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
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
    let file = std::fs::OpenOptions::new().read(true).open(path).ok()?;
    // A live run holds it: not ours to touch.
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).ok()?;
    let mut lines = std::io::BufReader::new(&file).lines();
    let header: Header = serde_json::from_str(&lines.next()?.ok()?).ok()?;
    let changes = lines
        .map_while(|l| l.ok().and_then(|l| serde_json::from_str::<Change>(&l).ok()))
        .collect();
    Some(Unfinished {
        path: path.to_path_buf(),
        header,
        changes,
        _lock: file,
    })
}

/// Says, once, that an earlier run left changes, with the command that finishes them.
pub fn warn_if_unfinished() {
    let left = unfinished();
    if let Some(first) = left.first() {
        crate::say!(
            "handoff: warning: {} interrupted run(s) left changes in AWS (the first: {} for user {} at {}); see and undo them with: handoff recover",
            left.len(),
            first.header.command,
            shown(&first.header.user),
            first.header.started
        );
    }
}
