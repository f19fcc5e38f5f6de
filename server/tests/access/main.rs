//! The permission matrix, decided by the access module: for every operation, the owner,
//! a grantee with exactly that right, a grantee with another right, a stranger, an admin
//! without grants, and `*` grants (on the object and on every object).

use std::sync::Arc;
use std::time::Duration;

use hyok_db::testing::TestDatabase;
use hyok_db::{Db, NewObject, Role};
use hyok_server::access::{
    Access, AccessError, Decision, GrantChange, GrantError, Identities, Operation,
};
use hyok_server::auth::{Caller, Credential};
use hyok_server::keys::{CacheLimits, KeyCache, KeyService, NewSymmetricKey};
use hyok_server::keystore::{KeystoreHandle, SoftwareKeystore};

fn caller(user: &str, role: Role) -> Caller {
    Caller {
        user: user.into(),
        role,
        credential: Credential::ClientCertificate,
    }
}

struct World {
    db: Db,
    access: Access,
    keys: KeyService,
    _dir: tempfile::TempDir,
    _database: TestDatabase,
}

async fn world(creators: Option<Vec<String>>) -> World {
    let database = TestDatabase::sqlite();
    let db = database.open().await;
    let dir = tempfile::tempdir().unwrap();
    let (keystore, _) =
        SoftwareKeystore::open_or_create(&dir.path().join("master.key"), None, None).unwrap();
    let handle = KeystoreHandle::new(Arc::new(keystore), 1, Duration::from_secs(5), 4);
    let limits = CacheLimits {
        max_entries: 100,
        max_bytes: 1 << 16,
        idle: Duration::from_secs(60),
        max_age: Duration::from_secs(60),
    };
    let keys = KeyService::new(db.clone(), handle, KeyCache::new(limits));
    World {
        access: Access::new(db.clone(), creators),
        db,
        keys,
        _dir: dir,
        _database: database,
    }
}

async fn create(world: &World, owner: &str) -> String {
    world
        .keys
        .create_symmetric(&NewSymmetricKey {
            algorithm: hyok_kmip::enums::CryptographicAlgorithm::AES,
            owner,
            bits: 256,
            names: &[],
        })
        .await
        .unwrap()
}

/// The access check's decision, and that the same rule over grants read in bulk (as the
/// XKS keys in use are decided again in the background) agrees with it.
async fn allowed(world: &World, user: &str, uid: &str, operation: Operation) -> bool {
    let identities = Identities::of_caller(&caller(user, Role::User));
    let decided = match world
        .access
        .decide(&identities, uid, operation)
        .await
        .unwrap()
    {
        Decision::Allowed { .. } => true,
        Decision::Denied { reason } => {
            assert!(
                reason.contains(operation.as_str())
                    && reason.contains(uid)
                    && reason.contains(user),
                "{reason}"
            );
            false
        }
    };
    let object = world.db.object(uid).await.unwrap().unwrap();
    let grants = world.db.grants_on_any(&[&object.chain_id]).await.unwrap();
    assert_eq!(
        Access::allows_by(
            &grants.iter().collect::<Vec<_>>(),
            &identities,
            &object,
            operation
        ),
        decided,
        "{user} {operation} {uid}: the rule over grants read in bulk agrees"
    );
    decided
}

fn change(object: &str, identity: &str, operations: &[Operation]) -> GrantChange {
    GrantChange {
        object: object.into(),
        identity: identity.into(),
        operations: operations.to_vec(),
    }
}

