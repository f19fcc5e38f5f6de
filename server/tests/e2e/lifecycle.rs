//! Starting on defaults, authentication at the door, restarts that keep everything,
//! graceful stop, logs — on SQLite and on PostgreSQL.

use serde_json::json;

use crate::support::{config_in, data_file, tempdir, Launch};

#[test]
fn starts_on_the_embedded_defaults() {
    let dir = tempdir();
    let hyok = Launch::in_dir(dir.path()).start();
    assert_eq!(
        hyok.url, "http://127.0.0.1:9998",
        "the documented default address"
    );
    let (status, health) = hyok.get("/health", None);
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"]["engine"], "sqlite");
    assert_eq!(health["keystore"]["kind"], "software");
    assert!(dir.path().join("hyok-data/hyok.db").is_file());
    assert!(dir.path().join("hyok-data/master.key").is_file());
    assert!(hyok
        .stderr()
        .contains("database: sqlite (journal_mode=wal, synchronous=FULL, page cache 2000 KiB per connection), migrations applied"));
    assert!(
        hyok.stderr().contains("IS NOT SEALED"),
        "an unsealed master key is announced loudly"
    );
    let token = hyok.admin_token();
    assert!(token.starts_with("hyok_"), "{token}");
    assert_eq!(hyok.get("/admin/users", Some(&token)).0, 200);
    assert!(hyok.stop().success());
}

#[test]
fn unauthenticated_requests_are_refused() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let token = hyok.admin_token();
    assert_eq!(
        hyok.get("/health", None).0,
        200,
        "health needs no credentials"
    );
    for path in ["/admin/users", "/admin/tokens", "/no/such/route"] {
        let (status, body) = hyok.get(path, None);
        assert_eq!(status, 401, "{path}: {body}");
        assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
    }
    // The real token with its last hex digit changed (to a different one).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    for bad in ["nonsense", "hyok_0000000000000000_", forged.as_str()] {
        assert_eq!(hyok.get("/admin/users", Some(bad)).0, 401, "{bad}");
    }
    let created = hyok.post(
        "/admin/users",
        None,
        json!({"name": "mallory", "role": "admin"}),
    );
    assert_eq!(created.0, 401);
    assert_eq!(
        hyok.get("/no/such/route", Some(&token)).0,
        404,
        "known callers learn it is missing"
    );
    let (_, users) = hyok.get("/admin/users", Some(&token));
    assert_eq!(
        users.as_array().unwrap().len(),
        1,
        "nothing was created: {users}"
    );
}

#[test]
fn a_non_admin_cannot_manage_users_or_tokens() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    assert_eq!(
        hyok.post("/admin/users", Some(&admin), json!({"name": "bob"}))
            .0,
        201
    );
    let (status, issued) = hyok.post("/admin/tokens", Some(&admin), json!({"user": "bob"}));
    assert_eq!(status, 201, "{issued}");
    let bob = issued["token"].as_str().unwrap();
    let (status, body) = hyok.get("/admin/users", Some(bob));
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("admin"), "{body}");
    assert_eq!(
        hyok.post("/admin/tokens", Some(bob), json!({"user": "admin"}))
            .0,
        403
    );
    assert_eq!(
        hyok.post("/admin/users", Some(&admin), json!({"name": "bob"}))
            .0,
        409
    );
    assert_eq!(
        hyok.post("/admin/users", Some(&admin), json!({"name": "*"}))
            .0,
        400
    );
    assert_eq!(
        hyok.post(
            "/admin/users",
            Some(&admin),
            json!({"name": "x", "role": "root"})
        )
        .0,
        400
    );
    assert_eq!(
        hyok.post("/admin/tokens", Some(&admin), json!({"user": "nobody"}))
            .0,
        404
    );
}

/// Restart keeps users, tokens and the master key; the admin token is printed once.
fn restart_keeps_everything(dir: &std::path::Path, config: &str, key_file: &std::path::Path) {
    let first = Launch::with_config(dir, config).start();
    let admin = first.admin_token();
    assert_eq!(
        first
            .post("/admin/users", Some(&admin), json!({"name": "carol"}))
            .0,
        201
    );
    let (_, health) = first.get("/health", None);
    assert!(first.stop().success(), "SIGTERM ends hyok cleanly");
    let key_bytes = std::fs::read(key_file).expect("the master key file");

    let second = Launch::with_config(dir, config).start();
    assert_eq!(
        second.admin_token, None,
        "no new admin token on a later start"
    );
    assert!(!second.stdout().contains("admin token"));
    let (status, users) = second.get("/admin/users", Some(&admin));
    assert_eq!(status, 200, "the first admin token still works: {users}");
    let names: Vec<_> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "carol"]);
    let (_, health_again) = second.get("/health", None);
    assert_eq!(
        health_again["keystore"]["key_id"], health["keystore"]["key_id"],
        "same master key"
    );
    assert!(
        second.stderr().contains("opened master key"),
        "{}",
        second.stderr()
    );
    let stopped = second.stop();
    assert!(stopped.success(), "{stopped}");
    assert_eq!(
        std::fs::read(key_file).unwrap(),
        key_bytes,
        "the master key file is never rewritten"
    );
}

