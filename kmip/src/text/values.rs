//! Values as text, shared by the XML and JSON encodings (Additional Message Encodings
//! 1.0, sections 4.1 and 6.1): type names, enumeration and mask names (which depend on
//! the tag, and for a 1.x Attribute Value on the attribute's name), hex, date-times.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::item::{ItemType, Value};
use crate::registry::{self, tag, Enumeration, Version};

pub(crate) fn type_name(item_type: ItemType) -> &'static str {
    match item_type {
        ItemType::Structure => "Structure",
        ItemType::Integer => "Integer",
        ItemType::LongInteger => "LongInteger",
        ItemType::BigInteger => "BigInteger",
        ItemType::Enumeration => "Enumeration",
        ItemType::Boolean => "Boolean",
        ItemType::TextString => "TextString",
        ItemType::ByteString => "ByteString",
        ItemType::DateTime => "DateTime",
        ItemType::Interval => "Interval",
        ItemType::DateTimeExtended => "DateTimeExtended",
    }
}

pub(crate) fn item_type(name: &str) -> Option<ItemType> {
    Some(match name {
        "Structure" => ItemType::Structure,
        "Integer" => ItemType::Integer,
        "LongInteger" => ItemType::LongInteger,
        "BigInteger" => ItemType::BigInteger,
        "Enumeration" => ItemType::Enumeration,
        "Boolean" => ItemType::Boolean,
        "TextString" => ItemType::TextString,
        "ByteString" => ItemType::ByteString,
        "DateTime" => ItemType::DateTime,
        "Interval" => ItemType::Interval,
        "DateTimeExtended" => ItemType::DateTimeExtended,
        _ => return None,
    })
}

/// A tag as text: its name, or `0x54xxxx` for tags the registry does not name.
pub(crate) fn tag_text(tag: u32) -> String {
    match registry::tag_name(tag) {
        Some(name) => name.to_string(),
        None => format!("0x{tag:06x}"),
    }
}

/// A tag from text: a registry name or a `0x`-prefixed 3-byte hex number.
pub(crate) fn parse_tag(text: &str) -> Result<u32, String> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return match u32::from_str_radix(hex, 16) {
            Ok(tag) if hex.len() == 6 => Ok(tag),
            _ => Err(format!("{text:?} is not a 3-byte hex tag")),
        };
    }
    registry::tag_value(text).ok_or_else(|| format!("unknown tag {text:?}"))
}

/// Where the names of a value come from: the enumeration of its tag or, for a 1.x
/// Attribute Value, the enumeration of the attribute its sibling Attribute Name names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Naming {
    pub enumeration: Option<&'static Enumeration>,
    pub version: Option<Version>,
}

impl Naming {
    pub fn of(tag: u32, attribute_name: Option<&str>, version: Option<Version>) -> Naming {
        let enumeration = match (tag, attribute_name) {
            (tag::ATTRIBUTE_VALUE, Some(name)) => registry::tag_value(&registry::normalize(name))
                .and_then(registry::enumeration_of_tag),
            _ => registry::enumeration_of_tag(tag),
        };
        Naming {
            enumeration,
            version,
        }
    }

    fn mask(&self) -> Option<&'static Enumeration> {
        self.enumeration.filter(|e| e.mask)
    }
}

fn parse_hex_u64(text: &str) -> Option<u64> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// A 32-bit value from decimal or `0x` hex (hex is the two's complement bit pattern).
fn parse_u32_bits(text: &str) -> Option<u32> {
    if let Some(v) = parse_hex_u64(text) {
        return u32::try_from(v).ok();
    }
    text.parse::<i32>()
        .map(|v| v as u32)
        .or_else(|_| text.parse::<u32>())
        .ok()
}

fn parse_mask(text: &str, mask: &Enumeration) -> Result<u32, String> {
    let mut bits = 0u32;
    for token in text.split(|c: char| c == '|' || c.is_whitespace()) {
        if token.is_empty() {
            continue;
        }
        bits |= match parse_u32_bits(token) {
            Some(v) => v,
            None => mask
                .value_of(token)
                .ok_or_else(|| format!("{token:?} is not a {} bit", mask.name))?,
        };
    }
    Ok(bits)
}

/// A mask as its bit names (in ascending bit order), bits without a name as one hex token.
pub(crate) fn mask_names(bits: u32, mask: &Enumeration, version: Option<Version>) -> Vec<String> {
    let mut names = Vec::new();
    let mut unnamed = 0u32;
    for bit in 0..32 {
        let value = 1u32 << bit;
        if bits & value == 0 {
            continue;
        }
        match mask.name_of(value, version) {
            Some(name) => names.push(name.to_string()),
            None => unnamed |= value,
        }
    }
    if unnamed != 0 {
        names.push(format!("0x{unnamed:08x}"));
    }
    names
}

pub(crate) fn enumeration_text(value: u32, naming: &Naming) -> String {
    naming
        .enumeration
        .and_then(|e| e.name_of(value, naming.version))
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{value:08x}"))
}

pub(crate) fn parse_enumeration(text: &str, naming: &Naming) -> Result<u32, String> {
    if let Some(v) = parse_hex_u64(text) {
        return u32::try_from(v).map_err(|_| format!("{text:?} does not fit 32 bits"));
    }
    if let Ok(v) = text.parse::<u32>() {
        return Ok(v);
    }
    match naming.enumeration {
        Some(e) => e
            .value_of(text)
            .ok_or_else(|| format!("{text:?} is not a value of {}", e.name)),
        None => Err(format!("{text:?}: this tag has no named values; use hex")),
    }
}

