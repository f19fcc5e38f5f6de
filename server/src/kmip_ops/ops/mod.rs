//! The KMIP operations hyok serves, each on the typed 2.x request payload, each answering
//! with the items of its 2.x response payload.

mod attribute_changes;
mod cipher_parts;
mod create;
mod crypto;
mod derive;
mod digests;
mod export;
mod get;
mod key_pair;
mod key_unwrapping;
mod key_wrapping;
mod lifecycle;
mod locate;
mod log;
mod parts;
mod pkcs11;
mod query;
mod register;
mod signing;
mod versions;
mod wrapping_keys;

use hyok_kmip::enums::Operation;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::message::RequestPayload;
use hyok_kmip::Item;

use super::context::Context;
use super::error::KmipError;

/// The operations served, in Query's order.
pub const SERVED: [Operation; 32] = [
    Operation::DiscoverVersions,
    Operation::Query,
    Operation::Create,
    Operation::CreateKeyPair,
    Operation::Register,
    Operation::Locate,
    Operation::Get,
    Operation::Export,
    Operation::GetAttributes,
    Operation::GetAttributeList,
    Operation::AddAttribute,
    Operation::SetAttribute,
    Operation::ModifyAttribute,
    Operation::DeleteAttribute,
    Operation::Activate,
    Operation::Revoke,
    Operation::Destroy,
    Operation::ReKey,
    Operation::ReKeyKeyPair,
    Operation::Encrypt,
    Operation::Decrypt,
    Operation::Check,
    Operation::Sign,
    Operation::SignatureVerify,
    Operation::Hash,
    Operation::MAC,
    Operation::MACVerify,
    Operation::RNGRetrieve,
    Operation::RNGSeed,
    Operation::DeriveKey,
    Operation::Log,
    Operation::PKCS_11,
];

pub async fn run(context: &Context<'_>, payload: RequestPayload) -> Result<Vec<Item>, KmipError> {
    match payload {
        RequestPayload::DiscoverVersions(request) => versions::discover(&request),
        RequestPayload::Query(request) => query::query(context, &request),
        RequestPayload::Create(request) => create::create(context, &request).await,
        RequestPayload::Register(request) => register::register(context, &request).await,
        RequestPayload::CreateKeyPair(request) => {
            key_pair::create_key_pair(context, &request).await
        }
        RequestPayload::Locate(request) => locate::locate(context, &request).await,
        RequestPayload::AddAttribute(request) => attribute_changes::add(context, &request).await,
        RequestPayload::SetAttribute(request) => attribute_changes::set(context, &request).await,
        RequestPayload::ModifyAttribute(request) => {
            attribute_changes::modify(context, &request).await
        }
        RequestPayload::DeleteAttribute(request) => {
            attribute_changes::delete(context, &request).await
        }
        RequestPayload::ReKey(request) => lifecycle::rekey(context, &request).await,
        RequestPayload::ReKeyKeyPair(request) => key_pair::rekey_key_pair(context, &request).await,
        RequestPayload::Check(request) => lifecycle::check(context, &request).await,
        RequestPayload::Get(request) => get::get(context, &request).await,
        RequestPayload::Export(request) => export::export(context, &request).await,
        RequestPayload::GetAttributes(request) => get::get_attributes(context, &request).await,
        RequestPayload::GetAttributeList(request) => {
            get::get_attribute_list(context, &request).await
        }
        RequestPayload::Activate(request) => lifecycle::activate(context, &request).await,
        RequestPayload::Revoke(request) => lifecycle::revoke(context, &request).await,
        RequestPayload::Destroy(request) => lifecycle::destroy(context, &request).await,
        RequestPayload::Encrypt(request) => crypto::encrypt(context, &request).await,
        RequestPayload::Decrypt(request) => crypto::decrypt(context, &request).await,
        RequestPayload::Sign(request) => signing::sign(context, &request).await,
        RequestPayload::SignatureVerify(request) => {
            signing::signature_verify(context, &request).await
        }
        RequestPayload::Hash(request) => digests::hash(&request),
        RequestPayload::MAC(request) => digests::mac(context, &request).await,
        RequestPayload::MACVerify(request) => digests::mac_verify(context, &request).await,
        RequestPayload::RNGRetrieve(request) => digests::rng_retrieve(&request),
        RequestPayload::RNGSeed(request) => digests::rng_seed(&request),
        RequestPayload::DeriveKey(request) => derive::derive_key(context, &request).await,
        RequestPayload::Log(request) => log::log(context, &request).await,
        RequestPayload::PKCS11(request) => pkcs11::pkcs11(&request),
        _ => Err(KmipError::new(
            ResultReason::OperationNotSupported,
            "hyok does not serve this operation yet (Query lists those it does)",
        )),
    }
}
