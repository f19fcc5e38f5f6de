//! The codec's cost for a typical request: a KMIP 2.1 Encrypt (AES-GCM, 64 bytes of data)
//! decoded from binary TTLV and encoded back, and the same through the text encodings.
//!
//! cargo bench -p hyok-kmip --bench codec

use std::hint::black_box;
use std::time::{Duration, Instant};

use hyok_kmip::text::{from_json, from_xml, to_json, to_xml};
use hyok_kmip::{decode, encode, Limits};

const ENCRYPT: &str = r#"<RequestMessage>
  <RequestHeader>
    <ProtocolVersion><ProtocolVersionMajor type="Integer" value="2"/><ProtocolVersionMinor type="Integer" value="1"/></ProtocolVersion>
    <BatchCount type="Integer" value="1"/>
  </RequestHeader>
  <BatchItem>
    <Operation type="Enumeration" value="Encrypt"/>
    <RequestPayload>
      <UniqueIdentifier type="TextString" value="6a0d6f3c-5b1e-4a8e-9f3e-2d7c1b0a9e8f"/>
      <CryptographicParameters>
        <BlockCipherMode type="Enumeration" value="GCM"/>
        <CryptographicAlgorithm type="Enumeration" value="AES"/>
        <TagLength type="Integer" value="16"/>
      </CryptographicParameters>
      <Data type="ByteString" value="000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"/>
      <IVCounterNonce type="ByteString" value="000102030405060708090a0b"/>
    </RequestPayload>
  </BatchItem>
</RequestMessage>"#;

/// Runs `step` for about `budget`; returns nanoseconds per call.
fn measure(budget: Duration, mut step: impl FnMut()) -> f64 {
    for _ in 0..1000 {
        step();
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..1000 {
            step();
        }
        calls += 1000;
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

fn main() {
    let limits = Limits::default();
    let item = from_xml(ENCRYPT, &limits).expect("the request reads");
    let wire = encode(&item).expect("the request encodes");
    let xml = to_xml(&item);
    let json = to_json(&item);
    let budget = Duration::from_secs(2);
    let rows = [
        (
            "TTLV decode + encode",
            measure(budget, || {
                let item = decode(black_box(&wire), &limits).unwrap();
                black_box(encode(&item).unwrap());
            }),
        ),
        (
            "TTLV decode",
            measure(budget, || {
                black_box(decode(black_box(&wire), &limits).unwrap());
            }),
        ),
        (
            "XML read + write",
            measure(budget, || {
                let item = from_xml(black_box(&xml), &limits).unwrap();
                black_box(to_xml(&item));
            }),
        ),
        (
            "JSON read + write",
            measure(budget, || {
                let item = from_json(black_box(&json), &limits).unwrap();
                black_box(to_json(&item));
            }),
        ),
    ];
    println!("KMIP 2.1 Encrypt request, {} bytes of TTLV", wire.len());
    println!("{:<24} {:>10} {:>14}", "step", "ns/op", "ops/s (1 core)");
    for (name, ns) in rows {
        println!("{name:<24} {ns:>10.0} {:>14.0}", 1e9 / ns);
    }
}
