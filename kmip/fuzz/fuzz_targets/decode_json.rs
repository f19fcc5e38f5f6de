//! JSON and JSON-TTLV: any text reads or fails cleanly, and what reads is written back in
//! both flavours to JSON that reads as the same item.
#![no_main]

use hyok_kmip::text::{from_json, to_json, to_json_ttlv};
use hyok_kmip::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::default();
    if let Ok(item) = from_json(text, &limits) {
        assert_eq!(from_json(&to_json(&item), &limits).expect("our JSON reads"), item);
        assert_eq!(from_json(&to_json_ttlv(&item), &limits).expect("our JSON-TTLV reads"), item);
    }
});
