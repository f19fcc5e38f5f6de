//! Managed objects: identity, type, lifecycle state, owner, wrapped material, attributes
//! (JSON), names and tags, their place in a ReKey chain, and a row version that makes
//! concurrent updates safe.

use std::sync::OnceLock;

use serde::Serialize;

use crate::changes::Change;
use crate::error::{query_error, Error, Result};
use crate::feed::Changed;
use crate::pool::{on_pool, on_writer};
use crate::Db;

/// An object to store. `wrapped` is material already wrapped by the master key.
#[derive(Debug, Clone)]
pub struct NewObject<'a> {
    pub uid: &'a str,
    pub object_type: &'a str,
    pub state: &'a str,
    pub owner: &'a str,
    pub wrapped: Option<&'a [u8]>,
    pub attributes: &'a serde_json::Value,
    /// The first object of the ReKey chain this one belongs to (itself for a new key).
    pub chain_id: &'a str,
    pub chain_version: i64,
    /// The master key version that wrapped `wrapped`.
    pub wrap_key_version: i64,
    pub names: &'a [String],
    pub tags: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ObjectRecord {
    pub uid: String,
    pub object_type: String,
    pub state: String,
    pub owner: String,
    #[serde(skip)]
    pub wrapped: Option<Vec<u8>>,
    #[sqlx(rename = "attributes")]
    #[serde(skip)]
    pub attributes_json: String,
    pub chain_id: String,
    pub chain_version: i64,
    pub row_version: i64,
    pub wrap_key_version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// `attributes_json` parsed, on first use (records are read far more than changed:
    /// a cached key record is asked for its attributes on every use).
    #[sqlx(skip)]
    #[serde(skip)]
    parsed_attributes: OnceLock<serde_json::Value>,
}

impl ObjectRecord {
    pub fn attributes(&self) -> &serde_json::Value {
        self.parsed_attributes
            .get_or_init(|| serde_json::from_str(&self.attributes_json).unwrap_or_default())
    }
}

pub(crate) const SELECT_OBJECT: &str =
    "SELECT uid, object_type, state, owner, wrapped, attributes, chain_id, \
     chain_version, row_version, wrap_key_version, created_at, updated_at FROM objects";

const ANY_WRAPPED_BEFORE: &str = "SELECT EXISTS (SELECT 1 FROM objects \
     WHERE wrap_key_version < $1 AND wrapped IS NOT NULL)";

