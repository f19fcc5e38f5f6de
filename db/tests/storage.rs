//! The storage contract, run against SQLite and PostgreSQL alike.

use hyok_db::testing::TestDatabase;
use hyok_db::{AuditEntry, Change, Db, Error, Filter, NewObject, NewToken, Role};
use serde_json::json;

/// Runs `scenario` on a fresh SQLite database and a fresh PostgreSQL database.
macro_rules! on_both_engines {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let database = hyok_db::testing::TestDatabase::sqlite();
                super::$name(&database.open().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(database) = hyok_db::testing::TestDatabase::postgres().await {
                    let db = database.open().await;
                    super::$name(&db).await;
                    db.close().await;
                }
            }
        }
    };
}

on_both_engines!(migrations_are_idempotent);
async fn migrations_are_idempotent(db: &Db) {
    db.create_user("alice", Role::User).await.unwrap();
    db.migrate().await.expect("a second run changes nothing");
    db.migrate().await.expect("nor does a third");
    assert_eq!(
        db.count_users().await.unwrap(),
        1,
        "data survives re-running migrations"
    );
}

on_both_engines!(users);
async fn users(db: &Db) {
    assert_eq!(db.count_users().await.unwrap(), 0);
    db.create_user("bob", Role::User).await.unwrap();
    db.create_user("alice", Role::Admin).await.unwrap();
    let duplicate = db.create_user("bob", Role::Admin).await;
    assert!(
        matches!(duplicate, Err(Error::AlreadyExists(_))),
        "{duplicate:?}"
    );
    let names: Vec<_> = db
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.role))
        .collect();
    assert_eq!(
        names,
        [
            ("alice".to_string(), Role::Admin),
            ("bob".to_string(), Role::User)
        ]
    );
    assert_eq!(
        db.user("bob").await.unwrap().unwrap().role,
        Role::User,
        "duplicate changed nothing"
    );
    assert!(db.user("carol").await.unwrap().is_none());
}

on_both_engines!(tokens);
async fn tokens(db: &Db) {
    db.create_user("alice", Role::Admin).await.unwrap();
    db.create_user("bob", Role::User).await.unwrap();
    let token = NewToken {
        id: "t1",
        user_name: "alice",
        secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        label: Some("ci"),
        expires_at: Some(4_102_444_800_000),
    };
    db.insert_token(&token).await.unwrap();
    db.insert_token(&NewToken {
        id: "t2",
        user_name: "bob",
        label: None,
        expires_at: None,
        ..token.clone()
    })
    .await
    .unwrap();
    assert!(matches!(
        db.insert_token(&token).await,
        Err(Error::AlreadyExists(_))
    ));
    let unknown_user = NewToken {
        id: "t3",
        user_name: "nobody",
        ..token.clone()
    };
    assert!(
        db.insert_token(&unknown_user).await.is_err(),
        "a token needs an existing user"
    );

    let stored = db.token("t1").await.unwrap().expect("stored");
    assert_eq!(
        (stored.user_name.as_str(), stored.role()),
        ("alice", Role::Admin)
    );
    assert_eq!(stored.secret_hash, token.secret_hash);
    assert_eq!(stored.expires_at, Some(4_102_444_800_000));
    assert_eq!((stored.revoked_at, stored.last_used_at), (None, None));

    db.touch_token("t1", 1234).await.unwrap();
    db.revoke_token("t1").await.unwrap();
    let revoked = db.token("t1").await.unwrap().unwrap();
    assert_eq!(revoked.last_used_at, Some(1234));
    let first_revocation = revoked.revoked_at.expect("revoked");
    db.revoke_token("t1").await.unwrap();
    assert_eq!(
        db.token("t1").await.unwrap().unwrap().revoked_at,
        Some(first_revocation)
    );
    assert!(matches!(
        db.revoke_token("nope").await,
        Err(Error::NotFound(_))
    ));

    assert_eq!(db.tokens(None).await.unwrap().len(), 2);
    let bobs: Vec<_> = db
        .tokens(Some("bob"))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(bobs, ["t2"]);
    assert!(db.token("t3").await.unwrap().is_none());
}

