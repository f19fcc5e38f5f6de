//! `hyok config check FILE` and `hyok config default`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::USAGE_ERROR;
use crate::config::{load, DEFAULT_TOML};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file without starting the server.
    Check { file: PathBuf },
    /// Print the complete configuration with every default, commented.
    Default,
}

impl ConfigCommand {
    pub fn run(self) -> ExitCode {
        match self {
            ConfigCommand::Default => {
                print!("{DEFAULT_TOML}");
                ExitCode::SUCCESS
            }
            ConfigCommand::Check { file } => match load(Some(&file)) {
                Ok(loaded) => {
                    for warning in &loaded.warnings {
                        eprintln!("warning: {}", warning.render(&loaded.file));
                    }
                    println!("{}: configuration is valid", loaded.file);
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("{error}");
                    ExitCode::from(USAGE_ERROR)
                }
            },
        }
    }
}
