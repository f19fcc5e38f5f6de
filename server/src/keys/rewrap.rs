//! Re-wrapping after a master key rotation: every object whose material an older
//! master key version wraps is unwrapped and wrapped again under the current one, in
//! batches, while the server keeps serving. Each row is replaced only if unchanged since
//! it was read (else it is retried on the next pass), and the work is found from the
//! data itself, so a job interrupted by a crash resumes where it stopped.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use serde::Serialize;
use zeroize::Zeroizing;

use super::service::{KeyError, KeyService};

/// Objects read per database round trip.
pub const REWRAP_BATCH: i64 = 100;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct RewrapReport {
    pub rewrapped: u64,
    /// Rows that changed while being re-wrapped, done again on a later pass.
    pub retried: u64,
    /// Objects whose material could not be unwrapped (named in the log).
    pub failed: Vec<String>,
}

impl KeyService {
    /// Re-wraps everything older than the current master key version. Returns `None`
    /// when a re-wrap is already running in this process.
    pub async fn rewrap_all(&self) -> Result<Option<RewrapReport>, KeyError> {
        if self.rewrapping().swap(true, Ordering::SeqCst) {
            return Ok(None);
        }
        let result = self.rewrap_passes().await;
        self.rewrapping().store(false, Ordering::SeqCst);
        result.map(Some)
    }

    async fn rewrap_passes(&self) -> Result<RewrapReport, KeyError> {
        let mut report = RewrapReport::default();
        let mut failed = HashSet::new();
        loop {
            let before = report.rewrapped;
            let conflicts = self.rewrap_pass(&mut report, &mut failed).await?;
            if conflicts == 0 || report.rewrapped == before {
                break;
            }
        }
        report.failed = failed.into_iter().collect();
        report.failed.sort();
        Ok(report)
    }

    /// One pass over the objects still wrapped by older versions; returns the conflicts.
    async fn rewrap_pass(
        &self,
        report: &mut RewrapReport,
        failed: &mut HashSet<String>,
    ) -> Result<u64, KeyError> {
        let current = i64::from(self.keystore().current_version());
        let mut after = String::new();
        let mut conflicts = 0;
        loop {
            let batch = self
                .db()
                .objects_wrapped_before(current, &after, REWRAP_BATCH)
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.uid.clone();
            for object in batch {
                let Some(wrapped) = object.wrapped else {
                    continue;
                };
                let version = u64::try_from(object.chain_version).unwrap_or_default();
                let material = match self.keystore().unwrap(&object.uid, version, wrapped).await {
                    Ok(material) => material,
                    Err(error) => {
                        tracing::error!(uid = %object.uid, %error, "cannot re-wrap: unwrapping failed");
                        failed.insert(object.uid);
                        continue;
                    }
                };
                let (blob, key_version) = self
                    .keystore()
                    .wrap(&object.uid, version, Zeroizing::new(material.to_vec()))
                    .await?;
                let replaced = self
                    .db()
                    .rewrap_object(
                        &object.uid,
                        &object.chain_id,
                        object.row_version,
                        &blob,
                        i64::from(key_version),
                    )
                    .await?;
                if replaced {
                    report.rewrapped += 1;
                } else {
                    report.retried += 1;
                    conflicts += 1;
                }
            }
        }
        Ok(conflicts)
    }
}
