//! ReKey: a new version of a key, with new material, as a new object at the end of the
//! key's chain, linked both ways (Replaced / Replacement). The chain is one key for
//! grants and XKS: encryption moves to the newest Active version, older versions still
//! decrypt.

use std::sync::Arc;

use hyok_db::{Change, NewObject};
use hyok_kmip::enums::{ObjectType, State};
use serde_json::json;
use zeroize::Zeroizing;

use super::kinds::RecordKinds;
use super::service::{KeyError, KeyService};
use crate::audit::Actor;
use crate::keystore::KeystoreError;

impl KeyService {
    /// Creates the next version of the key `uid` belongs to; returns the new uid.
    pub async fn rekey(&self, uid: &str, actor: &Actor) -> Result<String, KeyError> {
        let object = self
            .db()
            .object(uid)
            .await?
            .ok_or_else(|| KeyError::NotFound(uid.to_string()))?;
        let chain = self.db().chain(&object.chain_id).await?;
        let newest = chain
            .last()
            .ok_or_else(|| KeyError::NotFound(uid.to_string()))?;
        if newest.kmip_type() != Some(ObjectType::SymmetricKey) {
            return Err(KeyError::Invalid(format!("{uid} is not a symmetric key")));
        }
        let length = newest
            .attributes()
            .get("CryptographicLength")
            .and_then(|v| v.as_u64())
            .unwrap_or(256);
        let new_uid = super::new_uid();
        let version = newest.chain_version + 1;
        let mut material = Zeroizing::new(vec![0u8; usize::try_from(length / 8).unwrap_or(32)]);
        getrandom::getrandom(&mut material)
            .map_err(|_| KeystoreError::Crypto("random generator"))?;
        let material = Arc::new(material);
        let wrap_version = u64::try_from(version).unwrap_or_default();
        let (wrapped, key_version) = self
            .keystore()
            .wrap(&new_uid, wrap_version, Zeroizing::new(material.to_vec()))
            .await?;

        let mut attributes = newest.attributes().clone();
        attributes["Links"] = json!({ "ReplacedObjectLink": newest.uid });
        attributes["Digest"] = json!(super::service::digest(&material));
        let (state, activation) = match newest.kmip_state() {
            Some(State::Active) => (State::Active, Some(hyok_db::now_millis())),
            _ => (State::PreActive, None),
        };
        if let Some(at) = activation {
            attributes["ActivationDate"] = json!(at);
        }
        let mut old_attributes = newest.attributes().clone();
        old_attributes["Links"]["ReplacementObjectLink"] = json!(new_uid);
        let old_text = old_attributes.to_string();
        let link_old = Change::UpdateObject {
            uid: &newest.uid,
            chain_id: &newest.chain_id,
            expected_row_version: newest.row_version,
            state: &newest.state,
            attributes: &old_text,
        };
        let object = NewObject {
            uid: &new_uid,
            object_type: ObjectType::SymmetricKey.name(),
            state: state.name(),
            owner: &newest.owner,
            wrapped: Some(&wrapped),
            attributes: &attributes,
            chain_id: &newest.chain_id,
            chain_version: version,
            wrap_key_version: i64::from(key_version),
            names: &[],
            tags: &[],
        };
        let details = json!({ "key": newest.chain_id, "replaced": newest.uid, "version": version });
        let event = actor.event("rekey").object(&new_uid).details(details);
        self.insert_audited(&object, &[link_old], &event).await?;
        self.cache().insert(&new_uid, material);
        Ok(new_uid)
    }
}
