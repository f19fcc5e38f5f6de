//! `hyok-bench xks`: load for any XKS proxy (hyok or another), with real SigV4 signatures
//! made fresh for every request, closed-loop (each connection sends as fast as answers
//! come) or at a fixed rate; prints requests/s, errors by kind and latency percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use clap::{Args, ValueEnum};
use hyok_xks::sigv4::{sign, Credential};
use serde_json::{json, Value};

use crate::raw_http::RawHttp;
use crate::tally::{first_request, report, Tally};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum XksOperation {
    Metadata,
    Encrypt,
    Decrypt,
}

#[derive(Args)]
pub struct XksBench {
    /// The proxy's base URL.
    #[arg(long, default_value = "http://127.0.0.1:9998")]
    url: String,
    /// The proxy's URI prefix (before /kms/xks/v1).
    #[arg(long, default_value = "/aws")]
    prefix: String,
    /// External key ids, comma separated; requests cycle through them.
    #[arg(long, value_delimiter = ',', required_unless_present = "keys_file")]
    keys: Vec<String>,
    /// A file of external key ids, one per line (for more than a command line holds).
    #[arg(long, conflicts_with = "keys")]
    keys_file: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "encrypt")]
    operation: XksOperation,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Plaintext bytes per encrypt.
    #[arg(long, default_value_t = 32)]
    payload_bytes: usize,
    /// Total requests per second (fixed-rate mode); absent: closed loop.
    #[arg(long)]
    rate: Option<u32>,
    /// Generator threads. One leaves the most CPU to a server on the same machine (and
    /// the fewest threads competing for it); raise it against a remote server.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[arg(long, env = "HYOK_XKS_ACCESS_KEY_ID")]
    access_key_id: String,
    #[arg(long, env = "HYOK_XKS_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_access_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = hyok_xks::SIGV4_SERVICE)]
    service: String,
    /// A PEM file of the CA that signed an https `--url`'s certificate (default: the
    /// system's root certificates).
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// `--ca`, read.
    #[arg(skip)]
    root: Option<reqwest::Certificate>,
}

