//! `hyok token create|list|revoke`.

use clap::Subcommand;
use serde_json::json;

use super::client::{print, ApiClient, ClientOptions};
use super::users::{lines, text};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a user; it is shown only this once.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: Option<String>,
        /// Lifetime in days (default: no expiry).
        #[arg(long)]
        expires_in_days: Option<u64>,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Revoke a token by id: it stops working at once.
    Revoke {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
}

impl TokenCommand {
    pub fn run(self) -> Result<(), String> {
        match self {
            TokenCommand::Create {
                user,
                label,
                expires_in_days,
                client,
            } => {
                let api = ApiClient::new(&client)?;
                let expires_in_seconds = expires_in_days.map(|days| days.saturating_mul(86_400));
                let body = json!({ "user": user, "label": label, "expires_in_seconds": expires_in_seconds });
                let issued = api.post(&["admin", "tokens"], &body)?;
                let token = text(&issued, "token");
                print(api.options(), &issued, &token, || {
                    format!(
                        "token {} for {user} (shown only once):\n{token}",
                        text(&issued, "id")
                    )
                });
            }
            TokenCommand::List { user, client } => {
                let api = ApiClient::new(&client)?;
                let query: Vec<(&str, &str)> =
                    user.iter().map(|user| ("user", user.as_str())).collect();
                let tokens = api.get(&["admin", "tokens"], &query)?;
                let table = lines(&tokens, |t| {
                    let state = if t["revoked_at"].is_null() {
                        "active"
                    } else {
                        "revoked"
                    };
                    format!(
                        "{}\t{}\t{state}\t{}",
                        text(t, "id"),
                        text(t, "user_name"),
                        text(t, "label")
                    )
                });
                print(
                    api.options(),
                    &tokens,
                    &lines(&tokens, |t| text(t, "id")),
                    || table,
                );
            }
            TokenCommand::Revoke { id, client } => {
                let api = ApiClient::new(&client)?;
                api.delete(&["admin", "tokens", &id])?;
                print(api.options(), &json!({ "revoked": id }), &id, || {
                    format!("revoked token {id}")
                });
            }
        }
        Ok(())
    }
}
