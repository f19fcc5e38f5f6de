//! Discover Versions: the versions hyok speaks, newest first, limited to the client's.

use hyok_kmip::message::{DiscoverVersionsRequest, ProtocolVersion};
use hyok_kmip::registry::{tag, Version};
use hyok_kmip::Item;

use crate::kmip_ops::error::KmipError;

pub fn discover(request: &DiscoverVersionsRequest) -> Result<Vec<Item>, KmipError> {
    let mut offered = Vec::new();
    for item in &request.protocol_version {
        let version = ProtocolVersion::from_item(item)
            .map_err(|e| KmipError::invalid_field(e.to_string()))?;
        offered.push(version.version());
    }
    Ok(Version::ALL
        .iter()
        .rev()
        .filter(|v| offered.is_empty() || offered.contains(&Some(**v)))
        .map(|v| ProtocolVersion::of(*v).to_item(tag::PROTOCOL_VERSION))
        .collect())
}
