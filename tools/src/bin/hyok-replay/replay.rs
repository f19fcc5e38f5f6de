//! Replaying test-case files against a KMIP server over TTLV/TLS: each file on a
//! connection of its own, request after request, each response compared with the
//! expected one. A file is skipped (with the reason) when it needs an operation the
//! server does not list in Query, or an algorithm, mode, padding, key format or object
//! type outside what the server says it supports; `Interop` requests are no-ops.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyok_kmip::text::{from_xml, to_xml};
use hyok_kmip::{decode, encode, Limits};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslStream, SslVerifyMode};

use super::compare::Bindings;
use super::node::{self, Node};

/// How to reach the server.
pub struct Target {
    pub address: String,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    /// Print every request sent and response received (standard error).
    pub trace: bool,
}

/// What the server is asked to support for a file to run (rather than be skipped).
pub struct Scope {
    pub operations: Vec<String>,
}

/// What the server is asked to support; the operations come from its Query answer.
const ALGORITHMS: [&str; 13] = [
    "AES",
    "DES3",
    "ChaCha20",
    "ChaCha20Poly1305",
    "HMAC_SHA1",
    "HMAC_SHA224",
    "HMAC_SHA256",
    "HMAC_SHA384",
    "HMAC_SHA512",
    "RSA",
    "EC",
    "ECDSA",
    // Stored and returned, not computed with.
    "DSA",
];
const MODES: [&str; 9] = [
    "ECB",
    "CBC",
    "CTR",
    "GCM",
    "CCM",
    "XTS",
    "NISTKeyWrap",
    "AESKeyWrapPadding",
    "AEAD",
];
const PADDINGS: [&str; 5] = ["PKCS5", "None", "OAEP", "PSS", "PKCS1V1_5"];
const KEY_FORMATS: [&str; 13] = [
    "Raw",
    "Opaque",
    "PKCS_1",
    "PKCS_8",
    "X_509",
    "ECPrivateKey",
    "TransparentSymmetricKey",
    "TransparentRSAPrivateKey",
    "TransparentRSAPublicKey",
    "TransparentECPrivateKey",
    "TransparentECPublicKey",
    "TransparentDSAPrivateKey",
    "TransparentDSAPublicKey",
];
const OBJECT_TYPES: [&str; 7] = [
    "SymmetricKey",
    "PublicKey",
    "PrivateKey",
    "SecretData",
    "OpaqueObject",
    "Certificate",
    "SplitKey",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skipped(String),
}

/// A TLS connection to the server, and whether to trace what crosses it.
pub struct Connection(SslStream<TcpStream>, bool);

impl Target {
    pub fn connect(&self) -> Result<Connection, String> {
        let mut builder =
            SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
        builder
            .set_ca_file(&self.ca)
            .map_err(|e| format!("{}: {e}", self.ca.display()))?;
        builder
            .set_certificate_chain_file(&self.cert)
            .map_err(|e| format!("{}: {e}", self.cert.display()))?;
        builder
            .set_private_key_file(&self.key, SslFiletype::PEM)
            .map_err(|e| format!("{}: {e}", self.key.display()))?;
        builder.set_verify(SslVerifyMode::PEER);
        let tcp =
            TcpStream::connect(&self.address).map_err(|e| format!("{}: {e}", self.address))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let host = self
            .address
            .rsplit_once(':')
            .map_or("localhost", |(host, _)| host);
        let host = if host.parse::<std::net::IpAddr>().is_ok() {
            "localhost"
        } else {
            host
        };
        let stream = builder
            .build()
            .connect(host, tcp)
            .map_err(|e| format!("TLS with {}: {e}", self.address))?;
        Ok(Connection(stream, self.trace))
    }
}

impl Connection {
    /// Sends one request (test-case XML) and returns the response as test-case XML.
    pub fn exchange(&mut self, request: &Node) -> Result<Node, String> {
        let limits = Limits::default();
        let item = from_xml(&request.to_xml(), &limits)
            .map_err(|e| format!("the request does not encode: {e}"))?;
        if self.1 {
            eprintln!("--> {}", to_xml(&item));
        }
        let bytes = encode(&item).map_err(|e| e.to_string())?;
        self.0.write_all(&bytes).map_err(|e| format!("send: {e}"))?;
        let mut header = [0u8; 8];
        self.0
            .read_exact(&mut header)
            .map_err(|e| format!("receive: {e}"))?;
        let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if length > limits.max_message_bytes {
            return Err(format!("a response of {length} bytes"));
        }
        let mut message = header.to_vec();
        message.resize(8 + length, 0);
        self.0
            .read_exact(&mut message[8..])
            .map_err(|e| format!("receive: {e}"))?;
        let response =
            decode(&message, &limits).map_err(|e| format!("the response does not decode: {e}"))?;
        if self.1 {
            eprintln!("<-- {}", to_xml(&response));
        }
        node::parse(&to_xml(&response))?
            .into_iter()
            .next()
            .ok_or_else(|| "an empty response".to_string())
    }
}

