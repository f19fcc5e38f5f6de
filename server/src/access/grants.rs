//! Managing grants: only the owner of an object or an admin grants and revokes on it,
//! only an admin on `*`. A grant on any version of a key is stored on the key's chain,
//! so it covers every version.

use hyok_db::{Change, Grant, ObjectRecord};
use serde::Deserialize;
use serde_json::json;

use super::check::Access;
use super::identities::{
    grant_identity_problem, looks_like_aws, Identities, AWS_PRINCIPAL_PREFIX, AWS_SERVICE_PREFIX,
};
use super::operation::Operation;
use crate::audit::Actor;
use crate::auth::Caller;

/// The longest identity accepted (an AWS principal ARN may take 2048 characters).
const MAX_IDENTITY_CHARS: usize = 2048;
/// How many objects `/access/owned` lists at most.
const MAX_LISTED: i64 = 10_000;

/// A grant or revocation request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantChange {
    /// The object's unique identifier, or `*` for every object.
    pub object: String,
    /// A user name, `xks:<store>`, `aws-principal:<arn>`, `aws-service:<service>`, or `*`
    /// for everyone.
    pub identity: String,
    pub operations: Vec<Operation>,
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] hyok_db::Error),
}

impl Access {
    /// Records the grants of `change`; returns the object (key chain) they are stored on.
    pub async fn grant(
        &self,
        caller: &Caller,
        change: &GrantChange,
        request_id: Option<String>,
    ) -> Result<String, GrantError> {
        let target = self.grant_target(caller, change).await?;
        let changes: Vec<_> = change
            .operations
            .iter()
            .map(|operation| Change::Grant {
                object_uid: &target,
                identity: &change.identity,
                operation: operation.as_str(),
                granted_by: &caller.user,
            })
            .collect();
        self.apply_audited(&changes, caller, "grant", &target, change, request_id)
            .await?;
        Ok(target)
    }

    /// Removes the grants of `change`; returns how many existed.
    pub async fn revoke(
        &self,
        caller: &Caller,
        change: &GrantChange,
        request_id: Option<String>,
    ) -> Result<usize, GrantError> {
        let target = self.grant_target(caller, change).await?;
        let changes: Vec<_> = change
            .operations
            .iter()
            .map(|operation| Change::RevokeGrant {
                object_uid: &target,
                identity: &change.identity,
                operation: operation.as_str(),
            })
            .collect();
        let affected = self
            .apply_audited(
                &changes,
                caller,
                "revoke-grant",
                &target,
                change,
                request_id,
            )
            .await?;
        Ok(affected.iter().filter(|rows| **rows > 0).count())
    }

    /// Applies grant changes, with their audit entry in the same transaction.
    async fn apply_audited(
        &self,
        changes: &[Change<'_>],
        caller: &Caller,
        operation: &str,
        target: &str,
        change: &GrantChange,
        request_id: Option<String>,
    ) -> Result<Vec<u64>, GrantError> {
        let Some(audit) = self.audit() else {
            return Ok(self.db().apply(changes, &[]).await?);
        };
        let details = json!({ "identity": change.identity, "operations": change.operations });
        let event = Actor::new(&caller.user, request_id)
            .event(operation)
            .object(target)
            .details(details);
        Ok(audit.commit(changes, &[event]).await?)
    }

    /// The grants on an object (its key chain), for its owner or an admin.
    pub async fn grants_on(&self, caller: &Caller, uid: &str) -> Result<Vec<Grant>, GrantError> {
        let target = match uid {
            "*" if caller.is_admin() => "*".to_string(),
            "*" => {
                return Err(GrantError::Forbidden(
                    "only admins list the grants on *".into(),
                ))
            }
            uid => self.owned_or_administered(caller, uid).await?.chain_id,
        };
        Ok(self.db().grants_on(&target).await?)
    }

    /// The objects the caller owns.
    pub async fn owned(&self, caller: &Caller) -> Result<Vec<ObjectRecord>, GrantError> {
        Ok(self.db().objects_owned_by(&caller.user, MAX_LISTED).await?)
    }

    /// The grants that apply to the caller (to its identities or to `*`).
    pub async fn obtained(&self, caller: &Caller) -> Result<Vec<Grant>, GrantError> {
        let names = Identities::of_caller(caller).grant_names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Ok(self.db().grants_to(&names).await?)
    }

    async fn grant_target(
        &self,
        caller: &Caller,
        change: &GrantChange,
    ) -> Result<String, GrantError> {
        let identity = &change.identity;
        if identity.is_empty()
            || identity.chars().count() > MAX_IDENTITY_CHARS
            || identity.chars().any(char::is_control)
        {
            return Err(GrantError::Invalid(format!(
                "identity: 1 to {MAX_IDENTITY_CHARS} printable characters"
            )));
        }
        if let Some(problem) = grant_identity_problem(identity) {
            return Err(GrantError::Invalid(format!(
                "identity {identity:?}: {problem}"
            )));
        }
        if looks_like_aws(identity) && self.db().user(identity).await?.is_none() {
            let hint = if identity.ends_with(".amazonaws.com") {
                format!("{AWS_PRINCIPAL_PREFIX}{identity} (the awsPrincipalArn) or {AWS_SERVICE_PREFIX}{identity} (the kmsViaService)")
            } else {
                format!("{AWS_PRINCIPAL_PREFIX}{identity}")
            };
            return Err(GrantError::Invalid(format!(
                "identity {identity:?} names no hyok user; for the AWS principal or service of XKS requests, grant to {hint}"
            )));
        }
        if change.operations.is_empty() {
            return Err(GrantError::Invalid(
                "operations: name at least one operation".into(),
            ));
        }
        match change.object.as_str() {
            "*" if caller.is_admin() => Ok("*".into()),
            "*" => Err(GrantError::Forbidden(
                "only admins grant or revoke on * (every object)".into(),
            )),
            uid => Ok(self.owned_or_administered(caller, uid).await?.chain_id),
        }
    }

    async fn owned_or_administered(
        &self,
        caller: &Caller,
        uid: &str,
    ) -> Result<ObjectRecord, GrantError> {
        let object = self
            .db()
            .object(uid)
            .await?
            .ok_or_else(|| GrantError::NotFound(uid.to_string()))?;
        if object.owner == caller.user || caller.is_admin() {
            Ok(object)
        } else {
            Err(GrantError::Forbidden(format!(
                "only the owner of {uid} or an admin manages its grants; {:?} is neither",
                caller.user
            )))
        }
    }
}
