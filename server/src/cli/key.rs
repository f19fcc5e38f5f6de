//! `hyok key …` and `hyok encrypt|decrypt`: key management over KMIP (the server's
//! `/kmip`), as the caller's token or certificate allows. Readable by default, `--json`
//! for scripts, `--quiet` for the one value that matters.

use std::io::Read;

use clap::{Subcommand, ValueEnum};
use hyok_kmip::enums;
use hyok_kmip::registry::tag;
use hyok_kmip::text::to_json;
use hyok_kmip::{Item, Value};
use serde_json::{json, Value as Json};

use super::client::{print, ApiClient, ClientOptions};
use super::kmip_client::{bytes_of, call, enumeration, text_of, uid_item};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an AES key (Pre-Active unless --activate).
    Create {
        /// 128, 192 or 256.
        #[arg(long, default_value_t = 256)]
        bits: i32,
        /// A name for the key (repeatable).
        #[arg(long = "name")]
        names: Vec<String>,
        /// Activate it at once.
        #[arg(long)]
        activate: bool,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// The keys you may see, with their state (optionally only those of a name or state).
    List {
        #[arg(long)]
        name: Option<String>,
        /// PreActive, Active, Deactivated, Compromised, Destroyed, DestroyedCompromised.
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// The key material, in hex (needs the `get` right).
    Get {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Every attribute of a key.
    Attributes {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Pre-Active → Active.
    Activate {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Active → Deactivated (or Compromised with --compromised): no more encryption.
    Revoke {
        id: String,
        #[arg(long)]
        compromised: bool,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Erase the key material (keeps the metadata); revoke an Active key first.
    Destroy {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// A new version of the key; prints the new id.
    Rekey {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Refuse every cryptographic use of the key until unblocked (reversible).
    Block {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
    /// Lift a block.
    Unblock {
        id: String,
        #[command(flatten)]
        client: ClientOptions,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    Gcm,
    Cbc,
}

/// `hyok encrypt` / `hyok decrypt`.
#[derive(clap::Args)]
pub struct CryptoCommand {
    /// The key's id.
    #[arg(long)]
    key: String,
    /// AES-GCM (authenticated) or AES-CBC with PKCS#5 padding.
    #[arg(long, value_enum, default_value = "gcm")]
    mode: Mode,
    /// The data in hex (standard input, raw, when absent).
    #[arg(long)]
    data: Option<String>,
    /// The IV in hex (decrypt; encrypt draws one when absent).
    #[arg(long)]
    iv: Option<String>,
    /// The GCM tag in hex (decrypt).
    #[arg(long)]
    tag: Option<String>,
    /// Additional authenticated data in hex (GCM).
    #[arg(long)]
    aad: Option<String>,
    #[command(flatten)]
    client: ClientOptions,
}

fn hex_arg(name: &str, value: &Option<String>) -> Result<Option<Vec<u8>>, String> {
    value
        .as_deref()
        .map(|v| hex::decode(v.trim()).map_err(|_| format!("--{name} is not hex")))
        .transpose()
}

/// A value as one line of text: the JSON encoding's value form (names for enumerations).
fn value_text(item: &Item) -> String {
    match &item.value {
        Value::Structure(children) => children
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    hyok_kmip::registry::tag_name(c.tag).unwrap_or("?"),
                    value_text(c)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => {
            let json: Json = serde_json::from_str(&to_json(item)).unwrap_or_default();
            match &json["value"] {
                Json::String(text) => text.clone(),
                other => other.to_string(),
            }
        }
    }
}

fn attribute_name(item: &Item) -> String {
    if item.tag == tag::ATTRIBUTE {
        let part = |t| text_of(item, t).unwrap_or_default();
        return format!(
            "{}-{}",
            part(tag::VENDOR_IDENTIFICATION),
            part(tag::ATTRIBUTE_NAME)
        );
    }
    hyok_kmip::registry::tag_name(item.tag)
        .unwrap_or("?")
        .to_string()
}

fn attributes(api: &ApiClient, id: &str) -> Result<Vec<Item>, String> {
    let payload = call(api, "GetAttributes", vec![uid_item(id)])?;
    Ok(payload
        .child(tag::ATTRIBUTES)
        .and_then(Item::children)
        .unwrap_or_default()
        .to_vec())
}

fn attributes_json(attributes: &[Item]) -> Json {
    let mut out = serde_json::Map::new();
    for attribute in attributes {
        let value = if attribute.tag == tag::ATTRIBUTE {
            attribute
                .child(tag::ATTRIBUTE_VALUE)
                .map(value_text)
                .unwrap_or_default()
        } else {
            value_text(attribute)
        };
        match out.get_mut(&attribute_name(attribute)) {
            Some(Json::Array(values)) => values.push(json!(value)),
            Some(single) => *single = json!([single.clone(), value]),
            None => {
                out.insert(attribute_name(attribute), json!(value));
            }
        }
    }
    Json::Object(out)
}

fn name_item(name: &str) -> Result<Item, String> {
    Ok(Item::structure(
        tag::NAME,
        vec![
            Item::text(tag::NAME_VALUE, name),
            Item::enumeration(
                tag::NAME_TYPE,
                enums::NameType::UninterpretedTextString.value(),
            ),
        ],
    ))
}

fn blocked_attribute(blocked: bool) -> Item {
    Item::structure(
        tag::NEW_ATTRIBUTE,
        vec![Item::structure(
            tag::ATTRIBUTE,
            vec![
                Item::text(tag::VENDOR_IDENTIFICATION, "x"),
                Item::text(tag::ATTRIBUTE_NAME, "hyok-blocked"),
                Item::boolean(tag::ATTRIBUTE_VALUE, blocked),
            ],
        )],
    )
}

/// Prints the outcome of a command that changes one key.
fn done(options: &ClientOptions, id: &str, what: &str) {
    print(options, &json!({ "id": id, "done": what }), id, || {
        format!("{id}: {what}")
    });
}

impl KeyCommand {
    pub fn run(self) -> Result<(), String> {
        match self {
            KeyCommand::Create {
                bits,
                names,
                activate,
                client,
            } => {
                let api = ApiClient::new(&client)?;
                let mut attributes = vec![
                    Item::enumeration(
                        tag::CRYPTOGRAPHIC_ALGORITHM,
                        enums::CryptographicAlgorithm::AES.value(),
                    ),
                    Item::integer(tag::CRYPTOGRAPHIC_LENGTH, bits),
                    Item::integer(
                        tag::CRYPTOGRAPHIC_USAGE_MASK,
                        (enums::CryptographicUsageMask::Encrypt.value()
                            | enums::CryptographicUsageMask::Decrypt.value())
                            as i32,
                    ),
                ];
                for name in &names {
                    attributes.push(name_item(name)?);
                }
                let payload = call(
                    &api,
                    "Create",
                    vec![
                        Item::enumeration(
                            tag::OBJECT_TYPE,
                            enums::ObjectType::SymmetricKey.value(),
                        ),
                        Item::structure(tag::ATTRIBUTES, attributes),
                    ],
                )?;
                let id =
                    text_of(&payload, tag::UNIQUE_IDENTIFIER).ok_or("the server returned no id")?;
                if activate {
                    call(&api, "Activate", vec![uid_item(&id)])?;
                }
                let state = if activate { "Active" } else { "PreActive" };
                print(&client, &json!({ "id": id, "state": state }), &id, || {
                    format!("created {id} (AES-{bits}, {state})")
                });
            }
            KeyCommand::List {
                name,
                state,
                client,
            } => {
                let api = ApiClient::new(&client)?;
                let mut criteria = vec![Item::enumeration(
                    tag::OBJECT_TYPE,
                    enums::ObjectType::SymmetricKey.value(),
                )];
                if let Some(name) = &name {
                    criteria.push(name_item(name)?);
                }
                if let Some(state) = &state {
                    criteria.push(Item::enumeration(tag::STATE, enumeration("State", state)?));
                }
                let located = call(
                    &api,
                    "Locate",
                    vec![Item::structure(tag::ATTRIBUTES, criteria)],
                )?;
                let ids: Vec<String> = located
                    .children()
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.tag == tag::UNIQUE_IDENTIFIER)
                    .filter_map(|c| match &c.value {
                        Value::TextString(id) => Some(id.clone()),
                        _ => None,
                    })
                    .collect();
                let mut keys = Vec::with_capacity(ids.len());
                for (n, id) in ids.iter().enumerate() {
                    if !client.json && !client.quiet && ids.len() > 20 {
                        eprint!("\rreading {}/{} keys", n + 1, ids.len());
                    }
                    keys.push(attributes_json(&attributes(&api, id)?));
                }
                if !client.json && !client.quiet && ids.len() > 20 {
                    eprintln!();
                }
                let listing = Json::Array(keys.clone());
                print(&client, &listing, &ids.join("\n"), || {
                    let mut lines = vec!["ID\tSTATE\tALGORITHM\tLENGTH\tNAME".to_string()];
                    for key in &keys {
                        let field = |name: &str| match &key[name] {
                            Json::Null => "-".to_string(),
                            Json::String(text) => text.clone(),
                            other => other.to_string(),
                        };
                        lines.push(format!(
                            "{}\t{}\t{}\t{}\t{}",
                            field("UniqueIdentifier"),
                            field("State"),
                            field("CryptographicAlgorithm"),
                            field("CryptographicLength"),
                            field("Name"),
                        ));
                    }
                    lines.join("\n")
                });
            }
            KeyCommand::Get { id, client } => {
                let api = ApiClient::new(&client)?;
                let payload = call(&api, "Get", vec![uid_item(&id)])?;
                let material = payload
                    .child(tag::SYMMETRIC_KEY)
                    .and_then(|k| k.child(tag::KEY_BLOCK))
                    .and_then(|b| b.child(tag::KEY_VALUE))
                    .and_then(|v| bytes_of(v, tag::KEY_MATERIAL))
                    .ok_or("the server returned no key material")?;
                let material = zeroize::Zeroizing::new(hex::encode(material));
                print(
                    &client,
                    &json!({ "id": id, "key": material.as_str() }),
                    &material,
                    || material.to_string(),
                );
            }
            KeyCommand::Attributes { id, client } => {
                let api = ApiClient::new(&client)?;
                let all = attributes(&api, &id)?;
                let listing = attributes_json(&all);
                print(&client, &listing, &id, || {
                    all.iter()
                        .map(|a| {
                            let value = if a.tag == tag::ATTRIBUTE {
                                a.child(tag::ATTRIBUTE_VALUE)
                                    .map(value_text)
                                    .unwrap_or_default()
                            } else {
                                value_text(a)
                            };
                            format!("{}: {value}", attribute_name(a))
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
            }
            KeyCommand::Activate { id, client } => {
                call(&ApiClient::new(&client)?, "Activate", vec![uid_item(&id)])?;
                done(&client, &id, "activated");
            }
            KeyCommand::Revoke {
                id,
                compromised,
                client,
            } => {
                let code = if compromised {
                    "KeyCompromise"
                } else {
                    "CessationOfOperation"
                };
                let reason = Item::structure(
                    tag::REVOCATION_REASON,
                    vec![Item::enumeration(
                        tag::REVOCATION_REASON_CODE,
                        enumeration("RevocationReasonCode", code)?,
                    )],
                );
                call(
                    &ApiClient::new(&client)?,
                    "Revoke",
                    vec![uid_item(&id), reason],
                )?;
                done(
                    &client,
                    &id,
                    if compromised {
                        "compromised"
                    } else {
                        "deactivated"
                    },
                );
            }
            KeyCommand::Destroy { id, client } => {
                call(&ApiClient::new(&client)?, "Destroy", vec![uid_item(&id)])?;
                done(&client, &id, "destroyed");
            }
            KeyCommand::Rekey { id, client } => {
                let payload = call(&ApiClient::new(&client)?, "ReKey", vec![uid_item(&id)])?;
                let new_id =
                    text_of(&payload, tag::UNIQUE_IDENTIFIER).ok_or("the server returned no id")?;
                print(
                    &client,
                    &json!({ "id": id, "new_id": new_id }),
                    &new_id,
                    || format!("{id} → {new_id}"),
                );
            }
            KeyCommand::Block { id, client } => {
                call(
                    &ApiClient::new(&client)?,
                    "SetAttribute",
                    vec![uid_item(&id), blocked_attribute(true)],
                )?;
                done(&client, &id, "blocked");
            }
            KeyCommand::Unblock { id, client } => {
                call(
                    &ApiClient::new(&client)?,
                    "SetAttribute",
                    vec![uid_item(&id), blocked_attribute(false)],
                )?;
                done(&client, &id, "unblocked");
            }
        }
        Ok(())
    }
}

fn parameters(mode: Mode) -> Result<Item, String> {
    let mut children = vec![Item::enumeration(
        tag::BLOCK_CIPHER_MODE,
        enumeration(
            "BlockCipherMode",
            match mode {
                Mode::Gcm => "GCM",
                Mode::Cbc => "CBC",
            },
        )?,
    )];
    if let Mode::Cbc = mode {
        children.push(Item::enumeration(
            tag::PADDING_METHOD,
            enums::PaddingMethod::PKCS5.value(),
        ));
    }
    Ok(Item::structure(tag::CRYPTOGRAPHIC_PARAMETERS, children))
}

impl CryptoCommand {
    fn data(&self) -> Result<Vec<u8>, String> {
        match hex_arg("data", &self.data)? {
            Some(data) => Ok(data),
            None => {
                let mut data = Vec::new();
                std::io::stdin()
                    .take(16 * 1024 * 1024)
                    .read_to_end(&mut data)
                    .map_err(|e| format!("standard input: {e}"))?;
                Ok(data)
            }
        }
    }

    pub fn encrypt(self) -> Result<(), String> {
        let api = ApiClient::new(&self.client)?;
        let mut payload = vec![
            uid_item(&self.key),
            parameters(self.mode)?,
            Item::bytes(tag::DATA, self.data()?),
        ];
        if let Some(iv) = hex_arg("iv", &self.iv)? {
            payload.push(Item::bytes(tag::IV_COUNTER_NONCE, iv));
        }
        if let Some(aad) = hex_arg("aad", &self.aad)? {
            payload.push(Item::bytes(
                tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
                aad,
            ));
        }
        let answer = call(&api, "Encrypt", payload)?;
        let data = hex::encode(bytes_of(&answer, tag::DATA).unwrap_or_default());
        let iv = bytes_of(&answer, tag::IV_COUNTER_NONCE)
            .map(hex::encode)
            .or(self.iv.clone())
            .unwrap_or_default();
        let auth_tag = bytes_of(&answer, tag::AUTHENTICATED_ENCRYPTION_TAG).map(hex::encode);
        let value = json!({ "data": data, "iv": iv, "tag": auth_tag });
        print(&self.client, &value, &data, || {
            let mut lines = vec![format!("data: {data}"), format!("iv:   {iv}")];
            if let Some(auth_tag) = &auth_tag {
                lines.push(format!("tag:  {auth_tag}"));
            }
            lines.join("\n")
        });
        Ok(())
    }

    pub fn decrypt(self) -> Result<(), String> {
        let api = ApiClient::new(&self.client)?;
        let iv = hex_arg("iv", &self.iv)?.ok_or("decrypt needs --iv")?;
        let mut payload = vec![
            uid_item(&self.key),
            parameters(self.mode)?,
            Item::bytes(tag::DATA, self.data()?),
            Item::bytes(tag::IV_COUNTER_NONCE, iv),
        ];
        if let Some(aad) = hex_arg("aad", &self.aad)? {
            payload.push(Item::bytes(
                tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
                aad,
            ));
        }
        if let Some(auth_tag) = hex_arg("tag", &self.tag)? {
            payload.push(Item::bytes(tag::AUTHENTICATED_ENCRYPTION_TAG, auth_tag));
        }
        let answer = call(&api, "Decrypt", payload)?;
        let plaintext = bytes_of(&answer, tag::DATA).unwrap_or_default();
        if self.client.json {
            println!("{}", json!({ "data": hex::encode(&plaintext) }));
        } else {
            use std::io::Write;
            std::io::stdout()
                .write_all(&plaintext)
                .map_err(|e| format!("standard output: {e}"))?;
        }
        Ok(())
    }
}
