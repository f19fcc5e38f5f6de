//! The checks every cryptographic use of a symmetric key passes, for Encrypt, Decrypt,
//! MAC and MAC Verify alike: a symmetric key, not blocked, in a state the use allows
//! (protecting data needs Active; reading it back also takes Deactivated and
//! Compromised), and a usage mask, when the key has one, that allows it; and the Data of
//! a single-part request.

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{CryptographicUsageMask, ObjectType, ResultReason, State};

use crate::access::Operation;
use crate::keys::{RecordKinds, BLOCKED};
use crate::kmip_ops::error::KmipError;

/// Whether a use protects data (Encrypt, MAC) or reads protected data (Decrypt, MAC
/// Verify).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Protect,
    Process,
}

/// Checks that `object` may serve `operation` (`direction`), whose usage-mask bit is `bit`.
pub fn check(
    object: &ObjectRecord,
    operation: Operation,
    direction: Direction,
    bit: CryptographicUsageMask,
) -> Result<(), KmipError> {
    if object.kmip_type() != Some(ObjectType::SymmetricKey) {
        return Err(KmipError::new(
            ResultReason::IllegalObjectType,
            format!(
                "{} is a {}: hyok computes {operation} with symmetric keys",
                object.uid, object.object_type
            ),
        ));
    }
    let stored = object.attributes();
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
    data.ok_or_else(|| KmipError::new(ResultReason::MissingData, format!("{operation} needs Data")))
}
