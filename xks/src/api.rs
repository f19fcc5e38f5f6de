//! The JSON bodies of the four XKS operations: requests (unknown fields tolerated,
//! required fields checked, base64 decoded) and responses (absent optional fields
//! omitted, never `null`).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{ErrorKind, XksError};

/// The longest ARN accepted (IAM's limit).
const MAX_ARN: usize = 2048;

fn invalid(message: impl Into<String>) -> XksError {
    XksError::new(ErrorKind::Validation, message)
}

/// Context AWS KMS sends with every request (Appendix B).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestMetadata {
    pub kms_request_id: Option<String>,
    pub kms_operation: Option<String>,
    pub aws_principal_arn: Option<String>,
    pub kms_key_arn: Option<String>,
    pub kms_via_service: Option<String>,
    pub aws_source_vpc: Option<String>,
    pub aws_source_vpce: Option<String>,
}

impl RequestMetadata {
    /// Checks the fields every request needs (and, for key operations, the principal).
    pub fn validate(&self, key_operation: bool, needs_key_arn: bool) -> Result<(), XksError> {
        let present = |field: &Option<String>, name: &str| match field {
            Some(value) if !value.is_empty() => Ok(()),
            _ => Err(invalid(format!("requestMetadata.{name} is required"))),
        };
        present(&self.kms_request_id, "kmsRequestId")?;
        present(&self.kms_operation, "kmsOperation")?;
        if key_operation {
            present(&self.aws_principal_arn, "awsPrincipalArn")?;
        }
        if needs_key_arn {
            present(&self.kms_key_arn, "kmsKeyArn")?;
        }
        for (value, name) in [
            (&self.aws_principal_arn, "awsPrincipalArn"),
            (&self.kms_key_arn, "kmsKeyArn"),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_ARN) {
                return Err(invalid(format!(
                    "requestMetadata.{name} is longer than {MAX_ARN} characters"
                )));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataRequest {
    pub request_metadata: RequestMetadata,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptRequest {
    pub request_metadata: RequestMetadata,
    pub plaintext: SecretText,
    pub encryption_algorithm: String,
    pub additional_authenticated_data: Option<String>,
    pub ciphertext_data_integrity_value_algorithm: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptRequest {
    pub request_metadata: RequestMetadata,
    pub ciphertext: String,
    pub initialization_vector: String,
    pub authentication_tag: String,
    pub encryption_algorithm: String,
    pub additional_authenticated_data: Option<String>,
    pub ciphertext_metadata: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthRequest {
    pub request_metadata: Option<RequestMetadata>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataResponse {
    pub key_spec: String,
    pub key_usage: Vec<String>,
    pub key_status: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptResponse {
    pub authentication_tag: String,
    pub ciphertext: String,
    pub initialization_vector: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphertext_metadata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphertext_data_integrity_value: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptResponse {
    pub plaintext: SecretText,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EkmFleetMember {
    pub id: String,
    pub model: String,
    pub health_status: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    pub xks_proxy_fleet_size: u32,
    pub xks_proxy_vendor: String,
    pub xks_proxy_model: String,
    pub ekm_vendor: String,
    pub ekm_fleet_details: Vec<EkmFleetMember>,
}

/// A base64 field holding plaintext: cleared when dropped, never shown by `Debug`.
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    pub fn new(text: String) -> SecretText {
        SecretText(Zeroizing::new(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretText({} characters)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretText::new)
    }
}

impl Serialize for SecretText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Parses a request body; a body that is not the expected JSON is a ValidationException.
pub fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, XksError> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("the request body is not valid: {e}")))
}

/// Decodes a standard (padded) base64 field.
pub fn decode(field: &str, value: &str) -> Result<Vec<u8>, XksError> {
    BASE64
        .decode(value)
        .map_err(|_| invalid(format!("{field} is not valid base64")))
}

pub fn encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}
