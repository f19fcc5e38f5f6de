//! Changing a key's state: activation, and the reversible break-glass block
//! (`x-hyok-blocked`). Each change commits with its audit entry and evicts the key from
//! the cache at once.

use hyok_db::Change;
use serde_json::{json, Value};

use super::service::{KeyError, KeyService};
use crate::audit::Actor;

/// The attribute that marks a blocked key.
pub const BLOCKED: &str = "x-hyok-blocked";
/// Attempts before giving up on a key that keeps changing underneath.
const ATTEMPTS: usize = 5;

impl KeyService {
    /// Pre-Active → Active (KMIP Activate).
    pub async fn activate(&self, uid: &str, actor: &Actor) -> Result<(), KeyError> {
        self.modify(uid, actor, "activate", |state, attributes| {
            if state != "PreActive" {
                return Err(KeyError::Invalid(format!(
                    "{uid} is {state}, not PreActive"
                )));
            }
            attributes["ActivationDate"] = json!(hyok_db::now_millis());
            Ok("Active".to_string())
        })
        .await
    }

    /// Blocks (every cryptographic use refused) or unblocks a key.
    pub async fn set_blocked(
        &self,
        uid: &str,
        blocked: bool,
        actor: &Actor,
    ) -> Result<(), KeyError> {
        let operation = if blocked { "block" } else { "unblock" };
        self.modify(uid, actor, operation, |state, attributes| {
            attributes[BLOCKED] = json!(blocked);
            Ok(state.to_string())
        })
        .await
    }

    async fn modify(
        &self,
        uid: &str,
        actor: &Actor,
        operation: &str,
        change: impl Fn(&str, &mut Value) -> Result<String, KeyError>,
    ) -> Result<(), KeyError> {
        for _ in 0..ATTEMPTS {
            let object = self
                .db()
                .object(uid)
                .await?
                .ok_or_else(|| KeyError::NotFound(uid.to_string()))?;
            let mut attributes = object.attributes();
            if !attributes.is_object() {
                attributes = json!({});
            }
            let state = change(&object.state, &mut attributes)?;
            let text = attributes.to_string();
            let update = Change::UpdateObject {
                uid,
                expected_row_version: object.row_version,
                state: &state,
                attributes: &text,
            };
            let event = actor
                .event(operation)
                .object(uid)
                .details(json!({ "state": state }));
            let affected = match self.audit() {
                Some(audit) => audit.commit(&[update], &[event]).await?,
                None => self.db().apply(&[update], &[]).await?,
            };
            if affected.first() == Some(&1) {
                self.invalidate(uid);
                return Ok(());
            }
        }
        Err(hyok_db::Error::Conflict(format!("object {uid}")).into())
    }
}
