//! KMIP over HTTP against the real server: `/kmip` in XML, binary TTLV and JSON, and
//! `/kmip/2_1` in JSON-TTLV; a key's life (create, activate, encrypt and decrypt in GCM
//! and CBC, attributes, get, revoke, destroy) in KMIP 2.1 and 1.4; batches; grants.

use hyok_kmip::registry::tag;
use hyok_kmip::text::{from_json, from_xml, to_json_ttlv, to_xml};
use hyok_kmip::{decode, encode, Item, Limits, Value};
use serde_json::json;

use crate::support::{config_in, tempdir, Hyok, Launch};

/// Sends `message` (XML) to `/kmip` in `encoding` and reads the answer back.
fn kmip(hyok: &Hyok, token: &str, encoding: &str, message: &str) -> Item {
    let limits = Limits::default();
    let item = from_xml(message, &limits).unwrap_or_else(|e| panic!("{e}\n{message}"));
    let (content_type, body) = match encoding {
        "xml" => ("text/xml", to_xml(&item).into_bytes()),
        "ttlv" => ("application/octet-stream", encode(&item).unwrap()),
        "json" => (
            "application/json",
            hyok_kmip::text::to_json(&item).into_bytes(),
        ),
        other => panic!("{other}"),
    };
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/kmip", hyok.url))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.bytes().unwrap();
    match encoding {
        "ttlv" => decode(&bytes, &limits).unwrap(),
        "json" => from_json(std::str::from_utf8(&bytes).unwrap(), &limits).unwrap(),
        _ => from_xml(std::str::from_utf8(&bytes).unwrap(), &limits).unwrap(),
    }
}

fn request(major: u8, minor: u8, items: &str) -> String {
    let count = items.matches("<BatchItem>").count();
    format!(
        r#"<RequestMessage><RequestHeader><ProtocolVersion>
        <ProtocolVersionMajor type="Integer" value="{major}"/><ProtocolVersionMinor type="Integer" value="{minor}"/>
        </ProtocolVersion><BatchCount type="Integer" value="{count}"/></RequestHeader>{items}</RequestMessage>"#
    )
}

fn item(operation: &str, payload: &str) -> String {
    format!(
        r#"<BatchItem><Operation type="Enumeration" value="{operation}"/><RequestPayload>{payload}</RequestPayload></BatchItem>"#
    )
}

