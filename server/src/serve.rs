//! `hyok serve`: the start-up sequence (configuration, database and migrations,
//! master key, first admin, listener), then serving until SIGTERM/SIGINT, then a
//! clean close of the database.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use hyok_db::{Db, DbOptions};

use crate::access::Access;
use crate::audit::AuditLog;
use crate::auth::TokenVerifier;
use crate::config::{Config, KeyUseAudit, Loaded, SoftwareLocation};
use crate::keys::{CacheLimits, KeyCache, KeyService, RecordCache};
use crate::keystore::{KeystoreHandle, MasterKeyOpener};
use crate::state::AppState;
use crate::{bootstrap, config, listen, maintenance, xks_facade};

/// How often a SQLite node reads the change feed of other processes' writes.
const FOLLOW_EVERY: Duration = Duration::from_millis(100);

pub async fn run(loaded: Loaded, path: Option<PathBuf>) -> Result<(), String> {
    for warning in &loaded.warnings {
        tracing::warn!("{}", warning.render(&loaded.file));
    }
    let loaded_file = path;
    let config = Arc::new(loaded.config);
    let db = open_database(&config).await?;
    let keystore = open_keystore(&config, &db).await?;
    let limits = CacheLimits {
        max_entries: config.keys.cache_max_entries,
        max_bytes: config.keys.cache_max_bytes,
        idle: Duration::from_secs(config.keys.cache_idle_seconds),
        max_age: Duration::from_secs(config.keys.cache_max_age_seconds),
    };
    let summarize = config.audit.key_use == KeyUseAudit::Summary;
    let audit = AuditLog::start(db.clone(), &keystore, summarize).await?;
    let token_key = crate::auth::TOKEN_KEY
        .load_or_create(&db, &keystore)
        .await?;
    let metadata_age = Duration::from_secs(config.keys.metadata_cache_max_age_seconds);
    let metadata_entries = config.keys.metadata_cache_max_entries;
    let keys = KeyService::new(db.clone(), keystore, KeyCache::new(limits))
        .with_record_cache(RecordCache::new(metadata_entries, metadata_age))
        .with_audit(audit.clone());
    let tokens = TokenVerifier::new(
        db.clone(),
        token_key,
        Duration::from_secs(config.auth.token_cache_seconds),
    )
    .with_audit(audit.clone());
    bootstrap::ensure_admin(&db, &tokens).await?;
    let access = Access::new(db.clone(), config.auth.creators.clone())
        .with_decision_cache(metadata_entries, metadata_age)
        .with_audit(audit.clone());
    let state = web::Data::new(AppState {
        config: config.clone(),
        db: db.clone(),
        keys,
        parsed_keys: crate::kmip_ops::ParsedKeys::new(&limits),
        streams: Default::default(),
        access,
        audit: audit.clone(),
        tokens,
        xks: xks_facade::service_for(&config.aws_xks_config),
        health: Default::default(),
    });
    if let Some(xks) = &state.xks {
        tracing::info!(prefix = %xks.prefix(), "AWS XKS routes enabled");
    }
    let reading = state.clone();
    actix_web::rt::spawn(async move { crate::read_ahead::run(&reading).await });
    db.heartbeat(audit.node())
        .await
        .map_err(|e| e.to_string())?;
    actix_web::rt::spawn(reload_on_sighup(loaded_file.clone(), state.clone()));
    actix_web::rt::spawn(maintenance::run(state.clone()));
    let follower = db.clone();
    let following =
        actix_web::rt::spawn(async move { follower.follow_other_writers(FOLLOW_EVERY).await });
    let listening = listen::start(&config, state)?;
    // The main listener's line last: whoever waits for it then has all the others.
    for (what, url) in listening.addresses.iter().rev() {
        tracing::info!("{what} {url}");
    }
    // Each server runs only while polled: poll them all at once.
    let running: Vec<_> = listening
        .servers
        .into_iter()
        .map(actix_web::rt::spawn)
        .collect();
    let mut served = Ok(());
    for server in running {
        let result = server
            .await
            .map_err(std::io::Error::other)
            .and_then(|result| result);
        served = served.and(result);
    }
    if tokio::time::timeout(Duration::from_secs(10), audit.flush())
        .await
        .is_err()
    {
        tracing::error!(
            "audit events could not be committed within 10 s of stopping (database down?)"
        );
    }
    if let Err(error) = db.forget_node(audit.node()).await {
        tracing::warn!(%error, "cannot remove this node from the registry");
    }
    // The PostgreSQL listener holds a pooled connection, which closing the pool awaits;
    // it must also be dropped while the runtime still runs.
    following.abort();
    let _ = following.await;
    db.close().await;
    served.map_err(|error| format!("the HTTP server failed: {error}"))?;
    tracing::info!("hyok stopped");
    Ok(())
}

