//! The canonical request and the string to sign (SigV4 tasks 1 and 2). The canonical
//! request is hashed as it is written, never built as one text: it is only ever signed.

use sha2::{Digest, Sha256};

use super::SignedRequest;

/// A SHA-256 digest in lowercase hex.
pub type HexDigest = [u8; 64];

/// The hex SHA-256 of the canonical request over `signed_headers`; `None` when one of
/// them is absent from the request.
pub fn canonical_request_hash(
    request: &SignedRequest<'_>,
    signed_headers: &[&str],
) -> Option<HexDigest> {
    let mut hash = Sha256::new();
    for line in [request.method, request.path] {
        hash.update(line);
        hash.update(b"\n");
    }
    hash.update(canonical_query(request.query));
    hash.update(b"\n");
    for name in signed_headers {
        let value = request.header(name)?;
        hash.update(name);
        hash.update(b":");
        // Runs of whitespace become one space; none at either end.
        update_joined(&mut hash, value.split_whitespace(), b" ");
        hash.update(b"\n");
    }
    hash.update(b"\n");
    update_joined(&mut hash, signed_headers.iter().copied(), b";");
    hash.update(b"\n");
    hash.update(hex_digest(request.body));
    Some(hex(hash.finalize().into()))
}

/// Hashes `parts` with `separator` between them.
fn update_joined<'a>(hash: &mut Sha256, parts: impl Iterator<Item = &'a str>, separator: &[u8]) {
    for (index, part) in parts.enumerate() {
        if index > 0 {
            hash.update(separator);
        }
        hash.update(part);
    }
}

/// Query parameters sorted by name then value (XKS requests carry none).
fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
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

/// The string to sign, in the pieces it is the concatenation of.
pub fn string_to_sign<'a>(
    amz_date: &'a str,
    scope: &'a str,
    canonical_request_hash: &'a HexDigest,
) -> [&'a [u8]; 6] {
    [
        b"AWS4-HMAC-SHA256\n",
        amz_date.as_bytes(),
        b"\n",
        scope.as_bytes(),
        b"\n",
        canonical_request_hash,
    ]
}

fn hex_digest(data: &[u8]) -> HexDigest {
    hex(Sha256::digest(data).into())
}

/// `digest` in lowercase hex.
pub fn hex(digest: [u8; 32]) -> HexDigest {
    let mut text = [0u8; 64];
    hex::encode_to_slice(digest, &mut text)
        .unwrap_or_else(|_| unreachable!("32 bytes are 64 hex digits"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical request of AWS's SigV4 test suite, "get-vanilla", written out.
    const VANILLA_CANONICAL: &str = "GET\n/\n\nhost:example.amazonaws.com\n\
        x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
        e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashes_the_text_the_aws_test_suite_writes() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "  20150830T123600Z "),
        ];
        let request = SignedRequest::get(&headers);
        let hash = canonical_request_hash(&request, &["host", "x-amz-date"]).unwrap();
        assert_eq!(hash, hex_digest(VANILLA_CANONICAL.as_bytes()));
        assert_eq!(
            canonical_request_hash(&request, &["host", "content-type"]),
            None
        );
    }
}
