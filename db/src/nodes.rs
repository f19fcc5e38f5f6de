//! The node registry: which servers are alive (each heartbeats its row).

use crate::error::{query_error, Result};
use crate::pool::{on_pool, on_writer};
use crate::{now_millis, Db};

impl Db {
    /// Records that `node` is alive now.
    pub async fn heartbeat(&self, node: &str) -> Result<()> {
        let now = now_millis();
        on_writer!(self, |pool| sqlx::query(
            "INSERT INTO nodes (node, started_at, last_seen) VALUES ($1, $2, $2) \
             ON CONFLICT (node) DO UPDATE SET last_seen = excluded.last_seen"
        )
        .bind(node)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
        .map_err(query_error("record a node heartbeat"))?;
        Ok(())
    }

    /// How many nodes heartbeated at or after `since` (Unix ms).
    pub async fn live_nodes(&self, since: i64) -> Result<i64> {
        on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM nodes WHERE last_seen >= $1"
        )
        .bind(since)
        .fetch_one(pool)
        .await)
        .map_err(query_error("count live nodes"))
    }

    /// Removes `node` from the registry (on a graceful stop).
    pub async fn forget_node(&self, node: &str) -> Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM nodes WHERE node = $1"
        )
        .bind(node)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
        .map_err(query_error("remove a node from the registry"))?;
        Ok(())
    }
}
