//! Query: the operations and object types served, and who the server is. Other query
//! functions are answered with nothing, as the specification allows.

use hyok_kmip::message::QueryRequest;
use hyok_kmip::registry::tag;
use hyok_kmip::Item;

use super::SERVED;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::names;

/// The object types hyok creates or registers.
const OBJECT_TYPES: [&str; 8] = [
    "SymmetricKey",
    "PublicKey",
    "PrivateKey",
    "SplitKey",
    "SecretData",
    "OpaqueObject",
    "Certificate",
    "PGPKey",
];

pub fn query(context: &Context<'_>, request: &QueryRequest) -> Result<Vec<Item>, KmipError> {
    let asked = |function: &str| {
        request
            .query_function
            .contains(&names::value("QueryFunction", function))
    };
    let operations = registry_operations(context);
    let mut out = Vec::new();
    if asked("QueryOperations") {
        out.extend(
            operations
                .into_iter()
                .map(|op| Item::enumeration(tag::OPERATION, op)),
        );
    }
    if asked("QueryObjects") {
        let object_types = hyok_kmip::registry::enumeration("ObjectType").expect("ObjectType");
        for name in OBJECT_TYPES {
            let value = names::value("ObjectType", name);
            if object_types.defined_in(value, context.version) {
                out.push(Item::enumeration(tag::OBJECT_TYPE, value));
            }
        }
    }
    if asked("QueryServerInformation") {
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
        .map(|name| names::value("Operation", name))
        .filter(|value| operation.defined_in(*value, context.version))
        .collect()
}