fn uid(uid: &str) -> String {
    format!(r#"<UniqueIdentifier type="TextString" value="{uid}"/>"#)
}

/// The batch items of a response.
fn batch(response: &Item) -> Vec<&Item> {
    response
        .children()
        .unwrap()
        .iter()
        .filter(|i| i.tag == tag::BATCH_ITEM)
        .collect()
}

/// The one batch item of a response, which must have succeeded; its payload.
fn ok(response: &Item) -> &Item {
    let items = batch(response);
    assert_eq!(items.len(), 1, "{}", to_xml(response));
    let xml = to_xml(response);
    assert!(
        xml.contains(r#"<ResultStatus type="Enumeration" value="Success"/>"#),
        "{xml}"
    );
    items[0].child(tag::RESPONSE_PAYLOAD).unwrap()
}

/// The Result Reason and Message of a failed one-item response.
fn failed(response: &Item) -> (String, String) {
    let xml = to_xml(response);
    assert!(xml.contains(r#"value="OperationFailed""#), "{xml}");
    let reason = xml
        .split(r#"<ResultReason type="Enumeration" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    let message = match batch(response)[0]
        .child(tag::RESULT_MESSAGE)
        .map(|m| &m.value)
    {
        Some(Value::TextString(text)) => text.clone(),
        _ => String::new(),
    };
    (reason, message)
}

fn text(item: &Item, wanted: u32) -> String {
    match item.child(wanted).map(|c| &c.value) {
        Some(Value::TextString(text)) => text.clone(),
        other => panic!("no text 0x{wanted:06x}: {other:?}"),
    }
}

fn bytes(item: &Item, wanted: u32) -> Vec<u8> {
    match item.child(wanted).map(|c| &c.value) {
        Some(Value::ByteString(bytes)) => bytes.clone(),
        other => panic!("no bytes 0x{wanted:06x}: {other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const CREATE_21: &str = r#"<ObjectType type="Enumeration" value="SymmetricKey"/><Attributes>
    <CryptographicAlgorithm type="Enumeration" value="AES"/>
    <CryptographicLength type="Integer" value="256"/>
    <CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/>
    <Name><NameValue type="TextString" value="NAME"/><NameType type="Enumeration" value="UninterpretedTextString"/></Name>
    <Attribute><VendorIdentification type="TextString" value="x"/><AttributeName type="TextString" value="Product"/>
      <AttributeValue type="TextString" value="hyok tests"/></Attribute>
    </Attributes>"#;

fn gcm() -> &'static str {
    r#"<CryptographicParameters><BlockCipherMode type="Enumeration" value="GCM"/></CryptographicParameters>"#
}

/// An Encrypt batch item: one byte under `key` with AES-GCM.
fn encrypt_a_byte(key: &str) -> String {
    item(
        "Encrypt",
        &format!(
            r#"{}{}<Data type="ByteString" value="00"/>"#,
            uid(key),
            gcm()
        ),
    )
}

#[test]
fn a_key_lives_its_life_over_kmip_2_1_in_every_encoding() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let v21 = |items: &str| request(2, 1, items);

    let created = kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item("Create", &CREATE_21.replace("NAME", "life-21"))),
    );
    let key = text(ok(&created), tag::UNIQUE_IDENTIFIER);
    let (reason, message) = failed(&kmip(&hyok, &admin, "ttlv", &v21(&encrypt_a_byte(&key))));
    assert_eq!(reason, "WrongKeyLifecycleState", "{message}");
    assert!(message.contains("PreActive"), "{message}");
    ok(&kmip(
        &hyok,
        &admin,
        "json",
        &v21(&item("Activate", &uid(&key))),
    ));

    // AES-GCM, IV chosen by the server, with additional data.
    let plaintext = b"the secret of hyok's KMIP tests";
    let encrypted = kmip(
        &hyok,
        &admin,
        "ttlv",
        &v21(&item(
            "Encrypt",
            &format!(
                r#"{}{}<Data type="ByteString" value="{}"/><AuthenticatedEncryptionAdditionalData type="ByteString" value="0102"/>"#,
                uid(&key),
                gcm(),
                hex(plaintext)
            ),
        )),
    );
    let payload = ok(&encrypted);
    let (ciphertext, iv, auth_tag) = (
        bytes(payload, tag::DATA),
        bytes(payload, tag::IV_COUNTER_NONCE),
        bytes(payload, tag::AUTHENTICATED_ENCRYPTION_TAG),
    );
    assert_eq!((iv.len(), auth_tag.len()), (12, 16));
    assert_ne!(&ciphertext[..], &plaintext[..]);
    let decrypt = |aad: &str| {
        kmip(
            &hyok,
            &admin,
            "xml",
            &v21(&item(
                "Decrypt",
                &format!(
                    r#"{}{}<Data type="ByteString" value="{}"/><IVCounterNonce type="ByteString" value="{}"/>
            <AuthenticatedEncryptionAdditionalData type="ByteString" value="{aad}"/>
            <AuthenticatedEncryptionTag type="ByteString" value="{}"/>"#,
                    uid(&key),
                    gcm(),
                    hex(&ciphertext),
                    hex(&iv),
                    hex(&auth_tag)
                ),
            )),
        )
    };
    assert_eq!(bytes(ok(&decrypt("0102")), tag::DATA), plaintext);
    assert_eq!(failed(&decrypt("0103")).0, "CryptographicFailure");

    // AES-CBC with PKCS#5 padding and the client's IV.
    let cbc = r#"<CryptographicParameters><BlockCipherMode type="Enumeration" value="CBC"/>
        <PaddingMethod type="Enumeration" value="PKCS5"/></CryptographicParameters>"#;
    let iv16 = "000102030405060708090a0b0c0d0e0f";
    let encrypted = kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "Encrypt",
            &format!(
                r#"{}{cbc}<Data type="ByteString" value="{}"/><IVCounterNonce type="ByteString" value="{iv16}"/>"#,
                uid(&key),
                hex(b"seventeen bytes!!")
            ),
        )),
    );
    let ciphertext = bytes(ok(&encrypted), tag::DATA);
    assert_eq!(ciphertext.len(), 32, "17 bytes pad to two blocks");
    let decrypted = kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "Decrypt",
            &format!(
                r#"{}{cbc}<Data type="ByteString" value="{}"/><IVCounterNonce type="ByteString" value="{iv16}"/>"#,
                uid(&key),
                hex(&ciphertext)
            ),
        )),
    );
    assert_eq!(bytes(ok(&decrypted), tag::DATA), b"seventeen bytes!!");

    // Attributes, as set and as the server keeps them.
    let attributes = kmip(
        &hyok,
        &admin,
        "json",
        &v21(&item("GetAttributes", &uid(&key))),
    );
    let xml = to_xml(ok(&attributes));
    for expected in [
        r#"<State type="Enumeration" value="Active"/>"#,
        r#"<CryptographicLength type="Integer" value="256"/>"#,
        r#"<CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/>"#,
        r#"<NameValue type="TextString" value="life-21"/>"#,
        r#"<AttributeValue type="TextString" value="hyok tests"/>"#,
        "<ActivationDate ",
    ] {
        assert!(xml.contains(expected), "{expected} missing in\n{xml}");
    }
    let only_state = kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "GetAttributes",
            &format!(
                r#"{}<AttributeReference type="Enumeration" value="State"/>"#,
                uid(&key)
            ),
        )),
    );
    let only = ok(&only_state)
        .child(tag::ATTRIBUTES)
        .unwrap()
        .children()
        .unwrap()
        .to_vec();
    assert_eq!(only.len(), 1, "{only:?}");
    let list = to_xml(ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item("GetAttributeList", &uid(&key))),
    )));
    assert!(
        list.contains(r#"<AttributeReference type="Enumeration" value="CryptographicAlgorithm"/>"#),
        "{list}"
    );
    assert!(
        list.contains(r#"<AttributeName type="TextString" value="Product"/>"#),
        "{list}"
    );

    // Get: the key itself, 32 bytes.
    let got = kmip(&hyok, &admin, "ttlv", &v21(&item("Get", &uid(&key))));
    let block = ok(&got)
        .child(tag::SYMMETRIC_KEY)
        .unwrap()
        .child(tag::KEY_BLOCK)
        .unwrap();
    assert_eq!(
        bytes(block.child(tag::KEY_VALUE).unwrap(), tag::KEY_MATERIAL).len(),
        32
    );

    // Revoke, then only Decrypt; Destroy after revocation, then nothing.
    let revoke = format!(
        r#"{}<RevocationReason><RevocationReasonCode type="Enumeration" value="CessationOfOperation"/></RevocationReason>"#,
        uid(&key)
    );
    assert_eq!(
        failed(&kmip(
            &hyok,
            &admin,
            "xml",
            &v21(&item("Destroy", &uid(&key)))
        ))
        .0,
        "WrongKeyLifecycleState"
    );
    ok(&kmip(&hyok, &admin, "xml", &v21(&item("Revoke", &revoke))));
    assert_eq!(
        bytes(
            ok(&decrypted_again(
                &hyok,
                &admin,
                &key,
                cbc,
                iv16,
                &ciphertext
            )),
            tag::DATA
        ),
        b"seventeen bytes!!"
    );
    ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item("Destroy", &uid(&key))),
    ));
    let (reason, _) = failed(&kmip(&hyok, &admin, "xml", &v21(&item("Get", &uid(&key)))));
    assert_eq!(reason, "ObjectDestroyed");
    let state = to_xml(ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item("GetAttributes", &uid(&key))),
    )));
    assert!(
        state.contains(r#"<State type="Enumeration" value="Destroyed"/>"#),
        "{state}"
    );
    assert!(state.contains("<DestroyDate "), "{state}");
}

fn decrypted_again(
    hyok: &Hyok,
    token: &str,
    key: &str,
    cbc: &str,
    iv16: &str,
    ciphertext: &[u8],
) -> Item {
    kmip(
        hyok,
        token,
        "xml",
        &request(
            2,
            1,
            &item(
                "Decrypt",
                &format!(
                    r#"{}{cbc}<Data type="ByteString" value="{}"/><IVCounterNonce type="ByteString" value="{iv16}"/>"#,
                    uid(key),
                    hex(ciphertext)
                ),
            ),
        ),
    )
}

