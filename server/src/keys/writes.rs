//! How the key service writes: each change with its audit entry in one transaction when
//! the service audits (the server), the change alone otherwise (tools, tests); and what
//! every read-modify-write starts from.

use hyok_db::{Change, NewObject, ObjectRecord};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::cache::Material;
use super::service::{KeyError, KeyService};
use crate::audit::{Event, OwnedObject};

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

    /// Stores `object` (which holds no material yet, and is version 1 of its chain) with
    /// `material` wrapped by the master key. When the service audits, through the batch
    /// sealer and the group commit, recorded by `event` with the master key version
    /// added; else wrapped and stored alone, unrecorded (tools, tests).
    pub(super) async fn insert_new(
        &self,
        object: &NewObject<'_>,
        material: &Material,
        event: Event,
    ) -> Result<(), KeyError> {
        if let Some(sealer) = self.sealer() {
            return sealer
                .store(OwnedObject::of(object), material.clone(), event)
                .await;
        }
        let version = u64::try_from(object.chain_version).unwrap_or_default();
        let (blob, key_version) = self
            .keystore()
            .wrap(object.uid, version, Zeroizing::new(material.to_vec()))
            .await?;
        let object = NewObject {
            wrapped: Some(&blob),
            wrap_key_version: i64::from(key_version),
            ..*object
        };
        self.db().insert_object_audited(&object, &[], &[]).await?;
        Ok(())
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
