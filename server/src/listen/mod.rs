//! The listeners: the HTTP(S) server with its limits, worker count, graceful shutdown
//! (SIGTERM/SIGINT stop accepting and let in-flight requests finish, see `stop`), TLS and the
//! client-certificate identity of each connection.

mod kmip_caps;
mod kmip_tls;
mod peer;
mod stop;
mod tls;

use std::net::SocketAddr;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

pub use peer::PeerCommonName;

use crate::config::Config;
use crate::http::{self, ApiError};
use crate::state::AppState;

/// The bound, running servers and their addresses.
pub struct Listening {
    pub servers: Vec<Server>,
    /// (what, URL) of every address listened on.
    pub addresses: Vec<(&'static str, String)>,
}

/// Binds the HTTP(S) listener (and the dedicated XKS listener, when configured) and
/// starts serving `state`.
pub fn start(config: &Config, state: web::Data<AppState>) -> Result<Listening, String> {
    let mut listening = main_listener(config, state.clone())?;
    if let Some(port) = config
        .aws_xks_config
        .aws_xks_mtls_port
        .filter(|_| config.aws_xks_config.aws_xks_enable)
    {
        let (server, addresses) = xks_listener(config, state.clone(), port)?;
        listening.servers.push(server);
        listening.addresses.extend(
            addresses
                .into_iter()
                .map(|a| ("hyok XKS listener (mutual TLS) on", format!("https://{a}"))),
        );
    }
    if config.kmip.enable {
        let (server, address) = kmip_tls::listener(config, state)?;
        listening.servers.push(server);
        listening
            .addresses
            .push(("hyok KMIP listening on", format!("kmip://{address}")));
    }
    stop::on_signals(&listening.servers)?;
    Ok(listening)
}

fn main_listener(config: &Config, state: web::Data<AppState>) -> Result<Listening, String> {
    let max_body = config.http.max_body_bytes;
    let xks_prefix = config.aws_xks_config.aws_xks_uri_prefix.clone();
    let xks_enabled = config.aws_xks_config.aws_xks_enable;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(max_body)
                    .error_handler(|error, _| {
                        ApiError::BadRequest(format!("invalid JSON body: {error}")).into()
                    }),
            )
            .app_data(web::PayloadConfig::new(max_body))
            .wrap(from_fn(http::answer_early_errors_in_full))
            .wrap(from_fn(http::log_request))
            .configure(|routes| http::routes(routes, &xks_prefix, xks_enabled))
    })
    .shutdown_timeout(config.http.shutdown_timeout_seconds)
    .disable_signals()
    .on_connect(peer::record_peer_identity);
    if config.http.workers > 0 {
        server = server.workers(config.http.workers);
    }
    let address = (config.http.host.as_str(), config.http.port);
    let where_ = format!("{}:{}", config.http.host, config.http.port);
    let (server, scheme) = match tls::acceptor(&config.tls)? {
        Some(acceptor) => (server.bind_openssl(address, acceptor), "https"),
        None => (server.bind(address), "http"),
    };
    let server = server
        .map_err(|error| format!("cannot listen on {where_} (http.host, http.port): {error}"))?;
    let addresses = server
        .addrs()
        .into_iter()
        .map(|a| ("hyok listening on", format!("{scheme}://{a}")))
        .collect();
    Ok(Listening {
        servers: vec![server.run()],
        addresses,
    })
}

/// The dedicated XKS listener: only the XKS routes, only for clients with the right
/// certificate.
fn xks_listener(
    config: &Config,
    state: web::Data<AppState>,
    port: u16,
) -> Result<(Server, Vec<SocketAddr>), String> {
    let prefix = config.aws_xks_config.aws_xks_uri_prefix.clone();
    let max_body = config.http.max_body_bytes;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .wrap(from_fn(http::answer_early_errors_in_full))
            .wrap(from_fn(http::log_request))
            .configure(|routes| crate::xks_facade::routes(routes, &prefix))
    })
    .shutdown_timeout(config.http.shutdown_timeout_seconds)
    .disable_signals();
    if config.http.workers > 0 {
        server = server.workers(config.http.workers);
    }
    let acceptor = tls::xks_acceptor(&config.tls, &config.aws_xks_config)?;
    let where_ = format!("{}:{port}", config.http.host);
    let server = server
        .bind_openssl((config.http.host.as_str(), port), acceptor)
        .map_err(|error| {
            format!("cannot listen on {where_} (aws_xks_config.aws_xks_mtls_port): {error}")
        })?;
    let addresses = server.addrs();
    Ok((server.run(), addresses))
}
