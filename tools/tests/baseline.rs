//! `hyok-bench baseline-server` and `hyok-bench http` against each other, over a real
//! socket: the load generator counts what the bare server answers. (The tools against a
//! hyok server are tested with the server, in server/tests/e2e.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BENCH: &str = env!("CARGO_BIN_EXE_hyok-bench");

#[test]
fn the_baseline_server_and_the_http_load_measure_the_ceiling() {
    let mut server = Command::new(BENCH)
        .args(["baseline-server", "--port", "0", "--workers", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let url = lines
        .find_map(|line| line.ok()?.split("listening on ").nth(1).map(str::to_string))
        .expect("the baseline server says where it listens");
    let output = Command::new(BENCH)
        .args([
            "http",
            "--url",
            &url,
            "--connections",
            "2",
            "--duration",
            "1",
        ])
        .arg("--json")
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let results: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(results["failed"], 0, "{results}");
    assert!(results["requests"].as_u64().unwrap() > 100, "{results}");
}

#[test]
fn the_replayer_refuses_a_missing_directory_with_its_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_hyok-replay"))
        .args([
            "/nonexistent/cases",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
            "--ca",
            "ca.pem",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/cases"), "{stderr}");
}
