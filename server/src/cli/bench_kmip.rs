//! `hyok bench kmip`: load for a KMIP server (hyok or another) over TTLV/TLS on the KMIP
//! port or over HTTP(S) `POST /kmip`: Encrypt (AES-GCM), Get, Create or Locate, from
//! connections that are tasks on `--threads` generator threads (https: a blocking
//! reqwest client per thread), closed loop or at a fixed rate; prints requests/s, errors
//! by kind and latency percentiles (`--json`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hyok_kmip::message::RequestMessage;
use hyok_kmip::registry::{self, tag, Version};
use hyok_kmip::{decode, encode, Item, Limits, Value};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslStream, SslVerifyMode};

use super::bench::{first_request, report, Tally};
use super::kmip_lean::{LeanConnection, Target};
use crate::kmip::names::value;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum KmipOperation {
    Encrypt,
    Get,
    Create,
    Locate,
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
    /// Generator threads: the connections are tasks on them (https connections, through
    /// reqwest, each have a thread of their own).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long)]
    json: bool,
}

/// One KMIP 2.1 request of one batch item, encoded.
fn request(operation: &str, payload: Vec<Item>) -> Vec<u8> {
    let message = RequestMessage::single(Version::V2_1, value("Operation", operation), payload);
    encode(&message.to_item(tag::REQUEST_MESSAGE)).expect("a request encodes")
}

fn create_request(name: Option<&str>) -> Vec<u8> {
    let mut attributes = vec![
        Item::enumeration(
            tag::CRYPTOGRAPHIC_ALGORITHM,
            value("CryptographicAlgorithm", "AES"),
        ),
        Item::integer(tag::CRYPTOGRAPHIC_LENGTH, 256),
        Item::integer(
            tag::CRYPTOGRAPHIC_USAGE_MASK,
            (value("CryptographicUsageMask", "Encrypt")
                | value("CryptographicUsageMask", "Decrypt")) as i32,
        ),
    ];
    if let Some(name) = name {
        attributes.push(Item::structure(
            tag::NAME,
            vec![
                Item::text(tag::NAME_VALUE, name),
                Item::enumeration(tag::NAME_TYPE, value("NameType", "UninterpretedTextString")),
            ],
        ));
    }
    request(
        "Create",
        vec![
            Item::enumeration(tag::OBJECT_TYPE, value("ObjectType", "SymmetricKey")),
            Item::structure(tag::ATTRIBUTES, attributes),
        ],
    )
}

/// The outcome of one response: its first payload, or why it failed.
fn outcome(response: &[u8]) -> Result<Item, String> {
    let message =
        decode(response, &Limits::default()).map_err(|e| format!("undecodable answer: {e}"))?;
    let item = message.child(tag::BATCH_ITEM).ok_or("no batch item")?;
    match item.child(tag::RESULT_STATUS).map(|s| &s.value) {
        Some(Value::Enumeration(status)) if *status == value("ResultStatus", "Success") => Ok(item
            .child(tag::RESPONSE_PAYLOAD)
            .cloned()
            .unwrap_or_else(|| Item::structure(tag::RESPONSE_PAYLOAD, Vec::new()))),
        _ => {
            let reason = match item.child(tag::RESULT_REASON).map(|r| &r.value) {
                Some(Value::Enumeration(r)) => registry::enumeration("ResultReason")
                    .and_then(|e| e.name_of(*r, None))
                    .unwrap_or("?"),
                _ => "?",
            };
            Err(reason.to_string())
        }
    }
}

enum Connection {
    Tls(Box<SslStream<TcpStream>>),
    /// HTTP(S): reqwest, which checks an https server against `--ca` (the measured load
    /// on plain `http://` comes from the lean client instead: [`KmipBench::lean_connection`]).
    Https(reqwest::blocking::Client),
}

