//! `/access/*` and `hyok access` against the real server: owners grant, grantees see
//! what they obtained, strangers are refused with an explanation, admins manage `*`.

use serde_json::json;

use crate::seed::Seeder;
use crate::support::{config_in, tempdir, Launch};

#[test]
fn owners_grant_grantees_obtain_strangers_are_told_why() {
    let dir = tempdir();
    let config = config_in(dir.path());
    let first = Launch::with_config(dir.path(), &config).start();
    let admin = first.admin_token();
    let mut tokens = std::collections::HashMap::new();
    for user in ["alice", "bob"] {
        assert_eq!(
            first
                .post("/admin/users", Some(&admin), json!({"name": user}))
                .0,
            201
        );
        let (_, issued) = first.post("/admin/tokens", Some(&admin), json!({"user": user}));
        tokens.insert(user, issued["token"].as_str().unwrap().to_string());
    }
    assert!(first.stop().success());
    let keys = Seeder::open(dir.path()).keys("alice", 2);
    let (alice, bob) = (tokens["alice"].as_str(), tokens["bob"].as_str());

    let hyok = Launch::with_config(dir.path(), &config).start();
    let (status, owned) = hyok.get("/access/owned", Some(alice));
    assert_eq!(status, 200, "{owned}");
    assert_eq!(owned.as_array().unwrap().len(), 2);
    assert!(hyok
        .get("/access/owned", Some(bob))
        .1
        .as_array()
        .unwrap()
        .is_empty());

    let grant = json!({"object": keys[0], "identity": "bob", "operations": ["encrypt", "decrypt"]});
    let (status, body) = hyok.post("/access/grant", Some(alice), grant.clone());
    assert_eq!(status, 200, "{body}");
    let (_, obtained) = hyok.get("/access/obtained", Some(bob));
    let obtained: Vec<_> = obtained
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["operation"].as_str().unwrap())
        .collect();
    assert_eq!(obtained, ["decrypt", "encrypt"]);

    let (status, body) = hyok.post(
        "/access/grant",
        Some(bob),
        json!({"object": keys[0], "identity": "bob", "operations": ["export"]}),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("only the owner"),
        "{body}"
    );
    assert_eq!(
        hyok.get(&format!("/access/list/{}", keys[0]), Some(bob)).0,
        403
    );
    let star = json!({"object": "*", "identity": "auditor", "operations": ["get-attributes"]});
    assert_eq!(
        hyok.post("/access/grant", Some(alice), star.clone()).0,
        403,
        "only admins grant on *"
    );
    assert_eq!(hyok.post("/access/grant", Some(&admin), star).0, 200);
    let unknown = json!({"object": "no-such-key", "identity": "bob", "operations": ["get"]});
    assert_eq!(hyok.post("/access/grant", Some(alice), unknown).0, 404);
    let (status, body) = hyok.post(
        "/access/grant",
        Some(alice),
        json!({"object": keys[0], "identity": "bob", "operations": ["fly"]}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(hyok.post("/access/grant", None, grant).0, 401);

    let (ok, _, stderr) = hyok.cli(
        alice,
        &["access", "grant", &keys[1], "carol", "get-attributes"],
    );
    assert!(ok, "{stderr}");
    let (ok, listed, _) = hyok.cli(alice, &["access", "list", &keys[0], "--json"]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&listed)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (ok, removed, stderr) = hyok.cli(
        alice,
        &[
            "access", "revoke", &keys[0], "bob", "encrypt", "decrypt", "--quiet",
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(removed.trim(), "2");
    assert!(hyok
        .get("/access/obtained", Some(bob))
        .1
        .as_array()
        .unwrap()
        .is_empty());
    let (ok, _, stderr) = hyok.cli(bob, &["access", "grant", &keys[1], "bob", "get"]);
    assert!(
        !ok && stderr.contains("403") && stderr.contains("only the owner"),
        "{stderr}"
    );
}
