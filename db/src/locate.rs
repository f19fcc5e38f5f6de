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
}

/// A bound value.
enum Bound<'a> {
    Text(&'a str),
    Number(i64),
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
        let mut bound = vec![Bound::Number(at), Bound::Text(uid)];
        let mut sql =
            format!("{SELECT_OBJECT} WHERE (created_at < $1 OR (created_at = $1 AND uid < $2))");
        if !destroyed_too {
            sql.push_str(" AND state NOT IN ('Destroyed', 'DestroyedCompromised')");
        }
        let json = match self.engine() {
            Engine::Sqlite => "json(?)",
            Engine::Postgres => "(?::jsonb)::text",
        };
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
                    "uid IN (SELECT uid FROM object_search WHERE field = ? AND text = ?)"
                        .to_string()
                }
                Filter::Json { field, json: value } => {
                    bound.extend([Bound::Text(field), Bound::Text(value)]);
                    format!(
                        "uid IN (SELECT uid FROM object_search WHERE field = ? AND text = {json})"
                    )
                }
                Filter::NumberBetween { field, from, to } => {
                    bound.extend([Bound::Text(field), Bound::Number(*from), Bound::Number(*to)]);
                    "uid IN (SELECT uid FROM object_search WHERE field = ? AND number BETWEEN ? AND ?)"
                        .to_string()
                }
                Filter::BitsSet { field, bits } => {
                    bound.extend([
                        Bound::Text(field),
                        Bound::Number(*bits),
                        Bound::Number(*bits),
                    ]);
                    "uid IN (SELECT uid FROM object_search WHERE field = ? AND (number & ?) = ?)"
                        .to_string()
                }
            };
            sql.push_str(" AND ");
            sql.push_str(&clause);
        }
        bound.push(Bound::Number(limit));
        sql.push_str(" ORDER BY created_at DESC, uid DESC LIMIT ?");
        let sql = numbered(&sql, 3);
        on_pool!(self, |pool| {
            let mut query = sqlx::query_as(&sql);
            for value in &bound[..] {
                query = match value {
                    Bound::Text(text) => query.bind(*text),
                    Bound::Number(number) => query.bind(*number),
                };
            }
            query.fetch_all(pool).await
        })
        .map_err(query_error("locate objects"))
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
    fn parameters_are_numbered_after_the_page_bounds() {
        assert_eq!(
            numbered("a = ? AND b BETWEEN ? AND ? LIMIT ?", 3),
            "a = $3 AND b BETWEEN $4 AND $5 LIMIT $6"
        );
    }
}
