//! Checking every chain: the sealed registry of chains, numbering without gaps, every
//! HMAC, and the sealed head, so that an edited, deleted, inserted or re-hashed entry, a
//! cut-off end, or a whole chain deleted is found, and the first broken entry of each
//! chain is named. A chain pruned under `[audit] retain_days` is checked from its sealed
//! checkpoint on.

use std::collections::BTreeSet;

use serde::Serialize;

use super::chain::{
    checkpoint_setting, entry_mac, head_setting, open_checkpoint, open_head, open_registry, same,
    REGISTRY,
};
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
    /// Entries deleted from the beginnings of chains under `[audit] retain_days`.
    pub pruned: u64,
    pub breaches: Vec<Breach>,
}

/// Where a walk along a chain starts: after entry `seq`, whose HMAC is `mac` (0 and ""
/// for the chain's beginning).
pub(super) struct Position {
    pub seq: i64,
    pub mac: String,
}

/// A walk along a chain: the last entry that checked, how many did, and the breach that
/// stopped it, if one did.
pub(super) struct Walk {
    pub last: Position,
    pub count: u64,
    pub breach: Option<Breach>,
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
            pruned: 0,
            breaches,
        };
        for node in nodes {
            let checkpoint = self.db.setting(&checkpoint_setting(&node)).await?;
            let start = match self.chain_start(&node, checkpoint.as_deref()) {
                Ok(start) => start,
                Err(breach) => {
                    verification.breaches.push(breach);
                    continue;
                }
            };
            verification.pruned += start.seq as u64;
            let walk = self.walk(&node, start, None).await?;
            verification.entries += walk.count;
            match walk.breach {
                Some(breach) => verification.breaches.push(breach),
                None => verification
                    .breaches
                    .extend(self.check_head(&node, walk.last).await?),
            }
        }
        Ok(verification)
    }

    /// Where chain `node`'s remaining entries start: after its sealed checkpoint
    /// `stored` (the setting's value), or at its beginning when it was never pruned.
    pub(super) fn chain_start(&self, node: &str, stored: Option<&str>) -> Result<Position, Breach> {
        let Some(value) = stored else {
            return Ok(Position {
                seq: 0,
                mac: String::new(),
            });
        };
        match open_checkpoint(self.key(), node, value) {
            Some(checkpoint) => Ok(Position {
                seq: checkpoint.seq,
                mac: checkpoint.mac,
            }),
            None => Err(Breach {
                node: node.to_string(),
                seq: 1,
                entry_id: None,
                reason: "the chain's checkpoint record does not verify".into(),
            }),
        }
    }

    /// Checks chain `node`'s entries after `start` (up to entry `through`, or to its end)
    /// for numbering and HMACs, stopping at the first breach.
    pub(super) async fn walk(
        &self,
        node: &str,
        start: Position,
        through: Option<i64>,
    ) -> Result<Walk, hyok_db::Error> {
        let breach = |seq, entry_id, reason: String| Breach {
            node: node.to_string(),
            seq,
            entry_id,
            reason,
        };
        let mut walk = Walk {
            last: start,
            count: 0,
            breach: None,
        };
        loop {
            let expected = walk.last.seq + 1;
            let limit = through.map_or(PAGE, |through| PAGE.min(through - walk.last.seq));
            if limit <= 0 {
                return Ok(walk);
            }
            let page = self.db.audit_chain(node, walk.last.seq, limit).await?;
            if page.is_empty() {
                if through.is_some() {
                    let reason = format!("entry {expected} of this chain is missing");
                    walk.breach = Some(breach(expected, None, reason));
                }
                return Ok(walk);
            }
            for entry in page {
                let expected = walk.last.seq + 1;
                walk.count += 1;
                if entry.seq != expected {
                    let reason = format!(
                        "entry {expected} of this chain is missing (the next one is {})",
                        entry.seq
                    );
                    walk.breach = Some(breach(expected, Some(entry.id), reason));
                    return Ok(walk);
                }
                if !same(&entry_mac(self.key(), &walk.last.mac, &entry), &entry.mac) {
                    let reason = format!("entry id {} does not match its HMAC: it was altered or re-sealed without the audit key", entry.id);
                    walk.breach = Some(breach(entry.seq, Some(entry.id), reason));
                    return Ok(walk);
                }
                walk.last = Position {
                    seq: entry.seq,
                    mac: entry.mac,
                };
            }
        }
    }

    /// Whether chain `node`, which ends at `last`, ends where its sealed head says.
    async fn check_head(
        &self,
        node: &str,
        last: Position,
    ) -> Result<Option<Breach>, hyok_db::Error> {
        let head = self.db.setting(&head_setting(node)).await?;
        let verdict = match head.as_deref().map(|value| open_head(self.key(), node, value)) {
            None => Some("the chain has no head record".to_string()),
            Some(None) => Some("the chain's head record does not verify".to_string()),
            Some(Some(head)) if head.seq != last.seq || !same(&head.mac, &last.mac) => {
                Some(format!("the chain ends at entry {} but its head records entry {}: entries were removed", last.seq, head.seq))
            }
            Some(Some(_)) => None,
        };
        Ok(verdict.map(|reason| Breach {
            node: node.to_string(),
            seq: last.seq + 1,
            entry_id: None,
            reason,
        }))
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
