//! KMIP over TLS on the KMIP port (`[kmip] enable`): binary TTLV, a client certificate
//! required and naming the caller, many requests on one connection, many connections at
//! once, clear answers to what is not a KMIP message; PyKMIP (an independent client) in
//! KMIP 1.2, 1.4 and 2.0; and the batch vSphere sends.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use hyok_kmip::registry::tag;
use hyok_kmip::text::{from_xml, to_xml};
use hyok_kmip::{decode, encode, Item, Limits, Value};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslStream, SslVerifyMode};

use crate::support::{cli, config_in, tempdir, Hyok, Launch};

fn connect(
    hyok: &Hyok,
    certs: &Path,
    client: Option<&str>,
) -> Result<SslStream<TcpStream>, String> {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
    builder.set_ca_file(certs.join("ca.pem")).unwrap();
    builder.set_verify(SslVerifyMode::PEER);
    if let Some(name) = client {
        builder
            .set_certificate_chain_file(certs.join(format!("client-{name}.pem")))
            .unwrap();
        builder
            .set_private_key_file(certs.join(format!("client-{name}.key")), SslFiletype::PEM)
            .unwrap();
    }
    let tcp = TcpStream::connect(hyok.kmip_address()).map_err(|e| e.to_string())?;
    let stream = builder
        .build()
        .connect("localhost", tcp)
        .map_err(|e| e.to_string())?;
    // TLS 1.3 reports a refused client certificate only on the first read.
    stream
        .get_ref()
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    Ok(stream)
}

fn exchange(stream: &mut SslStream<TcpStream>, request: &[u8]) -> std::io::Result<Item> {
    stream.write_all(request)?;
    let mut header = [0u8; 8];
    stream.read_exact(&mut header)?;
    let length = u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize;
    let mut message = header.to_vec();
    message.resize(8 + length, 0);
    stream.read_exact(&mut message[8..])?;
    Ok(decode(&message, &Limits::default()).unwrap())
}

fn request(items: &str) -> Vec<u8> {
    let count = items.matches("<BatchItem>").count();
    let xml = format!(
        r#"<RequestMessage><RequestHeader><ProtocolVersion>
        <ProtocolVersionMajor type="Integer" value="1"/><ProtocolVersionMinor type="Integer" value="2"/>
        </ProtocolVersion><BatchCount type="Integer" value="{count}"/></RequestHeader>{items}</RequestMessage>"#
    );
    encode(&from_xml(&xml, &Limits::default()).unwrap()).unwrap()
}

fn item(operation: &str, payload: &str) -> String {
    format!(
        r#"<BatchItem><Operation type="Enumeration" value="{operation}"/><RequestPayload>{payload}</RequestPayload></BatchItem>"#
    )
}

