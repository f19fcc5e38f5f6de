//! The configuration's sections and keys, each with its default. Unknown keys are
//! rejected (`deny_unknown_fields`) so a typo never silently falls back to a default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::secrets::Secret;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub kmip: KmipConfig,
    pub tls: TlsConfig,
    pub db: DbConfig,
    pub keystore: KeystoreConfig,
    pub keys: KeysConfig,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    pub logging: LoggingConfig,
    pub aws_xks_config: XksConfig,
}

/// The HTTP(S) listener: admin API, health, and later KMIP-over-HTTP and XKS.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub host: String,
    pub port: u16,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    pub shutdown_timeout_seconds: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            host: "127.0.0.1".into(),
            port: 9998,
            workers: 0,
            max_body_bytes: 1024 * 1024,
            shutdown_timeout_seconds: 30,
        }
    }
}

/// KMIP over TLS (port 5696).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KmipConfig {
    pub enable: bool,
    pub host: String,
    pub port: u16,
    /// Connections open at once, in all and per client certificate.
    pub max_connections: usize,
    pub max_connections_per_certificate: usize,
    /// A connection with no request for this long is closed.
    pub idle_timeout_seconds: u64,
}

impl Default for KmipConfig {
    fn default() -> Self {
        KmipConfig {
            enable: false,
            host: "127.0.0.1".into(),
            port: 5696,
            max_connections: 1000,
            max_connections_per_certificate: 100,
            idle_timeout_seconds: 60,
        }
    }
}

/// Certificates (PEM files). With `cert` and `key` the HTTP listener serves HTTPS.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// CA certificates that sign client certificates.
    pub client_ca: Option<PathBuf>,
    /// Refuse HTTPS clients without a certificate signed by `client_ca`.
    pub require_client_cert: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbConfig {
    /// `sqlite://PATH` or `postgres://…`; absent means SQLite at `./hyok-data/hyok.db`.
    /// `HYOK_DB_URL` (or `HYOK_DB_URL_FILE`) overrides it, to keep passwords out of the file.
    pub url: Option<String>,
    pub max_connections: u32,
    pub acquire_timeout_seconds: u64,
    /// The longest one statement may run or wait for a lock.
    pub statement_timeout_ms: u64,
    /// SQLite: the page cache each connection may keep, in KiB (SQLite's own default).
    pub sqlite_cache_kib: u32,
}

impl Default for DbConfig {
    /// The database crate's own defaults (default.toml states them, and a test holds the
    /// two together).
    fn default() -> Self {
        let options = hyok_db::DbOptions::default();
        DbConfig {
            url: None,
            max_connections: options.max_connections,
            acquire_timeout_seconds: options.acquire_timeout.as_secs(),
            statement_timeout_ms: options.statement_timeout.as_millis() as u64,
            sqlite_cache_kib: options.sqlite_cache_kib,
        }
    }
}

/// The default database when `[db] url` is absent.
pub const DEFAULT_SQLITE_URL: &str = "sqlite://./hyok-data/hyok.db";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeystoreKind {
    Software,
    Pkcs11,
}

/// Where the software keystore keeps its (sealed) master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SoftwareLocation {
    File,
    Database,
}

/// Where the master key lives.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeystoreConfig {
    pub kind: KeystoreKind,
    /// Software keystore: the master key file (sealed with `HYOK_MASTER_PASSPHRASE`).
    pub file: PathBuf,
    /// Software keystore: `file`, or `database` (sealed, shared by every node).
    pub location: SoftwareLocation,
    /// PKCS#11: the module (shared library) path.
    pub module: Option<PathBuf>,
    /// PKCS#11: the token, by label or by slot id.
    pub token_label: Option<String>,
    pub slot: Option<u64>,
    /// PKCS#11: the label of the master key object.
    pub key_label: String,
    /// A keystore call that takes longer fails (the request gets a dependency timeout).
    pub timeout_ms: u64,
    /// At most this many keystore calls run at once (PKCS#11 sessions in use).
    pub max_sessions: usize,
}

impl Default for KeystoreConfig {
    fn default() -> Self {
        KeystoreConfig {
            kind: KeystoreKind::Software,
            file: PathBuf::from("./hyok-data/master.key"),
            location: SoftwareLocation::File,
            module: None,
            token_label: None,
            slot: None,
            key_label: "hyok-master".into(),
            timeout_ms: 100,
            max_sessions: 8,
        }
    }
}

