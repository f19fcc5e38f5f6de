//! Parsing the `Authorization` header and `X-Amz-Date`.

use std::time::SystemTime;

/// `Credential=AKID/DATE/REGION/SERVICE/aws4_request`'s scope part.
#[derive(Debug, PartialEq, Eq)]
pub struct Scope {
    pub date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub scope: Scope,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// The longest header accepted (an honest one is a few hundred bytes).
const MAX_HEADER: usize = 4096;

impl Authorization {
    pub fn parse(header: &str) -> Option<Authorization> {
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
        let mut credential = credential?.split('/');
        let access_key_id = credential.next()?.to_string();
        let scope = Scope {
            date: credential.next()?.to_string(),
            region: credential.next()?.to_string(),
            service: credential.next()?.to_string(),
            terminator: credential.next()?.to_string(),
        };
        if credential.next().is_some() || access_key_id.is_empty() {
            return None;
        }
        let signed_headers: Vec<String> = signed_headers?.split(';').map(str::to_string).collect();
        if signed_headers
            .iter()
            .any(|h| h.is_empty() || h.chars().any(|c| c.is_ascii_uppercase()))
        {
            return None;
        }
        let signature = signature?.to_string();
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
            parsed.scope.to_string(),
            "20221110/us-east-1/kms-xks-proxy/aws4_request"
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
