//! The wrapping format, one for every keystore. A blob names the keystore kind, the
//! master key (id and version) and the mechanism that wrapped it, and is authenticated
//! together with the object it belongs to (unique id and version), so a blob copied to
//! another object fails to unwrap, and a master key can later be rotated blob by blob.
//!
//! ```text
//! u8 format (1) | u8 keystore kind | u8 mechanism | u8 n | key id (n bytes)
//! | u32 master key version | u8 m | nonce (m bytes) | ciphertext
//! AAD = "hyok-wrap" | header up to the nonce | u32 len(uid) | uid | u64 object version
//! ```

use zeroize::Zeroizing;

use super::{Keystore, KeystoreError, Mechanism, Sealed};

const FORMAT: u8 = 1;
const AAD_LABEL: &[u8] = b"hyok-wrap";

/// The object a blob belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub uid: &'a str,
    pub version: u64,
}

/// What a blob says about how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHeader {
    pub keystore_kind: &'static str,
    pub mechanism: Mechanism,
    pub key_id: String,
    pub key_version: u32,
}

fn kind_code(kind: &str) -> u8 {
    match kind {
        "software" => 1,
        _ => 2,
    }
}

fn kind_name(code: u8) -> Option<&'static str> {
    match code {
        1 => Some("software"),
        2 => Some("pkcs11"),
        _ => None,
    }
}

fn header_bytes(
    kind: u8,
    mechanism: Mechanism,
    key_id: &str,
    key_version: u32,
) -> Result<Vec<u8>, KeystoreError> {
    let id_len =
        u8::try_from(key_id.len()).map_err(|_| KeystoreError::Crypto("master key id too long"))?;
    let mut header = vec![FORMAT, kind, mechanism as u8, id_len];
    header.extend_from_slice(key_id.as_bytes());
    header.extend_from_slice(&key_version.to_be_bytes());
    Ok(header)
}

fn aad(header: &[u8], binding: Binding<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + header.len() + binding.uid.len() + 12);
    aad.extend_from_slice(AAD_LABEL);
    aad.extend_from_slice(header);
    aad.extend_from_slice(&(binding.uid.len() as u32).to_be_bytes());
    aad.extend_from_slice(binding.uid.as_bytes());
    aad.extend_from_slice(&binding.version.to_be_bytes());
    aad
}

/// Wraps `material` for the object `binding` under `keystore`, master key version `key_version`.
pub fn wrap(
    keystore: &dyn Keystore,
    key_version: u32,
    binding: Binding<'_>,
    material: &[u8],
) -> Result<Vec<u8>, KeystoreError> {
    let info = keystore.info();
    let kind = kind_code(info.kind);
    let mechanism = keystore.preferred_mechanism();
    let header = header_bytes(kind, mechanism, &info.key_id, key_version)?;
    let sealed = keystore.seal(&aad(&header, binding), material)?;
    if sealed.mechanism != mechanism {
        return Err(KeystoreError::Crypto(
            "keystore used another mechanism than it announced",
        ));
    }
    let nonce_len =
        u8::try_from(sealed.nonce.len()).map_err(|_| KeystoreError::Crypto("nonce too long"))?;
    let mut blob = header;
    blob.push(nonce_len);
    blob.extend_from_slice(&sealed.nonce);
    blob.extend_from_slice(&sealed.ciphertext);
    Ok(blob)
}

/// Reads a blob's header without unwrapping it.
pub fn parse_header(blob: &[u8]) -> Result<(BlobHeader, usize), KeystoreError> {
    let bad = |what: &'static str| KeystoreError::BadBlob(what);
    let [format, kind, mechanism, id_len, rest @ ..] = blob else {
        return Err(bad("truncated header"));
    };
    if *format != FORMAT {
        return Err(bad("unknown format version"));
    }
    let keystore_kind = kind_name(*kind).ok_or(bad("unknown keystore kind"))?;
    let mechanism = Mechanism::from_code(*mechanism).ok_or(bad("unknown mechanism"))?;
    let id_len = usize::from(*id_len);
    if rest.len() < id_len + 4 {
        return Err(bad("truncated header"));
    }
    let key_id =
        std::str::from_utf8(&rest[..id_len]).map_err(|_| bad("master key id is not text"))?;
    let mut version = [0u8; 4];
    version.copy_from_slice(&rest[id_len..id_len + 4]);
    let header = BlobHeader {
        keystore_kind,
        mechanism,
        key_id: key_id.to_string(),
        key_version: u32::from_be_bytes(version),
    };
    Ok((header, 4 + id_len + 4))
}

/// Unwraps a blob made by [`wrap`] for the same `binding`.
pub fn unwrap(
    keystore: &dyn Keystore,
    binding: Binding<'_>,
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let (header, header_len) = parse_header(blob)?;
    let info = keystore.info();
    if header.keystore_kind != info.kind || header.key_id != info.key_id {
        return Err(KeystoreError::ForeignBlob {
            blob_keystore: header.keystore_kind,
            blob_key: header.key_id,
            this_keystore: info.kind,
            this_key: info.key_id,
        });
    }
    let (&nonce_len, rest) = blob[header_len..]
        .split_first()
        .ok_or(KeystoreError::BadBlob("truncated nonce"))?;
    let nonce_len = usize::from(nonce_len);
    if rest.len() < nonce_len {
        return Err(KeystoreError::BadBlob("truncated nonce"));
    }
    let (nonce, ciphertext) = rest.split_at(nonce_len);
    let sealed = Sealed {
        mechanism: header.mechanism,
        nonce: nonce.to_vec(),
        ciphertext: ciphertext.to_vec(),
    };
    keystore.open(&sealed, &aad(&blob[..header_len], binding))
}
