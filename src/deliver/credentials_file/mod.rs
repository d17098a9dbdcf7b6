//! The AWS shared credentials file (`$AWS_SHARED_CREDENTIALS_FILE` or
//! `~/.aws/credentials`): adds or replaces one profile, keeping every other byte of the
//! file (other profiles, comments, blank lines, CRLF line ends) as it was. The merge is
//! a pure function ([`merge`]) so it can be fuzzed; [`write_profile`] does the I/O:
//! refuses symlinks, writes atomically with mode 0600, and refuses to replace a file
//! that changed while it was being merged.
//!
//! The file's one consumer that matters is botocore (the AWS CLI), which reads it with
//! Python's `configparser.RawConfigParser` (`botocore/configloader.py`,
//! `raw_config_parse`). So lines are classified exactly as CPython's
//! `RawConfigParser._read` classifies them (see [`read`]), a file botocore could not
//! read is refused rather than written, and the result is read back the same way
//! before it is returned: the profile must hold just the new key, and every other
//! section must read as it did. The file's location is found as botocore finds it
//! ([`default_path`]).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;

use crate::error::{Error, ExitCode, Result, shown};

mod location;
use crate::output::read_capped;
use crate::secret::{ExposeSecret, SecretString, Zeroizing};
pub use location::default_path;
#[cfg(test)]
use location::{User, resolve};

/// Largest credentials file handoff will merge into.
pub const MAX_CREDENTIALS_FILE_BYTES: u64 = 1 << 20;

/// configparser's `default_section`: its options are inherited by every section, and
/// it is never a section (botocore never sees a profile of that name).
const DEFAULT_SECTION: &str = "DEFAULT";

/// Why a merge was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeError {
    /// The profile exists and replacing was not asked for.
    Exists,
    /// The name is `DEFAULT`, which configparser reads as settings for every section.
    ReservedName,
    /// botocore could not read the file as it is (1-based line, why).
    Unreadable(usize, Unreadable),
    /// `[DEFAULT]` sets a key (at this line) that the profile would inherit.
    Inherits(usize),
    /// The header after the profile (at this line) is indented: after the new profile's
    /// unindented last line it would read as a continuation of the secret.
    IndentedHeader(usize),
    /// The merged text would not read back as the profile plus the untouched rest (a
    /// bug): nothing may be written.
    Unverified,
}

/// Why botocore cannot read a file; each makes `raw_config_parse` raise
/// `ConfigParseError` for the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// A line that is not blank or a comment comes before the first header
    /// (`MissingSectionHeaderError`; a UTF-8 byte order mark counts as such a line).
    OutsideSection,
    /// A line that is neither a header nor `key = value` / `key: value` (`ParsingError`).
    NotKeyValue,
    /// `= value` with no key (`ParsingError`).
    EmptyKey,
    /// A section header repeated (`DuplicateSectionError`: strict mode).
    DuplicateSection,
    /// A key repeated within a section, compared lowercased (`DuplicateOptionError`).
    DuplicateKey,
    /// An indented line without `=` under a key whose value starts empty: botocore reads
    /// such values as nested `key = value` lines (`_parse_nested`'s `ValueError`).
    NestedWithoutEquals,
}

/// A profile name AWS tools accept, that cannot break the file's structure (no `[`,
/// `]`, line ends or spaces) and that `aws --profile NAME` does not read as an option.
pub fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@+=,".contains(&b))
}

// ---- The file as configparser reads it -------------------------------------------
//
// CPython 3 `Lib/configparser.py`, `RawConfigParser` with botocore's (default) options:
// `strict=True`, `comment_prefixes=('#', ';')`, no inline comments,
// `empty_lines_in_values=True`, delimiters `=` and `:`, `optionxform = str.lower`.

/// Python's `str.isspace()`, which is also what `\s` and `str.strip()` use: Unicode
/// White_Space plus U+001C..U+001F, which Rust's `char::is_whitespace` leaves out.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// The line boundaries of Python's `str.splitlines()` (used by botocore's
/// `_parse_nested`), beyond the `\r` and `\n` that reading has already split on.
fn py_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{b}'
            | '\u{c}'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// The file's lines as Python's text-mode reading yields them (universal newlines: a
/// line ends at `\r\n`, a bare `\r` or `\n`), each with its line end.
fn lines(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            out.push(&text[start..=i]);
            start = i + 1;
        }
        i += 1;
    }
    if start < b.len() {
        out.push(&text[start..]);
    }
    out
}

fn line_end(line: &str) -> &str {
    &line[line.trim_end_matches(['\r', '\n']).len()..]
}

/// `SECTCRE` is `\[(?P<header>.+)\]`, matched (not full-matched) against the stripped
/// line: the name runs to the *last* `]` (`[a]b]` is `a]b`), keeps its spaces (`[ p ]`
/// is ` p `), and whatever follows that `]` is ignored (`[p] x` is `p`). `[]` is no
/// header.
fn header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// What configparser made of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role<'a> {
    /// Empty, blank, or a comment (`#` or `;` after any indentation).
    Blank,
    /// A section header, with its name exactly as configparser keeps it.
    Header { name: &'a str, indented: bool },
    /// The first line of `key = value` or `key: value`.
    Key,
    /// An indented line that continues the value of the key above it.
    Continuation,
}

