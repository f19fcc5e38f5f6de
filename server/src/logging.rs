//! Logs: tracing-subscriber on standard error, text or JSON, filtered by `[logging]
//! level` (or `HYOK_LOG`, which wins). Standard output is kept for what scripts read.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingConfig};

pub fn init(config: &LoggingConfig) {
    let filter =
        EnvFilter::try_from_env("HYOK_LOG").unwrap_or_else(|_| EnvFilter::new(&config.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
}
