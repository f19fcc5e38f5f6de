//! Grants: (object uid or `*`) × (identity or `*`) × operation, with who granted it.

use serde::Serialize;

use crate::changes::Change;
use crate::error::{query_error, Result};
use crate::pool::{on_pool, placeholders};
use crate::Db;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Grant {
    pub object_uid: String,
    pub identity: String,
    pub operation: String,
    pub granted_by: String,
    pub created_at: i64,
}

impl Grant {
    /// What makes it one grant: object, identity, operation.
    fn identifying(&self) -> (&str, &str, &str) {
        (&self.object_uid, &self.identity, &self.operation)
    }
}

impl Db {
    /// Records a grant; granting what is already granted changes nothing.
    pub async fn grant(
        &self,
        object_uid: &str,
        identity: &str,
        operation: &str,
        granted_by: &str,
    ) -> Result<()> {
        let change = Change::Grant {
            object_uid,
            identity,
            operation,
            granted_by,
        };
        self.apply(&[change], &[]).await.map(|_| ())
    }

    /// Removes a grant; true when it existed.
    pub async fn revoke_grant(
        &self,
        object_uid: &str,
        identity: &str,
        operation: &str,
    ) -> Result<bool> {
        let affected = self
            .apply(
                &[Change::RevokeGrant {
                    object_uid,
                    identity,
                    operation,
                }],
                &[],
            )
            .await?;
        Ok(affected.first() == Some(&1))
    }

    /// The grants that name this object exactly (not the `*` ones).
    pub async fn grants_on(&self, object_uid: &str) -> Result<Vec<Grant>> {
        on_pool!(self, |pool| sqlx::query_as(
            "SELECT object_uid, identity, operation, granted_by, created_at FROM grants \
             WHERE object_uid = $1 ORDER BY identity, operation"
        )
        .bind(object_uid)
        .fetch_all(pool)
        .await)
        .map_err(query_error("list an object's grants"))
    }

    /// The grants on any of `object_uids` and those on `*` (every object): what
    /// decisions about those objects need, read with one query per `MAX_IN_LIST` (500)
    /// objects.
    pub async fn grants_on_any(&self, object_uids: &[&str]) -> Result<Vec<Grant>> {
        let mut found: Vec<Grant> = self
            .read_in_lists(
                object_uids,
                |list| {
                    format!(
                        "SELECT object_uid, identity, operation, granted_by, created_at \
                         FROM grants WHERE object_uid IN ({list}, '*')"
                    )
                },
                "read grants on keys",
            )
            .await?;
        // '*' grants come once per statement: keep one of each.
        found.sort_by(|a, b| a.identifying().cmp(&b.identifying()));
        found.dedup_by(|a, b| a.identifying() == b.identifying());
        Ok(found)
    }

    /// Whether any of `identities` (or `*`) holds `operation` on `object_uid` (or `*`).
    pub async fn is_granted(
        &self,
        object_uid: &str,
        identities: &[&str],
        operation: &str,
    ) -> Result<bool> {
        // One query: `identity IN ($3, …, '*')` with a placeholder per identity.
        let mut listed = placeholders(3, identities.len());
        if !listed.is_empty() {
            listed.push_str(", ");
        }
        let sql = format!(
            "SELECT COUNT(*) FROM grants WHERE object_uid IN ($1, '*') AND operation = $2 \
             AND identity IN ({listed}'*')"
        );
        let found: i64 = on_pool!(self, |pool| {
            let mut query = sqlx::query_scalar(&sql).bind(object_uid).bind(operation);
            for identity in identities {
                query = query.bind(*identity);
            }
            query.fetch_one(pool).await
        })
        .map_err(query_error("check a grant"))?;
        Ok(found > 0)
    }

    /// The grants naming any of `identities` or `*`, on any object.
    pub async fn grants_to(&self, identities: &[&str]) -> Result<Vec<Grant>> {
        let mut found = Vec::new();
        for identity in identities.iter().copied().chain(std::iter::once("*")) {
            let mut grants: Vec<Grant> = on_pool!(self, |pool| sqlx::query_as(
                "SELECT object_uid, identity, operation, granted_by, created_at FROM grants \
                 WHERE identity = $1 ORDER BY object_uid, operation"
            )
            .bind(identity)
            .fetch_all(pool)
            .await)
            .map_err(query_error("list grants to an identity"))?;
            found.append(&mut grants);
        }
        found.dedup();
        Ok(found)
    }
}
