//! Why a message could not be decoded or encoded.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("truncated at byte {offset}: {needed} more bytes needed")]
    Truncated { offset: usize, needed: usize },
    #[error("unknown item type 0x{item_type:02x} at byte {offset}")]
    UnknownType { offset: usize, item_type: u8 },
    #[error("item at byte {offset}: {what} must be {expected} bytes long, not {actual}")]
    BadLength {
        offset: usize,
        what: &'static str,
        expected: &'static str,
        actual: u32,
    },
    #[error("item at byte {offset}: padding bytes must be zero")]
    BadPadding { offset: usize },
    #[error("item at byte {offset}: a Boolean must be 0 or 1")]
    BadBoolean { offset: usize },
    #[error("item at byte {offset}: a Text String must be UTF-8")]
    BadText { offset: usize },
    #[error("item at byte {offset}: its children do not fill the structure exactly")]
    BadStructure { offset: usize },
    #[error("tag 0x{0:06x} does not fit in 24 bits")]
    BadTag(u32),
    #[error("{0} bytes after the message")]
    TrailingBytes(usize),
    #[error("{0}")]
    Text(String),
    #[error("over the limit: {0}")]
    Limit(&'static str),
}
