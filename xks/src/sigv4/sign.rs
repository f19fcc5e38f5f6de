//! Signing, for clients of an XKS proxy (`hyok-bench`): the same canonical request,
//! over `host` and `x-amz-date`, as AWS KMS signs.

use std::time::SystemTime;

use super::canonical::{canonical_request_hash, string_to_sign};
use super::credentials::Credential;
use super::SignedRequest;

/// `20150830T123600Z` for `time`.
pub fn amz_date(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace(['-', ':'], "")
}

/// The `X-Amz-Date` and `Authorization` headers for a POST of `body` to `host` + `path`.
pub fn sign(
    credential: &Credential,
    region: &str,
    service: &str,
    host: &str,
    path: &str,
    body: &[u8],
    now: SystemTime,
) -> [(String, String); 2] {
    let date_time = amz_date(now);
    let headers = [("host", host), ("x-amz-date", date_time.as_str())];
    let request = SignedRequest {
        method: "POST",
        path,
        query: "",
        headers: &headers,
        body,
    };
    let canonical = canonical_request_hash(&request, &["host", "x-amz-date"])
        .unwrap_or_else(|| unreachable!("both signed headers are there"));
    let date = &date_time[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let signature = hex::encode(credential.signature(
        date,
        region,
        service,
        &string_to_sign(&date_time, &scope, &canonical),
    ));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}",
        credential.access_key_id()
    );
    [
        ("x-amz-date".to_string(), date_time),
        ("authorization".to_string(), authorization),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::{verify, Credentials};

    #[test]
    fn what_we_sign_verifies() {
        let now = SystemTime::now();
        let credential = Credential::new("AKIDEXAMPLE", "secret-secret");
        let [date, authorization] = sign(
            &credential,
            "us-east-1",
            "kms-xks-proxy",
            "localhost:9998",
            "/aws/kms/xks/v1/health",
            b"{}",
            now,
        );
        let headers = [
            ("Host", "localhost:9998"),
            (date.0.as_str(), date.1.as_str()),
            (authorization.0.as_str(), authorization.1.as_str()),
        ];
        let request = SignedRequest {
            method: "POST",
            path: "/aws/kms/xks/v1/health",
            query: "",
            headers: &headers,
            body: b"{}",
        };
        let credentials = Credentials::new(vec![Credential::new("AKIDEXAMPLE", "secret-secret")]);
        assert_eq!(
            verify(&request, &credentials, "us-east-1", "kms-xks-proxy", now),
            Ok("AKIDEXAMPLE".into())
        );
        assert_eq!(
            amz_date(humantime::parse_rfc3339("2015-08-30T12:36:00Z").unwrap()),
            "20150830T123600Z"
        );
    }
}
