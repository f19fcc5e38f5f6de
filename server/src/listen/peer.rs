//! The identity a TLS client certificate carries: its subject CN, recorded per
//! connection (the certificate was already verified against `[tls] client_ca`).

use std::any::Any;

use actix_tls::accept::openssl::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use openssl::nid::Nid;

/// The subject CN of the connection's verified client certificate.
#[derive(Debug, Clone)]
pub struct PeerCommonName(pub String);

pub fn record_peer_identity(connection: &dyn Any, data: &mut Extensions) {
    let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() else {
        return;
    };
    if let Some(name) = common_name(tls.ssl()) {
        data.insert(PeerCommonName(name));
    }
}

/// The subject CN of a connection's verified client certificate.
pub fn common_name(ssl: &openssl::ssl::SslRef) -> Option<String> {
    ssl.peer_certificate()?
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|entry| std::str::from_utf8(entry.data().as_slice()).ok())
        // A NUL inside a name could make two certificates look alike: refuse it.
        .filter(|name| !name.contains('\0'))
        .map(str::to_string)
}
