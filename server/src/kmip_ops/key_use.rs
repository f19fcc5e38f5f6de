//! The checks every cryptographic use of a key passes, for Encrypt, Decrypt, Sign,
//! Signature Verify, MAC and MAC Verify alike: an object of a type the use takes, whose
//! key hyok can compute with (not one kept as registered: wrapped under a key hyok does
//! not hold, or a symmetric key in a format other than Raw or Transparent), not blocked, in a state the use allows (protecting data needs Active; reading it back also
//! takes Deactivated and Compromised), a usage mask, when the key has one, that allows it,
//! and dates that allow it (Protect Stop Date ends protecting, Process Start Date starts
//! processing); and the Data of a single-part request.

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{
    CryptographicUsageMask, ObjectType, ResultReason, State, ValidityIndicator,
};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use crate::access::Operation;
use crate::keys::{RecordKinds, BLOCKED, KEPT_WRAPPED, OBJECT_ITEM};
use crate::kmip_ops::error::KmipError;

/// Whether a use protects data (Encrypt, MAC) or reads protected data (Decrypt, MAC
/// Verify).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Protect,
    Process,
}

/// Checks that `object`, one of `kinds`, may serve `operation` (`direction`), whose
/// usage-mask bit is `bit`.
pub fn check(
    object: &ObjectRecord,
    kinds: &[ObjectType],
    operation: Operation,
    direction: Direction,
    bit: CryptographicUsageMask,
) -> Result<(), KmipError> {
    if !object.kmip_type().is_some_and(|kind| kinds.contains(&kind)) {
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        return Err(KmipError::new(
            ResultReason::IllegalObjectType,
            format!(
                "{} is a {}: hyok computes {operation} with a {}",
                object.uid,
                object.object_type,
                names.join(" or ")
            ),
        ));
    }
    let stored = object.attributes();
    let kept_whole_symmetric = object.kmip_type() == Some(ObjectType::SymmetricKey)
        && stored[OBJECT_ITEM].as_bool() == Some(true);
    if kept_whole_symmetric || stored[KEPT_WRAPPED].as_bool() == Some(true) {
        return Err(KmipError::new(
            ResultReason::KeyValueNotPresent,
            format!(
                "{} is kept as it was registered ({}): hyok cannot compute with it",
                object.uid,
                match stored[KEPT_WRAPPED].as_bool() {
                    Some(true) => "wrapped under a key hyok does not hold",
                    _ => "a symmetric key in a format other than Raw or Transparent",
                }
            ),
        ));
    }
    if stored[BLOCKED].as_bool() == Some(true) {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!("{} is blocked by an administrator", object.uid),
        ));
    }
    let states: &[State] = match direction {
        Direction::Protect => &[State::Active],
        Direction::Process => &[State::Active, State::Deactivated, State::Compromised],
    };
    if !object
        .kmip_state()
        .is_some_and(|state| states.contains(&state))
    {
        let allowed: Vec<&str> = states.iter().map(|s| s.name()).collect();
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!(
                "{} is {}; {operation} needs it {}",
                object.uid,
                object.state,
                allowed.join(" or ")
            ),
        ));
    }
    if let Some(mask) = stored["CryptographicUsageMask"].as_i64() {
        if mask & i64::from(bit.value()) == 0 {
            return Err(KmipError::new(
                ResultReason::IncompatibleCryptographicUsageMask,
                format!("the usage mask of {} does not allow {bit}", object.uid),
            ));
        }
    }
    dates_allow(object, operation, direction)
}

/// Protect Stop Date ends protecting; Process Start Date starts processing.
fn dates_allow(
    object: &ObjectRecord,
    operation: Operation,
    direction: Direction,
) -> Result<(), KmipError> {
    let (date_tag, refused_when, what) = match direction {
        Direction::Protect => (
            tag::PROTECT_STOP_DATE,
            true,
            "its Protect Stop Date has passed",
        ),
        Direction::Process => (
            tag::PROCESS_START_DATE,
            false,
            "its Process Start Date has not come",
        ),
    };
    let now = hyok_db::now_millis().div_euclid(1000);
    let dated = crate::kmip_ops::attributes::kept_tagged(object.attributes(), date_tag)
        .into_iter()
        .find_map(|item| match item.value {
            Value::DateTime(seconds) => Some(seconds),
            _ => None,
        });
    if dated.is_some_and(|seconds| (seconds <= now) == refused_when) {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!("{} may not {operation}: {what}", object.uid),
        ));
    }
    Ok(())
}

/// The Data of a single-part `operation`; `multi_part`: whether the request carries a
/// Correlation Value or an Init Indicator (not supported).
pub fn single_part_data<'a>(
    operation: &str,
    multi_part: bool,
    data: Option<&'a [u8]>,
) -> Result<&'a [u8], KmipError> {
    if multi_part {
        return Err(KmipError::not_supported(format!(
            "multi-part {operation} is not supported"
        )));
    }
    needed_data(operation, data)
}

/// The Data `operation` needs, or Missing Data.
pub fn needed_data<'a>(operation: &str, data: Option<&'a [u8]>) -> Result<&'a [u8], KmipError> {
    data.ok_or_else(|| KmipError::new(ResultReason::MissingData, format!("{operation} needs Data")))
}

/// The answer of a verifying operation (MAC Verify, Signature Verify) on `uid`: Valid or
/// Invalid.
pub fn verdict(uid: &str, valid: bool) -> Vec<Item> {
    let validity = if valid {
        ValidityIndicator::Valid
    } else {
        ValidityIndicator::Invalid
    };
    vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::enumeration(tag::VALIDITY_INDICATOR, validity.value()),
    ]
}
