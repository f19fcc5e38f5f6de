//! SigV4 verification of arbitrary requests: the input is a request in text form
//! (`METHOD PATH?QUERY`, then `name: value` header lines, an empty line, the body).
//! Nothing panics, and nothing the fuzzer writes without the secret verifies.
#![no_main]

use std::time::{Duration, SystemTime};

use hyok_xks::sigv4::{verify, Credential, Credentials, SignedRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let (method, target) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(&str, &str)> = lines
        .map(|line| line.split_once(':').unwrap_or((line, "")))
        .map(|(name, value)| (name, value.trim_start()))
        .collect();
    let request = SignedRequest {
        method,
        path,
        query,
        headers: &headers,
        body: body.as_bytes(),
    };
    let credentials = Credentials::new(vec![Credential::new(
        "AKIAFUZZFUZZFUZZFUZZ",
        "a secret the fuzzer does not know, 40 ch",
    )]);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let verified = verify(&request, &credentials, "us-east-1", "kms-xks-proxy", now);
    assert!(
        verified.is_err(),
        "a request forged without the secret verified"
    );
});