on_both_engines!(objects);
async fn objects(db: &Db) {
    let attributes = json!({"CryptographicAlgorithm": "AES", "CryptographicLength": 256});
    let names = ["payroll".to_string()];
    let tags = ["finance".to_string(), "eu".to_string()];
    let wrapped = [7u8, 0, 255, 1];
    let first = NewObject {
        uid: "k1",
        object_type: "SymmetricKey",
        state: "PreActive",
        owner: "alice",
        wrapped: Some(&wrapped),
        attributes: &attributes,
        chain_id: "k1",
        chain_version: 1,
        wrap_key_version: 1,
        names: &names,
        tags: &tags,
    };
    db.insert_object(&first).await.unwrap();
    assert!(matches!(
        db.insert_object(&first).await,
        Err(Error::AlreadyExists(_))
    ));
    let second = NewObject {
        uid: "k2",
        chain_version: 2,
        names: &[],
        tags: &tags[..1],
        ..first.clone()
    };
    db.insert_object(&second).await.unwrap();
    let same_version = NewObject {
        uid: "k3",
        names: &[],
        tags: &[],
        ..second.clone()
    };
    assert!(
        db.insert_object(&same_version).await.is_err(),
        "one object per chain version"
    );
    assert!(
        db.object("k3").await.unwrap().is_none(),
        "the failed insert left nothing"
    );

    let stored = db.object("k1").await.unwrap().expect("stored");
    assert_eq!(stored.wrapped.as_deref(), Some(&wrapped[..]));
    assert_eq!(stored.attributes(), &attributes);
    assert_eq!(
        (
            stored.state.as_str(),
            stored.owner.as_str(),
            stored.row_version
        ),
        ("PreActive", "alice", 1)
    );
    assert_eq!(
        db.object_named("payroll").await.unwrap().as_deref(),
        Some("k1")
    );
    assert_eq!(db.objects_tagged("finance").await.unwrap(), ["k1", "k2"]);
    assert_eq!(db.objects_tagged("eu").await.unwrap(), ["k1"]);
    let chain: Vec<_> = db
        .chain("k1")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.uid)
        .collect();
    assert_eq!(chain, ["k1", "k2"]);
    for named_by in ["k1", "k2"] {
        let chain: Vec<_> = db
            .chain_of(named_by)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.uid)
            .collect();
        assert_eq!(chain, ["k1", "k2"], "the key's chain, named by {named_by}");
    }
    assert!(db.chain_of("k3").await.unwrap().is_empty(), "no object k3");
    // Many keys at once, over more than one statement's list.
    let mut chain_ids: Vec<String> = (0..700).map(|n| format!("none-{n}")).collect();
    chain_ids.insert(600, "k1".into());
    let chain_ids: Vec<&str> = chain_ids.iter().map(String::as_str).collect();
    let versions: Vec<_> = db
        .chains(&chain_ids)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.chain_id, o.uid))
        .collect();
    assert_eq!(
        versions,
        [("k1".into(), "k1".into()), ("k1".into(), "k2".into())],
        "every version of each key that exists, oldest first"
    );

    let active = json!({"CryptographicAlgorithm": "AES", "ActivationDate": 1});
    let version = db
        .update_object("k1", "k1", 1, "Active", &active)
        .await
        .unwrap();
    assert_eq!(version, 2);
    let stale = db
        .update_object("k1", "k1", 1, "Deactivated", &active)
        .await;
    assert!(matches!(stale, Err(Error::Conflict(_))), "{stale:?}");
    assert!(matches!(
        db.update_object("zz", "zz", 1, "Active", &active).await,
        Err(Error::NotFound(_))
    ));
    let updated = db.object("k1").await.unwrap().unwrap();
    assert_eq!(
        (updated.state.as_str(), updated.attributes()),
        ("Active", &active)
    );

    let counts = db.wrap_key_version_counts().await.unwrap();
    assert_eq!(counts, [(1, 2)]);
    assert!(db.any_wrapped_before(2).await.unwrap());
    assert!(!db.any_wrapped_before(1).await.unwrap());
    let stale_wraps: Vec<_> = db
        .objects_wrapped_before(2, "", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.uid)
        .collect();
    assert_eq!(stale_wraps, ["k1", "k2"]);
    let after_k1: Vec<_> = db
        .objects_wrapped_before(2, "k1", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.uid)
        .collect();
    assert_eq!(after_k1, ["k2"], "pages by uid");
    assert!(db.rewrap_object("k1", "k1", 2, &[9, 9], 2).await.unwrap());
    assert!(
        !db.rewrap_object("k1", "k1", 2, &[8, 8], 2).await.unwrap(),
        "stale row version: refused"
    );
    let rewrapped = db.object("k1").await.unwrap().unwrap();
    assert_eq!(
        (
            rewrapped.wrapped.as_deref(),
            rewrapped.wrap_key_version,
            rewrapped.row_version
        ),
        (Some(&[9u8, 9][..]), 2, 3)
    );
    assert_eq!(
        db.wrap_key_version_counts().await.unwrap(),
        [(1, 1), (2, 1)]
    );
    assert_eq!(db.objects_wrapped_before(2, "", 10).await.unwrap().len(), 1);
    assert!(db.any_wrapped_before(2).await.unwrap(), "k2 is left");

    let owned: Vec<_> = db
        .objects_owned_by("alice", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.uid)
        .collect();
    assert_eq!(owned, ["k1", "k2"]);
    assert!(db.objects_owned_by("bob", 10).await.unwrap().is_empty());

    assert!(db.delete_object("k1").await.unwrap());
    assert!(!db.delete_object("k1").await.unwrap());
    assert!(
        db.object_named("payroll").await.unwrap().is_none(),
        "names go with the object"
    );
    assert_eq!(db.objects_tagged("finance").await.unwrap(), ["k2"]);
    assert!(
        db.chain_of("k1").await.unwrap().is_empty(),
        "a removed first version no longer names its key"
    );
    assert_eq!(db.chain_of("k2").await.unwrap().len(), 1);
}

