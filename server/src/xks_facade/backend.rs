//! hyok behind the XKS facade: the external key id resolved to a key (its ReKey chain),
//! authorization of the request's identities, state and usage checks in the XKS check order
//! (hyok-xks's service.rs), and AES-256-GCM with the cached key material.

use crate::keys::RecordKinds;
use hyok_kmip::enums::State;
use std::sync::Arc;

use hyok_xks::api::{EkmFleetMember, RequestMetadata};
use hyok_xks::{
    gcm_aad, Backend, DecryptInput, EncryptInput, EncryptOutput, ErrorKind, HealthReport,
    KeyMetadata, Requester, XksError,
};
use zeroize::Zeroizing;

use super::gcm;
use crate::access::{AccessError, Decision, Identities, Operation};
use crate::keys::{KeyError, KeyRecord, Material, MASK_DECRYPT, MASK_ENCRYPT};
use crate::keystore::KeystoreError;
use crate::state::AppState;

/// A node is live when it heartbeated in the last 30 seconds.
const LIVE_WINDOW_MS: i64 = 30_000;
/// The longest the health route spends counting the fleet.
const FLEET_COUNT_DEADLINE: std::time::Duration = std::time::Duration::from_millis(100);

// KMIP Cryptographic Usage Mask bits.
const USAGE: [(i64, &str); 6] = [
    (0x1, "SIGN"),
    (0x2, "VERIFY"),
    (0x4, "ENCRYPT"),
    (0x8, "DECRYPT"),
    (0x10, "WRAP"),
    (0x20, "UNWRAP"),
];

pub struct HyokBackend<'a> {
    pub state: &'a AppState,
    pub store: &'a str,
}

fn error(kind: ErrorKind, message: impl Into<String>) -> XksError {
    XksError::new(kind, message)
}

impl HyokBackend<'_> {
    fn identities(&self, metadata: &RequestMetadata) -> Identities {
        Identities::of_xks_request(
            self.store,
            metadata.aws_principal_arn.as_deref().unwrap_or_default(),
            metadata.kms_via_service.as_deref(),
        )
    }

    /// The key named by `external_id`: its unique identifier (any version), or a Name
    /// that exactly one object carries.
    async fn resolve(&self, external_id: &str) -> Result<Arc<KeyRecord>, XksError> {
        let (key, _) = self
            .state
            .keys
            .key_named_by(external_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| error(ErrorKind::KeyNotFound, format!("no key {external_id}")))?;
        if !key.is_aes_256(external_id) {
            return Err(error(
                ErrorKind::KeyNotFound,
                format!("{external_id} is not an AES-256 symmetric key"),
            ));
        }
        Ok(key)
    }

    async fn authorize(
        &self,
        metadata: &RequestMetadata,
        key: &KeyRecord,
        operations: &[Operation],
    ) -> Result<(), XksError> {
        let identities = self.identities(metadata);
        let access = &self.state.access;
        let denied = |e: AccessError| match e {
            AccessError::Denied(reason) => error(ErrorKind::AccessDenied, reason),
            AccessError::NotFound(uid) => error(ErrorKind::KeyNotFound, format!("no key {uid}")),
            AccessError::Storage(e) => internal(e),
        };
        for operation in operations {
            let first = &key.members[0];
            if access
                .allows(&identities, first, *operation)
                .await
                .map_err(denied)?
            {
                continue;
            }
            // Denied: the explanation, for the caller and the audit log.
            let reason = match access
                .decide_for(&identities, first, *operation)
                .await
                .map_err(denied)?
            {
                Decision::Denied { reason } => reason,
                Decision::Allowed { .. } => "a grant changed during the call".to_string(),
            };
            return Err(error(
                ErrorKind::AccessDenied,
                format!("access denied: {reason}"),
            ));
        }
        Ok(())
    }

    /// The material of version `version` of `key`, from the key cache (or the keystore).
    async fn material(&self, key: &KeyRecord, version: i64) -> Result<Material, XksError> {
        let member = key
            .member(version)
            .ok_or_else(|| internal(format!("key {} has no version {version}", key.id())))?;
        self.state
            .keys
            .material(&member.uid)
            .await
            .map_err(|e| match e {
                KeyError::Keystore(KeystoreError::Timeout(ms)) => error(
                    ErrorKind::DependencyTimeout,
                    format!("the keystore did not answer within {ms} ms"),
                ),
                KeyError::Keystore(KeystoreError::Unavailable { .. }) => {
                    error(ErrorKind::DependencyTimeout, "the HSM is unavailable")
                }
                other => internal(other),
            })
    }
}

fn internal(error: impl std::fmt::Display) -> XksError {
    tracing::error!(%error, "XKS request failed");
    XksError::new(ErrorKind::Internal, "internal error; see the proxy's log")
}

