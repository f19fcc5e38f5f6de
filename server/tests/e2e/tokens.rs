//! API tokens through the CLI: issue, use, revoke (effective at once, despite the
//! verified-token cache), expiry, last use.

use crate::support::{config_in, tempdir, Launch};

#[test]
fn a_revoked_token_stops_working_at_once() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let (ok, _, stderr) = hyok.cli(&admin, &["user", "create", "ops", "--role", "admin"]);
    assert!(ok, "{stderr}");
    let (ok, token, stderr) = hyok.cli(
        &admin,
        &[
            "token", "create", "--user", "ops", "--label", "ci", "--quiet",
        ],
    );
    assert!(ok, "{stderr}");
    let token = token.trim().to_string();
    assert!(token.starts_with("hyok_"), "{token}");
    let id = token.split('_').nth(1).unwrap().to_string();

    for _ in 0..3 {
        assert_eq!(
            hyok.get("/admin/users", Some(&token)).0,
            200,
            "valid, and now cached"
        );
    }
    let (ok, listing, _) = hyok.cli(&admin, &["token", "list", "--user", "ops", "--json"]);
    assert!(ok);
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing[0]["id"], id.as_str());
    assert_eq!(listing[0]["label"], "ci");
    assert!(
        listing[0]["last_used_at"].is_number(),
        "last use is recorded: {listing}"
    );
    assert!(
        listing[0].get("secret_hash").is_none(),
        "hashes never leave the server"
    );

    let (ok, _, stderr) = hyok.cli(&admin, &["token", "revoke", &id]);
    assert!(ok, "{stderr}");
    let (status, body) = hyok.get("/admin/users", Some(&token));
    assert_eq!(status, 401, "revoked means refused at once: {body}");
    let (ok, _, stderr) = hyok.cli(&token, &["user", "list"]);
    assert!(!ok);
    assert!(stderr.contains("401"), "{stderr}");
    let (ok, _, stderr) = hyok.cli(&admin, &["token", "revoke", "0000000000000000"]);
    assert!(!ok && stderr.contains("404"), "{stderr}");
}

#[test]
fn an_expired_token_is_refused() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let (status, issued) = hyok.post(
        "/admin/tokens",
        Some(&admin),
        serde_json::json!({"user": "admin", "expires_in_seconds": 1}),
    );
    assert_eq!(status, 201, "{issued}");
    let token = issued["token"].as_str().unwrap();
    assert_eq!(hyok.get("/admin/users", Some(token)).0, 200);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        hyok.get("/admin/users", Some(token)).0,
        401,
        "expired, even though cached"
    );
}

#[test]
fn the_cli_explains_a_missing_token() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let (ok, _, stderr) = crate::support::cli(&[("HYOK_URL", &hyok.url)], &["user", "list"]);
    assert!(!ok);
    assert!(
        stderr.contains("401") && stderr.contains("HYOK_TOKEN"),
        "{stderr}"
    );
    let (ok, _, stderr) =
        crate::support::cli(&[("HYOK_URL", "http://127.0.0.1:1")], &["user", "list"]);
    assert!(
        !ok && stderr.contains("cannot reach hyok at http://127.0.0.1:1"),
        "{stderr}"
    );
}
