//! Binary TTLV: any bytes decode or fail cleanly, and what decodes is canonical (it
//! re-encodes to the same bytes: lengths, padding and Booleans are checked strictly).
#![no_main]

use hyok_kmip::{decode, encode, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(item) = decode(data, &Limits::default()) {
        assert_eq!(encode(&item).expect("a decoded item encodes"), data);
    }
});
