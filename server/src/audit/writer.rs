//! The group-commit writer: key-use events wait at most 50 ms (or until 1000 are
//! queued) and are committed in one transaction with the chain head; summarized ones
//! once their second is over. A failed commit is
//! retried, never dropped; the queue is bounded, so a stuck database slows callers down
//! instead of growing memory.

use std::sync::Arc;
use std::time::Duration;

use hyok_db::AuditEntry;
use tokio::sync::{mpsc, oneshot};

use super::event::Event;
use super::log::{advance, AuditLog};
use super::summary::Summaries;

pub const QUEUE_CAPACITY: usize = 100_000;
const WINDOW: Duration = Duration::from_millis(50);
const MAX_BATCH: usize = 1000;
const RETRY: Duration = Duration::from_secs(1);

pub enum Message {
    Event(Event),
    /// An event to count in its second's summary: a key use (`key_use = "summary"`,
    /// details dropped) or, with `by_details`, a refused authentication.
    Summarized {
        event: Event,
        by_details: bool,
    },
    Flush(oneshot::Sender<()>),
}

pub async fn run(log: Arc<AuditLog>, mut inbox: mpsc::Receiver<Message>) {
    let mut messages = Vec::new();
    let mut summaries = Summaries::default();
    loop {
        // Open summaries are written once their second is over, messages or not.
        let received = if summaries.is_empty() {
            inbox.recv_many(&mut messages, MAX_BATCH).await
        } else {
            let next_second = 1000 - hyok_db::now_millis().rem_euclid(1000);
            let waiting = inbox.recv_many(&mut messages, MAX_BATCH);
            match tokio::time::timeout(Duration::from_millis(next_second as u64), waiting).await {
                Ok(received) => received,
                Err(_) => usize::MAX,
            }
        };
        if received == 0 {
            break;
        }
        // Let the window fill by sleeping through it rather than waking for each event
        // (senders wake a receiver only while it waits on the queue).
        let flush_asked = messages.iter().any(|m| matches!(m, Message::Flush(_)));
        if received != usize::MAX && !flush_asked && messages.len() < MAX_BATCH {
            tokio::time::sleep(WINDOW).await;
            while messages.len() < MAX_BATCH {
                match inbox.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
        }
        let now = hyok_db::now_millis().div_euclid(1000);
        let mut events = Vec::with_capacity(messages.len());
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Event(event) => events.push(event),
                Message::Summarized { event, by_details } => summaries.add(event, now, by_details),
                Message::Flush(done) => flushes.push(done),
            }
        }
        let closed = if flushes.is_empty() { Some(now) } else { None };
        events.extend(summaries.take_before(closed));
        commit(&log, events).await;
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn commit(log: &AuditLog, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    // The first entry of the last attempt, to tell whether a failed attempt landed.
    let mut attempted: Option<AuditEntry> = None;
    loop {
        let outcome = match log.lock_head().await {
            Ok(mut head) => {
                if let Some(first) = &attempted {
                    let there = log.db.audit_chain(log.node(), first.seq - 1, 1).await;
                    if matches!(there.as_deref(), Ok([entry]) if entry.mac == first.mac) {
                        return; // committed after all; its answer was lost
                    }
                }
                let sealed = log.seal(&head, events.iter());
                attempted = sealed.entries.first().cloned();
                head.committing();
                let applied = log.db.apply(&sealed.with_head(&[]), &sealed.entries).await;
                if applied.is_ok() {
                    advance(&mut head, &sealed.entries);
                }
                applied.map(|_| ())
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => return,
            Err(error) => {
                tracing::error!(%error, events = events.len(), "cannot commit audit events; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
