//! The KMIP operations hyok serves, each on the typed 2.x request payload, each answering
//! with the items of its 2.x response payload.

mod create;
mod crypto;
mod get;
mod lifecycle;
mod query;
mod versions;

use hyok_kmip::message::RequestPayload;
use hyok_kmip::Item;

use super::context::Context;
use super::error::KmipError;

/// The operations served, by their Operation enumeration names, in Query's order.
pub const SERVED: [&str; 11] = [
    "DiscoverVersions",
    "Query",
    "Create",
    "Get",
    "GetAttributes",
    "GetAttributeList",
    "Activate",
    "Revoke",
    "Destroy",
    "Encrypt",
    "Decrypt",
];

pub async fn run(context: &Context<'_>, payload: RequestPayload) -> Result<Vec<Item>, KmipError> {
    match payload {
        RequestPayload::DiscoverVersions(request) => versions::discover(&request),
        RequestPayload::Query(request) => query::query(context, &request),
        RequestPayload::Create(request) => create::create(context, &request).await,
        RequestPayload::Get(request) => get::get(context, &request).await,
        RequestPayload::GetAttributes(request) => get::get_attributes(context, &request).await,
        RequestPayload::GetAttributeList(request) => {
            get::get_attribute_list(context, &request).await
        }
        RequestPayload::Activate(request) => lifecycle::activate(context, &request).await,
        RequestPayload::Revoke(request) => lifecycle::revoke(context, &request).await,
        RequestPayload::Destroy(request) => lifecycle::destroy(context, &request).await,
        RequestPayload::Encrypt(request) => crypto::encrypt(context, &request).await,
        RequestPayload::Decrypt(request) => crypto::decrypt(context, &request).await,
        _ => Err(KmipError::new(
            "OperationNotSupported",
            "hyok does not serve this operation yet (Query lists those it does)",
        )),
    }
}
