//! The `hyok` command line: `serve`, configuration helpers, development certificates,
//! and the admin commands, which are clients of a running server.

mod access;
mod audit;
mod client;
mod config_commands;
mod dev_certs;
mod key;
mod keystore;
mod kmip_client;
mod tokens;
mod ttlv;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hyok",
    version,
    about = "hyok: hold-your-own-key key management server (KMIP, AWS XKS)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (embedded defaults without a configuration file).
    Serve {
        /// The configuration file.
        #[arg(long, env = "HYOK_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Check or print configuration.
    #[command(subcommand)]
    Config(config_commands::ConfigCommand),
    /// Keys, over KMIP: create, list, get, attributes, lifecycle, re-key, block.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Encrypt data with a key (AES-GCM or AES-CBC), over KMIP.
    Encrypt(key::CryptoCommand),
    /// Decrypt data with a key, over KMIP; the plaintext goes to standard output.
    Decrypt(key::CryptoCommand),
    /// Manage users (admin).
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage API tokens (admin).
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// The master key: status and rotation (admin).
    #[command(subcommand)]
    Keystore(keystore::KeystoreCommand),
    /// Grants: who may do what with which object.
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// The audit log: verify, tail, export.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// TLS helpers.
    #[command(subcommand)]
    Tls(dev_certs::TlsCommand),
    /// KMIP messages: convert between TTLV, hex, XML, JSON and JSON-TTLV.
    Ttlv(ttlv::TtlvCommand),
}

/// Exit status 2: the configuration or the command line is wrong.
pub const USAGE_ERROR: u8 = 2;

pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve { config } => return serve(config),
        Command::Config(command) => return command.run(),
        Command::User(command) => command.run(),
        Command::Token(command) => command.run(),
        Command::Tls(command) => command.run(),
        Command::Keystore(command) => command.run(),
        Command::Access(command) => command.run(),
        Command::Audit(command) => command.run(),
        Command::Ttlv(command) => command.run(),
        Command::Key(command) => command.run(),
        Command::Encrypt(command) => command.encrypt(),
        Command::Decrypt(command) => command.decrypt(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hyok: error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let loaded = match crate::config::load(config.as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("hyok: invalid configuration:\n{error}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let _logs = crate::logging::init(&loaded.config.logging);
    match actix_web::rt::System::new().block_on(crate::serve::run(loaded, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("cannot start: {error}");
            eprintln!("hyok: error: {error}");
            ExitCode::FAILURE
        }
    }
}
