//! The XKS throughput measurements of docs/benchmarks.md (ignored in the normal run):
//!
//! ```sh
//! cargo build --release -p hyok-tools
//! cargo test --release -p hyok-server --test e2e -- --ignored --nocapture measure_xks
//! cargo test --release -p hyok-server --test e2e -- --ignored --nocapture measure_xks_with_a_million_keys
//! ```
//!
//! It starts hyok (release, default settings: audit on, info logs, which the test reads
//! from a pipe) with XKS on and Active keys granted to the key store, then runs
//! `hyok-bench xks` against it on the same machine and prints one table row per run.

use serde_json::Value;

use crate::seed::Seeder;
use crate::support::{cli, tempdir, Launch};
use crate::xks::{xks_config, AKID, SECRET, STORE};

/// The XKS signing credentials of the generator.
const SIGNING: [(&str, &str); 2] = [
    ("HYOK_XKS_ACCESS_KEY_ID", AKID),
    ("HYOK_XKS_SECRET_ACCESS_KEY", SECRET),
];

/// An XKS configuration in `dir`, started once so that its database and master key exist.
fn prepared(dir: &std::path::Path) -> String {
    let config = xks_config(dir, "");
    Launch::with_config(dir, &config).run_once();
    config
}

/// `hyok-bench xks` with `args`: its JSON result.
fn bench_xks(args: &[&str]) -> Value {
    let mut all = vec!["xks"];
    all.extend(args);
    all.push("--json");
    let (ok, stdout, stderr) = crate::support::run_tool("hyok-bench", &SIGNING, &all);
    assert!(ok, "{stderr}");
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
#[ignore = "a measurement, not a test: see docs/benchmarks.md"]
fn measure_xks() {
    let dir = tempdir();
    let config = prepared(dir.path());
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
        let r = bench_xks(&[
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
        ]);
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

/// XKS encrypt with 1 000 000 keys in the database: a working set of 10 000 keys against
/// one key, and the server's resident memory after each run (bounded by the cache
/// settings). After a first pass over the working set (the caches filling), runs with one
/// key and with the working set alternate, five of each, so that a drift of the machine's
/// speed during the measurement weighs on both; the ratio is of their medians.
#[test]
#[ignore = "a measurement, not a test: see docs/benchmarks.md"]
fn measure_xks_with_a_million_keys() {
    let dir = tempdir();
    let config = prepared(dir.path());
    let seeder = Seeder::open(dir.path());
    let started = std::time::Instant::now();
    // HYOK_MEASURE_KEYS: fewer keys, to see what the database's size has to do with it.
    let count = std::env::var("HYOK_MEASURE_KEYS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let keys = seeder.bulk_active_keys("admin", count);
    let working_set = &keys[..10_000];
    seeder.bulk_grant(working_set, STORE, &["encrypt"]);
    println!("seeded {count} keys in {:.0?}", started.elapsed());
    drop(seeder);
    let key_file = dir.path().join("working-set.txt");
    std::fs::write(&key_file, working_set.join("\n")).unwrap();
    let key_file = key_file.display().to_string();
    let hyok = Launch::with_config(dir.path(), &config).start();
    println!("| keys in the database | keys used | connections | requests/s | p50 ms | p99 ms | server CPU µs/call | generator CPU µs/call | server RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let one_key = ["--keys", working_set[0].as_str()];
    let all_keys = ["--keys-file", key_file.as_str()];
    // One 10 s run: its table row, its requests/s and the server's CPU per call.
    let measure = |used: &str, keys_arg: [&str; 2]| -> (f64, f64) {
        let mut args = vec!["--url", &hyok.url];
        args.extend(keys_arg);
        args.extend([
            "--operation",
            "encrypt",
            "--connections",
            "64",
            "--duration",
            "10",
        ]);
        let (server_before, generator_before) =
            (cpu_seconds_of(hyok.pid()), children_cpu_seconds());
        let r = bench_xks(&args);
        let server_cpu = cpu_seconds_of(hyok.pid()) - server_before;
        let generator_cpu = children_cpu_seconds() - generator_before;
        assert_eq!(r["failed"], 0, "{r}");
        let calls = r["requests"].as_f64().unwrap();
        let (server_per_call, generator_per_call) =
            (1e6 * server_cpu / calls, 1e6 * generator_cpu / calls);
        let status = std::fs::read_to_string(format!("/proc/{}/status", hyok.pid())).unwrap();
        let rss_kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap();
        let l = &r["latency_ms"];
        let per_second = r["requests_per_second"].as_f64().unwrap();
        println!(
            "| {count} | {used} | 64 | {per_second:.0} | {:.3} | {:.3} | {server_per_call:.1} | {generator_per_call:.1} | {:.0} |",
            l["p50"].as_f64().unwrap(),
            l["p99"].as_f64().unwrap(),
            rss_kib / 1024.0
        );
        (per_second, server_per_call)
    };
    measure("10 000 (first pass: caches filling)", all_keys);
    let (mut with_one, mut with_all) = (Vec::new(), Vec::new());
    let (mut cpu_one, mut cpu_all) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let (rate, cpu) = measure("1", one_key);
        with_one.push(rate);
        cpu_one.push(cpu);
        let (rate, cpu) = measure("10 000", all_keys);
        with_all.push(rate);
        cpu_all.push(cpu);
    }
    // Each 10 000-key run against the 1-key run just before it: the machine's drift over
    // the measurement weighs less on these than on the medians.
    let mut pairs: Vec<f64> = with_one
        .iter()
        .zip(&with_all)
        .map(|(one, all)| 100.0 * all / one)
        .collect();
    let (one, all) = (median(&mut with_one), median(&mut with_all));
    let ratio = 100.0 * all / one;
    let verdict = if ratio >= 90.0 { "met" } else { "MISSED" };
    println!(
        "median with 1 key {one:.0}/s, with 10 000 keys {all:.0}/s: {ratio:.1} % (target: at least 90 %: {verdict})"
    );
    let in_order = pairs
        .iter()
        .map(|ratio| format!("{ratio:.1}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "run after run: {in_order} %, median {:.1} %",
        median(&mut pairs)
    );
    let (one, all) = (median(&mut cpu_one), median(&mut cpu_all));
    println!(
        "median server CPU per call with 1 key {one:.1} µs, with 10 000 keys {all:.1} µs: {:+.1} %",
        100.0 * (all - one) / one
    );
}

/// The CPU time (user and system) the process `pid` has used so far, in seconds.
fn cpu_seconds_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name's closing parenthesis: field 3 (state) on; utime and stime
    // are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf only reads a constant of the system.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// The CPU time (user and system) of this process's children that have been waited for
/// (here, the load generator's runs), in seconds.
fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes only the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[test]
fn bench_xks_reaches_an_https_proxy_through_the_given_ca() {
    let dir = tempdir();
    let certs = dir.path().join("certs");
    let (ok, _, stderr) = cli(&[], &["tls", "dev-certs", certs.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let config = format!(
        "{}\n[tls]\ncert = \"{c}/server.pem\"\nkey = \"{c}/server.key\"\n",
        xks_config(dir.path(), ""),
        c = certs.display()
    );
    Launch::with_config(dir.path(), &config).run_once();
    let seeder = Seeder::open(dir.path());
    let key = seeder.active_key("admin");
    seeder.grant(&key, STORE, &["get-attributes", "encrypt", "decrypt"]);
    drop(seeder);
    let hyok = Launch::with_config(dir.path(), &config).start();
    assert!(hyok.url.starts_with("https://"), "{}", hyok.url);
    let ca = certs.join("ca.pem");
    let run = |extra: &[&str]| {
        let mut args = vec!["--url", &hyok.url, "--keys", &key, "--connections", "2"];
        args.extend(["--duration", "1"]);
        args.extend(extra);
        bench_xks(&args)
    };
    let trusted = run(&["--ca", ca.to_str().unwrap()]);
    assert!(trusted["requests"].as_u64().unwrap() > 0, "{trusted}");
    assert_eq!(trusted["failed"], 0, "{trusted}");
    let untrusted = run(&[]);
    assert_eq!(
        untrusted["failed"], untrusted["requests"],
        "the dev CA is not among the system's roots: {untrusted}"
    );
    assert!(hyok.stop().success());
}
