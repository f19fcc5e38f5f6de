//! Multi-part (streaming) cryptographic operations under way: each is found by the
//! Correlation Value the server gave when it began, belongs to the caller and the key that
//! began it, and is bounded. A caller holds at most [`STREAMS_PER_CALLER`] at once; one
//! left alone for [`IDLE`] is dropped (with its cipher state and buffered data); data a
//! stream buffers (Sign, Signature Verify, MAC, which compute at the last part) is at most
//! [`MAX_BUFFERED`] bytes per stream and [`MAX_BUFFERED_IN_ALL`] across streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyok_kmip::enums::ResultReason;
use moka::notification::RemovalCause;
use moka::sync::Cache;
use zeroize::Zeroizing;

use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::symmetric::Streaming;

pub const STREAMS_PER_CALLER: usize = 16;
pub const IDLE: Duration = Duration::from_secs(60);
pub const MAX_BUFFERED: usize = 4 << 20;
pub const MAX_BUFFERED_IN_ALL: u64 = 256 << 20;

/// What a stream holds between parts.
pub enum Progress {
    /// An encryption or decryption: outputs come with each part.
    Cipher(Streaming),
    /// The data so far of an operation that computes at the last part.
    Buffered(Zeroizing<Vec<u8>>),
}

/// One stream: whose it is, what it is, and where it stands.
pub struct Stream {
    pub caller: String,
    pub uid: String,
    pub operation: &'static str,
    pub progress: Progress,
}

impl Stream {
    fn weight(&self) -> u32 {
        let held = match &self.progress {
            Progress::Cipher(_) => 0,
            Progress::Buffered(data) => data.len(),
        };
        u32::try_from(held + 1024).unwrap_or(u32::MAX)
    }
}

type Entry = Arc<Mutex<Option<Stream>>>;

pub struct Streams {
    entries: Cache<Vec<u8>, (Entry, u32)>,
    per_caller: Arc<Mutex<HashMap<String, usize>>>,
}

impl Default for Streams {
    fn default() -> Self {
        let per_caller: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let counts = per_caller.clone();
        let entries = Cache::builder()
            .max_capacity(MAX_BUFFERED_IN_ALL)
            .weigher(|_, (_, weight): &(Entry, u32)| *weight)
            .time_to_idle(IDLE)
            .eviction_listener(move |_, (entry, _): (Entry, u32), cause| {
                if cause == RemovalCause::Replaced {
                    return;
                }
                let caller = entry
                    .lock()
                    .ok()
                    .and_then(|mut stream| stream.take())
                    .map(|stream| stream.caller);
                if let Some(caller) = caller {
                    count_down(&counts, &caller);
                }
            })
            .build();
        Streams {
            entries,
            per_caller,
        }
    }
}

fn unknown() -> KmipError {
    KmipError::new(
        ResultReason::InvalidField,
        "no stream has this Correlation Value (it ended, or it was idle too long)",
    )
}

impl Streams {
    /// Keeps `stream` and returns the Correlation Value that continues it.
    pub fn begin(&self, stream: Stream) -> Result<Vec<u8>, KmipError> {
        stream_fits(&stream)?;
        {
            let mut counts = self
                .per_caller
                .lock()
                .map_err(|_| KmipError::new(ResultReason::GeneralFailure, "streams"))?;
            let count = counts.entry(stream.caller.clone()).or_default();
            if *count >= STREAMS_PER_CALLER {
                return Err(KmipError::new(
                    ResultReason::PermissionDenied,
                    format!(
                        "{STREAMS_PER_CALLER} multi-part operations are under way for this caller; finish one first"
                    ),
                ));
            }
            *count += 1;
        }
        let correlation = crate::kmip_ops::symmetric::random(16)?;
        let weight = stream.weight();
        self.entries.insert(
            correlation.clone(),
            (Arc::new(Mutex::new(Some(stream))), weight),
        );
        Ok(correlation)
    }