/// Every value of elements named `name` in `node` and below, and of 1.x Attributes whose
/// Attribute Name is that name as the specification writes it.
fn values<'a>(node: &'a Node, name: &str, out: &mut Vec<&'a str>) {
    if node.name == name {
        if let Some(value) = &node.value {
            out.push(value);
        }
    }
    if node.name == "Attribute" {
        let attribute_name = node.child("AttributeName").and_then(|n| n.value.as_deref());
        if attribute_name
            .map(hyok_kmip::registry::normalize)
            .as_deref()
            == Some(name)
        {
            if let Some(value) = node
                .child("AttributeValue")
                .and_then(|v| v.value.as_deref())
            {
                out.push(value);
            }
        }
    }
    for child in &node.children {
        values(child, name, out);
    }
}

fn out_of_scope(requests: &[&Node], scope: &Scope) -> Option<String> {
    let checks: [(&str, &[&str], &str); 5] = [
        ("CryptographicAlgorithm", &ALGORITHMS, "algorithm"),
        ("BlockCipherMode", &MODES, "block cipher mode"),
        ("PaddingMethod", &PADDINGS, "padding method"),
        ("KeyFormatType", &KEY_FORMATS, "key format"),
        ("ObjectType", &OBJECT_TYPES, "object type"),
    ];
    for request in requests {
        let mut operations = Vec::new();
        values(request, "Operation", &mut operations);
        if let Some(op) = operations
            .iter()
            .find(|op| **op != "Interop" && !scope.operations.iter().any(|s| s == *op))
        {
            return Some(format!("operation {op} is not supported"));
        }
        for (element, supported, what) in checks {
            let mut found = Vec::new();
            values(request, element, &mut found);
            if let Some(value) = found.iter().find(|v| !supported.contains(v)) {
                return Some(format!("{what} {value} is not supported"));
            }
        }
    }
    None
}

fn only_interop(request: &Node) -> bool {
    let mut operations = Vec::new();
    values(request, "Operation", &mut operations);
    !operations.is_empty() && operations.iter().all(|op| *op == "Interop")
}

/// Replays one file.
pub fn replay_file(path: &Path, target: &Target, scope: &Scope) -> Outcome {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => return Outcome::Fail(format!("cannot read: {error}")),
    };
    let messages = match node::parse(&text) {
        Ok(messages) => messages,
        Err(error) => return Outcome::Fail(error),
    };
    let requests: Vec<&Node> = messages
        .iter()
        .filter(|m| m.name == "RequestMessage")
        .collect();
    if let Some(reason) = out_of_scope(&requests, scope) {
        return Outcome::Skipped(reason);
    }
    let mut connection = match target.connect() {
        Ok(connection) => connection,
        Err(error) => return Outcome::Fail(error),
    };
    let mut bindings = Bindings::default();
    for (n, pair) in messages.chunks(2).enumerate() {
        let [request, expected] = pair else {
            return Outcome::Fail(format!("message {n}: a request without its response"));
        };
        if only_interop(request) {
            continue;
        }
        bindings.note_request(request);
        let sent = match bindings.substitute(request) {
            Ok(sent) => sent,
            Err(error) => return Outcome::Fail(format!("message {n}: {error}")),
        };
        let actual = match connection.exchange(&sent) {
            Ok(actual) => actual,
            Err(error) => return Outcome::Fail(format!("message {n}: {error}")),
        };
        if let Err(difference) = bindings.compare(expected, &actual, "") {
            return Outcome::Fail(format!("message {n}: {difference}"));
        }
    }
    Outcome::Pass
}

/// The operations the server lists in Query.
pub fn served_operations(target: &Target) -> Result<Vec<String>, String> {
    let query = node::parse(
        r#"<RequestMessage><RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="2"/>
        <ProtocolVersionMinor type="Integer" value="1"/></ProtocolVersion><BatchCount type="Integer" value="1"/>
        </RequestHeader><BatchItem><Operation type="Enumeration" value="Query"/><RequestPayload>
        <QueryFunction type="Enumeration" value="QueryOperations"/></RequestPayload></BatchItem></RequestMessage>"#,
    )?;
    let response = target.connect()?.exchange(&query[0])?;
    let payload = response
        .child("BatchItem")
        .and_then(|b| b.child("ResponsePayload"))
        .ok_or("Query failed")?;
    Ok(payload
        .children
        .iter()
        .filter(|c| c.name == "Operation")
        .filter_map(|c| c.value.clone())
        .collect())
}
