//! IAM's names and the documents handoff writes into IAM: the user-name rule, the
//! default policy, the expiry policy, the tag on users handoff creates, the console
//! sign-in URL, and reading a user name back from an ARN. Pure code, no calls.

use jiff::Timestamp;

use super::Caller;

/// The rule an IAM user name follows (IAM's own: `[\w+=,.@-]{1,64}`).
pub const USER_NAME_RULE: &str = "must be 1-64 of A-Z a-z 0-9 + = , . @ _ -";

/// Whether `name` is a valid IAM user name.
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// The policy every run attaches unless told otherwise.
pub const DEFAULT_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
/// The inline policy that makes AWS deny everything after `--expires`.
pub const EXPIRY_POLICY: &str = "handoff-expiry";
/// The tag marking users handoff created.
pub const CREATED_BY_TAG: &str = "created-by";

/// The deny-after policy document.
pub fn expiry_policy(at: Timestamp) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "HandoffExpiry",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": at.to_string()}}
        }]
    })
    .to_string()
}

/// The deny date of an expiry policy handoff wrote ([`expiry_policy`]); None for any
/// other document.
pub fn expiry_of(document: &str) -> Option<Timestamp> {
    let v: serde_json::Value = serde_json::from_str(document).ok()?;
    v["Statement"][0]["Condition"]["DateGreaterThan"]["aws:CurrentTime"]
        .as_str()?
        .parse()
        .ok()
}

/// `%XX` escapes decoded (IAM URL-encodes policy documents); text without a valid
/// escape is returned as it is.
pub fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// The console sign-in URL for the caller's partition.
pub fn sign_in_url(caller: &Caller, alias: Option<&str>) -> String {
    let who = alias.unwrap_or(&caller.account);
    match caller.partition() {
        "aws-cn" => format!("https://{who}.signin.amazonaws.cn/console"),
        "aws-us-gov" => format!("https://{who}.signin.amazonaws-us-gov.com/console"),
        _ => format!("https://{who}.signin.aws.amazon.com/console"),
    }
}

/// The user name of an IAM user ARN (`arn:aws:iam::1:user/path/name` → `name`).
pub fn user_of_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let path = resource.strip_prefix("user/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_policy_reads_back_its_date_plain_or_url_encoded() {
        let at: Timestamp = "2026-12-06T08:00:00Z".parse().unwrap();
        let doc = expiry_policy(at);
        assert_eq!(expiry_of(&doc), Some(at));
        let encoded: String = doc
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_eq!(percent_decoded(&encoded), doc);
        assert_eq!(expiry_of(&percent_decoded(&encoded)), Some(at));
        assert_eq!(expiry_of("{\"Version\":\"2012-10-17\"}"), None);
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(percent_decoded("%zz%4"), "%zz%4");
    }

    #[test]
    fn expiry_policy_denies_everything_after_the_instant() {
        let doc: serde_json::Value =
            serde_json::from_str(&expiry_policy("2026-11-26T10:00:00Z".parse().unwrap())).unwrap();
        let st = &doc["Statement"][0];
        assert_eq!(st["Effect"], "Deny");
        assert_eq!(st["Action"], "*");
        assert_eq!(
            st["Condition"]["DateGreaterThan"]["aws:CurrentTime"],
            "2026-11-26T10:00:00Z"
        );
    }

    #[test]
    fn sign_in_urls_follow_alias_and_partition() {
        let c = Caller {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:root".into(),
        };
        assert_eq!(
            sign_in_url(&c, None),
            "https://123456789012.signin.aws.amazon.com/console"
        );
        assert_eq!(
            sign_in_url(&c, Some("myexample")),
            "https://myexample.signin.aws.amazon.com/console"
        );
        let cn = Caller {
            account: "123456789012".into(),
            arn: "arn:aws-cn:iam::123456789012:root".into(),
        };
        assert!(sign_in_url(&cn, None).ends_with(".signin.amazonaws.cn/console"));
    }

    #[test]
    fn user_names() {
        assert!(valid_user_name("mgmt-org-admin"));
        assert!(!valid_user_name(""));
        assert!(!valid_user_name("a b"));
        assert!(!valid_user_name(&"a".repeat(65)));
    }

    #[test]
    fn user_names_come_from_user_arns_only() {
        assert_eq!(
            user_of_arn("arn:aws:iam::123456789012:user/boot"),
            Some("boot")
        );
        assert_eq!(
            user_of_arn("arn:aws:iam::123456789012:user/a/b/boot"),
            Some("boot")
        );
        assert_eq!(
            user_of_arn("arn:aws:sts::123456789012:assumed-role/r/boot"),
            None
        );
        assert_eq!(user_of_arn("arn:aws:iam::123456789012:user/"), None);
        assert_eq!(user_of_arn("nonsense"), None);
    }
}
