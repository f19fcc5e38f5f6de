//! TLS for the listeners (openssl): TLS 1.2 or newer with Mozilla's intermediate cipher
//! list, the server certificate, and optional or required client certificates — for the
//! dedicated XKS listener, required and, when configured, with one subject CN.

use std::path::Path;

use openssl::nid::Nid;
use openssl::ssl::{
    SslAcceptor, SslAcceptorBuilder, SslFiletype, SslMethod, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;

use crate::config::{TlsConfig, XksConfig};

fn fail(key: &str, path: &Path, error: openssl::error::ErrorStack) -> String {
    format!("{key} ({}): {error}", path.display())
}

/// The acceptor for `[tls]`, or `None` when TLS is not configured.
pub fn acceptor(tls: &TlsConfig) -> Result<Option<SslAcceptorBuilder>, String> {
    let Some(mut builder) = server_certificate(tls)? else {
        return Ok(None);
    };
    if let Some(ca) = &tls.client_ca {
        trust_clients_of(&mut builder, ca, "tls.client_ca")?;
        let mut mode = SslVerifyMode::PEER;
        if tls.require_client_cert {
            mode |= SslVerifyMode::FAIL_IF_NO_PEER_CERT;
        }
        builder.set_verify(mode);
    }
    Ok(Some(builder))
}

/// The KMIP listener's acceptor (port 5696): a client certificate signed by
/// `tls.client_ca` is required; its subject CN names the caller.
pub fn kmip_acceptor(tls: &TlsConfig) -> Result<SslAcceptorBuilder, String> {
    let mut builder = server_certificate(tls)?
        .ok_or("KMIP over TLS ([kmip] enable) needs tls.cert and tls.key")?;
    let ca = tls.client_ca.as_ref().ok_or(
        "KMIP over TLS ([kmip] enable) needs tls.client_ca: clients are known by certificate",
    )?;
    trust_clients_of(&mut builder, ca, "tls.client_ca")?;
    builder.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    Ok(builder)
}

/// The dedicated XKS listener's acceptor: a client certificate signed by
/// `aws_xks_mtls_client_ca` is required, with subject CN `aws_xks_mtls_client_cn` when
/// set; anything else ends the handshake.
pub fn xks_acceptor(tls: &TlsConfig, xks: &XksConfig) -> Result<SslAcceptorBuilder, String> {
    let mut builder =
        server_certificate(tls)?.ok_or("the dedicated XKS listener needs tls.cert and tls.key")?;
    let ca = xks
        .aws_xks_mtls_client_ca
        .as_ref()
        .ok_or("aws_xks_config.aws_xks_mtls_client_ca is required")?;
    trust_clients_of(&mut builder, ca, "aws_xks_config.aws_xks_mtls_client_ca")?;
    let required_cn = xks.aws_xks_mtls_client_cn.clone();
    builder.set_verify_callback(
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        move |chain_ok, context| {
            if !chain_ok || context.error_depth() != 0 {
                return chain_ok;
            }
            let Some(expected) = &required_cn else {
                return true;
            };
            let common_name = context.current_cert().and_then(|certificate| {
                let entry = certificate
                    .subject_name()
                    .entries_by_nid(Nid::COMMONNAME)
                    .next()?;
                std::str::from_utf8(entry.data().as_slice())
                    .ok()
                    .map(str::to_string)
            });
            common_name.as_deref() == Some(expected.as_str())
        },
    );
    Ok(builder)
}

fn server_certificate(tls: &TlsConfig) -> Result<Option<SslAcceptorBuilder>, String> {
    let (Some(cert), Some(key)) = (&tls.cert, &tls.key) else {
        return Ok(None);
    };
    let mut builder =
        SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(|e| e.to_string())?;
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| e.to_string())?;
    builder
        .set_certificate_chain_file(cert)
        .map_err(|e| fail("tls.cert", cert, e))?;
    builder
        .set_private_key_file(key, SslFiletype::PEM)
        .map_err(|e| fail("tls.key", key, e))?;
    builder.check_private_key().map_err(|_| {
        format!(
            "tls.key ({}) is not the private key of tls.cert ({})",
            key.display(),
            cert.display()
        )
    })?;
    Ok(Some(builder))
}

fn trust_clients_of(builder: &mut SslAcceptorBuilder, ca: &Path, key: &str) -> Result<(), String> {
    builder.set_ca_file(ca).map_err(|e| fail(key, ca, e))?;
    let pem = std::fs::read(ca).map_err(|e| format!("{key} ({}): {e}", ca.display()))?;
    for certificate in X509::stack_from_pem(&pem).map_err(|e| fail(key, ca, e))? {
        builder
            .add_client_ca(&certificate)
            .map_err(|e| fail(key, ca, e))?;
    }
    Ok(())
}
