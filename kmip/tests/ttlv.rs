//! Binary TTLV against the specification's own examples (KMIP 1.4, section 9.1.2),
//! malformed inputs, and generated trees.

use hyok_kmip::{decode, encode, Error, Item, Limits, Value};
use proptest::prelude::*;

fn bytes(spaced: &str) -> Vec<u8> {
    hex::decode(spaced.replace([' ', '|'], "")).unwrap()
}

#[test]
fn the_specifications_examples() {
    let examples = [
        (Value::Integer(8), "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00"),
        (Value::LongInteger(123456789000000000), "42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00"),
        (
            Value::BigInteger(bytes("00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00")),
            "42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00",
        ),
        (Value::Enumeration(255), "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"),
        (Value::Boolean(true), "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01"),
        (Value::TextString("Hello World".into()), "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00"),
        (Value::ByteString(vec![1, 2, 3]), "42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00"),
        (Value::DateTime(0x47DA67F8), "42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8"),
        (Value::Interval(864000), "42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00"),
        (
            Value::Structure(vec![Item::new(0x420004, Value::Enumeration(254)), Item::new(0x420005, Value::Integer(255))]),
            "42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00",
        ),
    ];
    for (value, wire) in examples {
        let item = Item::new(0x420020, value);
        assert_eq!(encode(&item).unwrap(), bytes(wire), "{item:?}");
        assert_eq!(decode(&bytes(wire), &Limits::default()).unwrap(), item);
    }
}

#[test]
fn malformed_inputs_are_errors() {
    let limits = Limits::default();
    let good =
        bytes("42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00");
    for cut in 0..good.len() {
        assert!(
            matches!(decode(&good[..cut], &limits), Err(Error::Truncated { .. })),
            "cut at {cut}"
        );
    }
    let mut padding = good.clone();
    *padding.last_mut().unwrap() = 1;
    assert!(matches!(
        decode(&padding, &limits),
        Err(Error::BadPadding { .. })
    ));
    let mut utf8 = good.clone();
    utf8[8] = 0xFF;
    assert!(matches!(decode(&utf8, &limits), Err(Error::BadText { .. })));
    let huge = bytes("42 00 20 | 08 | FF FF FF FF | 00 00 00 00 00 00 00 00");
    assert!(
        matches!(decode(&huge, &limits), Err(Error::Truncated { .. })),
        "no allocation for a declared length"
    );
    let wrong_length = bytes("42 00 20 | 02 | 00 00 00 08 | 00 00 00 00 00 00 00 08");
    assert!(matches!(
        decode(&wrong_length, &limits),
        Err(Error::BadLength { .. })
    ));
    let bad_bool = bytes("42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 02");
    assert!(matches!(
        decode(&bad_bool, &limits),
        Err(Error::BadBoolean { .. })
    ));
    let unknown_type = bytes("42 00 20 | 0C | 00 00 00 00");
    assert!(matches!(
        decode(&unknown_type, &limits),
        Err(Error::UnknownType { .. })
    ));
    let overflowing_child = bytes(
        "42 00 20 | 01 | 00 00 00 08 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00",
    );
    assert!(decode(&overflowing_child, &limits).is_err());
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0; 8]);
    assert_eq!(decode(&trailing, &limits), Err(Error::TrailingBytes(8)));

    // 1000 nested structures: refused at the depth limit, without deep recursion.
    let mut nested = Item::new(0x420020, Value::Integer(1));
    for _ in 0..1000 {
        nested = Item::new(0x420020, Value::Structure(vec![nested]));
    }
    let deep = encode(&nested).unwrap();
    assert_eq!(decode(&deep, &limits), Err(Error::Limit("nesting depth")));
    let few = Limits {
        max_items: 3,
        ..limits
    };
    assert_eq!(
        decode(
            &deep,
            &Limits {
                max_depth: 2000,
                ..few
            }
        ),
        Err(Error::Limit("item count"))
    );
    assert_eq!(
        decode(
            &deep,
            &Limits {
                max_message_bytes: 100,
                ..limits
            }
        ),
        Err(Error::Limit("message size"))
    );
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i32>().prop_map(Value::Integer),
        any::<i64>().prop_map(Value::LongInteger),
        (1usize..4)
            .prop_flat_map(|words| proptest::collection::vec(any::<u8>(), words * 8))
            .prop_map(Value::BigInteger),
        any::<u32>().prop_map(Value::Enumeration),
        any::<bool>().prop_map(Value::Boolean),
        ".{0,40}".prop_map(Value::TextString),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::ByteString),
        any::<i64>().prop_map(Value::DateTime),
        any::<u32>().prop_map(Value::Interval),
        any::<i64>().prop_map(Value::DateTimeExtended),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        proptest::collection::vec(
            (0x420000u32..0x4200FF, inner).prop_map(|(tag, value)| Item::new(tag, value)),
            0..8,
        )
        .prop_map(Value::Structure)
    })
}

proptest! {
    #[test]
    fn decode_inverts_encode(tag in 0u32..0x0100_0000, value in value()) {
        let item = Item::new(tag, value);
        let wire = encode(&item).unwrap();
        prop_assert_eq!(wire.len() % 8, 0);
        prop_assert_eq!(decode(&wire, &Limits::default()).unwrap(), item);
    }

    #[test]
    fn any_bytes_decode_or_fail_cleanly(wire in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&wire, &Limits::default());
    }
}
