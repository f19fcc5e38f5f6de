//! Query: the operations and object types served, and who the server is. Other query
//! functions are answered with nothing, as the specification allows.

use hyok_kmip::enums::{ObjectType, QueryFunction};
use hyok_kmip::message::QueryRequest;
use hyok_kmip::registry::tag;
use hyok_kmip::Item;

use super::SERVED;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;

/// The object types hyok creates or registers.
const OBJECT_TYPES: [ObjectType; 8] = [
    ObjectType::SymmetricKey,
    ObjectType::PublicKey,
    ObjectType::PrivateKey,
    ObjectType::SplitKey,
    ObjectType::SecretData,
    ObjectType::OpaqueObject,
    ObjectType::Certificate,
    ObjectType::PGPKey,
];

pub fn query(context: &Context<'_>, request: &QueryRequest) -> Result<Vec<Item>, KmipError> {
    let asked = |function: QueryFunction| request.query_function.contains(&function.value());
    let operations = registry_operations(context);
    let mut out = Vec::new();
    if asked(QueryFunction::QueryOperations) {
        out.extend(
            operations
                .into_iter()
                .map(|op| Item::enumeration(tag::OPERATION, op)),
        );
    }
    if asked(QueryFunction::QueryObjects) {
        let object_types = hyok_kmip::registry::enumeration("ObjectType").expect("ObjectType");
        for object_type in OBJECT_TYPES {
            let value = object_type.value();
            if object_types.defined_in(value, context.version) {
                out.push(Item::enumeration(tag::OBJECT_TYPE, value));
            }
        }
    }
    if asked(QueryFunction::QueryServerInformation) {
        out.push(Item::text(tag::VENDOR_IDENTIFICATION, "hyok"));
        out.push(Item::structure(
            tag::SERVER_INFORMATION,
            vec![Item::text(
                tag::VENDOR_IDENTIFICATION,
                format!("hyok {}", env!("CARGO_PKG_VERSION")),
            )],
        ));
    }
    Ok(out)
}

/// The served operations the negotiated version defines.
fn registry_operations(context: &Context<'_>) -> Vec<u32> {
    let operation = hyok_kmip::registry::enumeration("Operation").expect("Operation");
    SERVED
        .iter()
        .map(|served| served.value())
        .filter(|value| operation.defined_in(*value, context.version))
        .collect()
}
