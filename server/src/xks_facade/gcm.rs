//! AES-256-GCM for XKS (96-bit random IV, 128-bit tag kept apart from the ciphertext),
//! and hyok's ciphertextMetadata: a format byte and the key version that encrypted.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroizing;

const METADATA_FORMAT: u8 = 1;

/// ciphertextMetadata naming the key version (ReKey chain position) that encrypted.
pub fn metadata(key_version: u32) -> Vec<u8> {
    let mut metadata = vec![METADATA_FORMAT];
    metadata.extend_from_slice(&key_version.to_be_bytes());
    metadata
}

/// The key version named by ciphertextMetadata; `None` when it is not hyok's.
pub fn version_of(metadata: &[u8]) -> Option<u32> {
    match metadata {
        [METADATA_FORMAT, a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// (ciphertext, iv, tag); `None` when the key is not 256 bits.
pub fn encrypt(key: &[u8], aad: &[u8], plaintext: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    // OpenSSL's generator (a DRBG seeded from the operating system, as for KMIP's IVs)
    // rather than the kernel's getrandom call on every encryption.
    let mut iv = [0u8; 12];
    openssl::rand::rand_bytes(&mut iv).ok()?;
    let mut buffer = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(&iv), aad, &mut buffer)
        .ok()?;
    Some((buffer, iv.to_vec(), tag.to_vec()))
}

/// The plaintext, or `None` when the tag does not verify (or the IV is not 12 bytes).
pub fn decrypt(
    key: &[u8],
    aad: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    if iv.len() != 12 || tag.len() != 16 {
        return None;
    }
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(iv),
            aad,
            &mut buffer,
            Tag::from_slice(tag),
        )
        .ok()?;
    Some(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let key = [3u8; 32];
        let (ciphertext, iv, tag) = encrypt(&key, b"aad", b"hello").unwrap();
        assert_eq!((ciphertext.len(), iv.len(), tag.len()), (5, 12, 16));
        let (again, other_iv, _) = encrypt(&key, b"aad", b"hello").unwrap();
        assert_ne!(iv, other_iv, "a fresh IV for every encryption");
        assert_ne!(ciphertext, again);
        assert_eq!(
            decrypt(&key, b"aad", &iv, &ciphertext, &tag)
                .unwrap()
                .as_slice(),
            b"hello"
        );
        assert!(decrypt(&key, b"other", &iv, &ciphertext, &tag).is_none());
        assert!(decrypt(&[4u8; 32], b"aad", &iv, &ciphertext, &tag).is_none());
        assert!(encrypt(&[0u8; 16], b"", b"x").is_none(), "AES-256 only");
        assert_eq!(version_of(&metadata(7)), Some(7));
        assert_eq!(version_of(b"key_version=1"), None);
    }

    /// Compiles only while the AES key schedules clear themselves on drop (the `aes`
    /// crate's `zeroize` feature, which docs/security.md promises; `ghash` and `polyval`
    /// clear theirs under the same feature but mark it with no trait to check).
    #[test]
    fn key_schedules_are_cleared_on_drop() {
        fn cleared_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        cleared_on_drop::<aes::Aes256>();
        cleared_on_drop::<aes::Aes256Enc>();
    }
}
