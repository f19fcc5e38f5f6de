//! Enumeration values by their registry names, so that no KMIP number is written in the
//! server's code. A name the registry lacks is a programming error, caught by the tests
//! that exercise each path.

use hyok_kmip::registry;

/// The value of `name` in the enumeration `enumeration` (both CamelCase).
pub fn value(enumeration: &str, name: &str) -> u32 {
    registry::enumeration(enumeration)
        .and_then(|e| e.value_of(name))
        .unwrap_or_else(|| panic!("the KMIP registry has no {enumeration} {name}"))
}

/// The name of `value` in `enumeration`, if it has one.
pub fn name(enumeration: &str, value: u32) -> Option<&'static str> {
    registry::enumeration(enumeration)?.name_of(value, None)
}
