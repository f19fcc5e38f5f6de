//! Binary TTLV: 3-byte tag, 1-byte type, 4-byte length, value padded to 8 bytes, all
//! big-endian. The decoder is total: every input gives an item or an error; it checks
//! lengths against what remains before allocating, bounds depth and item count, and
//! refuses non-zero padding, bad Booleans and invalid UTF-8.

use crate::error::Error;
use crate::item::{Item, ItemType, Value};
use crate::limits::Limits;

const HEADER: usize = 8;

fn padded(length: usize) -> usize {
    length.div_ceil(8) * 8
}

/// Encodes one item (usually a Request or Response Message).
pub fn encode(item: &Item) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    write(item, &mut out)?;
    Ok(out)
}

fn write(item: &Item, out: &mut Vec<u8>) -> Result<(), Error> {
    if item.tag > 0x00FF_FFFF {
        return Err(Error::BadTag(item.tag));
    }
    out.extend_from_slice(&item.tag.to_be_bytes()[1..]);
    out.push(item.value.item_type() as u8);
    let length_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let start = out.len();
    match &item.value {
        Value::Structure(children) => {
            for child in children {
                write(child, out)?;
            }
        }
        Value::Integer(v) => out.extend_from_slice(&v.to_be_bytes()),
        Value::Enumeration(v) | Value::Interval(v) => out.extend_from_slice(&v.to_be_bytes()),
        Value::LongInteger(v) | Value::DateTime(v) | Value::DateTimeExtended(v) => {
            out.extend_from_slice(&v.to_be_bytes())
        }
        Value::Boolean(v) => out.extend_from_slice(&u64::from(*v).to_be_bytes()),
        Value::TextString(text) => out.extend_from_slice(text.as_bytes()),
        Value::ByteString(bytes) | Value::BigInteger(bytes) => out.extend_from_slice(bytes),
    }
    let length = out.len() - start;
    let length_field = u32::try_from(length).map_err(|_| Error::Limit("an item over 4 GiB"))?;
    out[length_at..length_at + 4].copy_from_slice(&length_field.to_be_bytes());
    out.resize(start + padded(length), 0);
    Ok(())
}

/// Decodes exactly one item filling `bytes`.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Item, Error> {
    if bytes.len() > limits.max_message_bytes {
        return Err(Error::Limit("message size"));
    }
    let mut reader = Reader {
        bytes,
        items: 0,
        limits,
    };
    let (item, used) = reader.item(0, 0)?;
    if used != bytes.len() {
        return Err(Error::TrailingBytes(bytes.len() - used));
    }
    Ok(item)
}

struct Reader<'a> {
    bytes: &'a [u8],
    items: usize,
    limits: &'a Limits,
}

impl Reader<'_> {
    /// The item at `offset`; returns it and the offset after it (padding included).
    fn item(&mut self, offset: usize, depth: usize) -> Result<(Item, usize), Error> {
        self.items += 1;
        if self.items > self.limits.max_items {
            return Err(Error::Limit("item count"));
        }
        let header = self.take(offset, HEADER)?;
        let tag = u32::from_be_bytes([0, header[0], header[1], header[2]]);
        let item_type = ItemType::from_code(header[3]).ok_or(Error::UnknownType {
            offset,
            item_type: header[3],
        })?;
        let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let body_at = offset + HEADER;
        let body_len = usize::try_from(length).map_err(|_| Error::Limit("item length"))?;
        let end = body_at + padded(body_len);
        let body = self.take(body_at, body_len)?;
        self.take(body_at, padded(body_len))?;
        if self.bytes[body_at + body_len..end].iter().any(|b| *b != 0) {
            return Err(Error::BadPadding { offset });
        }
        let fixed = |expected: u32, what: &'static str, text: &'static str| {
            if length == expected {
                Ok(())
            } else {
                Err(Error::BadLength {
                    offset,
                    what,
                    expected: text,
                    actual: length,
                })
            }
        };
        let value = match item_type {
            ItemType::Structure => {
                if depth >= self.limits.max_depth {
                    return Err(Error::Limit("nesting depth"));
                }
                let mut children = Vec::new();
                let mut at = body_at;
                while at < body_at + body_len {
                    let (child, next) = self.item(at, depth + 1)?;
                    if next > body_at + body_len {
                        return Err(Error::BadStructure { offset });
                    }
                    children.push(child);
                    at = next;
                }
                Value::Structure(children)
            }
            ItemType::Integer => {
                fixed(4, "an Integer", "4")?;
                Value::Integer(i32::from_be_bytes(four(body)))
            }
            ItemType::Enumeration => {
                fixed(4, "an Enumeration", "4")?;
                Value::Enumeration(u32::from_be_bytes(four(body)))
            }
            ItemType::Interval => {
                fixed(4, "an Interval", "4")?;
                Value::Interval(u32::from_be_bytes(four(body)))
            }
            ItemType::LongInteger => {
                fixed(8, "a Long Integer", "8")?;
                Value::LongInteger(i64::from_be_bytes(eight(body)))
            }
            ItemType::DateTime => {
                fixed(8, "a Date-Time", "8")?;
                Value::DateTime(i64::from_be_bytes(eight(body)))
            }
            ItemType::DateTimeExtended => {
                fixed(8, "a Date-Time Extended", "8")?;
                Value::DateTimeExtended(i64::from_be_bytes(eight(body)))
            }
            ItemType::Boolean => {
                fixed(8, "a Boolean", "8")?;
                match u64::from_be_bytes(eight(body)) {
                    0 => Value::Boolean(false),
                    1 => Value::Boolean(true),
                    _ => return Err(Error::BadBoolean { offset }),
                }
            }
            ItemType::BigInteger => {
                if length == 0 || length % 8 != 0 {
                    return Err(Error::BadLength {
                        offset,
                        what: "a Big Integer",
                        expected: "a non-zero multiple of 8",
                        actual: length,
                    });
                }
                Value::BigInteger(body.to_vec())
            }
            ItemType::TextString => Value::TextString(
                String::from_utf8(body.to_vec()).map_err(|_| Error::BadText { offset })?,
            ),
            ItemType::ByteString => Value::ByteString(body.to_vec()),
        };
        Ok((Item { tag, value }, end))
    }

    /// `len` bytes at `offset`, or `Truncated` (never reads past the input).
    fn take(&self, offset: usize, len: usize) -> Result<&[u8], Error> {
        let available = self.bytes.len().saturating_sub(offset);
        if len > available {
            return Err(Error::Truncated {
                offset,
                needed: len - available,
            });
        }
        Ok(&self.bytes[offset..offset + len])
    }
}

fn four(body: &[u8]) -> [u8; 4] {
    let mut out = [0; 4];
    out.copy_from_slice(&body[..4]);
    out
}

fn eight(body: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(&body[..8]);
    out
}
