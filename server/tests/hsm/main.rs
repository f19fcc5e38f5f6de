//! The key service on a real HSM (SoftHSM2 through PKCS#11), in process: keys are
//! stored only wrapped, bound to their object, unwrapped once and then served from the
//! cache, under a master key that cannot leave the token.

#[path = "../common/softhsm.rs"]
mod softhsm;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyok_db::testing::TestDatabase;
use hyok_server::keys::{CacheLimits, KeyCache, KeyService, NewSymmetricKey};
use hyok_server::keystore::pkcs11::{Pkcs11Keystore, Pkcs11Settings, TokenSelector};
use hyok_server::keystore::{
    Keystore, KeystoreError, KeystoreHandle, KeystoreInfo, Mechanism, Sealed,
};
use zeroize::Zeroizing;

const TOKEN: &str = "hyok-inprocess";

/// The tests of this process take turns: SoftHSM2's file object store fails token-object
/// creation (C_GenerateKey of a master key) with CKR_GENERAL_ERROR when other sessions use
/// the token at the same moment (softhsm/SoftHSMv2#573); every test here creates one.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One SoftHSM2 token for this test process (SoftHSM reads its configuration once, at
/// C_Initialize); each test uses a master key label of its own.
fn softhsm() -> &'static softhsm::SoftHsm {
    static HSM: OnceLock<(tempfile::TempDir, softhsm::SoftHsm)> = OnceLock::new();
    let (_, hsm) = HSM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let hsm = softhsm::SoftHsm::new(dir.path(), &[TOKEN]);
        std::env::set_var("SOFTHSM2_CONF", &hsm.config);
        (dir, hsm)
    });
    hsm
}

fn settings(key_label: &str, pin: &str) -> Pkcs11Settings {
    softhsm();
    Pkcs11Settings {
        module: softhsm::softhsm_module(),
        token: TokenSelector::Label(TOKEN.into()),
        pin: Zeroizing::new(pin.into()),
        key_label: key_label.into(),
    }
}

fn open(key_label: &str, may_create: bool) -> Result<(Pkcs11Keystore, bool), KeystoreError> {
    Pkcs11Keystore::open(settings(key_label, softhsm::PIN), may_create)
}

/// Counts the calls that reach the HSM and, when asked, refuses to seal every third key
/// (as an HSM that fails some calls).
struct Counting {
    inner: Pkcs11Keystore,
    opens: AtomicUsize,
    seals: AtomicUsize,
    refuse_every_third_seal: bool,
}

impl Counting {
    fn new(inner: Pkcs11Keystore, refuse_every_third_seal: bool) -> Counting {
        Counting {
            inner,
            opens: AtomicUsize::new(0),
            seals: AtomicUsize::new(0),
            refuse_every_third_seal,
        }
    }
}

impl Keystore for Counting {
    fn info(&self) -> KeystoreInfo {
        self.inner.info()
    }
    fn preferred_mechanism(&self) -> Mechanism {
        self.inner.preferred_mechanism()
    }
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeystoreError> {
        let seal = self.seals.fetch_add(1, Ordering::SeqCst);
        if self.refuse_every_third_seal && seal % 3 == 2 {
            return Err(KeystoreError::Crypto("refused by the test"));
        }
        self.inner.seal(aad, plaintext)
    }
    fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        self.inner.open(sealed, aad)
    }
    fn check_value(&self) -> Result<String, KeystoreError> {
        self.inner.check_value()
    }
}

fn limits() -> CacheLimits {
    CacheLimits {
        max_entries: 1000,
        max_bytes: 1 << 20,
        idle: Duration::from_secs(60),
        max_age: Duration::from_secs(600),
    }
}

