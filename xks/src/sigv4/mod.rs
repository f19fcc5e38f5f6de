//! AWS Signature Version 4, as AWS KMS signs XKS requests: the canonical request is
//! rebuilt from exactly the headers the client listed in `SignedHeaders` (AWS KMS signs
//! `host;x-amz-date`, curl adds `content-type`), the raw path, an empty query and the
//! SHA-256 of the body. Every failure is a 401 AuthenticationFailedException.

mod canonical;
mod credentials;
mod header;
mod sign;

pub use credentials::{Credential, Credentials};
pub use sign::{amz_date, sign};

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use crate::error::{ErrorKind, XksError};
use canonical::{canonical_request_hash, string_to_sign};
use header::Authorization;

/// The largest clock difference accepted between the signer and this server.
pub const MAX_SKEW: Duration = Duration::from_secs(300);

/// What SigV4 verification needs of an HTTP request.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The raw path, as sent (with the operator's prefix).
    pub path: &'a str,
    pub query: &'a str,
    /// Header names in any case; repeated headers appear several times.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    /// The values of header `name`, comma-joined when it is repeated.
    fn header(&self, name: &str) -> Option<Cow<'a, str>> {
        let mut values = self
            .headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value);
        let first = values.next()?;
        match values.next() {
            None => Some(Cow::Borrowed(first)),
            Some(second) => {
                let mut joined = format!("{first},{second}");
                for value in values {
                    joined.push(',');
                    joined.push_str(value);
                }
                Some(Cow::Owned(joined))
            }
        }
    }
}

#[cfg(test)]
impl<'a> SignedRequest<'a> {
    /// A GET of `/` with no body, for tests.
    pub(crate) fn get(headers: &'a [(&'a str, &'a str)]) -> SignedRequest<'a> {
        SignedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers,
            body: b"",
        }
    }
}

fn denied(message: impl Into<String>) -> XksError {
    XksError::new(ErrorKind::AuthenticationFailed, message)
}

/// Verifies `request` against `credentials` for `region`/`service` at time `now`;
/// returns the access key id that signed it.
pub fn verify(
    request: &SignedRequest<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<String, XksError> {
    let header = request
        .header("authorization")
        .ok_or_else(|| denied("missing Authorization header"))?;
    let authorization = Authorization::parse(&header)
        .ok_or_else(|| denied("malformed SigV4 Authorization header"))?;
    let amz_date = request
        .header("x-amz-date")
        .ok_or_else(|| denied("missing X-Amz-Date header"))?;
    let signed_at =
        header::parse_amz_date(&amz_date).ok_or_else(|| denied("malformed X-Amz-Date header"))?;
    let skew = now
        .duration_since(signed_at)
        .or_else(|e| Ok::<_, ()>(e.duration()))
        .unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(denied(
            "X-Amz-Date is more than 5 minutes from the server's clock",
        ));
    }
    let scope = &authorization.scope;
    if scope.date != amz_date.get(..8).unwrap_or_default() {
        return Err(denied(
            "the credential scope's date does not match X-Amz-Date",
        ));
    }
    if scope.region != region || scope.service != service || scope.terminator != "aws4_request" {
        return Err(denied(
            "the credential scope's region or service is not this key store's",
        ));
    }
    for required in ["host", "x-amz-date"] {
        if !authorization.signed_headers.contains(&required) {
            return Err(denied(format!("{required} must be a signed header")));
        }
    }
    let credential = credentials
        .find(authorization.access_key_id)
        .ok_or_else(|| denied("unknown access key id"))?;
    let canonical = canonical_request_hash(request, &authorization.signed_headers)
        .ok_or_else(|| denied("a signed header is missing from the request"))?;
    let to_sign = string_to_sign(&amz_date, scope.text, &canonical);
    if credential.signature_matches(
        scope.date,
        region,
        service,
        &to_sign,
        authorization.signature,
    ) {
        Ok(authorization.access_key_id.to_string())
    } else {
        Err(denied("the signature does not match"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published SigV4 test suite, "get-vanilla".
    fn vanilla(authorization: &str) -> Vec<(String, String)> {
        vec![
            ("Host".into(), "example.amazonaws.com".into()),
            ("X-Amz-Date".into(), "20150830T123600Z".into()),
            ("Authorization".into(), authorization.into()),
        ]
    }

    const VANILLA: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
        SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn check(
        headers: &[(String, String)],
        now: SystemTime,
        region: &str,
    ) -> Result<String, XksError> {
        let credentials = Credentials::new(vec![
            Credential::new("OTHERKEY", "other secret"),
            Credential::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ]);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let request = SignedRequest::get(&headers);
        verify(&request, &credentials, region, "service", now)
    }

    #[test]
    fn a_repeated_header_is_its_values_comma_joined() {
        let headers = [
            ("X-Seen", "a"),
            ("Host", "h"),
            ("x-seen", "b"),
            ("X-SEEN", "c"),
        ];
        let request = SignedRequest::get(&headers);
        assert_eq!(request.header("x-seen").as_deref(), Some("a,b,c"));
        assert_eq!(request.header("host").as_deref(), Some("h"));
        assert_eq!(request.header("absent"), None);
    }

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn aws_test_suite_get_vanilla() {
        let now = at("2015-08-30T12:38:00Z");
        assert_eq!(
            check(&vanilla(VANILLA), now, "us-east-1"),
            Ok("AKIDEXAMPLE".to_string())
        );
    }

    #[test]
    fn every_failure_is_a_401() {
        let now = at("2015-08-30T12:36:00Z");
        let cases = [
            (
                vanilla(&VANILLA.replace("5fa00f", "5fa00e")),
                now,
                "us-east-1",
                "does not match",
            ),
            (
                vanilla(&VANILLA.replace("5fa00fa31553b73ebf", "5FA00FA31553B73EBF")),
                now,
                "us-east-1",
                "does not match",
            ),
            (
                vanilla(&VANILLA.replace("AKIDEXAMPLE", "AKIDUNKNOWN")),
                now,
                "us-east-1",
                "unknown access key",
            ),
            (
                vanilla(&VANILLA.replace("AKIDEXAMPLE", "not an akid!")),
                now,
                "us-east-1",
                "unknown access key",
            ),
            (
                vanilla(VANILLA),
                at("2015-08-30T12:41:01Z"),
                "us-east-1",
                "5 minutes",
            ),
            (
                vanilla(VANILLA),
                at("2015-08-30T12:30:59Z"),
                "us-east-1",
                "5 minutes",
            ),
            (vanilla(VANILLA), now, "eu-west-1", "region"),
            (
                vanilla(&VANILLA.replace("host;x-amz-date", "x-amz-date")),
                now,
                "us-east-1",
                "host must be",
            ),
            (vanilla("garbage"), now, "us-east-1", "malformed"),
            (
                vanilla(VANILLA)[..2].to_vec(),
                now,
                "us-east-1",
                "missing Authorization",
            ),
        ];
        for (headers, now, region, expected) in cases {
            let error = check(&headers, now, region).unwrap_err();
            assert_eq!(error.kind, ErrorKind::AuthenticationFailed);
            assert!(error.message.contains(expected), "{expected}: {error}");
        }
    }
}