fn payload_text(response: &Item, wanted: u32) -> String {
    let xml = to_xml(response);
    assert!(xml.contains(r#"value="Success""#), "{xml}");
    let payload = response
        .child(tag::BATCH_ITEM)
        .and_then(|b| b.child(tag::RESPONSE_PAYLOAD))
        .unwrap_or_else(|| panic!("{xml}"));
    match payload.child(wanted).map(|c| &c.value) {
        Some(Value::TextString(text)) => text.clone(),
        _ => panic!("{xml}"),
    }
}

const CREATE: &str = r#"<ObjectType type="Enumeration" value="SymmetricKey"/><TemplateAttribute>
    <Attribute><AttributeName type="TextString" value="Cryptographic Algorithm"/><AttributeValue type="Enumeration" value="AES"/></Attribute>
    <Attribute><AttributeName type="TextString" value="Cryptographic Length"/><AttributeValue type="Integer" value="128"/></Attribute>
    </TemplateAttribute>"#;

fn encrypt(uid: &str) -> String {
    item(
        "Encrypt",
        &format!(
            r#"<UniqueIdentifier type="TextString" value="{uid}"/><CryptographicParameters>
            <BlockCipherMode type="Enumeration" value="GCM"/></CryptographicParameters>
            <Data type="ByteString" value="0011223344"/>"#
        ),
    )
}

/// A server with the KMIP listener on, and client certificates for alice and bob.
pub fn start(dir: &Path) -> (Hyok, std::path::PathBuf) {
    start_with(dir, "")
}

/// [`start`] with more settings of `[kmip]`.
fn start_with(dir: &Path, kmip_extra: &str) -> (Hyok, std::path::PathBuf) {
    let certs = dir.join("certs");
    let (ok, _, stderr) = cli(
        &[],
        &[
            "tls",
            "dev-certs",
            certs.to_str().unwrap(),
            "--client",
            "alice",
            "--client",
            "bob",
        ],
    );
    assert!(ok, "{stderr}");
    let config = format!(
        "{}\n[kmip]\nenable = true\nport = 0\n{kmip_extra}\n[auth]\nauto_create_cert_users = true\n\n\
         [tls]\ncert = \"{c}/server.pem\"\nkey = \"{c}/server.key\"\nclient_ca = \"{c}/ca.pem\"\n",
        config_in(dir),
        c = certs.display()
    );
    (Launch::with_config(dir, &config).start(), certs)
}

#[test]
fn kmip_over_tls_knows_clients_by_certificate_and_serves_many_at_once() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());

    // One connection, several requests: alice creates, activates and uses her key.
    let mut alice = connect(&hyok, &certs, Some("alice")).unwrap();
    let created = exchange(&mut alice, &request(&item("Create", CREATE))).unwrap();
    let key = payload_text(&created, tag::UNIQUE_IDENTIFIER);
    let uid = format!(r#"<UniqueIdentifier type="TextString" value="{key}"/>"#);
    exchange(&mut alice, &request(&item("Activate", &uid))).unwrap();
    let encrypted = exchange(&mut alice, &request(&encrypt(&key))).unwrap();
    assert_eq!(payload_text(&encrypted, tag::UNIQUE_IDENTIFIER), key);

    // Bob, known by his certificate too, is not the owner.
    let mut bob = connect(&hyok, &certs, Some("bob")).unwrap();
    let refused = to_xml(&exchange(&mut bob, &request(&encrypt(&key))).unwrap());
    assert!(refused.contains(r#"value="PermissionDenied""#), "{refused}");

    // Many connections at once, each with several requests.
    let address_certs = certs.clone();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let (hyok, certs, key) = (&hyok, &address_certs, &key);
            scope.spawn(move || {
                let mut stream = connect(hyok, certs, Some("alice")).unwrap();
                for _ in 0..10 {
                    let answer = exchange(&mut stream, &request(&encrypt(key))).unwrap();
                    assert_eq!(payload_text(&answer, tag::UNIQUE_IDENTIFIER), *key);
                }
            });
        }
    });

    // Undecodable TTLV is answered on the same connection; the connection stays usable.
    let mut garbage = request(&item("Query", ""));
    let last = garbage.len() - 1;
    garbage[last] = 0x01; // non-zero padding
    let answer = to_xml(&exchange(&mut alice, &garbage).unwrap());
    assert!(answer.contains(r#"value="InvalidMessage""#), "{answer}");
    exchange(&mut alice, &request(&encrypt(&key))).unwrap();
    // So do a frame that is not a structure and one over the 16 MiB message limit.
    let not_a_structure = vec![0x42, 0x00, 0x0d, 0x02, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0];
    let answer = to_xml(&exchange(&mut alice, &not_a_structure).unwrap());
    assert!(answer.contains(r#"value="InvalidMessage""#), "{answer}");
    let too_long = 17 * 1024 * 1024;
    let mut huge = vec![0x42, 0x00, 0x78, 0x01];
    huge.extend_from_slice(&(too_long as u32).to_be_bytes());
    huge.resize(8 + too_long, 0);
    let answer = to_xml(&exchange(&mut alice, &huge).unwrap());
    assert!(answer.contains("over the"), "{answer}");
    exchange(&mut alice, &request(&encrypt(&key))).unwrap();

    // Without a client certificate there is no KMIP conversation.
    let anonymous = connect(&hyok, &certs, None).and_then(|mut stream| {
        exchange(&mut stream, &request(&item("Query", ""))).map_err(|e| e.to_string())
    });
    assert!(
        anonymous.is_err(),
        "a client without a certificate was served"
    );
    assert!(hyok.stop().success());
}

#[test]
fn a_stopping_server_closes_idle_kmip_connections_at_once() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let mut idle = connect(&hyok, &certs, Some("alice")).unwrap();
    exchange(&mut idle, &request(&item("Query", ""))).unwrap();
    let began = std::time::Instant::now();
    assert!(hyok.stop().success());
    assert!(
        began.elapsed() < std::time::Duration::from_secs(5),
        "an idle KMIP connection held the stop for {:?} (shutdown_timeout_seconds is 30)",
        began.elapsed()
    );
    let mut byte = [0u8; 1];
    assert!(
        matches!(idle.read(&mut byte), Ok(0) | Err(_)),
        "the idle connection is closed"
    );
}

#[test]
fn pykmip_works_with_hyok_in_kmip_1_2_1_4_and_2_0() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let mut alice = connect(&hyok, &certs, Some("alice")).unwrap();
    for version in ["1.2", "1.4", "2.0"] {
        let seen = pykmip(&hyok, &certs, "pykmip_client.py", &[version]);
        let what = format!("PyKMIP {version}: {seen}");
        let created = seen["created"].as_str().unwrap();
        let registered = seen["registered"].as_str().unwrap();
        assert_eq!(
            seen["get_registered"], "000102030405060708090a0b0c0d0e0f",
            "{what}"
        );
        assert_eq!(seen["attributes"]["State"], "State.ACTIVE", "{what}");
        assert_eq!(
            seen["locate_everything"], true,
            "Locate without attributes: {what}"
        );
        assert_eq!(seen["attributes"]["Cryptographic Length"], "256", "{what}");
        assert!(
            seen["attributes"]["Name"]
                .as_str()
                .unwrap()
                .starts_with("pykmip-"),
            "{what}"
        );
        let listed: Vec<&str> = seen["attribute_list"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        for attribute in [
            "Activation Date",
            "Cryptographic Usage Mask",
            "Name",
            "State",
            "Unique Identifier",
        ] {
            assert!(listed.contains(&attribute), "{what}");
        }
        assert_eq!(
            seen["locate_by_name"],
            serde_json::json!([created]),
            "{what}"
        );
        assert_eq!(seen["locate_by_state"], true, "{what}");
        assert_eq!(
            seen["locate_active_aes_256"],
            serde_json::json!([created]),
            "{what}"
        );
        let mut both = [created, registered];
        both.sort();
        assert_eq!(seen["locate_by_dates"], serde_json::json!(both), "{what}");
        assert_eq!(seen["locate_in_the_past"], serde_json::json!([]), "{what}");
        assert_eq!(seen["decrypted"], "attack at dawn", "{what}");
        let expected_failure = if version == "2.0" {
            "OBJECT_DESTROYED"
        } else {
            "ITEM_NOT_FOUND"
        };
        assert_eq!(seen["get_after_destroy"], expected_failure, "{what}");
        // Re-key linked the new key to the old one (PyKMIP cannot read Links: we do).
        let rekeyed = seen["rekeyed"].as_str().unwrap();
        let links = exchange(
            &mut alice,
            &request(&item(
                "GetAttributes",
                &format!(
                    r#"<UniqueIdentifier type="TextString" value="{rekeyed}"/>
                    <AttributeName type="TextString" value="Link"/>"#
                ),
            )),
        )
        .unwrap();
        let xml = to_xml(&links);
        assert!(
            xml.contains(r#"value="ReplacedObjectLink""#) && xml.contains(created),
            "{xml}"
        );
    }
}

#[test]
fn the_batch_vsphere_sends_succeeds() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let mut vcenter = connect(&hyok, &certs, Some("alice")).unwrap();
    let created = exchange(&mut vcenter, &request(&item("Create", CREATE))).unwrap();
    let key = payload_text(&created, tag::UNIQUE_IDENTIFIER);
    let add = |id: &str, name: &str, value: &str| {
        item(
            "AddAttribute",
            &format!(
                r#"<UniqueIdentifier type="TextString" value="{key}"/><Attribute>
                <AttributeName type="TextString" value="{name}"/>
                <AttributeValue type="TextString" value="{value}"/></Attribute>"#
            ),
        )
        .replace(
            "<RequestPayload>",
            &format!(r#"<UniqueBatchItemID type="ByteString" value="{id}"/><RequestPayload>"#),
        )
    };
    let batch = [
        add("01", "x-Vendor", "VMware, Inc."),
        add("02", "x-Product", "VMware vSphere"),
        add("03", "x-Product_Version", "8.0.2"),
    ]
    .concat();
    let answer = exchange(&mut vcenter, &request(&batch)).unwrap();
    let xml = to_xml(&answer);
    assert_eq!(
        xml.matches(r#"<ResultStatus type="Enumeration" value="Success"/>"#)
            .count(),
        3,
        "{xml}"
    );
    for id in ["01", "02", "03"] {
        assert!(
            xml.contains(&format!(
                r#"<UniqueBatchItemID type="ByteString" value="{id}"/>"#
            )),
            "{xml}"
        );
    }
    assert!(
        xml.contains(r#"<AttributeName type="TextString" value="x-Product_Version"/>"#),
        "1.x echoes the attribute: {xml}"
    );
    let attributes = exchange(
        &mut vcenter,
        &request(&item(
            "GetAttributes",
            &format!(r#"<UniqueIdentifier type="TextString" value="{key}"/>"#),
        )),
    )
    .unwrap();
    let xml = to_xml(&attributes);
    for value in ["VMware, Inc.", "VMware vSphere", "8.0.2"] {
        assert!(xml.contains(value), "{value} missing in {xml}");
    }
}

#[test]
fn pykmip_signs_encrypts_macs_and_derives_checked_by_python_cryptography() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let seen = pykmip(&hyok, &certs, "pykmip_crypto.py", &[]);
    for check in [
        "rsa_pss_verified_outside",
        "rsa_pkcs1_verified_outside",
        "ecdsa_verified_outside",
        "ed25519_verified_outside",
        "hmac_equal",
        "pbkdf2_equal",
        "hkdf_equal",
        "sp800_108_equal",
    ] {
        assert_eq!(seen[check], true, "{check}: {seen}");
    }
    assert_eq!(seen["rsa_pss_verified_by_server"], "VALID", "{seen}");
    assert_eq!(seen["ed25519_verified_by_server"], "VALID", "{seen}");
    assert_eq!(seen["tampered_verified_by_server"], "INVALID", "{seen}");
    assert_eq!(seen["oaep_decrypted_outside"], "wrapped secret", "{seen}");
    assert_eq!(seen["oaep_decrypted_by_server"], "from outside", "{seen}");
}

#[test]
fn rekey_key_pair_replaces_both_halves_linked_both_ways() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let mut alice = connect(&hyok, &certs, Some("alice")).unwrap();
    let create = format!(
        "<CommonTemplateAttribute>{}{}</CommonTemplateAttribute>\
         <PrivateKeyTemplateAttribute>{}</PrivateKeyTemplateAttribute>\
         <PublicKeyTemplateAttribute>{}</PublicKeyTemplateAttribute>",
        template_attribute("Cryptographic Algorithm", "Enumeration", "EC"),
        template_attribute("Cryptographic Length", "Integer", "384"),
        template_attribute("Cryptographic Usage Mask", "Integer", "Sign"),
        template_attribute("Cryptographic Usage Mask", "Integer", "Verify"),
    );
    let created = exchange(&mut alice, &request(&item("CreateKeyPair", &create))).unwrap();
    let old_private = payload_text(&created, tag::PRIVATE_KEY_UNIQUE_IDENTIFIER);
    let old_public = payload_text(&created, tag::PUBLIC_KEY_UNIQUE_IDENTIFIER);
    let uid = |uid: &str| format!(r#"<UniqueIdentifier type="TextString" value="{uid}"/>"#);
    for half in [&old_private, &old_public] {
        exchange(&mut alice, &request(&item("Activate", &uid(half)))).unwrap();
    }
    let rekeyed = exchange(
        &mut alice,
        &request(&item(
            "ReKeyKeyPair",
            &format!(r#"<PrivateKeyUniqueIdentifier type="TextString" value="{old_private}"/>"#),
        )),
    )
    .unwrap();
    let new_private = payload_text(&rekeyed, tag::PRIVATE_KEY_UNIQUE_IDENTIFIER);
    let new_public = payload_text(&rekeyed, tag::PUBLIC_KEY_UNIQUE_IDENTIFIER);
    assert!(new_private != old_private && new_public != old_public);
    let attributes = |alice: &mut SslStream<TcpStream>, of: &str| {
        to_xml(&exchange(alice, &request(&item("GetAttributes", &uid(of)))).unwrap())
    };
    let links = [
        (&old_private, "ReplacementObjectLink", &new_private),
        (&old_public, "ReplacementObjectLink", &new_public),
        (&new_private, "ReplacedObjectLink", &old_private),
        (&new_public, "ReplacedObjectLink", &old_public),
        (&new_private, "PublicKeyLink", &new_public),
        (&new_public, "PrivateKeyLink", &new_private),
    ];
    for (from, link, to) in links {
        let xml = attributes(&mut alice, from);
        let at = xml
            .find(link)
            .unwrap_or_else(|| panic!("{link} on {from}: {xml}"));
        assert!(
            xml[at..].contains(to.as_str()),
            "{link} on {from} to {to}: {xml}"
        );
    }
    let new_state = attributes(&mut alice, &new_private);
    assert!(new_state.contains(r#"value="Active""#), "{new_state}");
    assert!(
        new_state.contains(r#"value="384""#),
        "same length: {new_state}"
    );

    // The new private key signs; its own public key verifies, the old one does not.
    let data = r#"<Data type="ByteString" value="00112233"/>"#;
    let signed = exchange(
        &mut alice,
        &request(&item("Sign", &format!("{}{data}", uid(&new_private)))),
    )
    .unwrap();
    let signature = match signed
        .child(tag::BATCH_ITEM)
        .and_then(|b| b.child(tag::RESPONSE_PAYLOAD))
        .and_then(|p| p.child(tag::SIGNATURE_DATA))
        .map(|s| &s.value)
    {
        Some(Value::ByteString(bytes)) => {
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        }
        _ => panic!("{}", to_xml(&signed)),
    };
    for (public, verdict) in [(&new_public, "Valid"), (&old_public, "Invalid")] {
        let verify = format!(
            r#"{}{data}<SignatureData type="ByteString" value="{signature}"/>"#,
            uid(public)
        );
        let answer =
            to_xml(&exchange(&mut alice, &request(&item("SignatureVerify", &verify))).unwrap());
        assert!(
            answer.contains(&format!(r#"value="{verdict}""#)),
            "{public}: {answer}"
        );
    }
}

#[test]
fn a_mac_in_parts_equals_the_mac_in_one_and_a_stream_is_its_callers_alone() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let mut alice = connect(&hyok, &certs, Some("alice")).unwrap();
    let register = r#"<ObjectType type="Enumeration" value="SymmetricKey"/><TemplateAttribute>
        <Attribute><AttributeName type="TextString" value="Cryptographic Usage Mask"/><AttributeValue type="Integer" value="MACGenerate"/></Attribute>
        </TemplateAttribute><SymmetricKey><KeyBlock><KeyFormatType type="Enumeration" value="Raw"/>
        <KeyValue><KeyMaterial type="ByteString" value="000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"/></KeyValue>
        <CryptographicAlgorithm type="Enumeration" value="HMAC_SHA256"/><CryptographicLength type="Integer" value="256"/></KeyBlock></SymmetricKey>"#;
    let registered = exchange(&mut alice, &request(&item("Register", register))).unwrap();
    let key = payload_text(&registered, tag::UNIQUE_IDENTIFIER);
    let uid = format!(r#"<UniqueIdentifier type="TextString" value="{key}"/>"#);
    exchange(&mut alice, &request(&item("Activate", &uid))).unwrap();
    let bytes_of = |response: &Item, wanted: u32| match response
        .child(tag::BATCH_ITEM)
        .and_then(|b| b.child(tag::RESPONSE_PAYLOAD))
        .and_then(|p| p.child(wanted))
        .map(|c| &c.value)
    {
        Some(Value::ByteString(bytes)) => {
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        }
        _ => panic!("{}", to_xml(response)),
    };
    let whole = exchange(
        &mut alice,
        &request(&item(
            "MAC",
            &format!(r#"{uid}<Data type="ByteString" value="aabbccddeeff"/>"#),
        )),
    )
    .unwrap();
    let first = exchange(
        &mut alice,
        &request(&item(
            "MAC",
            &format!(r#"{uid}<Data type="ByteString" value="aabb"/><InitIndicator type="Boolean" value="true"/>"#),
        )),
    )
    .unwrap();
    let correlation = bytes_of(&first, tag::CORRELATION_VALUE);
    let next = |data: &str, last: bool| {
        let end = if last {
            r#"<FinalIndicator type="Boolean" value="true"/>"#
        } else {
            ""
        };
        request(&item(
            "MAC",
            &format!(
                r#"{uid}<Data type="ByteString" value="{data}"/><CorrelationValue type="ByteString" value="{correlation}"/>{end}"#
            ),
        ))
    };
    // Bob may not continue alice's stream (nor use her key).
    let mut bob = connect(&hyok, &certs, Some("bob")).unwrap();
    let refused = to_xml(&exchange(&mut bob, &next("ccdd", false)).unwrap());
    assert!(refused.contains("OperationFailed"), "{refused}");
    exchange(&mut alice, &next("ccdd", false)).unwrap();
    let last = exchange(&mut alice, &next("eeff", true)).unwrap();
    assert_eq!(
        bytes_of(&last, tag::MAC_DATA),
        bytes_of(&whole, tag::MAC_DATA)
    );
    // The stream ended with its last part.
    let again = to_xml(&exchange(&mut alice, &next("00", true)).unwrap());
    assert!(again.contains("OperationFailed"), "{again}");
}

/// The Key Value bytes of the Symmetric Key a Get answered: the wrapped Key Value, or the
/// Key Material in the clear.
fn symmetric_key_bytes(response: &Item) -> Vec<u8> {
    response
        .child(tag::BATCH_ITEM)
        .and_then(|b| b.child(tag::RESPONSE_PAYLOAD))
        .and_then(|p| p.child(tag::SYMMETRIC_KEY))
        .and_then(|k| k.child(tag::KEY_BLOCK))
        .and_then(|b| b.child(tag::KEY_VALUE))
        .and_then(
            |v| match (&v.value, v.child(tag::KEY_MATERIAL).map(|m| &m.value)) {
                (Value::ByteString(wrapped), _) => Some(wrapped.clone()),
                (_, Some(Value::ByteString(clear))) => Some(clear.clone()),
                _ => None,
            },
        )
        .unwrap_or_else(|| panic!("{}", to_xml(response)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3394 key wrap (`function` aes_key_wrap or aes_key_unwrap) of `data` under `kek` by
/// Python's `cryptography`, an independent implementation; the result in hex.
fn python_key_wrap(function: &str, kek: &[u8], data: &[u8]) -> String {
    let script = format!(
        "import sys\nfrom cryptography.hazmat.primitives.keywrap import {function}\n\
         print({function}(bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])).hex())"
    );
    let output = std::process::Command::new("python3")
        .args(["-c", &script, &hex(kek), &hex(data)])
        .output()
        .expect("python3 with cryptography");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn get_wraps_a_key_under_a_kek_as_python_cryptography_unwraps_it() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let mut alice = connect(&hyok, &certs, Some("alice")).unwrap();
    let uid = |uid: &str| format!(r#"<UniqueIdentifier type="TextString" value="{uid}"/>"#);
    let created = |alice: &mut SslStream<TcpStream>, mask: &str| {
        let create = CREATE.replace(
            "</TemplateAttribute>",
            &format!(r#"<Attribute><AttributeName type="TextString" value="Cryptographic Usage Mask"/><AttributeValue type="Integer" value="{mask}"/></Attribute></TemplateAttribute>"#),
        );
        let key = payload_text(
            &exchange(alice, &request(&item("Create", &create))).unwrap(),
            tag::UNIQUE_IDENTIFIER,
        );
        exchange(alice, &request(&item("Activate", &uid(&key)))).unwrap();
        key
    };
    let kek = created(&mut alice, "WrapKey");
    let key = created(&mut alice, "Encrypt");
    let get = |alice: &mut SslStream<TcpStream>, key: &str| {
        symmetric_key_bytes(&exchange(alice, &request(&item("Get", &uid(key)))).unwrap())
    };
    let clear = get(&mut alice, &key);
    let kek_clear = get(&mut alice, &kek);
    let wrapping = format!(
        r#"{}<KeyWrappingSpecification><WrappingMethod type="Enumeration" value="Encrypt"/>
        <EncryptionKeyInformation>{}<CryptographicParameters><BlockCipherMode type="Enumeration" value="NISTKeyWrap"/></CryptographicParameters></EncryptionKeyInformation>
        <EncodingOption type="Enumeration" value="NoEncoding"/></KeyWrappingSpecification>"#,
        uid(&key),
        uid(&kek)
    );
    let answer = exchange(&mut alice, &request(&item("Get", &wrapping))).unwrap();
    let xml = to_xml(&answer);
    assert!(
        xml.contains("KeyWrappingData") && xml.contains("NoEncoding"),
        "{xml}"
    );
    let wrapped = symmetric_key_bytes(&answer);
    assert_eq!(wrapped.len(), clear.len() + 8, "RFC 3394 adds one block");
    assert_eq!(
        python_key_wrap("aes_key_unwrap", &kek_clear, &wrapped),
        hex(&clear)
    );

    // A key without Wrap Key in its usage mask does not wrap.
    let refused = wrapping
        .replace(&uid(&kek), &uid(&key))
        .replacen(&uid(&kek), &uid(&key), 1);
    let refused = to_xml(&exchange(&mut alice, &request(&item("Get", &refused))).unwrap());
    assert!(
        refused.contains("OperationFailed") && refused.contains("does not allow WrapKey"),
        "{refused}"
    );
}

#[test]
fn register_unwraps_material_wrapped_under_a_held_kek_and_keeps_other_wrapped_keys_as_given() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let mut alice = connect(&hyok, &certs, Some("alice")).unwrap();
    let uid = |uid: &str| format!(r#"<UniqueIdentifier type="TextString" value="{uid}"/>"#);
    let create = CREATE.replace(
        "</TemplateAttribute>",
        &format!(
            "{}</TemplateAttribute>",
            template_attribute("Cryptographic Usage Mask", "Integer", "UnwrapKey")
        ),
    );
    let created = exchange(&mut alice, &request(&item("Create", &create))).unwrap();
    let kek = payload_text(&created, tag::UNIQUE_IDENTIFIER);
    exchange(&mut alice, &request(&item("Activate", &uid(&kek)))).unwrap();
    let kek_clear =
        symmetric_key_bytes(&exchange(&mut alice, &request(&item("Get", &uid(&kek)))).unwrap());
    let clear: Vec<u8> = (0..16).map(|n| 0xa0 + n).collect();
    let wrapped = python_key_wrap("aes_key_wrap", &kek_clear, &clear);
    let register = |wrapped: &str, kek: &str| {
        item(
            "Register",
            &format!(
                r#"<ObjectType type="Enumeration" value="SymmetricKey"/><TemplateAttribute/>
                <SymmetricKey><KeyBlock><KeyFormatType type="Enumeration" value="Raw"/>
                <KeyValue type="ByteString" value="{wrapped}"/>
                <CryptographicAlgorithm type="Enumeration" value="AES"/><CryptographicLength type="Integer" value="128"/>
                <KeyWrappingData><WrappingMethod type="Enumeration" value="Encrypt"/>
                <EncryptionKeyInformation>{}<CryptographicParameters><BlockCipherMode type="Enumeration" value="NISTKeyWrap"/></CryptographicParameters></EncryptionKeyInformation>
                <EncodingOption type="Enumeration" value="NoEncoding"/></KeyWrappingData></KeyBlock></SymmetricKey>"#,
                uid(kek)
            ),
        )
    };
    let registered = exchange(&mut alice, &request(&register(&wrapped, &kek))).unwrap();
    let key = payload_text(&registered, tag::UNIQUE_IDENTIFIER);
    let got = exchange(&mut alice, &request(&item("Get", &uid(&key)))).unwrap();
    assert!(
        !to_xml(&got).contains("KeyWrappingData"),
        "{}",
        to_xml(&got)
    );
    assert_eq!(symmetric_key_bytes(&got), clear, "stored unwrapped");
    exchange(&mut alice, &request(&item("Activate", &uid(&key)))).unwrap();
    let encrypted = to_xml(&exchange(&mut alice, &request(&encrypt(&key))).unwrap());
    assert!(encrypted.contains("Success"), "{encrypted}");

    // Material that does not unwrap is refused, and nothing is stored.
    let mut damaged = wrapped.clone().into_bytes();
    damaged[0] = if damaged[0] == b'0' { b'1' } else { b'0' };
    let refused = to_xml(
        &exchange(
            &mut alice,
            &request(&register(std::str::from_utf8(&damaged).unwrap(), &kek)),
        )
        .unwrap(),
    );
    assert!(
        refused.contains("CryptographicFailure") && refused.contains("does not unwrap"),
        "{refused}"
    );
    // Wrapped under a key hyok does not hold: kept as given, returned wrapped, not used.
    let kept = exchange(&mut alice, &request(&register(&wrapped, "42"))).unwrap();
    let kept = payload_text(&kept, tag::UNIQUE_IDENTIFIER);
    let got = exchange(&mut alice, &request(&item("Get", &uid(&kept)))).unwrap();
    assert!(to_xml(&got).contains("KeyWrappingData"), "{}", to_xml(&got));
    assert_eq!(hex(&symmetric_key_bytes(&got)), wrapped);
    exchange(&mut alice, &request(&item("Activate", &uid(&kept)))).unwrap();
    let unusable = to_xml(&exchange(&mut alice, &request(&encrypt(&kept))).unwrap());
    assert!(
        unusable.contains("KeyValueNotPresent") && unusable.contains("cannot compute with it"),
        "{unusable}"
    );
    let located = to_xml(&exchange(&mut alice, &request(&item("Locate", ""))).unwrap());
    assert_eq!(located.matches("<UniqueIdentifier").count(), 3, "{located}");
}

#[test]
fn private_keys_are_stored_only_wrapped() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let mut alice = connect(&hyok, &certs, Some("alice")).unwrap();
    let mut secrets = Vec::new();
    for (algorithm, bits) in [("RSA", "2048"), ("EC", "256"), ("EC", "521")] {
        let create = format!(
            "<CommonTemplateAttribute>{}{}</CommonTemplateAttribute>",
            template_attribute("Cryptographic Algorithm", "Enumeration", algorithm),
            template_attribute("Cryptographic Length", "Integer", bits),
        );
        let created = exchange(&mut alice, &request(&item("CreateKeyPair", &create))).unwrap();
        let private = payload_text(&created, tag::PRIVATE_KEY_UNIQUE_IDENTIFIER);
        let got = exchange(
            &mut alice,
            &request(&item(
                "Get",
                &format!(r#"<UniqueIdentifier type="TextString" value="{private}"/>"#),
            )),
        )
        .unwrap();
        let der = match got
            .child(tag::BATCH_ITEM)
            .and_then(|b| b.child(tag::RESPONSE_PAYLOAD))
            .and_then(|p| p.child(tag::PRIVATE_KEY))
            .and_then(|k| k.child(tag::KEY_BLOCK))
            .and_then(|b| b.child(tag::KEY_VALUE))
            .and_then(|v| v.child(tag::KEY_MATERIAL))
            .map(|m| &m.value)
        {
            Some(Value::ByteString(der)) => der.clone(),
            _ => panic!("{}", to_xml(&got)),
        };
        // The last 32 bytes of the DER are secret (the private scalar or the CRT
        // coefficient).
        secrets.push((private, der[der.len() - 32..].to_vec()));
    }
    let file = dir.path().join("data/hyok.db");
    let mut stored = std::fs::read(&file).unwrap();
    stored.extend(std::fs::read(dir.path().join("data/hyok.db-wal")).unwrap_or_default());
    for (uid, secret) in &secrets {
        assert!(
            stored.windows(8).any(|w| w == &uid.as_bytes()[..8]),
            "{uid} is in the database"
        );
        assert!(
            !stored.windows(32).any(|w| w == secret.as_slice()),
            "plaintext of private key {uid} found in the database"
        );
    }
}

/// A KMIP 1.x template Attribute.
fn template_attribute(name: &str, kind: &str, value: &str) -> String {
    format!(
        r#"<Attribute><AttributeName type="TextString" value="{name}"/><AttributeValue type="{kind}" value="{value}"/></Attribute>"#
    )
}

/// Runs the PyKMIP script `script` (in `tests/kmip/`) against `hyok` as alice, with
/// `args` after the connection's; what it printed, as JSON.
fn pykmip(hyok: &Hyok, certs: &Path, script: &str, args: &[&str]) -> serde_json::Value {
    let path = format!("{}/tests/kmip/{script}", env!("CARGO_MANIFEST_DIR"));
    let address = hyok.kmip_address();
    let (host, port) = address.rsplit_once(':').expect("host:port");
    let output = std::process::Command::new("python3")
        .arg(path)
        .args([host, port])
        .arg(certs.join("client-alice.pem"))
        .arg(certs.join("client-alice.key"))
        .arg(certs.join("ca.pem"))
        .args(args)
        .output()
        .expect("python3 with PyKMIP (pip install -r server/tests/kmip/requirements.txt)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} {args:?} failed (pip install -r server/tests/kmip/requirements.txt):\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

/// `hyok-replay` on a directory of OASIS test cases against a fresh server.
fn replay(version: &str) -> serde_json::Value {
    let cases = concat!(env!("CARGO_MANIFEST_DIR"), "/../kmip/tests/oasis/");
    replay_directory(Path::new(&format!("{cases}{version}/XML/mandatory")))
}

/// `hyok-replay` on the test cases in `cases` against a fresh server; its report, after
/// checking that no file failed.
pub fn replay_directory(cases: &Path) -> serde_json::Value {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let (ok, stdout, stderr) = crate::support::run_tool(
        "hyok-replay",
        &[],
        &[
            cases.to_str().unwrap(),
            "--address",
            &hyok.kmip_address(),
            "--cert",
            certs.join("client-alice.pem").to_str().unwrap(),
            "--key",
            certs.join("client-alice.key").to_str().unwrap(),
            "--ca",
            certs.join("ca.pem").to_str().unwrap(),
            "--json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("no JSON report:\n{stdout}\n{stderr}"));
    let failures: Vec<&serde_json::Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["result"] == "fail")
        .collect();
    assert!(
        ok && failures.is_empty(),
        "{}: {failures:#?}\n{stderr}",
        cases.display()
    );
    report
}

fn passed(report: &serde_json::Value, profile: &str) -> u64 {
    report["profiles"][profile]["pass"].as_u64().unwrap_or(0)
}

#[test]
fn every_mandatory_oasis_test_case_passes_and_none_is_skipped() {
    // The counts published in docs/kmip-support.md and the README.
    for (version, expected) in [("v1.4", 68), ("v2.1", 86)] {
        let report = replay(version);
        let total: u64 = report["profiles"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["pass"].as_u64().unwrap())
            .sum();
        assert_eq!(total, expected, "{version}: {total} passed\n{report:#}");
        for (profile, at_least) in [
            ("SKLC-M", 3),
            ("SKFF-M", 12),
            ("CS-BC-M", 13),
            ("TL-M", 3),
            ("CS-BC-M-GCM", 2),
            ("AKLC-M", 3),
            ("OMOS-M", 1),
            ("SASED-M", 3),
            ("CS-AC-M", 8),
            ("CS-AC-M-OAEP", 10),
        ] {
            assert!(
                passed(&report, profile) >= at_least,
                "{version} {profile}: {report:#}"
            );
        }
        let skipped: Vec<&serde_json::Value> = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["result"] == "skipped")
            .collect();
        assert!(skipped.is_empty(), "{version}: {skipped:#?}");
    }
}

#[test]
fn hyok_bench_drives_a_kmip_server_over_both_transports() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let admin = hyok.admin_token();
    let path = |name: &str| certs.join(name).to_str().unwrap().to_string();
    let (address, cert, key, ca) = (
        hyok.kmip_address(),
        path("client-alice.pem"),
        path("client-alice.key"),
        path("ca.pem"),
    );
    let runs: [(&str, &str, &str); 5] = [
        ("tls", "encrypt", "1"),
        ("tls", "create", "1"),
        ("tls", "sign-ecdsa-p256", "8"),
        ("http", "get", "1"),
        ("http", "locate", "3"),
    ];
    for (transport, operation, batch) in runs {
        let (ok, stdout, stderr) = crate::support::run_tool(
            "hyok-bench",
            &[
                ("HYOK_URL", hyok.url.as_str()),
                ("HYOK_TOKEN", admin.as_str()),
            ],
            &[
                "kmip",
                "--transport",
                transport,
                "--operation",
                operation,
                "--address",
                &address,
                "--cert",
                &cert,
                "--key",
                &key,
                "--ca",
                &ca,
                "--keys",
                "3",
                "--connections",
                "2",
                "--duration",
                "1",
                "--batch",
                batch,
                "--json",
            ],
        );
        assert!(ok, "{transport} {operation}: {stderr}");
        let results: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(results["failed"], 0, "{transport} {operation}: {results}");
        assert!(
            results["requests"].as_u64().unwrap() > 5,
            "{transport} {operation}: {results}"
        );
        let named = operation.replacen("sign-", "sign ", 1);
        assert_eq!(results["operation"], format!("kmip {named}"));
        let per_request: f64 = batch.parse().unwrap();
        let (requests, operations) = (
            results["requests_per_second"].as_f64().unwrap(),
            results["operations_per_second"].as_f64().unwrap(),
        );
        assert!(
            (operations - requests * per_request).abs() < 1e-6,
            "{transport} {operation}: {results}"
        );
    }
}

/// An HTTPS client trusting the development CA in `certs`, presenting client-`file`.pem.
fn https_client(certs: &Path, file: Option<&str>) -> reqwest::blocking::Client {
    let ca = std::fs::read(certs.join("ca.pem")).unwrap();
    let mut builder = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
    if let Some(file) = file {
        let identity = reqwest::Identity::from_pkcs8_pem(
            &std::fs::read(certs.join(format!("client-{file}.pem"))).unwrap(),
            &std::fs::read(certs.join(format!("client-{file}.key"))).unwrap(),
        )
        .unwrap();
        builder = builder.identity(identity);
    }
    builder.build().unwrap()
}

/// A client certificate signed by the development CA in `certs` whose subject has the CN
/// entries `names`, written as client-`file`.pem/.key.
fn certificate_with_names(certs: &Path, file: &str, names: &[&str]) {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::ExtendedKeyUsage;
    use openssl::x509::{X509Builder, X509NameBuilder, X509};
    let ca = X509::from_pem(&std::fs::read(certs.join("ca.pem")).unwrap()).unwrap();
    let ca_key = PKey::private_key_from_pem(&std::fs::read(certs.join("ca.key")).unwrap()).unwrap();
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut subject = X509NameBuilder::new().unwrap();
    for name in names {
        subject.append_entry_by_nid(Nid::COMMONNAME, name).unwrap();
    }
    let subject = subject.build();
    let mut builder = X509Builder::new().unwrap();
    builder.set_version(2).unwrap();
    builder.set_subject_name(&subject).unwrap();
    builder.set_issuer_name(ca.subject_name()).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    builder
        .append_extension(ExtendedKeyUsage::new().client_auth().build().unwrap())
        .unwrap();
    builder.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let pem = builder.build().to_pem().unwrap();
    std::fs::write(certs.join(format!("client-{file}.pem")), pem).unwrap();
    let key_pem = key.private_key_to_pem_pkcs8().unwrap();
    std::fs::write(certs.join(format!("client-{file}.key")), key_pem).unwrap();
}

/// With `auto_create_cert_users`, a certificate naming a reserved identity (the key
/// store's `xks:aws`, `*`, an `aws-principal:`/`aws-service:` identity) or several CNs
/// creates no user and holds no grant, over KMIP/TLS and over HTTPS alike.
#[test]
fn reserved_names_cannot_be_taken_through_a_certificate() {
    let dir = tempdir();
    let (hyok, certs) = start(dir.path());
    let admin = hyok.admin_token();
    let mut alice = connect(&hyok, &certs, Some("alice")).unwrap();
    let created = exchange(&mut alice, &request(&item("Create", CREATE))).unwrap();
    let key = payload_text(&created, tag::UNIQUE_IDENTIFIER);
    let uid = format!(r#"<UniqueIdentifier type="TextString" value="{key}"/>"#);
    exchange(&mut alice, &request(&item("Activate", &uid))).unwrap();
    let ca = certs.join("ca.pem").to_str().unwrap().to_string();
    for identity in ["xks:aws", "*"] {
        let env = [
            ("HYOK_URL", hyok.url.as_str()),
            ("HYOK_TOKEN", admin.as_str()),
            ("HYOK_CA_CERT", ca.as_str()),
        ];
        let (ok, _, stderr) = cli(&env, &["access", "grant", &key, identity, "encrypt"]);
        assert!(ok, "{stderr}");
    }
    let reserved = [
        ("xks_aws", vec!["xks:aws"]),
        ("star", vec!["*"]),
        ("principal", vec!["aws-principal:arn:aws:iam::1:role/r"]),
        ("service", vec!["aws-service:ebs.amazonaws.com"]),
        ("two_names", vec!["carol", "xks:aws"]),
    ];
    for (file, names) in &reserved {
        certificate_with_names(&certs, file, names);
        let mut stream = connect(&hyok, &certs, Some(file)).unwrap();
        let answer = to_xml(&exchange(&mut stream, &request(&encrypt(&key))).unwrap());
        assert!(
            !answer.contains(r#"value="Success""#) && answer.contains("client certificate"),
            "{names:?}: {answer}"
        );
        let expected = if names.len() > 1 {
            "several CNs"
        } else {
            "reserved"
        };
        assert!(answer.contains(expected), "{names:?}: {answer}");

        let (status, body) = crate::support::send(
            https_client(&certs, Some(file)).get(format!("{}/access/obtained", hyok.url)),
            None,
        );
        assert_eq!(status, 401, "{names:?}: {body}");
        assert!(body.to_string().contains(expected), "{names:?}: {body}");
    }
    let (status, users) = crate::support::send(
        https_client(&certs, None).get(format!("{}/admin/users", hyok.url)),
        Some(&admin),
    );
    assert_eq!(status, 200, "{users}");
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "alice"], "no reserved user was created");
    // An ordinary new certificate still makes its user, which gets what `*` grants.
    certificate_with_names(&certs, "dave", &["dave"]);
    let mut dave = connect(&hyok, &certs, Some("dave")).unwrap();
    let answer = exchange(&mut dave, &request(&encrypt(&key))).unwrap();
    assert_eq!(payload_text(&answer, tag::UNIQUE_IDENTIFIER), key);
}

#[test]
fn kmip_connections_are_capped_in_all_and_per_certificate_and_idle_ones_closed() {
    let dir = tempdir();
    let (hyok, certs) = start_with(
        dir.path(),
        "max_connections = 3\nmax_connections_per_certificate = 2\nidle_timeout_seconds = 2\n",
    );
    let query = request(&item("Query", ""));
    let served = |stream: &mut SslStream<TcpStream>| exchange(stream, &query).is_ok();
    let open = |name: &str| connect(&hyok, &certs, Some(name)).unwrap();
    let mut alice_1 = open("alice");
    let mut alice_2 = open("alice");
    assert!(served(&mut alice_1) && served(&mut alice_2));
    let mut alice_3 = open("alice");
    assert!(
        !served(&mut alice_3),
        "a third connection of one certificate"
    );
    hyok.wait_for_log("max_connections_per_certificate");
    let mut bob_1 = open("bob");
    assert!(served(&mut bob_1), "another certificate has its own count");
    let mut bob_2 = open("bob");
    assert!(!served(&mut bob_2), "over the listener's three");
    hyok.wait_for_log("(kmip.max_connections)");
    drop(alice_1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut bob_3 = open("bob");
    assert!(served(&mut bob_3), "a closed connection frees its place");
    // Idle connections are closed after idle_timeout_seconds, freeing their places too.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let mut byte = [0u8; 1];
    assert!(
        matches!(alice_2.read(&mut byte), Ok(0) | Err(_)),
        "an idle connection is closed"
    );
    let mut alice_4 = open("alice");
    assert!(served(&mut alice_4));
    assert!(hyok.stop().success());
}