fn handle(keystore: Arc<dyn Keystore>) -> KeystoreHandle {
    KeystoreHandle::new(keystore, 1, Duration::from_secs(5), 4)
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_stored_only_wrapped() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let database = TestDatabase::sqlite();
    let db = database.open().await;
    let (keystore, created) = open("master-wrapped", true).unwrap();
    assert!(created, "the first open creates the master key");
    assert_eq!(
        keystore.preferred_mechanism(),
        Mechanism::Pkcs11AesGcm,
        "SoftHSM2 offers CKM_AES_GCM"
    );
    let service = KeyService::new(
        db.clone(),
        handle(Arc::new(keystore)),
        KeyCache::new(limits()),
    );
    let mut materials = Vec::new();
    for _ in 0..20 {
        let uid = service
            .create_symmetric(&NewSymmetricKey {
                algorithm: hyok_kmip::enums::CryptographicAlgorithm::AES,
                owner: "alice",
                bits: 256,
                names: &[],
            })
            .await
            .unwrap();
        let material = service.material(&uid).await.unwrap();
        assert_eq!(material.len(), 32);
        materials.push((uid, material.to_vec()));
    }
    db.close().await;
    let file = database.url.trim_start_matches("sqlite://").to_string();
    let mut stored = std::fs::read(&file).unwrap();
    stored.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
    assert!(stored.len() > 4096, "the database holds the objects");
    for (uid, material) in &materials {
        assert!(
            stored.windows(8).any(|w| w == &uid.as_bytes()[..8]),
            "object {uid} is in the file"
        );
        assert!(
            !stored.windows(32).any(|w| w == material.as_slice()),
            "plaintext of {uid} found in the database"
        );
    }

    // A new service (cold cache) on the same database unwraps the same material.
    let db = database.open().await;
    let (keystore, created) = open("master-wrapped", false).unwrap();
    assert!(!created, "later opens find the master key by its label");
    let service = KeyService::new(db, handle(Arc::new(keystore)), KeyCache::new(limits()));
    for (uid, material) in &materials {
        assert_eq!(
            service.material(uid).await.unwrap().as_slice(),
            material.as_slice()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cold_path_unwraps_once_warm_path_never() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let database = TestDatabase::sqlite();
    let db = database.open().await;
    let counting = Arc::new(Counting::new(open("master-cache", true).unwrap().0, false));
    let creator = KeyService::new(
        db.clone(),
        handle(counting.clone()),
        KeyCache::new(limits()),
    );
    let uid = creator
        .create_symmetric(&NewSymmetricKey {
            algorithm: hyok_kmip::enums::CryptographicAlgorithm::AES,
            owner: "alice",
            bits: 128,
            names: &[],
        })
        .await
        .unwrap();

    let service = KeyService::new(db, handle(counting.clone()), KeyCache::new(limits()));
    let before = counting.opens.load(Ordering::SeqCst);
    let first = service.material(&uid).await.unwrap();
    assert_eq!(
        counting.opens.load(Ordering::SeqCst),
        before + 1,
        "cold: one unwrap"
    );
    for _ in 0..100 {
        assert_eq!(service.material(&uid).await.unwrap(), first);
    }
    assert_eq!(
        counting.opens.load(Ordering::SeqCst),
        before + 1,
        "warm: no keystore call"
    );
    service.cache().invalidate(&uid);
    service.material(&uid).await.unwrap();
    assert_eq!(
        counting.opens.load(Ordering::SeqCst),
        before + 2,
        "invalidated: unwrapped again"
    );

    // Cold, and 32 callers at once: still one unwrap, the same material for all.
    service.cache().invalidate(&uid);
    let service = Arc::new(service);
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (service, uid) = (service.clone(), uid.clone());
        callers.spawn(async move { service.material(&uid).await.unwrap() });
    }
    while let Some(material) = callers.join_next().await {
        assert_eq!(material.unwrap(), first);
    }
    assert_eq!(
        counting.opens.load(Ordering::SeqCst),
        before + 3,
        "concurrent cold callers share one unwrap"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_only_unwraps_for_its_own_object() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (keystore, _) = open("master-binding", true).unwrap();
    let keystore = handle(Arc::new(keystore));
    let secret = Zeroizing::new(b"0123456789abcdef0123456789abcdef".to_vec());
    let (wrapped, _) = keystore.wrap("object-a", 1, secret.clone()).await.unwrap();
    assert_eq!(
        keystore
            .unwrap("object-a", 1, wrapped.clone())
            .await
            .unwrap(),
        secret
    );
    assert!(
        keystore
            .unwrap("object-b", 1, wrapped.clone())
            .await
            .is_err(),
        "another object"
    );
    assert!(
        keystore
            .unwrap("object-a", 2, wrapped.clone())
            .await
            .is_err(),
        "another version"
    );
    let mut tampered = wrapped.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert!(keystore.unwrap("object-a", 1, tampered).await.is_err());

    let (other, _) = open("master-binding-other", true).unwrap();
    let error = handle(Arc::new(other))
        .unwrap("object-a", 1, wrapped)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("master-binding"),
        "a blob names its master key: {error}"
    );
}

#[test]
fn the_master_key_never_leaves_the_token() {
    let _alone = ONE_AT_A_TIME.blocking_lock();
    use cryptoki::context::Pkcs11;
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    use cryptoki::session::UserType;

    let (keystore, _) = open("master-sealed-in", true).unwrap();
    assert!(keystore.info().device.unwrap().contains("SoftHSM"));
    // The module is initialised in this process already; a second context shares it.
    let context = Pkcs11::new(softhsm::softhsm_module()).unwrap();
    let slot = context
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|slot| context.get_token_info(*slot).unwrap().label().trim() == TOKEN)
        .unwrap();
    let session = context.open_ro_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&softhsm::PIN.into()));
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"master-sealed-in".to_vec()),
        ])
        .unwrap();
    assert_eq!(found.len(), 1);
    let attributes = session
        .get_attributes(
            found[0],
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Token,
            ],
        )
        .unwrap();
    assert!(
        attributes.contains(&Attribute::Sensitive(true)),
        "{attributes:?}"
    );
    assert!(
        attributes.contains(&Attribute::Extractable(false)),
        "{attributes:?}"
    );
    assert!(
        attributes.contains(&Attribute::Token(true)),
        "{attributes:?}"
    );
    let value = session
        .get_attributes(found[0], &[AttributeType::Value])
        .unwrap_or_default();
    assert!(
        !value
            .iter()
            .any(|a| matches!(a, Attribute::Value(v) if !v.is_empty())),
        "CKA_VALUE is not readable"
    );
}

