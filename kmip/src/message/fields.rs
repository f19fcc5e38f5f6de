//! The `payload!` macro: a typed structure read from and written to a KMIP structure item,
//! field by field in declaration order. Each field is `name: cardinality kind (TAG | ...)`:
//!
//! - cardinality `one` (required: `T`), `opt` (`Option<T>`), `many` (`Vec<T>`);
//! - kind `Text` (String), `Bytes` (Vec<u8>), `Big` (Vec<u8>, Big Integer), `Int` (i32),
//!   `Long` (i64), `Enum` (u32), `Bool`, `Date` (seconds),
//!   `Interval` (u32), `Item` (the item itself: structures, and fields of several types),
//!   or a type defined with `payload!` (a nested structure).
//!
//! Items of tags the structure does not name are kept, in order, in `extensions`, and
//! written back after the named fields.

use crate::item::{Item, Value};

/// Why a structure does not have the shape its operation requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{structure}: {field} {problem}")]
pub struct ShapeError {
    pub structure: &'static str,
    pub field: &'static str,
    pub problem: &'static str,
}

macro_rules! leaf_kind {
    ($name:ident, $rust:ty, $variant:ident) => {
        #[doc = concat!("A field kind: a ", stringify!($variant), ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {}
        impl LeafKind for $name {
            type Rust = $rust;
            fn read(item: &Item) -> Option<$rust> {
                match &item.value {
                    Value::$variant(v) => Some(v.clone()),
                    _ => None,
                }
            }
            fn write(value: &$rust, tag: u32) -> Item {
                Item::new(tag, Value::$variant(value.clone()))
            }
        }
    };
}

/// A leaf kind names the Rust type of a field and its conversions.
pub trait LeafKind {
    type Rust;
    fn read(item: &Item) -> Option<Self::Rust>;
    fn write(value: &Self::Rust, tag: u32) -> Item;
}

leaf_kind!(Text, String, TextString);
leaf_kind!(Bytes, Vec<u8>, ByteString);
leaf_kind!(Big, Vec<u8>, BigInteger);
leaf_kind!(Int, i32, Integer);
leaf_kind!(Long, i64, LongInteger);
leaf_kind!(Enum, u32, Enumeration);
leaf_kind!(Bool, bool, Boolean);
leaf_kind!(Date, i64, DateTime);
leaf_kind!(Interval, u32, Interval);

/// The `Item` kind: the item as it is.
impl LeafKind for Item {
    type Rust = Item;
    fn read(item: &Item) -> Option<Item> {
        Some(item.clone())
    }
    fn write(value: &Item, _tag: u32) -> Item {
        value.clone()
    }
}

macro_rules! payload {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $field:ident : $card:ident $kind:ident ( $($tag:ident)|+ ) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( pub $field: $crate::message::fields::payload!(@type $card $kind), )*
            /// Items of tags this structure does not name, in order.
            pub extensions: Vec<$crate::Item>,
        }

        impl $name {
            /// Reads the structure from an item (its own tag is not checked).
            pub fn from_item(item: &$crate::Item) -> Result<Self, $crate::message::ShapeError> {
                let children = item.children().ok_or($crate::message::ShapeError {
                    structure: stringify!($name),
                    field: "the structure",
                    problem: "is not a structure",
                })?;
                $( let mut $field: Vec<&$crate::Item> = Vec::new(); )*
                let mut extensions = Vec::new();
                for child in children {
                    match child.tag {
                        $( $($crate::registry::tag::$tag)|+ => $field.push(child), )*
                        _ => extensions.push(child.clone()),
                    }
                }
                Ok($name {
                    $( $field: $crate::message::fields::payload!(
                        @take $card $kind, $field, stringify!($name), stringify!($field)
                    ), )*
                    extensions,
                })
            }

            /// Writes the structure as an item of `tag`.
            #[allow(unused_variables)]
            pub fn to_item(&self, tag: u32) -> $crate::Item {
                let mut children: Vec<$crate::Item> = Vec::new();
                $(
                    let first_tag = $crate::message::fields::payload!(@first $($tag)|+);
                    $crate::message::fields::payload!(@put $card $kind, &self.$field, first_tag, children);
                )*
                children.extend(self.extensions.iter().cloned());
                $crate::Item::new(tag, $crate::Value::Structure(children))
            }
        }

        impl $crate::message::fields::LeafKind for $name {
            type Rust = $name;
            fn read(item: &$crate::Item) -> Option<$name> {
                $name::from_item(item).ok()
            }
            fn write(value: &$name, tag: u32) -> $crate::Item {
                value.to_item(tag)
            }
        }
    };

    (@first $first:ident $(| $rest:ident)*) => { $crate::registry::tag::$first };

    (@type one $kind:ident) => { <$kind as $crate::message::fields::LeafKind>::Rust };
    (@type opt $kind:ident) => { Option<<$kind as $crate::message::fields::LeafKind>::Rust> };
    (@type many $kind:ident) => { Vec<<$kind as $crate::message::fields::LeafKind>::Rust> };

    (@read $kind:ident, $item:expr, $structure:expr, $field:expr) => {
        <$kind as $crate::message::fields::LeafKind>::read($item).ok_or($crate::message::ShapeError {
            structure: $structure,
            field: $field,
            problem: "has the wrong type or shape",
        })?
    };
    (@take one $kind:ident, $items:ident, $structure:expr, $field:expr) => {
        match $items.as_slice() {
            [item] => $crate::message::fields::payload!(@read $kind, item, $structure, $field),
            [] => return Err($crate::message::ShapeError { structure: $structure, field: $field, problem: "is missing" }),
            _ => return Err($crate::message::ShapeError { structure: $structure, field: $field, problem: "is repeated" }),
        }
    };
    (@take opt $kind:ident, $items:ident, $structure:expr, $field:expr) => {
        match $items.as_slice() {
            [item] => Some($crate::message::fields::payload!(@read $kind, item, $structure, $field)),
            [] => None,
            _ => return Err($crate::message::ShapeError { structure: $structure, field: $field, problem: "is repeated" }),
        }
    };
    (@take many $kind:ident, $items:ident, $structure:expr, $field:expr) => {{
        let mut values = Vec::with_capacity($items.len());
        for item in &$items {
            values.push($crate::message::fields::payload!(@read $kind, item, $structure, $field));
        }
        values
    }};

    (@put one $kind:ident, $value:expr, $tag:expr, $children:ident) => {
        $children.push(<$kind as $crate::message::fields::LeafKind>::write($value, $tag));
    };
    (@put opt $kind:ident, $value:expr, $tag:expr, $children:ident) => {
        if let Some(value) = $value {
            $children.push(<$kind as $crate::message::fields::LeafKind>::write(value, $tag));
        }
    };
    (@put many $kind:ident, $value:expr, $tag:expr, $children:ident) => {
        for value in $value {
            $children.push(<$kind as $crate::message::fields::LeafKind>::write(value, $tag));
        }
    };
}

pub(crate) use payload;
