//! Audit entries: who did what to which object, when, with what result, numbered per
//! node (`seq`) and sealed by the server's HMAC chain (`mac`). Appended, never updated;
//! deleted only from a chain's beginning, together with the checkpoint that replaces them.

use serde::{Deserialize, Serialize};
use sqlx::Connection as _;

use crate::error::{query_error, Result};
use crate::pool::{on_pool, on_writer};
use crate::settings::{INSERT_SETTING_IF_ABSENT, REPLACE_SETTING};
use crate::{now_millis, Db};

/// One audit entry. `id` is the database's (ignored when appending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub node: String,
    pub seq: i64,
    pub at: i64,
    pub caller: String,
    pub operation: String,
    pub object_uid: Option<String>,
    pub result: String,
    pub request_id: Option<String>,
    /// A JSON object, as text (what the HMAC covers).
    pub details: String,
    pub mac: String,
}

const COLUMNS: &str =
    "id, node, seq, at, caller, operation, object_uid, result, request_id, details, mac";

impl Db {
    /// Appends entries in one transaction.
    pub async fn append_audit(&self, entries: &[AuditEntry]) -> Result<()> {
        self.apply(&[], entries).await.map(|_| ())
    }

    /// Entries with an id greater than `after`, oldest first, at most `limit`.
    pub async fn audit_after(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE id > $1 ORDER BY id LIMIT $2");
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(query_error("read the audit log"))
    }

    /// Entries at or after `since` (Unix ms) with an id greater than `after`, oldest first.
    pub async fn audit_since(&self, since: i64, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_entries WHERE at >= $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(since)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(query_error("read the audit log"))
    }

    /// One node's chain from `after_seq` on, in chain order, at most `limit`.
    pub async fn audit_chain(
        &self,
        node: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE node = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(node)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(query_error("read an audit chain"))
    }

    /// The last `limit` entries, oldest first.
    pub async fn audit_last(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM audit_entries ORDER BY id DESC LIMIT $1");
        let mut entries: Vec<AuditEntry> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(query_error("read the audit log"))?;
        entries.reverse();
        Ok(entries)
    }

    /// Every node that wrote audit entries.
    pub async fn audit_nodes(&self) -> Result<Vec<String>> {
        on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT DISTINCT node FROM audit_entries ORDER BY node"
        )
        .fetch_all(pool)
        .await)
        .map_err(query_error("list audit chains"))
    }

    /// For each chain with entries sealed before `before` (Unix ms): its last such entry's
    /// `seq`.
    pub async fn audit_prunable(&self, before: i64) -> Result<Vec<(String, i64)>> {
        on_pool!(self, |pool| sqlx::query_as(
            "SELECT node, MAX(seq) FROM audit_entries WHERE at < $1 GROUP BY node ORDER BY node"
        )
        .bind(before)
        .fetch_all(pool)
        .await)
        .map_err(query_error("find audit entries past their retention"))
    }

    /// Deletes chain `node`'s entries up to `through_seq` and sets the setting
    /// `checkpoint_name` to `checkpoint`, in one transaction, if that setting still holds
    /// `expected` (`None`: if it does not exist). Returns whether it did, so that nodes
    /// pruning at once retry on a fresh read instead of moving a checkpoint back.
    pub async fn prune_audit(
        &self,
        node: &str,
        through_seq: i64,
        checkpoint_name: &str,
        expected: Option<&str>,
        checkpoint: &str,
    ) -> Result<bool> {
        on_writer!(self, |pool| async {
            let mut tx = pool
                .begin()
                .await
                .map_err(query_error("begin a transaction"))?;
            let stored = match expected {
                Some(expected) => sqlx::query(REPLACE_SETTING)
                    .bind(checkpoint_name)
                    .bind(checkpoint)
                    .bind(now_millis())
                    .bind(expected),
                None => sqlx::query(INSERT_SETTING_IF_ABSENT)
                    .bind(checkpoint_name)
                    .bind(checkpoint)
                    .bind(now_millis()),
            }
            .execute(&mut *tx)
            .await
            .map_err(query_error("store an audit checkpoint"))?
            .rows_affected();
            if stored != 1 {
                tx.rollback()
                    .await
                    .map_err(query_error("roll back a transaction"))?;
                return Ok(false);
            }
            sqlx::query("DELETE FROM audit_entries WHERE node = $1 AND seq <= $2")
                .bind(node)
                .bind(through_seq)
                .execute(&mut *tx)
                .await
                .map_err(query_error("prune the audit log"))?;
            tx.commit()
                .await
                .map_err(query_error("commit an audit pruning"))?;
            Ok(true)
        }
        .await)
    }
}