/// (A wrong PIN is tested end to end: in this process the token is already logged in.)
#[test]
fn clear_errors_for_a_missing_key_or_token() {
    let _alone = ONE_AT_A_TIME.blocking_lock();
    open("master-errors", true).unwrap();
    let missing = open("master-never-created", false).err().unwrap();
    assert!(
        missing
            .to_string()
            .contains("no AES master key labelled \"master-never-created\""),
        "{missing}"
    );
    let mut no_token = settings("master-errors", softhsm::PIN);
    no_token.token = TokenSelector::Label("no-such-token".into());
    let error = Pkcs11Keystore::open(no_token, false).err().unwrap();
    assert!(
        error
            .to_string()
            .contains("no token labelled \"no-such-token\""),
        "{error}"
    );
    assert!(
        error.to_string().contains(TOKEN),
        "it lists the tokens present: {error}"
    );
}

fn pkcs11_keystore_config(key_label: &str) -> hyok_server::config::KeystoreConfig {
    softhsm();
    hyok_server::config::KeystoreConfig {
        kind: hyok_server::config::KeystoreKind::Pkcs11,
        module: Some(softhsm::softhsm_module()),
        token_label: Some(TOKEN.into()),
        key_label: key_label.into(),
        ..Default::default()
    }
}

/// A keystore handle as the server builds it: current version from the database,
/// other versions loaded on demand, rotation through the opener.
async fn versioned_handle(db: &hyok_db::Db, key_label: &str) -> KeystoreHandle {
    std::env::set_var("HYOK_PKCS11_PIN", softhsm::PIN);
    let opener =
        hyok_server::keystore::MasterKeyOpener::new(pkcs11_keystore_config(key_label), db.clone());
    let version = opener.current_version().await.unwrap();
    let (keystore, _) = opener.open(version, true).await.unwrap();
    KeystoreHandle::new(keystore, version, Duration::from_secs(5), 8).with_opener(opener)
}

