//! `[audit] retain_days`: deleting the entries past their retention from the beginning of
//! each chain, with a sealed checkpoint in their place (where the chain goes on, after
//! which HMAC), so that `hyok audit verify` tells pruning from truncation. Entries are
//! checked before they go: a chain that does not verify is left for `verify` to report.

use super::chain::{checkpoint_setting, checkpoint_value};
use super::log::AuditLog;

/// Entries deleted per transaction.
const BATCH: i64 = if cfg!(test) { 3 } else { 10_000 };

/// Unix milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

impl AuditLog {
    /// Deletes the entries older than `retain_days` days; returns how many went.
    pub async fn prune(&self, retain_days: u32) -> Result<u64, hyok_db::Error> {
        self.prune_before(hyok_db::now_millis() - i64::from(retain_days) * DAY_MS)
            .await
    }

    /// Deletes every chain's entries sealed before `before` (Unix ms), and those before
    /// them in their chain; returns how many went.
    pub async fn prune_before(&self, before: i64) -> Result<u64, hyok_db::Error> {
        let mut pruned = 0;
        for (node, through) in self.db.audit_prunable(before).await? {
            pruned += self.prune_chain(&node, through).await?;
        }
        Ok(pruned)
    }

    /// Deletes chain `node`'s entries up to `through`, a batch per transaction.
    async fn prune_chain(&self, node: &str, through: i64) -> Result<u64, hyok_db::Error> {
        let name = checkpoint_setting(node);
        let mut pruned = 0;
        loop {
            let stored = self.db.setting(&name).await?;
            let start = match self.chain_start(node, stored.as_deref()) {
                Ok(start) => start,
                Err(breach) => {
                    tracing::error!(node, reason = %breach.reason, "not pruning an audit chain that does not verify; run `hyok audit verify`");
                    return Ok(pruned);
                }
            };
            if start.seq >= through {
                return Ok(pruned);
            }
            let from = start.seq;
            let walk = self
                .walk(node, start, Some(through.min(from + BATCH)))
                .await?;
            if let Some(breach) = walk.breach {
                tracing::error!(node, seq = breach.seq, reason = %breach.reason, "not pruning an audit chain that does not verify; run `hyok audit verify`");
                return Ok(pruned);
            }
            let checkpoint = checkpoint_value(self.key(), node, walk.last.seq, &walk.last.mac);
            // `false`: another node pruned this chain meanwhile; go on from its checkpoint.
            if self
                .db
                .prune_audit(node, walk.last.seq, &name, stored.as_deref(), &checkpoint)
                .await?
            {
                pruned += (walk.last.seq - from) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hyok_db::testing::TestDatabase;
    use sqlx::Connection;

    use crate::audit::chain::checkpoint_setting;
    use crate::audit::log::tests::started;
    use crate::audit::Event;

    async fn execute(database: &TestDatabase, sql: &str, node: &str) {
        if database.url.starts_with("postgres") {
            let mut connection = sqlx::PgConnection::connect(&database.url).await.unwrap();
            sqlx::query(sql)
                .bind(node)
                .execute(&mut connection)
                .await
                .map(drop)
        } else {
            let mut connection = sqlx::SqliteConnection::connect(&database.url)
                .await
                .unwrap();
            sqlx::query(sql)
                .bind(node)
                .execute(&mut connection)
                .await
                .map(drop)
        }
        .unwrap();
    }

    /// Seven entries, then the cut-off, then two more: pruning removes the seven (in
    /// batches), the log verifies from the checkpoint, and removing the checkpoint or an
    /// entry after it is found.
    async fn pruning_leaves_a_checkpoint_that_verify_starts_from(database: TestDatabase) {
        let dir = tempfile::tempdir().unwrap();
        let log = started(&database, dir.path()).await;
        let event = |n: usize| Event::new("alice", &format!("change-{n}"), "ok");
        for n in 1..=7 {
            log.commit(&[], &[event(n)]).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let cutoff = hyok_db::now_millis();
        tokio::time::sleep(Duration::from_millis(5)).await;
        log.commit(&[], &[event(8), event(9)]).await.unwrap();

        assert_eq!(log.prune_before(cutoff).await.unwrap(), 7);
        assert_eq!(log.prune_before(cutoff).await.unwrap(), 0, "nothing left");
        let verification = log.verify().await.unwrap();
        assert!(verification.breaches.is_empty(), "{verification:?}");
        assert_eq!((verification.entries, verification.pruned), (2, 7));
        let remaining = log.db.audit_chain(log.node(), 0, 10).await.unwrap();
        let seqs: Vec<i64> = remaining.iter().map(|entry| entry.seq).collect();
        assert_eq!(seqs, [8, 9]);

        // A later entry deleted: found, as before pruning.
        execute(
            &database,
            "DELETE FROM audit_entries WHERE node = $1 AND seq = 8",
            log.node(),
        )
        .await;
        let verification = log.verify().await.unwrap();
        assert_eq!(verification.breaches.len(), 1, "{verification:?}");
        assert!(
            verification.breaches[0].reason.contains("entry 8"),
            "{verification:?}"
        );

        // The checkpoint deleted: the chain then lacks its beginning.
        let checkpoint = checkpoint_setting(log.node());
        execute(
            &database,
            "DELETE FROM settings WHERE name = $1",
            &checkpoint,
        )
        .await;
        let verification = log.verify().await.unwrap();
        assert!(
            verification.breaches[0]
                .reason
                .contains("entry 1 of this chain is missing"),
            "{verification:?}"
        );
    }

    #[actix_web::test]
    async fn pruning_leaves_a_checkpoint_that_verify_starts_from_on_sqlite() {
        pruning_leaves_a_checkpoint_that_verify_starts_from(TestDatabase::sqlite()).await;
    }

    #[actix_web::test]
    async fn pruning_leaves_a_checkpoint_that_verify_starts_from_on_postgres() {
        if let Some(database) = TestDatabase::postgres().await {
            pruning_leaves_a_checkpoint_that_verify_starts_from(database).await;
        }
    }

    /// An entry altered before its retention ended is not pruned away with the evidence:
    /// pruning stops before it, and verify still names it.
    #[actix_web::test]
    async fn a_chain_that_does_not_verify_is_not_pruned_past_its_breach() {
        let database = TestDatabase::sqlite();
        let dir = tempfile::tempdir().unwrap();
        let log = started(&database, dir.path()).await;
        for n in 1..=5 {
            let event = Event::new("alice", &format!("change-{n}"), "ok");
            log.commit(&[], &[event]).await.unwrap();
        }
        execute(
            &database,
            "UPDATE audit_entries SET caller = 'mallory' WHERE node = $1 AND seq = 5",
            log.node(),
        )
        .await;
        assert_eq!(
            log.prune_before(hyok_db::now_millis() + 1).await.unwrap(),
            3,
            "the first batch (1 to 3) verifies; the next one holds the altered entry"
        );
        let verification = log.verify().await.unwrap();
        assert_eq!(verification.pruned, 3);
        assert_eq!(verification.breaches.len(), 1, "{verification:?}");
        assert_eq!(verification.breaches[0].seq, 5, "{verification:?}");
    }
}
