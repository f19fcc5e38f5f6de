//! The group-commit writer: key-use events wait at most 50 ms (or until 1000 are
//! queued) and are committed in one transaction with the chain head. A failed commit is
//! retried, never dropped; the queue is bounded, so a stuck database slows callers down
//! instead of growing memory.

use std::sync::Arc;
use std::time::Duration;

use hyok_db::AuditEntry;
use tokio::sync::{mpsc, oneshot};

use super::event::Event;
use super::log::{advance, AuditLog};

pub const QUEUE_CAPACITY: usize = 100_000;
const WINDOW: Duration = Duration::from_millis(50);
const MAX_BATCH: usize = 1000;
const RETRY: Duration = Duration::from_secs(1);

pub enum Message {
    Event(Event),
    Flush(oneshot::Sender<()>),
}

pub async fn run(log: Arc<AuditLog>, mut inbox: mpsc::Receiver<Message>) {
    let mut messages = Vec::new();
    while inbox.recv_many(&mut messages, MAX_BATCH).await > 0 {
        // Let the window fill by sleeping through it rather than waking for each event
        // (senders wake a receiver only while it waits on the queue).
        let flush_asked = messages.iter().any(|m| matches!(m, Message::Flush(_)));
        if !flush_asked && messages.len() < MAX_BATCH {
            tokio::time::sleep(WINDOW).await;
            while messages.len() < MAX_BATCH {
                match inbox.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
        }
        let mut events = Vec::with_capacity(messages.len());
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Event(event) => events.push(event),
                Message::Flush(done) => flushes.push(done),
            }
        }
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
                let sealed = log.seal(&head, &events);
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