/// Creates `count` AES-256 keys; returns their ids with their material.
async fn create_keys(service: &KeyService, count: usize) -> Vec<(String, Vec<u8>)> {
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let key = NewSymmetricKey {
            algorithm: hyok_kmip::enums::CryptographicAlgorithm::AES,
            owner: "alice",
            bits: 256,
            names: &[],
        };
        let uid = service.create_symmetric(&key).await.unwrap();
        keys.push((uid.clone(), service.material(&uid).await.unwrap().to_vec()));
    }
    keys
}

fn uncached() -> KeyCache {
    KeyCache::new(CacheLimits {
        max_entries: 0,
        ..limits()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_under_concurrent_use_loses_nothing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let database = TestDatabase::sqlite();
    let db = database.open().await;
    let service = Arc::new(KeyService::new(
        db.clone(),
        versioned_handle(&db, "master-rotate").await,
        uncached(),
    ));
    let keys = create_keys(&service, 60).await;
    let keys = Arc::new(keys);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for reader in 0..3 {
        let (service, keys, stop) = (service.clone(), keys.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let (uid, material) = &keys[(reads * 7 + reader) % keys.len()];
                assert_eq!(
                    service.material(uid).await.unwrap().as_slice(),
                    material.as_slice(),
                    "{uid}"
                );
                reads += 1;
            }
            reads
        }));
    }
    let creator = {
        let (service, stop) = (service.clone(), stop.clone());
        tokio::spawn(async move {
            let mut created = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let key = NewSymmetricKey {
                    algorithm: hyok_kmip::enums::CryptographicAlgorithm::AES,
                    owner: "bob",
                    bits: 128,
                    names: &[],
                };
                let uid = service.create_symmetric(&key).await.unwrap();
                created.push((uid.clone(), service.material(&uid).await.unwrap().to_vec()));
            }
            created
        })
    };

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(service.keystore().rotate().await.unwrap(), 2);
    let report = service
        .rewrap_all()
        .await
        .unwrap()
        .expect("no other re-wrap running");
    assert!(report.rewrapped >= 60, "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for reader in readers {
        assert!(
            reader.await.unwrap() > 0,
            "readers kept reading during the rotation"
        );
    }
    let created = creator.await.unwrap();
    assert!(!created.is_empty());
    // Keys created while the first pass ran may still carry version 1: the next round
    // (the server runs one every 10 s) takes them.
    service.rewrap_all().await.unwrap();
    assert_eq!(
        db.wrap_key_version_counts()
            .await
            .unwrap()
            .iter()
            .map(|(v, _)| *v)
            .collect::<Vec<_>>(),
        [2]
    );

    // After a restart (new handle, cold cache) every key still gives the same material.
    let restarted = KeyService::new(
        db.clone(),
        versioned_handle(&db, "master-rotate").await,
        uncached(),
    );
    assert_eq!(
        restarted.keystore().current_version(),
        2,
        "the database names the current version"
    );
    for (uid, material) in keys.iter().chain(created.iter()) {
        assert_eq!(
            restarted.material(uid).await.unwrap().as_slice(),
            material.as_slice(),
            "{uid}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_rotation_resumes_and_other_nodes_follow() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let database = TestDatabase::sqlite();
    let db = database.open().await;
    let node_a = KeyService::new(
        db.clone(),
        versioned_handle(&db, "master-resume").await,
        uncached(),
    );
    let node_b = KeyService::new(
        db.clone(),
        versioned_handle(&db, "master-resume").await,
        uncached(),
    );
    let keys = create_keys(&node_a, 10).await;
    // Node A rotates and "crashes" before re-wrapping anything.
    assert_eq!(node_a.keystore().rotate().await.unwrap(), 2);
    drop(node_a);
    assert_eq!(db.wrap_key_version_counts().await.unwrap(), [(1, 10)]);

    // Node B learns the new version from the database and finishes the job.
    assert_eq!(node_b.keystore().current_version(), 1);
    node_b.keystore().refresh().await.unwrap();
    assert_eq!(node_b.keystore().current_version(), 2);
    let report = node_b.rewrap_all().await.unwrap().unwrap();
    assert_eq!(report.rewrapped, 10);
    assert_eq!(db.wrap_key_version_counts().await.unwrap(), [(2, 10)]);
    for (uid, material) in &keys {
        assert_eq!(
            node_b.material(uid).await.unwrap().as_slice(),
            material.as_slice()
        );
    }
}

/// Creates made at the same time share group commits: each key is bound to its own
/// object and recorded once with the master key version, the chain unbroken; a key the
/// HSM does not wrap fails alone, leaving neither object nor audit entry.
#[actix_web::test]
async fn concurrent_creates_each_bound_to_its_own_object_and_failing_alone() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let database = TestDatabase::sqlite();
    let db = database.open().await;
    let (keystore, _) = open("master-batches", true).unwrap();
    let failing = Arc::new(Counting::new(keystore, true));
    let keystore = handle(failing.clone());
    let audit = hyok_server::audit::AuditLog::start(db.clone(), &keystore, false)
        .await
        .unwrap();
    // (Starting the audit log wrapped its key: the count starts after that.)
    failing.seals.store(0, Ordering::SeqCst);
    let service = Arc::new(
        KeyService::new(db.clone(), keystore.clone(), KeyCache::new(limits()))
            .with_audit(audit.clone()),
    );
    let creates: Vec<_> = (0..60)
        .map(|_| {
            let service = service.clone();
            actix_web::rt::spawn(async move {
                let key = NewSymmetricKey {
                    algorithm: hyok_kmip::enums::CryptographicAlgorithm::AES,
                    owner: "alice",
                    bits: 256,
                    names: &[],
                };
                let uid = service.create_symmetric(&key).await?;
                let material = service.material(&uid).await?;
                Ok::<_, hyok_server::keys::KeyError>((uid, material.to_vec()))
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut refused = 0;
    for create in creates {
        match create.await.unwrap() {
            Ok(key) => created.push(key),
            Err(hyok_server::keys::KeyError::Keystore(KeystoreError::Crypto(
                "refused by the test",
            ))) => refused += 1,
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }
    assert_eq!(
        (created.len(), refused),
        (40, 20),
        "every third seal refused"
    );
    assert_eq!(
        db.wrap_key_version_counts().await.unwrap(),
        [(1, 40)],
        "no object for a refused key"
    );

    // Read back cold: each blob unwraps under the binding of its own object only.
    let cold = KeyService::new(db.clone(), keystore, uncached());
    for (uid, material) in &created {
        assert_eq!(
            cold.material(uid).await.unwrap().as_slice(),
            material.as_slice()
        );
    }
    let entries = db.audit_last(1000).await.unwrap();
    let creations: Vec<_> = entries.iter().filter(|e| e.operation == "create").collect();
    assert_eq!(
        creations.len(),
        40,
        "one entry per stored key, none for a refused one"
    );
    for entry in creations {
        let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
        assert_eq!(details["master_key_version"], 1, "{details}");
        assert!(
            created
                .iter()
                .any(|(uid, _)| entry.object_uid.as_deref() == Some(uid.as_str())),
            "{entry:?}"
        );
    }
    let verification = audit.verify().await.unwrap();
    assert!(verification.breaches.is_empty(), "{verification:?}");
}