/// A Pre-Active symmetric key of alice's that starts its own chain.
fn pre_active_key<'a>(
    uid: &'a str,
    attributes: &'a serde_json::Value,
    names: &'a [String],
) -> NewObject<'a> {
    NewObject {
        uid,
        object_type: "SymmetricKey",
        state: "PreActive",
        owner: "alice",
        wrapped: None,
        attributes,
        chain_id: uid,
        chain_version: 1,
        wrap_key_version: 1,
        names,
        tags: &[],
    }
}

on_both_engines!(a_name_is_taken_once_until_its_object_is_destroyed);
async fn a_name_is_taken_once_until_its_object_is_destroyed(db: &Db) {
    let attributes = json!({});
    let names = ["shared".to_string()];
    let object = |uid: &'static str| pre_active_key(uid, &attributes, &names);
    // Two writers race for one name: exactly one wins, the other learns which name.
    let (a, b) = (object("r1"), object("r2"));
    let (first, second) = tokio::join!(db.insert_object(&a), db.insert_object(&b));
    let outcomes = [first, second];
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(Error::NameTaken(n)) if n.contains("shared"))),
        "{outcomes:?}"
    );
    let winner = db.object_named("shared").await.unwrap().expect("named");
    let loser = if winner == "r1" { "r2" } else { "r1" };
    assert!(
        db.object(loser).await.unwrap().is_none(),
        "nothing half-stored"
    );
    // Giving the name to another object is refused as well.
    let unnamed = NewObject {
        names: &[],
        ..object("r3")
    };
    db.insert_object(&unnamed).await.unwrap();
    let add = [Change::AddName {
        uid: "r3",
        name: "shared",
    }];
    assert!(matches!(
        db.apply(&add, &[]).await,
        Err(Error::NameTaken(_))
    ));
    // Destroyed, the winner frees the name and keeps it for the record.
    let destroy = [
        Change::UpdateObject {
            uid: &winner,
            chain_id: &winner,
            expected_row_version: 1,
            state: "Destroyed",
            attributes: "{}",
        },
        Change::RetireNames { uid: &winner },
    ];
    db.apply(&destroy, &[]).await.unwrap();
    assert_eq!(db.object_named("shared").await.unwrap(), None);
    db.apply(&add, &[]).await.unwrap();
    assert_eq!(
        db.object_named("shared").await.unwrap().as_deref(),
        Some("r3")
    );
    assert_eq!(
        hyok_db::testing::ever_named(db, "shared").await,
        [winner.as_str(), "r3"]
    );
}