#[test]
fn kmip_1_4_clients_speak_templates_and_custom_attributes() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let v14 = |items: &str| request(1, 4, items);
    let attribute = |name: &str, value: &str| {
        format!(
            r#"<Attribute><AttributeName type="TextString" value="{name}"/>{value}</Attribute>"#
        )
    };
    let template = [
        attribute(
            "Cryptographic Algorithm",
            r#"<AttributeValue type="Enumeration" value="AES"/>"#,
        ),
        attribute(
            "Cryptographic Length",
            r#"<AttributeValue type="Integer" value="128"/>"#,
        ),
        attribute(
            "Cryptographic Usage Mask",
            r#"<AttributeValue type="Integer" value="Encrypt Decrypt"/>"#,
        ),
        attribute(
            "Operation Policy Name",
            r#"<AttributeValue type="TextString" value="default"/>"#,
        ),
        attribute(
            "x-Vendor",
            r#"<AttributeValue type="TextString" value="VMware, Inc."/>"#,
        ),
    ]
    .concat();
    let created = kmip(
        &hyok,
        &admin,
        "ttlv",
        &v14(&item(
            "Create",
            &format!(
                r#"<ObjectType type="Enumeration" value="SymmetricKey"/><TemplateAttribute>{template}</TemplateAttribute>"#
            ),
        )),
    );
    let key = text(ok(&created), tag::UNIQUE_IDENTIFIER);
    let attributes = kmip(
        &hyok,
        &admin,
        "ttlv",
        &v14(&item(
            "GetAttributes",
            &format!(
                r#"{}<AttributeName type="TextString" value="x-Vendor"/><AttributeName type="TextString" value="State"/>"#,
                uid(&key)
            ),
        )),
    );
    let xml = to_xml(&attributes);
    assert!(
        xml.contains(r#"<ProtocolVersionMinor type="Integer" value="4"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<AttributeName type="TextString" value="x-Vendor"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<AttributeValue type="TextString" value="VMware, Inc."/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<AttributeValue type="Enumeration" value="PreActive"/>"#),
        "{xml}"
    );
    assert!(!xml.contains("<Attributes>"), "{xml}");
    // A 2.x-only reason is told to a 1.4 client as its nearest 1.x reason.
    let (reason, message) = failed(&kmip(&hyok, &admin, "ttlv", &v14(&encrypt_a_byte(&key))));
    assert_eq!(reason, "PermissionDenied", "{message}");
}

