//! `hyok-replay DIR`: the KMIP conformance harness. Replays a directory of test cases in
//! the OASIS XML format (such as the KMIP 1.4 and 2.1 profile test cases) against a
//! running KMIP server over TTLV/TLS, and reports pass, fail or skipped (with the reason)
//! per file, and counts per profile. Exits 1 when a file fails.

#![forbid(unsafe_code)]

mod cases;
mod compare;
mod node;
mod replay;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::replay::{Outcome, Target};

/// Replay a directory of KMIP test cases (OASIS XML format) over TTLV/TLS and report
/// pass / fail / skipped per file and per profile. Exits 1 when a file fails.
#[derive(Parser)]
#[command(name = "hyok-replay", version)]
struct Replay {
    /// The directory of test-case files (searched recursively for *.xml).
    dir: PathBuf,
    /// The server's KMIP address.
    #[arg(long, default_value = "127.0.0.1:5696")]
    address: String,
    /// The client certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// The client certificate's private key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// The CA certificate that signed the server's certificate (PEM).
    #[arg(long)]
    ca: PathBuf,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Print every request and response (standard error).
    #[arg(long)]
    trace: bool,
}

/// Writes the report to standard output; a reader that went away (`| head`) ends it
/// quietly.
fn print_report(report: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(report.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.map_err(|error| format!("writing the report: {error}")),
    }
}

fn main() -> ExitCode {
    match Replay::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hyok-replay: error: {error}");
            ExitCode::FAILURE
        }
    }
}

impl Replay {
    fn run(self) -> Result<(), String> {
        let Replay {
            dir,
            address,
            cert,
            key,
            ca,
            json,
            trace,
        } = self;
        let target = Target {
            address,
            cert,
            key,
            ca,
            trace,
        };
        let results = cases::replay_dir(&dir, &target)?;
        let counts = cases::counts(&results);
        let failed = results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Fail(_)))
            .count();
        let mut report = String::new();
        if json {
            let files: Vec<_> = results
                .iter()
                .map(|(file, outcome)| {
                    let (result, reason) = match outcome {
                        Outcome::Pass => ("pass", None),
                        Outcome::Fail(reason) => ("fail", Some(reason)),
                        Outcome::Skipped(reason) => ("skipped", Some(reason)),
                    };
                    json!({ "file": file.strip_prefix(&dir).unwrap_or(file), "result": result, "reason": reason })
                })
                .collect();
            let profiles: serde_json::Map<_, _> = counts
                .iter()
                .map(|(profile, (pass, fail, skipped))| {
                    (
                        profile.clone(),
                        json!({ "pass": pass, "fail": fail, "skipped": skipped }),
                    )
                })
                .collect();
            report = format!("{}\n", json!({ "files": files, "profiles": profiles }));
        } else {
            for (file, outcome) in &results {
                let file = file.strip_prefix(&dir).unwrap_or(file).display();
                report += &match outcome {
                    Outcome::Pass => format!("PASS {file}\n"),
                    Outcome::Fail(reason) => format!("FAIL {file}: {reason}\n"),
                    Outcome::Skipped(reason) => format!("SKIP {file}: {reason}\n"),
                };
            }
            report += &format!(
                "\n{:<20} {:>5} {:>5} {:>8}\n",
                "profile", "pass", "fail", "skipped"
            );
            for (profile, (pass, fail, skipped)) in &counts {
                report += &format!("{profile:<20} {pass:>5} {fail:>5} {skipped:>8}\n");
            }
        }
        print_report(&report)?;
        if failed > 0 {
            return Err(format!("{failed} of {} files failed", results.len()));
        }
        Ok(())
    }
}
