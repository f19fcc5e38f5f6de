//! Audit entries: who did what to which object, when, with what result, numbered per
//! node (`seq`) and sealed by the server's HMAC chain (`mac`). Appended, never updated.

use serde::{Deserialize, Serialize};

use crate::error::{query_error, Result};
use crate::pool::on_pool;
use crate::Db;

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
}
