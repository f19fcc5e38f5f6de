//! Changing an object's attributes and names (KMIP Add, Set, Modify and Delete
//! Attribute) in one audited transaction, retried when the object changed underneath.

use hyok_db::{Change, ObjectRecord};
use serde_json::{json, Value};

use super::service::{KeyError, KeyService};
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
            let object = self
                .db()
                .object(uid)
                .await?
                .ok_or_else(|| KeyError::NotFound(uid.to_string()))?;
            let before = self.db().names_of(uid).await?;
            let mut attributes = object.attributes();
            if !attributes.is_object() {
                attributes = json!({});
            }
            let mut names = before.clone();
            change(&object, &mut attributes, &mut names)?;
            let text = attributes.to_string();
            let mut changes = vec![Change::UpdateObject {
                uid,
                expected_row_version: object.row_version,
                state: &object.state,
                attributes: &text,
            }];
            changes.extend(
                names
                    .iter()
                    .filter(|n| !before.contains(n))
                    .map(|name| Change::AddName { uid, name }),
            );
            changes.extend(
                before
                    .iter()
                    .filter(|n| !names.contains(n))
                    .map(|name| Change::RemoveName { uid, name }),
            );
            let event = actor.event(operation).object(uid);
            let affected = match self.audit() {
                Some(audit) => audit.commit(&changes, &[event]).await?,
                None => self.db().apply(&changes, &[]).await?,
            };
            if affected.first() == Some(&1) {
                self.invalidate(uid);
                return Ok(());
            }
        }
        Err(hyok_db::Error::Conflict(format!("object {uid}")).into())
    }
}