impl Backend for HyokBackend<'_> {
    async fn metadata(
        &self,
        requester: &Requester<'_>,
        key_id: &str,
    ) -> Result<KeyMetadata, XksError> {
        let key = self.resolve(key_id).await?;
        self.authorize(requester.metadata, &key, &[Operation::GetAttributes])
            .await?;
        let mask = key.usage_mask();
        Ok(KeyMetadata {
            key_spec: "AES_256".into(),
            key_usage: USAGE
                .iter()
                .filter(|(bit, _)| mask & bit != 0)
                .map(|(_, name)| name.to_string())
                .collect(),
            key_status: if key.enabled() { "ENABLED" } else { "DISABLED" }.into(),
        })
    }

    async fn encrypt(
        &self,
        requester: &Requester<'_>,
        key_id: &str,
        input: EncryptInput,
    ) -> Result<EncryptOutput, XksError> {
        let key = self.resolve(key_id).await?;
        let operations: &[Operation] = if input.verify_decrypt {
            &[Operation::Encrypt, Operation::Decrypt]
        } else {
            &[Operation::Encrypt]
        };
        self.authorize(requester.metadata, &key, operations).await?;
        if !key.enabled() {
            return Err(error(
                ErrorKind::InvalidState,
                format!("key {} is disabled (blocked, or not Active)", key.id()),
            ));
        }
        if key.usage_mask() & MASK_ENCRYPT == 0 {
            return Err(error(
                ErrorKind::InvalidKeyUsage,
                format!("key {} may not encrypt", key.id()),
            ));
        }
        let newest = key.newest_version();
        let material = self.material(&key, newest).await?;
        let metadata = gcm::metadata(u32::try_from(newest).unwrap_or(u32::MAX));
        let aad = gcm_aad(&input.aad, Some(&metadata)).ok_or_else(|| {
            error(
                ErrorKind::Validation,
                "additionalAuthenticatedData is too long",
            )
        })?;
        let (ciphertext, iv, tag) = gcm::encrypt(&material, &aad, &input.plaintext)
            .ok_or_else(|| internal("AES-GCM encryption failed"))?;
        if input.verify_decrypt
            && gcm::decrypt(&material, &aad, &iv, &ciphertext, &tag)
                .as_deref()
                .map(Vec::as_slice)
                != Some(input.plaintext.as_slice())
        {
            return Err(internal("the ciphertext did not decrypt back"));
        }
        Ok(EncryptOutput {
            ciphertext,
            iv,
            tag,
            ciphertext_metadata: Some(metadata),
        })
    }

    async fn decrypt(
        &self,
        requester: &Requester<'_>,
        key_id: &str,
        input: DecryptInput,
    ) -> Result<Zeroizing<Vec<u8>>, XksError> {
        let key = self.resolve(key_id).await?;
        self.authorize(requester.metadata, &key, &[Operation::Decrypt])
            .await?;
        if key.blocked() {
            return Err(error(
                ErrorKind::InvalidState,
                format!("key {} is blocked", key.id()),
            ));
        }
        let version = match &input.ciphertext_metadata {
            Some(metadata) => gcm::version_of(metadata).ok_or_else(|| {
                error(
                    ErrorKind::InvalidCiphertext,
                    "ciphertextMetadata was not made by this key store",
                )
            })?,
            None => 1,
        };
        let member = key.member(i64::from(version)).ok_or_else(|| {
            error(
                ErrorKind::InvalidCiphertext,
                "ciphertextMetadata names no version of this key",
            )
        })?;
        if !matches!(
            member.kmip_state(),
            Some(State::Active | State::Deactivated | State::Compromised)
        ) {
            return Err(error(
                ErrorKind::InvalidState,
                format!("key version {version} is {}", member.state),
            ));
        }
        if key.usage_mask() & MASK_DECRYPT == 0 {
            return Err(error(
                ErrorKind::InvalidKeyUsage,
                format!("key {} may not decrypt", key.id()),
            ));
        }
        let material = self.material(&key, member.chain_version).await?;
        let aad = gcm_aad(&input.aad, input.ciphertext_metadata.as_deref()).ok_or_else(|| {
            error(
                ErrorKind::Validation,
                "additionalAuthenticatedData is too long",
            )
        })?;
        gcm::decrypt(&material, &aad, &input.iv, &input.ciphertext, &input.tag).ok_or_else(|| {
            error(
                ErrorKind::InvalidCiphertext,
                "the ciphertext, IV, tag or AAD does not verify",
            )
        })
    }

    async fn health(&self, _requester: &Requester<'_>) -> Result<HealthReport, XksError> {
        // Always the specification's body: what is down shows in the fleet's status.
        let keystore = self.state.keys.keystore();
        let probe = self.state.health.current(&self.state.db, keystore).await;
        let status = match (&probe.database, &probe.keystore) {
            (Ok(()), Ok(took)) if *took > keystore.timeout() / 2 => {
                // Slow but working: it serves, with AWS's 250 ms budget at risk.
                tracing::warn!(
                    elapsed_ms = took.as_millis() as u64,
                    "XKS health: the keystore round trip took more than half its timeout"
                );
                "DEGRADED"
            }
            (Ok(()), Ok(_)) => "ACTIVE",
            _ => "UNAVAILABLE",
        };
        let since = hyok_db::now_millis() - LIVE_WINDOW_MS;
        let fleet_size = match probe.database {
            // (Counted within a fraction of AWS's budget, else reported as one.)
            Ok(()) => tokio::time::timeout(FLEET_COUNT_DEADLINE, self.state.db.live_nodes(since))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(1),
            Err(_) => 1,
        };
        let info = keystore.info();
        let model = info
            .device
            .clone()
            .unwrap_or_else(|| "hyok software keystore".into());
        Ok(HealthReport {
            fleet_size: u32::try_from(fleet_size).unwrap_or(u32::MAX).max(1),
            ekm_vendor: model.split(' ').next().unwrap_or("hyok").to_string(),
            ekm_fleet: vec![EkmFleetMember {
                id: info.key_id,
                model,
                health_status: status.into(),
            }],
        })
    }
}
