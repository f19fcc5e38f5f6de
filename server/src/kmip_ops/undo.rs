//! The Undo batch option: what each item of the batch changed is noted (the object as it
//! was before, or the object it created), and when an item fails the earlier items are
//! undone in reverse order and answered Operation Undone. An item whose change cannot be
//! undone (a Destroy: the key material is gone) keeps its Success, and the server log says
//! why.

use hyok_kmip::enums::{self, Operation};
use hyok_kmip::message::RequestBatchItem;
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use super::context::Context;
use super::dispatch::TAKES_PLACEHOLDER;
use crate::keys::Snapshot;

/// How to undo one successful item.
pub enum Entry {
    /// Put the object back as it was.
    Restore(Box<Snapshot>),
    /// Remove the object the item created.
    Remove(String),
    /// Nothing changed (reads, or an item that named no object).
    Nothing,
}

fn text(item: &Item) -> Option<String> {
    match &item.value {
        Value::TextString(text) => Some(text.clone()),
        _ => None,
    }
}

/// The object the item will change, as it is before the item runs.
pub async fn before(
    context: &Context<'_>,
    item: &RequestBatchItem,
    placeholder: Option<&str>,
) -> Option<Snapshot> {
    let operation = Operation::from_value(item.operation)?;
    let uid = item
        .request_payload
        .child(tag::UNIQUE_IDENTIFIER)
        .and_then(text)
        .or_else(|| {
            placeholder
                .filter(|_| TAKES_PLACEHOLDER.contains(&operation))
                .map(str::to_string)
        })?;
    context.state.keys.snapshot(&uid).await.ok().flatten()
}

pub fn entry(item: &RequestBatchItem, response: &Item, before: Option<Snapshot>) -> Entry {
    let created = [Operation::Create, Operation::Register, Operation::ReKey];
    if Operation::from_value(item.operation).is_some_and(|o| created.contains(&o)) {
        return match response.child(tag::UNIQUE_IDENTIFIER).and_then(text) {
            Some(uid) => Entry::Remove(uid),
            None => Entry::Nothing,
        };
    }
    before.map_or(Entry::Nothing, |snapshot| {
        Entry::Restore(Box::new(snapshot))
    })
}

/// Undoes the journal (latest first) and marks the undone answers.
pub async fn roll_back(
    context: &Context<'_>,
    journal: Vec<Entry>,
    answers: &mut [hyok_kmip::message::ResponseBatchItem],
) {
    let undone = enums::ResultStatus::OperationUndone.value();
    for (index, entry) in journal.into_iter().enumerate().rev() {
        let result = match &entry {
            Entry::Restore(snapshot) => {
                context.state.keys.restore(snapshot, &context.actor()).await
            }
            Entry::Remove(uid) => {
                context
                    .state
                    .keys
                    .remove_created(uid, &context.actor())
                    .await
            }
            Entry::Nothing => Ok(()),
        };
        match result {
            Ok(()) => answers[index].result_status = undone,
            Err(error) => tracing::warn!("a KMIP batch item could not be undone: {error}"),
        }
    }
}
