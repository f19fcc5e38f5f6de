//! Changing a key's state: activation, revocation, destruction (the key material erased,
//! the metadata kept), and the reversible break-glass block (`x-hyok-blocked`). Each
//! change commits with its audit entry and evicts the key from the cache at once.

use hyok_db::Change;
use hyok_kmip::enums::State;
use serde_json::{json, Value};

use super::service::{KeyError, KeyService};
use crate::audit::Actor;

/// The attribute that marks a blocked key.
pub const BLOCKED: &str = "x-hyok-blocked";
/// Whether a state change erases the key material.
#[derive(Clone, Copy)]
enum Erase {
    No,
    Yes,
}

/// Attempts before giving up on a key that keeps changing underneath.
const ATTEMPTS: usize = 5;

impl KeyService {
    /// Pre-Active → Active (KMIP Activate).
    pub async fn activate(&self, uid: &str, actor: &Actor) -> Result<(), KeyError> {
        self.modify(uid, actor, "activate", Erase::No, |state, attributes| {
            if state != State::PreActive {
                return Err(KeyError::WrongState(format!(
                    "{uid} is {state}; only a PreActive object can be activated"
                )));
            }
            attributes["ActivationDate"] = json!(hyok_db::now_millis());
            Ok(State::Active)
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
        self.modify(uid, actor, operation, Erase::No, |state, attributes| {
            attributes[BLOCKED] = json!(blocked);
            Ok(state)
        })
        .await
    }

    /// KMIP Revoke: Pre-Active or Active → Deactivated; with a compromise, any state
    /// but destroyed → Compromised (`compromised_at`: when it happened, seconds).
    /// `reason`: the Revocation Reason Code, by name.
    pub async fn revoke(
        &self,
        uid: &str,
        reason: &str,
        compromised_at: Option<Option<i64>>,
        actor: &Actor,
    ) -> Result<(), KeyError> {
        self.modify(uid, actor, "revoke", Erase::No, |state, attributes| {
            let now = hyok_db::now_millis();
            let destroyed = matches!(state, State::Destroyed | State::DestroyedCompromised);
            if !destroyed {
                attributes["RevocationReason"] = json!(reason);
            }
            match (state, compromised_at) {
                (State::Destroyed | State::DestroyedCompromised, _) => Err(KeyError::WrongState(
                    format!("{uid} is {state}; a destroyed object cannot be revoked"),
                )),
                (_, Some(occurred)) => {
                    attributes["CompromiseDate"] = json!(now);
                    attributes["CompromiseOccurrenceDate"] =
                        json!(occurred.map_or(now, |seconds| seconds.saturating_mul(1000)));
                    Ok(State::Compromised)
                }
                (State::PreActive | State::Active, None) => {
                    attributes["DeactivationDate"] = json!(now);
                    Ok(State::Deactivated)
                }
                (_, None) => Err(KeyError::WrongState(format!(
                    "{uid} is {state}; only a PreActive or Active object can be deactivated"
                ))),
            }
        })
        .await
    }

    /// KMIP Destroy: erases the key material and keeps the metadata, state Destroyed (or
    /// Destroyed Compromised). An Active object must be revoked first.
    pub async fn destroy(&self, uid: &str, actor: &Actor) -> Result<(), KeyError> {
        self.modify(uid, actor, "destroy", Erase::Yes, |state, attributes| {
            let next = match state {
                State::PreActive | State::Deactivated => State::Destroyed,
                State::Compromised => State::DestroyedCompromised,
                _ => {
                    return Err(KeyError::WrongState(format!(
                        "{uid} is {state}; revoke an Active object before destroying it"
                    )))
                }
            };
            attributes["DestroyDate"] = json!(hyok_db::now_millis());
            Ok(next)
        })
        .await
    }

    async fn modify(
        &self,
        uid: &str,
        actor: &Actor,
        operation: &str,
        erase: Erase,
        change: impl Fn(State, &mut Value) -> Result<State, KeyError>,
    ) -> Result<(), KeyError> {
        for _ in 0..ATTEMPTS {
            let (object, mut attributes) = self.for_change(uid).await?;
            let stored = State::from_name(&object.state).ok_or_else(|| {
                KeyError::WrongState(format!(
                    "{uid} has a damaged state ({:?}); it cannot change",
                    object.state
                ))
            })?;
            let state = change(stored, &mut attributes)?.name();
            let text = attributes.to_string();
            let update = match erase {
                Erase::No => Change::UpdateObject {
                    uid,
                    chain_id: &object.chain_id,
                    expected_row_version: object.row_version,
                    state,
                    attributes: &text,
                },
                Erase::Yes => Change::DestroyMaterial {
                    uid,
                    chain_id: &object.chain_id,
                    expected_row_version: object.row_version,
                    state,
                    attributes: &text,
                },
            };
            let event = actor
                .event(operation)
                .object(uid)
                .details(json!({ "state": state }));
            // A destroyed object frees its names (it keeps them for the record).
            let destroyed = [State::Destroyed.name(), State::DestroyedCompromised.name()];
            let retire = Change::RetireNames { uid };
            let changes = match destroyed.contains(&state) {
                true => vec![update, retire],
                false => vec![update],
            };
            let affected = self.commit(&changes, event).await?;
            if affected.first() == Some(&1) {
                return Ok(());
            }
        }
        Err(hyok_db::Error::Conflict(format!("object {uid}")).into())
    }
}
