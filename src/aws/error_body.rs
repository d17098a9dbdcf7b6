//! The code and message of an error answer whose shape the SDK does not parse. IAM and
//! STS answer `<ErrorResponse><Error>…`; EC2-style services, proxies and IAM-compatible
//! servers (moto's authentication errors) answer `<Response><Errors><Error>…`, and then
//! the SDK yields neither. botocore reads both; so does this, leniently: the first
//! `<Code>` and `<Message>` inside an `<Error>` element, wherever it is nested.

/// `(code, message)` from an error body, each when present and non-empty.
pub fn fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(text) = std::str::from_utf8(body) else {
        return (None, None);
    };
    let Some(start) = text.find("<Error>") else {
        return (None, None);
    };
    let error = &text[start..];
    let error = error.find("</Error>").map_or(error, |end| &error[..end]);
    (element(error, "Code"), element(error, "Message"))
}

/// The text of the first `<name>…</name>` in `xml`, unescaped, when not empty.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let from = xml.find(&open)? + open.len();
    let len = xml[from..].find(&close)?;
    let text = unescape(xml[from..from + len].trim());
    (!text.is_empty()).then_some(text)
}

/// XML's five predefined entities and numeric character references.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let c = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ec2_shape_moto_uses_for_authentication_errors_is_read() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></Errors><RequestID>x</RequestID></Response>";
        assert_eq!(
            fields(body),
            (
                Some("InvalidClientTokenId".into()),
                Some("The security token included in the request is invalid.".into())
            )
        );
    }

    #[test]
    fn the_iam_shape_is_read_too() {
        let body = b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/a is not authorized &amp; &lt;x&gt; &#39;y&#x27;</Message></Error></ErrorResponse>";
        let (code, message) = fields(body);
        assert_eq!(code.as_deref(), Some("AccessDenied"));
        assert_eq!(
            message.as_deref(),
            Some("User: arn:aws:iam::1:user/a is not authorized & <x> 'y'")
        );
    }

    #[test]
    fn what_is_not_an_error_element_yields_nothing() {
        assert_eq!(fields(b""), (None, None));
        assert_eq!(fields(b"<<<this is not xml"), (None, None));
        assert_eq!(fields(b"<Code>X</Code>"), (None, None));
        assert_eq!(fields(&[0xff, 0xfe]), (None, None));
        assert_eq!(
            fields(b"<Error><Code></Code><Message> </Message></Error>"),
            (None, None)
        );
        // A code outside the error element is not taken for the error's.
        assert_eq!(
            fields(b"<Error><Message>m</Message></Error><Code>C</Code>"),
            (None, Some("m".into()))
        );
        // A stray ampersand is kept as it is.
        assert_eq!(
            fields(b"<Error><Message>a & b &bogus; &#xZZ;</Message></Error>").1,
            Some("a & b &bogus; &#xZZ;".into())
        );
    }
}
