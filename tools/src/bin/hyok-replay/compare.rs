//! Placeholders and tolerant comparison. Requests get `$NOW±n` as a date-time and every
//! other `$NAME` as the value an earlier response bound to it; responses are compared
//! with the expected ones, binding the placeholders they introduce, and tolerating what a
//! server may choose: time stamps, identifiers, IVs and random outputs (placeholders),
//! message text, vendor Query lists, digests of random keys, the order of bits in a mask,
//! the order (and surplus) of returned attributes, and the value (not the length) of
//! an RSA-OAEP ciphertext or RSA-PSS signature, which are randomized by design, and the
//! identification fields of the PKCS#11 library information (CK_INFO) C_GetInfo returns;
//! an Attribute Index of 0 is the same as none (KMIP 1.x §2.1.1).

use std::collections::HashMap;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::node::Node;

#[derive(Debug, Clone, Default)]
pub struct Bindings {
    values: HashMap<String, String>,
    /// Whether the test case brought key material of its own (then cryptographic outputs
    /// are fixed; with server-generated keys they vary).
    client_keys: bool,
    /// Inside a response whose IV the server chose.
    server_iv: bool,
    /// Whether a request so far named a randomized padding (OAEP, PSS).
    randomized_padding: bool,
    /// Inside the response to an Encrypt or Sign under a randomized padding.
    random_output: bool,
    /// The last value the server returned for each key-dependent element, for request
    /// placeholders no response bound by name (test cases that show a literal value).
    last_output: HashMap<String, String>,
}

/// Outputs that vary when the server generated the key (KMIP profiles, "Variable Items").
const KEY_DEPENDENT: [&str; 6] = [
    "KeyMaterial",
    "Data",
    "IVCounterNonce",
    "AuthenticatedEncryptionTag",
    "SignatureData",
    "MACData",
];

/// Elements whose value is the server's own business.
const IGNORED: [&str; 5] = [
    "ResultMessage",
    "TimeStamp",
    "DigestValue",
    "ServerInformation",
    // How the server draws keys is its own (the attribute must be there).
    "RandomNumberGenerator",
];
/// Outputs of a randomized padding (RSA-OAEP encryption, RSA-PSS signatures): equal in
/// length to the expected ones, never in value.
const RANDOMIZED: [&str; 2] = ["Data", "SignatureData"];
/// The operations whose outputs those are.
const RANDOMIZING: [&str; 2] = ["Encrypt", "Sign"];
/// CK_INFO's layout: cryptokiVersion (2 bytes), manufacturerID (32), flags (8),
/// libraryDescription (32), libraryVersion (2). All but the flags name the library.
const CK_INFO_LENGTH: usize = 76;
const CK_INFO_FLAGS: std::ops::Range<usize> = 34..42;
/// Header fields a server may or may not return.
const OPTIONAL: [&str; 2] = ["ClientCorrelationValue", "ServerCorrelationValue"];
/// Operations whose response payload lists what the server has, in its own order.
const UNORDERED_PAYLOADS: [&str; 2] = ["GetAttributes", "GetAttributeList"];

fn placeholder(value: &str) -> Option<&str> {
    value.strip_prefix('$')
}

fn now_plus(offset: &str) -> Result<String, String> {
    let seconds: i64 = if offset.is_empty() {
        0
    } else {
        offset
            .parse()
            .map_err(|_| format!("bad offset in $NOW{offset}"))?
    };
    let at = OffsetDateTime::now_utc().unix_timestamp() + seconds;
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or_else(|| format!("$NOW{offset} is out of range"))
}

impl Bindings {
    /// Notes what a request brings (call before sending it).
    pub fn note_request(&mut self, request: &Node) {
        fn has_key(node: &Node) -> bool {
            node.name == "KeyMaterial" || node.children.iter().any(has_key)
        }
        fn randomized(node: &Node) -> bool {
            (node.name == "PaddingMethod"
                && matches!(node.value.as_deref(), Some("OAEP") | Some("PSS")))
                || node.children.iter().any(randomized)
        }
        self.client_keys |= has_key(request);
        self.randomized_padding |= randomized(request);
    }

