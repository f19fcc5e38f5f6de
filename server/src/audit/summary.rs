//! Events folded into one entry per second, key, caller, operation and result (and, for
//! refused authentications, their details: source and reason), carrying how many there
//! were and the first request's id: key uses under `[audit] key_use = "summary"`, and
//! failed authentications always. A second's entries are written once that second is
//! over (or on flush).

use std::collections::BTreeMap;

use serde_json::json;

use super::event::Event;

/// (second, caller, operation, key, result, the details kept, as JSON text or empty).
type Bucket = (i64, String, String, Option<String>, String, String);

#[derive(Default)]
pub struct Summaries {
    buckets: BTreeMap<Bucket, (u64, Option<String>)>,
}

impl Summaries {
    /// Counts `event`, used during `second` (Unix seconds); events with different
    /// details are counted apart when `by_details`, else their details are dropped.
    pub fn add(&mut self, event: Event, second: i64, by_details: bool) {
        let details = match by_details {
            true => event.details.to_string(),
            false => String::new(),
        };
        let bucket = (
            second,
            event.caller,
            event.operation,
            event.object_uid,
            event.result,
            details,
        );
        let (count, _) = self.buckets.entry(bucket).or_insert((0, event.request_id));
        *count += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The summary events of the seconds before `second` (all of them with `None`),
    /// removed from here.
    pub fn take_before(&mut self, second: Option<i64>) -> Vec<Event> {
        let kept = match second {
            Some(second) => self.buckets.split_off(&(
                second,
                String::new(),
                String::new(),
                None,
                String::new(),
                String::new(),
            )),
            None => BTreeMap::new(),
        };
        let done = std::mem::replace(&mut self.buckets, kept);
        done.into_iter()
            .map(
                |((second, caller, operation, object, result, kept), (count, first_request))| {
                    let mut details = serde_json::from_str::<serde_json::Value>(&kept)
                        .ok()
                        .filter(serde_json::Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    details["summary"] = json!({ "second": second, "count": count });
                    let mut event = Event::new(&caller, &operation, &result)
                        .request(first_request)
                        .details(details);
                    event.object_uid = object;
                    event
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(operation: &str, key: &str, result: &str, request: &str) -> Event {
        Event::new("xks:aws", operation, result)
            .object(key)
            .request(Some(request.into()))
    }

    #[test]
    fn one_entry_per_second_key_caller_operation_and_result() {
        let mut summaries = Summaries::default();
        for n in 0..5 {
            summaries.add(
                used("xks-encrypt", "k1", "ok", &format!("r{n}")),
                100,
                false,
            );
        }
        summaries.add(used("xks-encrypt", "k1", "denied", "r5"), 100, false);
        summaries.add(used("xks-decrypt", "k1", "ok", "r6"), 100, false);
        summaries.add(used("xks-encrypt", "k2", "ok", "r7"), 100, false);
        summaries.add(used("xks-encrypt", "k1", "ok", "r8"), 101, false);

        let first = summaries.take_before(Some(101));
        assert_eq!(first.len(), 4, "second 100: four buckets");
        let encrypts = first
            .iter()
            .find(|e| {
                e.operation == "xks-encrypt"
                    && e.result == "ok"
                    && e.object_uid.as_deref() == Some("k1")
            })
            .unwrap();
        assert_eq!(encrypts.details["summary"]["count"], 5);
        assert_eq!(encrypts.details["summary"]["second"], 100);
        assert_eq!(
            encrypts.request_id.as_deref(),
            Some("r0"),
            "the first request"
        );
        assert!(!summaries.is_empty(), "second 101 is still open");
        let rest = summaries.take_before(None);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].details["summary"]["count"], 1);
        assert!(summaries.is_empty());
    }
}
