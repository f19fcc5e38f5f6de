//! Locate: the objects (not destroyed ones, unless the Storage Status Mask asks for
//! Destroyed Storage) whose attributes match every attribute of the request (AND), that
//! the caller may see (owner, or a Get Attributes grant), most recently created first
//! (KMIP 2.1 §6.1.28), after Offset Items, at most Maximum Items (then with Located
//! Items, the number matched). A date attribute given twice is a range (inclusive); a
//! usage mask matches objects allowing at least its bits; a Name matches by its value; a
//! 1.x Operation Policy Name matches every object when it is [`DEFAULT_POLICY`], none
//! otherwise. The database answers the conditions it can (names, type, state, algorithm,
//! length, usage mask, dates, kept and custom attributes: [`stored_search`]); when it
//! answers them all, it also applies the caller's right to see, Offset and Maximum Items
//! and counts the matches. Otherwise it hands the objects over a page at a time, newest
//! first, each checked against every condition and the caller's right to see it.

use crate::keys::RecordKinds;
use hyok_db::ObjectRecord;
use hyok_kmip::enums;
use hyok_kmip::message::LocateRequest;
use hyok_kmip::registry::{tag, Version};
use hyok_kmip::{Item, Value};

use crate::access::{Decision, Operation};
use crate::kmip_ops::attributes;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::stored_search;
use hyok_db::Filter;

const PAGE: i64 = 500;
/// The one operation policy of KMIP 1.x every hyok object has (access is decided by
/// grants, not by policies).
pub const DEFAULT_POLICY: &str = "default";
const DATES: [u32; 11] = [
    tag::INITIAL_DATE,
    tag::ACTIVATION_DATE,
    tag::DEACTIVATION_DATE,
    tag::DESTROY_DATE,
    tag::COMPROMISE_DATE,
    tag::COMPROMISE_OCCURRENCE_DATE,
    tag::LAST_CHANGE_DATE,
    tag::ARCHIVE_DATE,
    tag::PROCESS_START_DATE,
    tag::PROTECT_STOP_DATE,
    tag::ORIGINAL_CREATION_DATE,
];

/// The conditions the database answers, to narrow what is read, and whether it answers
/// them all (else each object read is checked against every condition).
fn filters(conditions: &[Condition], destroyed_too: bool) -> (Vec<Filter>, bool) {
    let filters: Vec<Filter> = conditions
        .iter()
        .filter(|condition| !matches!(condition, Condition::PolicyIs(_)))
        .filter_map(|condition| match condition {
            Condition::Between(date_tag, from, to) => {
                stored_search::date_between(*date_tag, *from, *to)
            }
            Condition::MaskIncludes(bits) => Some(stored_search::mask_includes(*bits)),
            Condition::NameIs(name) => Some(stored_search::named(name, destroyed_too)),
            Condition::PolicyIs(_) => None,
            Condition::Equals(attribute) => stored_search::equals(attribute),
        })
        .collect();
    let policies = conditions
        .iter()
        .filter(|c| matches!(c, Condition::PolicyIs(_)))
        .count();
    let all = filters.len() + policies == conditions.len();
    (filters, all)
}

/// One condition of the request.
enum Condition {
    Between(u32, i64, i64),
    MaskIncludes(i32),
    NameIs(String),
    PolicyIs(String),
    Equals(Item),
}

fn conditions(wanted: &[Item]) -> Result<Vec<Condition>, KmipError> {
    let mut out = Vec::new();
    for date_tag in DATES {
        let values: Vec<i64> = wanted
            .iter()
            .filter(|a| a.tag == date_tag)
            .map(|a| match a.value {
                Value::DateTime(seconds) => Ok(seconds),
                _ => Err(KmipError::invalid_field("a date attribute is a Date-Time")),
            })
            .collect::<Result<_, _>>()?;
        match values.as_slice() {
            [] => {}
            [at] => out.push(Condition::Between(date_tag, *at, *at)),
            [a, b] => out.push(Condition::Between(date_tag, *a.min(b), *a.max(b))),
            _ => {
                return Err(KmipError::invalid_field(
                    "a date attribute appears at most twice in Locate",
                ))
            }
        }
    }
    for attribute in wanted.iter().filter(|a| !DATES.contains(&a.tag)) {
        out.push(match (attribute.tag, &attribute.value) {
            (tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(mask)) => Condition::MaskIncludes(*mask),
            (tag::NAME, _) => match attribute.child(tag::NAME_VALUE).map(|v| &v.value) {
                Some(Value::TextString(name)) => Condition::NameIs(name.clone()),
                _ => return Err(KmipError::invalid_field("a Name needs a Name Value")),
            },
            (tag::OPERATION_POLICY_NAME, Value::TextString(policy)) => {
                Condition::PolicyIs(policy.clone())
            }
            _ => Condition::Equals(attribute.clone()),
        });
    }
    Ok(out)
}

fn satisfies(have: &[Item], condition: &Condition) -> bool {
    match condition {
        Condition::Between(wanted, from, to) => have.iter().any(|a| {
            a.tag == *wanted && matches!(a.value, Value::DateTime(at) if *from <= at && at <= *to)
        }),
        Condition::MaskIncludes(bits) => have.iter().any(|a| {
            a.tag == tag::CRYPTOGRAPHIC_USAGE_MASK && matches!(a.value, Value::Integer(mask) if mask & bits == *bits)
        }),
        Condition::NameIs(name) => have.iter().any(|a| {
            a.tag == tag::NAME
                && matches!(a.child(tag::NAME_VALUE).map(|v| &v.value), Some(Value::TextString(n)) if n == name)
        }),
        Condition::PolicyIs(policy) => policy == DEFAULT_POLICY,
        Condition::Equals(item) => have.contains(item),
    }
}

