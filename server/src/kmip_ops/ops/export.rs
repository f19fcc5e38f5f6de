//! Export (KMIP 2.x): an object as Get returns it — in the Key Format Type asked for,
//! wrapped when a Key Wrapping Specification asks — together with all its attributes.
//! The caller needs the `export` grant (or to own the object); audited as `export`.

use hyok_kmip::message::{ExportRequest, GetRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;

use super::get::{all_attributes, object_as};
use crate::access::Operation;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;

pub async fn export(
    context: &Context<'_>,
    request: &ExportRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let get = GetRequest {
        unique_identifier: request.unique_identifier.clone(),
        key_format_type: request.key_format_type,
        key_wrap_type: request.key_wrap_type,
        key_compression_type: request.key_compression_type,
        key_wrapping_specification: request.key_wrapping_specification.clone(),
        extensions: Vec::new(),
    };
    let mut answer = object_as(context, &get, Operation::Export).await?;
    let attributes = all_attributes(context, uid, Operation::Export).await?;
    // Object Type, Unique Identifier, Attributes, then the object.
    let at = answer.len().saturating_sub(1);
    answer.insert(at, Item::structure(tag::ATTRIBUTES, attributes));
    Ok(answer)
}
