//! The audit log: every key creation, use, state change, grant change, authentication
//! failure and denial, tamper-evident. Each server run is a node with its own chain:
//! entries are numbered and each carries an HMAC over the previous one's HMAC and its
//! own contents, under an audit key that only the master key can unwrap, so rewriting
//! history needs the master key, not just the database. Management events commit in the
//! same transaction as their change; key-use events are group-committed within 50 ms (or,
//! with `[audit] key_use = "summary"`, counted per second, key, caller, operation and result).
//! Entries past `[audit] retain_days` are pruned from chains' beginnings behind a sealed
//! checkpoint.

mod chain;
mod event;
mod key;
mod log;
mod object_batch;
mod retention;
mod summary;
mod verify;
mod writer;

pub use event::{Actor, Event};
pub use log::AuditLog;
pub use verify::{Breach, Verification};
