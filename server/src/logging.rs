//! Logs: tracing-subscriber on standard error, text or JSON, filtered by `[logging]
//! level` (or `HYOK_LOG`, which wins). Standard output is kept for what scripts read.
//! Lines are written by a thread of their own, buffered and flushed whenever it has
//! nothing more to write, so that request threads make no system call per line (and wait,
//! rather than drop lines, should standard error stall).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingConfig};

/// Keep it until the end: dropping it writes out what is still queued.
pub type LogGuard = tracing_appender::non_blocking::WorkerGuard;

pub fn init(config: &LoggingConfig) -> LogGuard {
    let filter =
        EnvFilter::try_from_env("HYOK_LOG").unwrap_or_else(|_| EnvFilter::new(&config.level));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("hyok-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    if let Err(error) = installed {
        eprintln!("hyok: logging was already set up: {error}");
    }
    guard
}
