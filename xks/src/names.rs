//! Names fixed by the XKS proxy API specification (v1.0.3).

/// The path under the operator's prefix: routes are `{prefix}/kms/xks/v1/...`.
pub const API_PATH: &str = "/kms/xks/v1";

/// The service name AWS KMS signs XKS requests with (SigV4 credential scope).
pub const SIGV4_SERVICE: &str = "kms-xks-proxy";
