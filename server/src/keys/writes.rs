//! How the key service writes: each change with its audit entry in one transaction when
//! the service audits (the server), the change alone otherwise (tools, tests); and what
//! every read-modify-write starts from.

use hyok_db::{Change, NewObject, ObjectRecord};
use serde_json::{json, Value};

use super::service::{KeyError, KeyService};
use crate::audit::Event;

impl KeyService {
    /// Applies `changes`, recorded by `event`; the rows each change affected.
    pub(super) async fn commit(
        &self,
        changes: &[Change<'_>],
        event: Event,
    ) -> Result<Vec<u64>, KeyError> {
        Ok(match self.audit() {
            Some(audit) => audit.commit(changes, &[event]).await?,
            None => self.db().apply(changes, &[]).await?,
        })
    }

    /// Stores a new object and applies `others`, recorded by `event`.
    pub(super) async fn insert_audited(
        &self,
        object: &NewObject<'_>,
        others: &[Change<'_>],
        event: &Event,
    ) -> Result<(), KeyError> {
        match self.audit() {
            Some(audit) => audit.commit_object(object, others, event).await?,
            None => self.db().insert_object_audited(object, others, &[]).await?,
        }
        Ok(())
    }

    /// The object `uid` and its attribute map (`{}` when the stored value is not one), to
    /// change and write back at the object's row version.
    pub(super) async fn for_change(&self, uid: &str) -> Result<(ObjectRecord, Value), KeyError> {
        let object = self
            .db()
            .object(uid)
            .await?
            .ok_or_else(|| KeyError::NotFound(uid.to_string()))?;
        let mut attributes = object.attributes().clone();
        if !attributes.is_object() {
            attributes = json!({});
        }
        Ok((object, attributes))
    }
}

/// The changes that take the names of `uid` from `from` to `to`.
pub(super) fn name_changes<'a>(
    uid: &'a str,
    from: &'a [String],
    to: &'a [String],
) -> impl Iterator<Item = Change<'a>> {
    let added = to
        .iter()
        .filter(|name| !from.contains(name))
        .map(move |name| Change::AddName { uid, name });
    let removed = from
        .iter()
        .filter(|name| !to.contains(name))
        .map(move |name| Change::RemoveName { uid, name });
    added.chain(removed)
}
