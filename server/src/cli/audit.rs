//! `hyok audit verify|tail|export`: check the chains, follow the log, export it as JSON
//! lines for a SIEM.

use std::time::{Duration, UNIX_EPOCH};

use clap::Subcommand;
use serde_json::Value;

use super::client::{ApiClient, ClientOptions};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check every chain; exits 1 and names the first broken entry if one is broken.
    Verify {
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Print the latest entries as JSON lines.
    Tail {
        /// How many entries.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: i64,
        /// Keep printing new entries as they are written.
        #[arg(short, long)]
        follow: bool,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Print every entry since a time as JSON lines.
    Export {
        /// RFC 3339 time (2026-11-23T04:00:00Z) or Unix milliseconds; default: everything.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        client: ClientOptions,
    },
}

impl AuditCommand {
    pub fn run(self) -> Result<(), String> {
        match self {
            AuditCommand::Verify { client } => verify(&ApiClient::new(&client)?),
            AuditCommand::Tail {
                lines,
                follow,
                client,
            } => {
                let api = ApiClient::new(&client)?;
                let latest = api.get(
                    &["admin", "audit", "tail"],
                    &[("limit", &lines.to_string())],
                )?;
                let mut last = print_lines(&latest).unwrap_or(0);
                if !follow {
                    return Ok(());
                }
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    let newer =
                        api.get(&["admin", "audit", "tail"], &[("after", &last.to_string())])?;
                    last = print_lines(&newer).unwrap_or(last);
                }
            }
            AuditCommand::Export { since, client } => {
                let api = ApiClient::new(&client)?;
                let since = since
                    .as_deref()
                    .map(parse_time)
                    .transpose()?
                    .unwrap_or(0)
                    .to_string();
                let mut after = 0;
                loop {
                    let query = [
                        ("since", since.as_str()),
                        ("after", &after.to_string()),
                        ("limit", "1000"),
                    ];
                    let page = api.get(&["admin", "audit", "export"], &query)?;
                    match print_lines(&page) {
                        Some(last) => after = last,
                        None => return Ok(()),
                    }
                }
            }
        }
    }
}

fn verify(api: &ApiClient) -> Result<(), String> {
    let answer = api.get(&["admin", "audit", "verify"], &[])?;
    let verification = &answer["verification"];
    if api.options().json {
        println!("{answer}");
    }
    let breaches = verification["breaches"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if breaches.is_empty() {
        if !api.options().json {
            let pruned = match verification["pruned"].as_u64() {
                Some(pruned) if pruned > 0 => {
                    format!(" ({pruned} earlier ones pruned under retain_days)")
                }
                _ => String::new(),
            };
            println!(
                "audit log intact: {} chains, {} entries{pruned}",
                verification["chains"], verification["entries"]
            );
        }
        return Ok(());
    }
    let described: Vec<String> = breaches
        .iter()
        .map(|b| {
            let entry = match b["entry_id"].as_i64() {
                Some(id) => format!("entry id {id}"),
                None => "end of chain".into(),
            };
            format!(
                "chain {} broken at seq {} ({entry}): {}",
                b["node"].as_str().unwrap_or("?"),
                b["seq"],
                b["reason"].as_str().unwrap_or("?")
            )
        })
        .collect();
    Err(format!("audit log BROKEN\n{}", described.join("\n")))
}

/// Prints each entry as a JSON line; returns the last id printed.
fn print_lines(entries: &Value) -> Option<i64> {
    let entries = entries.as_array()?;
    for entry in entries {
        println!("{entry}");
    }
    entries.last().and_then(|entry| entry["id"].as_i64())
}

fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(millis) = text.parse::<i64>() {
        return Ok(millis);
    }
    let time = humantime::parse_rfc3339_weak(text).map_err(|e| {
        format!("--since {text:?}: use RFC 3339 (2026-11-23T04:00:00Z) or Unix milliseconds ({e})")
    })?;
    let since_epoch = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| format!("--since {text:?} is before 1970"))?;
    i64::try_from(since_epoch.as_millis()).map_err(|_| format!("--since {text:?} is too far away"))
}
