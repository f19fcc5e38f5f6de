//! The master key across restarts: sealed with a passphrase, refused with the wrong
//! one, never overwritten, never silently replaced.

use crate::support::{config_in, data_file, tempdir, Launch};

const PASSPHRASE: &str = "correct horse battery staple";

#[test]
fn a_wrong_passphrase_is_refused_and_the_file_left_untouched() {
    let dir = tempdir();
    let config = config_in(dir.path());
    let first = Launch::with_config(dir.path(), &config)
        .env("HYOK_MASTER_PASSPHRASE", PASSPHRASE)
        .start();
    assert!(!first.stderr().contains("IS NOT SEALED"));
    let token = first.admin_token();
    assert!(first.stop().success());
    let key_file = data_file(dir.path(), "master.key");
    let sealed = std::fs::read(&key_file).unwrap();
    let text = String::from_utf8(sealed.clone()).unwrap();
    assert!(
        text.contains("\"protection\": \"sealed\"") && text.contains("argon2id"),
        "{text}"
    );

    let wrong = Launch::with_config(dir.path(), &config)
        .env("HYOK_MASTER_PASSPHRASE", "incorrect horse battery");
    let failed = wrong
        .try_start()
        .err()
        .expect("a wrong passphrase must not start");
    assert!(!failed.status.success());
    assert!(
        failed.stderr.contains("wrong master passphrase"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        sealed,
        "the file is untouched"
    );

    Launch::with_config(dir.path(), &config).refused("is sealed: set HYOK_MASTER_PASSPHRASE");
    assert_eq!(std::fs::read(&key_file).unwrap(), sealed);

    let passphrase_file = dir.path().join("passphrase");
    std::fs::write(&passphrase_file, format!("{PASSPHRASE}\n")).unwrap();
    let again = Launch::with_config(dir.path(), &config)
        .env(
            "HYOK_MASTER_PASSPHRASE_FILE",
            passphrase_file.to_str().unwrap(),
        )
        .start();
    assert_eq!(
        again.get("/admin/users", Some(&token)).0,
        200,
        "the right passphrase (from a file) opens it"
    );
    assert!(again.stop().success());
}

#[test]
fn a_corrupted_master_key_file_stops_the_server() {
    let dir = tempdir();
    let config = config_in(dir.path());
    Launch::with_config(dir.path(), &config).run_once();
    let key_file = data_file(dir.path(), "master.key");
    let mut bytes = std::fs::read(&key_file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&key_file, &bytes).unwrap();
    Launch::with_config(dir.path(), &config).refused("is corrupted");
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        bytes,
        "never overwritten"
    );
}

#[test]
fn a_missing_master_key_file_is_not_replaced_over_existing_data() {
    let dir = tempdir();
    let config = config_in(dir.path());
    Launch::with_config(dir.path(), &config).run_once();
    let key_file = data_file(dir.path(), "master.key");
    std::fs::rename(&key_file, dir.path().join("backup.key")).unwrap();
    Launch::with_config(dir.path(), &config).refused("is missing, but the database holds data");
    assert!(!key_file.exists(), "no new master key was created");

    std::fs::copy(dir.path().join("backup.key"), &key_file).unwrap();
    assert!(
        Launch::with_config(dir.path(), &config)
            .start()
            .stop()
            .success(),
        "restoring the file is enough"
    );
}

#[test]
fn another_master_key_is_refused_for_this_database() {
    let dir = tempdir();
    let config = config_in(dir.path());
    Launch::with_config(dir.path(), &config).run_once();
    let other = tempdir();
    Launch::with_config(other.path(), &config_in(other.path())).run_once();
    std::fs::copy(
        data_file(other.path(), "master.key"),
        data_file(dir.path(), "master.key"),
    )
    .unwrap();
    Launch::with_config(dir.path(), &config).refused("is not the one that protects this database");
}

#[test]
fn rotation_through_the_cli_survives_a_restart() {
    let dir = tempdir();
    let config = config_in(dir.path());
    let hyok = Launch::with_config(dir.path(), &config)
        .env("HYOK_MASTER_PASSPHRASE", PASSPHRASE)
        .start();
    let token = hyok.admin_token();
    let (ok, status, stderr) = hyok.cli(&token, &["keystore", "status"]);
    assert!(ok, "{stderr}");
    assert!(
        status.contains("software keystore") && status.contains("version 1\tcurrent"),
        "{status}"
    );

    let (ok, rotated, stderr) = hyok.cli(&token, &["keystore", "rotate", "--wait"]);
    assert!(ok, "{stderr}");
    assert!(
        rotated.contains("master key version 2 is current"),
        "{rotated}"
    );
    let (ok, status, _) = hyok.cli(&token, &["keystore", "status", "--json"]);
    assert!(ok);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["current_version"], 2);
    assert_eq!(
        status["versions"][0]["state"], "retired",
        "nothing references version 1: {status}"
    );
    assert_eq!(status["versions"][1]["state"], "current");
    assert!(
        data_file(dir.path(), "master.key.v2").is_file(),
        "the new version sits beside the first"
    );
    let (ok, _, stderr) = crate::support::cli(&[("HYOK_URL", &hyok.url)], &["keystore", "rotate"]);
    assert!(
        !ok && stderr.contains("401"),
        "rotation needs an admin: {stderr}"
    );
    assert!(hyok.stop().success());

    let again = Launch::with_config(dir.path(), &config)
        .env("HYOK_MASTER_PASSPHRASE", PASSPHRASE)
        .start();
    assert!(again.stderr().contains("version=2"), "{}", again.stderr());
    assert_eq!(again.get("/health", None).0, 200);
    assert!(again.stop().success());
    std::fs::remove_file(data_file(dir.path(), "master.key.v2")).unwrap();
    Launch::with_config(dir.path(), &config)
        .env("HYOK_MASTER_PASSPHRASE", PASSPHRASE)
        .refused("master.key.v2 is missing");
}
