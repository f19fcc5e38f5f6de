//! `hyok-bench`: load generators for an XKS proxy or a KMIP server (hyok or another),
//! talking to it over the wire as any client would, and the bare HTTP baseline they are
//! compared with. Not part of the `hyok` server binary.

#![forbid(unsafe_code)]

mod baseline;
mod kmip;
mod kmip_connection;
mod raw_http;
mod tally;
mod xks;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hyok-bench",
    version,
    about = "Load generation and measurement for XKS proxies and KMIP servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// AWS XKS metadata, encrypt or decrypt calls.
    Xks(xks::XksBench),
    /// KMIP Encrypt, Get, Create or Locate over TTLV/TLS or HTTP /kmip.
    Kmip(kmip::KmipBench),
    /// Plain HTTP POSTs to any URL (the baseline's load).
    Http(baseline::HttpBench),
    /// A bare actix-web server answering POST / (the machine's ceiling).
    BaselineServer(baseline::BaselineServer),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Xks(bench) => {
            generator_runtime(bench.threads).and_then(|r| r.block_on(bench.run()))
        }
        Command::Kmip(bench) => bench.run(),
        Command::Http(bench) => bench.run(),
        Command::BaselineServer(server) => server.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hyok-bench: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The runtime the connections of a generator run on: `threads` worker threads.
fn generator_runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("starting the generator's runtime: {e}"))
}