on_both_engines!(locate_filters_in_sql_newest_first);
async fn locate_filters_in_sql_newest_first(db: &Db) {
    let kept = json!({"tag": "Attribute", "value": [
        {"tag": "VendorIdentification", "type": "TextString", "value": "x"},
        {"tag": "AttributeName", "type": "TextString", "value": "team"},
        {"tag": "AttributeValue", "type": "TextString", "value": "payments"}]});
    let attributes = [
        json!({"CryptographicAlgorithm": "AES", "CryptographicLength": 256, "CryptographicUsageMask": 12, "kmip": [kept], "Links": {"PublicKeyLink": "p1"}}),
        json!({"CryptographicAlgorithm": "AES", "CryptographicLength": 128, "CryptographicUsageMask": 4}),
        json!({"CryptographicAlgorithm": "RSA", "CryptographicLength": 2048, "ActivationDate": 5000}),
    ];
    let names: [Vec<String>; 3] = [vec!["one".into()], vec![], vec!["three".into()]];
    for (n, (attributes, names)) in attributes.iter().zip(&names).enumerate() {
        let uid = format!("l{n}");
        let object = NewObject {
            uid: &uid,
            object_type: if n == 2 { "PrivateKey" } else { "SymmetricKey" },
            state: if n == 1 { "Active" } else { "PreActive" },
            ..pre_active_key("", attributes, names)
        };
        db.insert_object(&NewObject {
            chain_id: &uid,
            ..object
        })
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let found = |filters: Vec<Filter>| async move {
        db.locate_page(&filters, false, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.uid)
            .collect::<Vec<_>>()
    };
    let text = |field: &str, text: &str| Filter::Text {
        field: field.into(),
        text: text.into(),
    };
    assert_eq!(found(vec![]).await, ["l2", "l1", "l0"], "newest first");
    assert_eq!(
        found(vec![text("CryptographicAlgorithm", "AES")]).await,
        ["l1", "l0"]
    );
    assert_eq!(
        found(vec![
            Filter::ObjectType("SymmetricKey".into()),
            Filter::State("Active".into())
        ])
        .await,
        ["l1"]
    );
    assert_eq!(
        found(vec![text("CryptographicLength", "256")]).await,
        ["l0"]
    );
    let range = |field: &str, from, to| Filter::NumberBetween {
        field: field.into(),
        from,
        to,
    };
    assert_eq!(
        found(vec![range("CryptographicLength", 200, 4096)]).await,
        ["l2", "l0"]
    );
    assert_eq!(
        found(vec![range("ActivationDate", 4000, 6000)]).await,
        ["l2"]
    );
    let bits = |bits| Filter::BitsSet {
        field: "CryptographicUsageMask".into(),
        bits,
    };
    assert_eq!(found(vec![bits(4)]).await, ["l1", "l0"]);
    assert_eq!(found(vec![bits(8)]).await, ["l0"]);
    assert!(
        found(vec![text("Links.PublicKeyLink", "p1")])
            .await
            .is_empty(),
        "only the fields Locate filters on are indexed"
    );
    // A kept attribute matches as JSON, whatever the spacing it comes with.
    let as_json = |json: String| Filter::Json {
        field: "kmip".into(),
        json,
    };
    assert_eq!(
        found(vec![as_json(serde_json::to_string_pretty(&kept).unwrap())]).await,
        ["l0"]
    );
    let mut other = kept.clone();
    other["value"][2]["value"] = json!("ops");
    assert!(found(vec![as_json(other.to_string())]).await.is_empty());
    let named = |name: &str| Filter::Named {
        name: name.into(),
        live_only: true,
    };
    assert_eq!(found(vec![named("three")]).await, ["l2"]);
    // Rows follow changes: a changed length, a destroyed object.
    let change = [Change::UpdateObject {
        uid: "l1",
        chain_id: "l1",
        expected_row_version: 1,
        state: "Destroyed",
        attributes: r#"{"CryptographicAlgorithm": "AES", "CryptographicLength": 192}"#,
    }];
    db.apply(&change, &[]).await.unwrap();
    assert!(found(vec![text("CryptographicLength", "128")])
        .await
        .is_empty());
    assert!(
        found(vec![text("CryptographicLength", "192")])
            .await
            .is_empty(),
        "destroyed"
    );
    let with_destroyed = db
        .locate_page(&[text("CryptographicLength", "192")], true, None, 10)
        .await
        .unwrap();
    assert_eq!(with_destroyed.len(), 1);
    // A window (offset, limit), a count, and the access rule: the owner, or a grant of
    // the operation on the object's key or on *, to one of the identities or to *.
    let window = db.locate_window(&[], true, 1, 1).await.unwrap();
    assert_eq!(
        window.iter().map(|o| o.uid.as_str()).collect::<Vec<_>>(),
        ["l1"]
    );
    assert_eq!(db.locate_count(&[], true).await.unwrap(), 3);
    assert_eq!(
        db.locate_count(&[], false).await.unwrap(),
        2,
        "l1 is destroyed"
    );
    let visible = |owners: &[&str], identities: &[&str]| Filter::VisibleTo {
        owners: owners.iter().map(|o| o.to_string()).collect(),
        identities: identities.iter().map(|i| i.to_string()).collect(),
        operation: "get-attributes".into(),
    };
    assert_eq!(
        db.locate_count(&[visible(&["alice"], &[])], true)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        db.locate_count(&[visible(&["bob"], &["bob"])], true)
            .await
            .unwrap(),
        0
    );
    let grant = |object_uid: &'static str, identity: &'static str, operation: &'static str| {
        [Change::Grant {
            object_uid,
            identity,
            operation,
            granted_by: "alice",
        }]
    };
    db.apply(&grant("l2", "bob", "get-attributes"), &[])
        .await
        .unwrap();
    db.apply(&grant("l0", "bob", "encrypt"), &[]).await.unwrap();
    let bobs = db
        .locate_window(&[visible(&["bob"], &["bob"])], true, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        bobs.iter().map(|o| o.uid.as_str()).collect::<Vec<_>>(),
        ["l2"]
    );
    db.apply(&grant("*", "*", "get-attributes"), &[])
        .await
        .unwrap();
    assert_eq!(
        db.locate_count(&[visible(&[], &["carol"])], true)
            .await
            .unwrap(),
        3
    );
    // Pages: keyset, newest first.
    let first = db.locate_page(&[], true, None, 2).await.unwrap();
    let last = first.last().unwrap();
    let rest = db
        .locate_page(&[], true, Some((last.created_at, &last.uid)), 2)
        .await
        .unwrap();
    let uids: Vec<&str> = first.iter().chain(&rest).map(|o| o.uid.as_str()).collect();
    assert_eq!(uids, ["l2", "l1", "l0"]);
}

