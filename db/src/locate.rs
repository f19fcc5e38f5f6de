//! Locate in SQL: the objects that meet every filter, most recently created first, a page
//! at a time. Filters on the objects' own columns, their names, and the searchable rows
//! the `object_search` triggers keep from their stored attributes (migration 0009).

use crate::error::{query_error, Result};
use crate::objects::{ObjectRecord, SELECT_OBJECT};
use crate::pool::on_pool;
use crate::{Db, Engine};

/// One condition an object must meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Uid(String),
    ObjectType(String),
    State(String),
    /// Created within [from, to] (Unix ms).
    CreatedBetween(i64, i64),
    /// Last changed within [from, to] (Unix ms).
    ChangedBetween(i64, i64),
    /// Carries the name; `live_only`: not one a destroyed object left.
    Named {
        name: String,
        live_only: bool,
    },
    /// A stored attribute's text (a string's value, a number's or a boolean's digits).
    Text {
        field: String,
        text: String,
    },
    /// A stored JSON element (an attribute kept as TTLV-JSON), compared as JSON.
    Json {
        field: String,
        json: String,
    },
    /// A stored integer within [from, to].
    NumberBetween {
        field: String,
        from: i64,
        to: i64,
    },
    /// A stored integer with every bit of `bits` set.
    BitsSet {
        field: String,
        bits: i64,
    },
    /// Owned by one of `owners`, or granted `operation` (on the object's key or on `*`) to
    /// one of `identities` or to `*`: the access rule, in SQL.
    VisibleTo {
        owners: Vec<String>,
        identities: Vec<String>,
        operation: String,
    },
}

/// A bound value.
enum Bound<'a> {
    Text(&'a str),
    Number(i64),
}

/// `query` with each of `bound` bound, in order (the query types of sqlx differ).
macro_rules! bind_all {
    ($query:expr, $bound:expr) => {{
        let mut query = $query;
        for value in $bound {
            query = match value {
                Bound::Text(text) => query.bind(*text),
                Bound::Number(number) => query.bind(*number),
            };
        }
        query
    }};
}

