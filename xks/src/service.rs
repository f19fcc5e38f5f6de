//! The XKS request pipeline, in this check order: SigV4 (401) → route and method
//! (404/405) → throttle (429) → body (400/501) → the backend (key exists 404, grant 403,
//! state 400 InvalidStateException, usage 400 InvalidKeyUsageException).

use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

use zeroize::Zeroizing;

use crate::aad::cdiv;
use crate::api::{self, decode, encode, parse};
use crate::backend::{Backend, DecryptInput, EncryptInput, Requester};
use crate::error::{ErrorKind, XksError};
use crate::names::API_PATH;
use crate::sigv4::{self, Credentials, SignedRequest};
use crate::throttle::Throttle;

/// Vendor and product named in health answers.
pub const VENDOR: &str = "hyok";

/// The longest request URI the specification allows.
const MAX_URI: usize = 256;

/// Operator settings of the facade.
pub struct Settings {
    /// Such as `/aws`; routes are `{prefix}/kms/xks/v1/...`.
    pub prefix: String,
    pub region: String,
    pub service: String,
    /// Decoded sizes above these are refused with 501 UnsupportedOperationException.
    pub max_plaintext_bytes: usize,
    pub max_aad_bytes: usize,
    pub requests_per_second: Option<u32>,
    /// `hyok <version>`, for `xksProxyModel`.
    pub model: String,
}

/// An HTTP request as the listener received it (what SigV4 covers).
pub type Request<'a> = SignedRequest<'a>;

/// An HTTP answer: status and a single-line JSON body, with what the call was for logs
/// and audit.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
    /// What the request was, as far as it was read before the answer.
    pub call: Call,
    /// Why the call failed, when it did (what `body` says).
    pub error: Option<XksError>,
}

/// What a call was, as far as its request was read: every field is `None` until the
/// request got that far (an unsigned request has only its route, if any).
#[derive(Debug, Default, Clone)]
pub struct Call {
    pub operation: Option<Operation>,
    pub key_id: Option<String>,
    /// The request id AWS sent.
    pub kms_request_id: Option<String>,
    /// `awsPrincipalArn` and `kmsViaService` as the request carried them.
    pub aws_principal_arn: Option<String>,
    pub kms_via_service: Option<String>,
}

impl Call {
    fn read(&mut self, metadata: &api::RequestMetadata) {
        self.kms_request_id.clone_from(&metadata.kms_request_id);
        self.aws_principal_arn
            .clone_from(&metadata.aws_principal_arn);
        self.kms_via_service.clone_from(&metadata.kms_via_service);
    }
}

enum Route {
    Key {
        key_id: String,
        operation: KeyOperation,
    },
    Health,
}

#[derive(Clone, Copy)]
enum KeyOperation {
    Metadata,
    Encrypt,
    Decrypt,
}

impl KeyOperation {
    fn operation(self) -> Operation {
        match self {
            KeyOperation::Metadata => Operation::Metadata,
            KeyOperation::Encrypt => Operation::Encrypt,
            KeyOperation::Decrypt => Operation::Decrypt,
        }
    }
}

/// The four XKS routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Metadata,
    Encrypt,
    Decrypt,
    Health,
}

impl Operation {
    /// The route's last path segment: `metadata`, `encrypt`, `decrypt`, `health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Metadata => "metadata",
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
            Operation::Health => "health",
        }
    }
}

pub struct XksService {
    settings: Settings,
    credentials: RwLock<Arc<Credentials>>,
    throttle: Option<Throttle>,
}

impl XksService {
    pub fn new(settings: Settings, credentials: Credentials) -> XksService {
        let throttle = settings.requests_per_second.map(Throttle::new);
        XksService {
            settings,
            credentials: RwLock::new(Arc::new(credentials)),
            throttle,
        }
    }

