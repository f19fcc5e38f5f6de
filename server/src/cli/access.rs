//! `hyok access grant|revoke|list|owned|obtained`.

use clap::Subcommand;
use serde_json::json;

use super::client::{print, ApiClient, ClientOptions};
use super::users::{lines, text};

#[derive(Subcommand)]
pub enum AccessCommand {
    /// Grant OPERATION (e.g. encrypt, decrypt, get-attributes) on ID (or *) to IDENTITY (or *).
    ///
    /// IDENTITY is a user name, the XKS key store `xks:<store>`, an AWS principal
    /// `aws-principal:<awsPrincipalArn>`, or an AWS service
    /// `aws-service:<service>.amazonaws.com`.
    Grant {
        id: String,
        identity: String,
        #[arg(required = true, num_args = 1..)]
        operations: Vec<String>,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Revoke grants of OPERATION on ID from IDENTITY.
    Revoke {
        id: String,
        identity: String,
        #[arg(required = true, num_args = 1..)]
        operations: Vec<String>,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// List the grants on an object.
    List {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// List the objects you own.
    Owned {
        #[command(flatten)]
        client: ClientOptions,
    },
    /// List the grants that apply to you.
    Obtained {
        #[command(flatten)]
        client: ClientOptions,
    },
}

fn grant_lines(grants: &serde_json::Value) -> String {
    lines(grants, |g| {
        format!(
            "{}\t{}\t{}\t(by {})",
            text(g, "object_uid"),
            text(g, "identity"),
            text(g, "operation"),
            text(g, "granted_by")
        )
    })
}

/// POST /access/grant or /access/revoke.
fn change(
    api: &ApiClient,
    route: &str,
    id: &str,
    identity: &str,
    operations: &[String],
) -> Result<serde_json::Value, String> {
    let body = json!({ "object": id, "identity": identity, "operations": operations });
    api.post(&["access", route], &body)
}

impl AccessCommand {
    pub fn run(self) -> Result<(), String> {
        match self {
            AccessCommand::Grant {
                id,
                identity,
                operations,
                client,
            } => {
                let api = ApiClient::new(&client)?;
                let granted = change(&api, "grant", &id, &identity, &operations)?;
                let object = text(&granted, "object");
                print(api.options(), &granted, &object, || {
                    format!(
                        "granted {} on {object} to {identity}",
                        operations.join(", ")
                    )
                });
            }
            AccessCommand::Revoke {
                id,
                identity,
                operations,
                client,
            } => {
                let api = ApiClient::new(&client)?;
                let revoked = change(&api, "revoke", &id, &identity, &operations)?;
                let removed = text(&revoked, "removed");
                print(api.options(), &revoked, &removed, || {
                    format!("revoked {removed} grant(s) on {id} from {identity}")
                });
            }
            AccessCommand::List { id, client } => {
                let api = ApiClient::new(&client)?;
                let grants = api.get(&["access", "list", &id], &[])?;
                print(api.options(), &grants, &grant_lines(&grants), || {
                    grant_lines(&grants)
                });
            }
            AccessCommand::Owned { client } => {
                let api = ApiClient::new(&client)?;
                let objects = api.get(&["access", "owned"], &[])?;
                let ids = lines(&objects, |o| text(o, "uid"));
                let table = lines(&objects, |o| {
                    format!(
                        "{}\t{}\t{}",
                        text(o, "uid"),
                        text(o, "object_type"),
                        text(o, "state")
                    )
                });
                print(api.options(), &objects, &ids, || table);
            }
            AccessCommand::Obtained { client } => {
                let api = ApiClient::new(&client)?;
                let grants = api.get(&["access", "obtained"], &[])?;
                print(api.options(), &grants, &grant_lines(&grants), || {
                    grant_lines(&grants)
                });
            }
        }
        Ok(())
    }
}
