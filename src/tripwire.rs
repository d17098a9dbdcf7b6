//! The rotation's tripwire: before `open --rotate` changes anything, AWS is asked when
//! the received key was last used (GetAccessKeyLastUsed). A use before this run began
//! means someone else may hold a copy, and the rotation stops (exit 9) unless
//! `--force`. handoff's own earlier calls with the key (a `--verify`, a first
//! `--rotate` that failed) are noted in [`crate::mint::key_uses`], and a recorded use
//! that one of them explains is not a stranger's.
//!
//! AWS keeps only the *last* use, floored to the minute: a call sent at `o` is reported
//! at `floor_minute(o)`, so a reported time explains as own only within
//! `[floor_minute(o) − skew, o + skew]` (skew: the two clocks' difference). Each earlier
//! open that calls AWS with the key asks first ([`note_earlier_use`]), so that its own
//! call does not erase a stranger's use before it: what it saw is noted, and trips a
//! later rotation.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::aws::errors::{Whose, failed};
use crate::aws::{Iam, KeyUse};
use crate::error::{Error, ExitCode, Result};
use crate::mint::key_uses;

/// Uses AWS recorded this long before the run began still count as this run's own:
/// AWS stores the time of last use coarsely, and clocks differ.
const DEFAULT_SLACK: Duration = Duration::from_secs(120);

/// How far this machine's clock may be from AWS's when a reported use is matched to
/// one of handoff's own calls.
const DEFAULT_SKEW: Duration = Duration::from_secs(15);

