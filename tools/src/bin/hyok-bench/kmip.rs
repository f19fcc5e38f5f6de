//! `hyok-bench kmip`: load for a KMIP server (hyok or another) over TTLV/TLS on the KMIP
//! port or over HTTP(S) `POST /kmip`: Encrypt (AES-GCM), Get, Create or Locate, from
//! connections that are tasks on `--threads` generator threads, closed loop or at a fixed
//! rate, one operation per request message or `--batch` of them; prints requests/s,
//! operations/s, errors by kind and latency percentiles (`--json`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hyok_kmip::enums;
use hyok_kmip::message::RequestMessage;
use hyok_kmip::registry::{tag, Version};
use hyok_kmip::{decode, encode, Item, Limits, Value};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};

use crate::kmip_connection::{KmipConnection, Target};
use crate::tally::{first_request, report, Tally};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum KmipOperation {
    /// AES-256-GCM.
    Encrypt,
    Get,
    Create,
    /// Locate by Name (one of the run's keys).
    Locate,
    /// Locate by Object Type and State (the run's Active symmetric keys).
    LocateTypeState,
    /// Locate by a custom attribute (x-hyok-bench-run, which only the run's keys carry).
    LocateCustom,
    /// Sign with an RSA-2048 private key (PKCS#1 v1.5, SHA-256).
    SignRsa2048,
    /// Sign with an ECDSA P-256 private key (SHA-256).
    SignEcdsaP256,
    /// MAC with an HMAC-SHA-256 key.
    MacHmacSha256,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Transport {
    /// TTLV over TLS on the KMIP port (client certificate).
    Tls,
    /// TTLV over HTTP(S) `POST /kmip` (API token).
    Http,
}

#[derive(Args)]
pub struct KmipBench {
    #[arg(long, value_enum, default_value = "tls")]
    transport: Transport,
    /// The KMIP port's address (tls).
    #[arg(long, default_value = "127.0.0.1:5696")]
    address: String,
    /// The server's base URL (http).
    #[arg(long, env = "HYOK_URL", default_value = "http://127.0.0.1:9998")]
    url: String,
    /// An API token (http).
    #[arg(long, env = "HYOK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Client certificate and key (tls), and the CA of the server's certificate (tls, and
    /// https URLs).
    #[arg(long)]
    cert: Option<PathBuf>,
    #[arg(long)]
    key: Option<PathBuf>,
    #[arg(long)]
    ca: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "encrypt")]
    operation: KmipOperation,
    /// Keys created and activated before the run; requests cycle through them.
    #[arg(long, default_value_t = 10)]
    keys: usize,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Bytes of data per Encrypt.
    #[arg(long, default_value_t = 64)]
    payload_bytes: usize,
    /// Total requests per second (fixed-rate mode); absent: closed loop.
    #[arg(long)]
    rate: Option<u32>,
    /// Stop after this many requests in all (and at --duration at the latest).
    #[arg(long)]
    requests: Option<u64>,
    #[arg(skip)]
    sent: AtomicU64,
    /// Generator threads: the connections are tasks on them.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Batch items per request message: the measured operation, repeated (KMIP batches;
    /// every item must succeed for the request to count as one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch: u16,
    #[arg(long)]
    json: bool,
}

/// One KMIP 2.1 request of one batch item, encoded.
fn request(operation: enums::Operation, payload: Vec<Item>) -> Vec<u8> {
    batched(operation, payload, 1)
}

/// One KMIP 2.1 request of `items` batch items, each `operation` on `payload`, encoded.
fn batched(operation: enums::Operation, payload: Vec<Item>, items: u16) -> Vec<u8> {
    let mut message = RequestMessage::single(Version::V2_1, operation.value(), payload);
    let item = message.batch_item[0].clone();
    message.batch_item.resize(usize::from(items), item);
    message.request_header.batch_count = i32::from(items);
    encode(&message.to_item(tag::REQUEST_MESSAGE)).expect("a request encodes")
}

fn name_attribute(name: &str) -> Item {
    Item::structure(
        tag::NAME,
        vec![
            Item::text(tag::NAME_VALUE, name),
            Item::enumeration(
                tag::NAME_TYPE,
                enums::NameType::UninterpretedTextString.value(),
            ),
        ],
    )
}

/// Algorithm, length and usage mask attributes.
fn key_attributes(
    algorithm: enums::CryptographicAlgorithm,
    bits: i32,
    usage: &[enums::CryptographicUsageMask],
) -> Vec<Item> {
    let mask = usage.iter().fold(0, |mask, bit| mask | bit.value());
    vec![
        Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm.value()),
        Item::integer(tag::CRYPTOGRAPHIC_LENGTH, bits),
        Item::integer(tag::CRYPTOGRAPHIC_USAGE_MASK, mask as i32),
    ]
}