#[test]
fn batches_echo_ids_and_stop_or_continue_after_a_failure() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let with_id = |id: &str, operation: &str, payload: &str| {
        item(operation, payload).replace(
            "<RequestPayload>",
            &format!(r#"<UniqueBatchItemID type="ByteString" value="{id}"/><RequestPayload>"#),
        )
    };
    let items = [
        with_id("01", "DiscoverVersions", ""),
        with_id("02", "Activate", &uid("no-such-key")),
        with_id(
            "03",
            "Query",
            r#"<QueryFunction type="Enumeration" value="QueryOperations"/>"#,
        ),
    ]
    .concat();
    let stopped = kmip(&hyok, &admin, "xml", &request(2, 0, &items));
    assert_eq!(
        batch(&stopped).len(),
        2,
        "Stop is the default: {}",
        to_xml(&stopped)
    );
    let continued = kmip(
        &hyok,
        &admin,
        "xml",
        &request(2, 0, &items).replace(
            "<BatchCount",
            r#"<BatchErrorContinuationOption type="Enumeration" value="Continue"/><BatchCount"#,
        ),
    );
    let answers = batch(&continued);
    assert_eq!(answers.len(), 3);
    for (answer, id) in answers.iter().zip([[1u8], [2], [3]]) {
        assert_eq!(bytes(answer, tag::UNIQUE_BATCH_ITEM_ID), id);
    }
    let xml = to_xml(&continued);
    assert!(
        xml.contains(r#"<ResultReason type="Enumeration" value="ObjectNotFound"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<Operation type="Enumeration" value="Encrypt"/>"#),
        "Query lists Encrypt: {xml}"
    );
    assert!(
        xml.contains(r#"<ProtocolVersionMajor type="Integer" value="2"/>"#),
        "{xml}"
    );
    // Discover Versions honours the client's list.
    let discovered = kmip(
        &hyok,
        &admin,
        "xml",
        &request(
            1,
            2,
            &item(
                "DiscoverVersions",
                r#"
        <ProtocolVersion><ProtocolVersionMajor type="Integer" value="1"/><ProtocolVersionMinor type="Integer" value="1"/></ProtocolVersion>
        <ProtocolVersion><ProtocolVersionMajor type="Integer" value="9"/><ProtocolVersionMinor type="Integer" value="9"/></ProtocolVersion>"#,
            ),
        ),
    );
    let versions = ok(&discovered).children().unwrap();
    assert_eq!(versions.len(), 1, "{}", to_xml(&discovered));
    // A version hyok does not speak, and bytes that are no message at all.
    let (reason, message) = failed(&kmip(
        &hyok,
        &admin,
        "xml",
        &request(3, 0, &item("Query", "")),
    ));
    assert_eq!(reason, "InvalidMessage");
    assert!(message.contains("3.0"), "{message}");
    // A Batch Count that does not match the items, and a Response Message sent as a request.
    let miscounted = request(1, 4, &item("Query", "")).replace(
        r#"<BatchCount type="Integer" value="1"/>"#,
        r#"<BatchCount type="Integer" value="2"/>"#,
    );
    let (reason, message) = failed(&kmip(&hyok, &admin, "xml", &miscounted));
    assert_eq!(reason, "InvalidMessage");
    assert!(message.contains("Batch Count says 2"), "{message}");
    let response_shaped = request(1, 4, &item("Query", ""))
        .replace("<RequestMessage>", "<ResponseMessage>")
        .replace("</RequestMessage>", "</ResponseMessage>");
    let (reason, message) = failed(&kmip(&hyok, &admin, "xml", &response_shaped));
    assert_eq!(reason, "InvalidMessage");
    assert!(message.contains("Request Message"), "{message}");
    let garbage = reqwest::blocking::Client::new()
        .post(format!("{}/kmip", hyok.url))
        .bearer_auth(&admin)
        .header("Content-Type", "application/octet-stream")
        .body(vec![0x42, 0x00, 0x78, 0x01, 0xff, 0xff, 0xff, 0xf0])
        .send()
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 200);
    let answer = decode(&garbage.bytes().unwrap(), &Limits::default()).unwrap();
    assert!(to_xml(&answer).contains(r#"value="InvalidMessage""#));
}

#[test]
fn json_ttlv_on_kmip_2_1_and_grants_decide_who_uses_a_key() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let bob = hyok.user_token(&admin, "bob");
    let create = from_xml(
        &request(2, 1, &item("Create", &CREATE_21.replace("NAME", "grants"))),
        &Limits::default(),
    )
    .unwrap();
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/kmip/2_1", hyok.url))
        .bearer_auth(&admin)
        .header("Content-Type", "application/json")
        .body(to_json_ttlv(&create))
        .send()
        .unwrap();
    let body = response.text().unwrap();
    assert!(
        body.contains(r#""type":"Structure""#),
        "JSON-TTLV names every type: {body}"
    );
    let created = from_json(&body, &Limits::default()).unwrap();
    let key = text(ok(&created), tag::UNIQUE_IDENTIFIER);
    ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &request(2, 1, &item("Activate", &uid(&key))),
    ));

    let encrypt = request(2, 1, &encrypt_a_byte(&key));
    let (reason, message) = failed(&kmip(&hyok, &bob, "xml", &encrypt));
    assert_eq!(reason, "PermissionDenied");
    assert!(
        message.contains("encrypt") && message.contains("bob"),
        "{message}"
    );
    let (status, granted) = hyok.post(
        "/access/grant",
        Some(&admin),
        json!({"object": key, "identity": "bob", "operations": ["encrypt"]}),
    );
    assert_eq!(status, 200, "{granted}");
    ok(&kmip(&hyok, &bob, "xml", &encrypt));
    let (reason, _) = failed(&kmip(
        &hyok,
        &bob,
        "xml",
        &request(2, 1, &item("Get", &uid(&key))),
    ));
    assert_eq!(
        reason, "PermissionDenied",
        "an encrypt grant does not export the key"
    );
    // Revoked: refused on the very next call, although the grant decision was cached.
    let (status, revoked) = hyok.post(
        "/access/revoke",
        Some(&admin),
        json!({"object": key, "identity": "bob", "operations": ["encrypt"]}),
    );
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(
        failed(&kmip(&hyok, &bob, "xml", &encrypt)).0,
        "PermissionDenied"
    );
    let (status, tail) = hyok.get("/admin/audit/tail?limit=50", Some(&admin));
    assert_eq!(status, 200);
    let tail = tail.to_string();
    assert!(tail.contains("denied") && tail.contains(&key), "{tail}");
}

/// Names are unique in the server, so a Create under a name someone else holds must fail,
/// but it says no more than that: not whose it is nor which object; Locate does not find
/// it; and a caller who may not create at all learns nothing of the name.
#[test]
fn a_taken_name_tells_other_users_only_that_it_is_taken() {
    let dir = tempdir();
    let config = format!("{}\n[auth]\ncreators = [\"bob\"]\n", config_in(dir.path()));
    let hyok = Launch::with_config(dir.path(), &config).start();
    let admin = hyok.admin_token();
    let bob = hyok.user_token(&admin, "bob");
    let carol = hyok.user_token(&admin, "carol");
    let create = request(2, 1, &item("Create", &CREATE_21.replace("NAME", "payroll")));
    let held = text(
        ok(&kmip(&hyok, &admin, "xml", &create)),
        tag::UNIQUE_IDENTIFIER,
    );

    let (reason, message) = failed(&kmip(&hyok, &bob, "xml", &create));
    assert_eq!(reason, "NonUniqueNameAttribute");
    assert!(
        !message.contains(&held) && !message.contains("admin"),
        "{message}"
    );
    let locate = request(
        2,
        1,
        &item(
            "Locate",
            r#"<Attributes><Name><NameValue type="TextString" value="payroll"/><NameType type="Enumeration" value="UninterpretedTextString"/></Name></Attributes>"#,
        ),
    );
    let found = to_xml(ok(&kmip(&hyok, &bob, "xml", &locate)));
    assert!(!found.contains(&held), "{found}");

    let (reason, message) = failed(&kmip(&hyok, &carol, "xml", &create));
    assert_eq!(reason, "PermissionDenied", "{message}");
    assert!(!message.contains("payroll"), "{message}");
}

#[test]
fn attributes_change_and_locate_finds_only_what_the_caller_may_see() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let carol = hyok.user_token(&admin, "carol");
    let v21 = |items: &str| request(2, 1, items);
    let mut keys = Vec::new();
    for n in 0..5 {
        let created = kmip(
            &hyok,
            &admin,
            "xml",
            &v21(&item(
                "Create",
                &CREATE_21.replace("NAME", &format!("locate-{n}")),
            )),
        );
        keys.push(text(ok(&created), tag::UNIQUE_IDENTIFIER));
    }
    let vendor = |value: &str| {
        format!(
            r#"<Attribute><VendorIdentification type="TextString" value="x"/><AttributeName type="TextString" value="Product"/>
            <AttributeValue type="TextString" value="{value}"/></Attribute>"#
        )
    };
    // Set replaces, Modify changes, Delete removes; names are unique.
    ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "SetAttribute",
            &format!(
                "{}<NewAttribute>{}</NewAttribute>",
                uid(&keys[0]),
                vendor("set")
            ),
        )),
    ));
    ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "ModifyAttribute",
            &format!(
                "{}<CurrentAttribute>{}</CurrentAttribute><NewAttribute>{}</NewAttribute>",
                uid(&keys[0]),
                vendor("set"),
                vendor("modified")
            ),
        )),
    ));
    let (reason, _) = failed(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "ModifyAttribute",
            &format!(
                "{}<CurrentAttribute>{}</CurrentAttribute><NewAttribute>{}</NewAttribute>",
                uid(&keys[0]),
                vendor("set"),
                vendor("again")
            ),
        )),
    ));
    assert_eq!(reason, "AttributeNotFound");
    let name = |value: &str| {
        format!(
            r#"<Name><NameValue type="TextString" value="{value}"/><NameType type="Enumeration" value="UninterpretedTextString"/></Name>"#
        )
    };
    ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "AddAttribute",
            &format!(
                "{}<NewAttribute>{}</NewAttribute>",
                uid(&keys[0]),
                name("second-name")
            ),
        )),
    ));
    let (reason, _) = failed(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "AddAttribute",
            &format!(
                "{}<NewAttribute>{}</NewAttribute>",
                uid(&keys[1]),
                name("second-name")
            ),
        )),
    ));
    assert_eq!(reason, "NonUniqueNameAttribute");
    let (reason, _) = failed(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "SetAttribute",
            &format!(
                r#"{}<NewAttribute><State type="Enumeration" value="Active"/></NewAttribute>"#,
                uid(&keys[0])
            ),
        )),
    ));
    assert_eq!(reason, "AttributeReadOnly");
    ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "DeleteAttribute",
            &format!(
                "{}<CurrentAttribute>{}</CurrentAttribute>",
                uid(&keys[0]),
                name("locate-0")
            ),
        )),
    ));
    let attributes = to_xml(ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item("GetAttributes", &uid(&keys[0]))),
    )));
    assert!(
        attributes.contains("second-name") && !attributes.contains("locate-0"),
        "{attributes}"
    );
    assert!(
        attributes.contains(r#"value="modified""#) && !attributes.contains(r#"value="set""#),
        "{attributes}"
    );

    // Locate: AND of attributes, Offset and Maximum Items, and only what the caller may see.
    let locate = |token: &str, extra: &str, attributes: &str| {
        let answer = kmip(
            &hyok,
            token,
            "xml",
            &v21(&item(
                "Locate",
                &format!("{extra}<Attributes>{attributes}</Attributes>"),
            )),
        );
        let payload = ok(&answer).clone();
        let uids: Vec<String> = payload
            .children()
            .unwrap()
            .iter()
            .filter(|i| i.tag == tag::UNIQUE_IDENTIFIER)
            .map(|i| match &i.value {
                Value::TextString(t) => t.clone(),
                _ => unreachable!(),
            })
            .collect();
        let total = match payload.child(tag::LOCATED_ITEMS).map(|i| &i.value) {
            Some(Value::Integer(n)) => Some(*n),
            None => None,
            other => panic!("{other:?}"),
        };
        (total, uids)
    };
    let aes = r#"<CryptographicAlgorithm type="Enumeration" value="AES"/><State type="Enumeration" value="PreActive"/>"#;
    // Most recently created first (KMIP 2.1 §6.1.28).
    let newest_first: Vec<String> = keys.iter().rev().cloned().collect();
    assert_eq!(locate(&admin, "", aes), (None, newest_first.clone()));
    let page = r#"<MaximumItems type="Integer" value="2"/><OffsetItems type="Integer" value="1"/>"#;
    assert_eq!(
        locate(&admin, page, aes),
        (Some(5), newest_first[1..3].to_vec())
    );
    let second = format!("{aes}{}", name("second-name"));
    assert_eq!(locate(&admin, "", &second), (None, vec![keys[0].clone()]));
    assert_eq!(
        locate(&admin, "", &vendor("modified")),
        (None, vec![keys[0].clone()])
    );
    let active = r#"<State type="Enumeration" value="Active"/>"#;
    assert_eq!(locate(&admin, "", active), (None, vec![]));
    assert_eq!(
        locate(&carol, "", aes),
        (None, vec![]),
        "carol sees none of admin's keys"
    );
    // By name (read through the names index): still only what the caller may see.
    assert_eq!(locate(&carol, "", &name("second-name")), (None, vec![]));
    assert_eq!(locate(&admin, "", &name("no-such-name")), (None, vec![]));
    let (status, _) = hyok.post(
        "/access/grant",
        Some(&admin),
        json!({"object": keys[3], "identity": "carol", "operations": ["get-attributes"]}),
    );
    assert_eq!(status, 200);
    assert_eq!(locate(&carol, "", aes), (None, vec![keys[3].clone()]));
}