fn slack() -> Duration {
    // Debug builds only: tests cannot wait two minutes between a use and a rotation.
    if cfg!(debug_assertions)
        && let Some(s) = std::env::var("HANDOFF_TEST_ROTATE_SLACK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
    {
        return Duration::from_secs(s);
    }
    DEFAULT_SLACK
}

fn skew() -> SignedDuration {
    SignedDuration::try_from(DEFAULT_SKEW.min(slack())).unwrap_or_default()
}

/// Whether a recorded use happened before this run (minus the slack).
fn used_before(u: &KeyUse, started: Timestamp) -> bool {
    let cutoff = started
        .checked_sub(SignedDuration::try_from(slack()).unwrap_or_default())
        .unwrap_or(started);
    u.when < cutoff
}

/// Whether a recorded use is one of handoff's own calls on this machine, sent before
/// this run (`own`: when they were sent; this run's own are explained by the slack of
/// [`used_before`], and would, floored, explain any use in the current minute): AWS
/// reports a call at `o` as `o` floored to the minute.
fn is_own(u: &KeyUse, own: &[Timestamp], started: Timestamp, skew: SignedDuration) -> bool {
    own.iter().filter(|&&o| o < started).any(|&o| {
        let floored = o.round(
            jiff::TimestampRound::new()
                .smallest(jiff::Unit::Minute)
                .mode(jiff::RoundMode::Trunc),
        );
        let floored = floored.unwrap_or(o);
        u.when >= floored - skew && u.when <= o + skew
    })
}

fn revoke_command(user: &str, id: &str, aws_flags: &str) -> String {
    format!("handoff revoke{aws_flags} --user {user} --access-key-id {id}")
}

/// The tripwire, run before any other call made with the received key (each call is a
/// use that AWS records, hiding the earlier ones): if AWS recorded a use before this
/// run began, or an earlier open saw one, someone else may hold a copy. Refused (9)
/// unless `force`.
pub fn check_unused(
    received: &dyn Iam,
    id: &str,
    user: &str,
    force: bool,
    started: Timestamp,
    aws_flags: &str,
) -> Result<()> {
    let used = received
        .key_last_used(id)
        .map_err(|e| failed(&e, Whose::Received))?;
    // A stranger's use an earlier open here saw (and its own call then hid) counts
    // whatever AWS reports now.
    let remembered = key_uses::strangers(id)
        .into_iter()
        .max()
        .map(|when| KeyUse {
            when,
            service: "unknown".into(),
            region: "unknown".into(),
        });
    let own = key_uses::own(id);
    let stranger = match used {
        Some(u) if used_before(&u, started) && !is_own(&u, &own, started, skew()) => Some(u),
        Some(u) if used_before(&u, started) && remembered.is_none() => {
            crate::say!(
                "• the received key was last used at {} by handoff on this machine (an earlier open)",
                u.when
            );
            None
        }
        _ => remembered,
    };
    let Some(u) = stranger else {
        return Ok(());
    };
    // This run's own call just hid that use from AWS's record: it is kept here, so
    // that the next run (with --force, or not) still sees it.
    key_uses::record_stranger(id, u.when);
    // handoff's own earlier call, seen through a clock that is off, looks the same.
    let near_own = own
        .into_iter()
        .filter(|&o| o < started)
        .any(|o| u.when.duration_since(o).abs() <= SignedDuration::from_mins(5));
    let what = format!(
        "the received key {id} was already used at {} (service {}, region {}), before you opened the bundle: someone else may have a copy{}",
        u.when,
        u.service,
        u.region,
        if near_own {
            " (or, if this machine's clock is off by minutes, it was handoff's own earlier call: set the clock right, timedatectl set-ntp true)"
        } else {
            ""
        }
    );
    if !force {
        return Err(Error::new(ExitCode::Refused, format!("{what}; nothing was changed or delivered"))
            .fix(format!("tell the sender at once; to rotate anyway (the copy dies with the old key) add --force, or have the sender (or an administrator) delete it: {}", revoke_command(user, id, aws_flags))));
    }
    crate::say!(
        "WARNING: {}. Rotating anyway (--force).",
        crate::sanitize::escape_raw(&what)
    );
    Ok(())
}

/// Before an open's first call with the received key (`--verify`), which would hide
/// any earlier use: asks AWS when the key was last used, warns when that was a
/// stranger's, and notes it so that a later `--rotate` still trips. Best effort: a key
/// not allowed GetAccessKeyLastUsed is not asked.
pub fn note_earlier_use(received: &dyn Iam, id: &str, started: Timestamp) {
    let Ok(Some(u)) = received.key_last_used(id) else {
        return;
    };
    if !used_before(&u, started) || is_own(&u, &key_uses::own(id), started, skew()) {
        return;
    }
    key_uses::record_stranger(id, u.when);
    crate::say!(
        "warning: AWS says the received key was already used at {} (service {}, region {}), before you opened the bundle: someone else may have a copy; tell the sender",
        u.when,
        crate::sanitize::escape_raw(&u.service),
        crate::sanitize::escape_raw(&u.region)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn use_at(when: &str) -> KeyUse {
        KeyUse {
            when: when.parse().unwrap(),
            service: "iam".into(),
            region: "N/A".into(),
        }
    }

    #[test]
    fn only_uses_well_before_the_run_count() {
        let started: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        assert!(used_before(&use_at("2026-01-01T11:00:00Z"), started));
        assert!(used_before(&use_at("2026-01-01T11:57:59Z"), started));
        // within the slack: may be this run's own call, recorded coarsely
        assert!(!used_before(&use_at("2026-01-01T11:58:30Z"), started));
        assert!(!used_before(&use_at("2026-01-01T12:00:01Z"), started));
    }

    #[test]
    fn a_use_is_handoffs_own_only_where_aws_would_report_its_call() {
        let sent: Timestamp = "2026-01-01T11:00:40Z".parse().unwrap();
        let skew = SignedDuration::from_secs(15);
        let later: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let is_own = |u: &KeyUse, own: &[Timestamp], skew| is_own(u, own, later, skew);
        // AWS floors to the minute: 11:00:00 is the call at 11:00:40.
        assert!(is_own(&use_at("2026-01-01T11:00:00Z"), &[sent], skew));
        assert!(is_own(&use_at("2026-01-01T11:00:40Z"), &[sent], skew));
        // Clocks differ by a few seconds either way.
        assert!(is_own(&use_at("2026-01-01T10:59:50Z"), &[sent], skew));
        assert!(is_own(&use_at("2026-01-01T11:00:55Z"), &[sent], skew));
        // Found by the second issue-13 review (F9): a stranger's use a minute or two
        // after handoff's call was taken for handoff's.
        assert!(!is_own(&use_at("2026-01-01T11:01:00Z"), &[sent], skew));
        assert!(!is_own(&use_at("2026-01-01T11:02:00Z"), &[sent], skew));
        assert!(!is_own(&use_at("2026-01-01T10:59:00Z"), &[sent], skew));
        assert!(!is_own(&use_at("2026-01-01T11:00:00Z"), &[], skew));
        // This run's own call explains nothing: floored, it would cover its minute.
        let now: Timestamp = "2026-01-01T11:00:40Z".parse().unwrap();
        assert!(!super::is_own(
            &use_at("2026-01-01T11:00:10Z"),
            &[now],
            now,
            skew
        ));
    }
}