/// One key's value as configparser assembles it.
struct Value<'a> {
    line: usize,
    /// The first line's value, then each continuation (and `""` per blank line).
    parts: Vec<(usize, &'a str)>,
}

/// What botocore reads from a file: each line's role, and each section's keys with
/// their values (the `[DEFAULT]` keys under `DEFAULT`, not copied into the others).
struct Parsed<'a> {
    roles: Vec<Role<'a>>,
    sections: Sections<'a>,
}

/// Reads `text` as botocore's `raw_config_parse` does (CPython's
/// `RawConfigParser._read`, then botocore's nested-value parse), or says at which line
/// and why botocore would refuse the whole file.
fn read(text: &str) -> std::result::Result<Parsed<'_>, (usize, Unreadable)> {
    let (roles, raw) = read_lines(text)?;
    let sections = join_values(raw)?;
    Ok(Parsed { roles, sections })
}

/// One section's keys as read, before their lines are joined.
type RawSections<'a> = BTreeMap<&'a str, BTreeMap<String, Value<'a>>>;

/// The line-by-line half of [`read`]: each line's role and each key's value lines.
fn read_lines(
    text: &str,
) -> std::result::Result<(Vec<Role<'_>>, RawSections<'_>), (usize, Unreadable)> {
    let mut roles = Vec::new();
    let mut raw: RawSections<'_> = BTreeMap::new();
    let mut seen_sections = HashSet::new();
    let mut section: Option<&str> = None;
    let mut key: Option<String> = None;
    let mut indent_level = 0;
    for (i, line) in lines(text).into_iter().enumerate() {
        let n = i + 1;
        let content = line.trim_end_matches(['\r', '\n']);
        let value = py_strip(content);
        if value.is_empty() || value.starts_with('#') || value.starts_with(';') {
            // A blank line (not a comment) adds an empty line to the value being read;
            // neither ends it, nor changes the indentation that continues it.
            if let (Some(s), Some(k), true) = (section, &key, value.is_empty())
                && let Some(v) = raw.get_mut(s).and_then(|keys| keys.get_mut(k))
            {
                v.parts.push((n, ""));
            }
            roles.push(Role::Blank);
            continue;
        }
        let indent = content.chars().take_while(|&c| py_space(c)).count();
        if let (Some(s), Some(k), true) = (section, &key, indent > indent_level) {
            if let Some(v) = raw.get_mut(s).and_then(|keys| keys.get_mut(k)) {
                v.parts.push((n, value));
            }
            roles.push(Role::Continuation);
            continue;
        }
        indent_level = indent;
        if let Some(name) = header(value) {
            if name != DEFAULT_SECTION && !seen_sections.insert(name) {
                return Err((n, Unreadable::DuplicateSection));
            }
            raw.entry(name).or_default();
            section = Some(name);
            key = None;
            roles.push(Role::Header {
                name,
                indented: indent > 0,
            });
            continue;
        }
        let Some(s) = section else {
            return Err((n, Unreadable::OutsideSection));
        };
        // OPTCRE: the key runs to the first `=` or `:`; both sides are stripped.
        let Some(at) = value.find(['=', ':']) else {
            return Err((n, Unreadable::NotKeyValue));
        };
        let name = value[..at].trim_end_matches(py_space);
        if name.is_empty() {
            return Err((n, Unreadable::EmptyKey));
        }
        let name = name.to_lowercase();
        let keys = raw.entry(s).or_default();
        if keys.contains_key(&name) {
            return Err((n, Unreadable::DuplicateKey));
        }
        keys.insert(
            name.clone(),
            Value {
                line: n,
                parts: vec![(n, py_strip(&value[at + 1..]))],
            },
        );
        key = Some(name);
        roles.push(Role::Key);
    }
    Ok((roles, raw))
}

/// Sections: the joining half of [`read`].
type Sections<'a> = BTreeMap<&'a str, BTreeMap<String, (usize, Zeroizing<String>)>>;

