//! The HMAC chain: how an entry is sealed under the audit key after its predecessor,
//! how a chain's head (its last position) is sealed so that cutting entries off the end
//! shows too, and the sealed registry of every chain ever started, so that deleting a
//! whole chain (its entries and its head) shows as well; and the sealed checkpoint that
//! stands for a chain's pruned beginning (`[audit] retain_days`).

use hmac::{Hmac, Mac};
use hyok_db::AuditEntry;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The setting that holds a node's chain head.
pub fn head_setting(node: &str) -> String {
    format!("audit_head.{node}")
}

/// The setting that lists every chain ever started.
pub const REGISTRY: &str = "audit_chains";

/// The sealed registry record: `{"chains": [...], "seal": "<hex>"}`.
pub fn registry_value(key: &[u8; 32], chains: &[String]) -> String {
    serde_json::json!({ "chains": chains, "seal": registry_mac(key, chains) }).to_string()
}

/// Reads the registry; `None` when it is malformed or its seal does not verify.
pub fn open_registry(key: &[u8; 32], value: &str) -> Option<Vec<String>> {
    let record: serde_json::Value = serde_json::from_str(value).ok()?;
    let chains: Vec<String> = serde_json::from_value(record.get("chains")?.clone()).ok()?;
    let seal = record.get("seal")?.as_str()?;
    same(&registry_mac(key, &chains), seal).then_some(chains)
}

fn registry_mac(key: &[u8; 32], chains: &[String]) -> String {
    let mut mac = new_mac(key);
    mac.update(b"registry\n");
    mac.update(&serde_json::to_vec(chains).unwrap_or_default());
    hex::encode(mac.finalize().into_bytes())
}

/// The HMAC of `entry` following an entry whose HMAC is `previous` ("" for the first).
pub fn entry_mac(key: &[u8; 32], previous: &str, entry: &AuditEntry) -> String {
    // The JSON array of the fields, in this order (a tuple serializes as that array,
    // without building a JSON value first).
    let canonical = serde_json::to_vec(&(
        &entry.node,
        entry.seq,
        entry.at,
        &entry.caller,
        &entry.operation,
        &entry.object_uid,
        &entry.result,
        &entry.request_id,
        &entry.details,
    ))
    .unwrap_or_else(|_| unreachable!("strings and integers always serialize"));
    let mut mac = new_mac(key);
    mac.update(previous.as_bytes());
    mac.update(b"\n");
    mac.update(&canonical);
    hex::encode(mac.finalize().into_bytes())
}

/// The sealed head record of a registered chain: `r:seq:mac:head-mac` (chains of versions
/// before the registry have `seq:mac:head-mac`, sealed without the `r`).
pub fn head_value(key: &[u8; 32], node: &str, seq: i64, mac: &str) -> String {
    format!("r:{seq}:{mac}:{}", head_mac(key, node, seq, mac, true))
}

/// A head record as versions before the registry sealed it.
#[cfg(test)]
pub fn legacy_head_value(key: &[u8; 32], node: &str, seq: i64, mac: &str) -> String {
    format!("{seq}:{mac}:{}", head_mac(key, node, seq, mac, false))
}

/// A head record, read.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub mac: String,
    /// Written by a version that keeps the chain registry.
    pub registered: bool,
}

/// Reads a head record; `None` when it is malformed or its seal does not verify.
pub fn open_head(key: &[u8; 32], node: &str, value: &str) -> Option<Head> {
    let (registered, value) = match value.strip_prefix("r:") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let mut parts = value.splitn(3, ':');
    let seq: i64 = parts.next()?.parse().ok()?;
    let mac = parts.next()?;
    let seal = parts.next()?;
    same(&head_mac(key, node, seq, mac, registered), seal).then(|| Head {
        seq,
        mac: mac.to_string(),
        registered,
    })
}

/// The setting that holds a chain's checkpoint: where its remaining entries start.
pub fn checkpoint_setting(node: &str) -> String {
    format!("audit_checkpoint.{node}")
}

/// The sealed checkpoint of a chain whose entries up to `seq` were pruned, the last of
/// them having HMAC `mac`: `seq:mac:seal`.
pub fn checkpoint_value(key: &[u8; 32], node: &str, seq: i64, mac: &str) -> String {
    format!("{seq}:{mac}:{}", checkpoint_mac(key, node, seq, mac))
}

