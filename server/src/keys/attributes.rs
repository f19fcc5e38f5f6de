//! Changing an object's attributes and names (KMIP Add, Set, Modify and Delete
//! Attribute) in one audited transaction, retried when the object changed underneath.

use hyok_db::{Change, ObjectRecord};
use serde_json::{json, Value};

use super::service::{KeyError, KeyService};
use super::writes::name_changes;
use crate::audit::Actor;

const ATTEMPTS: usize = 5;

impl KeyService {
    /// Applies `change` to the object's attribute map and name list, and stores both.
    pub async fn change_attributes(
        &self,
        uid: &str,
        actor: &Actor,
        operation: &str,
        change: impl Fn(&ObjectRecord, &mut Value, &mut Vec<String>) -> Result<(), KeyError>,
    ) -> Result<(), KeyError> {
        for _ in 0..ATTEMPTS {
            let (object, mut attributes) = self.for_change(uid).await?;
            let before = self.db().names_of(uid).await?;
            let mut names = before.clone();
            change(&object, &mut attributes, &mut names)?;
            let text = attributes.to_string();
            let mut changes = vec![Change::UpdateObject {
                uid,
                chain_id: &object.chain_id,
                expected_row_version: object.row_version,
                state: &object.state,
                attributes: &text,
            }];
            changes.extend(name_changes(uid, &before, &names));
            let affected = self
                .commit(&changes, actor.event(operation).object(uid))
                .await?;
            if affected.first() == Some(&1) {
                return Ok(());
            }
        }
        Err(hyok_db::Error::Conflict(format!("object {uid}")).into())
    }
}

/// An object as it was, to put back when a KMIP batch with the Undo option fails.
pub struct Snapshot {
    object: ObjectRecord,
    names: Vec<String>,
}

impl KeyService {
    /// The object `uid` as it is now, if it exists.
    pub async fn snapshot(&self, uid: &str) -> Result<Option<Snapshot>, KeyError> {
        let Some(object) = self.db().object(uid).await? else {
            return Ok(None);
        };
        let names = self.db().names_of(uid).await?;
        Ok(Some(Snapshot { object, names }))
    }

    /// Puts an object back as it was (state, attributes, names). Erased key material
    /// cannot come back: undoing a Destroy fails.
    pub async fn restore(&self, snapshot: &Snapshot, actor: &Actor) -> Result<(), KeyError> {
        let uid = snapshot.object.uid.as_str();
        let now = self
            .db()
            .object(uid)
            .await?
            .ok_or_else(|| KeyError::NotFound(uid.to_string()))?;
        if now.wrapped.is_none() && snapshot.object.wrapped.is_some() {
            return Err(KeyError::WrongState(format!(
                "the key of {uid} was destroyed and cannot be restored"
            )));
        }
        let names = self.db().names_of(uid).await?;
        let mut changes = vec![Change::UpdateObject {
            uid,
            chain_id: &now.chain_id,
            expected_row_version: now.row_version,
            state: &snapshot.object.state,
            attributes: &snapshot.object.attributes_json,
        }];
        changes.extend(name_changes(uid, &names, &snapshot.names));
        let event = actor
            .event("undo")
            .object(uid)
            .details(json!({ "state": snapshot.object.state }));
        let affected = self.commit(&changes, event).await?;
        if affected.first() == Some(&1) {
            Ok(())
        } else {
            Err(hyok_db::Error::Conflict(format!("object {uid}")).into())
        }
    }

    /// Removes an object a failed Undo batch created.
    pub async fn remove_created(&self, uid: &str, actor: &Actor) -> Result<(), KeyError> {
        self.db().delete_object(uid).await?;
        if let Some(audit) = self.audit() {
            audit
                .record(
                    actor
                        .event("undo")
                        .object(uid)
                        .details(json!({ "removed": true })),
                )
                .await;
        }
        Ok(())
    }
}