    /// The request with its placeholders replaced.
    pub fn substitute(&self, node: &Node) -> Result<Node, String> {
        let mut out = node.clone();
        if let Some(name) = node.value.as_deref().and_then(placeholder) {
            out.value = Some(if let Some(offset) = name.strip_prefix("NOW") {
                now_plus(offset)?
            } else if let Some(bound) = self.values.get(name) {
                bound.clone()
            } else if let Some(output) = self.last_output.get(&node.name) {
                output.clone()
            } else if node.item_type.as_deref() == Some("ByteString") {
                // A value the test case gives by name only: any bytes do.
                name.bytes().map(|b| format!("{b:02x}")).collect()
            } else {
                format!("${name}")
            });
        }
        out.children = node
            .children
            .iter()
            .map(|c| self.substitute(c))
            .collect::<Result<_, _>>()?;
        Ok(out)
    }

    /// Compares a response with the expected one; the first difference, as a path and a
    /// reason.
    pub fn compare(&mut self, expected: &Node, actual: &Node, path: &str) -> Result<(), String> {
        let path = format!("{path}/{}", expected.name);
        if expected.name != actual.name {
            return Err(format!(
                "{path}: expected <{}>, got <{}>",
                expected.name, actual.name
            ));
        }
        if let (true, Some(value)) = (KEY_DEPENDENT.contains(&actual.name.as_str()), &actual.value)
        {
            self.last_output.insert(actual.name.clone(), value.clone());
        }
        let literal = expected
            .value
            .as_deref()
            .is_some_and(|v| placeholder(v).is_none());
        let varies = !self.client_keys || self.server_iv;
        if IGNORED.contains(&expected.name.as_str())
            || (varies && literal && KEY_DEPENDENT.contains(&expected.name.as_str()))
        {
            return Ok(());
        }
        if self.random_output && literal && RANDOMIZED.contains(&expected.name.as_str()) {
            let (want, got) = (expected.value.as_deref(), actual.value.as_deref());
            return match want.map(str::len) == got.map(str::len) {
                true => Ok(()),
                false => Err(format!("{path}: expected {want:?}'s length, got {got:?}")),
            };
        }
        if expected.name == "Attribute" && (has_first_index(expected) || has_first_index(actual)) {
            let (want, got) = (without_first_index(expected), without_first_index(actual));
            return self.compare(&want, &got, path.trim_end_matches("/Attribute"));
        }
        if expected.name == "Attribute" {
            let name = |node: &Node| node.child("AttributeName").and_then(|n| n.value.clone());
            let ignored = name(expected)
                .map(|n| hyok_kmip::registry::normalize(&n))
                .is_some_and(|n| IGNORED.contains(&n.as_str()));
            if ignored {
                return match name(expected) == name(actual) {
                    true => Ok(()),
                    false => Err(format!("{path}: expected attribute {:?}", name(expected))),
                };
            }
        }
        if expected.item_type.as_deref().unwrap_or("Structure")
            != actual.item_type.as_deref().unwrap_or("Structure")
        {
            return Err(format!(
                "{path}: expected type {:?}, got {:?}",
                expected.item_type, actual.item_type
            ));
        }
        if let (Some(want), Some(got)) = (&expected.value, &actual.value) {
            self.compare_value(expected.item_type.as_deref().unwrap_or(""), want, got)
                .map_err(|reason| format!("{path}: {reason}"))?;
        }
        if expected.name == "BatchItem" {
            let status = |node: &Node, name: &str| {
                node.child(name)
                    .and_then(|c| c.value.clone())
                    .unwrap_or_default()
            };
            if status(expected, "ResultStatus") != status(actual, "ResultStatus") {
                return Err(format!(
                    "{path}: expected {} {}, got {} {}: {}",
                    status(expected, "ResultStatus"),
                    status(expected, "ResultReason"),
                    status(actual, "ResultStatus"),
                    status(actual, "ResultReason"),
                    status(actual, "ResultMessage")
                ));
            }
            let operation = expected
                .child("Operation")
                .and_then(|o| o.value.as_deref())
                .unwrap_or("");
            if operation == "Query" {
                // Vendor lists: only the outcome matters.
                return match (expected.child("ResultStatus"), actual.child("ResultStatus")) {
                    (Some(want), Some(got)) => self.compare(want, got, &path),
                    _ => Err(format!("{path}: no Result Status")),
                };
            }
            if self.randomized_padding && !self.random_output && RANDOMIZING.contains(&operation) {
                let mut random = self.clone();
                random.random_output = true;
                let result = random.compare(expected, actual, path.trim_end_matches("/BatchItem"));
                random.random_output = false;
                *self = random;
                return result;
            }
            if UNORDERED_PAYLOADS.contains(&operation) {
                if expected.children.len() != actual.children.len() {
                    return Err(format!(
                        "{path}: expected {}, got {}",
                        names(expected),
                        names(actual)
                    ));
                }
                for (want, got) in expected.children.iter().zip(&actual.children) {
                    if want.name == "ResponsePayload" && got.name == "ResponsePayload" {
                        self.compare_children(want, got, &format!("{path}/ResponsePayload"), true)?;
                    } else {
                        self.compare(want, got, &path)?;
                    }
                }
                return Ok(());
            }
        }
        if expected.name == "ResponsePayload" && expected.child("IVCounterNonce").is_some() {
            // A server-chosen IV: the IV and the output vary (placeholders still bind).
            let mut varying = self.clone();
            varying.server_iv = true;
            let result = varying.compare_children(expected, actual, &path, false);
            varying.server_iv = false;
            *self = varying;
            return result;
        }
        if expected.name == "ResponsePayload"
            && expected
                .child("PKCS_11Function")
                .is_some_and(|f| f.value.as_deref() == Some("C_GetInfo"))
        {
            return self.compare_ordered(
                &without_library_identity(expected),
                &without_library_identity(actual),
                &path,
            );
        }
        let unordered = expected.name == "Attributes";
        self.compare_children(expected, actual, &path, unordered)
    }

