//! The HMAC chain: how an entry is sealed under the audit key after its predecessor,
//! and how a chain's head (its last position) is sealed so that cutting entries off the
//! end shows too.

use hmac::{Hmac, Mac};
use hyok_db::AuditEntry;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The setting that holds a node's chain head.
pub fn head_setting(node: &str) -> String {
    format!("audit_head.{node}")
}

/// The HMAC of `entry` following an entry whose HMAC is `previous` ("" for the first).
pub fn entry_mac(key: &[u8; 32], previous: &str, entry: &AuditEntry) -> String {
    let canonical = serde_json::json!([
        entry.node,
        entry.seq,
        entry.at,
        entry.caller,
        entry.operation,
        entry.object_uid,
        entry.result,
        entry.request_id,
        entry.details,
    ]);
    let mut mac = new_mac(key);
    mac.update(previous.as_bytes());
    mac.update(b"\n");
    mac.update(canonical.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The sealed head record: `seq:mac:head-mac`.
pub fn head_value(key: &[u8; 32], node: &str, seq: i64, mac: &str) -> String {
    format!("{seq}:{mac}:{}", head_mac(key, node, seq, mac))
}

/// Reads a head record; `None` when it is malformed or its seal does not verify.
pub fn open_head(key: &[u8; 32], node: &str, value: &str) -> Option<(i64, String)> {
    let mut parts = value.splitn(3, ':');
    let seq: i64 = parts.next()?.parse().ok()?;
    let mac = parts.next()?;
    let seal = parts.next()?;
    same(&head_mac(key, node, seq, mac), seal).then(|| (seq, mac.to_string()))
}

/// Constant-time comparison of two hex MACs.
pub fn same(expected: &str, actual: &str) -> bool {
    expected.len() == actual.len() && bool::from(expected.as_bytes().ct_eq(actual.as_bytes()))
}

fn head_mac(key: &[u8; 32], node: &str, seq: i64, mac: &str) -> String {
    let mut head = new_mac(key);
    head.update(format!("head\n{node}\n{seq}\n{mac}").as_bytes());
    hex::encode(head.finalize().into_bytes())
}

fn new_mac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail for 32 bytes.
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, caller: &str) -> AuditEntry {
        AuditEntry {
            id: 0,
            node: "n".into(),
            seq,
            at: 5,
            caller: caller.into(),
            operation: "grant".into(),
            object_uid: None,
            result: "ok".into(),
            request_id: None,
            details: "{}".into(),
            mac: String::new(),
        }
    }

    #[test]
    fn every_field_and_the_predecessor_are_sealed() {
        let key = [7u8; 32];
        let first = entry_mac(&key, "", &entry(1, "alice"));
        assert_eq!(
            first,
            entry_mac(&key, "", &entry(1, "alice")),
            "deterministic"
        );
        assert_ne!(first, entry_mac(&key, "", &entry(1, "mallory")));
        assert_ne!(first, entry_mac(&key, "", &entry(2, "alice")));
        assert_ne!(first, entry_mac(&key, "x", &entry(1, "alice")));
        assert_ne!(
            first,
            entry_mac(&[8u8; 32], "", &entry(1, "alice")),
            "keyed"
        );
    }

    #[test]
    fn heads_are_sealed() {
        let key = [1u8; 32];
        let value = head_value(&key, "n", 4, "abc");
        assert_eq!(open_head(&key, "n", &value), Some((4, "abc".into())));
        assert_eq!(open_head(&key, "other", &value), None);
        assert_eq!(open_head(&key, "n", &value.replacen('4', "3", 1)), None);
        assert_eq!(open_head(&[2u8; 32], "n", &value), None);
    }
}