impl KmipBench {
    fn connect(&self) -> Result<Connection, String> {
        match self.transport {
            Transport::Http => {
                let mut builder = reqwest::blocking::Client::builder().pool_max_idle_per_host(1);
                if let Some(ca) = &self.ca {
                    let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
                    let certificate = reqwest::Certificate::from_pem(&pem)
                        .map_err(|e| format!("{}: {e}", ca.display()))?;
                    builder = builder.add_root_certificate(certificate);
                }
                builder
                    .build()
                    .map(Connection::Https)
                    .map_err(|e| e.to_string())
            }
            Transport::Tls => {
                let connector = self.tls_connector()?;
                let tcp = TcpStream::connect(&self.address)
                    .map_err(|e| format!("{}: {e}", self.address))?;
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                let stream = connector
                    .connect("localhost", tcp)
                    .map_err(|e| format!("TLS with {}: {e}", self.address))?;
                Ok(Connection::Tls(Box::new(stream)))
            }
        }
    }

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

    fn exchange(&self, connection: &mut Connection, request: &[u8]) -> Result<Vec<u8>, String> {
        match connection {
            Connection::Tls(stream) => {
                stream.write_all(request).map_err(|e| e.to_string())?;
                let mut header = [0u8; 8];
                stream.read_exact(&mut header).map_err(|e| e.to_string())?;
                let length =
                    u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
                let mut message = header.to_vec();
                message.resize(8 + length.min(16 * 1024 * 1024), 0);
                stream
                    .read_exact(&mut message[8..])
                    .map_err(|e| e.to_string())?;
                Ok(message)
            }
            Connection::Https(client) => {
                let mut call = client
                    .post(format!("{}/kmip", self.url.trim_end_matches('/')))
                    .header("content-type", "application/octet-stream")
                    .body(request.to_vec());
                if let Some(token) = &self.token {
                    call = call.bearer_auth(token);
                }
                let response = call.send().map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("HTTP {}", response.status()));
                }
                response
                    .bytes()
                    .map(|b| b.to_vec())
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The keys to use: created and activated on one connection before the run.
    fn prepare(&self, tag_name: &str) -> Result<Vec<String>, String> {
        let mut connection = self.connect()?;
        let mut keys = Vec::new();
        for n in 0..self.keys.max(1) {
            let name = format!("{tag_name}-{n}");
            let created = outcome(&self.exchange(&mut connection, &create_request(Some(&name)))?)
                .map_err(|reason| format!("preparing keys: Create failed: {reason}"))?;
            let uid = match created.child(tag::UNIQUE_IDENTIFIER).map(|u| &u.value) {
                Some(Value::TextString(uid)) => uid.clone(),
                _ => return Err("preparing keys: Create returned no id".into()),
            };
            outcome(&self.exchange(
                &mut connection,
                &request("Activate", vec![Item::text(tag::UNIQUE_IDENTIFIER, &uid)]),
            )?)
            .map_err(|reason| format!("preparing keys: Activate failed: {reason}"))?;
            keys.push(uid);
        }
        Ok(keys)
    }

    /// The request each operation sends, per key (Create sends the same one each time).
    fn requests(&self, keys: &[String], tag_name: &str) -> Vec<Vec<u8>> {
        let data = vec![0x5a; self.payload_bytes];
        keys.iter()
            .enumerate()
            .map(|(n, uid)| match self.operation {
                KmipOperation::Encrypt => request(
                    "Encrypt",
                    vec![
                        Item::text(tag::UNIQUE_IDENTIFIER, uid),
                        Item::structure(
                            tag::CRYPTOGRAPHIC_PARAMETERS,
                            vec![Item::enumeration(
                                tag::BLOCK_CIPHER_MODE,
                                value("BlockCipherMode", "GCM"),
                            )],
                        ),
                        Item::bytes(tag::DATA, data.clone()),
                    ],
                ),
                KmipOperation::Get => request("Get", vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)]),
                KmipOperation::Create => create_request(None),
                KmipOperation::Locate => request(
                    "Locate",
                    vec![Item::structure(
                        tag::ATTRIBUTES,
                        vec![Item::structure(
                            tag::NAME,
                            vec![
                                Item::text(tag::NAME_VALUE, format!("{tag_name}-{n}")),
                                Item::enumeration(
                                    tag::NAME_TYPE,
                                    value("NameType", "UninterpretedTextString"),
                                ),
                            ],
                        )],
                    )],
                ),
            })
            .collect()
    }

    pub fn run(self) -> Result<(), String> {
        let run_tag = format!("hyok-bench-{}", uuid::Uuid::new_v4().simple());
        let keys = self.prepare(&run_tag)?;
        let requests = Arc::new(self.requests(&keys, &run_tag));
        let deadline = Instant::now() + Duration::from_secs(self.duration);
        let started = Instant::now();
        let connections = self.connections.max(1);
        let interval = self
            .rate
            .map(|rate| Duration::from_secs_f64(connections as f64 / f64::from(rate.max(1))));
        let bench = Arc::new(self);
        let tallies: Vec<Tally> = if let Some(target) = bench.lean_target()? {
            let target = Arc::new(target);
            let runtime = super::bench::generator_runtime(bench.threads)?;
            runtime.block_on(async {
                let tasks: Vec<_> = (0..connections)
                    .map(|n| {
                        let (bench, requests, target) =
                            (bench.clone(), requests.clone(), target.clone());
                        tokio::spawn(async move {
                            bench
                                .lean_connection(n, &target, &requests, deadline, interval)
                                .await
                        })
                    })
                    .collect();
                let mut tallies = Vec::new();
                for task in tasks {
                    tallies.push(task.await.unwrap_or_default());
                }
                tallies
            })
        } else {
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..connections)
                    .map(|n| {
                        let (bench, requests) = (&bench, &requests);
                        scope.spawn(move || bench.connection(n, requests, deadline, interval))
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().unwrap_or_default())
                    .collect()
            })
        };
        let mut total = Tally::default();
        for tally in tallies {
            total.absorb(tally);
        }
        let operation = match bench.operation {
            KmipOperation::Encrypt => "kmip encrypt",
            KmipOperation::Get => "kmip get",
            KmipOperation::Create => "kmip create",
            KmipOperation::Locate => "kmip locate",
        };
        report(operation, connections, bench.json, total, started.elapsed());
        Ok(())
    }

    /// Where the measured connections go as tasks: the KMIP port, or a plain `http://`
    /// URL; `None` for https (reqwest, a thread per connection).
    fn lean_target(&self) -> Result<Option<Target>, String> {
        match self.transport {
            Transport::Tls => Ok(Some(Target::Tls {
                address: self.address.clone(),
                connector: self.tls_connector()?,
            })),
            Transport::Http if self.url.starts_with("http://") => {
                let url =
                    reqwest::Url::parse(&self.url).map_err(|e| format!("{}: {e}", self.url))?;
                let path = format!("{}/kmip", url.path().trim_end_matches('/'));
                let headers = self
                    .token
                    .iter()
                    .map(|token| ("authorization".to_string(), format!("Bearer {token}")))
                    .collect();
                Ok(Some(Target::Http { url, path, headers }))
            }
            Transport::Http => Ok(None),
        }
    }

    /// One measured connection as a task: requests in a closed loop (or at the fixed
    /// rate), another connection opened after a transport error.
    async fn lean_connection(
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
        while Instant::now() < deadline {
            if let Some(interval) = interval {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
            }
            let started = Instant::now();
            let open = match connection.as_mut() {
                Some(open) => open,
                None => match LeanConnection::open(target).await {
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
                Ok((200..=299, answer)) => outcome(&answer).map(|_| ()),
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

    fn connection(
        &self,
        n: usize,
        requests: &[Vec<u8>],
        deadline: Instant,
        interval: Option<Duration>,
    ) -> Tally {
        let mut tally = Tally::default();
        let mut connection = match self.connect() {
            Ok(connection) => connection,
            Err(error) => {
                tally.count_error(format!("connect: {error}"));
                return tally;
            }
        };
        let mut next = Instant::now();
        let mut index = first_request(n, self.connections, requests.len());
        while Instant::now() < deadline {
            if let Some(interval) = interval {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                next += interval;
            }
            let started = Instant::now();
            let result = self
                .exchange(&mut connection, &requests[index % requests.len()])
                .and_then(|answer| outcome(&answer).map(|_| ()));
            index += 1;
            if let Err(kind) = result {
                tally.count_error(kind);
            }
            tally.record_since(started);
        }
        tally
    }
}