pub async fn locate(
    context: &Context<'_>,
    request: &LocateRequest,
) -> Result<Vec<Item>, KmipError> {
    let conditions = conditions(
        request
            .attributes
            .as_ref()
            .and_then(Item::children)
            .unwrap_or_default(),
    )?;
    let destroyed_too = request
        .storage_status_mask
        .is_some_and(|mask| mask as u32 & enums::StorageStatusMask::DestroyedStorage.value() != 0);
    let offset = usize::try_from(request.offset_items.unwrap_or(0)).unwrap_or(0);
    let maximum = request
        .maximum_items
        .and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0);
    let mut results = Results {
        offset,
        maximum,
        matched: 0,
        found: Vec::new(),
    };
    let db = &context.state.db;
    let storage = |e| KmipError::from(crate::access::AccessError::from(e));
    // Located Items tells a client that pages (Maximum Items) how many there are.
    let counted = context.version >= Version::V1_3 && maximum.is_some();
    let answerable = conditions.iter().all(|c| match c {
        Condition::PolicyIs(policy) => policy == DEFAULT_POLICY,
        _ => true,
    });
    let (mut filters, answered) = filters(&conditions, destroyed_too);
    match (answerable, answered) {
        // A 1.x Operation Policy Name other than the default matches nothing.
        (false, _) => {}
        // Every condition, the caller's right to see and the window in SQL.
        (true, true) => {
            filters.push(Filter::VisibleTo {
                owners: context.identities.user_names(),
                identities: context.identities.grant_names(),
                operation: Operation::GetAttributes.as_str().to_string(),
            });
            let limit = maximum.map_or(i64::MAX, |m| m as i64);
            let window = db
                .locate_window(&filters, destroyed_too, offset as i64, limit)
                .await
                .map_err(storage)?;
            for object in &window {
                if visible_match(context, object, &[]).await? {
                    results
                        .found
                        .push(Item::text(tag::UNIQUE_IDENTIFIER, &object.uid));
                }
            }
            if counted {
                let count = db
                    .locate_count(&filters, destroyed_too)
                    .await
                    .map_err(storage)?;
                results.matched = usize::try_from(count).unwrap_or(usize::MAX);
            }
        }
        (true, false) => {
            let mut before: Option<(i64, String)> = None;
            loop {
                let page = db
                    .locate_page(
                        &filters,
                        destroyed_too,
                        before.as_ref().map(|(at, uid)| (*at, uid.as_str())),
                        PAGE,
                    )
                    .await
                    .map_err(storage)?;
                let Some(last) = page.last() else { break };
                before = Some((last.created_at, last.uid.clone()));
                for object in &page {
                    consider(context, object, &conditions, destroyed_too, &mut results).await?;
                }
                let full = maximum.is_some_and(|m| results.found.len() >= m);
                if (page.len() as i64) < PAGE || (full && !counted) {
                    break;
                }
            }
        }
    }
    let Results { matched, found, .. } = results;
    let mut out = Vec::with_capacity(found.len() + 1);
    if counted {
        out.push(Item::integer(
            tag::LOCATED_ITEMS,
            i32::try_from(matched).unwrap_or(i32::MAX),
        ));
    }
    out.extend(found);
    Ok(out)
}

/// What Locate has found so far, and which of it it returns.
struct Results {
    offset: usize,
    maximum: Option<usize>,
    matched: usize,
    found: Vec<Item>,
}

/// Counts `object` if it matches and the caller may see it; keeps its id if it falls
/// after Offset Items and within Maximum Items.
async fn consider(
    context: &Context<'_>,
    object: &ObjectRecord,
    conditions: &[Condition],
    destroyed_too: bool,
    results: &mut Results,
) -> Result<(), KmipError> {
    if object.is_destroyed() && !destroyed_too {
        return Ok(());
    }
    if !visible_match(context, object, conditions).await? {
        return Ok(());
    }
    results.matched += 1;
    if results.matched > results.offset && results.maximum.is_none_or(|m| results.found.len() < m) {
        results
            .found
            .push(Item::text(tag::UNIQUE_IDENTIFIER, &object.uid));
    }
    Ok(())
}

async fn visible_match(
    context: &Context<'_>,
    object: &ObjectRecord,
    conditions: &[Condition],
) -> Result<bool, KmipError> {
    let names = if conditions
        .iter()
        .any(|c| matches!(c, Condition::NameIs(_) | Condition::Equals(_)))
    {
        context
            .state
            .db
            .names_of(&object.uid)
            .await
            .map_err(crate::access::AccessError::from)?
    } else {
        Vec::new()
    };
    if !conditions.is_empty() {
        let have = attributes::of_object(object, &names);
        if !conditions.iter().all(|c| satisfies(&have, c)) {
            return Ok(false);
        }
    }
    let decision = context
        .state
        .access
        .decide_for(&context.identities, object, Operation::GetAttributes)
        .await?;
    Ok(matches!(decision, Decision::Allowed { .. }))
}
