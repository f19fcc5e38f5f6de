//! Which part of a multi-part operation a request is (from its Init Indicator, Final
//! Indicator and Correlation Value), and the parts of operations that compute at the
//! last part (Sign, Signature Verify, MAC, MAC Verify): their data is gathered in a
//! bounded stream ([`crate::kmip_ops::streams`]) until the last part brings the rest.

use hyok_kmip::enums::ResultReason;
use hyok_kmip::registry::tag;
use hyok_kmip::Item;
use zeroize::Zeroizing;

use crate::access::Operation;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::key_use::needed_data;
use crate::kmip_ops::streams::{Progress, Stream};

/// One request of an operation, single-part or one part of several.
pub enum Part<'a> {
    Single,
    First,
    Next(&'a [u8]),
    Last(&'a [u8]),
}

pub fn part<'a>(
    init: Option<bool>,
    last: Option<bool>,
    correlation: Option<&'a [u8]>,
) -> Result<Part<'a>, KmipError> {
    match (init == Some(true), last == Some(true), correlation) {
        (false, false, None) | (true, true, None) => Ok(Part::Single),
        (true, false, None) => Ok(Part::First),
        (false, false, Some(c)) => Ok(Part::Next(c)),
        (false, true, Some(c)) => Ok(Part::Last(c)),
        (true, _, Some(_)) => Err(KmipError::invalid_field(
            "the first part of a multi-part operation has no Correlation Value yet",
        )),
        (false, true, None) => Err(KmipError::invalid_field(
            "the last part of a multi-part operation needs its Correlation Value",
        )),
    }
}

/// The data of a request to `operation`, which computes at the last part: all of it
/// when it is time to compute (a single part, or the last), or the Correlation Value of
/// the kept stream (answer [`continued`]). Every part passes the access check; the key's
/// state and usage are checked when the operation computes.
pub async fn gathered(
    context: &Context<'_>,
    part: &Part<'_>,
    uid: &str,
    operation: Operation,
    data: Option<&[u8]>,
) -> Result<Gathered, KmipError> {
    let caller = &context.caller.user;
    let data = match part {
        Part::Single => needed_data(operation.as_str(), data)?,
        _ => data.unwrap_or_default(),
    };
    if !matches!(part, Part::Single) {
        context.key_for_use(uid, operation).await?;
    }
    let operation = operation.as_str();
    let buffered = |mut so_far: Zeroizing<Vec<u8>>| {
        so_far.extend_from_slice(data);
        so_far
    };
    match part {
        Part::Single => Ok(Gathered::All(Zeroizing::new(data.to_vec()))),
        Part::First => {
            let correlation = context.state.streams.begin(Stream {
                caller: caller.clone(),
                uid: uid.to_string(),
                operation,
                progress: Progress::Buffered(Zeroizing::new(data.to_vec())),
            })?;
            Ok(Gathered::Kept(correlation))
        }
        Part::Next(correlation) | Part::Last(correlation) => {
            let mut stream = context
                .state
                .streams
                .take(correlation, caller, uid, operation)?;
            let Progress::Buffered(so_far) = std::mem::replace(
                &mut stream.progress,
                Progress::Buffered(Zeroizing::new(Vec::new())),
            ) else {
                context.state.streams.end(caller);
                return Err(KmipError::new(
                    ResultReason::GeneralFailure,
                    "not a gathering stream",
                ));
            };
            let all = buffered(so_far);
            if matches!(part, Part::Last(_)) {
                context.state.streams.end(caller);
                return Ok(Gathered::All(all));
            }
            stream.progress = Progress::Buffered(all);
            context.state.streams.put_back(correlation, stream)?;
            Ok(Gathered::Kept(correlation.to_vec()))
        }
    }
}

pub enum Gathered {
    All(Zeroizing<Vec<u8>>),
    Kept(Vec<u8>),
}

/// The answer to a part that was kept.
pub fn continued(uid: &str, correlation: Vec<u8>) -> Vec<Item> {
    vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::bytes(tag::CORRELATION_VALUE, correlation),
    ]
}
