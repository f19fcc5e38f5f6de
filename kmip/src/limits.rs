//! Bounds on what the decoder accepts, so that no input can make it allocate or recurse
//! without limit.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest message, in bytes.
    pub max_message_bytes: usize,
    /// The deepest nesting of structures.
    pub max_depth: usize,
    /// The most items in a message.
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 16 * 1024 * 1024,
            max_depth: 32,
            max_items: 100_000,
        }
    }
}
