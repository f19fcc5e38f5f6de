//! What every request handler shares: configuration, database, keystore, token verifier.

use std::sync::Arc;

use hyok_db::{Db, Engine};

use crate::access::Access;
use crate::audit::AuditLog;
use crate::auth::TokenVerifier;
use crate::config::Config;
use crate::keys::KeyService;

pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: KeyService,
    /// Private and public keys parsed for KMIP operations.
    pub parsed_keys: crate::kmip_ops::ParsedKeys,
    /// KMIP multi-part operations under way.
    pub streams: crate::kmip_ops::Streams,
    pub access: Access,
    pub audit: Arc<AuditLog>,
    pub tokens: TokenVerifier,
    /// The AWS XKS facade, when `aws_xks_enable` is true.
    pub xks: Option<hyok_xks::XksService>,
    /// What `/health` and the XKS health route report.
    pub health: crate::health_probe::HealthProbe,
}

impl AppState {
    pub fn db_engine(&self) -> &'static str {
        match self.db.engine() {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgresql",
        }
    }
}
