//! `hyok user create|list`.

use clap::{Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::client::{print, ApiClient, ClientOptions};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        name: String,
        #[arg(long, value_enum, default_value = "user")]
        role: RoleArg,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// List users.
    List {
        #[command(flatten)]
        client: ClientOptions,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    User,
}

impl UserCommand {
    pub fn run(self) -> Result<(), String> {
        match self {
            UserCommand::Create { name, role, client } => {
                let role = match role {
                    RoleArg::Admin => "admin",
                    RoleArg::User => "user",
                };
                let api = ApiClient::new(&client)?;
                let user = api.post(&["admin", "users"], &json!({ "name": name, "role": role }))?;
                print(api.options(), &user, &name, || {
                    format!("created user {name} (role {role})")
                });
            }
            UserCommand::List { client } => {
                let api = ApiClient::new(&client)?;
                let users = api.get(&["admin", "users"], &[])?;
                let names = lines(&users, |u| {
                    format!("{}\t{}", text(u, "name"), text(u, "role"))
                });
                print(
                    api.options(),
                    &users,
                    &lines(&users, |u| text(u, "name")),
                    || names,
                );
            }
        }
        Ok(())
    }
}

pub fn text(value: &Value, field: &str) -> String {
    match value.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

pub fn lines(list: &Value, line: impl Fn(&Value) -> String) -> String {
    list.as_array()
        .map(|items| items.iter().map(line).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}
