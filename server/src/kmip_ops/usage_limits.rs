//! Usage Limits: a key that carries them protects (Encrypt, Sign, MAC) no more than its
//! Usage Limits Total allows, in bytes or in uses (Usage Limits Unit). What is left is
//! its Usage Limits Count, taken in the database before each protecting use (an
//! optimistic update that retries on a concurrent change, so concurrent uses on any node
//! never take more than the total); a use that would pass the limit answers Permission
//! Denied. Reading protected data back (Decrypt, verifying) is not limited, as KMIP says.

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{ResultReason, UsageLimitsUnit};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use crate::keys::KeyError;
use crate::kmip_ops::attributes::{kept, kept_tagged, set_kept};
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;

fn long(item: &Item, field: u32) -> Option<i64> {
    match item.child(field).map(|f| &f.value) {
        Some(Value::LongInteger(n)) => Some(*n),
        Some(Value::Integer(n)) => Some(i64::from(*n)),
        _ => None,
    }
}

/// The limits with `amount` taken, or why not.
fn taken(uid: &str, limits: &Item, bytes: usize) -> Result<Item, KeyError> {
    let unit = match limits.child(tag::USAGE_LIMITS_UNIT).map(|u| &u.value) {
        Some(Value::Enumeration(v)) => UsageLimitsUnit::from_value(*v),
        _ => None,
    };
    let amount = match unit {
        Some(UsageLimitsUnit::Object) => 1,
        _ => i64::try_from(bytes).unwrap_or(i64::MAX),
    };
    let left = long(limits, tag::USAGE_LIMITS_COUNT)
        .or_else(|| long(limits, tag::USAGE_LIMITS_TOTAL))
        .unwrap_or(0);
    if amount > left {
        return Err(KeyError::Refused {
            reason: ResultReason::PermissionDenied,
            message: format!("the Usage Limits of {uid} allow {left} more, not {amount}"),
        });
    }
    let mut fields: Vec<Item> = limits
        .children()
        .unwrap_or_default()
        .iter()
        .filter(|f| f.tag != tag::USAGE_LIMITS_COUNT)
        .cloned()
        .collect();
    fields.push(Item::new(
        tag::USAGE_LIMITS_COUNT,
        Value::LongInteger(left - amount),
    ));
    Ok(Item::structure(tag::USAGE_LIMITS, fields))
}

/// Takes one protecting use of `bytes` from `object`'s Usage Limits, if it has any.
pub async fn take(
    context: &Context<'_>,
    object: &ObjectRecord,
    bytes: usize,
) -> Result<(), KmipError> {
    if kept_tagged(object.attributes(), tag::USAGE_LIMITS).is_empty() {
        return Ok(());
    }
    let uid = object.uid.clone();
    context
        .state
        .keys
        .change_attributes(
            &object.uid,
            &context.actor(),
            "usage-limits",
            move |_, stored, _| {
                let mut items = kept(stored);
                for item in items.iter_mut().filter(|a| a.tag == tag::USAGE_LIMITS) {
                    *item = taken(&uid, item, bytes)?;
                }
                set_kept(stored, &items).map_err(|e| KeyError::Invalid(e.message))
            },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: i64, unit: UsageLimitsUnit) -> Item {
        Item::structure(
            tag::USAGE_LIMITS,
            vec![
                Item::new(tag::USAGE_LIMITS_TOTAL, Value::LongInteger(total)),
                Item::enumeration(tag::USAGE_LIMITS_UNIT, unit.value()),
            ],
        )
    }

    #[test]
    fn limits_count_down_and_refuse_what_passes_them() {
        let bytes = limits(16, UsageLimitsUnit::Byte);
        let after = taken("k", &bytes, 10).unwrap();
        assert_eq!(long(&after, tag::USAGE_LIMITS_COUNT), Some(6));
        assert!(taken("k", &after, 7).is_err());
        assert_eq!(
            long(&taken("k", &after, 6).unwrap(), tag::USAGE_LIMITS_COUNT),
            Some(0)
        );
        let uses = limits(1, UsageLimitsUnit::Object);
        let after = taken("k", &uses, 1000).unwrap();
        assert!(taken("k", &after, 1).is_err());
    }
}
