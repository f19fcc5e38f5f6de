//! Checking every chain: the sealed registry of chains, numbering without gaps, every
//! HMAC, and the sealed head, so that an edited, deleted, inserted or re-hashed entry, a
//! cut-off end, or a whole chain deleted is found, and the first broken entry of each
//! chain is named.

use std::collections::BTreeSet;

use serde::Serialize;

use super::chain::{entry_mac, head_setting, open_head, open_registry, same, REGISTRY};
use super::log::AuditLog;

const PAGE: i64 = 1000;

/// Where a chain breaks.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Breach {
    pub node: String,
    pub seq: i64,
    /// The database id of the offending entry, when there is one.
    pub entry_id: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub chains: usize,
    pub entries: u64,
    pub breaches: Vec<Breach>,
}

impl AuditLog {
    pub async fn verify(&self) -> Result<Verification, hyok_db::Error> {
        let found = self.db.audit_nodes().await?;
        let mut breaches = Vec::new();
        let registry = self.db.setting(REGISTRY).await?;
        let registered = match registry.as_deref().map(|v| open_registry(self.key(), v)) {
            Some(Some(chains)) => chains,
            Some(None) => {
                breaches.push(registry_breach("the chain registry does not verify"));
                Vec::new()
            }
            None => {
                breaches.push(registry_breach("the chain registry is missing"));
                Vec::new()
            }
        };
        let registry_ok = breaches.is_empty();
        let nodes: BTreeSet<String> = found.iter().chain(&registered).cloned().collect();
        for node in found
            .iter()
            .filter(|node| registry_ok && !registered.contains(node))
        {
            breaches.push(Breach {
                node: node.clone(),
                seq: 1,
                entry_id: None,
                reason:
                    "this chain is not in the chain registry: it was added without the audit key"
                        .into(),
            });
        }
        let mut verification = Verification {
            chains: nodes.len(),
            entries: 0,
            breaches,
        };
        for node in nodes {
            let (count, breach) = self.verify_chain(&node).await?;
            verification.entries += count;
            verification.breaches.extend(breach);
        }
        Ok(verification)
    }

    async fn verify_chain(&self, node: &str) -> Result<(u64, Option<Breach>), hyok_db::Error> {
        let breach = |seq, entry_id, reason: String| Breach {
            node: node.to_string(),
            seq,
            entry_id,
            reason,
        };
        let (mut expected, mut previous, mut count) = (1i64, String::new(), 0u64);
        loop {
            let page = self.db.audit_chain(node, expected - 1, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for entry in page {
                count += 1;
                if entry.seq != expected {
                    let reason = format!(
                        "entry {expected} of this chain is missing (the next one is {})",
                        entry.seq
                    );
                    return Ok((count, Some(breach(expected, Some(entry.id), reason))));
                }
                if !same(&entry_mac(self.key(), &previous, &entry), &entry.mac) {
                    let reason = format!("entry id {} does not match its HMAC: it was altered or re-sealed without the audit key", entry.id);
                    return Ok((count, Some(breach(entry.seq, Some(entry.id), reason))));
                }
                previous = entry.mac;
                expected += 1;
            }
        }
        let last = expected - 1;
        let head = self.db.setting(&head_setting(node)).await?;
        let verdict = match head.as_deref().map(|value| open_head(self.key(), node, value)) {
            None => Some("the chain has no head record".to_string()),
            Some(None) => Some("the chain's head record does not verify".to_string()),
            Some(Some(head)) if head.seq != last || !same(&head.mac, &previous) => {
                Some(format!("the chain ends at entry {last} but its head records entry {}: entries were removed", head.seq))
            }
            Some(Some(_)) => None,
        };
        Ok((count, verdict.map(|reason| breach(last + 1, None, reason))))
    }
}

fn registry_breach(reason: &str) -> Breach {
    Breach {
        node: "(all)".into(),
        seq: 0,
        entry_id: None,
        reason: format!("{reason}: chains may have been deleted"),
    }
}
