//! The admin commands' HTTP client: where the server is (`HYOK_URL`), how to prove who
//! we are (`HYOK_TOKEN` or a client certificate), which CA to trust, and how to print.

use std::path::PathBuf;

use clap::Args;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

#[derive(Args, Clone)]
pub struct ClientOptions {
    /// The server's base URL.
    #[arg(
        long,
        env = "HYOK_URL",
        default_value = "http://127.0.0.1:9998",
        global = true
    )]
    pub url: String,
    /// An API token (hyok_<id>_<secret>).
    #[arg(long, env = "HYOK_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// A PEM file of CA certificates to trust for https:// URLs.
    #[arg(long, env = "HYOK_CA_CERT", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// A PEM client certificate (with --client-key) to authenticate with.
    #[arg(long, env = "HYOK_CLIENT_CERT", global = true, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The PEM (PKCS#8) private key of --client-cert.
    #[arg(long, env = "HYOK_CLIENT_KEY", global = true)]
    pub client_key: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only the essential value (for scripts).
    #[arg(long, global = true, conflicts_with = "json")]
    pub quiet: bool,
}

pub struct ApiClient {
    http: Client,
    options: ClientOptions,
}

impl ApiClient {
    pub fn new(options: &ClientOptions) -> Result<ApiClient, String> {
        let mut builder = Client::builder().timeout(std::time::Duration::from_secs(30));
        if let Some(path) = &options.ca_cert {
            let pem = read(path)?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("{}: {e}", path.display()))?
            {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if let (Some(cert), Some(key)) = (&options.client_cert, &options.client_key) {
            let identity = reqwest::Identity::from_pkcs8_pem(&read(cert)?, &read(key)?)
                .map_err(|e| format!("client certificate {}: {e}", cert.display()))?;
            builder = builder.identity(identity);
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(ApiClient {
            http,
            options: options.clone(),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// GET on the route made of `segments` (each percent-encoded), with `query` pairs.
    pub fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Value, String> {
        self.send(self.http.get(self.url(segments)?).query(query))
    }

    pub fn post(&self, segments: &[&str], body: &Value) -> Result<Value, String> {
        self.post_query(segments, &[], body)
    }

    pub fn post_query(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<Value, String> {
        self.send(self.http.post(self.url(segments)?).query(query).json(body))
    }

    /// POSTs bytes of `content_type`; returns the response's bytes.
    pub fn post_bytes(
        &self,
        segments: &[&str],
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, String> {
        let mut request = self
            .http
            .post(self.url(segments)?)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(token) = &self.options.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .map_err(|e| format!("cannot reach hyok at {}: {e}", self.options.url))?;
        if !response.status().is_success() {
            return answer(response).map(|_| Vec::new());
        }
        response
            .bytes()
            .map(|b| b.to_vec())
            .map_err(|e| format!("reading the response: {e}"))
    }

    pub fn delete(&self, segments: &[&str]) -> Result<Value, String> {
        self.send(self.http.delete(self.url(segments)?))
    }

    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, String> {
        let invalid = || format!("HYOK_URL {:?} is not an http(s) base URL", self.options.url);
        let mut url = reqwest::Url::parse(&self.options.url).map_err(|_| invalid())?;
        url.path_segments_mut()
            .map_err(|()| invalid())?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn send(&self, mut request: RequestBuilder) -> Result<Value, String> {
        if let Some(token) = &self.options.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .map_err(|e| format!("cannot reach hyok at {}: {e}", self.options.url))?;
        answer(response)
    }
}

/// The JSON body of a successful response, or the server's error message.
fn answer(response: Response) -> Result<Value, String> {
    let status = response.status();
    let text = response
        .text()
        .map_err(|e| format!("reading the response: {e}"))?;
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if status.is_success() {
        return Ok(body);
    }
    let message = body
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| body.to_string());
    let hint = match status.as_u16() {
        401 => " (set HYOK_TOKEN, or pass --token)",
        _ => "",
    };
    Err(format!("{status}: {message}{hint}"))
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Prints `value` as JSON (`--json`), the essential `quiet` value (`--quiet`), or `human`.
pub fn print(options: &ClientOptions, value: &Value, quiet: &str, human: impl FnOnce() -> String) {
    if options.json {
        println!("{value}");
    } else if options.quiet {
        println!("{quiet}");
    } else {
        println!("{}", human());
    }
}
