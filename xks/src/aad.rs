//! The bytes XKS feeds to AES-GCM and to the ciphertext data integrity value (CDIV).

use sha2::{Digest, Sha256};

/// The AAD given to AES-GCM: `u16be(len(aad)) ‖ aad ‖ u8(len(cm)) ‖ cm` when
/// ciphertextMetadata is used, else the request's AAD as it is.
pub fn gcm_aad(aad: &[u8], ciphertext_metadata: Option<&[u8]>) -> Option<Vec<u8>> {
    let Some(metadata) = ciphertext_metadata else {
        return Some(aad.to_vec());
    };
    let aad_len = u16::try_from(aad.len()).ok()?;
    let metadata_len = u8::try_from(metadata.len()).ok()?;
    let mut framed = Vec::with_capacity(3 + aad.len() + metadata.len());
    framed.extend_from_slice(&aad_len.to_be_bytes());
    framed.extend_from_slice(aad);
    framed.push(metadata_len);
    framed.extend_from_slice(metadata);
    Some(framed)
}

/// CDIV = SHA-256(aad ‖ ciphertextMetadata ‖ iv ‖ ciphertext ‖ tag), over raw bytes.
pub fn cdiv(
    aad: &[u8],
    ciphertext_metadata: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [aad, ciphertext_metadata, iv, ciphertext, tag] {
        hash.update(part);
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    #[test]
    fn the_specifications_cdiv_example() {
        let decode = |text: &str| STANDARD.decode(text).unwrap();
        let value = cdiv(
            &decode("cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n"),
            &decode("a2V5X3ZlcnNpb249MQ=="),
            &decode("HMrlRw85cAJUd5Ax"),
            &decode("ghxkK1txeDNn3q8Y"),
            &decode("vBxN2ncH1oEkR8WVXpmyYQ=="),
        );
        assert_eq!(
            STANDARD.encode(value),
            "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc="
        );
    }

    #[test]
    fn framing() {
        assert_eq!(gcm_aad(b"ab", None).unwrap(), b"ab");
        assert_eq!(
            gcm_aad(b"ab", Some(b"c")).unwrap(),
            [0, 2, b'a', b'b', 1, b'c']
        );
        assert_eq!(gcm_aad(b"", Some(b"")).unwrap(), [0, 0, 0]);
        assert!(gcm_aad(&vec![0; 70_000], Some(b"")).is_none());
    }
}