on_both_engines!(many_objects_in_one_commit);
async fn many_objects_in_one_commit(db: &Db) {
    // A group commit of new objects: more than one INSERT statement's worth of rows, with
    // names and tags; all land, or (two already stored among them) none does.
    let attributes = json!({"CryptographicAlgorithm": "AES"});
    let uids: Vec<String> = (0..150).map(|n| format!("batch-{n:03}")).collect();
    let names: Vec<[String; 1]> = (0..150).map(|n| [format!("name-{n}")]).collect();
    let tags = ["bulk".to_string(), "eu".to_string()];
    let objects: Vec<NewObject<'_>> = uids
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(n, (uid, names))| NewObject {
            uid,
            object_type: "SymmetricKey",
            state: "PreActive",
            owner: "alice",
            wrapped: Some(&[1, 2, 3]),
            attributes: &attributes,
            chain_id: uid,
            chain_version: 1,
            wrap_key_version: 1,
            names,
            tags: if n % 2 == 0 { &tags } else { &[] },
        })
        .collect();
    // Other changes and audit entries ride along (numbered parameters after the rows').
    let changes = [
        Change::Grant {
            object_uid: "batch-120",
            identity: "bob",
            operation: "encrypt",
            granted_by: "alice",
        },
        Change::PutSetting {
            name: "chain.head",
            value: "2:mac-2",
        },
    ];
    let audit: Vec<AuditEntry> = (1..=2)
        .map(|seq| batch_entry(seq, &uids[seq as usize]))
        .collect();
    db.insert_objects_audited(&objects[..7], &[], &[])
        .await
        .unwrap();
    let duplicate = db
        .insert_objects_audited(&objects[5..], &changes, &audit)
        .await;
    assert!(
        matches!(&duplicate, Err(Error::AlreadyExists(what)) if what.contains("batch-005")),
        "{duplicate:?}"
    );
    assert!(
        db.object("batch-100").await.unwrap().is_none(),
        "the failed commit left nothing"
    );
    assert!(!db
        .is_granted("batch-120", &["bob"], "encrypt")
        .await
        .unwrap());
    assert_eq!(db.setting("chain.head").await.unwrap(), None);
    assert!(db.audit_last(10).await.unwrap().is_empty());
    db.insert_objects_audited(&objects[7..], &changes, &audit)
        .await
        .unwrap();
    assert!(db
        .is_granted("batch-120", &["bob"], "encrypt")
        .await
        .unwrap());
    assert_eq!(
        db.setting("chain.head").await.unwrap().as_deref(),
        Some("2:mac-2")
    );
    let logged = db.audit_last(10).await.unwrap();
    assert_eq!(
        logged
            .iter()
            .map(|e| (e.seq, e.object_uid.as_deref()))
            .collect::<Vec<_>>(),
        [(1, Some("batch-001")), (2, Some("batch-002"))]
    );
    assert_eq!(logged[1].details, r#"{"n":2}"#);
    for n in [0, 99, 100, 149] {
        let uid = &uids[n];
        let stored = db.object(uid).await.unwrap().expect("stored");
        assert_eq!(stored.attributes(), &attributes);
        assert_eq!(db.names_of(uid).await.unwrap(), [format!("name-{n}")]);
    }
    assert_eq!(db.objects_tagged("bulk").await.unwrap().len(), 75);
    assert_eq!(
        db.object_named("name-149").await.unwrap().as_deref(),
        Some("batch-149")
    );
}

fn batch_entry(seq: i64, uid: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        node: "n".into(),
        seq,
        at: 1000 + seq,
        caller: "alice".into(),
        operation: "create".into(),
        object_uid: Some(uid.into()),
        result: "ok".into(),
        request_id: None,
        details: format!(r#"{{"n":{seq}}}"#),
        mac: format!("mac-{seq}"),
    }
}

on_both_engines!(a_commit_of_thousands_of_objects);
async fn a_commit_of_thousands_of_objects(db: &Db) {
    // 3 000 objects: 30 INSERT statements (33 000 parameters), on SQLite in one text.
    let attributes = json!({});
    let uids: Vec<String> = (0..3000).map(|n| format!("big-{n:04}")).collect();
    let objects: Vec<NewObject<'_>> = uids
        .iter()
        .map(|uid| NewObject {
            uid,
            object_type: "SecretData",
            state: "Active",
            owner: "alice",
            wrapped: None,
            attributes: &attributes,
            chain_id: uid,
            chain_version: 1,
            wrap_key_version: 1,
            names: &[],
            tags: &[],
        })
        .collect();
    let audit = [batch_entry(1, "big-2999")];
    let head = [Change::PutSetting {
        name: "chain.head",
        value: "1:mac-1",
    }];
    db.insert_objects_audited(&objects, &head, &audit)
        .await
        .unwrap();
    assert!(db.object("big-2999").await.unwrap().is_some());
    assert_eq!(
        db.setting("chain.head").await.unwrap().as_deref(),
        Some("1:mac-1")
    );
    assert_eq!(db.audit_last(5).await.unwrap().len(), 1);
    let again = db.insert_objects_audited(&objects[2990..], &[], &[]).await;
    assert!(matches!(again, Err(Error::AlreadyExists(_))), "{again:?}");
}