/// An AES-256 key for Encrypt and Decrypt.
fn aes_attributes() -> Vec<Item> {
    use enums::CryptographicUsageMask as U;
    key_attributes(
        enums::CryptographicAlgorithm::AES,
        256,
        &[U::Encrypt, U::Decrypt],
    )
}

/// The custom attribute each key of a run carries (its value: the run's tag).
fn run_attribute(run_tag: &str) -> Item {
    Item::structure(
        tag::ATTRIBUTE,
        vec![
            Item::text(tag::VENDOR_IDENTIFICATION, "x"),
            Item::text(tag::ATTRIBUTE_NAME, "hyok-bench-run"),
            Item::text(tag::ATTRIBUTE_VALUE, run_tag),
        ],
    )
}

/// A named AES key of the run `run_tag`.
fn create_request(name: &str, run_tag: &str) -> Vec<u8> {
    let mut attributes = aes_attributes();
    attributes.push(name_attribute(name));
    attributes.push(run_attribute(run_tag));
    create_symmetric(attributes)
}

fn create_symmetric(attributes: Vec<Item>) -> Vec<u8> {
    request(enums::Operation::Create, create_payload(attributes))
}

/// `items` Creates of unnamed AES-256 keys in one request.
fn create_symmetric_batch(items: u16) -> Vec<u8> {
    batched(
        enums::Operation::Create,
        create_payload(aes_attributes()),
        items,
    )
}

fn create_payload(attributes: Vec<Item>) -> Vec<Item> {
    vec![
        Item::enumeration(tag::OBJECT_TYPE, enums::ObjectType::SymmetricKey.value()),
        Item::structure(tag::ATTRIBUTES, attributes),
    ]
}

/// The outcome of one response to `items` batch items: its first payload, or why the
/// first failed batch item failed.
fn outcome(response: &[u8], items: u16) -> Result<Item, String> {
    let message =
        decode(response, &Limits::default()).map_err(|e| format!("undecodable answer: {e}"))?;
    let answers: Vec<&Item> = message
        .children()
        .unwrap_or_default()
        .iter()
        .filter(|i| i.tag == tag::BATCH_ITEM)
        .collect();
    if answers.len() != usize::from(items) {
        return Err(format!("{} batch items for {items}", answers.len()));
    }
    let mut outcomes = answers.into_iter().map(item_outcome);
    let first = outcomes.next().ok_or("no batch item")??;
    outcomes.find(Result::is_err).unwrap_or(Ok(first))
}

fn item_outcome(item: &Item) -> Result<Item, String> {
    match item.child(tag::RESULT_STATUS).map(|s| &s.value) {
        Some(Value::Enumeration(status)) if *status == enums::ResultStatus::Success.value() => {
            Ok(item
                .child(tag::RESPONSE_PAYLOAD)
                .cloned()
                .unwrap_or_else(|| Item::structure(tag::RESPONSE_PAYLOAD, Vec::new())))
        }
        _ => {
            let reason = match item.child(tag::RESULT_REASON).map(|r| &r.value) {
                Some(Value::Enumeration(r)) => {
                    enums::ResultReason::from_value(*r).map_or("?", |r| r.name())
                }
                _ => "?",
            };
            Err(reason.to_string())
        }
    }
}

impl KmipBench {
    /// TLS with the client certificate, checking the server against `--ca`.
    fn tls_connector(&self) -> Result<SslConnector, String> {
        let (Some(cert), Some(key), Some(ca)) = (&self.cert, &self.key, &self.ca) else {
            return Err("--transport tls needs --cert, --key and --ca".into());
        };
        let mut builder =
            SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
        builder
            .set_ca_file(ca)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
        builder
            .set_certificate_chain_file(cert)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        builder
            .set_private_key_file(key, SslFiletype::PEM)
            .map_err(|e| format!("{}: {e}", key.display()))?;
        builder.set_verify(SslVerifyMode::PEER);
        Ok(builder.build())
    }

    /// The request that makes the key named `name` the run `run_tag` uses, and the
    /// response field holding the key's id.
    fn key_request(&self, name: &str, run_tag: &str) -> (Vec<u8>, u32) {
        use enums::CryptographicAlgorithm as A;
        use enums::CryptographicUsageMask as U;
        let pair = |algorithm: A, bits: i32| {
            let mut private = key_attributes(algorithm, bits, &[U::Sign]);
            private.push(name_attribute(name));
            let public = key_attributes(algorithm, bits, &[U::Verify]);
            let request = request(
                enums::Operation::CreateKeyPair,
                vec![
                    Item::structure(tag::PRIVATE_KEY_ATTRIBUTES, private),
                    Item::structure(tag::PUBLIC_KEY_ATTRIBUTES, public),
                ],
            );
            (request, tag::PRIVATE_KEY_UNIQUE_IDENTIFIER)
        };
        match self.operation {
            KmipOperation::SignRsa2048 => pair(A::RSA, 2048),
            KmipOperation::SignEcdsaP256 => pair(A::ECDSA, 256),
            KmipOperation::MacHmacSha256 => {
                let mut attributes = key_attributes(A::HMAC_SHA256, 256, &[U::MACGenerate]);
                attributes.push(name_attribute(name));
                (create_symmetric(attributes), tag::UNIQUE_IDENTIFIER)
            }
            _ => (create_request(name, run_tag), tag::UNIQUE_IDENTIFIER),
        }
    }

