//! The audit log from the outside: management events recorded with their change,
//! key-use events (here: KMIP Gets a grant does not allow) group-committed, nothing lost
//! under concurrent load or on a graceful stop, at most the last window lost on kill -9,
//! refused authentications summarized per second, and any tampering with the table found
//! by `hyok audit verify` at the row it touched.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Connection;

use crate::support::{config_in, data_file, tempdir, Hyok, Launch};

/// A user and a key the user may not get: each KMIP Get of it is a denied use, audited.
struct DeniedUse {
    token: String,
    get: String,
}

impl DeniedUse {
    fn prepare(hyok: &Hyok, admin: &str) -> DeniedUse {
        let (ok, key, stderr) = hyok.cli(admin, &["key", "create", "--quiet"]);
        assert!(ok, "{stderr}");
        let get = format!(
            r#"<RequestMessage><RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="2"/><ProtocolVersionMinor type="Integer" value="1"/></ProtocolVersion><BatchCount type="Integer" value="1"/></RequestHeader><BatchItem><Operation type="Enumeration" value="Get"/><RequestPayload><UniqueIdentifier type="TextString" value="{}"/></RequestPayload></BatchItem></RequestMessage>"#,
            key.trim()
        );
        DeniedUse {
            token: hyok.user_token(admin, "bob"),
            get,
        }
    }

    /// One denied Get; returns its request id.
    fn send(&self, hyok: &Hyok) -> String {
        thread_local! {
            static CLIENT: reqwest::blocking::Client = reqwest::blocking::Client::new();
        }
        let response = CLIENT
            .with(|client| client.post(format!("{}/kmip", hyok.url)))
            .bearer_auth(&self.token)
            .header("Content-Type", "text/xml")
            .body(self.get.clone())
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        let answer = response.text().unwrap();
        assert!(answer.contains("PermissionDenied"), "{answer}");
        id
    }
}

/// Sends a request with a token that does not exist; returns its request id.
fn refused_request(hyok: &Hyok) -> String {
    thread_local! {
        static CLIENT: reqwest::blocking::Client = reqwest::blocking::Client::new();
    }
    let response = CLIENT
        .with(|client| client.get(format!("{}/admin/users", hyok.url)))
        .bearer_auth(format!("hyok_{}_{}", "0".repeat(16), "a".repeat(64)))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string()
}

fn export(hyok: &Hyok, token: &str) -> Vec<Value> {
    let (ok, lines, stderr) = hyok.cli(token, &["audit", "export"]);
    assert!(ok, "{stderr}");
    lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn verify(hyok: &Hyok, token: &str) -> Result<String, String> {
    let (ok, stdout, stderr) = hyok.cli(token, &["audit", "verify"]);
    if ok {
        Ok(stdout)
    } else {
        Err(stderr)
    }
}

#[test]
fn management_events_are_recorded_and_the_log_verifies() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    assert_eq!(
        hyok.post("/admin/users", Some(&admin), json!({"name": "alice"}))
            .0,
        201
    );
    let (_, issued) = hyok.post(
        "/admin/tokens",
        Some(&admin),
        json!({"user": "alice", "label": "laptop"}),
    );
    let token_id = issued["id"].as_str().unwrap().to_string();
    assert!(hyok.cli(&admin, &["token", "revoke", &token_id]).0);
    assert!(hyok.cli(&admin, &["keystore", "rotate", "--wait"]).0);
    refused_request(&hyok);
    // Let the group commit happen, and the refusal's second end (refusals are summarized).
    std::thread::sleep(Duration::from_millis(1200));

    let entries = export(&hyok, &admin);
    let operations: Vec<&str> = entries
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    for expected in [
        "issue-token",
        "create-user",
        "revoke-token",
        "rotate-master-key",
        "authenticate",
    ] {
        assert!(
            operations.contains(&expected),
            "{expected} missing from {operations:?}"
        );
    }
    let revoked = entries
        .iter()
        .find(|e| e["operation"] == "revoke-token")
        .unwrap();
    assert_eq!(revoked["caller"], "admin");
    assert!(revoked["request_id"].is_string(), "{revoked}");
    assert!(revoked["details"].as_str().unwrap().contains(&token_id));
    let exported = serde_json::to_string(&entries).unwrap();
    assert!(
        !exported.contains(&admin[22..]),
        "no token secret in the audit log"
    );
    let (ok, tail, _) = hyok.cli(&admin, &["audit", "tail", "-n", "2"]);
    assert!(ok);
    assert_eq!(tail.lines().count(), 2);
    let intact = verify(&hyok, &admin).expect("an untouched log verifies");
    assert!(intact.contains("audit log intact: 1 chains"), "{intact}");
}