    fn compare_children(
        &mut self,
        expected: &Node,
        actual: &Node,
        path: &str,
        unordered: bool,
    ) -> Result<(), String> {
        if expected.name == "ResponseHeader" {
            let without = |node: &Node| Node {
                children: node
                    .children
                    .iter()
                    .filter(|c| !OPTIONAL.contains(&c.name.as_str()))
                    .cloned()
                    .collect(),
                ..node.clone()
            };
            return self.compare_ordered(&without(expected), &without(actual), path);
        }
        if !unordered {
            return self.compare_ordered(expected, actual, path);
        }
        for want in &expected.children {
            let found = actual.children.iter().find_map(|got| {
                let mut trial = self.clone();
                trial.compare(want, got, path).ok().map(|()| trial)
            });
            match found {
                Some(trial) => *self = trial,
                None => {
                    // With one candidate of that name, say what differs in it.
                    let candidates: Vec<&Node> = actual
                        .children
                        .iter()
                        .filter(|c| c.name == want.name)
                        .collect();
                    if let [only] = candidates.as_slice() {
                        self.clone().compare(want, only, path)?;
                    }
                    return Err(format!(
                        "{path}: no {} like the expected one ({})",
                        want.name,
                        want.to_xml()
                    ));
                }
            }
        }
        Ok(())
    }

    fn compare_ordered(
        &mut self,
        expected: &Node,
        actual: &Node,
        path: &str,
    ) -> Result<(), String> {
        if expected.children.len() != actual.children.len() {
            return Err(format!(
                "{path}: expected {} items ({}), got {} ({})",
                expected.children.len(),
                names(expected),
                actual.children.len(),
                names(actual)
            ));
        }
        for (want, got) in expected.children.iter().zip(&actual.children) {
            self.compare(want, got, path)?;
        }
        Ok(())
    }

