//! `hyok tls dev-certs DIR`: a throw-away local CA, a server certificate for localhost /
//! 127.0.0.1 / ::1, and client certificates (CN = user name), for trying hyok out and
//! for tests. Never for production: the CA key sits next to the certificates.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

const VALID_DAYS: u32 = 365;

#[derive(Subcommand)]
pub enum TlsCommand {
    /// Write a development CA, a localhost server certificate and client certificates.
    DevCerts {
        /// Directory to write into (created if missing).
        dir: PathBuf,
        /// Client certificate to make, by CN (repeatable).
        #[arg(long = "client", default_value = "admin")]
        clients: Vec<String>,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
}

impl TlsCommand {
    pub fn run(self) -> Result<(), String> {
        let TlsCommand::DevCerts {
            dir,
            clients,
            force,
        } = self;
        write_dev_certs(&dir, &clients, force)
            .map_err(|e| format!("dev-certs in {}: {e}", dir.display()))?;
        println!(
            "wrote ca.pem, server.pem/server.key and client-<name>.pem/.key to {}",
            dir.display()
        );
        println!("[tls]\ncert = \"{0}/server.pem\"\nkey = \"{0}/server.key\"\nclient_ca = \"{0}/ca.pem\"", dir.display());
        Ok(())
    }
}

enum Role {
    Authority,
    Server,
    Client,
}

pub fn write_dev_certs(
    dir: &Path,
    clients: &[String],
    force: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let (ca_key, ca) = issue("hyok development CA", Role::Authority, None)?;
    let (server_key, server) = issue("localhost", Role::Server, Some((&ca_key, &ca)))?;
    let mut files = vec![
        ("ca.pem".to_string(), ca.to_pem()?, 0o644),
        (
            "ca.key".to_string(),
            ca_key.private_key_to_pem_pkcs8()?,
            0o600,
        ),
        ("server.pem".to_string(), server.to_pem()?, 0o644),
        (
            "server.key".to_string(),
            server_key.private_key_to_pem_pkcs8()?,
            0o600,
        ),
    ];
    for name in clients {
        let (key, certificate) = issue(name, Role::Client, Some((&ca_key, &ca)))?;
        let file = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>();
        files.push((format!("client-{file}.pem"), certificate.to_pem()?, 0o644));
        files.push((
            format!("client-{file}.key"),
            key.private_key_to_pem_pkcs8()?,
            0o600,
        ));
    }
    if !force {
        if let Some((name, _, _)) = files.iter().find(|(name, _, _)| dir.join(name).exists()) {
            return Err(format!("{name} exists; pass --force to replace the set").into());
        }
    }
    for (name, bytes, mode) in files {
        let path = dir.join(&name);
        let _ = std::fs::remove_file(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)?;
        file.write_all(&bytes)?;
    }
    Ok(())
}

fn issue(
    common_name: &str,
    role: Role,
    issuer: Option<(&PKey<Private>, &X509)>,
) -> Result<(PKey<Private>, X509), openssl::error::ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    let name = name.build();
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(issuer.map_or(&*name, |(_, ca)| ca.subject_name()))?;
    builder.set_pubkey(&key)?;
    builder.set_not_before(&*Asn1Time::days_from_now(0)?)?;
    builder.set_not_after(&*Asn1Time::days_from_now(VALID_DAYS)?)?;
    let context = builder.x509v3_context(issuer.map(|(_, ca)| &**ca), None);
    let subject_key_id = SubjectKeyIdentifier::new().build(&context)?;
    let authority_key_id = match issuer {
        Some(_) => Some(AuthorityKeyIdentifier::new().keyid(false).build(&context)?),
        None => None,
    };
    let extensions = match role {
        Role::Authority => vec![
            BasicConstraints::new().critical().ca().build()?,
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        ],
        Role::Server => vec![
            BasicConstraints::new().critical().build()?,
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_agreement()
                .build()?,
            ExtendedKeyUsage::new().server_auth().build()?,
            SubjectAlternativeName::new()
                .dns("localhost")
                .ip("127.0.0.1")
                .ip("::1")
                .build(&builder.x509v3_context(issuer.map(|(_, ca)| &**ca), None))?,
        ],
        Role::Client => vec![
            BasicConstraints::new().critical().build()?,
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_agreement()
                .build()?,
            ExtendedKeyUsage::new().client_auth().build()?,
        ],
    };
    builder.append_extension(subject_key_id)?;
    if let Some(authority_key_id) = authority_key_id {
        builder.append_extension(authority_key_id)?;
    }
    for extension in extensions {
        builder.append_extension(extension)?;
    }
    builder.sign(
        issuer.map_or(&key, |(ca_key, _)| ca_key),
        MessageDigest::sha256(),
    )?;
    Ok((key, builder.build()))
}
