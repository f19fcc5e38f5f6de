//! Checks on configuration values that types alone cannot express: impossible values
//! are errors; legal but risky or surprising values are warnings. Each names its key.

use std::net::IpAddr;
use std::path::Path;

use super::model::{Config, KeystoreKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub key: String,
    pub message: String,
}

/// Paths the XKS prefix must not shadow: they belong to the rest of the server.
const RESERVED_PREFIXES: &[&str] = &["/kmip", "/access", "/admin", "/health", "/ui"];

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn error(&mut self, key: &str, message: impl Into<String>) {
        self.push(Severity::Error, key, message.into());
    }

    fn warning(&mut self, key: &str, message: impl Into<String>) {
        self.push(Severity::Warning, key, message.into());
    }

    fn push(&mut self, severity: Severity, key: &str, message: String) {
        self.0.push(Finding {
            severity,
            key: key.to_string(),
            message,
        });
    }

    fn range<T: PartialOrd + std::fmt::Display>(&mut self, key: &str, value: T, low: T, high: T) {
        if value < low || value > high {
            self.error(key, format!("{value} is out of range: use {low} to {high}"));
        }
    }

    fn readable_file(&mut self, key: &str, path: &Path) {
        if let Err(error) = std::fs::metadata(path).and_then(|m| {
            if m.is_file() {
                Ok(())
            } else {
                Err(std::io::Error::other("not a regular file"))
            }
        }) {
            self.error(key, format!("cannot use {}: {error}", path.display()));
        }
    }
}

/// Every finding about `config`, errors and warnings alike.
pub fn validate(config: &Config) -> Vec<Finding> {
    let mut findings = Findings::default();
    check_listeners(config, &mut findings);
    check_tls(config, &mut findings);
    check_storage(config, &mut findings);
    check_keystore(config, &mut findings);
    check_auth_audit_logging(config, &mut findings);
    check_xks(config, &mut findings);
    findings.0
}

fn check_host(findings: &mut Findings, key: &str, host: &str) {
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
        findings.error(key, format!("{host:?} is not a host name or IP address"));
    } else if host.parse::<IpAddr>().is_ok_and(|ip| !ip.is_loopback()) {
        findings.warning(
            key,
            format!("listening on {host}: reachable beyond this machine"),
        );
    }
}

fn check_listeners(config: &Config, findings: &mut Findings) {
    check_host(findings, "http.host", &config.http.host);
    findings.range("http.workers", config.http.workers, 0, 1024);
    findings.range(
        "http.max_body_bytes",
        config.http.max_body_bytes,
        1024,
        64 * 1024 * 1024,
    );
    findings.range(
        "http.shutdown_timeout_seconds",
        config.http.shutdown_timeout_seconds,
        0,
        3600,
    );
    check_host(findings, "kmip.host", &config.kmip.host);
    findings.range(
        "kmip.max_connections",
        config.kmip.max_connections,
        1,
        100_000,
    );
    findings.range(
        "kmip.max_connections_per_certificate",
        config.kmip.max_connections_per_certificate,
        1,
        100_000,
    );
    findings.range(
        "kmip.idle_timeout_seconds",
        config.kmip.idle_timeout_seconds,
        1,
        86_400,
    );
    if config.kmip.enable && (config.tls.cert.is_none() || config.tls.client_ca.is_none()) {
        findings.error(
            "kmip.enable",
            "KMIP over TLS needs tls.cert, tls.key and tls.client_ca (KMIP clients are known by their certificate)",
        );
    }
}

fn check_tls(config: &Config, findings: &mut Findings) {
    let tls = &config.tls;
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            findings.readable_file("tls.cert", cert);
            findings.readable_file("tls.key", key);
        }
        (Some(_), None) => findings.error(
            "tls.key",
            "tls.cert is set, so the private key is needed too",
        ),
        (None, Some(_)) => findings.error(
            "tls.cert",
            "tls.key is set, so the certificate is needed too",
        ),
        (None, None) => {}
    }
    if let Some(ca) = &tls.client_ca {
        findings.readable_file("tls.client_ca", ca);
        if tls.cert.is_none() {
            findings.error(
                "tls.client_ca",
                "client certificates need HTTPS: set tls.cert and tls.key",
            );
        }
    }
    if tls.require_client_cert && tls.client_ca.is_none() {
        findings.error(
            "tls.require_client_cert",
            "needs tls.client_ca to verify client certificates",
        );
    }
}