/// The joining half of [`read`]: each key's lines as one value, checked as botocore
/// checks nested values.
fn join_values(raw: RawSections<'_>) -> std::result::Result<Sections<'_>, (usize, Unreadable)> {
    // `_join_multiline_values`, then botocore: a value that starts with a line end is
    // parsed as nested `key = value` lines, and a line without `=` fails the file. A
    // `[DEFAULT]` value is parsed only as the value of a section that lacks the key
    // (`cp.get(section, key)` prefers the section's own).
    let inherited: HashSet<String> = raw
        .get(DEFAULT_SECTION)
        .map(|defaults| {
            defaults
                .keys()
                .filter(|k| {
                    raw.iter()
                        .any(|(s, keys)| *s != DEFAULT_SECTION && !keys.contains_key(*k))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut sections = BTreeMap::new();
    for (s, keys) in raw {
        let mut out = BTreeMap::new();
        for (k, v) in keys {
            let mut joined = Zeroizing::new(String::new());
            for (j, (_, part)) in v.parts.iter().enumerate() {
                if j > 0 {
                    joined.push('\n');
                }
                joined.push_str(part);
            }
            let len = joined.trim_end_matches(py_space).len();
            joined.truncate(len);
            if joined.starts_with('\n') && (s != DEFAULT_SECTION || inherited.contains(&k)) {
                for (n, part) in &v.parts[1..] {
                    let bad = part
                        .split(py_line_break)
                        .any(|l| !py_strip(l).is_empty() && !l.contains('='));
                    if bad {
                        return Err((*n, Unreadable::NestedWithoutEquals));
                    }
                }
            }
            out.insert(k, (v.line, joined));
        }
        sections.insert(s, out);
    }
    Ok(sections)
}

impl Parsed<'_> {
    /// The sections and their keys and values, without line numbers.
    fn view(&self) -> BTreeMap<&str, BTreeMap<&str, &str>> {
        self.sections
            .iter()
            .map(|(s, keys)| {
                let keys = keys
                    .iter()
                    .map(|(k, (_, v))| (k.as_str(), v.as_str()))
                    .collect();
                (*s, keys)
            })
            .collect()
    }
}

/// A section's keys (lowercased, in order) and values.
pub type Profile = Vec<(String, Zeroizing<String>)>;

/// The keys and values of section `name` as botocore reads them from `text` (before
/// any `[DEFAULT]` keys are added): `Ok(None)` when there is no such section.
pub fn profile(text: &str, name: &str) -> std::result::Result<Option<Profile>, MergeError> {
    let parsed = read(text).map_err(|(n, why)| MergeError::Unreadable(n, why))?;
    Ok(parsed.sections.get(name).map(|keys| {
        keys.iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect()
    }))
}

/// Returns the file with profile `name` set to these lines (`key = value`), replacing
/// the profile (only if `replace`) or appending it. Refuses a file botocore cannot
/// read, a name it would not read as a profile, and any result that would not read
/// back as exactly these entries for `name` and every other section unchanged.
pub fn merge(
    existing: &str,
    name: &str,
    entries: &[(&str, &str)],
    replace: bool,
) -> std::result::Result<Zeroizing<String>, MergeError> {
    if name == DEFAULT_SECTION {
        return Err(MergeError::ReservedName);
    }
    let before = read(existing).map_err(|(n, why)| MergeError::Unreadable(n, why))?;
    if let Some(defaults) = before.sections.get(DEFAULT_SECTION) {
        let inherited = defaults
            .iter()
            .filter(|(k, _)| !entries.iter().any(|(e, _)| e == k))
            .map(|(_, (line, _))| *line)
            .min();
        if let Some(line) = inherited {
            return Err(MergeError::Inherits(line));
        }
    }
    let lines = lines(existing);
    // CRLF only when every line of the file ends so: a stray "\r\n" (say, a line that
    // ended in a bare CR before we added a newline) must not flip the style, or a
    // second merge would differ from the first (found by the credentials_merge fuzzer).
    let crlf = !lines.is_empty() && lines.iter().all(|l| line_end(l) == "\r\n");
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut section = Zeroizing::new(String::new());
    section.push_str(&format!("[{name}]{eol}"));
    for (k, v) in entries {
        section.push_str(&format!("{k} = {v}{eol}"));
    }

    let found = before
        .roles
        .iter()
        .position(|r| matches!(r, Role::Header { name: n, .. } if *n == name));
    let mut out = Zeroizing::new(String::with_capacity(existing.len() + section.len() + 4));
    match found {
        Some(_) if !replace => return Err(MergeError::Exists),
        Some(start) => {
            // The profile's body runs to the next header; comments and blank lines just
            // before that header belong to what follows and are kept.
            let next = (start + 1..lines.len())
                .find(|&i| matches!(before.roles[i], Role::Header { .. }))
                .unwrap_or(lines.len());
            if let Some(Role::Header { indented: true, .. }) = before.roles.get(next) {
                return Err(MergeError::IndentedHeader(next + 1));
            }
            let mut end = next;
            while end > start + 1 && before.roles[end - 1] == Role::Blank {
                end -= 1;
            }
            for l in &lines[..start] {
                out.push_str(l);
            }
            out.push_str(&section);
            for l in &lines[end..] {
                out.push_str(l);
            }
        }
        None => {
            out.push_str(existing);
            if !existing.is_empty() {
                if !existing.ends_with(['\n', '\r']) {
                    out.push_str(eol);
                }
                out.push_str(eol);
            }
            out.push_str(&section);
        }
    }
    verify(&before, &out, name, entries)?;
    Ok(out)
}

/// Reads the merged text back: `name` holds exactly `entries`, and every other section
/// (`[DEFAULT]` included) reads as it did before.
fn verify(
    before: &Parsed<'_>,
    merged: &str,
    name: &str,
    entries: &[(&str, &str)],
) -> std::result::Result<(), MergeError> {
    let after = read(merged).map_err(|_| MergeError::Unverified)?;
    let (mut want, mut got) = (before.view(), after.view());
    want.remove(name);
    let ours = got.remove(name).ok_or(MergeError::Unverified)?;
    let entries: BTreeMap<&str, &str> = entries.iter().copied().collect();
    if want != got || ours != entries {
        return Err(MergeError::Unverified);
    }
    Ok(())
}

/// Checks, writing nothing, that profile `name` could be written into the credentials
/// file at `path` (a usable name, a readable well-formed file, no such profile unless
/// `replace`), so that a command can fail before it changes anything elsewhere.
pub fn check_profile(path: &Path, name: &str, replace: bool) -> Result<()> {
    let placeholder = crate::secret::from_foreign(String::new());
    prepare(path, name, "", &placeholder, replace)?;
    // The file is replaced by a rename in its directory (created when missing): the
    // nearest directory that exists must take a new file.
    let mut dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    while let Some(d) = dir {
        if d.is_dir() {
            return crate::output::probe_dir(d);
        }
        dir = d.parent().filter(|d| !d.as_os_str().is_empty());
    }
    crate::output::probe_dir(Path::new("."))
}

/// Reads the file at `path` and merges the profile in: (the bytes read, the new text).
fn prepare(
    path: &Path,
    name: &str,
    key_id: &str,
    secret: &SecretString,
    replace: bool,
) -> Result<(Zeroizing<Vec<u8>>, Zeroizing<String>)> {
    if !valid_profile_name(name) {
        return Err(
            Error::input(format!("{} is not a usable profile name", shown(name)))
                .fix("use letters, digits and - _ . @ + = , (at most 64, not starting with -)"),
        );
    }
    let shown_path = shown(&path.display().to_string());
    let meta = fs::symlink_metadata(path);
    let existing = match &meta {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::output(format!(
                "{shown_path} is a symbolic link; handoff does not write through links"
            ))
            .fix("give the real file's path (--credentials-file PATH, or AWS_SHARED_CREDENTIALS_FILE)"));
        }
        Ok(m) if !m.is_file() => {
            return Err(
                Error::output(format!("{shown_path} is not a regular file")).fix(
                    "give a file's path (--credentials-file PATH, or AWS_SHARED_CREDENTIALS_FILE)",
                ),
            );
        }
        Ok(_) => Zeroizing::new(read_capped(
            path,
            MAX_CREDENTIALS_FILE_BYTES,
            "credentials file",
        )?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Zeroizing::new(Vec::new()),
        Err(e) => {
            return Err(Error::output(format!("cannot read {shown_path}: {e}"))
                .fix("check its permissions"));
        }
    };
    let text = std::str::from_utf8(&existing).map_err(|_| {
        Error::input(format!("{shown_path} is not UTF-8 text"))
            .fix("fix or move the file, then run again")
    })?;
    let merged = merge(
        text,
        name,
        &[
            ("aws_access_key_id", key_id),
            ("aws_secret_access_key", secret.expose_secret()),
        ],
        replace,
    )
    .map_err(|e| merge_error(e, name, &shown_path))?;
    Ok((existing, merged))
}

/// The message for a refused merge: what failed, and how to fix it. Never a value
/// from the file (the file holds secrets), only line numbers and names.
fn merge_error(e: MergeError, name: &str, path: &str) -> Error {
    let unreadable = |n: usize, what: &str| {
        Error::input(format!(
            "line {n} of {path} {what}, so AWS tools cannot read the file"
        ))
    };
    match e {
        MergeError::Exists => Error::output(format!("profile [{name}] already exists in {path}"))
            .fix("choose another --aws-profile, or pass --force to replace it"),
        MergeError::ReservedName => Error::input(
            "DEFAULT is not a usable profile name: AWS tools read [DEFAULT] as settings for every profile",
        )
        .fix("choose another --aws-profile"),
        MergeError::Unreadable(n, why) => match why {
            Unreadable::OutsideSection => unreadable(n, "comes before any [section] header")
                .fix("move it under a [profile] header or delete it, then run again"),
            Unreadable::NotKeyValue => {
                unreadable(n, "is neither a [section] header nor a key = value line")
                    .fix("fix or delete that line by hand, then run again")
            }
            Unreadable::EmptyKey => unreadable(n, "has no key before its = or :")
                .fix("fix or delete that line by hand, then run again"),
            Unreadable::DuplicateSection => unreadable(n, "repeats a [section] header")
                .fix("merge the two sections by hand, then run again"),
            Unreadable::DuplicateKey => {
                unreadable(n, "repeats a key already set in its section")
                    .fix("delete one of the two lines by hand, then run again")
            }
            Unreadable::NestedWithoutEquals => unreadable(
                n,
                "is an indented line without = under a key with an empty value",
            )
            .fix("fix or delete that line by hand, then run again"),
        },
        MergeError::Inherits(n) => Error::input(format!(
            "line {n} of {path} sets a key in [DEFAULT], which every profile inherits, so [{name}] would not hold just the new key"
        ))
        .fix("move that key into the profiles that need it, then run again"),
        MergeError::IndentedHeader(n) => Error::input(format!(
            "line {n} of {path} is an indented [section] header: after the new [{name}] AWS tools would read it as part of the secret"
        ))
        .fix("remove the indentation of that line by hand, then run again"),
        MergeError::Unverified => Error::new(
            ExitCode::Internal,
            format!("the merged {path} would not read back as written (a bug in handoff); nothing was written"),
        )
        .fix("please report it; meanwhile add the profile by hand"),
    }
}

/// Writes the access key into profile `name` of the credentials file at `path`.
pub fn write_profile(
    path: &Path,
    name: &str,
    key_id: &str,
    secret: &SecretString,
    replace: bool,
) -> Result<()> {
    if !valid_profile_name(name) {
        // prepare words the error; nothing may be created for a name it refuses.
        return prepare(path, name, key_id, secret, replace).map(|_| ());
    }
    let shown_path = shown(&path.display().to_string());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        crate::os::create_private_dir(dir).map_err(|e| {
            Error::output(format!(
                "cannot create {}: {e}",
                shown(&dir.display().to_string())
            ))
            .fix("check permissions")
        })?;
    }
    // Another handoff writing this file waits here: read, merge and rename are one step.
    let _lock = crate::file_lock::lock_beside(path)?;
    let (existing, merged) = prepare(path, name, key_id, secret, replace)?;
    let fail = |e: std::io::Error| {
        Error::output(format!("cannot write {shown_path}: {e}"))
            .fix("check free space and permissions; the file was not changed")
    };
    crate::atomic_file::report_stale(dir);
    // Unnamed (O_TMPFILE) until complete: a crash leaves no copy of any profile.
    let mut tmp = crate::atomic_file::create_in(dir).map_err(fail)?;
    tmp.write_synced(merged.as_bytes()).map_err(fail)?;
    crate::exit_hooks::stop_at("credentials-rename");
    // Another program may have changed the file since we read it: its change would be
    // lost by the rename, so refuse instead.
    let now = match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Zeroizing::new(read_capped(
            path,
            MAX_CREDENTIALS_FILE_BYTES,
            "credentials file",
        )?),
        Ok(_) => {
            return Err(fail(std::io::Error::other(
                "it was replaced by something that is not a file",
            )));
        }
        Err(_) => Zeroizing::new(Vec::new()),
    };
    if now[..] != existing[..] {
        return Err(Error::output(format!(
            "{shown_path} changed while handoff was writing it; nothing was written"
        ))
        .fix("run the command again"));
    }
    tmp.replace(path).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{OsStr, OsString};

    const E: &[(&str, &str)] = &[
        ("aws_access_key_id", "AKIA"),
        ("aws_secret_access_key", "S"),
    ];
    const SECTION: &str = "[p]\naws_access_key_id = AKIA\naws_secret_access_key = S\n";

    fn exists(file: &str) -> bool {
        match merge(file, "p", E, false) {
            Err(MergeError::Exists) => true,
            Ok(_) => false,
            Err(e) => panic!("{file:?}: {e:?}"),
        }
    }

    #[test]
    fn appends_to_empty_and_existing_files() {
        assert_eq!(&*merge("", "p", E, false).unwrap(), SECTION);
        let before = "# mine\n[default]\naws_access_key_id = X\n";
        let after = merge(before, "p", E, false).unwrap();
        assert!(after.starts_with(before));
        assert!(after.ends_with(&format!("\n\n{SECTION}")));
    }

    #[test]
    fn adds_a_newline_to_a_file_without_one() {
        let after = merge("[default]\nx = 1", "p", E, false).unwrap();
        assert!(after.starts_with("[default]\nx = 1\n\n[p]\n"));
    }

    #[test]
    fn keeps_crlf_line_ends() {
        let after = merge("[default]\r\nx = 1\r\n", "p", E, false).unwrap();
        assert_eq!(
            &*after,
            "[default]\r\nx = 1\r\n\r\n[p]\r\naws_access_key_id = AKIA\r\naws_secret_access_key = S\r\n"
        );
    }

    #[test]
    fn existing_profile_needs_replace() {
        assert_eq!(
            merge("[p]\nx = 1\n", "p", E, false).unwrap_err(),
            MergeError::Exists
        );
    }

    /// configparser's `SECTCRE` is `\[(?P<header>.+)\]` on the stripped line; an
    /// indented line after a key continues its value; `#`/`;` lines are comments; lines
    /// end at `\r\n`, `\r` or `\n`; Python strips U+001C..U+001F too.
    #[test]
    fn headers_are_recognised_exactly_as_configparser_does() {
        for file in [
            "[p]\n",
            "[p]x\n",
            "[p] ; not a comment to configparser\n",
            "  [p]\n",
            "[x]\n  [p]\n",
            "[x]\n  k = v\n  [p]\n",
            "[a]\rk = 1\r[p]\r",
            "[p]\u{c}\n",
            "\u{1c}[p]\n",
            "[x]\nk = v\n[p]\n  z = 1\n",
        ] {
            assert!(exists(file), "{file:?} holds [p]");
        }
        for file in [
            "[ p ]\n",
            "[p ]\n",
            "[p]b]\n",
            "[x]\nk = v\n  [p]\n",
            "[x]\nk = v\n\n  [p]\n",
            "[x]\nk = v\n# c\n  [p]\n",
            "[x]\nk = v\n\t[p]\n",
            "# [p]\n",
            "  ; [p]\n",
            "[x]\n[p = 1\n",
            "[P]\n",
        ] {
            assert!(!exists(file), "{file:?} has no [p]");
        }
    }

    #[test]
    fn replace_keeps_everything_else_byte_for_byte() {
        let before =
            "[a]\nk = 1\n\n[p]\naws_access_key_id = OLD\nregion = x\n\n# about b\n[b]\nk = 2\n";
        let after = merge(before, "p", E, true).unwrap();
        assert_eq!(
            *after,
            format!("[a]\nk = 1\n\n{SECTION}\n# about b\n[b]\nk = 2\n")
        );
    }

    #[test]
    fn replace_takes_the_continuation_lines_of_the_old_profile_with_it() {
        // The old merge stopped at "  [q]" and left "  [q]\n  more" under the new
        // secret, which botocore then read as "S\n[q]\nmore".
        let after = merge("[p]\nk = v\n  [q]\n  more\n", "p", E, true).unwrap();
        assert_eq!(&*after, SECTION);
        // ...and never replaces a section that only looks like [p].
        let before = "[ p ]\nk = 1\n[x]\nk = v\n  [p]\n";
        let after = merge(before, "p", E, true).unwrap();
        assert_eq!(*after, format!("{before}\n{SECTION}"));
    }

    #[test]
    fn replace_is_idempotent() {
        let once = merge("[a]\nk = 1\n[p]\nold = 1\n", "p", E, true).unwrap();
        let twice = merge(&once, "p", E, true).unwrap();
        assert_eq!(&*once, &*twice);
    }

    /// Found by `scripts/fuzz` (credentials_merge, inputs "\n\x01\r" and "\r\r"): a file
    /// ending in a bare CR gained a "\r\n" on the first merge, which flipped the second
    /// merge to CRLF. ("\x01" before a header is now refused: botocore cannot read it.)
    #[test]
    fn fuzz_regression_trailing_cr_then_replace_is_idempotent() {
        for input in ["[a]\nk = \u{1}\r", "[a]\r\r", "\r", "\r\r"] {
            let once = merge(input, "p", E, true).unwrap();
            let twice = merge(&once, "p", E, true).unwrap();
            assert_eq!(&*once, &*twice, "{input:?}");
            assert!(once.starts_with(input));
        }
    }

    #[test]
    fn files_botocore_cannot_read_are_refused_at_the_line_it_stops_at() {
        use Unreadable::*;
        for (file, line, why) in [
            ("k = 1\n", 1, OutsideSection),
            ("\u{feff}[a]\nk = 1\n", 1, OutsideSection),
            ("# c\n\n  x\n[a]\n", 3, OutsideSection),
            ("[a]\nnovalue\n", 2, NotKeyValue),
            ("[a]\n[]\n", 2, NotKeyValue),
            ("[a]\n[oops\n", 2, NotKeyValue),
            ("[a]\n= 1\n", 2, EmptyKey),
            ("[a]\n : 1\n", 2, EmptyKey),
            ("[a]\n[a]\n", 2, DuplicateSection),
            ("[p]\nk = 1\n[p]\n", 3, DuplicateSection),
            ("[a]\nk = 1\nK: 2\n", 3, DuplicateKey),
            ("[DEFAULT]\nk = 1\n[DEFAULT]\nk = 2\n", 4, DuplicateKey),
            ("[a]\ns3 =\n  x = 1\n  nope\n", 4, NestedWithoutEquals),
            ("[a]\ns3 =\n  x = 1\u{b}nope\n", 3, NestedWithoutEquals),
        ] {
            assert_eq!(
                merge(file, "p", E, true).unwrap_err(),
                MergeError::Unreadable(line, why),
                "{file:?}"
            );
        }
        for file in [
            "[a]\n[oops = 1\n",
            "[a]\ns3 =\n  x = 1\n\n  y=2\n",
            "[a]\nk = 1\n  nope\n",
            "[DEFAULT]\n[DEFAULT]\n",
            "[a]\nk = 1\n[b]\nk = 1\n",
        ] {
            assert!(merge(file, "p", E, true).is_ok(), "{file:?}");
        }
    }

    #[test]
    fn default_is_not_a_profile_and_its_keys_are_refused() {
        assert_eq!(
            merge("", "DEFAULT", E, true).unwrap_err(),
            MergeError::ReservedName
        );
        assert_eq!(
            merge("[DEFAULT]\n\naws_session_token = T\n", "p", E, true).unwrap_err(),
            MergeError::Inherits(3)
        );
        // botocore reads no nested value of [DEFAULT] without another section, but p
        // would inherit it.
        assert_eq!(
            merge("[DEFAULT]\ns3 =\n  nope\n", "p", E, true).unwrap_err(),
            MergeError::Inherits(2)
        );
        // ...nor for a section that sets the key itself (found by the differential
        // test: botocore read this file, handoff called it unreadable).
        assert_eq!(
            merge("[a]\nk3 = 1\n[DEFAULT]\nk3 =\n  nope\n", "p", E, true).unwrap_err(),
            MergeError::Inherits(4)
        );
        assert_eq!(
            merge("[a]\n[DEFAULT]\nk3 =\n  nope\n", "p", E, true).unwrap_err(),
            MergeError::Unreadable(4, Unreadable::NestedWithoutEquals)
        );
        // the keys p sets itself are overridden, not inherited
        assert!(merge("[DEFAULT]\naws_access_key_id = X\n", "p", E, true).is_ok());
    }

    #[test]
    fn an_indented_header_after_the_profile_is_refused() {
        assert_eq!(
            merge("[p]\n  k = v\n [q]\nz = 1\n", "p", E, true).unwrap_err(),
            MergeError::IndentedHeader(3)
        );
    }

    #[test]
    fn the_merged_profile_reads_back_as_the_entries() {
        let out = merge("[a]\rk = 1\r[p]\rk = 2\r  more\r", "p", E, true).unwrap();
        let got = profile(&out, "p").unwrap().unwrap();
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, E);
        assert_eq!(profile(&out, "a").unwrap().unwrap().len(), 1);
        assert!(profile(&out, "q").unwrap().is_none());
    }

    #[test]
    fn profile_names_are_checked() {
        assert!(valid_profile_name("myexample-bootstrap"));
        assert!(valid_profile_name("a-@+=,._9"));
        assert!(valid_profile_name(&"x".repeat(64)));
        for bad in [
            "", "a]b", "a\nb", "a\rb", "a b", " a", "a ", "[x", "-x", "--force", "a\tb", "é",
        ] {
            assert!(!valid_profile_name(bad), "{bad:?}");
        }
        assert!(!valid_profile_name(&"x".repeat(65)));
    }

    fn fake_env(
        vars: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&[u8]) -> Option<OsString> {
        move |k| {
            vars.iter()
                .find(|(n, _)| n.as_bytes() == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    fn fake_passwd(user: User<'_>) -> Option<Vec<u8>> {
        match user {
            User::Me => Some(b"/home/me/".to_vec()),
            User::Named(b"bob") => Some(b"/home/bob".to_vec()),
            User::Named(b"root") => Some(b"/".to_vec()),
            User::Named(_) => None,
        }
    }

    fn path(setting: Option<&str>, env: &'static [(&'static str, &'static str)]) -> Result<String> {
        resolve(setting.map(OsStr::new), &fake_env(env), &fake_passwd)
            .map(|p| p.to_str().unwrap().to_string())
    }

    /// Python's `os.path.expandvars` then `os.path.expanduser`, as botocore's
    /// `raw_config_parse` applies them.
    #[test]
    fn the_path_is_expanded_as_botocore_expands_it() {
        const H: &[(&str, &str)] = &[("HOME", "/h/"), ("D", "/d"), ("T", "~/t")];
        for (setting, want) in [
            (None, "/h/.aws/credentials"),
            (Some("/abs/c"), "/abs/c"),
            (Some("rel/c"), "rel/c"),
            (Some("~"), "/h"),
            (Some("~/c"), "/h/c"),
            (Some("~bob/c"), "/home/bob/c"),
            (Some("~bob"), "/home/bob"),
            (Some("~root"), "/"),
            (Some("~root/c"), "/c"),
            (Some("$D/c"), "/d/c"),
            (Some("${D}c"), "/dc"),
            (Some("$Dc"), "$Dc"),
            (Some("$NOPE/${NOPE}/${}/$/${D"), "$NOPE/${NOPE}/${}/$/${D"),
            (Some("$T"), "/h/t"),
            (Some("/x/~/c"), "/x/~/c"),
        ] {
            assert_eq!(path(setting, H).unwrap(), want, "{setting:?}");
        }
        // HOME unset: the password file's entry for this user, as Python does.
        assert_eq!(path(Some("~/c"), &[]).unwrap(), "/home/me/c");
    }

    #[test]
    fn paths_botocore_would_not_find_are_refused_with_the_reason() {
        const H: &[(&str, &str)] = &[("HOME", "/h")];
        let err = |setting, env| path(setting, env).unwrap_err().to_string();
        assert_eq!(
            err(Some(""), H),
            "error: AWS_SHARED_CREDENTIALS_FILE is set but empty, so AWS tools read no credentials file\n\
             hint: unset AWS_SHARED_CREDENTIALS_FILE to use ~/.aws/credentials, or set it to a file"
        );
        assert_eq!(
            err(Some("~nobody/c"), H),
            "error: cannot find the home directory of user nobody named in AWS_SHARED_CREDENTIALS_FILE\n\
             hint: set AWS_SHARED_CREDENTIALS_FILE to a full path"
        );
        assert_eq!(
            err(None, &[("HOME", "")]),
            "error: cannot find the AWS credentials file: HOME is empty\n\
             hint: set HOME, or AWS_SHARED_CREDENTIALS_FILE to a full path"
        );
        let no_passwd = |_: User<'_>| None;
        let e = resolve(None, &fake_env(&[]), &no_passwd).unwrap_err();
        assert_eq!(
            e.to_string(),
            "error: cannot find the AWS credentials file: HOME is not set and your user is not in /etc/passwd\n\
             hint: set HOME, or AWS_SHARED_CREDENTIALS_FILE to a full path"
        );
        assert_eq!(e.code, ExitCode::Output);
    }

    /// Each refusal as the user sees it, for a file `credentials` holding `text`.
    fn refusal(text: &str, name: &str, replace: bool) -> (String, String, ExitCode) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(&file, text).unwrap();
        let e = check_profile(&file, name, replace).unwrap_err();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
        let shown_path = shown(&file.display().to_string());
        (
            e.to_string().replace(&shown_path, "FILE"),
            shown_path,
            e.code,
        )
    }

    #[test]
    fn refusals_say_what_failed_and_how_to_fix_it() {
        use ExitCode::{Input, Output};
        for (text, name, replace, want, code) in [
            (
                "",
                "a b",
                false,
                "error: a b is not a usable profile name\n\
                 hint: use letters, digits and - _ . @ + = , (at most 64, not starting with -)",
                Input,
            ),
            (
                "",
                "DEFAULT",
                false,
                "error: DEFAULT is not a usable profile name: AWS tools read [DEFAULT] as settings for every profile\n\
                 hint: choose another --aws-profile",
                Input,
            ),
            (
                "[p]\n",
                "p",
                false,
                "error: profile [p] already exists in FILE\n\
                 hint: choose another --aws-profile, or pass --force to replace it",
                Output,
            ),
            (
                "k = 1\n",
                "p",
                true,
                "error: line 1 of FILE comes before any [section] header, so AWS tools cannot read the file\n\
                 hint: move it under a [profile] header or delete it, then run again",
                Input,
            ),
            (
                "[a]\nnovalue\n",
                "p",
                true,
                "error: line 2 of FILE is neither a [section] header nor a key = value line, so AWS tools cannot read the file\n\
                 hint: fix or delete that line by hand, then run again",
                Input,
            ),
            (
                "[a]\n= wJalrXUtnFEMI\n",
                "p",
                true,
                "error: line 2 of FILE has no key before its = or :, so AWS tools cannot read the file\n\
                 hint: fix or delete that line by hand, then run again",
                Input,
            ),
            (
                "[p]\n[p]\n",
                "p",
                true,
                "error: line 2 of FILE repeats a [section] header, so AWS tools cannot read the file\n\
                 hint: merge the two sections by hand, then run again",
                Input,
            ),
            (
                "[a]\nk = wJalrXUtnFEMI\nk = 2\n",
                "p",
                true,
                "error: line 3 of FILE repeats a key already set in its section, so AWS tools cannot read the file\n\
                 hint: delete one of the two lines by hand, then run again",
                Input,
            ),
            (
                "[a]\ns3 =\n  wJalrXUtnFEMI\n",
                "p",
                true,
                "error: line 3 of FILE is an indented line without = under a key with an empty value, so AWS tools cannot read the file\n\
                 hint: fix or delete that line by hand, then run again",
                Input,
            ),
            (
                "[DEFAULT]\naws_session_token = wJalrXUtnFEMI\n",
                "p",
                true,
                "error: line 2 of FILE sets a key in [DEFAULT], which every profile inherits, so [p] would not hold just the new key\n\
                 hint: move that key into the profiles that need it, then run again",
                Input,
            ),
            (
                "[p]\n  k = v\n [q]\n",
                "p",
                true,
                "error: line 3 of FILE is an indented [section] header: after the new [p] AWS tools would read it as part of the secret\n\
                 hint: remove the indentation of that line by hand, then run again",
                Input,
            ),
        ] {
            let (got, _, got_code) = refusal(text, name, replace);
            assert_eq!(got, want, "{text:?}");
            assert_eq!(got_code, code, "{text:?}");
            assert!(!got.contains("wJalr"), "a value from the file: {got}");
        }
    }
}