#[tokio::test]
async fn the_permission_matrix() {
    let world = world(None).await;
    let alice = caller("alice", Role::User);
    let admin = caller("root", Role::Admin);
    let key = create(&world, "alice").await;
    let other_key = create(&world, "carol").await;
    for (index, operation) in Operation::ALL.into_iter().enumerate() {
        let another = Operation::ALL[(index + 1) % Operation::ALL.len()];
        let grantee = format!("grantee-{operation}");
        let other_grantee = format!("other-{operation}");
        world
            .access
            .grant(&alice, &change(&key, &grantee, &[operation]), None)
            .await
            .unwrap();
        world
            .access
            .grant(&alice, &change(&key, &other_grantee, &[another]), None)
            .await
            .unwrap();

        assert!(
            allowed(&world, "alice", &key, operation).await,
            "the owner may {operation}"
        );
        assert!(
            allowed(&world, &grantee, &key, operation).await,
            "a grantee of {operation}"
        );
        assert!(
            !allowed(&world, &grantee, &other_key, operation).await,
            "only on the granted key"
        );
        assert!(
            !allowed(&world, &other_grantee, &key, operation).await,
            "a grant of {another} is not {operation}"
        );
        assert!(
            !allowed(&world, "stranger", &key, operation).await,
            "a stranger"
        );
        assert!(
            !allowed(&world, "root", &key, operation).await,
            "an admin has no implicit right"
        );
    }

    // `*` as identity: everyone, for that operation on that key only.
    world
        .access
        .grant(&alice, &change(&key, "*", &[Operation::Encrypt]), None)
        .await
        .unwrap();
    assert!(allowed(&world, "anyone", &key, Operation::Encrypt).await);
    assert!(!allowed(&world, "anyone", &key, Operation::Decrypt).await);
    assert!(!allowed(&world, "anyone", &other_key, Operation::Encrypt).await);
    // `*` as object: granted by an admin, on every object.
    world
        .access
        .grant(
            &admin,
            &change("*", "auditor", &[Operation::GetAttributes]),
            None,
        )
        .await
        .unwrap();
    assert!(allowed(&world, "auditor", &key, Operation::GetAttributes).await);
    assert!(allowed(&world, "auditor", &other_key, Operation::GetAttributes).await);
    assert!(!allowed(&world, "auditor", &other_key, Operation::Get).await);

    // Revocation takes the right away.
    let revoked = world
        .access
        .revoke(
            &alice,
            &change(&key, "grantee-encrypt", &[Operation::Encrypt]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    world
        .access
        .revoke(&alice, &change(&key, "*", &[Operation::Encrypt]), None)
        .await
        .unwrap();
    assert!(!allowed(&world, "grantee-encrypt", &key, Operation::Encrypt).await);
}

#[tokio::test]
async fn a_grant_covers_every_version_of_a_key() {
    let world = world(None).await;
    let alice = caller("alice", Role::User);
    let first = create(&world, "alice").await;
    let attributes = serde_json::json!({});
    world
        .db
        .insert_object(&NewObject {
            uid: "second-version",
            object_type: "SymmetricKey",
            state: "Active",
            owner: "alice",
            wrapped: None,
            attributes: &attributes,
            chain_id: &first,
            chain_version: 2,
            wrap_key_version: 1,
            names: &[],
            tags: &[],
        })
        .await
        .unwrap();
    // Granting through the newer version stores the grant on the key (its chain).
    let stored_on = world
        .access
        .grant(
            &alice,
            &change("second-version", "bob", &[Operation::Decrypt]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(stored_on, first);
    assert!(allowed(&world, "bob", &first, Operation::Decrypt).await);
    assert!(allowed(&world, "bob", "second-version", Operation::Decrypt).await);
}

#[tokio::test]
async fn only_owners_and_admins_manage_grants() {
    let world = world(None).await;
    let (alice, bob, admin) = (
        caller("alice", Role::User),
        caller("bob", Role::User),
        caller("root", Role::Admin),
    );
    let key = create(&world, "alice").await;
    let by_bob = world
        .access
        .grant(&bob, &change(&key, "bob", &[Operation::Get]), None)
        .await
        .unwrap_err();
    assert!(matches!(by_bob, GrantError::Forbidden(_)), "{by_bob}");
    assert!(by_bob.to_string().contains("bob"), "{by_bob}");
    world
        .access
        .grant(&admin, &change(&key, "bob", &[Operation::Get]), None)
        .await
        .expect("an admin may");
    assert!(matches!(
        world
            .access
            .grant(&alice, &change("*", "bob", &[Operation::Get]), None)
            .await,
        Err(GrantError::Forbidden(_))
    ));
    assert!(matches!(
        world
            .access
            .grant(
                &alice,
                &change("no-such-key", "bob", &[Operation::Get]),
                None
            )
            .await,
        Err(GrantError::NotFound(_))
    ));
    assert!(matches!(
        world
            .access
            .grant(&alice, &change(&key, "", &[Operation::Get]), None)
            .await,
        Err(GrantError::Invalid(_))
    ));
    assert!(matches!(
        world
            .access
            .grant(&alice, &change(&key, "bob", &[]), None)
            .await,
        Err(GrantError::Invalid(_))
    ));
    assert!(matches!(
        world.access.grants_on(&bob, &key).await,
        Err(GrantError::Forbidden(_))
    ));
    assert_eq!(world.access.grants_on(&alice, &key).await.unwrap().len(), 1);
    assert_eq!(world.access.owned(&alice).await.unwrap().len(), 1);
    assert!(world.access.owned(&bob).await.unwrap().is_empty());
    let obtained = world.access.obtained(&bob).await.unwrap();
    assert_eq!(
        (
            obtained.len(),
            obtained[0].operation.as_str(),
            obtained[0].granted_by.as_str()
        ),
        (1, "get", "root")
    );
}

#[tokio::test]
async fn denials_explain_themselves_and_unknown_objects_are_not_found() {
    let world = world(None).await;
    let key = create(&world, "alice").await;
    let identities = Identities::of_xks_request(
        "aws",
        "arn:aws:iam::111122223333:role/app",
        Some("dynamodb"),
    );
    let denied = world
        .access
        .require(&identities, &key, Operation::Encrypt)
        .await
        .unwrap_err();
    let message = denied.to_string();
    for part in [
        "encrypt",
        key.as_str(),
        "xks:aws",
        "aws-principal:arn:aws:iam::111122223333:role/app",
        "aws-service:dynamodb.amazonaws.com",
    ] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }
    // A grant to the bare name is a user's, not the service's.
    world
        .db
        .grant(&key, "dynamodb.amazonaws.com", "encrypt", "alice")
        .await
        .unwrap();
    assert!(world
        .access
        .require(&identities, &key, Operation::Encrypt)
        .await
        .is_err());
    world
        .db
        .grant(
            &key,
            "aws-service:dynamodb.amazonaws.com",
            "encrypt",
            "alice",
        )
        .await
        .unwrap();
    world
        .access
        .require(&identities, &key, Operation::Encrypt)
        .await
        .expect("any identity of the request may hold the grant");
    assert!(matches!(
        world
            .access
            .require(&identities, "nope", Operation::Encrypt)
            .await,
        Err(AccessError::NotFound(_))
    ));
}

#[tokio::test]
async fn creators_decide_who_may_create() {
    let open = world(None).await;
    assert!(open
        .access
        .may_create(&caller("anyone", Role::User))
        .is_ok());
    let restricted = world(Some(vec!["ci".into()])).await;
    assert!(restricted
        .access
        .may_create(&caller("ci", Role::User))
        .is_ok());
    assert!(
        restricted
            .access
            .may_create(&caller("root", Role::Admin))
            .is_ok(),
        "admins always may"
    );
    let denied = restricted
        .access
        .may_create(&caller("bob", Role::User))
        .unwrap_err();
    assert!(denied.to_string().contains("[auth] creators"), "{denied}");
}