impl Db {
    pub async fn object(&self, uid: &str) -> Result<Option<ObjectRecord>> {
        let sql = format!("{SELECT_OBJECT} WHERE uid = $1");
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(uid)
            .fetch_optional(pool)
            .await)
        .map_err(query_error("read an object"))
    }

    /// The names of an object, sorted.
    pub async fn names_of(&self, uid: &str) -> Result<Vec<String>> {
        on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT name FROM object_names WHERE uid = $1 ORDER BY name"
        )
        .bind(uid)
        .fetch_all(pool)
        .await)
        .map_err(query_error("read an object's names"))
    }

    /// The object `name` names now (none destroyed: a destroyed object frees its names).
    pub async fn object_named(&self, name: &str) -> Result<Option<String>> {
        on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT uid FROM object_names WHERE name = $1 AND live = 1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await)
        .map_err(query_error("find the object a name names"))
    }

    pub async fn objects_tagged(&self, tag: &str) -> Result<Vec<String>> {
        on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT t.uid FROM object_tags t JOIN objects o ON o.uid = t.uid \
             WHERE t.tag = $1 ORDER BY o.created_at, o.uid"
        )
        .bind(tag)
        .fetch_all(pool)
        .await)
        .map_err(query_error("find objects by tag"))
    }

    /// The objects `owner` owns, oldest first, at most `limit`.
    pub async fn objects_owned_by(&self, owner: &str, limit: i64) -> Result<Vec<ObjectRecord>> {
        let sql = format!("{SELECT_OBJECT} WHERE owner = $1 ORDER BY created_at, uid LIMIT $2");
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(owner)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(query_error("list an owner's objects"))
    }

    /// The members of a ReKey chain, oldest version first.
    pub async fn chain(&self, chain_id: &str) -> Result<Vec<ObjectRecord>> {
        let sql = format!("{SELECT_OBJECT} WHERE chain_id = $1 ORDER BY chain_version");
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(chain_id)
            .fetch_all(pool)
            .await)
        .map_err(query_error("read a key's versions"))
    }

    /// Every version of the keys `chain_ids`, by key and oldest first: one query per
    /// `MAX_IN_LIST` (500) keys.
    pub async fn chains(&self, chain_ids: &[&str]) -> Result<Vec<ObjectRecord>> {
        self.read_in_lists(
            chain_ids,
            |list| {
                format!(
                    "{SELECT_OBJECT} WHERE chain_id IN ({list}) ORDER BY chain_id, chain_version"
                )
            },
            "read keys' versions",
        )
        .await
    }

    /// Every version of the key `uid` belongs to, oldest first (empty when there is no
    /// object `uid`). A key is usually named by its first version, whose unique identifier
    /// is the key's `chain_id`: that is one index look-up, tried first; a later version's
    /// identifier takes a second query, through the version's row.
    pub async fn chain_of(&self, uid: &str) -> Result<Vec<ObjectRecord>> {
        let first_named = self.chain(uid).await?;
        // The first version itself must still be there (a KMIP batch undone removes it).
        if first_named.first().is_some_and(|first| first.uid == uid) {
            return Ok(first_named);
        }
        let sql = format!(
            "{SELECT_OBJECT} WHERE chain_id = (SELECT chain_id FROM objects WHERE uid = $1) \
             ORDER BY chain_version"
        );
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(uid)
            .fetch_all(pool)
            .await)
        .map_err(query_error("read a key's versions"))
    }

    /// Sets state and attributes if the row is still at `expected_row_version`;
    /// `Conflict` when someone else changed it first, `NotFound` when it is gone.
    pub async fn update_object(
        &self,
        uid: &str,
        chain_id: &str,
        expected_row_version: i64,
        state: &str,
        attributes: &serde_json::Value,
    ) -> Result<i64> {
        let attributes = attributes.to_string();
        let change = Change::UpdateObject {
            uid,
            chain_id,
            expected_row_version,
            state,
            attributes: &attributes,
        };
        let updated = self
            .apply(&[change], &[])
            .await?
            .first()
            .copied()
            .unwrap_or(0);
        if updated == 1 {
            return Ok(expected_row_version + 1);
        }
        match self.object(uid).await? {
            Some(_) => Err(Error::Conflict(format!("object {uid}"))),
            None => Err(Error::NotFound(format!("object {uid}"))),
        }
    }

    /// Whether any object's material is wrapped by a master key version below `version`:
    /// one look-up in the index on `wrap_key_version`, however many objects there are.
    /// (Asked through the listing below, SQLite walks the objects in uid order to the end
    /// when none is left: a pass over every object.)
    pub async fn any_wrapped_before(&self, version: i64) -> Result<bool> {
        on_pool!(self, |pool| sqlx::query_scalar(ANY_WRAPPED_BEFORE)
            .bind(version)
            .fetch_one(pool)
            .await)
        .map_err(query_error("look for objects to re-wrap"))
    }

    /// Up to `limit` objects with material wrapped by a master key version below
    /// `version`, in uid order after `after_uid` (pass "" to start).
    pub async fn objects_wrapped_before(
        &self,
        version: i64,
        after_uid: &str,
        limit: i64,
    ) -> Result<Vec<ObjectRecord>> {
        let sql = format!(
            "{SELECT_OBJECT} WHERE wrapped IS NOT NULL AND wrap_key_version < $1 AND uid > $2 \
             ORDER BY uid LIMIT $3"
        );
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(version)
            .bind(after_uid)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(query_error("find objects to re-wrap"))
    }

    /// Replaces an object's wrapped material if the row is still at `expected_row_version`
    /// (false when it changed meanwhile: read it again and retry).
    pub async fn rewrap_object(
        &self,
        uid: &str,
        chain_id: &str,
        expected_row_version: i64,
        wrapped: &[u8],
        wrap_key_version: i64,
    ) -> Result<bool> {
        let _tell = self.tell_when_done(vec![Changed::Object {
            chain: chain_id,
            uid,
        }]);
        let rewrapped = on_writer!(self, |pool| {
            sqlx::query(
            "UPDATE objects SET wrapped = $3, wrap_key_version = $4, row_version = row_version + 1 \
             WHERE uid = $1 AND row_version = $2"
        )
        .bind(uid)
        .bind(expected_row_version)
        .bind(wrapped)
        .bind(wrap_key_version)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1)
        })
        .map_err(query_error("re-wrap an object"));
        rewrapped
    }

    /// (master key version, number of objects it wraps), by version.
    pub async fn wrap_key_version_counts(&self) -> Result<Vec<(i64, i64)>> {
        on_pool!(self, |pool| sqlx::query_as(
            "SELECT wrap_key_version, COUNT(*) FROM objects WHERE wrapped IS NOT NULL \
             GROUP BY wrap_key_version ORDER BY wrap_key_version"
        )
        .fetch_all(pool)
        .await)
        .map_err(query_error("count objects by master key version"))
    }

    /// Removes an object with its names and tags; true when it existed.
    pub async fn delete_object(&self, uid: &str) -> Result<bool> {
        // Its chain is not known here (and its names go with it).
        let _tell = self.tell_when_done(vec![Changed::Everything]);
        let deleted = on_writer!(self, |pool| sqlx::query(
            "DELETE FROM objects WHERE uid = $1"
        )
        .bind(uid)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1))
        .map_err(query_error("delete an object"));
        deleted
    }
}

#[cfg(test)]
mod tests {
    use crate::pool::on_pool;
    use crate::testing::TestDatabase;

    /// The maintenance task asks every 10 s whether anything is left to re-wrap; with a
    /// million objects, a pass over them kept a reader busy about a quarter of a core.
    #[tokio::test]
    async fn asking_whether_anything_is_left_to_rewrap_reads_the_index_only() {
        let database = TestDatabase::sqlite();
        let db = database.open().await;
        let sql = format!("EXPLAIN QUERY PLAN {}", super::ANY_WRAPPED_BEFORE);
        let plan: Vec<(i64, i64, i64, String)> = on_pool!(db, |pool| sqlx::query_as(&sql)
            .bind(2_i64)
            .fetch_all(pool)
            .await)
        .unwrap();
        let steps: Vec<&str> = plan.iter().map(|step| step.3.as_str()).collect();
        assert!(
            steps
                .iter()
                .any(|step| step.contains("objects USING INDEX objects_wrap_key_version")),
            "{steps:?}"
        );
    }
}
