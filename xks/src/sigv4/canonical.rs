//! The canonical request and the string to sign (SigV4 tasks 1 and 2).

use sha2::{Digest, Sha256};

use super::SignedRequest;

/// The canonical request over `signed_headers`; `None` when one is absent.
pub fn canonical_request(request: &SignedRequest<'_>, signed_headers: &[String]) -> Option<String> {
    let mut headers = String::new();
    for name in signed_headers {
        let value = request.header(name)?;
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&value.split_whitespace().collect::<Vec<_>>().join(" "));
        headers.push('\n');
    }
    Some(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        request.path,
        canonical_query(request.query),
        headers,
        signed_headers.join(";"),
        hex::encode(Sha256::digest(request.body)),
    ))
}

/// Query parameters sorted by name then value (XKS requests carry none).
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}
