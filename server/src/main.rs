//! The `hyok` binary: the key management server (`hyok serve`) and its admin commands.

#![forbid(unsafe_code)]

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hyok_server::cli::run(hyok_server::cli::Cli::parse())
}