async fn open_database(config: &Config) -> Result<Db, String> {
    let url = config.db_url();
    if let Some(path) = sqlite_file(url) {
        if let Some(directory) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(directory)
                .map_err(|e| {
                    format!(
                        "cannot create the data directory {}: {e}",
                        directory.display()
                    )
                })?;
        }
    }
    let options = DbOptions {
        max_connections: config.db.max_connections,
        acquire_timeout: Duration::from_secs(config.db.acquire_timeout_seconds),
        statement_timeout: Duration::from_millis(config.db.statement_timeout_ms),
        sqlite_cache_kib: config.db.sqlite_cache_kib,
    };
    let db = Db::connect(url, &options)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let description = db.describe().await.map_err(|e| e.to_string())?;
    tracing::info!(url = %hyok_db::redact_password(url), "database: {description}, migrations applied");
    Ok(db)
}

/// The file of a `sqlite:` URL (without its query string).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Opens the current master key version, bound to the database, and checks it works.
async fn open_keystore(config: &Config, db: &Db) -> Result<KeystoreHandle, String> {
    let opener = MasterKeyOpener::new(config.keystore.clone(), db.clone());
    let version = opener.current_version().await?;
    let (opened, created) = opener.open(version, true).await?;
    let info = opened.info();
    let action = if created { "created" } else { "opened" };
    let mechanism = opened.preferred_mechanism().name();
    let place = match &info.device {
        Some(device) => format!("in {device}"),
        None if config.keystore.location == SoftwareLocation::Database => {
            "stored in the database".into()
        }
        None => config.keystore.file.display().to_string(),
    };
    tracing::info!(key_id = %info.key_id, version, mechanism, "{} keystore: {action} master key {place}", info.kind);
    if !info.protected {
        tracing::warn!(
            "THE MASTER KEY FILE {} IS NOT SEALED: whoever can read it can decrypt every key. \
             Set HYOK_MASTER_PASSPHRASE before the first start, or use an HSM (keystore.kind = \"pkcs11\").",
            config.keystore.file.display()
        );
    }
    let timeout = Duration::from_millis(config.keystore.timeout_ms);
    let handle = KeystoreHandle::new(opened, version, timeout, config.keystore.max_sessions)
        .with_opener(opener);
    handle
        .health()
        .await
        .map_err(|e| format!("the keystore failed its first round trip: {e}"))?;
    Ok(handle)
}

/// SIGHUP: re-read the configuration file and swap the XKS SigV4 credentials, without a
/// restart and without dropping connections. Other sections need a restart.
async fn reload_on_sighup(path: Option<PathBuf>, state: web::Data<AppState>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reloading needs a restart");
        return;
    };
    while hangups.recv().await.is_some() {
        match config::load(path.as_deref()) {
            Ok(reloaded) => match &state.xks {
                Some(service) => {
                    let count =
                        xks_facade::reload_credentials(service, &reloaded.config.aws_xks_config);
                    tracing::info!(
                        credentials = count,
                        "SIGHUP: XKS SigV4 credentials reloaded; other changes need a restart"
                    );
                }
                None => tracing::info!(
                    "SIGHUP: nothing to reload (XKS is not enabled); other changes need a restart"
                ),
            },
            Err(error) => {
                tracing::error!("SIGHUP: the configuration is invalid, nothing changed:\n{error}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;

    #[test]
    fn sqlite_files_from_urls() {
        assert_eq!(
            sqlite_file("sqlite://./hyok-data/hyok.db"),
            Some("./hyok-data/hyok.db".into())
        );
        assert_eq!(
            sqlite_file("sqlite:/var/lib/hyok/h.db?mode=rwc"),
            Some("/var/lib/hyok/h.db".into())
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }
}