/// The in-memory caches of unwrapped keys (zeroized when evicted), key records and grant
/// decisions.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// At most this many unwrapped keys in memory; 0 turns the cache off.
    pub cache_max_entries: usize,
    /// At most this many bytes of unwrapped key material in memory.
    pub cache_max_bytes: usize,
    /// A key unused for this long is evicted.
    pub cache_idle_seconds: u64,
    /// A key is evicted this long after it was unwrapped, used or not.
    pub cache_max_age_seconds: u64,
    /// At most this many key records (and, separately, grant decisions) kept in memory;
    /// 0 turns that cache off.
    pub metadata_cache_max_entries: usize,
    /// A cached record or grant decision is read again after this long even if no change
    /// was noticed (a backstop for changes made on other nodes).
    pub metadata_cache_max_age_seconds: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig {
            cache_max_entries: 100_000,
            cache_max_bytes: 64 * 1024 * 1024,
            cache_idle_seconds: 600,
            cache_max_age_seconds: 3600,
            metadata_cache_max_entries: 100_000,
            metadata_cache_max_age_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Who may create and register objects; absent means every authenticated user.
    pub creators: Option<Vec<String>>,
    /// Accept client certificates whose CN names no user, creating the user (role `user`).
    pub auto_create_cert_users: bool,
    /// How long a verified token stays trusted without re-checking its hash.
    pub token_cache_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            creators: None,
            auto_create_cert_users: false,
            token_cache_seconds: 60,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyUseAudit {
    Each,
    Summary,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    pub retain_days: u32,
    pub key_use: KeyUseAudit,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            retain_days: 365,
            key_use: KeyUseAudit::Each,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// A tracing filter: `info`, `debug`, `hyok_server=debug,info`, …
    pub level: String,
    pub format: LogFormat,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// The AWS External Key Store facade; keys named as operators know them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct XksConfig {
    pub aws_xks_enable: bool,
    pub aws_xks_region: String,
    pub aws_xks_service: String,
    pub aws_xks_sigv4_access_key_id: Option<String>,
    /// Also from `HYOK_AWS_XKS_SIGV4_SECRET_ACCESS_KEY` (or `…_FILE`).
    pub aws_xks_sigv4_secret_access_key: Option<Secret>,
    pub aws_xks_uri_prefix: String,
    /// The key store's identity in grants: `xks:<name>`.
    pub aws_xks_store_name: String,
    /// More SigV4 credentials, accepted besides the pair above (two live at once while
    /// rotating). Reloaded on SIGHUP.
    pub aws_xks_credentials: Vec<XksCredential>,
    /// Requests per second over which the key store gets 429 ThrottlingException.
    pub aws_xks_requests_per_second: Option<u32>,
    /// Larger plaintexts/ciphertexts get 501 UnsupportedOperationException.
    pub aws_xks_max_plaintext_bytes: usize,
    /// Larger additional authenticated data gets 501 UnsupportedOperationException.
    pub aws_xks_max_aad_bytes: usize,
    /// A dedicated XKS listener (on `[http] host`) that requires client certificates.
    pub aws_xks_mtls_port: Option<u16>,
    /// The CA that signs the client certificates of the dedicated listener.
    pub aws_xks_mtls_client_ca: Option<PathBuf>,
    /// The subject CN the client certificate must carry (AWS: `cks.kms.<region>.amazonaws.com`).
    pub aws_xks_mtls_client_cn: Option<String>,
}

/// One SigV4 credential of the key store.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct XksCredential {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

impl Default for XksConfig {
    fn default() -> Self {
        XksConfig {
            aws_xks_enable: false,
            aws_xks_region: "us-east-1".into(),
            aws_xks_service: hyok_xks::SIGV4_SERVICE.into(),
            aws_xks_sigv4_access_key_id: None,
            aws_xks_sigv4_secret_access_key: None,
            aws_xks_uri_prefix: "/aws".into(),
            aws_xks_store_name: "aws".into(),
            aws_xks_credentials: Vec::new(),
            aws_xks_requests_per_second: None,
            aws_xks_max_plaintext_bytes: 65536,
            aws_xks_max_aad_bytes: 65536,
            aws_xks_mtls_port: None,
            aws_xks_mtls_client_ca: None,
            aws_xks_mtls_client_cn: None,
        }
    }
}

impl Config {
    /// The database URL in force: `[db] url`, or SQLite under `./hyok-data`.
    pub fn db_url(&self) -> &str {
        self.db.url.as_deref().unwrap_or(DEFAULT_SQLITE_URL)
    }
}
