//! `hyok key …` and `hyok encrypt|decrypt`: the CLI as a KMIP client of the real server.

use serde_json::Value;

use crate::support::{config_in, tempdir, Launch};

#[test]
fn the_key_commands_manage_and_use_keys_over_kmip() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let run = |args: &[&str]| {
        let (ok, stdout, stderr) = hyok.cli(&admin, args);
        assert!(ok, "hyok {args:?}: {stderr}");
        stdout
    };
    let json = |args: &[&str]| -> Value {
        let mut with = args.to_vec();
        with.push("--json");
        serde_json::from_str(run(&with).trim()).unwrap()
    };
    let created = json(&["key", "create", "--name", "cli-key", "--activate"]);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["state"], "Active");
    let quiet = run(&["key", "create", "--bits", "128", "--quiet"]);
    assert_eq!(quiet.trim().len(), 36, "--quiet prints the id: {quiet}");

    let listing = json(&["key", "list", "--name", "cli-key"]);
    assert_eq!(listing.as_array().unwrap().len(), 1, "{listing}");
    assert_eq!(listing[0]["State"], "Active");
    let human = run(&["key", "list"]);
    assert!(
        human.contains(&id) && human.contains("PreActive"),
        "{human}"
    );
    let attributes = run(&["key", "attributes", &id]);
    assert!(
        attributes.contains("CryptographicLength: 256"),
        "{attributes}"
    );
    assert!(attributes.contains("NameValue=cli-key"), "{attributes}");

    let encrypted = json(&[
        "encrypt",
        "--key",
        &id,
        "--data",
        "68656c6c6f",
        "--aad",
        "01",
    ]);
    let (data, iv, tag) = (
        encrypted["data"].as_str().unwrap(),
        encrypted["iv"].as_str().unwrap(),
        encrypted["tag"].as_str().unwrap(),
    );
    let plaintext = run(&[
        "decrypt", "--key", &id, "--data", data, "--iv", iv, "--tag", tag, "--aad", "01",
    ]);
    assert_eq!(plaintext, "hello");
    let cbc = json(&[
        "encrypt",
        "--key",
        &id,
        "--mode",
        "cbc",
        "--data",
        "68656c6c6f",
    ]);
    let back = run(&[
        "decrypt",
        "--key",
        &id,
        "--mode",
        "cbc",
        "--data",
        cbc["data"].as_str().unwrap(),
        "--iv",
        cbc["iv"].as_str().unwrap(),
    ]);
    assert_eq!(back, "hello");

    // Block refuses every use until unblocked; it shows as an attribute.
    run(&["key", "block", &id]);
    let (ok, _, stderr) = hyok.cli(&admin, &["encrypt", "--key", &id, "--data", "00"]);
    assert!(!ok && stderr.contains("blocked"), "{stderr}");
    assert!(run(&["key", "attributes", &id]).contains("x-hyok-blocked: true"));
    run(&["key", "unblock", &id]);
    run(&["encrypt", "--key", &id, "--data", "00"]);

    let rekeyed = json(&["key", "rekey", &id]);
    let new_id = rekeyed["new_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert!(run(&["key", "attributes", &new_id]).contains(&format!("LinkedObjectIdentifier={id}")));
    assert_eq!(run(&["key", "get", &new_id, "--quiet"]).trim().len(), 64);

    run(&["key", "revoke", &id]);
    let (ok, _, stderr) = hyok.cli(&admin, &["key", "destroy", &new_id]);
    assert!(!ok && stderr.contains("WrongKeyLifecycleState"), "{stderr}");
    run(&["key", "destroy", &id]);
    let (ok, _, stderr) = hyok.cli(&admin, &["key", "get", &id]);
    assert!(!ok && stderr.contains("ObjectDestroyed"), "{stderr}");
}