    /// Takes the stream `correlation` out (to continue or end it) if it is `caller`'s
    /// on `uid` for `operation`.
    pub fn take(
        &self,
        correlation: &[u8],
        caller: &str,
        uid: &str,
        operation: &'static str,
    ) -> Result<Stream, KmipError> {
        let (entry, _) = self.entries.get(correlation).ok_or_else(unknown)?;
        let mut slot = entry
            .lock()
            .map_err(|_| KmipError::new(ResultReason::GeneralFailure, "streams"))?;
        match slot.as_ref() {
            Some(s) if s.caller == caller && s.uid == uid && s.operation == operation => {}
            Some(_) => return Err(unknown()),
            None => return Err(unknown()),
        }
        let stream = slot.take().ok_or_else(unknown)?;
        drop(slot);
        // (The listener then finds the slot empty: the caller's count stays until
        // `put_back` or `end` says what became of the stream.)
        self.entries.invalidate(correlation);
        Ok(stream)
    }

    /// Puts a continued stream back under its Correlation Value.
    pub fn put_back(&self, correlation: &[u8], stream: Stream) -> Result<(), KmipError> {
        if let Err(error) = stream_fits(&stream) {
            self.end(&stream.caller);
            return Err(error);
        }
        let weight = stream.weight();
        self.entries.insert(
            correlation.to_vec(),
            (Arc::new(Mutex::new(Some(stream))), weight),
        );
        Ok(())
    }

    /// Counts a taken stream as ended for `caller`.
    pub fn end(&self, caller: &str) {
        count_down(&self.per_caller, caller);
    }
}

/// One stream fewer for `caller`.
fn count_down(counts: &Mutex<HashMap<String, usize>>, caller: &str) {
    if let Ok(mut counts) = counts.lock() {
        if let Some(count) = counts.get_mut(caller) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(caller);
            }
        }
    }
}

fn stream_fits(stream: &Stream) -> Result<(), KmipError> {
    match &stream.progress {
        Progress::Buffered(data) if data.len() > MAX_BUFFERED => Err(KmipError::new(
            ResultReason::InvalidField,
            format!(
                "a multi-part {} holds at most {MAX_BUFFERED} bytes; the stream is ended",
                stream.operation
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffered(caller: &str, bytes: usize) -> Stream {
        Stream {
            caller: caller.into(),
            uid: "k".into(),
            operation: "mac",
            progress: Progress::Buffered(Zeroizing::new(vec![0; bytes])),
        }
    }

    #[test]
    fn a_stream_belongs_to_its_caller_key_and_operation_and_is_bounded() {
        let streams = Streams::default();
        let id = streams.begin(buffered("alice", 10)).unwrap();
        assert!(streams.take(&id, "bob", "k", "mac").is_err());
        assert!(streams.take(&id, "alice", "other", "mac").is_err());
        assert!(streams.take(&id, "alice", "k", "sign").is_err());
        let stream = streams.take(&id, "alice", "k", "mac").unwrap();
        assert!(
            streams.take(&id, "alice", "k", "mac").is_err(),
            "taken once"
        );
        streams.put_back(&id, stream).unwrap();
        streams.take(&id, "alice", "k", "mac").unwrap();
        streams.end("alice");

        let many: Vec<_> = (0..STREAMS_PER_CALLER)
            .map(|_| streams.begin(buffered("carol", 1)).unwrap())
            .collect();
        let refused = streams.begin(buffered("carol", 1)).unwrap_err();
        assert_eq!(refused.reason, ResultReason::PermissionDenied);
        assert!(
            streams.begin(buffered("dave", 1)).is_ok(),
            "others may still begin"
        );
        streams.take(&many[0], "carol", "k", "mac").unwrap();
        streams.end("carol");
        assert!(
            streams.begin(buffered("carol", 1)).is_ok(),
            "one ended, one more"
        );

        let too_big = streams
            .begin(buffered("erin", MAX_BUFFERED + 1))
            .unwrap_err();
        assert_eq!(too_big.reason, ResultReason::InvalidField);
    }
}
