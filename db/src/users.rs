//! Users: a name and a role. Identities of every kind (token, certificate) resolve to one.

use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::changes::Change;
use crate::error::{query_error, Result};
use crate::pool::on_pool;
use crate::{now_millis, Db};

/// What a user may administer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// Parses the stored spelling; the database's CHECK constraint admits only these.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    name: String,
    role: String,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            role: Role::parse(&row.role).unwrap_or(Role::User),
            name: row.name,
            created_at: row.created_at,
        }
    }
}

impl Db {
    /// Creates a user; `AlreadyExists` when the name is taken.
    pub async fn create_user(&self, name: &str, role: Role) -> Result<User> {
        self.create_user_audited(name, role, &[]).await
    }

    /// Creates a user together with the audit entries that record it.
    pub async fn create_user_audited(
        &self,
        name: &str,
        role: Role,
        audit: &[AuditEntry],
    ) -> Result<User> {
        self.apply(&[Change::CreateUser { name, role }], audit)
            .await?;
        Ok(User {
            name: name.to_string(),
            role,
            created_at: now_millis(),
        })
    }

    pub async fn user(&self, name: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT name, role, created_at FROM users WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await)
        .map_err(query_error("read a user"))?;
        Ok(row.map(User::from))
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT name, role, created_at FROM users ORDER BY name"
        )
        .fetch_all(pool)
        .await)
        .map_err(query_error("list users"))?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub async fn count_users(&self) -> Result<i64> {
        on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(pool)
        .await)
        .map_err(query_error("count users"))
    }
}