fn check_storage(config: &Config, findings: &mut Findings) {
    let url = config.db_url();
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres:")
        || url.starts_with("postgresql:"))
    {
        findings.error("db.url", "must start with sqlite:// or postgres://");
    }
    findings.range("db.max_connections", config.db.max_connections, 1, 1000);
    findings.range(
        "db.acquire_timeout_seconds",
        config.db.acquire_timeout_seconds,
        1,
        300,
    );
    findings.range(
        "db.statement_timeout_ms",
        config.db.statement_timeout_ms,
        50,
        600_000,
    );
    findings.range(
        "db.sqlite_cache_kib",
        config.db.sqlite_cache_kib,
        64,
        1_048_576,
    );
}

fn check_keystore(config: &Config, findings: &mut Findings) {
    let keystore = &config.keystore;
    match keystore.kind {
        KeystoreKind::Software => {
            if keystore.file.as_os_str().is_empty() {
                findings.error("keystore.file", "must name the master key file");
            }
        }
        KeystoreKind::Pkcs11 => {
            if keystore.module.is_none() {
                findings.error(
                    "keystore.module",
                    "kind = \"pkcs11\" needs the PKCS#11 module path",
                );
            }
            if keystore.token_label.is_some() == keystore.slot.is_some() {
                findings.error(
                    "keystore.token_label",
                    "set exactly one of token_label and slot",
                );
            }
        }
    }
    if keystore.key_label.is_empty() {
        findings.error("keystore.key_label", "must not be empty");
    }
    findings.range("keystore.timeout_ms", keystore.timeout_ms, 1, 60_000);
    findings.range("keystore.max_sessions", keystore.max_sessions, 1, 256);
    let keys = &config.keys;
    findings.range(
        "keys.cache_max_entries",
        keys.cache_max_entries,
        0,
        10_000_000,
    );
    findings.range("keys.cache_max_bytes", keys.cache_max_bytes, 0, 1 << 34);
    findings.range(
        "keys.cache_idle_seconds",
        keys.cache_idle_seconds,
        1,
        86_400,
    );
    findings.range(
        "keys.cache_max_age_seconds",
        keys.cache_max_age_seconds,
        1,
        7 * 86_400,
    );
    findings.range(
        "keys.metadata_cache_max_entries",
        keys.metadata_cache_max_entries,
        0,
        10_000_000,
    );
    findings.range(
        "keys.metadata_cache_max_age_seconds",
        keys.metadata_cache_max_age_seconds,
        1,
        3600,
    );
}

fn check_auth_audit_logging(config: &Config, findings: &mut Findings) {
    findings.range(
        "auth.token_cache_seconds",
        config.auth.token_cache_seconds,
        0,
        3600,
    );
    if let Some(creators) = &config.auth.creators {
        if creators.iter().any(|name| name.trim().is_empty()) {
            findings.error("auth.creators", "user names must not be empty");
        }
    }
    findings.range("audit.retain_days", config.audit.retain_days, 1, 36_500);
    if let Err(error) = tracing_subscriber::EnvFilter::try_new(&config.logging.level) {
        findings.error(
            "logging.level",
            format!("{:?} is not a log filter: {error}", config.logging.level),
        );
    }
}

fn check_xks(config: &Config, findings: &mut Findings) {
    let xks = &config.aws_xks_config;
    let key = |name: &str| format!("aws_xks_config.{name}");
    if xks.aws_xks_region.is_empty()
        || !xks
            .aws_xks_region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        findings.error(
            &key("aws_xks_region"),
            format!("{:?} is not an AWS region name", xks.aws_xks_region),
        );
    }
    if xks.aws_xks_service != hyok_xks::SIGV4_SERVICE {
        findings.warning(
            &key("aws_xks_service"),
            format!(
                "{:?}: AWS KMS signs XKS requests with {:?}; requests will fail SigV4 unless the caller uses this name",
                xks.aws_xks_service,
                hyok_xks::SIGV4_SERVICE
            ),
        );
    }
    let prefix = &xks.aws_xks_uri_prefix;
    if let Err(error) = hyok_xks::validate_uri_prefix(prefix) {
        findings.error(&key("aws_xks_uri_prefix"), format!("{prefix:?} {error}"));
    } else if let Some(reserved) = RESERVED_PREFIXES
        .iter()
        .find(|r| prefix == *r || prefix.starts_with(&format!("{r}/")))
    {
        findings.error(
            &key("aws_xks_uri_prefix"),
            format!("{prefix:?} would shadow hyok's own {reserved} routes"),
        );
    }
    let store = &xks.aws_xks_store_name;
    if store.is_empty()
        || !store
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        findings.error(
            &key("aws_xks_store_name"),
            "use letters, digits, '.', '_' and '-'",
        );
    }
    check_xks_credentials(config, findings);
    check_xks_listener(config, findings);
}