/// A checkpoint record, read: the chain goes on at entry `seq + 1`, sealed after `mac`.
#[derive(Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub mac: String,
}

/// Reads a checkpoint record; `None` when it is malformed or its seal does not verify.
pub fn open_checkpoint(key: &[u8; 32], node: &str, value: &str) -> Option<Checkpoint> {
    let mut parts = value.splitn(3, ':');
    let seq: i64 = parts.next()?.parse().ok()?;
    let mac = parts.next()?;
    let seal = parts.next()?;
    same(&checkpoint_mac(key, node, seq, mac), seal).then(|| Checkpoint {
        seq,
        mac: mac.to_string(),
    })
}

fn checkpoint_mac(key: &[u8; 32], node: &str, seq: i64, mac: &str) -> String {
    let mut checkpoint = new_mac(key);
    checkpoint.update(format!("checkpoint\n{node}\n{seq}\n{mac}").as_bytes());
    hex::encode(checkpoint.finalize().into_bytes())
}

/// Constant-time comparison of two hex MACs.
pub fn same(expected: &str, actual: &str) -> bool {
    expected.len() == actual.len() && bool::from(expected.as_bytes().ct_eq(actual.as_bytes()))
}

fn head_mac(key: &[u8; 32], node: &str, seq: i64, mac: &str, registered: bool) -> String {
    let mut head = new_mac(key);
    let domain = if registered {
        "registered head"
    } else {
        "head"
    };
    head.update(format!("{domain}\n{node}\n{seq}\n{mac}").as_bytes());
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
    fn the_sealed_text_is_the_json_array_of_the_fields() {
        // Chains written by earlier versions must keep verifying: pin the exact text.
        let key = [7u8; 32];
        let mut entry = entry(3, "al\"ice");
        entry.object_uid = Some("k-1".into());
        entry.details = r#"{"a":1}"#.into();
        let mut mac = new_mac(&key);
        mac.update(b"prev\n");
        mac.update(br#"["n",3,5,"al\"ice","grant","k-1","ok",null,"{\"a\":1}"]"#);
        assert_eq!(
            entry_mac(&key, "prev", &entry),
            hex::encode(mac.finalize().into_bytes())
        );
    }

    #[test]
    fn the_registry_is_sealed() {
        let key = [3u8; 32];
        let chains = vec!["a-1".to_string(), "b-2".to_string()];
        let value = registry_value(&key, &chains);
        assert_eq!(open_registry(&key, &value), Some(chains));
        let shortened = value.replace("\"a-1\",", "");
        assert_eq!(open_registry(&key, &shortened), None, "{shortened}");
        assert_eq!(open_registry(&[4u8; 32], &value), None);
    }

    #[test]
    fn heads_are_sealed() {
        let key = [1u8; 32];
        let value = head_value(&key, "n", 4, "abc");
        let head = |registered| Head {
            seq: 4,
            mac: "abc".into(),
            registered,
        };
        assert_eq!(open_head(&key, "n", &value), Some(head(true)));
        let legacy = format!("4:abc:{}", head_mac(&key, "n", 4, "abc", false));
        assert_eq!(open_head(&key, "n", &legacy), Some(head(false)));
        assert_eq!(
            open_head(&key, "n", value.strip_prefix("r:").unwrap()),
            None,
            "a registered head cannot pass for one of before the registry"
        );
        assert_eq!(open_head(&key, "other", &value), None);
        assert_eq!(open_head(&key, "n", &value.replacen('4', "3", 1)), None);
        assert_eq!(open_head(&[2u8; 32], "n", &value), None);
    }

    #[test]
    fn checkpoints_are_sealed_apart_from_heads() {
        let key = [5u8; 32];
        let value = checkpoint_value(&key, "n", 9, "abc");
        let checkpoint = Checkpoint {
            seq: 9,
            mac: "abc".into(),
        };
        assert_eq!(open_checkpoint(&key, "n", &value), Some(checkpoint));
        assert_eq!(open_checkpoint(&key, "other", &value), None);
        assert_eq!(
            open_checkpoint(&key, "n", &value.replacen('9', "8", 1)),
            None
        );
        assert_eq!(open_checkpoint(&[6u8; 32], "n", &value), None);
        let head = format!("9:abc:{}", head_mac(&key, "n", 9, "abc", false));
        assert_eq!(
            open_checkpoint(&key, "n", &head),
            None,
            "a head cannot pass for a checkpoint"
        );
    }
}
