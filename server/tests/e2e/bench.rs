//! The XKS throughput measurement of docs/benchmarks.md (ignored in the normal run):
//!
//! ```sh
//! cargo test --release -p hyok-server --test e2e -- --ignored --nocapture measure_xks
//! ```
//!
//! It starts hyok (release, default settings: audit on, info logs to a file) with XKS on
//! and Active keys granted to the key store, then runs `hyok bench xks` against it on the
//! same machine and prints one table row per run.

use serde_json::Value;

use crate::seed::Seeder;
use crate::support::{cli, tempdir, Launch};
use crate::xks::{xks_config, AKID, SECRET, STORE};

#[test]
#[ignore = "a measurement, not a test: see docs/benchmarks.md"]
fn measure_xks() {
    let dir = tempdir();
    let config = xks_config(dir.path(), "");
    Launch::with_config(dir.path(), &config).run_once();
    let seeder = Seeder::open(dir.path());
    let keys: Vec<String> = (0..100)
        .map(|_| {
            let key = seeder.active_key("admin");
            seeder.grant(&key, STORE, &["get-attributes", "encrypt", "decrypt"]);
            key
        })
        .collect();
    drop(seeder);
    let hyok = Launch::with_config(dir.path(), &config).start();
    let env = [
        ("HYOK_XKS_ACCESS_KEY_ID", AKID),
        ("HYOK_XKS_SECRET_ACCESS_KEY", SECRET),
    ];
    println!("| operation | keys | connections | requests/s | p50 ms | p99 ms | p99.9 ms | max ms | failed |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let runs = [
        ("encrypt", 1, 1),
        ("encrypt", 1, 16),
        ("encrypt", 1, 64),
        ("encrypt", 100, 64),
        ("decrypt", 1, 64),
        ("metadata", 1, 64),
    ];
    for (operation, key_count, connections) in runs {
        let key_list = keys[..key_count].join(",");
        let connections = connections.to_string();
        let args = [
            "bench",
            "xks",
            "--url",
            &hyok.url,
            "--keys",
            &key_list,
            "--operation",
            operation,
            "--connections",
            &connections,
            "--duration",
            "10",
            "--json",
        ];
        let (ok, stdout, stderr) = cli(&env, &args);
        assert!(ok, "{stderr}");
        let r: Value = serde_json::from_str(stdout.trim()).unwrap();
        let l = &r["latency_ms"];
        println!(
            "| {operation} | {key_count} | {connections} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
            r["requests_per_second"].as_f64().unwrap(),
            l["p50"].as_f64().unwrap(),
            l["p99"].as_f64().unwrap(),
            l["p99.9"].as_f64().unwrap(),
            l["max"].as_f64().unwrap(),
            r["failed"]
        );
    }
}

#[test]
fn the_baseline_server_and_the_http_load_measure_the_ceiling() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut server = Command::new(crate::support::HYOK)
        .args(["bench", "baseline-server", "--port", "0", "--workers", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let url = lines
        .find_map(|line| line.ok()?.split("listening on ").nth(1).map(str::to_string))
        .expect("the baseline server says where it listens");
    let (ok, stdout, stderr) = crate::support::cli(
        &[],
        &[
            "bench",
            "http",
            "--url",
            &url,
            "--connections",
            "2",
            "--duration",
            "1",
            "--json",
        ],
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(ok, "{stderr}");
    let results: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(results["failed"], 0, "{results}");
    assert!(results["requests"].as_u64().unwrap() > 100, "{results}");
}
