//! The keystore as the async server uses it: the ring of master key versions (the
//! current one wraps, any loaded one unwraps, older ones load on demand), every call on
//! the blocking pool, bounded in time (a call that takes longer fails with `Timeout`,
//! for XKS's 250 ms budget) and in number (a hung HSM ties up at most `max_in_flight`
//! threads).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use super::blob::{self, Binding};
use super::open::MasterKeyOpener;
use super::{Keystore, KeystoreError, KeystoreInfo};

struct Ring {
    current: u32,
    current_keystore: Arc<dyn Keystore>,
    /// Every loaded version, the current one included.
    versions: BTreeMap<u32, Arc<dyn Keystore>>,
}

impl Ring {
    fn install(&mut self, version: u32, keystore: Arc<dyn Keystore>) {
        self.versions.insert(version, keystore.clone());
        if version > self.current {
            self.current = version;
            self.current_keystore = keystore;
        }
    }
}

#[derive(Clone)]
pub struct KeystoreHandle {
    ring: Arc<RwLock<Ring>>,
    opener: Option<Arc<MasterKeyOpener>>,
    timeout: Duration,
    in_flight: Arc<Semaphore>,
}

impl KeystoreHandle {
    /// A handle whose current master key is `keystore`, at `version`.
    pub fn new(
        keystore: Arc<dyn Keystore>,
        version: u32,
        timeout: Duration,
        max_in_flight: usize,
    ) -> KeystoreHandle {
        let ring = Ring {
            current: version,
            current_keystore: keystore.clone(),
            versions: BTreeMap::from([(version, keystore)]),
        };
        KeystoreHandle {
            ring: Arc::new(RwLock::new(ring)),
            opener: None,
            timeout,
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }

    /// Lets the handle load other versions on demand and rotate.
    pub fn with_opener(mut self, opener: MasterKeyOpener) -> KeystoreHandle {
        self.opener = Some(Arc::new(opener));
        self
    }

    pub fn current_version(&self) -> u32 {
        self.read().current
    }

    /// The current master key.
    pub fn info(&self) -> KeystoreInfo {
        self.current().1.info()
    }

    /// Wraps `material` for (`uid`, `version`) under the current master key; returns the
    /// blob and the master key version that wrapped it.
    pub async fn wrap(
        &self,
        uid: &str,
        version: u64,
        material: Zeroizing<Vec<u8>>,
    ) -> Result<(Vec<u8>, u32), KeystoreError> {
        let (key_version, keystore) = self.current();
        let uid = uid.to_string();
        let blob = self
            .call(keystore, move |keystore| {
                blob::wrap(
                    keystore,
                    key_version,
                    Binding { uid: &uid, version },
                    &material,
                )
            })
            .await?;
        Ok((blob, key_version))
    }

    /// Unwraps a blob made for (`uid`, `version`), with whichever master key version made it.
    pub async fn unwrap(
        &self,
        uid: &str,
        version: u64,
        wrapped: Vec<u8>,
    ) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        let (header, _) = blob::parse_header(&wrapped)?;
        let keystore = self.version(header.key_version).await?;
        let uid = uid.to_string();
        self.call(keystore, move |keystore| {
            blob::unwrap(keystore, Binding { uid: &uid, version }, &wrapped)
        })
        .await
    }

    /// How long one keystore call may take before it counts as failed.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A real wrap and unwrap of random data through the current master key.
    pub async fn health(&self) -> Result<(), KeystoreError> {
        let mut probe = Zeroizing::new(vec![0u8; 32]);
        getrandom::getrandom(&mut probe).map_err(|_| KeystoreError::Crypto("random generator"))?;
        let (wrapped, _) = self.wrap("hyok-health-probe", 0, probe.clone()).await?;
        let unwrapped = self.unwrap("hyok-health-probe", 0, wrapped).await?;
        if unwrapped == probe {
            Ok(())
        } else {
            Err(KeystoreError::Crypto("health probe did not round-trip"))
        }
    }

    /// Creates the next master key version and makes it current, here and (through the
    /// database) on every node. Returns the new version.
    pub async fn rotate(&self) -> Result<u32, String> {
        let opener = self.opener.as_ref().ok_or("this keystore cannot rotate")?;
        let next = self.current_version() + 1;
        let (keystore, _) = opener.open(next, true).await?;
        opener.set_current(next).await?;
        self.write().install(next, keystore);
        Ok(next)
    }

    /// Follows a rotation made by another node: loads the version the database names.
    pub async fn refresh(&self) -> Result<(), String> {
        let Some(opener) = &self.opener else {
            return Ok(());
        };
        let latest = opener.current_version().await?;
        if latest > self.current_version() {
            let (keystore, _) = opener.open(latest, false).await?;
            self.write().install(latest, keystore);
            tracing::info!(
                version = latest,
                "master key version {latest} is now current (rotated elsewhere)"
            );
        }
        Ok(())
    }

    fn current(&self) -> (u32, Arc<dyn Keystore>) {
        let ring = self.read();
        (ring.current, ring.current_keystore.clone())
    }

    async fn version(&self, version: u32) -> Result<Arc<dyn Keystore>, KeystoreError> {
        if let Some(keystore) = self.read().versions.get(&version) {
            return Ok(keystore.clone());
        }
        let opener = self
            .opener
            .as_ref()
            .ok_or(KeystoreError::UnknownVersion(version))?;
        let (keystore, _) = opener
            .open(version, false)
            .await
            .map_err(KeystoreError::VersionUnavailable)?;
        self.write().versions.insert(version, keystore.clone());
        Ok(keystore)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Ring> {
        self.ring.write().unwrap_or_else(|p| p.into_inner())
    }

    async fn call<T, F>(&self, keystore: Arc<dyn Keystore>, work: F) -> Result<T, KeystoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Keystore) -> Result<T, KeystoreError> + Send + 'static,
    {
        let timed_out =
            || KeystoreError::Timeout(u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX));
        let permit = tokio::time::timeout(self.timeout, self.in_flight.clone().acquire_owned())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| KeystoreError::Crypto("keystore closed"))?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(keystore.as_ref())
        });
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(KeystoreError::Crypto("keystore call panicked")),
            Err(_) => Err(timed_out()),
        }
    }
}