#[test]
fn restart_keeps_data_and_master_key_on_sqlite() {
    let dir = tempdir();
    restart_keeps_everything(
        dir.path(),
        &config_in(dir.path()),
        &data_file(dir.path(), "master.key"),
    );
}

#[test]
fn restart_keeps_data_and_master_key_on_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(database) = runtime.block_on(hyok_db::testing::TestDatabase::postgres()) else {
        return;
    };
    let dir = tempdir();
    let config = format!(
        "[http]\nport = 0\n[db]\nurl = \"{}\"\n[keystore]\nfile = \"{}/master.key\"\n",
        database.url,
        dir.path().display()
    );
    restart_keeps_everything(dir.path(), &config, &dir.path().join("master.key"));
    assert!(
        !dir.path().join("data").exists(),
        "nothing was written to SQLite"
    );
}

#[test]
fn logs_can_be_json_one_line_per_request() {
    let dir = tempdir();
    let config = format!("{}\n[logging]\nformat = \"json\"\n", config_in(dir.path()));
    let hyok = Launch::with_config(dir.path(), &config).start();
    let token = hyok.admin_token();
    assert_eq!(hyok.get("/admin/users", Some(&token)).0, 200);
    let stderr = hyok.wait_for_log("\"/admin/users\"");
    assert!(hyok.stop().success());
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    let request = lines
        .iter()
        .find(|line| line["path"] == "/admin/users")
        .expect("a line for the request");
    assert_eq!(request["status"], 200);
    assert_eq!(request["caller"], "admin");
    assert_eq!(request["method"], "GET");
    assert!(
        request["request_id"].is_string() && request["duration_ms"].is_number(),
        "{request}"
    );
    assert!(
        !stderr.contains(&token[22..]),
        "token secrets never reach the log"
    );
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    a_stop_signal_lets_a_request_in_flight_finish(libc::SIGTERM);
}

#[test]
fn sigint_lets_a_request_in_flight_finish() {
    a_stop_signal_lets_a_request_in_flight_finish(libc::SIGINT);
}

#[test]
fn a_stop_signal_the_moment_hyok_listens_stops_it_cleanly() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        for _ in 0..3 {
            let dir = tempdir();
            let (status, stderr) = Launch::with_config(dir.path(), &config_in(dir.path()))
                .signalled_once_listening(signal);
            assert!(
                status.success() && stderr.contains("hyok stopped"),
                "{name} right after the listening line: {status}\n{stderr}"
            );
            assert!(stderr.contains(&format!("{name} received")), "{stderr}");
        }
    }
}

fn a_stop_signal_lets_a_request_in_flight_finish(signal: libc::c_int) {
    use std::io::{Read, Write};
    let dir = tempdir();
    let config = config_in(dir.path());
    let hyok = Launch::with_config(dir.path(), &config).start();
    let token = hyok.admin_token();
    let address = hyok.url.trim_start_matches("http://").to_string();
    let body = r#"{"name": "late-arrival"}"#;
    let (head, tail) = body.split_at(10);
    let mut connection = std::net::TcpStream::connect(&address).unwrap();
    write!(
        connection,
        "POST /admin/users HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    hyok.signal(signal);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "after the signal no new connection is accepted"
    );
    connection.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    connection
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let _ = connection.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request in flight completed: {response}"
    );
    assert!(hyok.stop().success());

    let again = Launch::with_config(dir.path(), &config).start();
    let (_, users) = again.get("/admin/users", Some(&token));
    assert!(
        users.to_string().contains("late-arrival"),
        "and its effect is durable: {users}"
    );
}

#[test]
fn health_reports_503_when_the_database_is_gone() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(database) = runtime.block_on(hyok_db::testing::TestDatabase::postgres()) else {
        return;
    };
    let dir = tempdir();
    let config = format!(
        "[http]\nport = 0\n[db]\nurl = \"{}\"\nacquire_timeout_seconds = 1\n[keystore]\nfile = \"{}/master.key\"\n",
        database.url,
        dir.path().display()
    );
    let hyok = Launch::with_config(dir.path(), &config).start();
    assert_eq!(hyok.get("/health", None).0, 200);
    drop(database); // DROP DATABASE … WITH (FORCE): connections cut, database gone
                    // (The probe's answer stands for a second.)
    let health = crate::support::await_health(&hyok, 503, std::time::Duration::from_secs(5));
    assert_eq!(health["status"], "unavailable");
    assert_eq!(health["database"]["status"], "unavailable");
    assert_eq!(
        health["keystore"]["status"], "ok",
        "the failing part is named"
    );
    hyok.wait_for_log("health check failed");
}
