//! Parsing the `Authorization` header and `X-Amz-Date`.

use std::time::SystemTime;

/// `Credential=AKID/DATE/REGION/SERVICE/aws4_request`'s scope part.
#[derive(Debug, PartialEq, Eq)]
pub struct Scope<'a> {
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub terminator: &'a str,
    /// The scope as the header wrote it, `DATE/REGION/SERVICE/aws4_request`.
    pub text: &'a str,
}

/// The parts of an `Authorization` header, borrowed from it.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    pub scope: Scope<'a>,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

/// The longest header accepted (an honest one is a few hundred bytes).
const MAX_HEADER: usize = 4096;

impl<'a> Authorization<'a> {
    pub fn parse(header: &'a str) -> Option<Authorization<'a>> {
        if header.len() > MAX_HEADER {
            return None;
        }
        let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => return None,
            };
            if slot.replace(value).is_some() {
                return None;
            }
        }
        let (access_key_id, scope_text) = credential?.split_once('/')?;
        let mut parts = scope_text.split('/');
        let scope = Scope {
            date: parts.next()?,
            region: parts.next()?,
            service: parts.next()?,
            terminator: parts.next()?,
            text: scope_text,
        };
        if parts.next().is_some() || access_key_id.is_empty() {
            return None;
        }
        let signed_headers: Vec<&str> = signed_headers?.split(';').collect();
        if signed_headers
            .iter()
            .any(|h| h.is_empty() || h.bytes().any(|c| c.is_ascii_uppercase()))
        {
            return None;
        }
        let signature = signature?;
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Authorization {
            access_key_id,
            scope,
            signed_headers,
            signature,
        })
    }
}

/// `20221110T120000Z` as a time.
pub fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() != 16
        || b[8] != b'T'
        || b[15] != b'Z'
        || !text[..8]
            .bytes()
            .chain(text[9..15].bytes())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    humantime::parse_rfc3339(&rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20221110/us-east-1/kms-xks-proxy/aws4_request, \
        SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_what_aws_sends() {
        let parsed = Authorization::parse(GOOD).unwrap();
        assert_eq!(parsed.access_key_id, "AKIDEXAMPLE");
        assert_eq!(
            parsed.scope.text,
            "20221110/us-east-1/kms-xks-proxy/aws4_request"
        );
        assert_eq!(
            (parsed.scope.date, parsed.scope.region, parsed.scope.service),
            ("20221110", "us-east-1", "kms-xks-proxy")
        );
        assert_eq!(parsed.signed_headers, ["host", "x-amz-date"]);
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "Bearer x",
            &GOOD.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
            &GOOD.replace("Signature=0123", "Signature=zz23"),
            &GOOD.replace("/aws4_request", "/aws4_request/extra"),
            &GOOD.replace("Credential=AKIDEXAMPLE/", "Credential=/"),
            &GOOD.replace("host;", "Host;"),
            &format!("{GOOD}, Signature=00"),
            &format!("{GOOD}, Extra=1"),
            &format!("{GOOD}{}", " ".repeat(5000)),
        ] {
            assert_eq!(Authorization::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn amz_dates() {
        let time = parse_amz_date("20221110T120000Z").unwrap();
        assert_eq!(
            humantime::format_rfc3339(time).to_string(),
            "2022-11-10T12:00:00Z"
        );
        for bad in [
            "2022-11-10T12:00:00Z",
            "20221110T120000",
            "20221310T120000Z",
            "2022111XT120000Z",
            "",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }
}
