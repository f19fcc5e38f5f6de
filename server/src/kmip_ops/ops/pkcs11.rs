//! The KMIP 2.x PKCS#11 operation, at library level only: C_Initialize, C_GetInfo and
//! C_Finalize answer as a PKCS#11 3.0 library named hyok would; every other function of
//! the interface answers CKR_FUNCTION_NOT_SUPPORTED, so no slot, token, session or key is
//! reachable through it (keys are used through the KMIP operations, with their grants).
//! The library holds no state per caller: it is always initialized, and the Correlation
//! Value C_Initialize returns is random and binds nothing.

use hyok_kmip::enums::{PKCS_11Function, PKCS_11ReturnCode, ResultReason};
use hyok_kmip::message::PKCS11Request;
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::symmetric::random;

/// The one interface served, PKCS#11 3.0's (the default when a request names none).
const INTERFACE: &str = "PKCS 11";
/// CK_INFO's cryptokiVersion: the 3.0 interface.
const CRYPTOKI_VERSION: [u8; 2] = [3, 0];
const MANUFACTURER: &str = "hyok";
const LIBRARY_DESCRIPTION: &str = "hyok KMIP server";
/// Bytes in the Correlation Value C_Initialize returns.
const CORRELATION_BYTES: usize = 16;

pub fn pkcs11(request: &PKCS11Request) -> Result<Vec<Item>, KmipError> {
    let interface = interface(request.pkcs_11_interface.as_ref())?;
    let function = PKCS_11Function::from_value(request.pkcs_11_function).ok_or_else(|| {
        KmipError::new(
            ResultReason::PKCS_11InvalidFunction,
            format!(
                "PKCS#11 Function {:#x} is not in the {INTERFACE} interface",
                request.pkcs_11_function
            ),
        )
    })?;
    let mut answer = interface.into_iter().collect::<Vec<_>>();
    answer.push(Item::enumeration(tag::PKCS_11_FUNCTION, function.value()));
    let return_code = match function {
        PKCS_11Function::C_Initialize => {
            answer.push(Item::bytes(
                tag::CORRELATION_VALUE,
                random(CORRELATION_BYTES)?,
            ));
            PKCS_11ReturnCode::OK
        }
        PKCS_11Function::C_GetInfo => {
            answer.push(Item::bytes(tag::PKCS_11_OUTPUT_PARAMETERS, library_info()));
            PKCS_11ReturnCode::OK
        }
        PKCS_11Function::C_Finalize => PKCS_11ReturnCode::OK,
        _ => PKCS_11ReturnCode::FUNCTION_NOT_SUPPORTED,
    };
    answer.push(Item::enumeration(
        tag::PKCS_11_RETURN_CODE,
        return_code.value(),
    ));
    Ok(answer)
}

/// The request's interface, echoed in the answer when it named one.
fn interface(requested: Option<&Item>) -> Result<Option<Item>, KmipError> {
    match requested.map(|item| &item.value) {
        None => Ok(None),
        Some(Value::TextString(name)) if name == INTERFACE => Ok(requested.cloned()),
        Some(Value::TextString(name)) => Err(KmipError::new(
            ResultReason::PKCS_11InvalidInterface,
            format!("PKCS#11 Interface {name:?}: hyok serves only {INTERFACE:?}"),
        )),
        Some(_) => Err(KmipError::invalid_field(
            "PKCS#11 Interface is a Text String",
        )),
    }
}

/// CK_INFO as the KMIP PKCS#11 profile encodes it: cryptokiVersion (major, minor),
/// manufacturerID (32 bytes, blank-padded), flags (8 bytes, zero), libraryDescription
/// (32 bytes, blank-padded), libraryVersion (major, minor).
fn library_info() -> Vec<u8> {
    let mut info = Vec::with_capacity(76);
    info.extend_from_slice(&CRYPTOKI_VERSION);
    info.extend_from_slice(&blank_padded(MANUFACTURER));
    info.extend_from_slice(&[0; 8]);
    info.extend_from_slice(&blank_padded(LIBRARY_DESCRIPTION));
    info.extend_from_slice(&library_version());
    info
}

fn blank_padded(text: &str) -> [u8; 32] {
    let mut field = [b' '; 32];
    field[..text.len()].copy_from_slice(text.as_bytes());
    field
}

/// hyok's own version, major and minor, as CK_VERSION.
fn library_version() -> [u8; 2] {
    let part = |text: &str| text.parse::<u8>().unwrap_or(0);
    [
        part(env!("CARGO_PKG_VERSION_MAJOR")),
        part(env!("CARGO_PKG_VERSION_MINOR")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(function: u32, interface: Option<&str>) -> PKCS11Request {
        PKCS11Request {
            pkcs_11_interface: interface.map(|name| Item::text(tag::PKCS_11_INTERFACE, name)),
            pkcs_11_function: function,
            correlation_value: None,
            pkcs_11_input_parameters: None,
            extensions: Vec::new(),
        }
    }

    fn return_code(answer: &[Item]) -> Option<u32> {
        answer
            .iter()
            .find(|item| item.tag == tag::PKCS_11_RETURN_CODE)
            .and_then(|item| match item.value {
                Value::Enumeration(code) => Some(code),
                _ => None,
            })
    }

    #[test]
    fn get_info_describes_hyok_in_the_ck_info_layout() {
        let answer = pkcs11(&request(PKCS_11Function::C_GetInfo.value(), None)).unwrap();
        let info = answer
            .iter()
            .find(|item| item.tag == tag::PKCS_11_OUTPUT_PARAMETERS)
            .unwrap();
        let Value::ByteString(info) = &info.value else {
            panic!("output parameters are bytes")
        };
        assert_eq!(info.len(), 76);
        assert_eq!(&info[..2], &[3, 0]);
        assert!(info[2..34].starts_with(b"hyok    "));
        assert_eq!(&info[34..42], &[0; 8]);
        assert_eq!(return_code(&answer), Some(PKCS_11ReturnCode::OK.value()));
    }

    #[test]
    fn functions_that_reach_tokens_are_not_supported() {
        for function in [PKCS_11Function::C_OpenSession, PKCS_11Function::C_Sign] {
            let answer = pkcs11(&request(function.value(), Some(INTERFACE))).unwrap();
            assert_eq!(
                return_code(&answer),
                Some(PKCS_11ReturnCode::FUNCTION_NOT_SUPPORTED.value())
            );
        }
    }

    #[test]
    fn an_unknown_function_or_interface_is_refused() {
        let unknown = pkcs11(&request(0x1000, None)).unwrap_err();
        assert_eq!(unknown.reason, ResultReason::PKCS_11InvalidFunction);
        let other = pkcs11(&request(1, Some("Vendor Interface"))).unwrap_err();
        assert_eq!(other.reason, ResultReason::PKCS_11InvalidInterface);
    }
}