pub(crate) fn parse_integer(text: &str, naming: &Naming) -> Result<i32, String> {
    if let Some(bits) = parse_u32_bits(text) {
        return Ok(bits as i32);
    }
    match naming.mask() {
        Some(mask) => parse_mask(text, mask).map(|bits| bits as i32),
        None => Err(format!("{text:?} is not an Integer")),
    }
}

/// An Integer as text: mask bit names where the tag is a mask, else decimal.
pub(crate) fn integer_text(value: i32, naming: &Naming, separator: &str) -> String {
    match naming.mask() {
        Some(mask) if value != 0 => mask_names(value as u32, mask, naming.version).join(separator),
        _ => value.to_string(),
    }
}

pub(crate) fn parse_long(text: &str) -> Result<i64, String> {
    if let Some(v) = parse_hex_u64(text) {
        return Ok(v as i64);
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not a Long Integer"))
}

pub(crate) fn parse_interval(text: &str) -> Result<u32, String> {
    if let Some(v) = parse_hex_u64(text) {
        return u32::try_from(v).map_err(|_| format!("{text:?} does not fit 32 bits"));
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not an Interval"))
}

pub(crate) fn parse_bytes(text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|_| format!("{text:?} is not hex"))
}

/// A Big Integer from hex (with or without `0x`), sign-extended to a multiple of 8 bytes.
pub(crate) fn parse_big_integer(text: &str) -> Result<Vec<u8>, String> {
    let hex_digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let padded = if hex_digits.len() % 2 == 1 {
        format!("0{hex_digits}")
    } else {
        hex_digits.to_string()
    };
    let bytes = parse_bytes(&padded)?;
    Ok(sign_extend(bytes))
}

fn sign_extend(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    let fill = match bytes.first() {
        Some(b) if b & 0x80 != 0 => 0xFF,
        _ => 0x00,
    };
    let missing = (8 - bytes.len() % 8) % 8;
    let mut out = vec![fill; missing];
    out.extend(bytes);
    out
}

pub(crate) fn parse_boolean(text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => match parse_hex_u64(text) {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => Err(format!("{text:?} is not a Boolean")),
        },
    }
}

/// Seconds since the epoch from an ISO 8601 date-time (or `0x` hex); fractions ignored.
pub(crate) fn parse_date_time(text: &str) -> Result<i64, String> {
    if let Some(v) = parse_hex_u64(text) {
        return Ok(v as i64);
    }
    Ok(parse_rfc3339(text)?.unix_timestamp())
}

/// Microseconds since the epoch from an ISO 8601 date-time (or `0x` hex).
pub(crate) fn parse_date_time_extended(text: &str) -> Result<i64, String> {
    if let Some(v) = parse_hex_u64(text) {
        return Ok(v as i64);
    }
    let instant = parse_rfc3339(text)?;
    i64::try_from(instant.unix_timestamp_nanos() / 1000)
        .map_err(|_| format!("{text:?} is out of range"))
}

fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, String> {
    // ISO 8601 as XSD uses it: the offset may be absent (then UTC).
    let has_offset = text.ends_with('Z')
        || text.ends_with('z')
        || text
            .rsplit_once('T')
            .is_some_and(|(_, clock)| clock.contains('+') || clock.contains('-'));
    let with_offset;
    let text = if has_offset {
        text
    } else {
        with_offset = format!("{text}Z");
        &with_offset
    };
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("{text:?} is not an ISO 8601 date-time"))
}

/// ISO 8601 in UTC (with microseconds when given), or `None` beyond what it writes.
fn iso_8601(seconds: i64, micros: Option<i64>) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    let fraction = micros.map(|m| format!(".{m:06}")).unwrap_or_default();
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// A Date-Time as ISO 8601 in UTC, or hex when the year is beyond what ISO 8601 writes.
pub(crate) fn date_time_text(seconds: i64) -> String {
    iso_8601(seconds, None).unwrap_or_else(|| format!("0x{:016x}", seconds as u64))
}

pub(crate) fn date_time_extended_text(micros: i64) -> String {
    iso_8601(
        micros.div_euclid(1_000_000),
        Some(micros.rem_euclid(1_000_000)),
    )
    .unwrap_or_else(|| format!("0x{:016x}", micros as u64))
}

/// Parses a leaf value of a known type from text; structures are built by the caller.
pub(crate) fn parse_leaf(
    item_type: ItemType,
    text: &str,
    naming: &Naming,
) -> Result<Value, String> {
    Ok(match item_type {
        ItemType::Structure => return Err("a Structure has no value".into()),
        ItemType::Integer => Value::Integer(parse_integer(text, naming)?),
        ItemType::LongInteger => Value::LongInteger(parse_long(text)?),
        ItemType::BigInteger => Value::BigInteger(parse_big_integer(text)?),
        ItemType::Enumeration => Value::Enumeration(parse_enumeration(text, naming)?),
        ItemType::Boolean => Value::Boolean(parse_boolean(text)?),
        ItemType::TextString => Value::TextString(text.to_string()),
        ItemType::ByteString => Value::ByteString(parse_bytes(text)?),
        ItemType::DateTime => Value::DateTime(parse_date_time(text)?),
        ItemType::Interval => Value::Interval(parse_interval(text)?),
        ItemType::DateTimeExtended => Value::DateTimeExtended(parse_date_time_extended(text)?),
    })
}