on_both_engines!(grants);
async fn grants(db: &Db) {
    db.grant("k1", "bob", "encrypt", "alice").await.unwrap();
    db.grant("k1", "bob", "encrypt", "alice")
        .await
        .expect("granting twice is harmless");
    db.grant("*", "auditor", "get-attributes", "admin")
        .await
        .unwrap();
    db.grant("k2", "*", "decrypt", "alice").await.unwrap();

    assert!(db.is_granted("k1", &["bob"], "encrypt").await.unwrap());
    assert!(!db.is_granted("k1", &["bob"], "decrypt").await.unwrap());
    assert!(!db.is_granted("k2", &["bob"], "encrypt").await.unwrap());
    assert!(
        db.is_granted("k9", &["carol", "auditor"], "get-attributes")
            .await
            .unwrap(),
        "object *"
    );
    assert!(
        db.is_granted("k2", &["anyone"], "decrypt").await.unwrap(),
        "identity *"
    );
    assert!(!db.is_granted("k1", &[], "decrypt").await.unwrap());

    let to_auditor: Vec<_> = db
        .grants_to(&["auditor"])
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.object_uid, g.operation))
        .collect();
    assert_eq!(
        to_auditor,
        [
            ("*".to_string(), "get-attributes".to_string()),
            ("k2".to_string(), "decrypt".to_string())
        ],
        "own grants, then grants to *"
    );
    let mut keys: Vec<String> = (0..700).map(|n| format!("none-{n}")).collect();
    keys.extend(["k1".into(), "k2".into()]);
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let on_keys: Vec<_> = db
        .grants_on_any(&keys)
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.object_uid, g.identity, g.operation))
        .collect();
    let expected = [
        ("*", "auditor", "get-attributes"),
        ("k1", "bob", "encrypt"),
        ("k2", "*", "decrypt"),
    ];
    assert_eq!(
        on_keys,
        expected.map(|(o, i, p)| (o.to_string(), i.to_string(), p.to_string())),
        "the keys' grants and the `*` ones, once each over two statements"
    );
    let on_k1 = db.grants_on("k1").await.unwrap();
    assert_eq!(on_k1.len(), 1);
    assert_eq!(
        (on_k1[0].identity.as_str(), on_k1[0].granted_by.as_str()),
        ("bob", "alice")
    );
    assert!(db.revoke_grant("k1", "bob", "encrypt").await.unwrap());
    assert!(!db.revoke_grant("k1", "bob", "encrypt").await.unwrap());
    assert!(!db.is_granted("k1", &["bob"], "encrypt").await.unwrap());
}

on_both_engines!(audit_entries);
async fn audit_entries(db: &Db) {
    let entry = |node: &str, seq: i64, operation: &str| AuditEntry {
        id: 0,
        node: node.into(),
        seq,
        at: 1000 + seq,
        caller: "alice".into(),
        operation: operation.into(),
        object_uid: Some("k1".into()),
        result: "ok".into(),
        request_id: Some("r1".into()),
        details: r#"{"reason":"test"}"#.into(),
        mac: format!("mac-{seq}"),
    };
    db.append_audit(&[entry("a", 1, "create"), entry("a", 2, "activate")])
        .await
        .unwrap();
    db.append_audit(&[entry("b", 1, "create"), entry("a", 3, "destroy")])
        .await
        .unwrap();
    let duplicate = db
        .append_audit(&[entry("a", 4, "x"), entry("a", 3, "again")])
        .await;
    assert!(duplicate.is_err(), "a chain position is written once");
    assert_eq!(
        db.audit_after(0, 100).await.unwrap().len(),
        4,
        "the failed batch left nothing"
    );

    let all = db.audit_after(0, 10).await.unwrap();
    let operations: Vec<_> = all.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(operations, ["create", "activate", "create", "destroy"]);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        (all[0].details.as_str(), all[0].mac.as_str()),
        (r#"{"reason":"test"}"#, "mac-1")
    );
    assert_eq!(db.audit_after(all[1].id, 10).await.unwrap().len(), 2);
    let chain_a: Vec<_> = db
        .audit_chain("a", 1, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(chain_a, [2, 3]);
    assert_eq!(db.audit_nodes().await.unwrap(), ["a", "b"]);
    assert_eq!(db.audit_since(1003, 0, 10).await.unwrap().len(), 1);

    // A group commit spans several INSERT statements: all land, in order, or none does.
    let batch: Vec<_> = (1..=250).map(|seq| entry("c", seq, "encrypt")).collect();
    let mut failing = batch.clone();
    failing[240] = entry("c", 7, "duplicate of 7");
    assert!(db.append_audit(&failing).await.is_err());
    assert!(db.audit_chain("c", 0, 300).await.unwrap().is_empty());
    db.append_audit(&batch).await.unwrap();
    let chain_c: Vec<_> = db
        .audit_chain("c", 0, 300)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.mac))
        .collect();
    let expected: Vec<_> = (1..=250).map(|seq| (seq, format!("mac-{seq}"))).collect();
    assert_eq!(chain_c, expected);
    let after = db.audit_after(all[3].id, 300).await.unwrap();
    assert!(
        after.windows(2).all(|w| w[0].seq + 1 == w[1].seq),
        "ids follow the batch order"
    );
}