impl XksBench {
    pub async fn run(mut self) -> Result<(), String> {
        if let Some(file) = &self.keys_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("--keys-file {}: {e}", file.display()))?;
            self.keys = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect();
            if self.keys.is_empty() {
                return Err(format!("--keys-file {}: no key ids", file.display()));
            }
        }
        if let Some(ca) = &self.ca {
            let pem = std::fs::read(ca).map_err(|e| format!("--ca {}: {e}", ca.display()))?;
            let root = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("--ca {}: {e}", ca.display()))?;
            self.root = Some(root);
        }
        let url = reqwest::Url::parse(&self.url).map_err(|e| format!("--url: {e}"))?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let bench = Arc::new(self);
        let bodies = Arc::new(bench.bodies(&host).await?);
        let deadline = Instant::now() + Duration::from_secs(bench.duration);
        let started = Instant::now();
        let tasks: Vec<_> = (0..bench.connections.max(1))
            .map(|connection| {
                let (bench, bodies, host) = (bench.clone(), bodies.clone(), host.clone());
                tokio::spawn(
                    async move { bench.connection(connection, &host, &bodies, deadline).await },
                )
            })
            .collect();
        let mut total = Tally::default();
        for task in tasks {
            total.absorb(task.await.map_err(|e| e.to_string())?);
        }
        let operation = match bench.operation {
            XksOperation::Metadata => "metadata",
            XksOperation::Encrypt => "encrypt",
            XksOperation::Decrypt => "decrypt",
        };
        report(
            operation,
            bench.connections,
            1,
            bench.json,
            total,
            started.elapsed(),
        );
        Ok(())
    }

    /// One request (path, body) per key, shared by all connections so that many keys do not
    /// multiply the generator's memory by the connection count. Metadata and encrypt send
    /// the same body with every key (one copy, so that a call with the ten-thousandth key
    /// costs the generator what a call with the first does); decrypt, the ciphertext of
    /// one encrypt per key, made first.
    async fn bodies(&self, host: &str) -> Result<Vec<(String, Arc<str>)>, String> {
        let client = self.client()?;
        let credential = Credential::new(&self.access_key_id, &self.secret_access_key);
        let metadata = json!({"awsPrincipalArn": "arn:aws:iam::111122223333:role/bench", "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/bench",
                              "kmsOperation": "Encrypt", "kmsRequestId": "hyok-bench"});
        let encrypt = json!({"requestMetadata": metadata, "plaintext": BASE64.encode(vec![0x5a; self.payload_bytes]), "encryptionAlgorithm": "AES_GCM"});
        let encrypt_text: Arc<str> = Arc::from(encrypt.to_string());
        let metadata_text: Arc<str> = Arc::from(json!({"requestMetadata": metadata}).to_string());
        let mut bodies = Vec::new();
        for key in &self.keys {
            let keys = format!("{}/kms/xks/v1/keys/{key}", self.prefix);
            bodies.push(match self.operation {
                XksOperation::Metadata => (format!("{keys}/metadata"), metadata_text.clone()),
                XksOperation::Encrypt => (format!("{keys}/encrypt"), encrypt_text.clone()),
                XksOperation::Decrypt => {
                    let (status, sealed) = self
                        .send(
                            &client,
                            &credential,
                            host,
                            &format!("{keys}/encrypt"),
                            &encrypt_text,
                        )
                        .await?;
                    if status != 200 {
                        return Err(format!(
                            "preparing decrypt: encrypt with {key} answered {status}"
                        ));
                    }
                    let sealed: Value = serde_json::from_str(&sealed).map_err(|e| e.to_string())?;
                    let decrypt = json!({"requestMetadata": metadata, "encryptionAlgorithm": "AES_GCM", "ciphertext": sealed["ciphertext"],
                                         "initializationVector": sealed["initializationVector"], "authenticationTag": sealed["authenticationTag"],
                                         "ciphertextMetadata": sealed["ciphertextMetadata"]});
                    (format!("{keys}/decrypt"), Arc::from(decrypt.to_string()))
                }
            });
        }
        Ok(bodies)
    }

    async fn connection(
        &self,
        connection: usize,
        host: &str,
        texts: &[(String, Arc<str>)],
        deadline: Instant,
    ) -> Tally {
        // Plain http: the lean client, so that the generator is not what gets measured.
        let mut raw = match reqwest::Url::parse(&self.url) {
            Ok(url) if url.scheme() == "http" => RawHttp::connect(&url).await.ok(),
            _ => None,
        };
        // Otherwise (or after the lean client failed) a general client, built only then:
        // it loads the system's root certificates, which costs enough CPU per connection
        // to show in the measurement.
        let mut client: Option<reqwest::Client> = None;
        // One credential per connection, so that its signing key is derived once a day.
        let credential = Credential::new(&self.access_key_id, &self.secret_access_key);
        let interval = self.rate.map(|rate| {
            Duration::from_secs_f64(self.connections.max(1) as f64 / f64::from(rate.max(1)))
        });
        let mut next = Instant::now();
        let mut tally = Tally::default();
        let mut index = first_request(connection, self.connections, texts.len());
        while Instant::now() < deadline {
            if let Some(interval) = interval {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
            }
            let (path, body) = &texts[index % texts.len()];
            index += 1;
            let started = Instant::now();
            let answer = match &mut raw {
                Some(connection) => {
                    let answer = self
                        .send_raw(connection, &credential, host, path, body)
                        .await;
                    if answer.is_err() {
                        // A dropped connection: open another for the next request.
                        if let Ok(url) = reqwest::Url::parse(&self.url) {
                            raw = RawHttp::connect(&url).await.ok();
                        }
                    }
                    answer
                }
                None => match &client {
                    Some(client) => self.send(client, &credential, host, path, body).await,
                    None => match self.client() {
                        Ok(built) => {
                            let client = client.insert(built);
                            self.send(client, &credential, host, path, body).await
                        }
                        Err(error) => Err(error),
                    },
                },
            };
            match answer {
                Ok((200, _)) => {}
                Ok((status, answer)) => {
                    let name = serde_json::from_str::<Value>(&answer)
                        .ok()
                        .and_then(|v| v["errorName"].as_str().map(str::to_string));
                    tally.count_error(format!("{status} {}", name.unwrap_or_default()));
                }
                Err(error) => tally.count_error(format!("transport: {error}")),
            }
            tally.record_since(started);
        }
        tally
    }

    /// A general HTTP(S) client of one connection, trusting `--ca` when given.
    fn client(&self) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder().pool_max_idle_per_host(1);
        if let Some(root) = &self.root {
            builder = builder.add_root_certificate(root.clone());
        }
        builder
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))
    }

    /// The SigV4 headers of a request, signed now.
    fn sign(
        &self,
        credential: &Credential,
        host: &str,
        path: &str,
        body: &str,
    ) -> [(String, String); 2] {
        sign(
            credential,
            &self.region,
            &self.service,
            host,
            path,
            body.as_bytes(),
            SystemTime::now(),
        )
    }

    /// [`XksBench::send`] on the lean client.
    async fn send_raw(
        &self,
        raw: &mut RawHttp,
        credential: &Credential,
        host: &str,
        path: &str,
        body: &str,
    ) -> Result<(u16, String), String> {
        let headers = self.sign(credential, host, path, body);
        let (status, answer) = raw
            .post(path, &headers, "application/json", body.as_bytes())
            .await?;
        Ok((status, String::from_utf8_lossy(&answer).into_owned()))
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        credential: &Credential,
        host: &str,
        path: &str,
        body: &str,
    ) -> Result<(u16, String), String> {
        let headers = self.sign(credential, host, path, body);
        let mut request = client
            .post(format!("{}{path}", self.url.trim_end_matches('/')))
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.map_err(|e| e.to_string())?))
    }
}