/// Starts a server in `dir`, makes a few entries, stops it, applies `tamper` to the
/// database, starts it again and returns what `hyok audit verify` says.
fn verify_after(dir: &Path, tamper: &str) -> Result<String, String> {
    let config = config_in(dir);
    let first = Launch::with_config(dir, &config).start();
    let admin = first.admin_token();
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        assert_eq!(
            first
                .post("/admin/users", Some(&admin), json!({"name": name}))
                .0,
            201
        );
    }
    assert!(first.stop().success());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let url = format!("sqlite://{}", data_file(dir, "hyok.db").display());
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(tamper).execute(&mut db).await.unwrap();
    });
    let second = Launch::with_config(dir, &config).start();
    verify(&second, &admin)
}

fn entry_id_of_seq(seq: i64) -> String {
    format!("(SELECT id FROM audit_entries WHERE seq = {seq} ORDER BY id LIMIT 1)")
}

#[test]
fn tampering_is_found_at_the_row_it_touched() {
    let edited = verify_after(
        tempdir().path(),
        &format!(
            "UPDATE audit_entries SET caller = 'someone-else' WHERE id = {}",
            entry_id_of_seq(3)
        ),
    )
    .expect_err("an edited row");
    assert!(
        edited.contains("broken at seq 3") && edited.contains("altered"),
        "{edited}"
    );

    let deleted = verify_after(
        tempdir().path(),
        &format!(
            "DELETE FROM audit_entries WHERE id = {}",
            entry_id_of_seq(2)
        ),
    )
    .expect_err("a deleted row");
    assert!(
        deleted.contains("broken at seq 2") && deleted.contains("entry 2 of this chain is missing"),
        "{deleted}"
    );

    let resealed = verify_after(
        tempdir().path(),
        &format!(
            "UPDATE audit_entries SET result = 'denied', mac = lower(hex(randomblob(32))) WHERE id = {}",
            entry_id_of_seq(4)
        ),
    )
    .expect_err("a re-hashed row");
    assert!(
        resealed.contains("broken at seq 4") && resealed.contains("without the audit key"),
        "{resealed}"
    );

    let truncated = verify_after(
        tempdir().path(),
        "DELETE FROM audit_entries WHERE seq = (SELECT MAX(seq) FROM audit_entries WHERE node = (SELECT MIN(node) FROM audit_entries))",
    )
    .expect_err("a cut-off end");
    assert!(truncated.contains("entries were removed"), "{truncated}");

    // A whole earlier chain deleted, entries and head: the registry still lists it.
    let deleted = verify_after(
        tempdir().path(),
        "DELETE FROM audit_entries; DELETE FROM settings WHERE name LIKE 'audit_head.%'",
    )
    .expect_err("a deleted chain");
    assert!(deleted.contains("no head record"), "{deleted}");
    let unregistered = verify_after(
        tempdir().path(),
        "DELETE FROM settings WHERE name = 'audit_chains'",
    )
    .expect_err("the registry removed");
    assert!(
        unregistered.contains("registry is missing"),
        "{unregistered}"
    );

    // (The second run is a chain of its own, empty so far.)
    let untouched = verify_after(tempdir().path(), "SELECT 1").expect("control: no tampering");
    assert!(
        untouched.contains("intact: 2 chains, 6 entries"),
        "{untouched}"
    );
}