on_both_engines!(changes_and_their_audit_commit_together);
async fn changes_and_their_audit_commit_together(db: &Db) {
    let entry = |seq: i64| AuditEntry {
        id: 0,
        node: "n".into(),
        seq,
        at: 1,
        caller: "root".into(),
        operation: "create-user".into(),
        object_uid: None,
        result: "ok".into(),
        request_id: None,
        details: "{}".into(),
        mac: String::new(),
    };
    let changes = [
        Change::CreateUser {
            name: "x",
            role: Role::User,
        },
        Change::CreateUser {
            name: "x",
            role: Role::Admin,
        },
    ];
    let failed = db.apply(&changes, &[entry(1)]).await;
    assert!(matches!(failed, Err(Error::AlreadyExists(_))), "{failed:?}");
    assert!(db.user("x").await.unwrap().is_none(), "nothing applied");
    assert!(
        db.audit_after(0, 10).await.unwrap().is_empty(),
        "nor audited"
    );
    db.create_user_audited("x", Role::User, &[entry(1)])
        .await
        .unwrap();
    assert_eq!(db.audit_after(0, 10).await.unwrap().len(), 1);
    let affected = db
        .apply(
            &[Change::Grant {
                object_uid: "k",
                identity: "x",
                operation: "get",
                granted_by: "root",
            }],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(affected, [1]);
}

on_both_engines!(settings);
async fn settings(db: &Db) {
    assert_eq!(db.setting("master_kcv").await.unwrap(), None);
    assert_eq!(
        db.setting_or_insert("master_kcv", "aa").await.unwrap(),
        "aa"
    );
    assert_eq!(
        db.setting_or_insert("master_kcv", "bb").await.unwrap(),
        "aa",
        "first value wins"
    );
    assert_eq!(
        db.setting("master_kcv").await.unwrap().as_deref(),
        Some("aa")
    );
}

#[tokio::test]
async fn sqlite_commits_are_durable() {
    let database = TestDatabase::sqlite();
    let description = database.open().await.describe().await.unwrap();
    assert_eq!(
        description,
        "sqlite (journal_mode=wal, synchronous=FULL, page cache 2000 KiB per connection)"
    );
}

#[tokio::test]
async fn data_survives_reopening() {
    let database = TestDatabase::sqlite();
    let db = database.open().await;
    db.create_user("alice", Role::Admin).await.unwrap();
    db.close().await;
    let reopened = database.open().await;
    assert_eq!(
        reopened.user("alice").await.unwrap().map(|u| u.role),
        Some(Role::Admin)
    );
}

on_both_engines!(node_registry);
async fn node_registry(db: &Db) {
    let before = hyok_db::now_millis();
    db.heartbeat("a").await.unwrap();
    db.heartbeat("b").await.unwrap();
    db.heartbeat("a").await.unwrap();
    assert_eq!(db.live_nodes(before).await.unwrap(), 2);
    assert_eq!(
        db.live_nodes(hyok_db::now_millis() + 1000).await.unwrap(),
        0
    );
}

/// A recording listener: each change told, as text.
fn recorder(db: &Db) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = told.clone();
    db.on_change(std::sync::Arc::new(move |change| {
        sink.lock().unwrap().push(format!("{change:?}"));
    }));
    told
}

/// Takes what was told so far.
fn taken(told: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *told.lock().unwrap())
}

/// Waits (at most 5 s) until something was told, then a little longer; all of it.
async fn awaited(told: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while told.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    taken(told)
}