#[test]
fn key_pairs_and_other_objects_are_created_registered_and_returned() {
    use openssl::pkey::PKey;
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let v21 = |items: &str| request(2, 1, items);
    let pair = |algorithm: &str, length: u32| {
        let created = kmip(
            &hyok,
            &admin,
            "ttlv",
            &v21(&item(
                "CreateKeyPair",
                &format!(
                    r#"<CommonAttributes><CryptographicAlgorithm type="Enumeration" value="{algorithm}"/>
            <CryptographicLength type="Integer" value="{length}"/></CommonAttributes>
            <PrivateKeyAttributes><CryptographicUsageMask type="Integer" value="Sign"/></PrivateKeyAttributes>
            <PublicKeyAttributes><CryptographicUsageMask type="Integer" value="Verify"/></PublicKeyAttributes>"#
                ),
            )),
        );
        let payload = ok(&created);
        (
            text(payload, tag::PRIVATE_KEY_UNIQUE_IDENTIFIER),
            text(payload, tag::PUBLIC_KEY_UNIQUE_IDENTIFIER),
        )
    };
    let material = |id: &str, object: u32| {
        let got = kmip(&hyok, &admin, "ttlv", &v21(&item("Get", &uid(id))));
        let block = ok(&got)
            .child(object)
            .unwrap()
            .child(tag::KEY_BLOCK)
            .unwrap()
            .clone();
        (
            to_xml(&block),
            bytes(block.child(tag::KEY_VALUE).unwrap(), tag::KEY_MATERIAL),
        )
    };
    // EC P-256: PKCS#8 private key, X.509 public key, linked both ways.
    let (private, public) = pair("EC", 256);
    let (block, der) = material(&private, tag::PRIVATE_KEY);
    assert!(block.contains(r#"value="PKCS_8""#), "{block}");
    let key = PKey::private_key_from_pkcs8(&der).expect("a PKCS#8 EC key");
    let (block, der) = material(&public, tag::PUBLIC_KEY);
    assert!(block.contains(r#"value="X_509""#), "{block}");
    let public_key = PKey::public_key_from_der(&der).expect("an X.509 public key");
    assert!(public_key.public_eq(&key), "the halves belong together");
    let attributes = to_xml(ok(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item("GetAttributes", &uid(&private))),
    )));
    assert!(
        attributes.contains("PublicKeyLink") && attributes.contains(&public),
        "{attributes}"
    );
    assert!(
        attributes.contains(r#"<CryptographicUsageMask type="Integer" value="Sign"/>"#),
        "{attributes}"
    );
    // RSA 2048 in PKCS#1; a private key does not encrypt here.
    let (private, _) = pair("RSA", 2048);
    let (_, der) = material(&private, tag::PRIVATE_KEY);
    let rsa = openssl::rsa::Rsa::private_key_from_der(&der).expect("a PKCS#1 RSA key");
    assert_eq!(rsa.size() * 8, 2048);
    let (reason, _) = failed(&kmip(&hyok, &admin, "xml", &v21(&encrypt_a_byte(&private))));
    assert_eq!(reason, "IllegalObjectType");
    assert_eq!(failed(&kmip(&hyok, &admin, "xml", &v21(&item("CreateKeyPair", r#"<CommonAttributes>
        <CryptographicAlgorithm type="Enumeration" value="RSA"/><CryptographicLength type="Integer" value="1024"/>
        </CommonAttributes>"#)))).0, "InvalidAttributeValue");

    // Secret data comes back exactly as registered.
    let secret = r#"<SecretData><SecretDataType type="Enumeration" value="Password"/><KeyBlock>
        <KeyFormatType type="Enumeration" value="Opaque"/><KeyValue><KeyMaterial type="ByteString" value="73656372657421"/></KeyValue>
        </KeyBlock></SecretData>"#;
    let registered = kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "Register",
            &format!(r#"<ObjectType type="Enumeration" value="SecretData"/><Attributes/>{secret}"#),
        )),
    );
    let secret_uid = text(ok(&registered), tag::UNIQUE_IDENTIFIER);
    let got = kmip(&hyok, &admin, "xml", &v21(&item("Get", &uid(&secret_uid))));
    let returned = ok(&got).child(tag::SECRET_DATA).unwrap().clone();
    assert_eq!(returned, from_xml(secret, &Limits::default()).unwrap());
    let (reason, _) = failed(&kmip(
        &hyok,
        &admin,
        "xml",
        &v21(&item(
            "Register",
            &format!(
                r#"<ObjectType type="Enumeration" value="OpaqueObject"/><Attributes/>{secret}"#
            ),
        )),
    ));
    assert_eq!(reason, "InvalidObjectType");
}

/// A row whose state, algorithm or link type is not a KMIP name (damaged outside hyok)
/// is answered without the damaged attributes and refused for lifecycle changes and
/// cryptography, with a reason; the server keeps serving.
#[test]
fn a_damaged_stored_value_is_left_out_or_refused_never_a_crash() {
    use sqlx::Connection;
    let dir = tempdir();
    let config = config_in(dir.path());
    let first = Launch::with_config(dir.path(), &config).start();
    let admin = first.admin_token();
    let create = request(2, 1, &item("Create", &CREATE_21.replace("NAME", "damaged")));
    let key = text(
        ok(&kmip(&first, &admin, "xml", &create)),
        tag::UNIQUE_IDENTIFIER,
    );
    assert!(first.stop().success());
    let tamper = format!(
        "UPDATE objects SET state = 'Sideways', attributes = json_set(attributes, \
         '$.CryptographicAlgorithm', 'Rot13', '$.Links', json('{{\"SidewaysLink\":\"x\"}}')) \
         WHERE uid = '{key}'"
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let url = format!(
            "sqlite://{}",
            crate::support::data_file(dir.path(), "hyok.db").display()
        );
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(&tamper).execute(&mut db).await.unwrap();
    });
    let hyok = Launch::with_config(dir.path(), &config).start();

    let attributes = request(2, 1, &item("GetAttributes", &uid(&key)));
    let answer = to_xml(ok(&kmip(&hyok, &admin, "xml", &attributes)));
    assert!(answer.contains(&key), "{answer}");
    for left_out in [
        "<State ",
        "<CryptographicAlgorithm ",
        "<Link>",
        "Sideways",
        "Rot13",
    ] {
        assert!(!answer.contains(left_out), "{left_out} in {answer}");
    }
    let activate = request(2, 1, &item("Activate", &uid(&key)));
    let (reason, message) = failed(&kmip(&hyok, &admin, "xml", &activate));
    assert_eq!(reason, "WrongKeyLifecycleState", "{message}");
    assert!(message.contains("damaged state"), "{message}");
    let (reason, _) = failed(&kmip(
        &hyok,
        &admin,
        "xml",
        &request(2, 1, &encrypt_a_byte(&key)),
    ));
    assert_eq!(reason, "WrongKeyLifecycleState");

    let healthy = text(
        ok(&kmip(
            &hyok,
            &admin,
            "xml",
            &create.replace("damaged", "healthy"),
        )),
        tag::UNIQUE_IDENTIFIER,
    );
    assert_ne!(healthy, key);
}

/// Registers a raw symmetric key of `algorithm` (`bits` long) with `material` and the
/// usage mask `usage`, active from now; its unique identifier.
fn register_raw(
    hyok: &Hyok,
    token: &str,
    (algorithm, bits): (&str, u32),
    usage: &str,
    material: &str,
) -> String {
    let payload = format!(
        r#"<ObjectType type="Enumeration" value="SymmetricKey"/><Attributes>
        <CryptographicUsageMask type="Integer" value="{usage}"/></Attributes>
        <SymmetricKey><KeyBlock><KeyFormatType type="Enumeration" value="Raw"/>
        <KeyValue><KeyMaterial type="ByteString" value="{material}"/></KeyValue>
        <CryptographicAlgorithm type="Enumeration" value="{algorithm}"/>
        <CryptographicLength type="Integer" value="{bits}"/></KeyBlock></SymmetricKey>"#
    );
    let uid = text(
        ok(&kmip(
            hyok,
            token,
            "xml",
            &request(2, 1, &item("Register", &payload)),
        )),
        tag::UNIQUE_IDENTIFIER,
    );
    ok(&kmip(
        hyok,
        token,
        "xml",
        &request(2, 1, &item("Activate", &self::uid(&uid))),
    ));
    uid
}

/// Encrypts `data` with `key` and `parameters` (Cryptographic Parameters' children), the
/// IV left to the server; (ciphertext, IV, tag) as hex.
fn encrypted(hyok: &Hyok, token: &str, key: &str, parameters: &str, data: &str) -> [String; 3] {
    let payload = format!(
        r#"{}<CryptographicParameters>{parameters}</CryptographicParameters><Data type="ByteString" value="{data}"/>"#,
        uid(key)
    );
    let answer = kmip(
        hyok,
        token,
        "xml",
        &request(2, 1, &item("Encrypt", &payload)),
    );
    let answer = ok(&answer);
    let optional = |wanted| match answer.child(wanted).map(|c| &c.value) {
        Some(Value::ByteString(bytes)) => hex(bytes),
        _ => String::new(),
    };
    [
        hex(&bytes(answer, tag::DATA)),
        optional(tag::IV_COUNTER_NONCE),
        optional(tag::AUTHENTICATED_ENCRYPTION_TAG),
    ]
}

/// Other symmetric ciphers, checked by Python's `cryptography`: hyok's ciphertexts (with
/// the IVs and nonces it drew) decrypt there to the plaintext; Triple DES and ChaCha20
/// keys are created and registered; an algorithm hyok only stores answers Cryptographic
/// Failure.
#[test]
fn other_symmetric_ciphers_agree_with_an_independent_implementation() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let aes = "000102030405060708090a0b0c0d0e0f";
    let des3 = "0123456789abcdeffedcba987654321089abcdef01234567";
    let chacha = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let data = "6b6579206d6174657269616c2c2032302062797465732e2e2e";
    let mode = |m: &str| format!(r#"<BlockCipherMode type="Enumeration" value="{m}"/>"#);
    let pkcs5 = r#"<PaddingMethod type="Enumeration" value="PKCS5"/>"#;
    let aes_key = register_raw(&hyok, &admin, ("AES", 128), "Encrypt Decrypt", aes);
    let des3_key = register_raw(&hyok, &admin, ("DES3", 192), "Encrypt Decrypt", des3);
    let chacha_key = register_raw(
        &hyok,
        &admin,
        ("ChaCha20Poly1305", 256),
        "Encrypt Decrypt",
        chacha,
    );
    let cases = [
        (
            "aes-ecb",
            aes,
            encrypted(
                &hyok,
                &admin,
                &aes_key,
                &format!("{}{pkcs5}", mode("ECB")),
                data,
            ),
        ),
        (
            "aes-ctr",
            aes,
            encrypted(&hyok, &admin, &aes_key, &mode("CTR"), data),
        ),
        (
            "aes-ccm",
            aes,
            encrypted(&hyok, &admin, &aes_key, &mode("CCM"), data),
        ),
        (
            "des3-cbc",
            des3,
            encrypted(&hyok, &admin, &des3_key, &mode("CBC"), data),
        ),
        (
            "chacha20-poly1305",
            chacha,
            encrypted(&hyok, &admin, &chacha_key, "", data),
        ),
    ];
    let script = r#"
import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, ChaCha20Poly1305
from cryptography.hazmat.primitives import padding
for line in sys.stdin:
    kind, key, ct, iv, tag = (line.split() + [""] * 5)[:5]
    key, ct, iv, tag = (bytes.fromhex(x) for x in (key, ct, iv, tag))
    if kind == "aes-ecb":
        d = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
        u = padding.PKCS7(128).unpadder()
        pt = u.update(d.update(ct) + d.finalize()) + u.finalize()
    elif kind == "aes-ctr":
        d = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
        pt = d.update(ct) + d.finalize()
    elif kind == "aes-ccm":
        pt = AESCCM(key, tag_length=len(tag)).decrypt(iv, ct + tag, None)
    elif kind == "des3-cbc":
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
        d = Cipher(TripleDES(key), modes.CBC(iv)).decryptor()
        u = padding.PKCS7(64).unpadder()
        pt = u.update(d.update(ct) + d.finalize()) + u.finalize()
    else:
        pt = ChaCha20Poly1305(key).decrypt(iv, ct + tag, None)
    print(kind, pt.hex())
"#;
    let input: String = cases
        .iter()
        .map(|(kind, key, [ct, iv, tag])| format!("{kind} {key} {ct} {iv} {tag}\n"))
        .collect();
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (kind, _, _) in &cases {
        assert!(
            stdout.contains(&format!("{kind} {data}")),
            "{kind}: {stdout}"
        );
    }
    assert_eq!(cases[0].2[1], "", "ECB takes no IV");
    for (kind, _, [_, iv, _]) in &cases[1..] {
        assert!(
            !iv.is_empty(),
            "{kind}: the server drew the IV and returned it"
        );
    }

    let create = |algorithm: &str, bits: u32| {
        let payload = format!(
            r#"<ObjectType type="Enumeration" value="SymmetricKey"/><Attributes>
            <CryptographicAlgorithm type="Enumeration" value="{algorithm}"/>
            <CryptographicLength type="Integer" value="{bits}"/>
            <CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/></Attributes>"#
        );
        kmip(
            &hyok,
            &admin,
            "xml",
            &request(2, 1, &item("Create", &payload)),
        )
    };
    for (algorithm, bits) in [
        ("DES3", 168),
        ("ChaCha20", 256),
        ("Blowfish", 128),
        ("HMAC_SHA256", 256),
    ] {
        ok(&create(algorithm, bits));
    }
    let (reason, message) = failed(&create("AES", 100));
    assert_eq!(reason, "InvalidAttributeValue", "{message}");
    let (reason, message) = failed(&create("RSA", 2048));
    assert!(message.contains("Create Key Pair"), "{reason}: {message}");
    let blowfish = register_raw(&hyok, &admin, ("Blowfish", 128), "Encrypt Decrypt", aes);
    let payload = format!(
        r#"{}<CryptographicParameters>{}</CryptographicParameters><Data type="ByteString" value="{data}"/>"#,
        uid(&blowfish),
        mode("CBC")
    );
    let (reason, message) = failed(&kmip(
        &hyok,
        &admin,
        "xml",
        &request(2, 1, &item("Encrypt", &payload)),
    ));
    assert_eq!(reason, "CryptographicFailure", "{message}");
}

/// Hash, MAC, MAC Verify and RNG Retrieve, checked by Python's `hashlib` and `hmac`.
#[test]
fn hashes_and_macs_agree_with_python_and_random_bytes_are_bounded() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let key_bytes = "0123456789abcdef0123456789abcdef";
    let data = "68656c6c6f2c206d6163";
    let key = register_raw(
        &hyok,
        &admin,
        ("HMAC_SHA384", 128),
        "MACGenerate MACVerify",
        key_bytes,
    );
    let mac_request = format!(r#"{}<Data type="ByteString" value="{data}"/>"#, uid(&key));
    let mac = hex(&bytes(
        ok(&kmip(
            &hyok,
            &admin,
            "xml",
            &request(2, 1, &item("MAC", &mac_request)),
        )),
        tag::MAC_DATA,
    ));
    let hashed = |algorithm: &str| {
        let payload = format!(
            r#"<CryptographicParameters><HashingAlgorithm type="Enumeration" value="{algorithm}"/></CryptographicParameters><Data type="ByteString" value="{data}"/>"#
        );
        hex(&bytes(
            ok(&kmip(
                &hyok,
                &admin,
                "xml",
                &request(2, 1, &item("Hash", &payload)),
            )),
            tag::DATA,
        ))
    };
    let (sha256, sha3) = (hashed("SHA_256"), hashed("SHA3_512"));
    let python = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib, hmac, sys; k, d = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]); \
             print(hmac.new(k, d, 'sha384').hexdigest(), hashlib.sha256(d).hexdigest(), hashlib.sha3_512(d).hexdigest())",
            key_bytes,
            data,
        ])
        .output()
        .expect("python3");
    let expected = String::from_utf8_lossy(&python.stdout);
    assert_eq!(expected.trim(), format!("{mac} {sha256} {sha3}"));

    let verify = |mac: &str| {
        let payload = format!(
            r#"{}<Data type="ByteString" value="{data}"/><MACData type="ByteString" value="{mac}"/>"#,
            uid(&key)
        );
        to_xml(ok(&kmip(
            &hyok,
            &admin,
            "xml",
            &request(2, 1, &item("MACVerify", &payload)),
        )))
    };
    assert!(verify(&mac).contains(r#"value="Valid""#));
    let wrong = format!("00{}", &mac[2..]);
    assert!(
        verify(&wrong).contains(r#"value="Invalid""#),
        "a wrong MAC is Invalid, not an error"
    );

    let random = |length: i32| {
        let payload = format!(r#"<DataLength type="Integer" value="{length}"/>"#);
        kmip(
            &hyok,
            &admin,
            "xml",
            &request(2, 1, &item("RNGRetrieve", &payload)),
        )
    };
    let drawn = (
        bytes(ok(&random(32)), tag::DATA),
        bytes(ok(&random(32)), tag::DATA),
    );
    assert_eq!(drawn.0.len(), 32);
    assert_ne!(drawn.0, drawn.1);
    let (reason, message) = failed(&random(2 << 20));
    assert_eq!(reason, "InvalidField", "{message}");
}

#[test]
fn export_returns_the_object_with_all_its_attributes_to_who_may_export_it() {
    let dir = tempdir();
    let hyok = Launch::with_config(dir.path(), &config_in(dir.path())).start();
    let admin = hyok.admin_token();
    let bob = hyok.user_token(&admin, "bob");
    let send = |token: &str, operation: &str, payload: &str| {
        kmip(
            &hyok,
            token,
            "ttlv",
            &request(2, 1, &item(operation, payload)),
        )
    };
    let created = send(&admin, "Create", &CREATE_21.replace("NAME", "exported"));
    let key = text(ok(&created), tag::UNIQUE_IDENTIFIER);
    let got = send(&admin, "Get", &uid(&key));
    let exported = send(&admin, "Export", &uid(&key));
    let payload = ok(&exported);
    let order: Vec<u32> = payload.children().unwrap().iter().map(|i| i.tag).collect();
    assert_eq!(
        order,
        [
            tag::OBJECT_TYPE,
            tag::UNIQUE_IDENTIFIER,
            tag::ATTRIBUTES,
            tag::SYMMETRIC_KEY
        ],
        "{}",
        to_xml(&exported)
    );
    assert_eq!(
        payload.child(tag::SYMMETRIC_KEY),
        ok(&got).child(tag::SYMMETRIC_KEY),
        "the object as Get returns it"
    );
    let attributes = payload.child(tag::ATTRIBUTES).unwrap();
    for wanted in [
        tag::CRYPTOGRAPHIC_ALGORITHM,
        tag::NAME,
        tag::STATE,
        tag::INITIAL_DATE,
    ] {
        assert!(
            attributes.child(wanted).is_some(),
            "0x{wanted:06x} missing: {}",
            to_xml(attributes)
        );
    }
    // Another user needs the export grant; a get grant does not stand in for it.
    let grant = |operation: &str| {
        let (status, body) = hyok.post(
            "/access/grant",
            Some(&admin),
            json!({"object": key, "identity": "bob", "operations": [operation]}),
        );
        assert_eq!(status, 200, "{body}");
    };
    grant("get");
    let (reason, message) = failed(&send(&bob, "Export", &uid(&key)));
    assert_eq!(reason, "PermissionDenied", "{message}");
    assert!(message.contains("export"), "{message}");
    grant("export");
    ok(&send(&bob, "Export", &uid(&key)));
    // KMIP 1.4 (where Export first appears) carries the attributes in a Template-Attribute.
    let v14 = kmip(
        &hyok,
        &admin,
        "ttlv",
        &request(1, 4, &item("Export", &uid(&key))),
    );
    let template = ok(&v14).child(tag::TEMPLATE_ATTRIBUTE).unwrap();
    assert!(
        to_xml(template).contains("Cryptographic Algorithm"),
        "{}",
        to_xml(&v14)
    );
}