impl Db {
    /// Up to `limit` objects meeting every filter (destroyed ones only with
    /// `destroyed_too`), most recently created first, created before `before` (creation
    /// time, uid) when given.
    pub async fn locate_page(
        &self,
        filters: &[Filter],
        destroyed_too: bool,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<ObjectRecord>> {
        let (at, uid) = before.unwrap_or((i64::MAX, ""));
        let mut bound = vec![Bound::Number(at), Bound::Number(at), Bound::Text(uid)];
        let mut sql =
            format!("{SELECT_OBJECT} WHERE (created_at < ? OR (created_at = ? AND uid < ?))");
        self.conditions(filters, destroyed_too, &mut sql, &mut bound);
        sql.push_str(" ORDER BY created_at DESC, uid DESC LIMIT ?");
        bound.push(Bound::Number(limit));
        self.objects(&sql, &bound).await
    }

    /// The objects meeting every filter after the first `offset`, at most `limit`, most
    /// recently created first.
    pub async fn locate_window(
        &self,
        filters: &[Filter],
        destroyed_too: bool,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<ObjectRecord>> {
        let mut bound = Vec::new();
        let mut sql = format!("{SELECT_OBJECT} WHERE 1 = 1");
        self.conditions(filters, destroyed_too, &mut sql, &mut bound);
        sql.push_str(" ORDER BY created_at DESC, uid DESC LIMIT ? OFFSET ?");
        bound.extend([Bound::Number(limit), Bound::Number(offset)]);
        self.objects(&sql, &bound).await
    }

    /// How many objects meet every filter.
    pub async fn locate_count(&self, filters: &[Filter], destroyed_too: bool) -> Result<i64> {
        let mut bound = Vec::new();
        let mut sql = "SELECT COUNT(*) FROM objects WHERE 1 = 1".to_string();
        self.conditions(filters, destroyed_too, &mut sql, &mut bound);
        let sql = numbered(&sql, 1);
        on_pool!(self, |pool| {
            bind_all!(sqlx::query_scalar(&sql), &bound[..])
                .fetch_one(pool)
                .await
        })
        .map_err(query_error("count located objects"))
    }

    async fn objects(&self, sql: &str, bound: &[Bound<'_>]) -> Result<Vec<ObjectRecord>> {
        let sql = numbered(sql, 1);
        on_pool!(self, |pool| {
            bind_all!(sqlx::query_as(&sql), bound).fetch_all(pool).await
        })
        .map_err(query_error("locate objects"))
    }

    /// Appends ` AND …` for each filter to `sql`, and the values it binds to `bound`.
    fn conditions<'a>(
        &self,
        filters: &'a [Filter],
        destroyed_too: bool,
        sql: &mut String,
        bound: &mut Vec<Bound<'a>>,
    ) {
        if !destroyed_too {
            sql.push_str(" AND state NOT IN ('Destroyed', 'DestroyedCompromised')");
        }
        let json = match self.engine() {
            Engine::Sqlite => "json(?)",
            Engine::Postgres => "(?::jsonb)::text",
        };
        let search =
            |condition: &str| format!("uid IN (SELECT uid FROM object_search WHERE {condition})");
        for filter in filters {
            let clause = match filter {
                Filter::Uid(value) => {
                    bound.push(Bound::Text(value));
                    "uid = ?".to_string()
                }
                Filter::ObjectType(value) => {
                    bound.push(Bound::Text(value));
                    "object_type = ?".to_string()
                }
                Filter::State(value) => {
                    bound.push(Bound::Text(value));
                    "state = ?".to_string()
                }
                Filter::CreatedBetween(from, to) => {
                    bound.extend([Bound::Number(*from), Bound::Number(*to)]);
                    "created_at BETWEEN ? AND ?".to_string()
                }
                Filter::ChangedBetween(from, to) => {
                    bound.extend([Bound::Number(*from), Bound::Number(*to)]);
                    "updated_at BETWEEN ? AND ?".to_string()
                }
                Filter::Named { name, live_only } => {
                    bound.push(Bound::Text(name));
                    let live = if *live_only { " AND live = 1" } else { "" };
                    format!("uid IN (SELECT uid FROM object_names WHERE name = ?{live})")
                }
                Filter::Text { field, text } => {
                    bound.extend([Bound::Text(field), Bound::Text(text)]);
                    search("field = ? AND text = ?")
                }
                Filter::Json { field, json: value } => {
                    bound.extend([Bound::Text(field), Bound::Text(value)]);
                    search(&format!("field = ? AND text = {json}"))
                }
                Filter::NumberBetween { field, from, to } => {
                    bound.extend([Bound::Text(field), Bound::Number(*from), Bound::Number(*to)]);
                    search("field = ? AND number BETWEEN ? AND ?")
                }
                Filter::BitsSet { field, bits } => {
                    bound.extend([
                        Bound::Text(field),
                        Bound::Number(*bits),
                        Bound::Number(*bits),
                    ]);
                    search("field = ? AND (number & ?) = ?")
                }
                Filter::VisibleTo {
                    owners,
                    identities,
                    operation,
                } => {
                    let owned = vec!["?"; owners.len()].join(", ");
                    bound.extend(owners.iter().map(|o| Bound::Text(o)));
                    bound.push(Bound::Text(operation));
                    let named: Vec<&str> = identities.iter().map(|_| "?").chain(["'*'"]).collect();
                    bound.extend(identities.iter().map(|i| Bound::Text(i)));
                    let owned = match owned.is_empty() {
                        true => String::new(),
                        false => format!("owner IN ({owned}) OR "),
                    };
                    format!(
                        "({owned}EXISTS (SELECT 1 FROM grants g WHERE g.object_uid IN (objects.chain_id, '*') \
                         AND g.operation = ? AND g.identity IN ({})))",
                        named.join(", ")
                    )
                }
            };
            sql.push_str(" AND ");
            sql.push_str(&clause);
        }
    }
}

/// `sql` with each `?` replaced by `$first`, `$first + 1`, … (both engines read `$n`).
fn numbered(sql: &str, first: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut next = first;
    for c in sql.chars() {
        if c == '?' {
            out.push_str(&format!("${next}"));
            next += 1;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn parameters_are_numbered_in_order() {
        assert_eq!(
            numbered("a = ? AND b BETWEEN ? AND ? LIMIT ?", 1),
            "a = $1 AND b BETWEEN $2 AND $3 LIMIT $4"
        );
    }
}