    fn compare_value(&mut self, item_type: &str, want: &str, got: &str) -> Result<(), String> {
        if let Some(name) = placeholder(want) {
            if name.starts_with("NOW") {
                return Ok(());
            }
            return match self.values.get(name) {
                Some(bound) if same(item_type, bound, got) => Ok(()),
                Some(bound) => Err(format!("${name} was {bound:?}, now {got:?}")),
                None => {
                    self.values.insert(name.to_string(), got.to_string());
                    Ok(())
                }
            };
        }
        if same(item_type, want, got) {
            Ok(())
        } else {
            Err(format!("expected {want:?}, got {got:?}"))
        }
    }
}

fn is_first_index(node: &Node) -> bool {
    node.name == "AttributeIndex" && node.value.as_deref() == Some("0")
}

fn has_first_index(attribute: &Node) -> bool {
    attribute.children.iter().any(is_first_index)
}

/// A 1.x Attribute without an Attribute Index of 0, which "SHALL be assumed" when absent
/// (KMIP 1.4 §2.1.1).
fn without_first_index(attribute: &Node) -> Node {
    Node {
        children: attribute
            .children
            .iter()
            .filter(|c| !is_first_index(c))
            .cloned()
            .collect(),
        ..attribute.clone()
    }
}

/// A C_GetInfo response payload with CK_INFO's identification fields (the library's
/// versions, manufacturer and description, its own by definition) blanked: what remains
/// to compare is the length and the flags.
fn without_library_identity(payload: &Node) -> Node {
    let blank = |hex: &str| -> String {
        if hex.len() != 2 * CK_INFO_LENGTH {
            return hex.to_string();
        }
        let flags = 2 * CK_INFO_FLAGS.start..2 * CK_INFO_FLAGS.end;
        hex.char_indices()
            .map(|(i, c)| if flags.contains(&i) { c } else { '0' })
            .collect()
    };
    let mut out = payload.clone();
    for child in &mut out.children {
        if child.name == "PKCS_11OutputParameters" {
            child.value = child.value.as_deref().map(blank);
        }
    }
    out
}

