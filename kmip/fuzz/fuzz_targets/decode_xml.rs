//! XML: any text reads or fails cleanly, and what reads is written back to XML that reads
//! as the same item.
#![no_main]

use hyok_kmip::text::{from_xml, to_xml};
use hyok_kmip::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(item) = from_xml(text, &Limits::default()) {
        let again = from_xml(&to_xml(&item), &Limits::default()).expect("our own XML reads");
        assert_eq!(again, item);
    }
});
