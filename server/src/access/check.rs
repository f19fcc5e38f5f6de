//! The access decision: owner, or a grant on the object's key chain (or `*`) to one of
//! the caller's identities (or `*`); and who may create objects. A denial says what was
//! missing, so that it can be shown to the caller and written to the audit log.

use std::sync::Arc;
use std::time::Duration;

use hyok_db::{Db, Grant, ObjectRecord};

use super::decisions::{granted_by, DecisionCache};
use super::identities::Identities;
use super::operation::Operation;
use crate::audit::AuditLog;
use crate::auth::Caller;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed { reason: String },
    Denied { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("access denied: {0}")]
    Denied(String),
    #[error(transparent)]
    Storage(#[from] hyok_db::Error),
}

pub struct Access {
    db: Db,
    creators: Option<Vec<String>>,
    audit: Option<Arc<AuditLog>>,
    /// Whether a grant exists, by key, identities and operation.
    decisions: DecisionCache,
}

impl Access {
    /// `creators`: `[auth] creators` (who may create objects; `None`: every user).
    pub fn new(db: Db, creators: Option<Vec<String>>) -> Access {
        Access {
            db,
            creators,
            audit: None,
            decisions: DecisionCache::new(0, Duration::ZERO),
        }
    }

    /// Keeps the grant decisions of up to `max_entries` keys (forgotten when a grant on
    /// them changes, and after at most `max_age`).
    pub fn with_decision_cache(mut self, max_entries: usize, max_age: Duration) -> Access {
        self.decisions = DecisionCache::new(max_entries, max_age);
        let decisions = self.decisions.clone();
        self.db
            .on_change(Arc::new(move |change| decisions.forget(change)));
        self
    }

    /// The grant decisions kept.
    pub fn decisions(&self) -> &DecisionCache {
        &self.decisions
    }

    /// Records grant changes in `audit`, in the same transaction.
    pub fn with_audit(mut self, audit: Arc<AuditLog>) -> Access {
        self.audit = Some(audit);
        self
    }

    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    pub(super) fn audit(&self) -> Option<&AuditLog> {
        self.audit.as_deref()
    }

    /// Whether `identities` may perform `operation` on the object `uid`, and why.
    pub async fn decide(
        &self,
        identities: &Identities,
        uid: &str,
        operation: Operation,
    ) -> Result<Decision, AccessError> {
        let object = self
            .db
            .object(uid)
            .await?
            .ok_or_else(|| AccessError::NotFound(uid.to_string()))?;
        self.decide_for(identities, &object, operation).await
    }

    /// Whether `identities` may perform `operation` on `object` (owner, or a grant), without
    /// the explanation [`Access::decide_for`] writes.
    pub async fn allows(
        &self,
        identities: &Identities,
        object: &ObjectRecord,
        operation: Operation,
    ) -> Result<bool, AccessError> {
        Ok(identities.includes_owner(&object.owner)
            || self
                .is_granted(&object.chain_id, identities, operation)
                .await?)
    }

    /// [`Access::decide`] for an object already read.
    pub async fn decide_for(
        &self,
        identities: &Identities,
        object: &ObjectRecord,
        operation: Operation,
    ) -> Result<Decision, AccessError> {
        let uid = object.uid.as_str();
        if identities.includes_owner(&object.owner) {
            return Ok(Decision::Allowed {
                reason: format!("{} owns {uid}", object.owner),
            });
        }
        if self
            .is_granted(&object.chain_id, identities, operation)
            .await?
        {
            return Ok(Decision::Allowed {
                reason: format!("granted {operation} on {} or *", object.chain_id),
            });
        }
        let key = if object.chain_id == uid {
            String::new()
        } else {
            format!(" (key {})", object.chain_id)
        };
        Ok(Decision::Denied {
            reason: format!(
                "{operation} on {uid}{key} needs a grant of {operation} on it (or on *) to one of [{identities}] (or to *); none exists"
            ),
        })
    }

    /// [`Access::decide_for`]'s rule over grants already read (those on the object's key
    /// and on `*`, [`Db::grants_on_any`]): whether `identities` may perform `operation`
    /// on `object`, without a query.
    pub fn allows_by(
        grants: &[&Grant],
        identities: &Identities,
        object: &ObjectRecord,
        operation: Operation,
    ) -> bool {
        identities.includes_owner(&object.owner)
            || granted_by(grants, &object.chain_id, identities, operation)
    }

    /// Whether a grant of `operation` on the key `chain_id` (or `*`) names one of
    /// `identities` (or `*`): from the cache, else one query.
    async fn is_granted(
        &self,
        chain_id: &str,
        identities: &Identities,
        operation: Operation,
    ) -> Result<bool, AccessError> {
        let who = identities.key();
        if let Some(granted) = self.decisions.get(chain_id, &who, operation) {
            return Ok(granted);
        }
        let told = self.db.changes_told();
        let names = identities.grant_names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let granted = self
            .db
            .is_granted(chain_id, &names, operation.as_str())
            .await?;
        self.decisions
            .keep(&self.db, chain_id, &who, operation, granted, told);
        Ok(granted)
    }

    /// Like [`Access::decide`], with a denial as an error.
    pub async fn require(
        &self,
        identities: &Identities,
        uid: &str,
        operation: Operation,
    ) -> Result<(), AccessError> {
        match self.decide(identities, uid, operation).await? {
            Decision::Allowed { .. } => Ok(()),
            Decision::Denied { reason } => Err(AccessError::Denied(reason)),
        }
    }

    /// Whether `caller` may create or register objects (`[auth] creators`).
    pub fn may_create(&self, caller: &Caller) -> Result<(), AccessError> {
        match &self.creators {
            _ if caller.is_admin() => Ok(()),
            None => Ok(()),
            Some(creators) if creators.contains(&caller.user) => Ok(()),
            Some(_) => Err(AccessError::Denied(format!(
                "user {:?} may not create objects: [auth] creators lists who may",
                caller.user
            ))),
        }
    }
}