fn names(node: &Node) -> String {
    node.children
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn same(item_type: &str, want: &str, got: &str) -> bool {
    if want == got {
        return true;
    }
    match item_type {
        "ByteString" | "BigInteger" | "Enumeration" => want.eq_ignore_ascii_case(got),
        "DateTime" => {
            let instant = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
            instant(want).is_some() && instant(want) == instant(got)
        }
        "Integer" => {
            let mut a: Vec<&str> = want.split_whitespace().collect();
            let mut b: Vec<&str> = got.split_whitespace().collect();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node;

    fn one(xml: &str) -> Node {
        node::parse(xml).unwrap().remove(0)
    }

    fn response(operation: &str, payload: &str) -> Node {
        one(&format!(
            r#"<ResponseMessage><BatchItem><Operation type="Enumeration" value="{operation}"/><ResultStatus type="Enumeration" value="Success"/><ResponsePayload>{payload}</ResponsePayload></BatchItem></ResponseMessage>"#
        ))
    }

    fn data(hex: &str) -> String {
        format!(r#"<Data type="ByteString" value="{hex}"/>"#)
    }

    /// Bindings after a request that brought its own key (outputs then are fixed), under
    /// `padding`.
    fn with_client_key(padding: &str) -> Bindings {
        let mut bindings = Bindings::default();
        bindings.note_request(&one(&format!(
            r#"<RequestMessage><KeyMaterial type="ByteString" value="00"/><PaddingMethod type="Enumeration" value="{padding}"/></RequestMessage>"#
        )));
        bindings
    }

    #[test]
    fn a_fixed_output_must_match_exactly() {
        let mut bindings = with_client_key("PKCS5");
        let expected = response("Encrypt", &data("aabb"));
        assert!(bindings
            .compare(&expected, &response("Encrypt", &data("AABB")), "")
            .is_ok());
        let error = bindings
            .compare(&expected, &response("Encrypt", &data("aabc")), "")
            .unwrap_err();
        assert!(error.contains("Data"), "{error}");
    }

    #[test]
    fn a_randomized_padding_varies_in_value_only_and_only_where_it_randomizes() {
        let mut bindings = with_client_key("OAEP");
        let expected = response("Encrypt", &data("aabb"));
        assert!(bindings
            .compare(&expected, &response("Encrypt", &data("ccdd")), "")
            .is_ok());
        let error = bindings
            .compare(&expected, &response("Encrypt", &data("ccddee")), "")
            .unwrap_err();
        assert!(error.contains("length"), "{error}");
        // Decryption is deterministic under every padding.
        let expected = response("Decrypt", &data("aabb"));
        assert!(bindings
            .compare(&expected, &response("Decrypt", &data("ccdd")), "")
            .is_err());
    }

    #[test]
    fn an_attribute_index_of_0_is_the_same_as_none_and_no_other_is() {
        let attribute = |index: Option<&str>| {
            let index = index
                .map(|i| format!(r#"<AttributeIndex type="Integer" value="{i}"/>"#))
                .unwrap_or_default();
            response(
                "GetAttributes",
                &format!(
                    r#"<Attribute><AttributeName type="TextString" value="State"/>{index}<AttributeValue type="Enumeration" value="Active"/></Attribute>"#
                ),
            )
        };
        let mut bindings = Bindings::default();
        for (want, got) in [(None, Some("0")), (Some("0"), None), (Some("0"), Some("0"))] {
            assert!(bindings
                .compare(&attribute(want), &attribute(got), "")
                .is_ok());
        }
        for (want, got) in [(None, Some("1")), (Some("1"), None), (Some("0"), Some("2"))] {
            assert!(
                bindings
                    .compare(&attribute(want), &attribute(got), "")
                    .is_err(),
                "{want:?} {got:?}"
            );
        }
    }

    #[test]
    fn library_information_differs_in_identity_only() {
        let get_info = |info: &str| {
            response(
                "PKCS_11",
                &format!(
                    r#"<PKCS_11Function type="Enumeration" value="C_GetInfo"/><PKCS_11OutputParameters type="ByteString" value="{info}"/><PKCS_11ReturnCode type="Enumeration" value="OK"/>"#
                ),
            )
        };
        let info = |manufacturer: u8, flags: u8, length: usize| {
            let mut bytes = vec![manufacturer; length];
            bytes[CK_INFO_FLAGS].fill(flags);
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let expected = get_info(&info(b'T', 0, CK_INFO_LENGTH));
        let mut bindings = Bindings::default();
        assert!(bindings
            .compare(&expected, &get_info(&info(b'h', 0, CK_INFO_LENGTH)), "")
            .is_ok());
        for (differing, what) in [
            (info(b'h', 1, CK_INFO_LENGTH), "flags"),
            (info(b'T', 0, CK_INFO_LENGTH + 2), "length"),
        ] {
            assert!(
                bindings
                    .compare(&expected, &get_info(&differing), "")
                    .is_err(),
                "{what}"
            );
        }
        // Only C_GetInfo's output is library information.
        let other = |value: &str| {
            response(
                "PKCS_11",
                &format!(
                    r#"<PKCS_11Function type="Enumeration" value="C_GetSlotList"/><PKCS_11OutputParameters type="ByteString" value="{value}"/>"#
                ),
            )
        };
        let (want, got) = (info(b'T', 0, CK_INFO_LENGTH), info(b'h', 0, CK_INFO_LENGTH));
        assert!(bindings.compare(&other(&want), &other(&got), "").is_err());
    }

    #[test]
    fn a_placeholder_binds_once_and_a_different_result_fails() {
        let mut bindings = Bindings::default();
        let id = |value: &str| {
            response(
                "Create",
                &format!(r#"<UniqueIdentifier type="TextString" value="{value}"/>"#),
            )
        };
        assert!(bindings
            .compare(&id("$UNIQUE_IDENTIFIER_0"), &id("k1"), "")
            .is_ok());
        assert!(bindings
            .compare(&id("$UNIQUE_IDENTIFIER_0"), &id("k2"), "")
            .is_err());
        let failed = one(
            r#"<ResponseMessage><BatchItem><Operation type="Enumeration" value="Create"/><ResultStatus type="Enumeration" value="OperationFailed"/></BatchItem></ResponseMessage>"#,
        );
        assert!(bindings.compare(&id("k1"), &failed, "").is_err());
    }
}
