//! `hyok keystore status|rotate`.

use clap::Subcommand;
use serde_json::{json, Value};

use super::client::{print, ApiClient, ClientOptions};
use super::users::{lines, text};

#[derive(Subcommand)]
pub enum KeystoreCommand {
    /// The master key: where it lives, its versions, how many keys each one wraps.
    Status {
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Create a new master key version and re-wrap every key under it, online.
    Rotate {
        /// Return only when every key is re-wrapped.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        client: ClientOptions,
    },
}

impl KeystoreCommand {
    pub fn run(self) -> Result<(), String> {
        match self {
            KeystoreCommand::Status { client } => {
                let api = ApiClient::new(&client)?;
                let status = api.get(&["admin", "keystore", "status"], &[])?;
                let current = text(&status, "current_version");
                print(api.options(), &status, &current, || {
                    let versions = lines(&status["versions"], |v| {
                        format!(
                            "  version {}\t{}\t{} objects",
                            text(v, "version"),
                            text(v, "state"),
                            text(v, "objects")
                        )
                    });
                    format!(
                        "{} keystore, master key {} (version {current}){}\nre-wrap running: {}\n{versions}",
                        text(&status, "kind"),
                        text(&status, "key_id"),
                        device(&status),
                        text(&status, "rewrap_running"),
                    )
                });
            }
            KeystoreCommand::Rotate { wait, client } => {
                let api = ApiClient::new(&client)?;
                let query = if wait {
                    [("wait", "true")].as_slice()
                } else {
                    &[]
                };
                let rotated =
                    api.post_query(&["admin", "keystore", "rotate"], query, &json!({}))?;
                let version = text(&rotated, "version");
                print(api.options(), &rotated, &version, || {
                    match &rotated["rewrap"] {
                    Value::Object(report) => format!(
                        "master key version {version} is current; re-wrapped {} keys ({} failed)",
                        report.get("rewrapped").cloned().unwrap_or_default(),
                        report.get("failed").and_then(Value::as_array).map_or(0, Vec::len)
                    ),
                    _ => format!("master key version {version} is current; re-wrapping in the background (see hyok keystore status)"),
                }
                });
            }
        }
        Ok(())
    }
}

fn device(status: &Value) -> String {
    match status["device"].as_str() {
        Some(device) => format!(" in {device}"),
        None => String::new(),
    }
}