#[test]
fn concurrent_use_events_are_all_recorded() {
    let dir = tempdir();
    let config = config_in(dir.path());
    let hyok = Launch::with_config(dir.path(), &config).start();
    let admin = hyok.admin_token();
    let denied = std::sync::Arc::new(DeniedUse::prepare(&hyok, &admin));
    let hyok = std::sync::Arc::new(hyok);
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (hyok, denied) = (hyok.clone(), denied.clone());
            std::thread::spawn(move || (0..40).map(|_| denied.send(&hyok)).collect::<Vec<_>>())
        })
        .collect();
    let sent: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let hyok = std::sync::Arc::into_inner(hyok).unwrap();
    assert!(hyok.stop().success(), "a graceful stop flushes the queue");

    let again = Launch::with_config(dir.path(), &config).start();
    let entries = export(&again, &admin);
    let recorded: Vec<&str> = entries
        .iter()
        .filter(|e| e["operation"] == "get" && e["result"] == "denied")
        .filter_map(|e| e["request_id"].as_str())
        .collect();
    assert_eq!(
        recorded.len(),
        sent.len(),
        "one entry per denied use, no more, no less"
    );
    for id in &sent {
        assert!(
            recorded.contains(&id.as_str()),
            "request {id} was not recorded"
        );
    }
    verify(&again, &admin).expect("the chain verifies");
}

#[test]
fn after_kill_9_only_the_last_group_commit_window_can_be_missing() {
    let dir = tempdir();
    let config = config_in(dir.path());
    let hyok = Launch::with_config(dir.path(), &config).start();
    let admin = hyok.admin_token();
    let denied = DeniedUse::prepare(&hyok, &admin);
    let started = Instant::now();
    let mut sent = Vec::new();
    while started.elapsed() < Duration::from_millis(2000) {
        sent.push((denied.send(&hyok), Instant::now()));
    }
    let killed_at = Instant::now();
    hyok.kill();

    let again = Launch::with_config(dir.path(), &config).start();
    let entries = export(&again, &admin);
    let recorded: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["request_id"].as_str())
        .collect();
    // The 50 ms window, plus the commit itself and scheduling while the rest of the test
    // suite loads the same 2 cores: an entry older than this must have been committed.
    let margin = Duration::from_millis(1000);
    let old_enough: Vec<_> = sent
        .iter()
        .filter(|(_, answered)| killed_at - *answered > margin)
        .collect();
    assert!(
        old_enough.len() > 10,
        "the test sent enough requests ({})",
        old_enough.len()
    );
    for (id, _) in old_enough {
        assert!(
            recorded.contains(&id.as_str()),
            "request {id}, answered over 1 s before kill -9, is missing"
        );
    }
    verify(&again, &admin).expect("a crash leaves a chain that verifies");
}

#[test]
fn refused_authentications_are_summarized_per_second_source_and_reason() {
    let dir = tempdir();
    let config = config_in(dir.path());
    let hyok = Launch::with_config(dir.path(), &config).start();
    let admin = hyok.admin_token();
    let sent: Vec<String> = (0..200).map(|_| refused_request(&hyok)).collect();
    std::thread::sleep(Duration::from_millis(1200));
    let entries = export(&hyok, &admin);
    let refusals: Vec<Value> = entries
        .iter()
        .filter(|e| e["operation"] == "authenticate")
        .map(|e| serde_json::from_str(e["details"].as_str().unwrap()).unwrap())
        .collect();
    let counted: u64 = refusals
        .iter()
        .map(|d| d["summary"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        counted,
        sent.len() as u64,
        "every refusal counted: {refusals:?}"
    );
    assert!(
        refusals.len() <= 5,
        "one entry per second, source and reason, not one per request: {}",
        refusals.len()
    );
    assert!(refusals
        .iter()
        .all(|d| d["source"] == "127.0.0.1" && d["reason"] == "invalid, expired or revoked token"));
    let first = entries
        .iter()
        .find(|e| e["operation"] == "authenticate")
        .unwrap();
    assert_eq!(
        first["request_id"],
        sent[0].as_str(),
        "the first request names its entry"
    );
    verify(&hyok, &admin).expect("the chain verifies");
}
