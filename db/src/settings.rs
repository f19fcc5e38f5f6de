//! Settings: small named values the cluster agrees on (for example the master key's
//! check value, which stops a node from starting with the wrong master key).

use crate::changes::Change;
use crate::error::{query_error, Result};
use crate::pool::{on_pool, on_writer};
use crate::{now_millis, Db};

/// Sets a setting's value if it still holds the expected one: `$1` name, `$2` value, `$3`
/// time, `$4` the expected value.
pub(crate) const REPLACE_SETTING: &str =
    "UPDATE settings SET value = $2, updated_at = $3 WHERE name = $1 AND value = $4";

/// Inserts a setting unless it exists: `$1` name, `$2` value, `$3` time.
pub(crate) const INSERT_SETTING_IF_ABSENT: &str =
    "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";

impl Db {
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT value FROM settings WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await)
        .map_err(query_error("read a setting"))
    }

    /// Stores `value` unless the setting exists; returns the value now stored, so
    /// concurrent first starts agree on one value.
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        self.insert_setting_if_absent(name, value).await?;
        Ok(self
            .setting(name)
            .await?
            .unwrap_or_else(|| value.to_string()))
    }

    /// Sets `name` to `value` if it still holds `expected` (`None`: if it does not exist);
    /// returns whether it did, so that concurrent writers can retry on a fresh read.
    pub async fn replace_setting(
        &self,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool> {
        let Some(expected) = expected else {
            return Ok(self.insert_setting_if_absent(name, value).await? == 1);
        };
        let changed = on_writer!(self, |pool| sqlx::query(REPLACE_SETTING)
            .bind(name)
            .bind(value)
            .bind(now_millis())
            .bind(expected)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(query_error("replace a setting"))?;
        Ok(changed == 1)
    }

    /// Inserts the setting unless it exists; returns the rows inserted (0 or 1).
    async fn insert_setting_if_absent(&self, name: &str, value: &str) -> Result<u64> {
        on_writer!(self, |pool| sqlx::query(INSERT_SETTING_IF_ABSENT)
            .bind(name)
            .bind(value)
            .bind(now_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(query_error("store a setting"))
    }

    /// Sets a setting, replacing any value.
    pub async fn put_setting(&self, name: &str, value: &str) -> Result<()> {
        self.apply(&[Change::PutSetting { name, value }], &[])
            .await
            .map(|_| ())
    }
}