    /// Replaces the credentials (SIGHUP): requests already verified are unaffected.
    pub fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(credentials);
    }

    pub fn prefix(&self) -> &str {
        &self.settings.prefix
    }

    /// Answers one request under the prefix.
    pub async fn handle<B: Backend>(
        &self,
        request: &Request<'_>,
        backend: &B,
        now: SystemTime,
    ) -> Response {
        let mut call = Call::default();
        let result = self.respond(request, backend, now, &mut call).await;
        match result {
            Ok(body) => Response {
                status: 200,
                body,
                call,
                error: None,
            },
            Err(error) => Response {
                status: error.kind.status(),
                body: error.body(),
                call,
                error: Some(error),
            },
        }
    }

    async fn respond<B: Backend>(
        &self,
        request: &Request<'_>,
        backend: &B,
        now: SystemTime,
        call: &mut Call,
    ) -> Result<String, XksError> {
        // Read first for the record, refused only after SigV4 (the check order above).
        let route = self.route(request.path);
        match &route {
            Ok(Route::Health) => call.operation = Some(Operation::Health),
            Ok(Route::Key { key_id, operation }) => {
                call.operation = Some(operation.operation());
                call.key_id = Some(key_id.clone());
            }
            Err(_) => {}
        }
        let credentials = self
            .credentials
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let access_key_id = sigv4::verify(
            request,
            &credentials,
            &self.settings.region,
            &self.settings.service,
            now,
        )?;
        let route = route?;
        if request.method != "POST" {
            return Err(XksError::new(
                ErrorKind::MethodNotAllowed,
                "XKS operations take POST",
            ));
        }
        if self
            .throttle
            .as_ref()
            .is_some_and(|t| !t.admit(Instant::now()))
        {
            return Err(XksError::new(
                ErrorKind::Throttling,
                "over this key store's request rate",
            ));
        }
        match route {
            Route::Health => {
                let body: api::HealthRequest = parse(request.body)?;
                let metadata = body.request_metadata.ok_or_else(|| {
                    XksError::new(ErrorKind::Validation, "requestMetadata is required")
                })?;
                call.read(&metadata);
                metadata.validate(false, false)?;
                let requester = Requester {
                    access_key_id: &access_key_id,
                    metadata: &metadata,
                };
                let report = backend.health(&requester).await?;
                json(&api::HealthResponse {
                    xks_proxy_fleet_size: report.fleet_size.max(1),
                    xks_proxy_vendor: VENDOR.into(),
                    xks_proxy_model: self.settings.model.clone(),
                    ekm_vendor: report.ekm_vendor,
                    ekm_fleet_details: report.ekm_fleet,
                })
            }
            Route::Key { key_id, operation } => {
                self.key_operation(
                    operation,
                    &key_id,
                    &access_key_id,
                    request.body,
                    backend,
                    call,
                )
                .await
            }
        }
    }

    async fn key_operation<B: Backend>(
        &self,
        operation: KeyOperation,
        key_id: &str,
        access_key_id: &str,
        body: &[u8],
        backend: &B,
        call: &mut Call,
    ) -> Result<String, XksError> {
        match operation {
            KeyOperation::Metadata => {
                let request: api::MetadataRequest = parse(body)?;
                call.read(&request.request_metadata);
                request.request_metadata.validate(true, false)?;
                let requester = Requester {
                    access_key_id,
                    metadata: &request.request_metadata,
                };
                let metadata = backend.metadata(&requester, key_id).await?;
                json(&api::MetadataResponse {
                    key_spec: metadata.key_spec,
                    key_usage: metadata.key_usage,
                    key_status: metadata.key_status,
                })
            }
            KeyOperation::Encrypt => {
                let request: api::EncryptRequest = parse(body)?;
                call.read(&request.request_metadata);
                request.request_metadata.validate(true, true)?;
                check_algorithm(&request.encryption_algorithm)?;
                let want_cdiv = match request.ciphertext_data_integrity_value_algorithm.as_deref() {
                    None => false,
                    Some("SHA_256") => true,
                    Some(other) => {
                        return Err(unsupported(format!(
                            "ciphertextDataIntegrityValueAlgorithm {other:?}"
                        )))
                    }
                };
                let plaintext = Zeroizing::new(decode("plaintext", request.plaintext.as_str())?);
                let aad = optional(
                    request.additional_authenticated_data.as_deref(),
                    "additionalAuthenticatedData",
                )?;
                self.check_sizes(plaintext.len(), aad.len())?;
                let requester = Requester {
                    access_key_id,
                    metadata: &request.request_metadata,
                };
                let input = EncryptInput {
                    plaintext,
                    aad: aad.clone(),
                    verify_decrypt: want_cdiv,
                };
                let output = backend.encrypt(&requester, key_id, input).await?;
                let metadata = output.ciphertext_metadata.clone().unwrap_or_default();
                let integrity = want_cdiv.then(|| {
                    encode(&cdiv(
                        &aad,
                        &metadata,
                        &output.iv,
                        &output.ciphertext,
                        &output.tag,
                    ))
                });
                json(&api::EncryptResponse {
                    authentication_tag: encode(&output.tag),
                    ciphertext: encode(&output.ciphertext),
                    initialization_vector: encode(&output.iv),
                    ciphertext_metadata: output.ciphertext_metadata.as_deref().map(encode),
                    ciphertext_data_integrity_value: integrity,
                })
            }
            KeyOperation::Decrypt => {
                let request: api::DecryptRequest = parse(body)?;
                call.read(&request.request_metadata);
                request.request_metadata.validate(true, true)?;
                check_algorithm(&request.encryption_algorithm)?;
                let ciphertext = decode("ciphertext", &request.ciphertext)?;
                let aad = optional(
                    request.additional_authenticated_data.as_deref(),
                    "additionalAuthenticatedData",
                )?;
                self.check_sizes(ciphertext.len(), aad.len())?;
                let input = DecryptInput {
                    ciphertext,
                    iv: decode("initializationVector", &request.initialization_vector)?,
                    tag: decode("authenticationTag", &request.authentication_tag)?,
                    aad,
                    ciphertext_metadata: request
                        .ciphertext_metadata
                        .as_deref()
                        .map(|m| decode("ciphertextMetadata", m))
                        .transpose()?,
                };
                if !matches!(input.iv.len(), 12 | 16) || input.tag.len() != 16 {
                    return Err(XksError::new(
                        ErrorKind::Validation,
                        "initializationVector must be 12 or 16 bytes and authenticationTag 16",
                    ));
                }
                let requester = Requester {
                    access_key_id,
                    metadata: &request.request_metadata,
                };
                let plaintext = backend.decrypt(&requester, key_id, input).await?;
                json(&api::DecryptResponse {
                    plaintext: api::SecretText::new(encode(&plaintext)),
                })
            }
        }
    }

    fn route(&self, path: &str) -> Result<Route, XksError> {
        let not_found = || XksError::new(ErrorKind::InvalidUriPath, "no such XKS route");
        if path.len() > MAX_URI {
            return Err(not_found());
        }
        let rest = path
            .strip_prefix(self.settings.prefix.as_str())
            .and_then(|rest| rest.strip_prefix(API_PATH))
            .ok_or_else(not_found)?;
        if rest == "/health" {
            return Ok(Route::Health);
        }
        let (key_id, operation) = rest
            .strip_prefix("/keys/")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(not_found)?;
        let operation = match operation {
            "metadata" => KeyOperation::Metadata,
            "encrypt" => KeyOperation::Encrypt,
            "decrypt" => KeyOperation::Decrypt,
            _ => return Err(not_found()),
        };
        let valid_id = !key_id.is_empty()
            && key_id.len() <= 128
            && key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid_id {
            return Err(not_found());
        }
        Ok(Route::Key {
            key_id: key_id.to_string(),
            operation,
        })
    }

    fn check_sizes(&self, data: usize, aad: usize) -> Result<(), XksError> {
        if data > self.settings.max_plaintext_bytes {
            return Err(unsupported(format!(
                "data over this proxy's limit of {} bytes",
                self.settings.max_plaintext_bytes
            )));
        }
        if aad > self.settings.max_aad_bytes {
            return Err(unsupported(format!(
                "additionalAuthenticatedData over this proxy's limit of {} bytes",
                self.settings.max_aad_bytes
            )));
        }
        Ok(())
    }
}

fn unsupported(message: String) -> XksError {
    XksError::new(ErrorKind::UnsupportedOperation, message)
}

fn check_algorithm(algorithm: &str) -> Result<(), XksError> {
    match algorithm {
        "AES_GCM" => Ok(()),
        other => Err(unsupported(format!(
            "encryptionAlgorithm {other:?}; only AES_GCM is supported"
        ))),
    }
}

fn optional(value: Option<&str>, field: &str) -> Result<Vec<u8>, XksError> {
    value
        .map(|v| decode(field, v))
        .transpose()
        .map(Option::unwrap_or_default)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, XksError> {
    serde_json::to_string(value).map_err(|e| XksError::new(ErrorKind::Internal, e.to_string()))
}