fn check_xks_credentials(config: &Config, findings: &mut Findings) {
    let xks = &config.aws_xks_config;
    let id_key = "aws_xks_config.aws_xks_sigv4_access_key_id";
    let secret_key = "aws_xks_config.aws_xks_sigv4_secret_access_key";
    let pair = (
        &xks.aws_xks_sigv4_access_key_id,
        &xks.aws_xks_sigv4_secret_access_key,
    );
    match pair {
        (Some(_), None) => findings.error(
            secret_key,
            "the access key id needs its secret (here or in HYOK_AWS_XKS_SIGV4_SECRET_ACCESS_KEY)",
        ),
        (None, Some(_)) => findings.error(id_key, "the secret needs its access key id"),
        (None, None) if xks.aws_xks_enable && xks.aws_xks_credentials.is_empty() => {
            findings.error(id_key, "aws_xks_enable = true needs a SigV4 credential")
        }
        _ => {}
    }
    if let (Some(id), Some(secret)) = pair {
        check_credential_shape(findings, id_key, secret_key, id, secret.expose());
    }
    for credential in &xks.aws_xks_credentials {
        let key = "aws_xks_config.aws_xks_credentials";
        check_credential_shape(
            findings,
            key,
            key,
            &credential.access_key_id,
            credential.secret_access_key.expose(),
        );
    }
    findings.range(
        "aws_xks_config.aws_xks_requests_per_second",
        xks.aws_xks_requests_per_second.unwrap_or(1),
        1,
        1_000_000,
    );
    findings.range(
        "aws_xks_config.aws_xks_max_plaintext_bytes",
        xks.aws_xks_max_plaintext_bytes,
        4300,
        1 << 20,
    );
    findings.range(
        "aws_xks_config.aws_xks_max_aad_bytes",
        xks.aws_xks_max_aad_bytes,
        8192,
        1 << 20,
    );
}

fn check_xks_listener(config: &Config, findings: &mut Findings) {
    let xks = &config.aws_xks_config;
    if xks.aws_xks_mtls_port.is_none() {
        return;
    }
    let key = "aws_xks_config.aws_xks_mtls_port";
    if config.tls.cert.is_none() {
        findings.error(
            key,
            "the dedicated XKS listener serves HTTPS: set tls.cert and tls.key",
        );
    }
    match &xks.aws_xks_mtls_client_ca {
        Some(ca) => findings.readable_file("aws_xks_config.aws_xks_mtls_client_ca", ca),
        None => findings.error(
            "aws_xks_config.aws_xks_mtls_client_ca",
            "the dedicated XKS listener needs the CA of its clients",
        ),
    }
    if xks.aws_xks_mtls_port == Some(config.http.port) && config.http.port != 0 {
        findings.error(key, "must differ from http.port");
    }
}

/// Credentials AWS would not accept start with a warning naming the key, never an error.
fn check_credential_shape(
    findings: &mut Findings,
    id_key: &str,
    secret_key: &str,
    id: &str,
    secret: &str,
) {
    if !hyok_xks::is_access_key_id_shape(id) {
        findings.warning(
            id_key,
            format!("{id:?}: AWS KMS accepts only 20 to 30 characters of A-Z and 2-7 here"),
        );
    } else if id.starts_with("AKIA") || id.starts_with("ASIA") {
        findings.warning(
            id_key,
            "this looks like an IAM access key id; use a credential made for the key store",
        );
    }
    if !hyok_xks::is_secret_access_key_shape(secret) {
        findings.warning(
            secret_key,
            format!("the secret of {id:?}: AWS KMS accepts only 43 to 64 characters of A-Z, a-z, 0-9, '+', '/' and '='"),
        );
    }
}
