//! The KMIP generator's connections: tasks on a small runtime rather than a thread each
//! (a thread per connection costs the generator a context switch per request, CPU a
//! server on the same machine would otherwise have). TTLV over TLS (tokio-openssl),
//! `POST /kmip` on plain http with the lean client, or on https with reqwest.

use std::pin::Pin;

use openssl::ssl::SslConnector;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::raw_http::RawHttp;

/// The largest TTLV response read.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Where the measured connections go.
pub enum Target {
    /// The KMIP port, with the client certificate in the connector.
    Tls {
        address: String,
        connector: SslConnector,
    },
    /// `POST {path}` on a plain http URL, with these headers (the API token).
    Http {
        url: reqwest::Url,
        path: String,
        headers: Vec<(String, String)>,
    },
    /// `POST {url}` on https (reqwest checks the server against `--ca`), with the token.
    Https {
        client: reqwest::Client,
        url: String,
        token: Option<String>,
    },
}

pub enum KmipConnection {
    Tls(Pin<Box<SslStream<TcpStream>>>),
    Http(RawHttp),
    /// reqwest keeps its own connection pool: nothing to open.
    Https,
}

impl KmipConnection {
    pub async fn open(target: &Target) -> Result<KmipConnection, String> {
        match target {
            Target::Tls { address, connector } => {
                let tcp = TcpStream::connect(address)
                    .await
                    .map_err(|e| format!("{address}: {e}"))?;
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                let ssl = connector
                    .configure()
                    .and_then(|c| c.into_ssl("localhost"))
                    .map_err(|e| format!("TLS with {address}: {e}"))?;
                let mut stream = Box::pin(
                    SslStream::new(ssl, tcp).map_err(|e| format!("TLS with {address}: {e}"))?,
                );
                stream
                    .as_mut()
                    .connect()
                    .await
                    .map_err(|e| format!("TLS with {address}: {e}"))?;
                Ok(KmipConnection::Tls(stream))
            }
            Target::Http { url, .. } => RawHttp::connect(url).await.map(KmipConnection::Http),
            Target::Https { .. } => Ok(KmipConnection::Https),
        }
    }

    /// Sends one encoded request message; the HTTP status (200 on TLS) and the encoded
    /// response message. An error is the connection's: open another.
    pub async fn exchange(
        &mut self,
        target: &Target,
        request: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        match (self, target) {
            (KmipConnection::Tls(stream), _) => {
                stream.write_all(request).await.map_err(|e| e.to_string())?;
                let mut header = [0u8; 8];
                stream
                    .read_exact(&mut header)
                    .await
                    .map_err(|e| e.to_string())?;
                let length =
                    u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
                if length > MAX_MESSAGE {
                    return Err(format!("a response of {length} bytes"));
                }
                let mut message = header.to_vec();
                message.resize(8 + length, 0);
                stream
                    .read_exact(&mut message[8..])
                    .await
                    .map_err(|e| e.to_string())?;
                Ok((200, message))
            }
            (KmipConnection::Http(client), Target::Http { path, headers, .. }) => {
                client
                    .post(path, headers, "application/octet-stream", request)
                    .await
            }
            (_, Target::Https { client, url, token }) => {
                let mut call = client
                    .post(url)
                    .header("content-type", "application/octet-stream")
                    .body(request.to_vec());
                if let Some(token) = token {
                    call = call.bearer_auth(token);
                }
                let response = call.send().await.map_err(|e| with_causes(&e))?;
                let status = response.status().as_u16();
                let body = response.bytes().await.map_err(|e| e.to_string())?;
                Ok((status, body.to_vec()))
            }
            (_, target) => Err(format!(
                "a connection of another kind for {}",
                match target {
                    Target::Tls { address, .. } => address.clone(),
                    Target::Http { url, .. } => url.to_string(),
                    Target::Https { url, .. } => url.clone(),
                }
            )),
        }
    }
}

/// An error and what caused it (reqwest's own message alone says only "error sending
/// request"; the cause says which certificate or connection failed).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
