//! The health probe shared by `/health` and the XKS health route: what requests need
//! (the database's schema and objects table, a keystore wrap/unwrap round trip), checked
//! at most once a second with one probe in flight, so that unauthenticated health
//! checks neither compete with traffic nor report a state older than a second.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyok_db::Db;

use crate::keystore::KeystoreHandle;

/// How long a probe's answer stands.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// The longest the database part of a probe may take.
const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

/// What one probe found.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Why the database cannot serve requests, if it cannot.
    pub database: Result<(), String>,
    /// How long the keystore round trip took, or why it failed.
    pub keystore: Result<Duration, String>,
}

impl Probe {
    pub fn healthy(&self) -> bool {
        self.database.is_ok() && self.keystore.is_ok()
    }
}

#[derive(Default)]
pub struct HealthProbe {
    latest: Mutex<Option<(Instant, Arc<Probe>)>>,
    /// Held by the one probe in flight; others wait for its answer.
    probing: tokio::sync::Mutex<()>,
}

impl HealthProbe {
    /// The latest probe if it is at most a second old, else a new one (run once for all
    /// the callers that ask meanwhile).
    pub async fn current(&self, db: &Db, keystore: &KeystoreHandle) -> Arc<Probe> {
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let _probing = self.probing.lock().await;
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let probe = Arc::new(run(db, keystore).await);
        log_failures(&probe);
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), probe.clone()));
        probe
    }

    fn fresh(&self) -> Option<Arc<Probe>> {
        let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        latest
            .as_ref()
            .filter(|(at, _)| at.elapsed() <= FRESH_FOR)
            .map(|(_, probe)| probe.clone())
    }
}

async fn run(db: &Db, keystore: &KeystoreHandle) -> Probe {
    let database = match tokio::time::timeout(DATABASE_DEADLINE, db.check_schema()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            DATABASE_DEADLINE.as_secs()
        )),
    };
    let started = Instant::now();
    // Each keystore call is bounded by `[keystore] timeout_ms`.
    let keystore = keystore
        .health()
        .await
        .map(|()| started.elapsed())
        .map_err(|error| error.to_string());
    Probe { database, keystore }
}

fn log_failures(probe: &Probe) {
    if let Err(error) = &probe.database {
        tracing::error!(part = "database", %error, "health check failed");
    }
    if let Err(error) = &probe.keystore {
        tracing::error!(part = "keystore", %error, "health check failed");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hyok_db::testing::TestDatabase;
    use zeroize::Zeroizing;

    use super::*;
    use crate::keystore::{
        Keystore, KeystoreError, KeystoreInfo, Mechanism, Sealed, SoftwareKeystore,
    };

    /// A software keystore that counts its seals and takes 50 ms over each.
    struct Counting {
        inner: SoftwareKeystore,
        seals: Arc<AtomicUsize>,
    }

    impl Keystore for Counting {
        fn info(&self) -> KeystoreInfo {
            self.inner.info()
        }
        fn preferred_mechanism(&self) -> Mechanism {
            self.inner.preferred_mechanism()
        }
        fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeystoreError> {
            self.seals.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            self.inner.seal(aad, plaintext)
        }
        fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
            self.inner.open(sealed, aad)
        }
        fn check_value(&self) -> Result<String, KeystoreError> {
            self.inner.check_value()
        }
    }

    #[actix_web::test]
    async fn one_probe_a_second_answers_every_caller() {
        let database = TestDatabase::sqlite();
        let db = database.open().await;
        let dir = tempfile::tempdir().unwrap();
        let (inner, _) =
            SoftwareKeystore::open_or_create(&dir.path().join("master.key"), None, None).unwrap();
        let seals = Arc::new(AtomicUsize::new(0));
        let keystore = Counting {
            inner,
            seals: seals.clone(),
        };
        let handle = KeystoreHandle::new(Arc::new(keystore), 1, Duration::from_secs(5), 4);
        let probe = Arc::new(HealthProbe::default());
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (probe, db, handle) = (probe.clone(), db.clone(), handle.clone());
            callers.spawn(async move { probe.current(&db, &handle).await });
        }
        for answer in callers.join_all().await {
            assert!(answer.healthy(), "{answer:?}");
        }
        assert_eq!(seals.load(Ordering::SeqCst), 1, "twenty callers, one probe");
        assert!(probe.current(&db, &handle).await.healthy());
        assert_eq!(seals.load(Ordering::SeqCst), 1, "still fresh");
        tokio::time::sleep(FRESH_FOR + Duration::from_millis(100)).await;
        assert!(probe.current(&db, &handle).await.healthy());
        assert_eq!(
            seals.load(Ordering::SeqCst),
            2,
            "a second later, a new probe"
        );
    }

    #[actix_web::test]
    async fn a_database_without_hyok_s_schema_is_unavailable() {
        let database = TestDatabase::sqlite();
        let db = hyok_db::Db::connect(&database.url, &Default::default())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (keystore, _) =
            SoftwareKeystore::open_or_create(&dir.path().join("master.key"), None, None).unwrap();
        let handle = KeystoreHandle::new(Arc::new(keystore), 1, Duration::from_secs(5), 4);
        let probe = HealthProbe::default().current(&db, &handle).await;
        let problem = probe.database.clone().unwrap_err();
        assert!(problem.contains("schema version"), "{problem}");
        assert!(probe.keystore.is_ok() && !probe.healthy());
    }
}