/// The change feed tells this handle's own writes at once, key by key (a new key alone
/// nothing but its names), and writes made through another handle (another node or
/// process) once followed, without telling this handle's own writes twice; a change
/// the feed cannot account for is told as everything.
async fn change_feed(database: &TestDatabase) {
    let node = database.open().await;
    let other = database.open().await;
    let told = recorder(&node);
    let attributes = json!({});
    let names = ["payroll".to_string()];
    let key = |uid: &'static str, chain_id: &'static str, chain_version, names| NewObject {
        chain_id,
        chain_version,
        ..pre_active_key(uid, &attributes, names)
    };
    let object = |chain: &str, uid: &str| format!("Object {{ chain: {chain:?}, uid: {uid:?} }}");
    let grant = |on: &str| format!("Grant {{ on: {on:?} }}");

    node.insert_object(&key("k1", "k1", 1, &[])).await.unwrap();
    assert_eq!(
        taken(&told),
        Vec::<String>::new(),
        "a new key changes nothing cached"
    );
    node.insert_object(&key("k3", "k3", 1, &names))
        .await
        .unwrap();
    assert_eq!(taken(&told), [r#"Name("payroll")"#], "but its names");
    node.insert_object(&key("k2", "k1", 2, &[])).await.unwrap();
    assert_eq!(
        taken(&told),
        [object("k1", "k2")],
        "a new version changes its chain"
    );
    node.grant("k1", "bob", "encrypt", "alice").await.unwrap();
    node.revoke_grant("k1", "bob", "encrypt").await.unwrap();
    assert_eq!(taken(&told), [grant("k1"), grant("k1")]);
    node.update_object("k1", "k1", 1, "Active", &json!({}))
        .await
        .unwrap();
    node.rewrap_object("k1", "k1", 2, b"w", 2).await.unwrap();
    assert_eq!(taken(&told), [object("k1", "k1"), object("k1", "k1")]);
    node.put_setting("anything", "1").await.unwrap();
    assert_eq!(
        taken(&told),
        Vec::<String>::new(),
        "settings are not cached records"
    );
    let grant_then_user = |user| {
        [
            Change::Grant {
                object_uid: "k1",
                identity: "dave",
                operation: "encrypt",
                granted_by: "alice",
            },
            Change::CreateUser {
                name: user,
                role: Role::Admin,
            },
        ]
    };
    node.apply(&grant_then_user("erin"), &[]).await.unwrap();
    taken(&told);
    let failed = node.apply(&grant_then_user("erin"), &[]).await;
    assert!(failed.is_err(), "erin exists: the transaction fails");
    assert_eq!(
        taken(&told),
        [grant("k1")],
        "a failed transaction is told too (a commit whose answer was lost may have landed)"
    );

    let follower = {
        let node = node.clone();
        tokio::task::spawn_local(async move {
            node.follow_other_writers(std::time::Duration::from_millis(20))
                .await
        })
    };
    // The follower has started (it tells everything once it listens) before anyone writes.
    assert_eq!(
        awaited(&told).await.last().map(String::as_str),
        Some("Everything")
    );
    other
        .grant("k1", "carol", "decrypt", "alice")
        .await
        .unwrap();
    assert_eq!(
        awaited(&told).await,
        [grant("k1")],
        "another writer's grant"
    );
    let version = other.object("k1").await.unwrap().unwrap().row_version;
    other
        .update_object(
            "k1",
            "k1",
            version,
            "Active",
            &json!({"x-hyok-blocked": true}),
        )
        .await
        .unwrap();
    assert_eq!(
        awaited(&told).await,
        [object("k1", "k1")],
        "another writer's block"
    );
    assert!(other.delete_object("k2").await.unwrap());
    assert_eq!(
        awaited(&told).await,
        [object("k1", "k2")],
        "another writer's delete"
    );
    node.grant("k3", "bob", "encrypt", "alice").await.unwrap();
    assert_eq!(
        awaited(&told).await,
        [grant("k3")],
        "this handle's own write, told once: not again when the follower reads it back"
    );

    // A writer that is not hyok (no writer tag, no feed triggers).
    let foreign = "INSERT INTO grants (object_uid, identity, operation, granted_by, created_at) \
                   VALUES ('k3', 'mallory', 'decrypt', 'someone', 0)";
    match node.engine() {
        hyok_db::Engine::Sqlite => {
            use sqlx::Connection;
            let mut raw = sqlx::SqliteConnection::connect(&database.url)
                .await
                .unwrap();
            sqlx::query(foreign).execute(&mut raw).await.unwrap();
            assert_eq!(
                awaited(&told).await,
                ["Everything"],
                "a change the feed lacks"
            );
        }
        hyok_db::Engine::Postgres => {
            use sqlx::Connection;
            let mut raw = sqlx::PgConnection::connect(&database.url).await.unwrap();
            sqlx::query(foreign).execute(&mut raw).await.unwrap();
            assert_eq!(
                awaited(&told).await,
                [grant("k3")],
                "told by key, as another node's"
            );
        }
    }
    follower.abort();
    other.close().await;
    node.close().await;
}

mod change_feed {
    // The follower runs as a local task, as the server runs it.
    #[tokio::test]
    async fn sqlite() {
        let database = hyok_db::testing::TestDatabase::sqlite();
        tokio::task::LocalSet::new()
            .run_until(super::change_feed(&database))
            .await;
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(database) = hyok_db::testing::TestDatabase::postgres().await {
            tokio::task::LocalSet::new()
                .run_until(super::change_feed(&database))
                .await;
        }
    }
}
