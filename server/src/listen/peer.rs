//! The identity a TLS client certificate carries: its one subject CN, recorded per
//! connection (the certificate was already verified against `[tls] client_ca`).

use std::any::Any;

use actix_tls::accept::openssl::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use openssl::nid::Nid;

/// What the connection's verified client certificate names: its subject CN, or why it
/// names no usable one.
#[derive(Debug, Clone)]
pub struct PeerCommonName(pub Result<String, String>);

pub fn record_peer_identity(connection: &dyn Any, data: &mut Extensions) {
    let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() else {
        return;
    };
    if tls.ssl().peer_certificate().is_some() {
        data.insert(PeerCommonName(common_name(tls.ssl())));
    }
}

/// The subject CN of a connection's verified client certificate: exactly one, in UTF-8,
/// without NUL (which could make two certificates look alike).
pub fn common_name(ssl: &openssl::ssl::SslRef) -> Result<String, String> {
    let certificate = ssl
        .peer_certificate()
        .ok_or("the connection presented no client certificate")?;
    let mut names = certificate.subject_name().entries_by_nid(Nid::COMMONNAME);
    let name = names
        .next()
        .ok_or("the client certificate's subject has no CN")?;
    if names.next().is_some() {
        return Err("the client certificate's subject has several CNs; issue it with one".into());
    }
    std::str::from_utf8(name.data().as_slice())
        .ok()
        .filter(|name| !name.contains('\0'))
        .map(str::to_string)
        .ok_or_else(|| "the client certificate's CN is not valid UTF-8 or contains NUL".into())
}
