//! The KMIP listener (`[kmip]`, port 5696): binary TTLV over TLS with a required client
//! certificate, many requests per connection, many connections, on actix's async server.
//! A message that cannot be decoded, or a frame that is not a message or is over the size
//! limit, gets an Invalid Message answer and the connection goes on (a frame over 64 MiB
//! is answered, then the connection is closed); so is a connection idle for
//! `[kmip] idle_timeout_seconds`, one over the connection caps (see `kmip_caps`), and,
//! once the server stops gracefully, a connection between two requests.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_server::{GracefulShutdownSignal, Server};
use actix_service::{fn_service, ServiceFactoryExt};
use actix_tls::accept::openssl::{Acceptor, TlsStream};
use actix_web::rt::net::TcpStream;
use actix_web::web;
use hyok_kmip::registry::Version;
use hyok_kmip::text::message_version;
use hyok_kmip::{decode, encode, Item, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::kmip_caps::ConnectionCaps;
use super::peer::common_name;
use super::tls;
use crate::auth::caller_of_certificate;
use crate::config::Config;
use crate::kmip_ops;
use crate::state::AppState;

const HEADER: usize = 8;
/// The largest frame skipped to keep a connection after refusing it (64 MiB); beyond,
/// the connection is closed after the refusal.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Binds the KMIP listener and starts serving; returns it with its address.
pub fn listener(
    config: &Config,
    state: web::Data<AppState>,
) -> Result<(Server, SocketAddr), String> {
    let acceptor = tls::kmip_acceptor(&config.tls)?.build();
    let where_ = format!("{}:{}", config.kmip.host, config.kmip.port);
    let socket = TcpListener::bind((config.kmip.host.as_str(), config.kmip.port))
        .map_err(|error| format!("cannot listen on {where_} (kmip.host, kmip.port): {error}"))?;
    let address = socket
        .local_addr()
        .map_err(|error| format!("the KMIP listener on {where_}: {error}"))?;
    let mut builder = Server::build()
        .shutdown_timeout(config.http.shutdown_timeout_seconds)
        .disable_signals();
    if config.http.workers > 0 {
        builder = builder.workers(config.http.workers);
    }
    let stopping = builder.graceful_shutdown_signal();
    let caps = ConnectionCaps::new(
        config.kmip.max_connections,
        config.kmip.max_connections_per_certificate,
    );
    let idle = Duration::from_secs(config.kmip.idle_timeout_seconds);
    let server = builder
        .listen("kmip", socket, move || {
            let state = state.clone();
            let stopping = stopping.clone();
            let caps = caps.clone();
            Acceptor::new(acceptor.clone())
                .map_err(|error| tracing::debug!("KMIP TLS handshake failed: {error:?}"))
                .and_then(fn_service(move |stream: TlsStream<TcpStream>| {
                    let state = state.clone();
                    let stopping = stopping.clone();
                    let caps = caps.clone();
                    async move {
                        serve(&state, stream, &stopping, &caps, idle).await;
                        Ok::<_, ()>(())
                    }
                }))
        })
        .map_err(|error| format!("the KMIP listener on {where_}: {error}"))?
        .run();
    Ok((server, address))
}

async fn serve(
    state: &AppState,
    mut stream: TlsStream<TcpStream>,
    stopping: &GracefulShutdownSignal,
    caps: &Arc<ConnectionCaps>,
    idle: Duration,
) {
    let name = common_name(stream.ssl());
    let counted = caps.admit(name.as_deref().unwrap_or("(no usable CN)"));
    let _admitted = match counted {
        Ok(admitted) => admitted,
        Err(why) => {
            let peer = stream.get_ref().peer_addr().ok();
            tracing::warn!(?peer, certificate = ?name, "KMIP connection refused: {why}");
            return;
        }
    };
    let caller = match name {
        Ok(name) => caller_of_certificate(state, &name).await.map_err(|error| {
            format!("the client certificate (CN {name:?}) is not accepted: {error}")
        }),
        Err(why) => Err(why),
    };
    let limits = Limits::default();
    loop {
        let mut header = [0u8; HEADER];
        let read = tokio::select! {
            biased;
            read = tokio::time::timeout(idle, stream.read_exact(&mut header)) => read,
            // The server is stopping: the request answered last was this connection's last.
            () = stopping.notified() => return,
        };
        match read {
            Ok(Ok(_)) => {}
            // End of stream, a reset, or idle too long: the connection is done.
            _ => return,
        }
        let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if header[3] != 0x01 || HEADER + length > limits.max_message_bytes {
            let reason = if header[3] != 0x01 {
                "a KMIP message is a Structure".to_string()
            } else {
                format!(
                    "the message is over the {} byte limit",
                    limits.max_message_bytes
                )
            };
            // Skip the frame and stay in step with the client, unless it is absurdly large.
            let padded = length.div_ceil(8) * 8;
            let skipped = padded <= DRAIN_LIMIT && drain(&mut stream, padded, idle).await.is_ok();
            if write(&mut stream, &kmip_ops::unreadable(&reason))
                .await
                .is_err()
                || !skipped
            {
                return;
            }
            continue;
        }
        let mut message = header.to_vec();
        message.resize(HEADER + length, 0);
        match tokio::time::timeout(idle, stream.read_exact(&mut message[HEADER..])).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let response = match (decode(&message, &limits), &caller) {
            (Err(error), _) => {
                kmip_ops::unreadable(&format!("the message could not be read: {error}"))
            }
            (Ok(request), Err(reason)) => {
                tracing::info!("KMIP request refused: {reason}");
                kmip_ops::unauthenticated(
                    message_version(&request).unwrap_or(Version::V1_0),
                    reason,
                )
            }
            (Ok(request), Ok(caller)) => kmip_ops::handle(state, caller, None, &request).await,
        };
        if write(&mut stream, &response).await.is_err() {
            return;
        }
    }
}

/// Reads and drops `length` bytes.
async fn drain(
    stream: &mut TlsStream<TcpStream>,
    mut length: usize,
    idle: Duration,
) -> std::io::Result<()> {
    let mut scratch = vec![0u8; 64 * 1024];
    while length > 0 {
        let chunk = length.min(scratch.len());
        tokio::time::timeout(idle, stream.read_exact(&mut scratch[..chunk]))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        length -= chunk;
    }
    Ok(())
}

async fn write(stream: &mut TlsStream<TcpStream>, response: &Item) -> std::io::Result<()> {
    let bytes = encode(response).map_err(std::io::Error::other)?;
    stream.write_all(&bytes).await?;
    stream.flush().await
}
