//! The KMIP registry: every tag, enumeration and mask of KMIP 1.0–2.1 with its number,
//! its normalized name and the versions it exists in. The table itself
//! ([`tables`](self)) is generated from the OASIS specifications by
//! `kmip/registry/generate.py`; this module only looks things up in it.

/// Declares one KMIP enumeration as a Rust enum with its numbers and names; the generated
/// [`enums`] module invokes it once per enumeration and mask of the registry.
macro_rules! enumeration {
    ($name:ident { $($variant:ident = $value:literal,)+ }) => {
        #[doc = concat!("The KMIP enumeration `", stringify!($name), "`.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            /// Every value, in the order of their numbers.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// Its number on the wire (for a mask, its bit).
            pub const fn value(self) -> u32 {
                match self {
                    $($name::$variant => $value,)+
                }
            }

            /// Its CamelCase name: the registry's, the XML and JSON encodings' and the
            /// database's.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                }
            }

            /// The value with this number, if the registry defines one (the name still
            /// defined in 2.1 where 1.x and 2.x name one number differently).
            #[allow(unreachable_patterns)]
            pub const fn from_value(value: u32) -> Option<$name> {
                match value {
                    $($value => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The value with this name, if the registry defines one.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $(stringify!($variant) => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl $crate::registry::KmipEnum for $name {
            const ENUMERATION: &'static str = stringify!($name);
            fn value(self) -> u32 {
                $name::value(self)
            }
            fn name(self) -> &'static str {
                $name::name(self)
            }
            fn from_value(value: u32) -> Option<$name> {
                $name::from_value(value)
            }
            fn from_name(name: &str) -> Option<$name> {
                $name::from_name(name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub mod enums;
mod tables;

/// What every enum of [`enums`] offers, for code generic over the enumeration (such as
/// reading a stored name back as a value).
pub trait KmipEnum: Copy + Sized + 'static {
    /// The enumeration's registry name.
    const ENUMERATION: &'static str;
    fn value(self) -> u32;
    fn name(self) -> &'static str;
    fn from_value(value: u32) -> Option<Self>;
    fn from_name(name: &str) -> Option<Self>;
}

use std::collections::HashMap;
use std::sync::OnceLock;

pub use tables::tag;

/// A KMIP protocol version, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
    V1_4,
    V2_0,
    V2_1,
}

impl Version {
    pub const ALL: [Version; 7] = [
        Version::V1_0,
        Version::V1_1,
        Version::V1_2,
        Version::V1_3,
        Version::V1_4,
        Version::V2_0,
        Version::V2_1,
    ];

    /// The version of a Protocol Version structure, if it is one we know.
    pub fn from_protocol(major: i32, minor: i32) -> Option<Version> {
        Version::ALL
            .into_iter()
            .find(|v| v.protocol() == (major, minor))
    }

    /// (Protocol Version Major, Protocol Version Minor).
    pub fn protocol(self) -> (i32, i32) {
        match self {
            Version::V1_0 => (1, 0),
            Version::V1_1 => (1, 1),
            Version::V1_2 => (1, 2),
            Version::V1_3 => (1, 3),
            Version::V1_4 => (1, 4),
            Version::V2_0 => (2, 0),
            Version::V2_1 => (2, 1),
        }
    }
}

/// One named number: a tag, or a value of an enumeration or mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The CamelCase name of the XML and JSON encodings.
    pub name: &'static str,
    pub value: u32,
    /// The first version that defines it.
    pub since: Version,
    /// The last version that defines it, if a later one dropped it.
    pub until: Option<Version>,
}

impl Entry {
    pub fn exists_in(&self, version: Version) -> bool {
        self.since <= version && self.until.is_none_or(|until| version <= until)
    }
}

/// An enumeration (or a mask, whose values are bits).
#[derive(Debug)]
pub struct Enumeration {
    pub name: &'static str,
    pub mask: bool,
    pub values: &'static [Entry],
}

/// The enumeration whose values are tags (Attribute Reference, 2.x).
static TAG_ENUMERATION: Enumeration = Enumeration {
    name: "Tag",
    mask: false,
    values: tables::TAGS,
};

impl Enumeration {
    /// The value of a name, in any version.
    pub fn value_of(&self, name: &str) -> Option<u32> {
        self.values.iter().find(|e| e.name == name).map(|e| e.value)
    }

    /// The name of a value: the one `version` defines if given, else the newest.
    pub fn name_of(&self, value: u32, version: Option<Version>) -> Option<&'static str> {
        let mut candidates = self.values.iter().filter(|e| e.value == value);
        match version {
            Some(version) => candidates
                .clone()
                .find(|e| e.exists_in(version))
                .or_else(|| candidates.next_back()),
            None => candidates.next_back(),
        }
        .map(|e| e.name)
    }

    /// Whether `value` is defined in `version`.
    pub fn defined_in(&self, value: u32, version: Version) -> bool {
        self.values
            .iter()
            .any(|e| e.value == value && e.exists_in(version))
    }
}

struct Index {
    tags_by_name: HashMap<&'static str, &'static Entry>,
    tags_by_value: HashMap<u32, &'static Entry>,
    enumerations: HashMap<&'static str, &'static Enumeration>,
    enumeration_of_tag: HashMap<u32, &'static Enumeration>,
    tag_texts: HashMap<&'static str, &'static str>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut tags_by_name = HashMap::new();
        let mut tags_by_value = HashMap::new();
        // Later entries are newer: the newest name of a number wins.
        for entry in tables::TAGS {
            tags_by_name.insert(entry.name, entry);
            tags_by_value.insert(entry.value, entry);
        }
        let mut enumerations: HashMap<&'static str, &'static Enumeration> = tables::ENUMERATIONS
            .iter()
            .map(|enumeration| (enumeration.name, enumeration))
            .collect();
        enumerations.insert(TAG_ENUMERATION.name, &TAG_ENUMERATION);
        let enumeration_of_tag = tables::TAG_ENUMERATIONS
            .iter()
            .filter_map(|(tag, enumeration)| {
                Some((
                    tags_by_name.get(tag)?.value,
                    *enumerations.get(enumeration)?,
                ))
            })
            .collect();
        Index {
            tag_texts: tables::TAG_TEXTS.iter().copied().collect(),
            tags_by_name,
            tags_by_value,
            enumerations,
            enumeration_of_tag,
        }
    })
}

/// The number of a tag name (any version's name).
pub fn tag_value(name: &str) -> Option<u32> {
    index().tags_by_name.get(name).map(|e| e.value)
}

/// The registry entry of a tag number (its newest name).
pub fn tag_entry(tag: u32) -> Option<&'static Entry> {
    index().tags_by_value.get(&tag).copied()
}