    /// The keys to use: created and activated on one connection before the run.
    async fn prepare(&self, target: &Target, tag_name: &str) -> Result<Vec<String>, String> {
        let mut connection = KmipConnection::open(target).await?;
        let mut exchange =
            async |request: &[u8], what: &str| match connection.exchange(target, request).await? {
                (200..=299, answer) => outcome(&answer, 1)
                    .map_err(|reason| format!("preparing keys: {what} failed: {reason}")),
                (status, _) => Err(format!("preparing keys: {what}: HTTP {status}")),
            };
        let mut keys = Vec::new();
        for n in 0..self.keys.max(1) {
            let name = format!("{tag_name}-{n}");
            let (create, id_tag) = self.key_request(&name, tag_name);
            let created = exchange(&create, "Create").await?;
            let uid = match created.child(id_tag).map(|u| &u.value) {
                Some(Value::TextString(uid)) => uid.clone(),
                _ => return Err("preparing keys: Create returned no id".into()),
            };
            let activate = request(
                enums::Operation::Activate,
                vec![Item::text(tag::UNIQUE_IDENTIFIER, &uid)],
            );
            exchange(&activate, "Activate").await?;
            keys.push(uid);
        }
        Ok(keys)
    }

    /// The request each operation sends, per key (Create sends the same one each time).
    fn requests(&self, keys: &[String], tag_name: &str) -> Vec<Vec<u8>> {
        let data = vec![0x5a; self.payload_bytes];
        let measured = |operation, payload| batched(operation, payload, self.batch);
        keys.iter()
            .enumerate()
            .map(|(n, uid)| match self.operation {
                KmipOperation::Encrypt => measured(
                    enums::Operation::Encrypt,
                    vec![
                        Item::text(tag::UNIQUE_IDENTIFIER, uid),
                        Item::structure(
                            tag::CRYPTOGRAPHIC_PARAMETERS,
                            vec![Item::enumeration(
                                tag::BLOCK_CIPHER_MODE,
                                enums::BlockCipherMode::GCM.value(),
                            )],
                        ),
                        Item::bytes(tag::DATA, data.clone()),
                    ],
                ),
                KmipOperation::Get => measured(
                    enums::Operation::Get,
                    vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)],
                ),
                KmipOperation::Create => create_symmetric_batch(self.batch),
                KmipOperation::SignRsa2048 | KmipOperation::SignEcdsaP256 => measured(
                    enums::Operation::Sign,
                    vec![
                        Item::text(tag::UNIQUE_IDENTIFIER, uid),
                        Item::bytes(tag::DATA, data.clone()),
                    ],
                ),
                KmipOperation::MacHmacSha256 => measured(
                    enums::Operation::MAC,
                    vec![
                        Item::text(tag::UNIQUE_IDENTIFIER, uid),
                        Item::bytes(tag::DATA, data.clone()),
                    ],
                ),
                KmipOperation::Locate => measured(
                    enums::Operation::Locate,
                    vec![Item::structure(
                        tag::ATTRIBUTES,
                        vec![Item::structure(
                            tag::NAME,
                            vec![
                                Item::text(tag::NAME_VALUE, format!("{tag_name}-{n}")),
                                Item::enumeration(
                                    tag::NAME_TYPE,
                                    enums::NameType::UninterpretedTextString.value(),
                                ),
                            ],
                        )],
                    )],
                ),
                KmipOperation::LocateTypeState => measured(
                    enums::Operation::Locate,
                    vec![Item::structure(
                        tag::ATTRIBUTES,
                        vec![
                            Item::enumeration(
                                tag::OBJECT_TYPE,
                                enums::ObjectType::SymmetricKey.value(),
                            ),
                            Item::enumeration(tag::STATE, enums::State::Active.value()),
                        ],
                    )],
                ),
                KmipOperation::LocateCustom => measured(
                    enums::Operation::Locate,
                    vec![Item::structure(
                        tag::ATTRIBUTES,
                        vec![run_attribute(tag_name)],
                    )],
                ),
            })
            .collect()
    }

    pub fn run(self) -> Result<(), String> {
        let runtime = crate::generator_runtime(self.threads)?;
        runtime.block_on(Arc::new(self).run_on_runtime())
    }

    async fn run_on_runtime(self: Arc<Self>) -> Result<(), String> {
        let target = Arc::new(self.target()?);
        let run_tag = format!("hyok-bench-{}", uuid::Uuid::new_v4().simple());
        let keys = self.prepare(&target, &run_tag).await?;
        let requests = Arc::new(self.requests(&keys, &run_tag));
        let deadline = Instant::now() + Duration::from_secs(self.duration);
        let started = Instant::now();
        let connections = self.connections.max(1);
        let interval = self
            .rate
            .map(|rate| Duration::from_secs_f64(connections as f64 / f64::from(rate.max(1))));
        let tasks: Vec<_> = (0..connections)
            .map(|n| {
                let (bench, requests, target) = (self.clone(), requests.clone(), target.clone());
                tokio::spawn(async move {
                    bench
                        .connection(n, &target, &requests, deadline, interval)
                        .await
                })
            })
            .collect();
        let mut total = Tally::default();
        for task in tasks {
            total.absorb(task.await.unwrap_or_default());
        }
        let operation = match self.operation {
            KmipOperation::Encrypt => "kmip encrypt",
            KmipOperation::Get => "kmip get",
            KmipOperation::Create => "kmip create",
            KmipOperation::Locate => "kmip locate",
            KmipOperation::LocateTypeState => "kmip locate type+state",
            KmipOperation::LocateCustom => "kmip locate custom-attribute",
            KmipOperation::SignRsa2048 => "kmip sign rsa-2048",
            KmipOperation::SignEcdsaP256 => "kmip sign ecdsa-p256",
            KmipOperation::MacHmacSha256 => "kmip mac hmac-sha256",
        };
        report(
            operation,
            connections,
            usize::from(self.batch),
            self.json,
            total,
            started.elapsed(),
        );
        Ok(())
    }

    /// Whether another request may go (--requests not yet reached).
    fn take_request(&self) -> bool {
        self.requests
            .is_none_or(|limit| self.sent.fetch_add(1, Ordering::Relaxed) < limit)
    }

    /// Where the connections go: the KMIP port, or `/kmip` on the URL.
    fn target(&self) -> Result<Target, String> {
        match self.transport {
            Transport::Tls => Ok(Target::Tls {
                address: self.address.clone(),
                connector: self.tls_connector()?,
            }),
            Transport::Http if self.url.starts_with("http://") => {
                let url =
                    reqwest::Url::parse(&self.url).map_err(|e| format!("{}: {e}", self.url))?;
                let path = format!("{}/kmip", url.path().trim_end_matches('/'));
                let headers = self
                    .token
                    .iter()
                    .map(|token| ("authorization".to_string(), format!("Bearer {token}")))
                    .collect();
                Ok(Target::Http { url, path, headers })
            }
            Transport::Http => {
                let mut builder = reqwest::Client::builder();
                if let Some(ca) = &self.ca {
                    let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
                    let certificate = reqwest::Certificate::from_pem(&pem)
                        .map_err(|e| format!("{}: {e}", ca.display()))?;
                    builder = builder.add_root_certificate(certificate);
                }
                Ok(Target::Https {
                    client: builder.build().map_err(|e| e.to_string())?,
                    url: format!("{}/kmip", self.url.trim_end_matches('/')),
                    token: self.token.clone(),
                })
            }
        }
    }

    /// One measured connection as a task: requests in a closed loop (or at the fixed
    /// rate), another connection opened after a transport error.
    async fn connection(
        &self,
        n: usize,
        target: &Target,
        requests: &[Vec<u8>],
        deadline: Instant,
        interval: Option<Duration>,
    ) -> Tally {
        let mut tally = Tally::default();
        let mut connection = None;
        let mut next = Instant::now();
        let mut index = first_request(n, self.connections, requests.len());
        while Instant::now() < deadline && self.take_request() {
            if let Some(interval) = interval {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
            }
            let started = Instant::now();
            let open = match connection.as_mut() {
                Some(open) => open,
                None => match KmipConnection::open(target).await {
                    Ok(opened) => connection.insert(opened),
                    Err(error) => {
                        tally.count_error(format!("connect: {error}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let request = &requests[index % requests.len()];
            index += 1;
            let result = match open.exchange(target, request).await {
                Ok((200..=299, answer)) => outcome(&answer, self.batch).map(|_| ()),
                Ok((status, _)) => Err(format!("HTTP {status}")),
                Err(error) => {
                    connection = None;
                    Err(format!("transport: {error}"))
                }
            };
            if let Err(kind) = result {
                tally.count_error(kind);
            }
            tally.record_since(started);
        }
        tally
    }
}
