//! What a KMIP operation runs with: the server state, the caller and their identities,
//! the request id and the negotiated version; and the one way operations reach an
//! object — read it, check the caller's right, audit a denial.

use hyok_kmip::enums::ResultReason;
use std::borrow::Borrow;
use std::sync::Arc;

use hyok_db::ObjectRecord;
use hyok_kmip::registry::Version;
use serde_json::json;

use super::error::KmipError;
use crate::access::{Decision, Identities, Operation};
use crate::audit::{Actor, Event};
use crate::auth::Caller;
use crate::state::AppState;

pub struct Context<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub identities: Identities,
    pub request_id: Option<String>,
    pub version: Version,
}

impl Context<'_> {
    pub fn actor(&self) -> Actor {
        Actor::new(&self.caller.user, self.request_id.clone())
    }

    /// The object `uid`, if the caller may perform `operation` on it.
    pub async fn object(&self, uid: &str, operation: Operation) -> Result<ObjectRecord, KmipError> {
        let object = self
            .state
            .db
            .object(uid)
            .await
            .map_err(crate::access::AccessError::from)?
            .ok_or_else(|| {
                KmipError::new(ResultReason::ObjectNotFound, format!("no object {uid}"))
            })?;
        self.permit(object, operation).await
    }

    /// [`Context::object`] for a cryptographic use (Encrypt, Decrypt), through the record
    /// cache; never for an operation that changes the object.
    pub async fn key_for_use(
        &self,
        uid: &str,
        operation: Operation,
    ) -> Result<Arc<ObjectRecord>, KmipError> {
        let object = self
            .state
            .keys
            .object_for_use(uid)
            .await
            .map_err(crate::access::AccessError::from)?
            .ok_or_else(|| {
                KmipError::new(ResultReason::ObjectNotFound, format!("no object {uid}"))
            })?;
        self.permit(object, operation).await
    }

    /// `object`, if the caller may perform `operation` on it (a denial is audited).
    async fn permit<O: Borrow<ObjectRecord>>(
        &self,
        object: O,
        operation: Operation,
    ) -> Result<O, KmipError> {
        let uid = object.borrow().uid.as_str();
        match self
            .state
            .access
            .decide_for(&self.identities, object.borrow(), operation)
            .await?
        {
            Decision::Allowed { .. } => Ok(object),
            Decision::Denied { reason } => {
                let event = Event::new(&self.caller.user, operation.as_str(), "denied")
                    .object(uid)
                    .request(self.request_id.clone())
                    .details(json!({ "reason": reason, "protocol": "kmip" }));
                self.state.audit.record(event).await;
                Err(KmipError::new(ResultReason::PermissionDenied, reason))
            }
        }
    }

    /// Refuses a name another object (not destroyed) carries: names identify objects.
    /// The database enforces it on every write; asking first spares the work a Create
    /// does before it stores (generating an RSA key pair, say).
    pub async fn ensure_name_free(&self, name: &str) -> Result<(), KmipError> {
        let named = self
            .state
            .db
            .object_named(name)
            .await
            .map_err(crate::access::AccessError::from)?;
        match named {
            Some(_) => Err(KmipError::from(crate::access::AccessError::from(
                hyok_db::Error::NameTaken(format!("{name:?}")),
            ))),
            None => Ok(()),
        }
    }

    /// Records a successful use of a key (Get, Encrypt, Decrypt).
    pub async fn audit_key_use(&self, operation: Operation, uid: &str) {
        let event = Event::new(&self.caller.user, operation.as_str(), "ok")
            .object(uid)
            .request(self.request_id.clone())
            .details(json!({ "protocol": "kmip" }));
        self.state.audit.record_key_use(event).await;
    }

    /// Records a client's Log message in the audit log, as the caller's.
    pub async fn audit_client_log(&self, message: &str) {
        let event = Event::new(&self.caller.user, "log", "ok")
            .request(self.request_id.clone())
            .details(json!({ "protocol": "kmip", "message": message }));
        self.state.audit.record(event).await;
    }
}

/// The Unique Identifier of a request (given, or the batch's ID Placeholder).
pub fn required_uid(uid: &Option<String>) -> Result<&str, KmipError> {
    uid.as_deref().ok_or_else(|| {
        KmipError::new(
            ResultReason::MissingData,
            "give the Unique Identifier (no earlier item of this batch returned one)",
        )
    })
}
