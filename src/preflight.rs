//! Checks of the user's input that several commands' `resolve` stages share, made
//! before anything is changed anywhere: each names the flag at fault and its rule.

use jiff::SignedDuration;

use crate::error::{Error, Result, shown};

/// Parses `72h`, `7d`, `30m`, `2w` into a duration (1 minute to 366 days).
pub fn parse_duration(s: &str) -> Result<SignedDuration> {
    let bad = || {
        Error::input(format!("--expires {} is not a duration", shown(s)))
            .fix("write a number and a unit: 30m, 72h, 7d, 2w (1 minute to 366 days)")
    };
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let minutes = match unit {
        "m" | "min" => n,
        "h" => n.saturating_mul(60),
        "d" => n.saturating_mul(60 * 24),
        "w" => n.saturating_mul(60 * 24 * 7),
        _ => return Err(bad()),
    };
    if !(1..=366 * 24 * 60).contains(&minutes) {
        return Err(Error::input(format!(
            "--expires {} is out of range: it must be 1 minute to 366 days",
            shown(s)
        ))
        .fix("pass a duration from 1m to 366d, e.g. 72h"));
    }
    Ok(SignedDuration::from_mins(minutes))
}

/// `--user NAME` breaks IAM's rule for user names.
pub fn bad_user_name(name: &str) -> Error {
    Error::input(format!(
        "--user {} is not a valid IAM user name",
        shown(name)
    ))
    .fix("use 1-64 letters, digits and + = , . @ _ - (e.g. --user mgmt-org-admin)")
}

/// The sender's own input (a flag) broke a payload rule: name the flag and the limit,
/// not "the bundle's payload is malformed".
pub fn sender_input(e: crate::bundle::FieldError) -> Error {
    let flag = match e.field {
        "account_id" => "--account-id",
        "user_name" => "--user",
        "note" => "--note",
        other => other,
    };
    Error::input(format!("{flag} {}", e.rule)).fix(format!("change {flag} and run again"))
}

/// Checks `--note` before anything is changed anywhere.
pub fn check_note(note: Option<&str>) -> Result<()> {
    if let Some(n) = note
        && n.chars().count() > crate::bundle::MAX_NOTE_CHARS
    {
        return Err(Error::input(format!(
            "--note is {} characters; the limit is {}",
            n.chars().count(),
            crate::bundle::MAX_NOTE_CHARS
        ))
        .fix("shorten the note"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("72h").unwrap(),
            SignedDuration::from_hours(72)
        );
        assert_eq!(
            parse_duration("7d").unwrap(),
            SignedDuration::from_hours(168)
        );
        assert_eq!(
            parse_duration("30m").unwrap(),
            SignedDuration::from_mins(30)
        );
        assert_eq!(
            parse_duration("2w").unwrap(),
            SignedDuration::from_hours(336)
        );
        for bad in [
            "",
            "h",
            "0h",
            "-1h",
            "5",
            "5y",
            "400d",
            "99999999999999999999d",
            "1.5h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
