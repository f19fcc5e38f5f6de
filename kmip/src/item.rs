//! The TTLV tree: an item is a tag and a typed value; structures hold items.

/// KMIP item types (the T of TTLV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    Structure = 0x01,
    Integer = 0x02,
    LongInteger = 0x03,
    BigInteger = 0x04,
    Enumeration = 0x05,
    Boolean = 0x06,
    TextString = 0x07,
    ByteString = 0x08,
    DateTime = 0x09,
    Interval = 0x0A,
    DateTimeExtended = 0x0B,
}

impl ItemType {
    pub fn from_code(code: u8) -> Option<ItemType> {
        Some(match code {
            0x01 => ItemType::Structure,
            0x02 => ItemType::Integer,
            0x03 => ItemType::LongInteger,
            0x04 => ItemType::BigInteger,
            0x05 => ItemType::Enumeration,
            0x06 => ItemType::Boolean,
            0x07 => ItemType::TextString,
            0x08 => ItemType::ByteString,
            0x09 => ItemType::DateTime,
            0x0A => ItemType::Interval,
            0x0B => ItemType::DateTimeExtended,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Structure(Vec<Item>),
    Integer(i32),
    LongInteger(i64),
    /// Two's complement, big-endian, a multiple of 8 bytes (as on the wire).
    BigInteger(Vec<u8>),
    Enumeration(u32),
    Boolean(bool),
    TextString(String),
    ByteString(Vec<u8>),
    /// Seconds since the Unix epoch.
    DateTime(i64),
    /// Seconds.
    Interval(u32),
    /// Microseconds since the Unix epoch (KMIP 2.0+).
    DateTimeExtended(i64),
}

impl Value {
    pub fn item_type(&self) -> ItemType {
        match self {
            Value::Structure(_) => ItemType::Structure,
            Value::Integer(_) => ItemType::Integer,
            Value::LongInteger(_) => ItemType::LongInteger,
            Value::BigInteger(_) => ItemType::BigInteger,
            Value::Enumeration(_) => ItemType::Enumeration,
            Value::Boolean(_) => ItemType::Boolean,
            Value::TextString(_) => ItemType::TextString,
            Value::ByteString(_) => ItemType::ByteString,
            Value::DateTime(_) => ItemType::DateTime,
            Value::Interval(_) => ItemType::Interval,
            Value::DateTimeExtended(_) => ItemType::DateTimeExtended,
        }
    }
}

/// A tag (24 bits, such as 0x420069) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub tag: u32,
    pub value: Value,
}

impl Item {
    pub fn new(tag: u32, value: Value) -> Item {
        Item { tag, value }
    }

    pub fn structure(tag: u32, children: Vec<Item>) -> Item {
        Item::new(tag, Value::Structure(children))
    }

    pub fn text(tag: u32, text: impl Into<String>) -> Item {
        Item::new(tag, Value::TextString(text.into()))
    }

    pub fn bytes(tag: u32, bytes: impl Into<Vec<u8>>) -> Item {
        Item::new(tag, Value::ByteString(bytes.into()))
    }

    pub fn integer(tag: u32, value: i32) -> Item {
        Item::new(tag, Value::Integer(value))
    }

    pub fn enumeration(tag: u32, value: u32) -> Item {
        Item::new(tag, Value::Enumeration(value))
    }

    pub fn boolean(tag: u32, value: bool) -> Item {
        Item::new(tag, Value::Boolean(value))
    }

    /// A Date-Time, in seconds since the Unix epoch.
    pub fn date_time(tag: u32, seconds: i64) -> Item {
        Item::new(tag, Value::DateTime(seconds))
    }

    /// The first child of a structure with `tag`.
    pub fn child(&self, tag: u32) -> Option<&Item> {
        self.children()?.iter().find(|c| c.tag == tag)
    }

    /// The children of a structure; `None` for other values.
    pub fn children(&self) -> Option<&[Item]> {
        match &self.value {
            Value::Structure(children) => Some(children),
            _ => None,
        }
    }
}
