//! Managed objects other than the symmetric keys the key service draws itself: key pairs,
//! secret data, opaque objects, certificates, split keys. Each is kept as its whole KMIP
//! object structure (encoded TTLV), wrapped by the master key like any key, so that Get
//! returns exactly what was created or registered.

use std::sync::Arc;

use hyok_db::NewObject;
use hyok_kmip::enums::State;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::cache::Material;
use super::service::{KeyError, KeyService};
use crate::audit::Actor;

/// The attribute map key that marks an object kept as an encoded KMIP structure.
pub const OBJECT_ITEM: &str = "ObjectItem";
/// The attribute map key that marks an object registered wrapped under a key hyok does
/// not hold, kept (and returned) wrapped.
pub const KEPT_WRAPPED: &str = "KeptWrapped";

/// An object to store.
pub struct NewManagedObject<'a> {
    pub uid: String,
    pub owner: &'a str,
    /// The KMIP Object Type name ("PrivateKey", "SecretData", ...).
    pub object_type: &'a str,
    pub names: &'a [String],
    /// Attributes by name (as the attribute map keeps them).
    pub attributes: Map<String, Value>,
}

impl KeyService {
    /// Stores `object` with its encoded KMIP structure wrapped by the master key.
    pub async fn store_object(
        &self,
        object: NewManagedObject<'_>,
        encoded: Zeroizing<Vec<u8>>,
        actor: &Actor,
        operation: &str,
    ) -> Result<String, KeyError> {
        let encoded: Material = Arc::new(encoded);
        let (wrapped, key_version) = self
            .keystore()
            .wrap(&object.uid, 1, Zeroizing::new(encoded.to_vec()))
            .await?;
        let mut attributes = Value::Object(object.attributes);
        attributes[OBJECT_ITEM] = json!(true);
        let record = NewObject {
            uid: &object.uid,
            object_type: object.object_type,
            state: State::PreActive.name(),
            owner: object.owner,
            wrapped: Some(&wrapped),
            attributes: &attributes,
            chain_id: &object.uid,
            chain_version: 1,
            wrap_key_version: i64::from(key_version),
            names: object.names,
            tags: &[],
        };
        let details =
            json!({ "object_type": object.object_type, "master_key_version": key_version });
        let event = actor.event(operation).object(&object.uid).details(details);
        self.insert_audited(&record, &[], &event).await?;
        self.cache().insert(&object.uid, encoded);
        Ok(object.uid)
    }
}