/// The name of a tag number.
pub fn tag_name(tag: u32) -> Option<&'static str> {
    tag_entry(tag).map(|e| e.name)
}

/// A tag as the specification writes it ("Cryptographic Algorithm"): the attribute names
/// of KMIP 1.x.
pub fn tag_text(tag: u32) -> Option<&'static str> {
    index().tag_texts.get(tag_name(tag)?).copied()
}

/// Whether an object may carry several instances of the attribute `tag` (Name, Link,
/// Object Group, ...).
pub fn multi_valued(tag: u32) -> bool {
    tag_name(tag).is_some_and(|name| tables::MULTI_VALUED.contains(&name))
}

/// Whether a tag number is in the range KMIP reserves for extensions (0x540000–0x54FFFF).
pub fn is_extension_tag(tag: u32) -> bool {
    (0x54_0000..=0x54_FFFF).contains(&tag)
}

/// An enumeration by its normalized name ("CryptographicAlgorithm", "Tag", ...).
pub fn enumeration(name: &str) -> Option<&'static Enumeration> {
    index().enumerations.get(name).copied()
}

/// The enumeration (or mask) the values of a tag come from.
pub fn enumeration_of_tag(tag: u32) -> Option<&'static Enumeration> {
    index().enumeration_of_tag.get(&tag).copied()
}

/// KMIP text (tag, type and enumeration names as the specification writes them, such as
/// "Cryptographic Algorithm" or "PKCS#1 v1.5") in the CamelCase form of the Additional
/// Message Encodings specification, section 4.1.3.
pub fn normalize(text: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c == '(' || c == ')' { ' ' } else { c })
        .collect();
    let mut spaced = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let starts_word = matches!(
            (chars.get(i + 1), chars.get(i + 2)),
            (Some(a), Some(b)) if a.is_ascii_alphabetic() && b.is_ascii_lowercase()
        );
        spaced.push(if !is_word(c) && starts_word { ' ' } else { c });
    }
    let mut words: Vec<String> = spaced
        .split_whitespace()
        .map(|w| {
            w.chars()
                .map(|c| if is_word(c) { c } else { '_' })
                .collect()
        })
        .collect();
    if let Some(first) = words.first_mut() {
        let digits: String = first.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() {
            *first = format!("{}{}", &first[digits.len()..], digits);
        }
    }
    words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_enum_agrees_with_the_registry() {
        assert_eq!(enums::ALL.len(), tables::ENUMERATIONS.len());
        for (name, values) in enums::ALL {
            let enumeration = enumeration(name).expect("a registry enumeration");
            let values = values();
            for entry in enumeration.values {
                assert!(
                    values.contains(&(entry.name, entry.value)),
                    "{name}::{} = {:#x} has no Rust value",
                    entry.name,
                    entry.value
                );
            }
            assert_eq!(values.len(), enumeration.values.len(), "{name}");
        }
    }

    #[test]
    fn a_renamed_number_maps_to_its_current_name_and_unknown_input_to_none() {
        use enums::{HashingAlgorithm, ObjectType, State};
        assert_eq!(
            HashingAlgorithm::from_value(0x0f),
            Some(HashingAlgorithm::SHA3_256)
        );
        assert_eq!(HashingAlgorithm::SHA_3_256.value(), 0x0f);
        assert_eq!(State::from_name("Active").map(State::value), Some(2));
        assert_eq!(State::from_name("active"), None);
        assert_eq!(ObjectType::from_value(0x8000_0001), None);
        assert_eq!(ObjectType::SymmetricKey.to_string(), "SymmetricKey");
    }
}
